"""synthesis: topics computed by their own job after the compilation (when they arrived)

Revision ID: 0604_synthesis_topics_forumsum
Revises: 0603_synthesis_queue
Create Date: 2026-12-06 22:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0604_synthesis_topics_forumsum"
down_revision: str | None = "0603_synthesis_queue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("synthesis_compilation", sa.Column("topics_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    op.drop_column("synthesis_compilation", "topics_at")
