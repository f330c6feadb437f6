"""territorial: waiting list and reminders on registrations, meeting minutes

Revision ID: 0303_territorial_events
Revises: 0302_territorial_search
Create Date: 2026-12-05 19:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0303_territorial_events"
down_revision: str | None = "0302_territorial_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("territorial_event_registration", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=10), nullable=False, server_default="registered")
        )
        batch_op.add_column(sa.Column("promoted_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_territorial_event_registration_status"),
            "status IN ('registered', 'waiting')",
        )
        batch_op.create_index(
            "ix_territorial_event_registration_queue", ["event_id", "status", "id"], unique=False
        )

    op.create_table(
        "territorial_event_minutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attendance", sa.JSON(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["territorial_event.id"],
            name=op.f("fk_territorial_event_minutes_event_id_territorial_event"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_territorial_event_minutes_author_id_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territorial_event_minutes")),
        sa.UniqueConstraint("event_id", name="uq_territorial_event_minutes_event"),
    )
    op.create_index(
        "ix_territorial_event_minutes_published_at",
        "territorial_event_minutes",
        ["published_at"],
        unique=False,
    )

    op.create_table(
        "territorial_event_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("label", sa.String(length=160), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["territorial_event.id"],
            name=op.f("fk_territorial_event_attachment_event_id_territorial_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_territorial_event_attachment")),
        sa.UniqueConstraint(
            "stored_name", name=op.f("uq_territorial_event_attachment_stored_name")
        ),
    )
    op.create_index(
        "ix_territorial_event_attachment_event_id",
        "territorial_event_attachment",
        ["event_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_territorial_event_attachment_event_id", table_name="territorial_event_attachment"
    )
    op.drop_table("territorial_event_attachment")
    op.drop_index(
        "ix_territorial_event_minutes_published_at", table_name="territorial_event_minutes"
    )
    op.drop_table("territorial_event_minutes")
    with op.batch_alter_table("territorial_event_registration", schema=None) as batch_op:
        batch_op.drop_index("ix_territorial_event_registration_queue")
        batch_op.drop_constraint(op.f("ck_territorial_event_registration_status"), type_="check")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("promoted_at")
        batch_op.drop_column("status")
