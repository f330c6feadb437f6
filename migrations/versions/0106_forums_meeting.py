"""forums: contributions collected in the room of a meeting (an event of the calendar)

Revision ID: 0106_forums_meeting
Revises: 0104_forums_search
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0106_forums_meeting"
down_revision: str | None = "0104_forums_search"
branch_labels: str | Sequence[str] | None = None
# The foreign key points at the territorial branch's event table.
depends_on: str | Sequence[str] | None = "0301_territorial"


def upgrade() -> None:
    # No batch mode: on SQLite it would rebuild the table and drop its search triggers. SQLite
    # adds the column with its REFERENCES clause; PostgreSQL gets the named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE forum_contribution ADD COLUMN meeting_event_id INTEGER "
            "REFERENCES territorial_event (id) ON DELETE SET NULL"
        )
    else:
        op.add_column(
            "forum_contribution", sa.Column("meeting_event_id", sa.Integer(), nullable=True)
        )
        op.create_foreign_key(
            "fk_forum_contribution_meeting_event_id_territorial_event",
            "forum_contribution",
            "territorial_event",
            ["meeting_event_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_forum_contribution_meeting_event_id",
        "forum_contribution",
        ["meeting_event_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_forum_contribution_meeting_event_id", table_name="forum_contribution")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("forum_contribution", schema=None) as batch_op:
            batch_op.drop_column("meeting_event_id")
    else:
        op.drop_constraint(
            "fk_forum_contribution_meeting_event_id_territorial_event",
            "forum_contribution",
            type_="foreignkey",
        )
        op.drop_column("forum_contribution", "meeting_event_id")
