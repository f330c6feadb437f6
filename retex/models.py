"""Retex sheets (retours d'expérience): the working copy, its published versions, the review
trail and the attachments."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow
from consult.models import AuthorSnapshot, User

# The five themes of the États généraux (the forums package owns them too; Retex keeps its own
# copy so it never depends on forums being installed).
THEMES = {
    "1": _l("Garantir un égal accès au numérique pour tous / fracture numérique"),
    "2": _l("Enseigner et apprendre avec le numérique"),
    "3": _l("Travailler ensemble autrement / culture numérique professionnelle commune"),
    "4": _l("Favoriser le développement d'un numérique responsable et souverain"),
    "5": _l(
        "Mettre en place de nouvelles formes de gouvernance et de nouveaux outils d'anticipation"
    ),
}


class SheetStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    SheetStatus.DRAFT: _l("Brouillon"),
    SheetStatus.SUBMITTED: _l("Soumise à relecture"),
    SheetStatus.RETURNED: _l("Renvoyée avec commentaires"),
    SheetStatus.PUBLISHED: _l("Publiée"),
}


class TerritoryLevel(enum.StrEnum):
    REGION = "region"
    ACADEMIE = "academie"
    DEPARTEMENT = "departement"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])


LEVEL_LABELS = {
    TerritoryLevel.REGION: _l("Région académique"),
    TerritoryLevel.ACADEMIE: _l("Académie"),
    TerritoryLevel.DEPARTEMENT: _l("Département"),
}

ESTABLISHMENTS = {
    "ecole": _l("École"),
    "college": _l("Collège"),
    "lycee": _l("Lycée général et technologique"),
    "lycee_pro": _l("Lycée professionnel"),
    "erea": _l("EREA, établissement spécialisé"),
    "circonscription": _l("Circonscription du premier degré"),
    "services": _l("Services académiques ou départementaux"),
    "reseau": _l("Réseau d'établissements"),
    "autre": _l("Autre"),
}

SCHOOL_LEVELS = {
    "premier_degre": _l("Premier degré"),
    "college": _l("Collège"),
    "lycee": _l("Lycée"),
    "post_bac": _l("Post-baccalauréat"),
    "tous": _l("Tous niveaux"),
}

PERIODS = {
    "confinement_2020": _l("Confinement du printemps 2020"),
    "apres": _l("Après le confinement"),
}

# The narrative fields of the template, in reading order.
TEXT_FIELDS = {
    "context": _l("Contexte"),
    "actions": _l("Ce qui a été fait"),
    "tools": _l("Outils et dispositifs utilisés"),
    "results": _l("Résultats et indicateurs"),
    "difficulties": _l("Difficultés rencontrées"),
    "lessons": _l("Enseignements"),
    "transferability": _l("Transférabilité"),
}
# Everything a published version copies from the working copy.
CONTENT_FIELDS = (
    "title",
    "territory_level",
    "territory_code",
    "academie_code",
    "region_code",
    "establishment",
    "school_level",
    "period",
    "themes",
    "audiences",
    "contact_role",
    *TEXT_FIELDS,
)


def pack(values: list[str] | tuple[str, ...]) -> str:
    """Multi-valued fields are stored ",a,b," so one LIKE '%,a,%' finds them on both databases."""
    return "," + ",".join(sorted(set(values))) + "," if values else ""


def unpack(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


class _Content:
    """Columns shared by the working copy and its published versions."""

    title: Mapped[str] = mapped_column(String(160))
    territory_level: Mapped[str] = mapped_column(String(12))
    territory_code: Mapped[str] = mapped_column(String(3))
    # Denormalised so territorial pages and filters need no join through the reference data.
    academie_code: Mapped[str | None] = mapped_column(String(3), index=True)
    region_code: Mapped[str] = mapped_column(String(3), index=True)
    establishment: Mapped[str] = mapped_column(String(20))
    school_level: Mapped[str] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(20))
    themes: Mapped[str] = mapped_column(String(20))
    audiences: Mapped[str] = mapped_column(String(80))
    contact_role: Mapped[str] = mapped_column(String(120), default="")
    context: Mapped[str] = mapped_column(Text, default="")
    actions: Mapped[str] = mapped_column(Text, default="")
    tools: Mapped[str] = mapped_column(Text, default="")
    results: Mapped[str] = mapped_column(Text, default="")
    difficulties: Mapped[str] = mapped_column(Text, default="")
    lessons: Mapped[str] = mapped_column(Text, default="")
    transferability: Mapped[str] = mapped_column(Text, default="")

    @property
    def theme_list(self) -> list[str]:
        return unpack(self.themes)

    @property
    def audience_list(self) -> list[str]:
        return unpack(self.audiences)

    def content(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in CONTENT_FIELDS}


class RetexSheet(_Content, AuthorSnapshot, Base):
    """The working copy an author edits; what the public sees is its current published version."""

    __tablename__ = "retex_sheet"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default=SheetStatus.DRAFT.value, index=True)
    # 0 until first published; the public version is the revision with this number.
    published_version: Mapped[int] = mapped_column(Integer, default=0, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime)

    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    attachments: Mapped[list[RetexAttachment]] = relationship(
        back_populates="sheet", order_by="RetexAttachment.id", cascade="all, delete-orphan"
    )
    reviews: Mapped[list[RetexReview]] = relationship(
        back_populates="sheet", order_by="RetexReview.id", cascade="all, delete-orphan"
    )

    @property
    def status_enum(self) -> SheetStatus:
        return SheetStatus(self.status)

    # Public once a version is published (drafts, submitted and returned sheets that never
    # were published stay with their author and reviewers): the one rule, Python and SQL.
    @hybrid_property
    def is_public(self) -> bool:
        return self.published_version > 0


class RetexRevision(_Content, Base):
    """One published version, kept for ever: the revision history of a sheet."""

    __tablename__ = "retex_revision"
    __table_args__ = (
        UniqueConstraint("sheet_id", "version", name="uq_retex_revision_sheet_version"),
        Index("ix_retex_revision_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(ForeignKey("retex_sheet.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Plain text of every field: the full-text index (GIN on PostgreSQL, FTS5 on SQLite).
    search_text: Mapped[str] = mapped_column(Text, default="")

    sheet: Mapped[RetexSheet] = relationship()
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])


class RetexReview(Base):
    """The review trail: submissions, returns with their comment, publications."""

    __tablename__ = "retex_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(
        ForeignKey("retex_sheet.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(12))  # submitted, returned, published
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    sheet: Mapped[RetexSheet] = relationship(back_populates="reviews")
    actor: Mapped[User | None] = relationship()


class RetexAttachment(Base):
    """A PDF or image stored under the instance folder, never under the web root."""

    __tablename__ = "retex_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sheet_id: Mapped[int] = mapped_column(
        ForeignKey("retex_sheet.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(120))
    label: Mapped[str] = mapped_column(String(160), default="")
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Becomes public with the next publication of the sheet, not before review.
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    sheet: Mapped[RetexSheet] = relationship(back_populates="attachments")
