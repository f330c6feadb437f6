"""forums: drop forum_contribution.shuffle_key (the random order permutes ids per visitor,
forums/queries.py; nothing reads the column any more, and its index went in 0102)

Revision ID: 0103_forums_drop_shuffle_key
Revises: 0102_forums_recent
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0103_forums_drop_shuffle_key"
down_revision: str | None = "0102_forums_recent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE on both databases (SQLite >= 3.35): Alembic's batch mode would
    # rebuild the table on SQLite and lose the triggers that keep the FTS5 index in sync.
    op.execute("ALTER TABLE forum_contribution DROP COLUMN shuffle_key")


def downgrade() -> None:
    # The old values were random numbers: fresh zeros serve the same (unread) purpose.
    op.execute("ALTER TABLE forum_contribution ADD COLUMN shuffle_key INTEGER NOT NULL DEFAULT 0")
