"""Who may report and who may moderate. Coordinators moderate the kinds whose objects belong to
an académie they coordinate (the ideas box); forum content is national, for moderators."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import Role, ScopeKind, User
from consult.permissions import coordinates, may_participate, register_policy


class Permission(enum.StrEnum):
    # Object: the target (optional).
    REPORT = "moderation.report"
    # Object: None (the queue) or the target.
    MODERATE = "moderation.moderate"


def target_academie(obj: Any) -> str | None:
    """The académie a target belongs to, when the kind registered a scope for it."""
    from consult.moderation import kind_for_object

    kind = kind_for_object(obj)
    if kind is None or kind.scope is None:
        return None
    return kind.scope(obj)


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if not may_participate(user):
        return False
    match permission:
        case Permission.REPORT:
            return obj is None or getattr(obj, "author_id", None) != user.id
        case Permission.MODERATE:
            if user.has_role(Role.ADMIN) or user.has_role(Role.MODERATOR):
                return True
            if not user.has_role(Role.COORDINATOR):
                return False
            if obj is None:
                return True
            return coordinates(user, target_academie(obj), ScopeKind.ACADEMIE)
    return False


register_policy(Permission, policy)
