"""surveys: responses' answers as JSONB on PostgreSQL

Revision ID: 0202_surveys
Revises: 0201_surveys
Create Date: 2026-11-23 14:08:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0202_surveys"
down_revision: str | None = "0201_surveys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Results read one key of every response; JSONB does it without re-parsing the document.
    # SQLite keeps its JSON text (json_extract), nothing to do there.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE survey_response ALTER COLUMN answers TYPE jsonb USING answers::jsonb"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE survey_response ALTER COLUMN answers TYPE json USING answers::json")
