"""synthesis: at most one queued web compilation (partial unique index)

Revision ID: 0603_synthesis_queue
Revises: 0602_synthesis_results
Create Date: 2026-11-23 17:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0603_synthesis_queue"
down_revision: str | None = "0602_synthesis_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "uq_synthesis_compilation_queued",
        "synthesis_compilation",
        ["status"],
        unique=True,
        postgresql_where=sa.text("status = 'queued'"),
        sqlite_where=sa.text("status = 'queued'"),
    )


def downgrade() -> None:
    op.drop_index("uq_synthesis_compilation_queued", table_name="synthesis_compilation")
