"""notifications: public profile opt-in (audience and académie shown only when asked)

Revision ID: 0022_profile_details
Revises: 0021_notifications
Create Date: 2026-12-05 19:41:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_profile_details"
down_revision: str | None = "0021_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy): SQLite supports it with a constant default, and a copy
    # of user_account would fire the ON DELETE actions of every table that points at it.
    op.add_column(
        "user_account",
        sa.Column("profile_shows_details", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("user_account", "profile_shows_details")
