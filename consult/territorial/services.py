"""Territorial logic: ideas and supports, coordinators' answers, events and registrations,
news. Functions take the session and never commit; the view owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consult import dates, uploads
from consult.db import utcnow
from consult.models import Audience, AuthorSnapshot, User
from consult.notifications import dispatch
from consult.permissions import may_participate, participation_refusal
from consult.territorial.models import (
    ATTENDANCE_MAX,
    MINUTES_MAX,
    Event,
    EventAttachment,
    EventMinutes,
    EventRegistration,
    Idea,
    IdeaStatus,
    IdeaSupport,
    NewsItem,
    RegistrationStatus,
)
from consult.territorial.permissions import Permission, manages_scope, policy
from consult.territories import catalog
from consult.text import hold_for_personal_data
from consult.web import ConsultError, absolute_url, audit


class TerritorialError(ConsultError):
    """A refusal shown to the user (message already translated) with its HTTP status."""


def organises(user: User | None, event: Event) -> bool:
    return policy(user, Permission.EVENT_ORGANISE, event)


# --- Ideas -----


def _check_participant(user: User) -> None:
    # The views check the policy too; the services hold the rule for every other caller.
    if not may_participate(user):
        raise TerritorialError(participation_refusal(), 403)


def post_idea(
    session: Session, author: User, title: str, body: str, *, personal_data_confirmed: bool = False
) -> Idea:
    """The idea goes to the author's académie as it is now (snapshot rule)."""
    _check_participant(author)
    if author.academie_code not in catalog().academies:
        raise TerritorialError(
            _("Indiquez votre académie dans votre profil pour proposer une idée."), 403
        )
    idea = Idea(
        academie_code=author.academie_code,
        author_id=author.id,
        title=title.strip(),
        body=body.strip(),
        # Contact details wait for a moderator before anyone sees them (consult.text's rule).
        held_for_review=hold_for_personal_data(
            author, title, body, confirmed=personal_data_confirmed
        ),
        **AuthorSnapshot.snapshot_of(author),
    )
    session.add(idea)
    session.flush()
    dispatch(session, "idea", idea)
    return idea


def support_idea(session: Session, user: User, idea: Idea) -> None:
    """One support per person and idea (unique constraint), counter kept exact in the same
    transaction by an atomic increment."""
    _check_participant(user)
    if idea.author_id == user.id:
        raise TerritorialError(_("Vous ne pouvez pas soutenir votre propre idée."), 403)
    if not idea.is_public:
        raise TerritorialError(_("Cette idée n'est pas visible."), 404)
    try:
        with session.begin_nested():
            session.add(
                IdeaSupport(idea_id=idea.id, user_id=user.id, **AuthorSnapshot.snapshot_of(user))
            )
            session.flush()
    except IntegrityError as exc:
        raise TerritorialError(_("Vous soutenez déjà cette idée."), 409) from exc
    session.execute(
        update(Idea)
        .where(Idea.id == idea.id)
        .values(support_count=Idea.support_count + 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(idea, ["support_count"])


def has_supported(session: Session, user: User | None, idea: Idea) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return (
        session.scalar(
            select(IdeaSupport.id).where(
                IdeaSupport.idea_id == idea.id, IdeaSupport.user_id == user.id
            )
        )
        is not None
    )


def answer_idea(session: Session, coordinator: User, idea: Idea, status: str, answer: str) -> None:
    IdeaStatus(status)  # raises on anything else: the form already restricts the choices
    idea.status = status
    idea.answer = answer.strip()
    idea.answered_at = utcnow()
    idea.answered_by_id = coordinator.id
    audit(session, coordinator, "idea.answer", "idea", idea.id, status=status)
    dispatch(session, "idea_answer", idea)


# --- Events -----


@dataclass
class EventData:
    scope_kind: str
    scope_code: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    place: str | None = None
    online_url: str | None = None
    audiences: list[str] = field(default_factory=list)
    registration_url: str | None = None
    capacity: int | None = None


def _check_event(user: User, data: EventData) -> None:
    if not manages_scope(user, data.scope_kind, data.scope_code):
        raise TerritorialError(_("Vous ne coordonnez pas ce territoire."), 403)
    if data.ends_at < data.starts_at:
        raise TerritorialError(_("La fin doit être postérieure ou égale au début."), 422)
    if not (data.place or data.online_url):
        raise TerritorialError(_("Indiquez un lieu ou un lien de participation en ligne."), 422)
    if data.registration_url and data.capacity:
        raise TerritorialError(
            _("Choisissez soit un lien d'inscription externe, soit une jauge avec inscription."),
            422,
        )


def _event_values(data: EventData) -> dict[str, Any]:
    return {
        "scope_kind": data.scope_kind,
        "scope_code": data.scope_code,
        "title": data.title.strip(),
        "description": data.description.strip(),
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "place": (data.place or "").strip() or None,
        "online_url": data.online_url or None,
        "audiences": list(data.audiences),
        "registration_url": data.registration_url or None,
        "capacity": data.capacity or None,
    }


def create_event(session: Session, user: User, data: EventData) -> Event:
    _check_event(user, data)
    event = Event(created_by_id=user.id, registered_count=0, **_event_values(data))
    session.add(event)
    session.flush()
    audit(session, user, "event.create", "event", event.id)
    dispatch(session, "event", event)
    return event


def update_event(
    session: Session, user: User, event: Event, data: EventData
) -> list[EventRegistration]:
    """Returns the registrations promoted from the waiting list by a raised capacity."""
    _check_event(user, data)
    _lock_event(session, event.id)
    session.refresh(event, ["registered_count"])
    if data.capacity is not None and data.capacity < event.registered_count:
        raise TerritorialError(
            _(
                "La jauge ne peut pas être inférieure au nombre d'inscrits (%(n)d).",
                n=event.registered_count,
            ),
            422,
        )
    if data.capacity is None and event.registered_count:
        raise TerritorialError(
            _("Des personnes sont inscrites : la jauge ne peut pas être supprimée."), 422
        )
    for key, value in _event_values(data).items():
        setattr(event, key, value)
    session.flush()
    audit(session, user, "event.update", "event", event.id)
    promoted = _promote(session, event.id) if event.capacity else []
    session.refresh(event, ["registered_count"])
    return promoted


def delete_event(session: Session, user: User, event: Event) -> None:
    audit(session, user, "event.delete", "event", event.id, title=event.title)
    # The rows go with the event (cascade); their files once the deletion is committed.
    for attachment in attachments_of(session, event):
        uploads.remove_after_commit(session, attachment_path(attachment))
    session.delete(event)
    session.flush()


def _lock_event(session: Session, event_id: int) -> None:
    """Every change to an event's places starts here: on PostgreSQL the event row is locked
    until commit, so sign-ups, sign-outs, removals and capacity changes of one event run one
    after the other and the waiting list is read after the previous change committed. SQLite
    has one writer at a time already (write requests begin IMMEDIATE)."""
    session.execute(select(Event.id).where(Event.id == event_id).with_for_update())


def _take_place(session: Session, event_id: int) -> bool:
    """The conditional increment: a full event updates no row."""
    return bool(
        session.execute(
            update(Event)
            .where(Event.id == event_id, Event.registered_count < Event.capacity)
            .values(registered_count=Event.registered_count + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    )


def _free_place(session: Session, event_id: int) -> None:
    session.execute(
        update(Event)
        .where(Event.id == event_id, Event.registered_count > 0)
        .values(registered_count=Event.registered_count - 1)
        .execution_options(synchronize_session=False)
    )


def _promote(session: Session, event_id: int) -> list[EventRegistration]:
    """Give every free place to the first in line (oldest waiting row). Called with the event
    row locked; the status update is conditional too, so a row is never promoted twice."""
    promoted: list[EventRegistration] = []
    while _take_place(session, event_id):
        first = session.scalar(
            select(EventRegistration.id)
            .where(
                EventRegistration.event_id == event_id,
                EventRegistration.status == RegistrationStatus.WAITING,
            )
            .order_by(EventRegistration.id)
            .limit(1)
        )
        if first is None:
            _free_place(session, event_id)
            break
        done = session.execute(
            update(EventRegistration)
            .where(
                EventRegistration.id == first,
                EventRegistration.status == RegistrationStatus.WAITING,
            )
            .values(status=RegistrationStatus.REGISTERED, promoted_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if not done:
            _free_place(session, event_id)
            continue
        row = session.get(EventRegistration, first)
        session.refresh(row)
        promoted.append(row)
    return promoted


def register(session: Session, user: User, event: Event) -> EventRegistration:
    """One registration per person (unique constraint). A full event puts the person on its
    waiting list; the capacity holds under concurrency because the increment is conditional
    and every change of places locks the event row first (:func:`_lock_event`)."""
    _check_participant(user)
    if event.capacity is None:
        raise TerritorialError(_("Cet événement n'a pas d'inscription sur la plateforme."), 409)
    if event.ends_at < utcnow():
        raise TerritorialError(_("Cet événement est terminé."), 409)
    _lock_event(session, event.id)
    try:
        with session.begin_nested():
            # Nobody overtakes the waiting list: a free place goes to the first in line.
            waiting = session.scalar(
                select(EventRegistration.id)
                .where(
                    EventRegistration.event_id == event.id,
                    EventRegistration.status == RegistrationStatus.WAITING,
                )
                .limit(1)
            )
            taken = waiting is None and _take_place(session, event.id)
            registration = EventRegistration(
                event_id=event.id,
                user_id=user.id,
                status=RegistrationStatus.REGISTERED if taken else RegistrationStatus.WAITING,
                **AuthorSnapshot.snapshot_of(user),
            )
            session.add(registration)
            session.flush()
    except IntegrityError as exc:
        raise TerritorialError(_("Vous êtes déjà inscrit à cet événement."), 409) from exc
    if not taken:
        _promote(session, event.id)
    session.refresh(registration)
    session.refresh(event, ["registered_count"])
    return registration


def _withdraw(session: Session, event: Event, user_id: int) -> list[EventRegistration] | None:
    """Remove one person's registration or waiting place; a freed place is given to the first
    in line. None when the person was not registered; else the promoted registrations."""
    _lock_event(session, event.id)
    status = session.execute(
        delete(EventRegistration)
        .where(EventRegistration.event_id == event.id, EventRegistration.user_id == user_id)
        .returning(EventRegistration.status)
        .execution_options(synchronize_session=False)
    ).scalar()
    if status is None:
        return None
    promoted: list[EventRegistration] = []
    if status == RegistrationStatus.REGISTERED:
        _free_place(session, event.id)
        promoted = _promote(session, event.id)
    session.refresh(event, ["registered_count"])
    return promoted


def unregister(session: Session, user: User, event: Event) -> list[EventRegistration]:
    """Returns the registrations promoted from the waiting list (the view tells them once the
    transaction is committed)."""
    _check_participant(user)
    promoted = _withdraw(session, event, user.id)
    if promoted is None:
        raise TerritorialError(_("Vous n'êtes pas inscrit à cet événement."), 409)
    return promoted


def remove_registration(
    session: Session, organiser: User, event: Event, registration_id: int
) -> list[EventRegistration]:
    """The organiser takes someone off the list (registered or waiting)."""
    user_id = session.scalar(
        select(EventRegistration.user_id).where(
            EventRegistration.id == registration_id, EventRegistration.event_id == event.id
        )
    )
    promoted = None if user_id is None else _withdraw(session, event, user_id)
    if promoted is None:
        raise TerritorialError(_("Cette inscription n'existe pas ou a déjà été retirée."), 404)
    audit(session, organiser, "event.registration_remove", "event", event.id)
    return promoted


def registration_of(session: Session, user: User | None, event: Event) -> EventRegistration | None:
    if user is None or not user.is_authenticated:
        return None
    return session.scalar(
        select(EventRegistration).where(
            EventRegistration.event_id == event.id, EventRegistration.user_id == user.id
        )
    )


def is_registered(session: Session, user: User | None, event: Event) -> bool:
    found = registration_of(session, user, event)
    return found is not None and found.status == RegistrationStatus.REGISTERED


def waiting_position(session: Session, registration: EventRegistration) -> int | None:
    """1 for the first in line; None when the person has a place."""
    if registration.status != RegistrationStatus.WAITING:
        return None
    ahead = session.scalar(
        select(func.count()).where(
            EventRegistration.event_id == registration.event_id,
            EventRegistration.status == RegistrationStatus.WAITING,
            EventRegistration.id < registration.id,
        )
    )
    return int(ahead or 0) + 1


def registrants(session: Session, event: Event) -> list[EventRegistration]:
    """Registered first then the waiting list, each in sign-up order."""
    return list(
        session.scalars(
            select(EventRegistration)
            .where(EventRegistration.event_id == event.id)
            .order_by(
                (EventRegistration.status == RegistrationStatus.WAITING), EventRegistration.id
            )
        )
    )


def counts_by_audience(rows: list[EventRegistration]) -> dict[str, dict[str, int]]:
    """{status: {audience: count}} for the organiser's table."""
    counts: dict[str, dict[str, int]] = {}
    for row in rows:
        per = counts.setdefault(row.status, {})
        per[row.author_audience] = per.get(row.author_audience, 0) + 1
    return counts


def notify_promoted(promoted: list[EventRegistration]) -> None:
    """Tell each promoted person (after the commit that gave them their place)."""
    from flask import render_template

    from consult.mail import send_mail

    for row in promoted:
        user = row.user
        if user is None or not user.email:
            continue
        event = row.event
        send_mail(
            user.email,
            _("Une place s'est libérée : %(title)s", title=event.title),
            render_template(
                "territorial/mail/promoted.txt",
                user=user,
                event=event,
                link=absolute_url("territories.event", event_id=event.id),
            ),
        )


# --- Reminders -----

# Reminders go out from this local hour of the day before (never in the night).
REMINDER_FROM_HOUR = 8


def due_reminders(session: Session, now: datetime | None = None) -> list[EventRegistration]:
    """Registrations (with a place) to events that start on the next calendar day of the
    event's own time zone, not yet reminded. Read in UTC with a margin, then decided in the
    event's zone: an overseas académie's event is reminded on its own day before."""
    now = now or utcnow()
    rows = session.scalars(
        select(EventRegistration)
        .join(Event, Event.id == EventRegistration.event_id)
        .where(
            EventRegistration.status == RegistrationStatus.REGISTERED,
            EventRegistration.reminded_at.is_(None),
            Event.starts_at > now,
            Event.starts_at < now + timedelta(hours=62),
        )
        .order_by(EventRegistration.id)
    ).all()
    due = []
    for row in rows:
        zone, _name = dates.zone_for(row.event.scope_kind, row.event.scope_code)
        local_now = dates.to_local(now, zone)
        if local_now.hour < REMINDER_FROM_HOUR:
            continue
        if dates.to_local(row.event.starts_at, zone).date() == local_now.date() + timedelta(days=1):
            due.append(row)
    return due


def claim_reminders(session: Session, now: datetime | None = None) -> list[int]:
    """Mark each due registration reminded; idempotent: the mark is a conditional update, so a
    second run (or a second worker) claims nothing. The caller commits, then
    :func:`deliver_reminders` sends what this transaction claimed."""
    claimed: list[int] = []
    stamp = now or utcnow()
    for row in due_reminders(session, now):
        won = session.execute(
            update(EventRegistration)
            .where(EventRegistration.id == row.id, EventRegistration.reminded_at.is_(None))
            .values(reminded_at=stamp)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won:
            claimed.append(row.id)
    return claimed


def deliver_reminders(session: Session, registration_ids: list[int]) -> None:
    from flask import render_template

    from consult.mail import send_mail

    for row in session.scalars(
        select(EventRegistration).where(EventRegistration.id.in_(registration_ids))
    ):
        user, event = row.user, row.event
        if user is None or not user.email:
            continue
        send_mail(
            user.email,
            _("Rappel : %(title)s, demain", title=event.title),
            render_template(
                "territorial/mail/reminder.txt",
                user=user,
                event=event,
                link=absolute_url("territories.event", event_id=event.id),
            ),
        )


# --- Minutes -----


def _check_attendance(attendance: dict[str, int]) -> dict[str, int]:
    known = {a.value for a in Audience}
    clean: dict[str, int] = {}
    for key, value in attendance.items():
        if key not in known:
            raise TerritorialError(_("Public inconnu : %(key)s.", key=key[:40]), 422)
        if value is None:
            continue
        if not isinstance(value, int) or value < 0 or value > ATTENDANCE_MAX:
            raise TerritorialError(
                _("Indiquez un nombre de présents entre 0 et %(n)d.", n=ATTENDANCE_MAX), 422
            )
        if value:
            clean[key] = value
    return clean


def publish_minutes(
    session: Session, user: User, event: Event, body: str, attendance: dict[str, int]
) -> EventMinutes:
    """The organiser's compte rendu, once the meeting has begun; saving again updates it."""
    if not organises(user, event):
        raise TerritorialError(_("Vous n'organisez pas cet événement."), 403)
    if event.starts_at > utcnow():
        raise TerritorialError(_("Le compte rendu se publie une fois la rencontre commencée."), 409)
    body = (body or "").strip()
    if not body:
        raise TerritorialError(_("Le compte rendu est vide."), 422)
    if len(body) > MINUTES_MAX:
        raise TerritorialError(_("Le compte rendu dépasse %(n)d caractères.", n=MINUTES_MAX), 422)
    counts = _check_attendance(attendance)
    minutes = session.scalar(select(EventMinutes).where(EventMinutes.event_id == event.id))
    if minutes is None:
        minutes = EventMinutes(event_id=event.id, published_at=utcnow())
        session.add(minutes)
    minutes.body, minutes.attendance, minutes.author_id = body, counts, user.id
    minutes.updated_at = utcnow()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise TerritorialError(_("Le compte rendu vient d'être publié par ailleurs."), 409) from exc
    audit(session, user, "event.minutes", "event", event.id)
    return minutes


def minutes_of(session: Session, event: Event) -> EventMinutes | None:
    return session.scalar(select(EventMinutes).where(EventMinutes.event_id == event.id))


def attachment_dir() -> Path:
    return uploads.directory("TERRITORIAL_UPLOAD_DIR", "territorial-attachments")


def attachments_of(session: Session, event: Event) -> list[EventAttachment]:
    return list(
        session.scalars(
            select(EventAttachment)
            .where(EventAttachment.event_id == event.id)
            .order_by(EventAttachment.id)
        )
    )


def add_attachment(
    session: Session, user: User, event: Event, stream: IO[bytes], filename: str, label: str
) -> EventAttachment:
    """A file of the minutes, through the shared upload rules (consult.uploads)."""
    if not organises(user, event):
        raise TerritorialError(_("Vous n'organisez pas cet événement."), 403)
    if minutes_of(session, event) is None:
        raise TerritorialError(_("Publiez d'abord le compte rendu."), 409)
    config = current_app.config
    count = session.scalar(select(func.count()).where(EventAttachment.event_id == event.id))
    if count >= config["TERRITORIAL_MAX_ATTACHMENTS"]:
        raise TerritorialError(
            _("Ce compte rendu a déjà le nombre maximal de pièces jointes."), 409
        )
    try:
        stored = uploads.store(
            session, attachment_dir(), stream, filename, config["TERRITORIAL_MAX_ATTACHMENT_BYTES"]
        )
    except uploads.UploadError as exc:
        raise TerritorialError(exc.message, exc.status) from exc
    attachment = EventAttachment(
        event_id=event.id,
        stored_name=stored.stored_name,
        filename=stored.filename,
        label=(label or "").strip()[:160],
        content_type=stored.content_type,
        size=stored.size,
        sha256=stored.sha256,
    )
    session.add(attachment)
    session.flush()
    audit(session, user, "event.attachment_add", "event", event.id)
    return attachment


def attachment_path(attachment: EventAttachment) -> Path:
    return attachment_dir() / attachment.stored_name


def delete_attachment(session: Session, user: User, attachment: EventAttachment) -> None:
    uploads.remove_after_commit(session, attachment_path(attachment))
    session.delete(attachment)
    session.flush()
    audit(session, user, "event.attachment_delete", "event", attachment.event_id)


# --- News -----


def publish_news(
    session: Session, user: User, scope_kind: str, scope_code: str, title: str, body: str
) -> NewsItem:
    if not manages_scope(user, scope_kind, scope_code):
        raise TerritorialError(_("Vous ne coordonnez pas ce territoire."), 403)
    item = NewsItem(
        scope_kind=scope_kind,
        scope_code=scope_code,
        title=title.strip(),
        body=body.strip(),
        author_id=user.id,
        published_at=utcnow(),
    )
    session.add(item)
    session.flush()
    audit(session, user, "news.publish", "news", item.id)
    dispatch(session, "news", item)
    return item


def update_news(
    session: Session,
    user: User,
    item: NewsItem,
    scope_kind: str,
    scope_code: str,
    title: str,
    body: str,
) -> None:
    if not manages_scope(user, scope_kind, scope_code):
        raise TerritorialError(_("Vous ne coordonnez pas ce territoire."), 403)
    item.scope_kind, item.scope_code = scope_kind, scope_code
    item.title, item.body = title.strip(), body.strip()
    session.flush()
    audit(session, user, "news.update", "news", item.id)


def delete_news(session: Session, user: User, item: NewsItem) -> None:
    audit(session, user, "news.delete", "news", item.id, title=item.title)
    session.delete(item)
    session.flush()


def account_summary(user: User, limit: int = 20) -> dict[str, list]:
    """The account page's panel: the user's latest ideas and upcoming registrations."""
    from consult.db import db

    session = db.session
    ideas = session.scalars(
        select(Idea).where(Idea.author_id == user.id).order_by(Idea.id.desc()).limit(limit)
    ).all()
    events = session.scalars(
        select(Event)
        .join(EventRegistration, EventRegistration.event_id == Event.id)
        .where(EventRegistration.user_id == user.id, Event.ends_at >= utcnow())
        .order_by(Event.starts_at)
        .limit(limit)
    ).all()
    return {"ideas": list(ideas), "events": list(events)}


# --- Account hooks -----


def personal_data(session: Session, user: User) -> dict[str, Any]:
    ideas = session.scalars(select(Idea).where(Idea.author_id == user.id).order_by(Idea.id))
    supports = session.execute(
        select(IdeaSupport.idea_id, IdeaSupport.created_at)
        .where(IdeaSupport.user_id == user.id)
        .order_by(IdeaSupport.id)
    )
    registrations = session.execute(
        select(
            EventRegistration.event_id,
            Event.title,
            EventRegistration.created_at,
            EventRegistration.status,
        )
        .join(Event, Event.id == EventRegistration.event_id)
        .where(EventRegistration.user_id == user.id)
        .order_by(EventRegistration.id)
    )
    news = session.scalars(select(NewsItem).where(NewsItem.author_id == user.id))
    return {
        "territorial_ideas": [
            {
                "id": i.id,
                "academie": i.academie_code,
                "title": i.title,
                "body": i.body,
                "created_at": i.created_at.isoformat(),
                "status": i.status,
                "support_count": i.support_count,
            }
            for i in ideas
        ],
        "territorial_idea_supports": [
            {"idea_id": idea_id, "created_at": at.isoformat()} for idea_id, at in supports
        ],
        "territorial_event_registrations": [
            {"event_id": eid, "title": title, "created_at": at.isoformat(), "status": status}
            for eid, title, at, status in registrations
        ],
        "territorial_news": [
            {"id": n.id, "title": n.title, "published_at": n.published_at.isoformat()} for n in news
        ],
    }


def delete_account(session: Session, user: User) -> None:
    """Ideas, supports and news stay public under « Compte supprimé »; registrations to events
    are personal (who attends what) and go, freeing their places. Ideas held because they
    carried the author's contact details were never public: they go, with their supports."""
    held = select(Idea.id).where(Idea.author_id == user.id, Idea.held_for_review.is_(True))
    session.execute(delete(IdeaSupport).where(IdeaSupport.idea_id.in_(held)))
    session.execute(
        delete(Idea)
        .where(Idea.author_id == user.id, Idea.held_for_review.is_(True))
        .execution_options(synchronize_session=False)
    )
    event_ids = (
        session.execute(
            select(EventRegistration.event_id).where(EventRegistration.user_id == user.id)
        )
        .scalars()
        .all()
    )
    for event_id in event_ids:
        # A freed place goes to the first in line, as for a sign-out.
        _withdraw(session, session.get(Event, event_id), user.id)
