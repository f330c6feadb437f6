"""territorial: public ideas and their supports per académie, kept by triggers
(consult/tallies.py) for the home page, /territoires/ and the territory pages

Revision ID: 0304_territorial_tally_homevotes
Revises: 0303_territorial_events
Create Date: 2026-12-20 22:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from consult import tallies

revision: str = "0304_territorial_tally_homevotes"
down_revision: str | None = "0303_territorial_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TALLY = tallies.Tally(
    "territorial_idea_tally",
    source="territorial_idea",
    model="consult.territorial.models:Idea",
    group="academie_code",
    sums=("support_count",),
)


def upgrade() -> None:
    op.create_table(
        "territorial_idea_tally",
        sa.Column("academie_code", sa.String(3), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("support_count", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("academie_code", "shard", name="pk_territorial_idea_tally"),
    )
    tallies.install(op.get_bind(), TALLY)


def downgrade() -> None:
    tallies.drop_triggers(op.get_bind(), TALLY)
    op.drop_table("territorial_idea_tally")
