"""Questionnaire permissions and their policy."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import Role, ScopeKind, User
from consult.permissions import coordinates, may_participate, register_policy


class Permission(enum.StrEnum):
    # Object: an académie code (None: "may manage codes somewhere", for links and lists).
    CODES_MANAGE = "surveys.codes_manage"
    # Aggregated results; cells under the threshold are suppressed unless RESULTS_UNSUPPRESSED.
    RESULTS_VIEW = "surveys.results_view"
    RESULTS_UNSUPPRESSED = "surveys.results_unsuppressed"
    # Row-level exports and free-text browsing: analysts only (never personal data).
    EXPORT = "surveys.export"
    DEFINITION_EDIT = "surveys.definition_edit"
    # Object: None. Answering with an account (an access code alone needs no account).
    ANSWER = "surveys.answer"


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    # Answering, managing codes and reading the analysts' results are all acts.
    if not may_participate(user):
        return False
    is_admin = user.has_role(Role.ADMIN)
    analyst = is_admin or user.has_role(Role.ANALYST)
    match permission:
        case Permission.ANSWER:
            return True
        case Permission.CODES_MANAGE:
            if obj is None:
                return is_admin or user.has_role(Role.COORDINATOR)
            return coordinates(user, str(obj), ScopeKind.ACADEMIE)
        case Permission.RESULTS_VIEW:
            return analyst or user.has_role(Role.COORDINATOR)
        case Permission.RESULTS_UNSUPPRESSED | Permission.EXPORT:
            return analyst
        case Permission.DEFINITION_EDIT:
            return is_admin
    return False


register_policy(Permission, policy)
