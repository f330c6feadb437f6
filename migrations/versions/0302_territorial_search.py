"""territorial: stemmed search index on the ideas box (a trigger-kept tsvector side table +
GIN on PostgreSQL, FTS5 of French stems on SQLite: consult/search/ddl.py)

Revision ID: 0302_territorial_search
Revises: 0301_territorial
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from consult.search import ddl

revision: str = "0302_territorial_search"
down_revision: str | None = "0301_territorial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    ddl.create(op.get_bind(), ddl.IDEAS)


def downgrade() -> None:
    ddl.drop(op.get_bind(), ddl.IDEAS)
