"""surveys: answers counted at write time (survey_answer_tally and its triggers)

Revision ID: 0204_surveys_tally_surveysum
Revises: 0203_surveys_meeting_batch
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0204_surveys_tally_surveysum"
down_revision: str | None = "0203_surveys_meeting_batch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from surveys import tally

    op.create_table(
        "survey_answer_tally",
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=1), nullable=False),
        sa.Column("question_key", sa.String(length=40), nullable=False),
        sa.Column("option_key", sa.String(), nullable=False),
        sa.Column("academie_code", sa.String(length=3), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("shard", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaire.id"],
            name=op.f("fk_survey_answer_tally_questionnaire_id_survey_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "questionnaire_id",
            "kind",
            "question_key",
            "option_key",
            "academie_code",
            "audience",
            "shard",
            name="pk_survey_answer_tally",
        ),
    )
    bind = op.get_bind()
    tally.create_triggers(bind)
    # The responses already there (one set-based pass: about a minute at Grand Débat scale).
    tally.rebuild(bind)


def downgrade() -> None:
    from surveys import tally

    tally.drop_triggers(op.get_bind())
    op.drop_table("survey_answer_tally")
