"""surveys: a code batch can name the meeting its paper questionnaires come from

Revision ID: 0203_surveys_meeting_batch
Revises: 0202_surveys
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0203_surveys_meeting_batch"
down_revision: str | None = "0202_surveys"
branch_labels: str | Sequence[str] | None = None
# The foreign key points at the territorial branch's event table.
depends_on: str | Sequence[str] | None = "0301_territorial"


def upgrade() -> None:
    # No batch mode: on SQLite it would rebuild the table and drop its search triggers. SQLite
    # adds the column with its REFERENCES clause; PostgreSQL gets the named constraint.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE survey_code_batch ADD COLUMN event_id INTEGER "
            "REFERENCES territorial_event (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("survey_code_batch", sa.Column("event_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            "fk_survey_code_batch_event_id_territorial_event",
            "survey_code_batch",
            "territorial_event",
            ["event_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_survey_code_batch_event_id", "survey_code_batch", ["event_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_survey_code_batch_event_id", table_name="survey_code_batch")
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("survey_code_batch", schema=None) as batch_op:
            batch_op.drop_column("event_id")
    else:
        op.drop_constraint(
            "fk_survey_code_batch_event_id_territorial_event",
            "survey_code_batch",
            type_="foreignkey",
        )
        op.drop_column("survey_code_batch", "event_id")
