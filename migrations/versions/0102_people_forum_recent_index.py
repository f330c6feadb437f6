"""forums: « Les plus récentes » sorts by date: index (theme, created_at, id); the shuffle
index goes (the random order is now a per-visitor permutation of ids)

Revision ID: 0102_forums_recent
Revises: 0101_forums
Create Date: 2026-12-05 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0102_forums_recent"
down_revision: str | None = "0101_forums"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_forum_contribution_theme_recent", table_name="forum_contribution")
    op.create_index(
        "ix_forum_contribution_theme_recent",
        "forum_contribution",
        ["theme_id", "created_at", "id"],
        unique=False,
    )
    op.drop_index("ix_forum_contribution_theme_shuffle", table_name="forum_contribution")


def downgrade() -> None:
    op.create_index(
        "ix_forum_contribution_theme_shuffle",
        "forum_contribution",
        ["theme_id", "shuffle_key", "id"],
        unique=False,
    )
    op.drop_index("ix_forum_contribution_theme_recent", table_name="forum_contribution")
    op.create_index(
        "ix_forum_contribution_theme_recent", "forum_contribution", ["theme_id", "id"], unique=False
    )
