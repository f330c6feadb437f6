"""retex: the published versions in the shared stemmed search (consult/search/ddl.py): a
trigger-kept side table in the ``consult_french`` configuration on PostgreSQL instead of the
generated column, an FTS5 table of French stems kept by triggers on SQLite instead of the
unstemmed one the services filled

Revision ID: 0403_retex_search
Revises: 0402_retex
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from consult.search import ddl

revision: str = "0403_retex_search"
down_revision: str | None = "0402_retex"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_retex_revision_search_vector")
        op.execute("ALTER TABLE retex_revision DROP COLUMN IF EXISTS search_vector")
    elif bind.dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS retex_search")
    ddl.create(bind, ddl.RETEX)


def downgrade() -> None:
    bind = op.get_bind()
    ddl.drop(bind, ddl.RETEX)
    if bind.dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE retex_revision ADD COLUMN search_vector tsvector "
            "GENERATED ALWAYS AS (to_tsvector('french'::regconfig, search_text)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_retex_revision_search_vector ON retex_revision "
            "USING gin (search_vector)"
        )
    elif bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE retex_search "
            "USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "INSERT INTO retex_search (rowid, body) SELECT id, search_text FROM retex_revision"
        )
