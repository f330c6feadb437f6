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
    with op.batch_alter_table("survey_code_batch", schema=None) as batch_op:
        batch_op.add_column(sa.Column("event_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_survey_code_batch_event_id_territorial_event",
            "territorial_event",
            ["event_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index("ix_survey_code_batch_event_id", ["event_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("survey_code_batch", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_code_batch_event_id")
        batch_op.drop_constraint(
            "fk_survey_code_batch_event_id_territorial_event", type_="foreignkey"
        )
        batch_op.drop_column("event_id")
