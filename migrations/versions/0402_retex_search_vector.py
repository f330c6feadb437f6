"""retex: stored tsvector for full-text search on PostgreSQL

Revision ID: 0402_retex
Revises: 0401_retex
Create Date: 2026-11-23 13:55:00

An expression index is skipped by the planner when a query matches a good share of the rows,
and then every row's text is parsed again (to_tsvector per row, per query). A stored generated
column is parsed once, at publication; the GIN index sits on it. The column is PostgreSQL-only
and absent from the SQLAlchemy model on purpose (SQLite uses its FTS5 table).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0402_retex"
down_revision: str | None = "0401_retex"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_retex_revision_search")
    op.execute(
        "ALTER TABLE retex_revision ADD COLUMN search_vector tsvector "
        "GENERATED ALWAYS AS (to_tsvector('french'::regconfig, search_text)) STORED"
    )
    op.execute(
        "CREATE INDEX ix_retex_revision_search_vector ON retex_revision USING gin (search_vector)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_retex_revision_search_vector")
    op.execute("ALTER TABLE retex_revision DROP COLUMN IF EXISTS search_vector")
    op.execute(
        "CREATE INDEX ix_retex_revision_search ON retex_revision "
        "USING gin (to_tsvector('french'::regconfig, search_text))"
    )
