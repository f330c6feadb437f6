"""Moderation: the columns every moderatable model carries, and the reports people file."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column

from consult.db import Base, utcnow


class ReportReason(enum.StrEnum):
    HORS_SUJET = "hors_sujet"
    INJURIEUX = "injurieux"
    DONNEES_PERSONNELLES = "donnees_personnelles"
    SPAM = "spam"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        return str(REPORT_REASON_LABELS[self])


REPORT_REASON_LABELS = {
    ReportReason.HORS_SUJET: _l("Hors sujet"),
    ReportReason.INJURIEUX: _l("Propos injurieux ou haineux"),
    ReportReason.DONNEES_PERSONNELLES: _l("Données personnelles"),
    ReportReason.SPAM: _l("Spam ou publicité"),
    ReportReason.AUTRE: _l("Autre"),
}


class Moderatable:
    """Mixin for content people publish: it can be hidden by moderators (with a reason the
    author sees), held before publication, and reported."""

    hidden_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    hidden_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    # Minors' content carrying contact details waits for a moderator before publication.
    held_for_review: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false(), index=True
    )
    report_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    # The moderation half of the visibility rule, in Python (``obj.is_visible``) and SQL
    # (``Model.is_visible`` in a WHERE clause): not hidden (by a moderator or by reports) and
    # not held for review. Each model's ``is_public`` adds its own states (withdrawn...).
    @hybrid_property
    def is_visible(self) -> bool:
        return self.hidden_at is None and not self.held_for_review

    @is_visible.inplace.expression
    @classmethod
    def _is_visible_sql(cls):
        return and_(cls.hidden_at.is_(None), cls.held_for_review.is_(False))

    # "Anyone may read it": the one rule every reader (pages, API, search, feeds, exports,
    # counters, syntheses) uses. Models with more states than moderation override it.
    @hybrid_property
    def is_public(self) -> bool:
        return self.is_visible

    @is_public.inplace.expression
    @classmethod
    def _is_public_sql(cls):
        return cls.is_visible


class Report(Base):
    """One person's report on one piece of content. The unique constraint makes a second report
    by the same person impossible, even from two racing requests."""

    __tablename__ = "moderation_report"
    __table_args__ = (
        UniqueConstraint("kind", "target_id", "reporter_id", name="uq_moderation_report"),
        Index("ix_moderation_report_target", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    target_id: Mapped[int] = mapped_column(Integer)
    # NULL once the reporter deletes their account: the report still counts.
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    reason: Mapped[str] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Set when a moderator decides (hide, restore, approve): the report leaves the queue.
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)

    @property
    def reason_label(self) -> str:
        return ReportReason(self.reason).label
