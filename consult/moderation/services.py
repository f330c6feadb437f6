"""Moderation logic. Takes the session, never commits; refusals raise :class:`ModerationError`
with a French message and an HTTP status for the view."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consult.db import Base, utcnow
from consult.models import Role, User
from consult.moderation import Kind, kinds, load_target, visibility_changed, visible_to
from consult.moderation.models import Moderatable, Report, ReportReason
from consult.moderation.permissions import Permission
from consult.notifications import dispatch
from consult.permissions import authorize, may_participate
from consult.web import ConsultError, audit

REPORT_TEXT_MAX = 1000
REASON_MAX = 500
DEFAULT_REPORT_THRESHOLD = 3


class ModerationError(ConsultError):
    """A refusal from moderation (see consult.web.ConsultError)."""


def report_threshold() -> int:
    if has_app_context():
        return int(current_app.config.get("MODERATION_REPORT_THRESHOLD", DEFAULT_REPORT_THRESHOLD))
    return DEFAULT_REPORT_THRESHOLD


def auto_hide_reason() -> str:
    return _(
        "Masqué automatiquement après plusieurs signalements, en attente de l'examen "
        "d'un modérateur."
    )


def _target(session: Session, kind: str, target_id: int) -> tuple[Kind, Any]:
    found = load_target(session, kind, target_id)
    if found is None:
        raise ModerationError(_("Ce contenu n'existe pas ou n'existe plus."), 404)
    return found


def _changed(session: Session, registered: Kind, target: Any, was_visible: bool) -> None:
    visibility_changed(session)
    dispatch(session, registered.kind, target)  # released content is announced now
    if registered.on_change is not None and target.is_visible != was_visible:
        registered.on_change(session, target, was_visible)


def _resolve_reports(session: Session, kind: str, target_id: int) -> None:
    session.execute(
        update(Report)
        .where(Report.kind == kind, Report.target_id == target_id, Report.resolved_at.is_(None))
        .values(resolved_at=utcnow())
    )


def report(
    session: Session, reporter: User, kind: str, target_id: int, reason: str, text: str
) -> Report:
    """File a report; past the threshold of distinct reporters the target is hidden pending
    review."""
    registered, target = _target(session, kind, target_id)
    if not visible_to(reporter, target):
        # Held or hidden content does not exist for those who may not read it.
        raise ModerationError(_("Ce contenu n'existe pas ou n'existe plus."), 404)
    if getattr(target, "author_id", None) == reporter.id:
        raise ModerationError(_("Vous ne pouvez pas signaler votre propre contenu."), 403)
    if not authorize(reporter, Permission.REPORT, target):
        raise ModerationError(_("Vous ne pouvez pas signaler de contenu."), 403)
    try:
        ReportReason(reason)
    except ValueError:
        raise ModerationError(_("Motif de signalement inconnu."), 422) from None
    text = (text or "").strip()
    if len(text) > REPORT_TEXT_MAX:
        raise ModerationError(_("Le texte du signalement est trop long."), 422)
    entry = Report(
        kind=kind, target_id=target_id, reporter_id=reporter.id, reason=reason, text=text
    )
    try:
        # A savepoint: the unique constraint refuses a second report without spoiling the
        # request's transaction.
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:
        raise ModerationError(_("Vous avez déjà signalé ce contenu."), 409) from None
    model = type(target)
    key = inspect(model).primary_key[0]
    session.execute(
        update(model).where(key == target_id).values(report_count=model.report_count + 1)
    )
    session.refresh(target, ["report_count"])
    reporters = session.scalar(
        # The unique constraint makes each row a distinct reporter (erased accounts included).
        select(func.count()).where(
            Report.kind == kind, Report.target_id == target_id, Report.resolved_at.is_(None)
        )
    )
    if target.hidden_at is None and reporters >= report_threshold():
        was_visible = target.is_visible
        target.hidden_at = utcnow()
        target.hidden_reason = auto_hide_reason()
        _changed(session, registered, target, was_visible)
        audit(session, None, "moderation.auto_hide", kind, target_id, reports=reporters)
    audit(session, reporter, "moderation.report", kind, target_id, reason=reason)
    return entry


def _moderated_target(
    session: Session, moderator: User, kind: str, target_id: int
) -> tuple[Kind, Any]:
    registered, target = _target(session, kind, target_id)
    if not authorize(moderator, Permission.MODERATE, target):
        raise ModerationError(_("Vous ne pouvez pas modérer ce contenu."), 403)
    return registered, target


def _clean_reason(reason: str | None, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ModerationError(_("Indiquez le motif, il sera montré à l'auteur."), 422)
    if len(reason) > REASON_MAX:
        raise ModerationError(_("Le motif est trop long (500 caractères au plus)."), 422)
    return reason


def hide(session: Session, moderator: User, kind: str, target_id: int, reason: str) -> Any:
    registered, target = _moderated_target(session, moderator, kind, target_id)
    reason = _clean_reason(reason, required=True)
    was_visible = target.is_visible
    target.hidden_at = utcnow()
    target.hidden_reason = reason
    target.held_for_review = False
    _changed(session, registered, target, was_visible)
    _resolve_reports(session, kind, target_id)
    audit(session, moderator, "moderation.hide", kind, target_id, reason=reason)
    return target


def restore(
    session: Session, moderator: User, kind: str, target_id: int, reason: str | None = None
) -> Any:
    registered, target = _moderated_target(session, moderator, kind, target_id)
    reason = _clean_reason(reason, required=False)
    was_visible = target.is_visible
    target.hidden_at = None
    target.hidden_reason = None
    target.held_for_review = False
    _changed(session, registered, target, was_visible)
    _resolve_reports(session, kind, target_id)
    audit(session, moderator, "moderation.restore", kind, target_id, reason=reason)
    return target


def approve(session: Session, moderator: User, kind: str, target_id: int) -> Any:
    """Publish content held for review (and close the reports it received)."""
    registered, target = _moderated_target(session, moderator, kind, target_id)
    if not target.held_for_review and target.hidden_at is None:
        raise ModerationError(_("Ce contenu est déjà publié."), 409)
    was_visible = target.is_visible
    target.held_for_review = False
    target.hidden_at = None
    target.hidden_reason = None
    _changed(session, registered, target, was_visible)
    _resolve_reports(session, kind, target_id)
    audit(session, moderator, "moderation.approve", kind, target_id)
    return target


def can_block(user: User | None) -> bool:
    # Blocking is national: territorial coordinators moderate content, not accounts.
    return may_participate(user) and (user.has_role(Role.ADMIN) or user.has_role(Role.MODERATOR))


def block_user(session: Session, moderator: User, user: User, reason: str) -> User:
    if not can_block(moderator):
        raise ModerationError(_("Vous ne pouvez pas bloquer de compte."), 403)
    if user.id == moderator.id:
        raise ModerationError(_("Vous ne pouvez pas bloquer votre propre compte."), 409)
    if user.has_role(Role.ADMIN) or user.has_role(Role.MODERATOR):
        raise ModerationError(_("Un administrateur ou un modérateur ne peut pas être bloqué."), 409)
    if user.is_deleted:
        raise ModerationError(_("Ce compte est supprimé."), 409)
    if user.is_blocked:
        raise ModerationError(_("Ce compte est déjà bloqué."), 409)
    reason = _clean_reason(reason, required=True)
    user.blocked_at = utcnow()
    user.blocked_reason = reason
    audit(session, moderator, "moderation.block_user", "user", user.id, reason=reason)
    return user


def unblock_user(session: Session, moderator: User, user: User) -> User:
    if not can_block(moderator):
        raise ModerationError(_("Vous ne pouvez pas débloquer de compte."), 403)
    if not user.is_blocked:
        raise ModerationError(_("Ce compte n'est pas bloqué."), 409)
    user.blocked_at = None
    user.blocked_reason = None
    audit(session, moderator, "moderation.unblock_user", "user", user.id)
    return user


# --- The queue ---------------------------------------------------------------------------------


@dataclass
class QueueItem:
    kind: Kind
    target: Any
    reports: list[Report] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.target.held_for_review:
            return "held"
        if self.target.hidden_at is not None:
            return "hidden"
        return "reported"


def _moderatable_models() -> list[type]:
    models = [registered.model for registered in kinds().values() if registered.model is not None]
    for mapper in Base.registry.mappers:
        if issubclass(mapper.class_, Moderatable) and mapper.class_ not in models:
            models.append(mapper.class_)
    return models


def _kind_of_model(session: Session, model: type, sample_id: int) -> Kind | None:
    """The registered kind for a model; learnt by loading one row when the package did not
    say (``load`` returns an instance of the model for its own kind only)."""
    for registered in kinds().values():
        if registered.model is model:
            return registered
    for registered in kinds().values():
        if registered.model is None:
            obj = registered.load(session, sample_id)
            if isinstance(obj, model):
                registered.model = model
                return registered
    return None


def queue(session: Session, moderator: User, limit: int = 200) -> list[QueueItem]:
    """Open reports and held content the moderator may act on, oldest first."""
    items: dict[tuple[str, int], QueueItem] = {}
    open_reports = session.scalars(
        select(Report).where(Report.resolved_at.is_(None)).order_by(Report.id).limit(limit * 5)
    ).all()
    for entry in open_reports:
        key = (entry.kind, entry.target_id)
        if key not in items:
            found = load_target(session, entry.kind, entry.target_id)
            if found is None:
                continue
            items[key] = QueueItem(found[0], found[1])
        items[key].reports.append(entry)
    for model in _moderatable_models():
        key_column = inspect(model).primary_key[0]
        held = session.scalars(
            select(model).where(model.held_for_review.is_(True)).order_by(key_column).limit(limit)
        ).all()
        if not held:
            continue
        registered = _kind_of_model(session, model, getattr(held[0], key_column.key))
        if registered is None:
            continue
        for target in held:
            key = (registered.kind, getattr(target, key_column.key))
            items.setdefault(key, QueueItem(registered, target))
    visible = [
        item for item in items.values() if authorize(moderator, Permission.MODERATE, item.target)
    ]
    return visible[:limit]


MASKED_PAGE_SIZE = 20
# Hidden content is rare (a moderation decision each); past this many per kind the oldest wait
# for a later page of the newest (the view says how many are listed).
MASKED_SCAN_LIMIT = 2000


def masked(
    session: Session, moderator: User, page: int = 1, per_page: int = MASKED_PAGE_SIZE
) -> tuple[list[QueueItem], int]:
    """Hidden and held content the moderator may act on (restore, publish), most recently
    hidden first; one page and the total. "Not visible" is the moderation half of the one
    visibility rule (``Moderatable.is_visible``), so a withdrawn contribution (its author's
    choice) is not listed: only what moderation can undo."""
    items: list[QueueItem] = []
    for model in _moderatable_models():
        key_column = inspect(model).primary_key[0]
        rows = session.scalars(
            select(model)
            .where(~model.is_visible)
            .order_by(model.hidden_at.desc(), key_column.desc())
            .limit(MASKED_SCAN_LIMIT)
        ).all()
        if not rows:
            continue
        registered = _kind_of_model(session, model, getattr(rows[0], key_column.key))
        if registered is None:
            continue
        items.extend(
            QueueItem(registered, target)
            for target in rows
            if authorize(moderator, Permission.MODERATE, target)
        )
    items.sort(
        key=lambda item: (item.target.hidden_at or item.target.created_at, item.target.id),
        reverse=True,
    )
    start = (max(page, 1) - 1) * per_page
    return items[start : start + per_page], len(items)


# --- Personal data -----------------------------------------------------------------------------


def personal_data(session: Session, user: User) -> dict[str, Any]:
    return {
        "reports": [
            {
                "kind": r.kind,
                "target_id": r.target_id,
                "reason": r.reason,
                "text": r.text,
                "created_at": r.created_at.isoformat(timespec="seconds"),
            }
            for r in session.scalars(
                select(Report).where(Report.reporter_id == user.id).order_by(Report.id)
            )
        ]
    }


def erase_reporter(session: Session, user: User) -> None:
    """The reports still count (three people did report), but no longer say who or what."""
    session.execute(
        update(Report).where(Report.reporter_id == user.id).values(reporter_id=None, text="")
    )
