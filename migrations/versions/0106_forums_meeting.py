"""forums: contributions collected in the room of a meeting (an event of the calendar)

Revision ID: 0106_forums_meeting
Revises: 0102_forums_recent
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0106_forums_meeting"
down_revision: str | None = "0102_forums_recent"
branch_labels: str | Sequence[str] | None = None
# The foreign key points at the territorial branch's event table.
depends_on: str | Sequence[str] | None = "0301_territorial"


def upgrade() -> None:
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_forum_contribution_meeting_event_id_territorial_event",
            "territorial_event",
            ["meeting_event_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_forum_contribution_meeting_event_id", ["meeting_event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
        batch_op.drop_index("ix_forum_contribution_meeting_event_id")
        batch_op.drop_constraint(
            "fk_forum_contribution_meeting_event_id_territorial_event", type_="foreignkey"
        )
        batch_op.drop_column("meeting_event_id")
