"""forums: public contributions, votes and comments per theme, kept by triggers
(consult/tallies.py) for the home page and /forums/

Revision ID: 0107_forums_tally_homevotes
Revises: 0106_forums_meeting
Create Date: 2026-12-20 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consult import tallies

revision: str = "0107_forums_tally_homevotes"
down_revision: str | None = "0106_forums_meeting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLY = tallies.Tally(
    "forum_theme_tally",
    source="forum_contribution",
    model="forums.models:Contribution",
    group="theme_id",
    sums=("adopt_count", "refuse_count", "comment_count"),
)


def upgrade() -> None:
    op.create_table(
        "forum_theme_tally",
        sa.Column("theme_id", sa.Integer(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("adopt_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("refuse_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("comment_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("theme_id", "shard", name="pk_forum_theme_tally"),
    )
    tallies.install(op.get_bind(), TALLY)


def downgrade() -> None:
    tallies.drop_triggers(op.get_bind(), TALLY)
    op.drop_table("forum_theme_tally")
