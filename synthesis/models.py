"""Compiled syntheses: one compilation = every scope's tables, stored as JSON so pages, API and
exports read them without touching the consultation tables (never recompiled on a visit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult.db import Base, utcnow

JSONType = JSON().with_variant(JSONB(), "postgresql")


QUEUED = "queued"


class Compilation(Base):
    __tablename__ = "synthesis_compilation"
    __table_args__ = (
        # At most one web-requested compilation waiting or running: two analysts clicking
        # « Recompiler » at once cannot both pass the check (the database says no to one).
        Index(
            "uq_synthesis_compilation_queued",
            "status",
            unique=True,
            postgresql_where=text("status = 'queued'"),
            sqlite_where=text("status = 'queued'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    # queued (a web request's marker), running, done, failed: pages read the latest "done".
    status: Mapped[str] = mapped_column(String(10), default="running", index=True)
    trigger: Mapped[str] = mapped_column(String(10), default="cli")  # cli, web, demo
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    peak_memory_mb: Mapped[float | None] = mapped_column(Float)
    reference_id: Mapped[int | None] = mapped_column(
        ForeignKey("synthesis_reference.id", ondelete="SET NULL")
    )
    error: Mapped[str | None] = mapped_column(Text)
    # The topics of free texts come after the tables, from their own job (the compilation is
    # usable without them): when they were added. Part of the compilation's version
    # (``store.version``), so caches of its pages and tables are rebuilt with them.
    topics_at: Mapped[datetime | None] = mapped_column(DateTime)

    scopes: Mapped[list[CompiledScope]] = relationship(
        back_populates="compilation", cascade="all, delete-orphan", passive_deletes=True
    )


class CompiledScope(Base):
    __tablename__ = "synthesis_scope"
    __table_args__ = (
        UniqueConstraint("compilation_id", "scope_kind", "scope_code", name="uq_synthesis_scope"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    compilation_id: Mapped[int] = mapped_column(
        ForeignKey("synthesis_compilation.id", ondelete="CASCADE")
    )
    scope_kind: Mapped[str] = mapped_column(String(10))  # national, region, academie
    scope_code: Mapped[str] = mapped_column(String(3), default="")
    # {table name: {"columns": [...], "rows": [[...], ...]}} — raw, unsuppressed aggregates;
    # suppression is applied when a public page, export or API reads them.
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)

    compilation: Mapped[Compilation] = relationship(back_populates="scopes")


class ReferencePopulation(Base):
    """A population table by audience × académie used to weight questionnaire results."""

    __tablename__ = "synthesis_reference"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    # Citation of the official source (required to ship; uploaded tables name theirs too).
    source: Mapped[str] = mapped_column(Text)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    uploaded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    # [[audience, academie_code, population], ...]
    rows: Mapped[list[list[Any]]] = mapped_column(JSONType)


# The results space keeps its tables in its own module; imported here so Alembic sees them.
from synthesis import results_models  # noqa: E402, F401
