"""Follows, the one dispatcher, notifications, email preferences, immediate mails and digests.

Flow: a service that publishes something calls :func:`dispatch` (in its unit of work). The
dispatcher makes authors follow what they wrote at once, and remembers the event; when the unit
of work commits, the event goes to the job queue (``notifications.fan_out``), which reads the
subject again, gives up unless it is public (the one visibility rule: a held or hidden comment
tells nobody until moderation releases it, and releasing it dispatches again), finds the
followers, leaves out the actor, stores one notification each (unique: an event dispatched twice
tells nobody twice) and mails those who asked for immediate mail. A daily task sends digests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consult import jobs
from consult.db import db, utcnow
from consult.models import User
from consult.notifications import subjects
from consult.notifications.models import Delivery, Event, Follow, Notification, Preference
from consult.permissions import may_participate
from consult.web import ConsultError, absolute_url

PENDING_KEY = "consult_notifications_pending"
PAGE_SIZE = 20
# A digest carries what arrived since the previous one; older unmailed items (a preference
# switched to daily later) are not dug up.
DIGEST_WINDOW = timedelta(days=2)
UNSUBSCRIBE_SALT = "consult.notifications.unsubscribe"
# The kinds whose authors follow what they write, automatically.
AUTHORED = ("contribution", "idea", "retex")


class NotificationError(ConsultError):
    status = 422


# --- Follows -------------------------------------------------------------------------------------


def _followable(session: Session, user: User, kind: str, key: str) -> object:
    from consult.moderation import visible_to

    subject = subjects.get(kind)
    if subject is None or not subject.followable or not key or len(key) > 20:
        raise NotificationError(_("On ne peut pas suivre cet élément."), 404)
    obj = subject.load(session, key)
    # Never confirm that something exists to someone who may not read it.
    if obj is None or not (subject.public(obj) or visible_to(user, obj)):
        raise NotificationError(_("Cet élément n'existe pas ou n'existe plus."), 404)
    return obj


def _insert_follow(session: Session, user_id: int, kind: str, key: str) -> None:
    exists = session.scalar(
        select(Follow.id).where(Follow.user_id == user_id, Follow.kind == kind, Follow.key == key)
    )
    if exists is not None:
        return
    try:
        with session.begin_nested():
            session.add(Follow(user_id=user_id, kind=kind, key=key))
    except IntegrityError:
        pass  # a double click got there first: the person follows it, which is what they asked


def follow(session: Session, user: User, kind: str, key: str) -> None:
    if not may_participate(user):
        raise NotificationError(_("Votre compte ne peut pas suivre de contenus."), 403)
    _followable(session, user, kind, key)
    _insert_follow(session, user.id, kind, key)


def unfollow(session: Session, user: User, kind: str, key: str) -> None:
    # Leaving is always allowed, even for a blocked account or a vanished subject.
    session.execute(
        delete(Follow).where(Follow.user_id == user.id, Follow.kind == kind, Follow.key == key)
    )


def is_following(session: Session, user: Any, kind: str, key: str) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return (
        session.scalar(
            select(Follow.id).where(
                Follow.user_id == user.id, Follow.kind == kind, Follow.key == str(key)
            )
        )
        is not None
    )


def followers(session: Session, kind: str, keys: Iterable[str]) -> set[int]:
    keys = list(keys)
    if not keys:
        return set()
    return set(
        session.scalars(
            select(Follow.user_id)
            .join(User, User.id == Follow.user_id)
            .where(Follow.kind == kind, Follow.key.in_(keys), User.deleted_at.is_(None))
        )
    )


# --- The dispatcher ------------------------------------------------------------------------------

# kind given by the calling service -> (event, subject kind) it may announce.
_EVENTS = {
    "contribution": (Event.NEW_CONTRIBUTION, "contribution"),
    "comment": (Event.COMMENT, "comment"),
    "idea_answer": (Event.IDEA_ANSWER, "idea"),
    "retex_review": (Event.RETEX_REVIEW, "retex"),
    "event": (Event.TERRITORY_EVENT, "event"),
    "news": (Event.TERRITORY_NEWS, "news"),
}


def dispatch(session: Session, kind: str, obj: Any) -> None:
    """The one entry point for services: ``obj`` (of ``kind``) was published, answered or
    reviewed. Authors follow their own writing; the event is announced after the commit."""
    if kind in AUTHORED and getattr(obj, "author_id", None):
        _insert_follow(session, obj.author_id, kind, str(obj.id))
    found = _EVENTS.get(kind)
    if found is None or not has_app_context():
        return
    event, subject_kind = found
    app = current_app._get_current_object()
    session.info.setdefault(PENDING_KEY, []).append((app, event.value, subject_kind, obj.id))


def _after_commit(session: Session) -> None:
    for app, event, kind, ident in session.info.pop(PENDING_KEY, None) or ():
        try:
            with app.app_context():
                jobs.enqueue("notifications.fan_out", event, kind, ident)
        except Exception:  # the queue is down: the content is saved, the notice is lost
            app.logger.exception("could not queue notifications for %s %s", kind, ident)


def _after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


@dataclass(frozen=True)
class Audience:
    event: Event
    actor_id: int | None
    user_ids: set[int]


def _territory_keys(scope_kind: str, scope_code: str) -> list[str]:
    from consult.territories import catalog

    cat = catalog()
    if scope_kind == "academie":
        return [scope_code]
    if scope_kind == "region" and scope_code in cat.regions:
        return list(cat.regions[scope_code].academie_codes)
    return []  # national meetings and news: no territory to follow


def _audiences(session: Session, event: Event, obj: Any) -> list[Audience]:
    if event is Event.COMMENT:
        told_as_reply: set[int] = set()
        result = []
        if obj.parent_id:
            from forums.models import Comment

            parent = session.get(Comment, obj.parent_id)
            if parent is not None:
                told_as_reply = {parent.author_id}
                result.append(Audience(Event.REPLY, obj.author_id, told_as_reply))
        fans = followers(session, "contribution", [str(obj.contribution_id)]) - told_as_reply
        result.append(Audience(Event.COMMENT, obj.author_id, fans))
        return result
    if event is Event.NEW_CONTRIBUTION:
        return [Audience(event, obj.author_id, followers(session, "theme", [str(obj.theme_id)]))]
    if event is Event.IDEA_ANSWER:
        if not obj.answered_at:
            return []
        return [Audience(event, obj.answered_by_id, followers(session, "idea", [str(obj.id)]))]
    if event is Event.RETEX_REVIEW:
        from retex.models import RetexReview

        last = session.scalars(
            select(RetexReview)
            .where(RetexReview.sheet_id == obj.id)
            .order_by(RetexReview.id.desc())
            .limit(1)
        ).first()
        if last is None or last.action not in ("published", "returned") or not obj.author_id:
            return []
        return [Audience(event, last.actor_id, followers(session, "retex", [str(obj.id)]))]
    if event is Event.TERRITORY_EVENT:
        keys = _territory_keys(obj.scope_kind, obj.scope_code)
        return [Audience(event, obj.created_by_id, followers(session, "academie", keys))]
    if event is Event.TERRITORY_NEWS:
        keys = _territory_keys(obj.scope_kind, obj.scope_code)
        return [Audience(event, obj.author_id, followers(session, "academie", keys))]
    return []


def _store(session: Session, audience: Audience, kind: str, ident: int) -> list[Notification]:
    recipients = audience.user_ids - {audience.actor_id, None}
    if not recipients:
        return []
    already = set(
        session.scalars(
            select(Notification.user_id).where(
                Notification.event == audience.event.value,
                Notification.subject_kind == kind,
                Notification.subject_id == ident,
            )
        )
    )
    created = [
        Notification(
            user_id=user_id,
            event=audience.event.value,
            subject_kind=kind,
            subject_id=ident,
            actor_id=audience.actor_id,
        )
        for user_id in sorted(recipients - already)
    ]
    session.add_all(created)
    session.flush()
    return created


@jobs.task("notifications.fan_out", retries=3, retry_delay=30)
def fan_out(event: str, kind: str, ident: int) -> None:
    session = db.session
    subject = subjects.get(kind)
    if subject is None:
        return
    obj = subject.load(session, str(ident))
    if obj is None:
        return
    # A Retex review is news for the sheet's author alone, public or not; everything else is
    # announced only once anyone may read it.
    if Event(event) is not Event.RETEX_REVIEW and not subject.public(obj):
        return
    created: list[Notification] = []
    try:
        for audience in _audiences(session, Event(event), obj):
            created += _store(session, audience, kind, ident)
        session.commit()
    except IntegrityError:
        # Two fan-outs of the same subject raced: the other one told them.
        session.rollback()
        return
    mail_immediately(session, created)


# --- Reading -------------------------------------------------------------------------------------


def unread_count(session: Session, user: User) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def page_of(session: Session, user: User, page: int) -> tuple[list[Notification], bool]:
    rows = list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
    )
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


@dataclass(frozen=True)
class Shown:
    notification: Notification
    text: str
    url: str | None


def _actor_name(obj: Any) -> str:
    author = getattr(obj, "author", None)
    return author.public_name if author is not None else _("Quelqu'un")


def _load_subjects(session: Session, notifications: Iterable[Notification]) -> list[object]:
    """The subjects of these notifications, one query per kind, with the rows their sentences
    name (author, contribution, theme...): describing them then reads the session's identity
    map instead of querying once or more per notification. The caller keeps the list while it
    describes (the identity map holds its objects weakly)."""
    from sqlalchemy.orm import selectinload

    wanted: dict[str, set[int]] = {}
    for notification in notifications:
        wanted.setdefault(notification.subject_kind, set()).add(notification.subject_id)
    loaded: list[object] = []
    for kind, ids in wanted.items():
        subject = subjects.get(kind)
        model = subject.model if subject is not None else None
        if model is None:
            continue
        related = [
            selectinload(getattr(model, rel.key))
            for rel in model.__mapper__.relationships
            if not rel.uselist
        ]
        loaded += session.scalars(select(model).options(*related).where(model.id.in_(ids))).all()
    return loaded


def describe_all(session: Session, user: User, notifications: list[Notification]) -> list[Shown]:
    """:func:`describe` for a page of notifications, their subjects loaded together."""
    loaded = _load_subjects(session, notifications)
    shown = [describe(session, user, n) for n in notifications]
    del loaded
    return shown


def describe(session: Session, user: User, notification: Notification) -> Shown:
    """The sentence and link of a notification, read from its subject now: content hidden or
    withdrawn since then is no longer named."""
    subject = subjects.get(notification.subject_kind)
    obj = subject.load(session, str(notification.subject_id)) if subject else None
    mine = obj is not None and getattr(obj, "author_id", None) == user.id
    if obj is None or not (subject.public(obj) or mine):
        return Shown(notification, _("Ce contenu n'est plus disponible."), None)
    event = notification.event_enum
    title = subject.title(obj)
    match event:
        case Event.COMMENT:
            text = _(
                "%(name)s a commenté la contribution « %(title)s »",
                name=_actor_name(obj),
                title=obj.contribution.title,
            )
        case Event.REPLY:
            text = _(
                "%(name)s a répondu à votre commentaire sur « %(title)s »",
                name=_actor_name(obj),
                title=obj.contribution.title,
            )
        case Event.NEW_CONTRIBUTION:
            text = _(
                "Nouvelle contribution dans « %(theme)s » : « %(title)s »",
                theme=obj.theme.title,
                title=title,
            )
        case Event.IDEA_ANSWER:
            text = _("L'idée « %(title)s » a reçu une réponse", title=title)
        case Event.RETEX_REVIEW:
            if obj.published_version:
                text = _("Votre fiche Retex « %(title)s » a été publiée", title=title)
            else:
                text = _("Votre fiche Retex « %(title)s » vous a été renvoyée", title=title)
        case Event.TERRITORY_EVENT:
            text = _("Nouvelle rencontre : « %(title)s »", title=title)
        case _other:
            text = _("Nouvelle actualité : « %(title)s »", title=title)
    return Shown(notification, text, subject.url(obj))


def mine_or_none(session: Session, user: User, notification_id: int) -> Notification | None:
    found = session.get(Notification, notification_id)
    return found if found is not None and found.user_id == user.id else None


def mark_read(session: Session, notification: Notification) -> None:
    if notification.read_at is None:
        notification.read_at = utcnow()
        session.flush()


def mark_all_read(session: Session, user: User) -> int:
    return session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    ).rowcount


# --- Email preferences ---------------------------------------------------------------------------


def preferences(session: Session, user: User) -> dict[Event, Delivery]:
    stored = {
        p.event: p.delivery
        for p in session.scalars(select(Preference).where(Preference.user_id == user.id))
    }
    return {e: Delivery(stored.get(e.value, Delivery.NONE.value)) for e in Event}


def set_preferences(session: Session, user: User, choices: dict[Event, Delivery]) -> None:
    existing = {
        p.event: p for p in session.scalars(select(Preference).where(Preference.user_id == user.id))
    }
    for event, delivery in choices.items():
        row = existing.get(event.value)
        if row is None:
            session.add(Preference(user_id=user.id, event=event.value, delivery=delivery.value))
        else:
            row.delivery = delivery.value
    session.flush()


def unsubscribe_all(session: Session, user: User) -> None:
    session.execute(
        update(Preference)
        .where(Preference.user_id == user.id)
        .values(delivery=Delivery.NONE.value, updated_at=utcnow())
    )


def may_receive_email(user: User | None) -> bool:
    """Only an account with an address of its own: pupils who took part with an access code
    only have none (and code accounts never get one), deleted accounts lost theirs, blocked
    ones are not solicited."""
    return bool(user is not None and user.email and not user.is_deleted and not user.is_blocked)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: User) -> str:
    # The session version is inside: a password reset (or a deletion) retires old links.
    return _serializer().dumps([user.id, user.session_version])


def user_from_unsubscribe_token(session: Session, token: str) -> User | None:
    if len(token) > 200:
        return None
    try:
        user_id, version = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.is_deleted or user.session_version != version:
        return None
    return user


# --- Mail ----------------------------------------------------------------------------------------


def _deliveries(session: Session, user_ids: Iterable[int]) -> dict[tuple[int, str], str]:
    ids = list(user_ids)
    if not ids:
        return {}
    return {
        (p.user_id, p.event): p.delivery
        for p in session.scalars(select(Preference).where(Preference.user_id.in_(ids)))
    }


def _send(user: User, subject: str, lines: list[tuple[str, str | None]]) -> None:
    from consult.mail import send_mail

    token = unsubscribe_token(user)
    unsubscribe = absolute_url("notifications.unsubscribe", token=token)
    settings = absolute_url("notifications.preferences")
    body = [_("Bonjour %(name)s,", name=user.pseudonym), ""]
    for text, url in lines:
        body.append(f"- {text}")
        if url:
            body.append(f"  {url}")
    body += [
        "",
        _("Choisir les courriels que vous recevez : %(url)s", url=settings),
        _("Ne plus recevoir aucun courriel de notification : %(url)s", url=unsubscribe),
    ]
    send_mail(
        user.email,
        subject,
        "\n".join(body) + "\n",
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )


def _absolute(url: str | None) -> str | None:
    if url is None or url.startswith("http"):
        return url
    from consult.web import site_url

    return site_url() + url


def mail_immediately(session: Session, created: list[Notification]) -> None:
    deliveries = _deliveries(session, {n.user_id for n in created})
    loaded = _load_subjects(session, created)  # kept while the mails are written
    sent = False
    for notification in created:
        if deliveries.get((notification.user_id, notification.event)) != Delivery.IMMEDIATE:
            continue
        user = session.get(User, notification.user_id)
        if not may_receive_email(user):
            continue
        with force_locale(user.locale or "fr"):
            shown = describe(session, user, notification)
            subject = _("[Consult] %(text)s", text=shown.text)
            _send(user, subject, [(shown.text, _absolute(shown.url))])
        notification.mailed_at = utcnow()
        sent = True
    del loaded
    if sent:
        session.commit()


def send_digests(session: Session) -> int:
    """One email per person who chose the daily digest for some event: what arrived since the
    last one and is still unread. Returns the number of emails queued."""
    since = utcnow() - DIGEST_WINDOW
    rows = session.execute(
        select(Notification, Preference.user_id)
        .join(
            Preference,
            (Preference.user_id == Notification.user_id) & (Preference.event == Notification.event),
        )
        .where(
            Preference.delivery == Delivery.DAILY.value,
            Notification.mailed_at.is_(None),
            Notification.read_at.is_(None),
            Notification.created_at >= since,
        )
        .order_by(Notification.user_id, Notification.id)
    ).all()
    by_user: dict[int, list[Notification]] = {}
    for notification, user_id in rows:
        by_user.setdefault(user_id, []).append(notification)
    loaded = _load_subjects(session, [n for n, _user in rows])  # kept while mails are written
    sent = 0
    now = utcnow()
    for user_id, items in by_user.items():
        user = session.get(User, user_id)
        for item in items:
            item.mailed_at = now
        if not may_receive_email(user):
            continue
        with force_locale(user.locale or "fr"):
            lines = []
            for item in items:
                shown = describe(session, user, item)
                lines.append((shown.text, _absolute(shown.url)))
            subject = ngettext(
                "[Consult] Votre résumé du jour : %(num)d notification",
                "[Consult] Votre résumé du jour : %(num)d notifications",
                len(items),
            )
            _send(user, subject, lines)
        sent += 1
    del loaded
    session.commit()
    return sent


@jobs.task("notifications.digest", retries=1, retry_delay=300, periodic=(6, 0))
def digest() -> None:
    send_digests(db.session)


# --- Account: personal data and deletion ---------------------------------------------------------


def personal_data(session: Session, user: User) -> dict[str, Any]:
    follows = session.scalars(select(Follow).where(Follow.user_id == user.id).order_by(Follow.id))
    notes = session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    return {
        "notifications": {
            "follows": [
                {"kind": f.kind, "key": f.key, "since": f.created_at.isoformat(timespec="seconds")}
                for f in follows
            ],
            "notifications": [
                {
                    "event": n.event,
                    "subject": f"{n.subject_kind}:{n.subject_id}",
                    "created_at": n.created_at.isoformat(timespec="seconds"),
                    "read": n.read_at is not None,
                }
                for n in notes
            ],
            "email_preferences": {e.value: d.value for e, d in preferences(session, user).items()},
            "public_profile_details": bool(user.profile_shows_details),
        }
    }


def erase_account(session: Session, user: User) -> None:
    for model in (Follow, Notification, Preference):
        session.execute(delete(model).where(model.user_id == user.id))
    user.profile_shows_details = False
