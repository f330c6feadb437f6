"""One search over every public text: forum contributions, ideas of the territorial ideas box,
Retex sheets (and any space that registers a source).

Each space declares what it offers with :func:`register_source` (the way kinds register with
consult.moderation): its indexed table (consult/search/ddl.py), its public rule as SQL (from the
model's ``is_public`` through ``consult.moderation.public_sql``: never a copy), and how to turn
ids into results. The engine (consult/search/engine.py) and the page know no package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from markupsafe import Markup
from sqlalchemy.orm import Session

from consult.search import ddl


@dataclass
class Hit:
    """One result, before highlighting: plain text only (the page escapes and marks it)."""

    kind: str
    id: int
    title: str
    text: str
    # Where it is read: url_for(endpoint, **values), built by the page.
    endpoint: str
    values: dict[str, Any]
    context: str = ""
    date: datetime | None = None
    title_html: Markup = field(default_factory=Markup)
    excerpt_html: Markup = field(default_factory=Markup)


@dataclass
class Filter:
    """A narrowing one source understands (the forums' theme): a query-string value resolved to
    a SQL parameter, the condition on ``t`` that uses it, and the choices the page offers."""

    label: Any
    sql: str
    resolve: Callable[[Session, str], object | None]
    choices: Callable[[Session], list[tuple[str, str]]]


@dataclass
class Source:
    kind: str
    label: Any  # plural, lazy: « Contributions »
    indexed: ddl.Indexed
    # The public rule as a SQL condition on the indexed table aliased ``t`` (and ``join``'s
    # aliases), for the given dialect.
    public: Callable[[Any], str]
    # Public hits by id (the loader checks the rule again, in Python, on what it loads).
    load: Callable[[Session, list[int]], dict[int, Hit]]
    join: str = ""
    # Narrowings this source understands, by query-string name; using one searches it alone.
    filters: dict[str, Filter] = field(default_factory=dict)
    # Order of the kinds on the page (and between equal ranks).
    position: int = 50


_SOURCES: dict[str, Source] = {}


def register_source(source: Source) -> None:
    """Idempotent: apps built again register again."""
    _SOURCES[source.kind] = source


def sources() -> dict[str, Source]:
    return dict(sorted(_SOURCES.items(), key=lambda item: (item[1].position, item[0])))


def init_app(app: Flask) -> None:
    from consult.search import cli, views

    app.register_blueprint(views.bp)
    app.cli.add_command(cli.search_group)
