"""Who may see unsuppressed figures, recompile, export in detail and compose syntheses."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import Role, ScopeKind, User
from consult.permissions import coordinates, may_participate, register_policy


class Permission(enum.StrEnum):
    # Unsuppressed aggregates (never personal data): analysts and admins.
    VIEW_DETAILED = "synthesis.view_detailed"
    COMPILE = "synthesis.compile"
    EXPORT_DETAILED = "synthesis.export_detailed"
    MANAGE_REFERENCE = "synthesis.manage_reference"
    # Object: a Scope (kind, code) — national is composed by analysts, a territory by its
    # coordinators (a région's coordinators also cover its académies), admins everywhere.
    COMPOSE = "synthesis.compose"
    # Object: None — the list of syntheses one may compose (the "Composer" entry point).
    COMPOSE_ANY = "synthesis.compose_any"


def _analyst(user: User) -> bool:
    return user.has_role(Role.ANALYST) or user.has_role(Role.ADMIN)


def may_compose(user: User | None, kind: str, code: str) -> bool:
    if not may_participate(user):
        return False
    if user.has_role(Role.ADMIN):
        return True
    if kind == "national":
        return user.has_role(Role.ANALYST)
    if kind == "region":
        return coordinates(user, code, ScopeKind.REGION)
    if kind == "academie":
        return coordinates(user, code, ScopeKind.ACADEMIE)
    return False


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if not may_participate(user):
        return False
    match permission:
        case (
            Permission.VIEW_DETAILED
            | Permission.COMPILE
            | Permission.EXPORT_DETAILED
            | Permission.MANAGE_REFERENCE
        ):
            return _analyst(user)
        case Permission.COMPOSE:
            kind, code = obj
            return may_compose(user, kind, code)
        case Permission.COMPOSE_ANY:
            return _analyst(user) or user.has_role(Role.COORDINATOR)
    return False


register_policy(Permission, policy)
