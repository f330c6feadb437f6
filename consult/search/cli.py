"""``flask search reindex``: the search index rebuilt from the rows."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from consult.db import commit, db


@click.group("search", cls=AppGroup, help="Index de recherche.")
def search_group() -> None:
    pass


@search_group.command("reindex", help="Reconstruit l'index de recherche à partir des contenus.")
def reindex() -> None:
    from consult.search import ddl

    started = time.perf_counter()
    ddl.rebuild(db.session.connection())
    commit()
    click.echo(f"Index de recherche reconstruit en {time.perf_counter() - started:.1f} s.")
