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
    head: str | None = None,
    branch_label: str | None = None,
    rev_id: str | None = None,
) -> None:
    """A new package branch starts from the core revision (``--branch-label pkg``); later
    revisions of a package continue its own branch (``--head pkg@head``)."""
    if head is None:
        if branch_label is None:
            raise ValueError("give --head <package>@head, or --branch-label for a new branch")
        head = "0001_core"
    command.revision(
        alembic_config(),
        message=message,
        autogenerate=autogenerate,
        head=head,
        # The core revision is no longer a head once packages branch from it: splice a new one.
        splice=branch_label is not None,
        branch_label=branch_label,
        rev_id=rev_id,
    )
