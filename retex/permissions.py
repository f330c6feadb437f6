"""Who may do what with Retex sheets. Views call ``require``; templates call ``can``."""

from __future__ import annotations

import enum
from typing import Any

from consult.models import Role, ScopeKind, User
from consult.permissions import coordinates, may_participate, register_policy
from consult.territories import catalog
from retex.models import RetexAttachment, RetexSheet, SheetStatus, TerritoryLevel


class Permission(enum.StrEnum):
    CREATE = "retex.create"
    # Object: a RetexSheet.
    EDIT = "retex.edit"
    SUBMIT = "retex.submit"
    VIEW_WORK = "retex.view_work"
    REVIEW = "retex.review"
    # Object: a RetexAttachment.
    ATTACHMENT_VIEW = "retex.attachment_view"
    ATTACHMENT_DELETE = "retex.attachment_delete"
    # Object: None (any territory) — the review queue.
    REVIEW_QUEUE = "retex.review_queue"


EDITABLE = {SheetStatus.DRAFT, SheetStatus.RETURNED, SheetStatus.PUBLISHED}


def reviews_territory(user: User | None, level: str, code: str) -> bool:
    """A sheet is reviewed by a coordinator of its territory: a région's coordinators cover its
    académies, and a département's sheet is reviewed by its académie's coordinators."""
    if level == TerritoryLevel.REGION:
        return coordinates(user, code, ScopeKind.REGION)
    if level == TerritoryLevel.ACADEMIE:
        return coordinates(user, code, ScopeKind.ACADEMIE)
    if level == TerritoryLevel.DEPARTEMENT:
        dept = catalog().departements.get(code)
        return dept is not None and coordinates(user, dept.academie_code, ScopeKind.ACADEMIE)
    return False


def _is_author(user: User, sheet: RetexSheet) -> bool:
    return sheet.author_id is not None and sheet.author_id == user.id


def _may_review(user: User, sheet: RetexSheet) -> bool:
    # Nobody reviews their own sheet: publication always takes a second person.
    return not _is_author(user, sheet) and reviews_territory(
        user, sheet.territory_level, sheet.territory_code
    )


def policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if not may_participate(user):
        return permission is Permission.ATTACHMENT_VIEW and _public_attachment(obj)
    match permission:
        case Permission.CREATE:
            return True
        case Permission.EDIT:
            return _is_author(user, obj) and obj.status_enum in EDITABLE
        case Permission.SUBMIT:
            return _is_author(user, obj) and obj.status_enum in {
                SheetStatus.DRAFT,
                SheetStatus.RETURNED,
            }
        case Permission.VIEW_WORK:
            # Reviewers see a sheet once it has been submitted to them: a never-submitted
            # draft (and its attachments) stays its author's.
            return _is_author(user, obj) or (
                obj.submitted_at is not None
                and reviews_territory(user, obj.territory_level, obj.territory_code)
            )
        case Permission.REVIEW:
            return obj.status_enum is SheetStatus.SUBMITTED and _may_review(user, obj)
        case Permission.REVIEW_QUEUE:
            return user.has_role(Role.COORDINATOR) or user.has_role(Role.ADMIN)
        case Permission.ATTACHMENT_VIEW:
            return _public_attachment(obj) or policy(user, Permission.VIEW_WORK, obj.sheet)
        case Permission.ATTACHMENT_DELETE:
            return not obj.public and policy(user, Permission.EDIT, obj.sheet)
    return False


def _public_attachment(obj: Any) -> bool:
    return isinstance(obj, RetexAttachment) and obj.public and obj.sheet.is_public


register_policy(Permission, policy)
