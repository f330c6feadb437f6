"""Territorial logic: ideas and supports, coordinators' answers, events and registrations,
news. Functions take the session and never commit; the view owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import AuthorSnapshot, User
from consult.notifications import dispatch
from consult.permissions import may_participate, participation_refusal
from consult.territorial.models import (
    Event,
    EventRegistration,
    Idea,
    IdeaStatus,
    IdeaSupport,
    NewsItem,
)
from consult.territorial.permissions import manages_scope
from consult.territories import catalog
from consult.text import hold_for_personal_data
from consult.web import ConsultError, audit


class TerritorialError(ConsultError):
    """A refusal shown to the user (message already translated) with its HTTP status."""


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


def update_event(session: Session, user: User, event: Event, data: EventData) -> None:
    _check_event(user, data)
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


def delete_event(session: Session, user: User, event: Event) -> None:
    audit(session, user, "event.delete", "event", event.id, title=event.title)
    session.delete(event)
    session.flush()


def register(session: Session, user: User, event: Event) -> None:
    """One registration per person (unique constraint); the capacity holds under concurrency
    because the increment is conditional and row-locking: a full event updates no row."""
    _check_participant(user)
    if event.capacity is None:
        raise TerritorialError(_("Cet événement n'a pas d'inscription sur la plateforme."), 409)
    if event.ends_at < utcnow():
        raise TerritorialError(_("Cet événement est terminé."), 409)
    try:
        with session.begin_nested():
            taken = session.execute(
                update(Event)
                .where(Event.id == event.id, Event.registered_count < Event.capacity)
                .values(registered_count=Event.registered_count + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if not taken:
                raise TerritorialError(_("Cet événement est complet."), 409)
            session.add(
                EventRegistration(
                    event_id=event.id, user_id=user.id, **AuthorSnapshot.snapshot_of(user)
                )
            )
            session.flush()
    except IntegrityError as exc:
        raise TerritorialError(_("Vous êtes déjà inscrit à cet événement."), 409) from exc
    session.refresh(event, ["registered_count"])


def unregister(session: Session, user: User, event: Event) -> None:
    _check_participant(user)
    removed = session.execute(
        delete(EventRegistration).where(
            EventRegistration.event_id == event.id, EventRegistration.user_id == user.id
        )
    ).rowcount
    if not removed:
        raise TerritorialError(_("Vous n'êtes pas inscrit à cet événement."), 409)
    session.execute(
        update(Event)
        .where(Event.id == event.id)
        .values(registered_count=Event.registered_count - 1)
        .execution_options(synchronize_session=False)
    )
    session.refresh(event, ["registered_count"])


def is_registered(session: Session, user: User | None, event: Event) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return (
        session.scalar(
            select(EventRegistration.id).where(
                EventRegistration.event_id == event.id, EventRegistration.user_id == user.id
            )
        )
        is not None
    )


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
        select(EventRegistration.event_id, Event.title, EventRegistration.created_at)
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
            {"event_id": eid, "title": title, "created_at": at.isoformat()}
            for eid, title, at in registrations
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
    rows = (
        session.execute(
            select(EventRegistration.event_id).where(EventRegistration.user_id == user.id)
        )
        .scalars()
        .all()
    )
    for event_id in rows:
        session.execute(
            update(Event)
            .where(Event.id == event_id)
            .values(registered_count=Event.registered_count - 1)
            .execution_options(synchronize_session=False)
        )
    session.execute(delete(EventRegistration).where(EventRegistration.user_id == user.id))
