"""Named permissions and the policy that answers "may this user do this, on this object?".

Every package declares its own ``Permission`` enum and one policy function, and registers the
pair with :func:`register_policy`. Views call :func:`authorize` / :func:`require`, templates call
``can(...)``; dispatch goes by the permission's enum type, never by a string name.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, current_app, make_response
from flask_login import current_user

from consult.models import Role, ScopeKind, User
from consult.territories import catalog

Policy = Callable[[User | None, enum.Enum, Any], bool]
F = TypeVar("F", bound=Callable[..., Any])


class Permission(enum.StrEnum):
    """Core permissions (accounts, administration, territories)."""

    ACCOUNT_VIEW = "account.view"
    ACCOUNT_EDIT = "account.edit"
    ADMIN_ACCESS = "admin.access"
    ROLE_GRANT = "admin.role_grant"
    AUDIT_VIEW = "admin.audit_view"
    # Object: an académie code or a région académique code (a Territory).
    TERRITORY_COORDINATE = "territory.coordinate"
    # Unsuppressed aggregates (analysts and admins only).
    ANALYSIS_VIEW = "analysis.view"
    MODERATE = "moderation.act"
    # Any write that shows in or feeds the consultation (post, vote, comment, report, support,
    # sign up, answer, write a Retex sheet, compose results, moderate...).
    PARTICIPATE = "participation.act"


_POLICIES: dict[type[enum.Enum], Policy] = {}


def register_policy(permission_type: type[enum.Enum], policy: Policy) -> None:
    _POLICIES[permission_type] = policy


def _active(user: Any) -> User | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    if not user.is_active:
        return None
    return user


# --- Participation: the one rule every package policy calls --------------------------------------


def may_participate(user: Any) -> bool:
    """May this account act at all (anything beyond reading, its own account and leaving)?

    Staff acts included: administration, moderation, Retex review, access-code batches,
    composing results, analysts' unsuppressed views. Every package policy asks it first.

    Blocking is not expressed through Flask-Login's ``is_active``: an inactive user cannot log
    in, and a blocked person must still be able to read why, download their data and delete
    their account. So ``is_active`` means "not deleted", and every package policy asks this
    function before any participation action.
    """
    return (
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.is_active
        and not user.is_blocked
    )


def participation_refusal() -> str:
    from flask_babel import gettext as _

    return _(
        "Votre compte est bloqué par la modération : vous pouvez lire la consultation, "
        "télécharger vos données ou supprimer votre compte, mais plus participer."
    )


def refuse_blocked() -> None:
    """Abort with the 403 page that says the account is blocked."""
    from consult.views import render_error

    abort(make_response(render_error(403, participation_refusal())))


def require_participation() -> None:
    """For views whose action needs no object: login, then the participation rule."""
    if may_participate(current_user):
        return
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())
    refuse_blocked()


def authorize(user: Any, permission: enum.Enum, obj: Any = None) -> bool:
    policy = _POLICIES.get(type(permission))
    if policy is None:
        raise LookupError(f"no policy registered for {type(permission).__name__}")
    return bool(policy(_active(user), permission, obj))


def can(permission: enum.Enum, obj: Any = None) -> bool:
    return authorize(current_user, permission, obj)


def require(permission: enum.Enum, obj: Any = None) -> None:
    """Abort the request unless the current user holds the permission (401 → login, else 403)."""
    if authorize(current_user, permission, obj):
        return
    if not current_user.is_authenticated:
        abort(current_app.login_manager.unauthorized())  # redirect to the login page
    if not may_participate(current_user):
        # Whatever the permission, a blocked account hears why, not a bare "forbidden".
        refuse_blocked()
    abort(403)


def permission_required(permission: enum.Enum) -> Callable[[F], F]:
    """Decorator for views whose permission does not depend on an object."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not authorize(current_user, permission):
                if not current_user.is_authenticated:
                    return current_app.login_manager.unauthorized()
                if not may_participate(current_user):
                    refuse_blocked()
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


# --- Territorial scope -------------------------------------------------------------------------


def coordinates(user: User | None, territory_code: str | None, kind: ScopeKind) -> bool:
    """Does ``user`` coordinate this académie or région académique?

    A coordinator of a région académique covers all its académies; admins cover everything.
    Coordinating is acting: a blocked account coordinates nothing (:func:`may_participate`).
    """
    if territory_code is None or not may_participate(user):
        return False
    if user.has_role(Role.ADMIN):
        return True
    cat = catalog()
    for grant in user.grants:
        if grant.role != Role.COORDINATOR:
            continue
        if grant.scope_kind == kind and grant.scope_code == territory_code:
            return True
        if (
            kind is ScopeKind.ACADEMIE
            and grant.scope_kind == ScopeKind.REGION
            and cat.region_of(territory_code) == grant.scope_code
        ):
            return True
    return False


def core_policy(user: User | None, permission: enum.Enum, obj: Any = None) -> bool:
    if user is None:
        return False
    if permission in (Permission.ACCOUNT_VIEW, Permission.ACCOUNT_EDIT):
        # A blocked person still reads why, downloads their data and may leave.
        return obj is None or obj.id == user.id
    # Every other core permission is a staff act (administration, analysis, coordination,
    # moderation): a blocked admin, analyst or coordinator may act nowhere, as a participant.
    if not may_participate(user):
        return False
    is_admin = user.has_role(Role.ADMIN)
    match permission:
        case Permission.ADMIN_ACCESS | Permission.ROLE_GRANT | Permission.AUDIT_VIEW:
            return is_admin
        case Permission.ANALYSIS_VIEW:
            return is_admin or user.has_role(Role.ANALYST)
        case Permission.MODERATE:
            return is_admin or user.has_role(Role.MODERATOR)
        case Permission.PARTICIPATE:
            return True
        case Permission.TERRITORY_COORDINATE:
            if obj is None:
                return is_admin or user.has_role(Role.COORDINATOR)
            kind, code = obj
            return coordinates(user, code, ScopeKind(kind))
    return False


register_policy(Permission, core_policy)
