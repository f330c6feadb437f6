"""forums: drop forum_contribution.shuffle_key (the random order permutes ids per visitor,
forums/queries.py; nothing reads the column any more, and its index went in 0102)

Revision ID: 0103_forums_drop_shuffle_key
Revises: 0102_forums_recent
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0103_forums_drop_shuffle_key"
down_revision: str | None = "0102_forums_recent"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.drop_column("shuffle_key")


def downgrade() -> None:
    # The old values were random numbers: fresh zeros serve the same (unread) purpose.
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shuffle_key", sa.Integer(), server_default="0", nullable=False)
        )
