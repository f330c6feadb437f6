"""retex: sheets, published versions, reviews, attachments, full-text search

Revision ID: 0401_retex
Revises: 0001_core
Create Date: 2026-11-23 13:25:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0401_retex"
down_revision: str | None = "0001_core"
branch_labels: str | Sequence[str] | None = ("retex",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "retex_sheet",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("territory_level", sa.String(length=12), nullable=False),
        sa.Column("territory_code", sa.String(length=3), nullable=False),
        sa.Column("academie_code", sa.String(length=3), nullable=True),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("establishment", sa.String(length=20), nullable=False),
        sa.Column("school_level", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("themes", sa.String(length=20), nullable=False),
        sa.Column("audiences", sa.String(length=80), nullable=False),
        sa.Column("contact_role", sa.String(length=120), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("tools", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("difficulties", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("transferability", sa.Text(), nullable=False),
        sa.Column("author_audience", sa.String(length=20), nullable=False),
        sa.Column("author_academie_code", sa.String(length=3), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_academie_code"],
            ["academie.code"],
            name=op.f("fk_retex_sheet_author_academie_code_academie"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_retex_sheet_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retex_sheet")),
    )
    with op.batch_alter_table("retex_sheet", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retex_sheet_academie_code"), ["academie_code"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_retex_sheet_author_academie_code"),
            ["author_academie_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_retex_sheet_author_audience"), ["author_audience"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_retex_sheet_author_id"), ["author_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_retex_sheet_published_version"), ["published_version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_retex_sheet_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_retex_sheet_status"), ["status"], unique=False)

    op.create_table(
        "retex_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=160), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["retex_sheet.id"],
            name=op.f("fk_retex_attachment_sheet_id_retex_sheet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retex_attachment")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_retex_attachment_stored_name")),
    )
    with op.batch_alter_table("retex_attachment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retex_attachment_sheet_id"), ["sheet_id"], unique=False
        )

    op.create_table(
        "retex_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user_account.id"],
            name=op.f("fk_retex_review_actor_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["retex_sheet.id"],
            name=op.f("fk_retex_review_sheet_id_retex_sheet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retex_review")),
    )
    with op.batch_alter_table("retex_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_retex_review_sheet_id"), ["sheet_id"], unique=False)

    op.create_table(
        "retex_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("title", sa.String(length=160), nullable=False),
        sa.Column("territory_level", sa.String(length=12), nullable=False),
        sa.Column("territory_code", sa.String(length=3), nullable=False),
        sa.Column("academie_code", sa.String(length=3), nullable=True),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("establishment", sa.String(length=20), nullable=False),
        sa.Column("school_level", sa.String(length=20), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("themes", sa.String(length=20), nullable=False),
        sa.Column("audiences", sa.String(length=80), nullable=False),
        sa.Column("contact_role", sa.String(length=120), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("actions", sa.Text(), nullable=False),
        sa.Column("tools", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("difficulties", sa.Text(), nullable=False),
        sa.Column("lessons", sa.Text(), nullable=False),
        sa.Column("transferability", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["user_account.id"],
            name=op.f("fk_retex_revision_reviewer_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["retex_sheet.id"],
            name=op.f("fk_retex_revision_sheet_id_retex_sheet"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retex_revision")),
        sa.UniqueConstraint("sheet_id", "version", name="uq_retex_revision_sheet_version"),
    )
    with op.batch_alter_table("retex_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_retex_revision_academie_code"), ["academie_code"], unique=False
        )
        batch_op.create_index("ix_retex_revision_published", ["published_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_retex_revision_region_code"), ["region_code"], unique=False
        )

    # Full-text search on the published versions: the same expression as retex.queries uses,
    # so PostgreSQL picks the GIN index; SQLite gets an FTS5 table keyed by revision id.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_retex_revision_search ON retex_revision "
            "USING gin (to_tsvector('french'::regconfig, search_text))"
        )
    elif op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE retex_search "
            "USING fts5(body, tokenize='unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_retex_revision_search")
    elif op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS retex_search")
    with op.batch_alter_table("retex_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retex_revision_region_code"))
        batch_op.drop_index("ix_retex_revision_published")
        batch_op.drop_index(batch_op.f("ix_retex_revision_academie_code"))

    op.drop_table("retex_revision")
    with op.batch_alter_table("retex_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retex_review_sheet_id"))

    op.drop_table("retex_review")
    with op.batch_alter_table("retex_attachment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retex_attachment_sheet_id"))

    op.drop_table("retex_attachment")
    with op.batch_alter_table("retex_sheet", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_retex_sheet_status"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_region_code"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_published_version"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_author_id"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_author_audience"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_author_academie_code"))
        batch_op.drop_index(batch_op.f("ix_retex_sheet_academie_code"))

    op.drop_table("retex_sheet")
