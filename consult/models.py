"""Core models: territories, users, role grants, audit trail, and the author snapshot rule."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from consult.db import Base, utcnow


class Audience(enum.StrEnum):
    """The five audiences of school, plus people outside them (no questionnaire track)."""

    ELEVE = "eleve"
    PARENT = "parent"
    PROFESSEUR = "professeur"
    ENCADREMENT = "encadrement"
    AGENT = "agent"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        return str(AUDIENCE_LABELS[self])

    @property
    def plural_label(self) -> str:
        return str(AUDIENCE_PLURALS[self])

    @property
    def has_questionnaire_track(self) -> bool:
        return self is not Audience.AUTRE


AUDIENCE_LABELS = {
    Audience.ELEVE: _l("Élève"),
    Audience.PARENT: _l("Parent"),
    Audience.PROFESSEUR: _l("Professeur ou professeure"),
    Audience.ENCADREMENT: _l("Personnel d'encadrement"),
    Audience.AGENT: _l("Agent"),
    Audience.AUTRE: _l("Autre acteur (collectivité, association, partenaire)"),
}
AUDIENCE_PLURALS = {
    Audience.ELEVE: _l("Élèves"),
    Audience.PARENT: _l("Parents"),
    Audience.PROFESSEUR: _l("Professeurs"),
    Audience.ENCADREMENT: _l("Personnels d'encadrement"),
    Audience.AGENT: _l("Agents"),
    Audience.AUTRE: _l("Autres acteurs"),
}


class OtherActorKind(enum.StrEnum):
    COLLECTIVITE = "collectivite"
    ASSOCIATION = "association"
    PARTENAIRE = "partenaire"

    @property
    def label(self) -> str:
        return str(OTHER_ACTOR_LABELS[self])


OTHER_ACTOR_LABELS = {
    OtherActorKind.COLLECTIVITE: _l("Collectivité territoriale"),
    OtherActorKind.ASSOCIATION: _l("Association"),
    OtherActorKind.PARTENAIRE: _l("Partenaire (entreprise, organisme)"),
}


class SchoolLevel(enum.StrEnum):
    """Students give a school level, never an age or a birth date (data minimisation)."""

    COLLEGE = "college"
    LYCEE = "lycee"

    @property
    def label(self) -> str:
        return str(SCHOOL_LEVEL_LABELS[self])


SCHOOL_LEVEL_LABELS = {SchoolLevel.COLLEGE: _l("Collège"), SchoolLevel.LYCEE: _l("Lycée")}


class Role(enum.StrEnum):
    PARTICIPANT = "participant"
    MODERATOR = "moderator"
    COORDINATOR = "coordinator"
    ANALYST = "analyst"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.PARTICIPANT: _l("Participant"),
    Role.MODERATOR: _l("Modérateur"),
    Role.COORDINATOR: _l("Coordinateur territorial"),
    Role.ANALYST: _l("Analyste"),
    Role.ADMIN: _l("Administrateur"),
}


class ScopeKind(enum.StrEnum):
    NATIONAL = "national"
    REGION = "region"
    ACADEMIE = "academie"


# --- Territories (reference data, loaded from data/territories/*.csv) -------------------------


class RegionAcademique(Base):
    __tablename__ = "region_academique"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(80), unique=True)

    academies: Mapped[list[Academie]] = relationship(
        back_populates="region", order_by="Academie.name"
    )


class Academie(Base):
    __tablename__ = "academie"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    region_code: Mapped[str] = mapped_column(ForeignKey("region_academique.code"), index=True)

    region: Mapped[RegionAcademique] = relationship(back_populates="academies")
    departements: Mapped[list[Departement]] = relationship(
        back_populates="academie", order_by="Departement.code"
    )


class Departement(Base):
    __tablename__ = "departement"

    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    academie_code: Mapped[str] = mapped_column(ForeignKey("academie.code"), index=True)

    academie: Mapped[Academie] = relationship(back_populates="departements")


# --- Accounts ------------------------------------------------------------------------------------


class User(Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(64))
    # Case- and accent-folded forms carry the uniqueness, so "Zoé" and "ZOE" cannot coexist.
    pseudonym_key: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    audience: Mapped[str] = mapped_column(String(20), index=True)
    other_actor_kind: Mapped[str | None] = mapped_column(String(20))
    school_level: Mapped[str | None] = mapped_column(String(10))
    academie_code: Mapped[str | None] = mapped_column(ForeignKey("academie.code"), index=True)
    departement_code: Mapped[str | None] = mapped_column(ForeignKey("departement.code"))
    locale: Mapped[str | None] = mapped_column(String(5))
    # Bumped on password change or reset: every other session and reset link stops working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    blocked_at: Mapped[datetime | None] = mapped_column(DateTime)
    blocked_reason: Mapped[str | None] = mapped_column(String(500))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # The public profile (/profils/<pseudonym>) shows audience and académie only when asked.
    profile_shows_details: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )

    academie: Mapped[Academie | None] = relationship()
    departement: Mapped[Departement | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="user",
        cascade="all, delete-orphan",
        foreign_keys="RoleGrant.user_id",
        lazy="selectin",
    )

    # Flask-Login protocol, written out so a deleted or blocked account is never "active".
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_blocked(self) -> bool:
        return self.blocked_at is not None

    @property
    def is_minor(self) -> bool:
        # Students are treated as minors: the platform never asks for an age.
        return self.audience == Audience.ELEVE

    @property
    def audience_enum(self) -> Audience:
        return Audience(self.audience)

    @property
    def public_name(self) -> str:
        return str(_l("Compte supprimé")) if self.is_deleted else self.pseudonym

    def has_role(self, role: Role) -> bool:
        if role is Role.PARTICIPANT:
            return True
        return any(grant.role == role for grant in self.grants)

    @property
    def roles(self) -> set[Role]:
        return {Role.PARTICIPANT} | {Role(grant.role) for grant in self.grants}

    def __repr__(self) -> str:
        return f"<User {self.id} {self.pseudonym!r}>"


class RoleGrant(Base):
    """A role given to a user; coordinators carry their territory as scope."""

    __tablename__ = "role_grant"
    __table_args__ = (
        UniqueConstraint("user_id", "role", "scope_kind", "scope_code", name="uq_role_grant"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(20))
    # National roles use ("national", "") rather than NULLs so the unique constraint holds on
    # PostgreSQL, where NULLs never collide.
    scope_kind: Mapped[str] = mapped_column(String(10), default=ScopeKind.NATIONAL.value)
    scope_code: Mapped[str] = mapped_column(String(3), default="")
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    granted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    user: Mapped[User] = relationship(back_populates="grants", foreign_keys=[user_id])


class AuditEvent(Base):
    """Who did what to whom: role grants, moderation actions, account events."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AuthorSnapshot:
    """Mixin for everything a person writes or casts: the author's audience and académie *as they
    were at that moment*, so statistics never drift when a profile changes later."""

    @declared_attr
    def author_audience(cls) -> Mapped[str]:
        return mapped_column(String(20), index=True)

    @declared_attr
    def author_academie_code(cls) -> Mapped[str | None]:
        return mapped_column(ForeignKey("academie.code"), index=True)

    @staticmethod
    def snapshot_of(user: User) -> dict[str, str | None]:
        return {"author_audience": user.audience, "author_academie_code": user.academie_code}
