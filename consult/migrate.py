"""Alembic driven from the Flask app: ``flask --app app db upgrade`` and friends."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from flask import current_app

from consult.config import ROOT


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser interpolation would choke on "%" in passwords.
    target = url or current_app.config["SQLALCHEMY_DATABASE_URL"]
    cfg.set_main_option("sqlalchemy.url", target.replace("%", "%%"))
    return cfg


def upgrade(revision: str = "heads", url: str | None = None) -> None:
    """Each feature package carries its own branch of migrations (branch label = package name,
    rooted on the core revision), so "heads" brings every branch up to date."""
    command.upgrade(alembic_config(url), revision)


def downgrade(revision: str, url: str | None = None) -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: str | None = None) -> None:
    command.current(alembic_config(url), verbose=True)


def revision(
    message: str,
    autogenerate: bool = True,
    head: str = "0001_core@head",
    branch_label: str | None = None,
    rev_id: str | None = None,
) -> None:
    command.revision(
        alembic_config(),
        message=message,
        autogenerate=autogenerate,
        head=head,
        branch_label=branch_label,
        rev_id=rev_id,
    )
