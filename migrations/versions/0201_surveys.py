"""surveys: questionnaires, responses, access codes, drafts

Revision ID: 0201_surveys
Revises: 0001_core
Create Date: 2026-11-23 13:21:48.412151
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0201_surveys"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("surveys",)
depends_on: str | Sequence[str] | None = None


def _load_egn_definition() -> None:
    """`flask init` leaves the questionnaire ready: the definition file of this release is
    loaded once; later versions go through `flask surveys load` (refused once opened)."""
    from datetime import datetime, time

    from consult.db import utcnow
    from surveys import engine

    definition = engine.load_file(engine.default_path())
    table = sa.table(
        "survey_questionnaire",
        sa.column("slug", sa.String),
        sa.column("version", sa.Integer),
        sa.column("title", sa.String),
        sa.column("definition_data", sa.JSON),
        sa.column("opens_at", sa.DateTime),
        sa.column("closes_at", sa.DateTime),
        sa.column("created_at", sa.DateTime),
        sa.column("updated_at", sa.DateTime),
    )
    now = utcnow()
    op.bulk_insert(
        table,
        [
            {
                "slug": definition.slug,
                "version": definition.version,
                "title": definition.title,
                "definition_data": definition.to_data(),
                "opens_at": datetime.combine(definition.opens, time.min),
                "closes_at": datetime.combine(definition.closes, time.min),
                "created_at": now,
                "updated_at": now,
            }
        ],
    )


def upgrade() -> None:
    op.create_table(
        "survey_questionnaire",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("definition_data", sa.JSON(), nullable=False),
        sa.Column("opens_at", sa.DateTime(), nullable=False),
        sa.Column("closes_at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questionnaire")),
        sa.UniqueConstraint("slug", name=op.f("uq_survey_questionnaire_slug")),
    )
    op.create_table(
        "survey_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("has_personal_data", sa.Boolean(), nullable=False),
        sa.Column("via_code", sa.Boolean(), nullable=False),
        sa.Column("author_audience", sa.String(length=20), nullable=False),
        sa.Column("author_academie_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_academie_code"],
            ["academie.code"],
            name=op.f("fk_survey_response_author_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaire.id"],
            name=op.f("fk_survey_response_questionnaire_id_survey_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_response")),
    )
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_response_author_academie_code"),
            ["author_academie_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_survey_response_author_audience"), ["author_audience"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_survey_response_questionnaire_id"), ["questionnaire_id"], unique=False
        )

    op.create_table(
        "survey_code_batch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("academie_code", sa.String(length=3), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["academie_code"],
            ["academie.code"],
            name=op.f("fk_survey_code_batch_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_survey_code_batch_created_by_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaire.id"],
            name=op.f("fk_survey_code_batch_questionnaire_id_survey_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_code_batch")),
    )
    with op.batch_alter_table("survey_code_batch", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_code_batch_academie_code"), ["academie_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_survey_code_batch_created_by_id"), ["created_by_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_survey_code_batch_questionnaire_id"), ["questionnaire_id"], unique=False
        )

    op.create_table(
        "survey_participation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaire.id"],
            name=op.f("fk_survey_participation_questionnaire_id_survey_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_survey_participation_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_participation")),
        sa.UniqueConstraint("questionnaire_id", "user_id", name="uq_survey_participation"),
    )
    with op.batch_alter_table("survey_participation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_participation_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "survey_access_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["survey_code_batch.id"],
            name=op.f("fk_survey_access_code_batch_id_survey_code_batch"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_access_code")),
        sa.UniqueConstraint("code", name=op.f("uq_survey_access_code_code")),
    )
    with op.batch_alter_table("survey_access_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_access_code_batch_id"), ["batch_id"], unique=False
        )

    op.create_table(
        "survey_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("access_code_id", sa.Integer(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "(user_id IS NULL) <> (access_code_id IS NULL)", name=op.f("ck_survey_draft_one_owner")
        ),
        sa.ForeignKeyConstraint(
            ["access_code_id"],
            ["survey_access_code.id"],
            name=op.f("fk_survey_draft_access_code_id_survey_access_code"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["questionnaire_id"],
            ["survey_questionnaire.id"],
            name=op.f("fk_survey_draft_questionnaire_id_survey_questionnaire"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_survey_draft_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_draft")),
        sa.UniqueConstraint("access_code_id", name="uq_survey_draft_code"),
        sa.UniqueConstraint("questionnaire_id", "user_id", name="uq_survey_draft_user"),
    )
    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_draft_questionnaire_id"), ["questionnaire_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_survey_draft_user_id"), ["user_id"], unique=False)

    _load_egn_definition()


def downgrade() -> None:
    with op.batch_alter_table("survey_draft", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_draft_user_id"))
        batch_op.drop_index(batch_op.f("ix_survey_draft_questionnaire_id"))

    op.drop_table("survey_draft")
    with op.batch_alter_table("survey_access_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_access_code_batch_id"))

    op.drop_table("survey_access_code")
    with op.batch_alter_table("survey_participation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_participation_user_id"))

    op.drop_table("survey_participation")
    with op.batch_alter_table("survey_code_batch", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_code_batch_questionnaire_id"))
        batch_op.drop_index(batch_op.f("ix_survey_code_batch_created_by_id"))
        batch_op.drop_index(batch_op.f("ix_survey_code_batch_academie_code"))

    op.drop_table("survey_code_batch")
    with op.batch_alter_table("survey_response", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_response_questionnaire_id"))
        batch_op.drop_index(batch_op.f("ix_survey_response_author_audience"))
        batch_op.drop_index(batch_op.f("ix_survey_response_author_academie_code"))

    op.drop_table("survey_response")
    op.drop_table("survey_questionnaire")
