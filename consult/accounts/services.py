"""Account logic. Functions take the session and never commit: the view owns the transaction."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.hooks import hooks
from consult.models import Audience, AuditEvent, RoleGrant, User
from consult.security import (
    email_key,
    fold,
    hash_password,
    is_reserved_pseudonym,
    needs_rehash,
    verify_password,
)
from consult.territories import catalog
from consult.web import ConsultError, audit

RESET_SALT = "consult.password-reset"


class AccountError(ConsultError):
    """A refusal the view shows to the user (message already translated). Its second argument
    is the form field, as the account forms put every refusal under one."""

    def __init__(self, message: str, field: str | None = None, status: int | None = None) -> None:
        super().__init__(message, status, field)


@dataclass
class ProfileData:
    pseudonym: str
    audience: str
    academie_code: str
    departement_code: str | None = None
    school_level: str | None = None
    other_actor_kind: str | None = None


def pseudonym_taken(session: Session, pseudonym: str, exclude_id: int | None = None) -> bool:
    stmt = select(User.id).where(User.pseudonym_key == fold(pseudonym))
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return session.scalar(stmt) is not None


def email_taken(session: Session, email: str, exclude_id: int | None = None) -> bool:
    stmt = select(User.id).where(User.email_key == email_key(email))
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    return session.scalar(stmt) is not None


def _check_territory(academie_code: str, departement_code: str | None) -> None:
    from flask_babel import gettext as _

    cat = catalog()
    if academie_code not in cat.academies:
        raise AccountError(_("Académie inconnue."), "academie")
    if departement_code and cat.departements.get(departement_code, None) is None:
        raise AccountError(_("Département inconnu."), "departement")
    if departement_code and cat.departements[departement_code].academie_code != academie_code:
        raise AccountError(
            _("Ce département n'appartient pas à l'académie choisie."), "departement"
        )


def _check_not_reserved(pseudonym: str) -> None:
    # The forms already refuse it; this covers every other caller (CLI, demo, admin).
    from flask_babel import gettext as _

    if is_reserved_pseudonym(pseudonym):
        raise AccountError(
            _("Ce pseudonyme est réservé. Merci d'en choisir un autre."), "pseudonym"
        )


def register(session: Session, profile: ProfileData, email: str, password: str) -> User:
    """Create an account. Duplicate checks give a clear message; the unique constraints on
    the folded keys settle races between two simultaneous registrations."""
    from flask_babel import gettext as _

    _check_territory(profile.academie_code, profile.departement_code)
    _check_not_reserved(profile.pseudonym)
    if pseudonym_taken(session, profile.pseudonym):
        raise AccountError(_("Ce pseudonyme est déjà pris. Choisissez-en un autre."), "pseudonym")
    if email_taken(session, email):
        raise AccountError(
            _(
                "Un compte existe déjà avec cette adresse électronique. Connectez-vous ou "
                "réinitialisez votre mot de passe."
            ),
            "email",
        )
    user = User(
        pseudonym=profile.pseudonym,
        pseudonym_key=fold(profile.pseudonym),
        email=email.strip(),
        email_key=email_key(email),
        password_hash=hash_password(password),
        audience=Audience(profile.audience).value,
        school_level=profile.school_level if profile.audience == Audience.ELEVE else None,
        other_actor_kind=profile.other_actor_kind if profile.audience == Audience.AUTRE else None,
        academie_code=profile.academie_code,
        departement_code=profile.departement_code or None,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit(session, user, "account.registered", user)
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user, or None; the same answer and about the same time whether the email exists."""
    user = session.scalar(select(User).where(User.email_key == email_key(email)))
    hash_ = user.password_hash if user is not None and user.is_active else None
    if not verify_password(hash_, password):
        return None
    assert user is not None
    if needs_rehash(user.password_hash or ""):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def check_password(user: User, password: str) -> bool:
    return verify_password(user.password_hash, password)


def set_password(session: Session, user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    # Logs out every other session and voids outstanding reset links.
    user.session_version = (user.session_version or 1) + 1
    audit(session, user, "account.password_changed", user)


def change_email(session: Session, user: User, email: str) -> None:
    from flask_babel import gettext as _

    if email_taken(session, email, exclude_id=user.id):
        raise AccountError(_("Un compte existe déjà avec cette adresse électronique."), "email")
    user.email = email.strip()
    user.email_key = email_key(email)
    audit(session, user, "account.email_changed", user)


def update_profile(session: Session, user: User, profile: ProfileData) -> None:
    """Audience and territory may change; past actions keep their own snapshot."""
    from flask_babel import gettext as _

    _check_territory(profile.academie_code, profile.departement_code)
    _check_not_reserved(profile.pseudonym)
    if pseudonym_taken(session, profile.pseudonym, exclude_id=user.id):
        raise AccountError(_("Ce pseudonyme est déjà pris. Choisissez-en un autre."), "pseudonym")
    before = {
        "audience": user.audience,
        "academie": user.academie_code,
        "pseudonym": user.pseudonym,
    }
    user.pseudonym = profile.pseudonym
    user.pseudonym_key = fold(profile.pseudonym)
    user.audience = Audience(profile.audience).value
    user.school_level = profile.school_level if profile.audience == Audience.ELEVE else None
    user.other_actor_kind = profile.other_actor_kind if profile.audience == Audience.AUTRE else None
    user.academie_code = profile.academie_code
    user.departement_code = profile.departement_code or None
    after = {"audience": user.audience, "academie": user.academie_code, "pseudonym": user.pseudonym}
    if before != after:
        audit(session, user, "account.profile_changed", user, before=before, after=after)


# --- Password reset ----------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESET_SALT)


def make_reset_token(user: User) -> str:
    return _serializer().dumps({"uid": user.id, "v": user.session_version})


def user_from_reset_token(session: Session, token: str) -> User | None:
    """The user the token is for, if it is authentic, unexpired and not yet used."""
    if len(token) > 500:
        return None
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict):
        return None
    user = session.get(User, data.get("uid")) if isinstance(data.get("uid"), int) else None
    if user is None or not user.is_active or user.session_version != data.get("v"):
        return None
    return user


def user_for_reset_request(session: Session, email: str) -> User | None:
    user = session.scalar(select(User).where(User.email_key == email_key(email)))
    return user if user is not None and user.is_active else None


# --- Personal data -----------------------------------------------------------------------------


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """Everything the platform holds about the user, for the RGPD access/portability right."""
    cat = catalog()
    acad = cat.academies.get(user.academie_code or "")
    dept = cat.departements.get(user.departement_code or "")
    data: dict[str, Any] = {
        "format": "consult.personal-data/1",
        "generated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "account": {
            "id": user.id,
            "pseudonym": user.pseudonym,
            "email": user.email,
            "audience": user.audience,
            "other_actor_kind": user.other_actor_kind,
            "school_level": user.school_level,
            "academie": {"code": acad.code, "name": acad.name} if acad else None,
            "departement": {"code": dept.code, "name": dept.name} if dept else None,
            "locale": user.locale,
            "created_at": user.created_at.isoformat(timespec="seconds"),
            "last_login_at": user.last_login_at.isoformat(timespec="seconds")
            if user.last_login_at
            else None,
            "password_changed_at": user.password_changed_at.isoformat(timespec="seconds")
            if user.password_changed_at
            else None,
            "blocked": user.is_blocked,
            "blocked_reason": user.blocked_reason,
            "roles": [
                {"role": g.role, "scope_kind": g.scope_kind, "scope_code": g.scope_code or None}
                for g in user.grants
            ],
        },
        "account_events": [
            {
                "at": e.created_at.isoformat(timespec="seconds"),
                "action": e.action,
            }
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.target_type == "user", AuditEvent.target_id == str(user.id))
                .order_by(AuditEvent.id)
            )
        ],
    }
    for contribute in hooks().personal_data:
        data.update(contribute(session, user))
    return data


def personal_data_summary(data: dict[str, Any]) -> list[tuple[str, int]]:
    """(section, number of items) for every list the download holds, nested ones included
    (Retex attachments sit inside their sheets): the page says what the file will contain."""
    counts: dict[str, int] = {}

    def walk(key: str, value: Any) -> None:
        if isinstance(value, list):
            if value:
                counts[key] = counts.get(key, 0) + len(value)
            for item in value:
                if isinstance(item, dict):
                    for sub_key, sub in item.items():
                        walk(sub_key, sub)
        elif isinstance(value, dict):
            for sub_key, sub in value.items():
                walk(sub_key, sub)

    for key, value in data.items():
        if key != "account":
            walk(key, value)
    return sorted(counts.items())


def delete_account(session: Session, user: User) -> None:
    """Erase personal data; public contributions stay, shown as « Compte supprimé »."""
    for erase in hooks().account_deletion:
        erase(session, user)
    anonymous_key = f"compte-supprime-{user.id}-{secrets.token_hex(4)}"
    user.pseudonym = "Compte supprimé"
    user.pseudonym_key = anonymous_key
    user.email = None
    user.email_key = None
    user.password_hash = None
    user.academie_code = None
    user.departement_code = None
    user.school_level = None
    user.other_actor_kind = None
    user.locale = None
    user.blocked_reason = None
    user.last_login_at = None
    user.deleted_at = utcnow()
    user.session_version = (user.session_version or 1) + 1
    for grant in list(user.grants):
        session.delete(grant)
    # Free-form detail in past audit rows may quote the old pseudonym: drop it.
    for event in session.scalars(
        select(AuditEvent).where(
            AuditEvent.target_type == "user", AuditEvent.target_id == str(user.id)
        )
    ):
        event.detail = {}
    audit(session, None, "account.deleted", user)


def count_participants(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(User.audience, func.count()).where(User.deleted_at.is_(None)).group_by(User.audience)
    ).all()
    return dict(rows)


def grant_role(
    session: Session,
    user: User,
    role: str,
    scope_kind: str = "national",
    scope_code: str = "",
    granted_by: User | None = None,
) -> RoleGrant:
    from flask_babel import gettext as _

    from consult.models import Role, ScopeKind

    role_enum = Role(role)
    kind = ScopeKind(scope_kind)
    if role_enum is Role.PARTICIPANT:
        raise AccountError(_("Tout compte est participant : rien à attribuer."))
    if role_enum is Role.COORDINATOR:
        cat = catalog()
        if kind is ScopeKind.ACADEMIE and scope_code not in cat.academies:
            raise AccountError(_("Académie inconnue."), "scope_code")
        if kind is ScopeKind.REGION and scope_code not in cat.regions:
            raise AccountError(_("Région académique inconnue."), "scope_code")
        if kind is ScopeKind.NATIONAL:
            raise AccountError(
                _("Un coordinateur est rattaché à une académie ou à une région académique."),
                "scope_kind",
            )
    else:
        kind, scope_code = ScopeKind.NATIONAL, ""
    existing = next(
        (
            g
            for g in user.grants
            if g.role == role_enum and g.scope_kind == kind and g.scope_code == scope_code
        ),
        None,
    )
    if existing is not None:
        return existing
    grant = RoleGrant(
        role=role_enum.value,
        scope_kind=kind.value,
        scope_code=scope_code,
        granted_by_id=granted_by.id if granted_by else None,
    )
    user.grants.append(grant)
    session.flush()
    audit(
        session,
        granted_by,
        "role.granted",
        user,
        role=role_enum.value,
        scope_kind=kind.value,
        scope_code=scope_code,
    )
    return grant


def revoke_role(session: Session, grant: RoleGrant, revoked_by: User | None = None) -> None:
    user = grant.user
    audit(
        session,
        revoked_by,
        "role.revoked",
        user,
        role=grant.role,
        scope_kind=grant.scope_kind,
        scope_code=grant.scope_code,
    )
    user.grants.remove(grant)
    session.flush()
