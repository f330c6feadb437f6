"""Who may follow, read their notifications and see a profile."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import User
from consult.permissions import may_participate, register_policy


class Permission(enum.StrEnum):
    # Object: None. Following is participation (a blocked account may still unfollow).
    FOLLOW = "notifications.follow"
    # Object: a Notification, or None for one's own list. Reading and clearing one's own
    # notifications and email settings is part of one's account, blocked or not.
    READ = "notifications.read"


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    match permission:
        case Permission.FOLLOW:
            return may_participate(user)
        case Permission.READ:
            return obj is None or getattr(obj, "user_id", None) == user.id
    return False


def register() -> None:
    register_policy(Permission, policy)
