"""Territorial permissions: who posts and supports ideas, who answers them, who publishes
events and news. Coordinators act only within their territory (a région's coordinator covers
its académies); national items are for administrators."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import Role, ScopeKind, User
from consult.permissions import coordinates, may_participate, register_policy


class Permission(enum.StrEnum):
    # Object: the académie code the idea goes to.
    IDEA_POST = "territorial.idea_post"
    # Object: an Idea.
    IDEA_SUPPORT = "territorial.idea_support"
    IDEA_ANSWER = "territorial.idea_answer"
    # Object: an Event / NewsItem, a (scope_kind, scope_code) pair, or None ("any territory").
    EVENT_MANAGE = "territorial.event_manage"
    NEWS_MANAGE = "territorial.news_manage"
    # Object: an Event.
    EVENT_REGISTER = "territorial.event_register"
    # Object: an Event. Its organiser: the author, and who manages its territory. Sees the
    # registrants, publishes the minutes, records the contributions collected in the room.
    EVENT_ORGANISE = "territorial.event_organise"


def manages_scope(user: User | None, kind: str, code: str) -> bool:
    if user is None:
        return False
    if kind == ScopeKind.NATIONAL:
        return user.has_role(Role.ADMIN)
    if kind not in (ScopeKind.ACADEMIE, ScopeKind.REGION):
        return False
    return coordinates(user, code, ScopeKind(kind))


def _scope_of(obj: Any) -> tuple[str, str] | None:
    if obj is None:
        return None
    if isinstance(obj, tuple):
        return obj
    return obj.scope_kind, obj.scope_code


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if not may_participate(user):
        return False
    match permission:
        case Permission.IDEA_POST:
            return user.academie_code is not None and (obj is None or obj == user.academie_code)
        case Permission.IDEA_SUPPORT:
            return obj is not None and obj.author_id != user.id and obj.is_public
        case Permission.IDEA_ANSWER:
            return obj is not None and coordinates(user, obj.academie_code, ScopeKind.ACADEMIE)
        case Permission.EVENT_MANAGE | Permission.NEWS_MANAGE:
            scope = _scope_of(obj)
            if scope is None:
                return user.has_role(Role.ADMIN) or user.has_role(Role.COORDINATOR)
            return manages_scope(user, *scope)
        case Permission.EVENT_REGISTER:
            return obj is not None and obj.capacity is not None
        case Permission.EVENT_ORGANISE:
            return obj is not None and (
                obj.created_by_id == user.id or manages_scope(user, obj.scope_kind, obj.scope_code)
            )
    return False


def can_see_idea(user: User | None, idea: Any) -> bool:
    """Hidden or held ideas stay visible to their author, the territory's coordinators and the
    moderators (who decide on them); everyone else gets a 404."""
    from consult.moderation import visible_to

    return visible_to(user, idea)


def managed_territories(user: User | None) -> list[tuple[str, str]]:
    """Every (kind, code) this user may publish events and news for, for form choices."""
    from consult.territories import catalog

    if user is None:
        return []
    cat = catalog()
    if user.has_role(Role.ADMIN):
        return (
            [("national", "")]
            + [("region", r.code) for r in cat.regions_sorted()]
            + [("academie", a.code) for a in cat.academies_sorted()]
        )
    scopes: list[tuple[str, str]] = []
    for grant in user.grants:
        if grant.role != Role.COORDINATOR:
            continue
        if grant.scope_kind == ScopeKind.REGION and grant.scope_code in cat.regions:
            scopes.append(("region", grant.scope_code))
            scopes.extend(("academie", c) for c in cat.regions[grant.scope_code].academie_codes)
        elif grant.scope_kind == ScopeKind.ACADEMIE and grant.scope_code in cat.academies:
            scopes.append(("academie", grant.scope_code))
    return list(dict.fromkeys(scopes))


register_policy(Permission, policy)
