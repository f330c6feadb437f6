"""Forum permissions and their one policy (registered with the core)."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Any

from consult.db import utcnow
from consult.models import Role, User
from consult.permissions import may_participate

EDIT_WINDOW = timedelta(minutes=30)


class Permission(enum.StrEnum):
    # Object: a Theme.
    CONTRIBUTE = "forums.contribute"
    # Object: a Contribution.
    VIEW = "forums.view"
    VOTE = "forums.vote"
    COMMENT = "forums.comment"
    EDIT = "forums.edit"
    WITHDRAW = "forums.withdraw"


def is_moderator(user: User | None) -> bool:
    return user is not None and (user.has_role(Role.MODERATOR) or user.has_role(Role.ADMIN))


def _writable(user: User | None) -> bool:
    return may_participate(user)


def _open_for_debate(contribution: Any) -> bool:
    return contribution.is_public and contribution.theme.is_open()


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    match permission:
        case Permission.VIEW:
            # Withdrawn, hidden or held: its author and the moderators only.
            from consult.moderation import visible_to

            return visible_to(user, obj)
        case Permission.CONTRIBUTE:
            return _writable(user) and (obj is None or obj.is_open())
        case Permission.VOTE:
            return _writable(user) and obj.author_id != user.id and _open_for_debate(obj)
        case Permission.COMMENT:
            return _writable(user) and _open_for_debate(obj)
        case Permission.EDIT:
            return (
                _writable(user)
                and obj.author_id == user.id
                and not obj.is_withdrawn
                and obj.hidden_at is None
                and obj.adopt_count + obj.refuse_count == 0
                and utcnow() - obj.created_at <= EDIT_WINDOW
                and obj.theme.is_open()
            )
        case Permission.WITHDRAW:
            return _writable(user) and obj.author_id == user.id and not obj.is_withdrawn
    return False
