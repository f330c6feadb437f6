"""forums: stemmed search index (a trigger-kept tsvector side table + GIN on PostgreSQL, FTS5
of French stems on SQLite: consult/search/ddl.py), replacing the expression index and the
unstemmed FTS5 table

Revision ID: 0104_forums_search
Revises: 0103_forums_drop_shuffle_key
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from consult.search import ddl

revision: str = "0104_forums_search"
down_revision: str | None = "0103_forums_drop_shuffle_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_SQLITE_FTS = [
    "CREATE VIRTUAL TABLE forum_contribution_fts USING fts5(title, body, "
    "content='forum_contribution', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER forum_contribution_fts_ai AFTER INSERT ON forum_contribution BEGIN "
    "INSERT INTO forum_contribution_fts(rowid, title, body) VALUES (new.id, new.title, new.body); "
    "END",
    "CREATE TRIGGER forum_contribution_fts_ad AFTER DELETE ON forum_contribution BEGIN "
    "INSERT INTO forum_contribution_fts(forum_contribution_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); END",
    "CREATE TRIGGER forum_contribution_fts_au AFTER UPDATE OF title, body ON forum_contribution "
    "BEGIN INSERT INTO forum_contribution_fts(forum_contribution_fts, rowid, title, body) "
    "VALUES ('delete', old.id, old.title, old.body); "
    "INSERT INTO forum_contribution_fts(rowid, title, body) VALUES (new.id, new.title, new.body); "
    "END",
    "INSERT INTO forum_contribution_fts(forum_contribution_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_forum_contribution_fts")
    elif bind.dialect.name == "sqlite":
        for name in ("ai", "ad", "au"):
            op.execute(f"DROP TRIGGER IF EXISTS forum_contribution_fts_{name}")
        op.execute("DROP TABLE IF EXISTS forum_contribution_fts")
    ddl.create(bind, ddl.CONTRIBUTIONS)


def downgrade() -> None:
    bind = op.get_bind()
    ddl.drop(bind, ddl.CONTRIBUTIONS)
    if bind.dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_forum_contribution_fts ON forum_contribution "
            "USING gin (to_tsvector('french', title || ' ' || body))"
        )
    elif bind.dialect.name == "sqlite":
        for statement in OLD_SQLITE_FTS:
            op.execute(statement)
