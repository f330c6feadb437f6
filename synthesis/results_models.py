"""Results space models: a synthesis per scope, its working draft (version 0) and its published,
frozen versions (1, 2, …), each with its proposals and the sources they draw on.

A published version never changes: its text, its proposals, the labels and links of its sources
are copied as they were, and the figures it shows are stored already suppressed, so a later
recompilation, an edit of the draft or the withdrawal of a cited contribution leaves it intact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")

TITLE_MAX = 200
TEXT_MAX = 20_000
PROPOSAL_TEXT_MAX = 6_000
LABEL_MAX = 300
URL_MAX = 300
DRAFT = 0  # the working draft's version number; published versions count from 1


# A source is an item a space registered as citable (``consult.synthesis_registry``: its kind
# is stored as it is), or one of the synthesis's own questionnaire findings.
QUESTION = "question"
QUESTION_LABEL = _l("Question du questionnaire")


REMOVED_LABEL = _l("contenu retiré par la modération")


class SynthesisPublication(Base):
    """One version of a scope's synthesis; version 0 is the working draft (one per scope, by
    the unique constraint), versions ≥ 1 are published and never modified."""

    __tablename__ = "synthesis_publication"
    __table_args__ = (
        UniqueConstraint(
            "scope_kind", "scope_code", "version", name="uq_synthesis_publication_version"
        ),
        Index("ix_synthesis_publication_published", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope_kind: Mapped[str] = mapped_column(String(10))  # national, region, academie
    scope_code: Mapped[str] = mapped_column(String(3), default="")
    version: Mapped[int] = mapped_column(Integer, default=DRAFT)
    title: Mapped[str] = mapped_column(String(TITLE_MAX), default="")
    introduction: Mapped[str] = mapped_column(Text, default="")
    conclusion: Mapped[str] = mapped_column(Text, default="")
    # Names of the compiled tables chosen by the composer (see results.FIGURES).
    figure_names: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # Published versions only: {name: {"columns": [...], "rows": [[...]]}}, suppressed for the
    # public when the version was published (a "suppressed" column marks hidden rows).
    # Deferred: lists of versions never load what may be megabytes of figures.
    figures: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict, deferred=True)
    compilation_id: Mapped[int | None] = mapped_column(
        ForeignKey("synthesis_compilation.id", ondelete="SET NULL")
    )
    compiled_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # Published versions: the PDF, rendered once at publication (a large synthesis takes
    # seconds to lay out, too slow for a visitor's request) and never changed afterwards.
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # The role the publisher acted in (analyst, admin, coordinator): the public page names the
    # role and the territory, never the person, so deleting the account changes nothing.
    publisher_role: Mapped[str] = mapped_column(String(20), default="")

    proposals: Mapped[list[SynthesisProposal]] = relationship(
        back_populates="publication",
        order_by="(SynthesisProposal.position, SynthesisProposal.id)",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def is_draft(self) -> bool:
        return self.version == DRAFT

    # Public: a published version (the working draft is its composers' only), in Python and
    # SQL alike.
    @hybrid_property
    def is_public(self) -> bool:
        return self.version > DRAFT


class SynthesisProposal(Base):
    """A synthesis proposal under a forum theme, with the sources it draws on."""

    __tablename__ = "synthesis_proposal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    publication_id: Mapped[int] = mapped_column(
        ForeignKey("synthesis_publication.id", ondelete="CASCADE"), index=True
    )
    theme_slug: Mapped[str] = mapped_column(String(80))
    # Copied so a published version keeps the theme's title as it was.
    theme_title: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    text: Mapped[str] = mapped_column(Text, default="")

    publication: Mapped[SynthesisPublication] = relationship(back_populates="proposals")
    sources: Mapped[list[SynthesisSource]] = relationship(
        back_populates="proposal",
        order_by="SynthesisSource.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class SynthesisSource(Base):
    """What a proposal draws on: a contribution, an idea, a Retex sheet, a questionnaire
    finding or the minutes of a meeting. Label and link are copied when the source is added
    and again at publication."""

    __tablename__ = "synthesis_source"
    __table_args__ = (
        # "Which syntheses cite this contribution?" — traceability the other way round.
        Index("ix_synthesis_source_target", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    proposal_id: Mapped[int] = mapped_column(
        ForeignKey("synthesis_proposal.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    # Contribution, idea or Retex sheet id; NULL for a question.
    target_id: Mapped[int | None] = mapped_column(Integer)
    # Question key and optional option key for a questionnaire finding.
    question_key: Mapped[str | None] = mapped_column(String(40))
    option_key: Mapped[str | None] = mapped_column(String(60))
    label: Mapped[str] = mapped_column(String(LABEL_MAX))
    url: Mapped[str] = mapped_column(String(URL_MAX))
    # A questionnaire finding's figure as published (« 42 % des répondants… »), or "".
    finding: Mapped[str] = mapped_column(String(LABEL_MAX), default="")

    proposal: Mapped[SynthesisProposal] = relationship(back_populates="sources")

    # Not a column: set on the way out (results.mark_removed_sources) when the cited item is
    # no longer public, so a frozen version stops quoting what moderation took down.
    removed = False

    @property
    def shown_label(self) -> str:
        return str(REMOVED_LABEL) if self.removed else self.label

    @property
    def kind_label(self) -> str:
        """The badge of the source's kind (« Contribution », « Fiche Retex »…)."""
        from consult import synthesis_registry

        if self.kind == QUESTION:
            return str(QUESTION_LABEL)
        found = synthesis_registry.citable(self.kind)
        return str(found.label) if found is not None else self.kind

    @property
    def ref(self) -> str:
        if self.kind == QUESTION:
            suffix = f":{self.option_key}" if self.option_key else ""
            return f"question:{self.question_key}{suffix}"
        return f"{self.kind}:{self.target_id}"


# --- Immutability, enforced below the services ------------------------------------------------


class PublishedVersionChanged(RuntimeError):
    """A published version, or one of its proposals or sources, was about to change."""


def _published(publication: SynthesisPublication | None) -> bool:
    return publication is not None and publication.version != DRAFT


@event.listens_for(SynthesisPublication, "before_update")
def _freeze_publication(_mapper: Any, connection: Any, target: SynthesisPublication) -> None:
    if not _published(target):
        return
    changed = {a.key for a in inspect(target).attrs if a.history.has_changes()}
    # The one write after publication: its PDF, stored once (the row still has none).
    table = SynthesisPublication.__table__
    if changed == {"pdf"} and connection.scalar(
        select(table.c.pdf.is_(None)).where(table.c.id == target.id)
    ):
        return
    if changed:
        raise PublishedVersionChanged(f"published synthesis {target.id} is immutable")


@event.listens_for(SynthesisProposal, "before_update")
@event.listens_for(SynthesisProposal, "before_delete")
def _freeze_proposal(_mapper: Any, _connection: Any, target: SynthesisProposal) -> None:
    if _published(target.publication):
        raise PublishedVersionChanged(f"proposal {target.id} of a published synthesis")


@event.listens_for(SynthesisSource, "before_update")
@event.listens_for(SynthesisSource, "before_delete")
def _freeze_source(_mapper: Any, _connection: Any, target: SynthesisSource) -> None:
    if _published(target.proposal.publication if target.proposal else None):
        raise PublishedVersionChanged(f"source {target.id} of a published synthesis")
