"""Shared moderation: reports, the moderators' queue, hide / restore / approve, blocking.

Packages declare each kind of content they publish with :func:`register_kind`; their models use
the :class:`consult.moderation.models.Moderatable` mixin. The queue, the report form and the
actions then work for every kind without knowing the packages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session


@dataclass
class Kind:
    kind: str
    label: Any
    load: Callable[[Session, int], object | None]
    url: Callable[[object], str]
    title: Callable[[object], str]
    excerpt: Callable[[object], str]
    # The mapped class, for the queue of content held before publication. Learnt from the
    # first object ``load`` returns when a package does not give it.
    model: type | None = None
    # The académie a target belongs to (coordinators moderate their territory's content);
    # None means national content, for moderators only.
    scope: Callable[[object], str | None] | None = None
    # Called after a moderator's decision or an automatic hide, with whether the target was
    # visible before: packages keep their counters of visible content exact.
    on_change: Callable[[Session, object, bool], None] | None = None


_KINDS: dict[str, Kind] = {}


def register_kind(
    kind: str,
    *,
    label: Any,
    load: Callable[[Session, int], object | None],
    url: Callable[[object], str],
    title: Callable[[object], str],
    excerpt: Callable[[object], str],
    model: type | None = None,
    scope: Callable[[object], str | None] | None = None,
    on_change: Callable[[Session, object, bool], None] | None = None,
) -> None:
    """Declare a kind of moderatable content (idempotent: apps built again re-register)."""
    if scope is None:
        scope = _default_scope
    _KINDS[kind] = Kind(kind, label, load, url, title, excerpt, model, scope, on_change)


def _default_scope(obj: object) -> str | None:
    # Territorial content (the ideas box) carries the académie it belongs to.
    return getattr(obj, "academie_code", None)


def kinds() -> dict[str, Kind]:
    return _KINDS


def get_kind(kind: str) -> Kind | None:
    return _KINDS.get(kind)


def load_target(session: Session, kind: str, target_id: int) -> tuple[Kind, object] | None:
    registered = _KINDS.get(kind)
    if registered is None:
        return None
    obj = registered.load(session, target_id)
    if obj is None:
        return None
    if registered.model is None:
        registered.model = type(obj)
    return registered, obj


def kind_for_object(obj: object) -> Kind | None:
    for registered in _KINDS.values():
        if registered.model is not None and isinstance(obj, registered.model):
            return registered
    return None


def is_public(obj: object) -> bool:
    """Anyone may read it: the model's ``is_public`` (one definition per kind, Python and SQL)."""
    return bool(obj.is_public)  # type: ignore[attr-defined]


def visible_to(user: Any, obj: object) -> bool:
    """Visible to this person: public, or theirs, or theirs to moderate (a moderator, or the
    coordinator of the académie the target belongs to). Blocked accounts still see their own
    content (they are told why it is hidden) but moderate nothing."""
    if is_public(obj):
        return True
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if getattr(obj, "author_id", None) == user.id:
        return True
    from consult.moderation.permissions import Permission
    from consult.permissions import authorize

    return authorize(user, Permission.MODERATE, obj)


def public_sql(model: type, alias: str, dialect: Any) -> str:
    """The model's ``is_public`` rule as a SQL condition on ``alias``, for the raw SQL readers
    (search, the synthesis engine) so they never keep a copy of the rule."""
    from sqlalchemy import literal_column, select
    from sqlalchemy.orm import aliased

    entity = aliased(model, name=alias)
    statement = select(literal_column("1")).select_from(entity).where(entity.is_public)  # type: ignore[attr-defined]
    compiled = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    # The outer WHERE comes first; a correlated EXISTS (comments) keeps its own inside.
    return "(" + compiled.split("\nWHERE ", 1)[1] + ")"


VISIBILITY_KEY = "visibility:generation"
VISIBILITY_KEY_SECONDS = 90 * 24 * 3600


def visibility_generation() -> str:
    """Changes whenever some content stops (or starts) being public. Caches of compiled
    figures that name items (synthesis pages and API) carry it in their keys, so a moderator's
    decision reaches them at once instead of when the compilation changes."""
    from consult.cache import cache

    try:
        return cache().get(VISIBILITY_KEY) or "0"
    except Exception:
        return "0"


def _bump_visibility_generation() -> None:
    import contextlib
    import time

    from consult.cache import cache

    # A cache outage must not fail the moderator's decision.
    with contextlib.suppress(Exception):
        cache().set(VISIBILITY_KEY, str(time.time_ns()), VISIBILITY_KEY_SECONDS)


def visibility_changed(session: Session) -> None:
    """Note that an item's visibility changed in this unit of work: the generation moves now
    and again after the commit (a page built in between would otherwise be cached as it was)."""
    from flask import has_app_context

    if has_app_context():
        _bump_visibility_generation()
        session.info["consult_visibility_changed"] = True


def _after_commit(session: Session) -> None:
    from flask import has_app_context

    if session.info.pop("consult_visibility_changed", False) and has_app_context():
        _bump_visibility_generation()


def init_app(app: Flask) -> None:
    from sqlalchemy import event

    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
    from flask_babel import lazy_gettext as _l

    from consult.hooks import StaffLink, hooks
    from consult.moderation import (
        permissions,
        services,
    )
    from consult.moderation.views import bp

    app.config.setdefault("RATELIMIT_REPORT", "30 per hour")
    app.config.setdefault("MODERATION_REPORT_THRESHOLD", 3)
    app.register_blueprint(bp)
    registered = hooks(app)
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.erase_reporter)
    registered.staff_nav.append(
        StaffLink(_l("Modération"), "moderation.queue", permissions.Permission.MODERATE, 10)
    )
