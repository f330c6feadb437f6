"""Public-content tallies kept by the database at write time.

The home page, ``/forums/``, ``/territoires/`` and the territory pages print how many public
contributions, votes, comments, ideas and supports there are. Counted live at the Grand Débat
scale (600k contributions, 5M votes, 1M comments) each figure is a scan of a large table, and
the request that found its cache expired paid seconds. A :class:`Tally` keeps those figures in a
small table instead, per group (a theme, an académie): the number of public rows of the source
table and the sums of some of their columns (the per-row counters the source already keeps exact,
such as a contribution's adopt/refuse/comment counts).

Triggers written here keep the table exact, in the transaction of every write, whatever code path
writes (ORM, Core UPDATEs of counters, bulk deletes, moderation, the dataset fillers): a row that
becomes public adds its figures, one that stops being public removes them, a public row whose
summed columns or group change adds the difference. Which rows are public is the model's one rule
(``is_public``, compiled by :func:`consult.moderation.public_sql`): the triggers carry a copy of
it, so ``flask db recount`` rebuilds them (and refills the tables) whenever a rule changes, as
``flask search reindex`` does for the search index.

Hot rows: every vote of a theme would update the same row and so wait for the previous voter's
commit. Each group is spread over ``shards`` rows instead (the source row's id picks one), so two
votes on different contributions rarely meet; readers sum the shards (a few hundred tiny rows).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import column, func, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

SHARDS = 32
ITEMS = "items"

_registered: dict[str, Tally] = {}


@dataclass(frozen=True)
class Tally:
    table: str  # the tally table: (group, shard, items, *sums), primary key (group, shard)
    source: str  # the counted table (its primary key is ``id``)
    model: str  # "package.module:Model" whose ``is_public`` decides which rows count
    group: str  # the source column the figures are kept per
    sums: tuple[str, ...] = ()  # source columns summed over the public rows
    shards: int = SHARDS

    @property
    def columns(self) -> tuple[str, ...]:
        return (ITEMS, *self.sums)

    def public(self, alias: str, dialect: Any) -> str:
        from consult.moderation import public_sql

        module, _sep, name = self.model.partition(":")
        return public_sql(getattr(importlib.import_module(module), name), alias, dialect)

    @property
    def selectable(self):
        return table(self.table, column(self.group), *(column(c) for c in self.columns))


def register(tally: Tally) -> Tally:
    """Packages declare their tallies (``flask db recount`` walks them)."""
    _registered[tally.table] = tally
    return tally


def registered() -> list[Tally]:
    return list(_registered.values())


# --- Reading ------------------------------------------------------------------------------------


def by_group(session: Session, tally: Tally) -> dict[Any, dict[str, int]]:
    """Every group's figures: ``{group: {"items": n, sum column: total, ...}}``."""
    t = tally.selectable
    rows = session.execute(
        select(t.c[tally.group], *(func.sum(t.c[c]) for c in tally.columns)).group_by(
            t.c[tally.group]
        )
    ).all()
    return {
        row[0]: {name: int(value or 0) for name, value in zip(tally.columns, row[1:], strict=True)}
        for row in rows
    }


def totals(session: Session, tally: Tally, groups: Iterable[Any] | None = None) -> dict[str, int]:
    """The figures summed over all groups, or over ``groups`` only."""
    t = tally.selectable
    statement = select(*(func.coalesce(func.sum(t.c[c]), 0) for c in tally.columns))
    if groups is not None:
        statement = statement.where(t.c[tally.group].in_(list(groups)))
    row = session.execute(statement).one()
    return {name: int(value or 0) for name, value in zip(tally.columns, row, strict=True)}


# --- Database objects ---------------------------------------------------------------------------


def _modulo(bind: Connection) -> str:
    # Statements go to the driver as they are: psycopg reads a lone "%" as a placeholder.
    return "%%" if bind.dialect.paramstyle in ("format", "pyformat") else "%"


def _figures(tally: Tally, row: str, sign: str) -> list[str]:
    return [f"{sign}1"] + [f"{sign}COALESCE({row}.{c}, 0)" for c in tally.sums]


def _upsert(tally: Tally, values: str) -> str:
    names = ", ".join((tally.group, "shard", *tally.columns))
    added = ", ".join(f"{c} = {tally.table}.{c} + excluded.{c}" for c in tally.columns)
    return (
        f"INSERT INTO {tally.table} ({names}) {values} "
        f"ON CONFLICT ({tally.group}, shard) DO UPDATE SET {added}"
    )


def _changed(tally: Tally, dialect: Any) -> str:
    """The UPDATE trigger's condition: the row counts before or after, and something counted
    moved (a vote's second UPDATE, of the ranking score, or an edit of the text: no call)."""
    public_old, public_new = tally.public("old", dialect), tally.public("new", dialect)
    moved = [_distinct(dialect, f"({public_old})", f"({public_new})")] + [
        _distinct(dialect, f"old.{c}", f"new.{c}") for c in (tally.group, *tally.sums)
    ]
    return f"(({public_old}) OR ({public_new})) AND ({' OR '.join(moved)})"


def _distinct(dialect: Any, a: str, b: str) -> str:
    return f"{a} IS NOT {b}" if dialect.name == "sqlite" else f"{a} IS DISTINCT FROM {b}"


def _pg_create_triggers(bind: Connection, tally: Tally) -> None:
    d = bind.dialect
    public_old, public_new = tally.public("old", d), tally.public("new", d)
    shard = f"{_modulo(bind)} {tally.shards}"
    difference = ", ".join(
        ["0"] + [f"COALESCE(NEW.{c}, 0) - COALESCE(OLD.{c}, 0)" for c in tally.sums]
    )
    removed = ", ".join(_figures(tally, "OLD", "-"))
    added = ", ".join(_figures(tally, "NEW", ""))
    body = (
        "BEGIN "
        "IF TG_OP = 'UPDATE' THEN "
        f"IF ({public_old}) AND ({public_new}) AND OLD.{tally.group} = NEW.{tally.group} THEN "
        # A vote: one row, the difference.
        + _upsert(tally, f"VALUES (NEW.{tally.group}, NEW.id {shard}, {difference})")
        + "; RETURN NULL; END IF; END IF; "
        "IF TG_OP <> 'INSERT' THEN "
        f"IF {public_old} THEN "
        + _upsert(tally, f"VALUES (OLD.{tally.group}, OLD.id {shard}, {removed})")
        + "; END IF; END IF; "
        "IF TG_OP <> 'DELETE' THEN "
        f"IF {public_new} THEN "
        + _upsert(tally, f"VALUES (NEW.{tally.group}, NEW.id {shard}, {added})")
        + "; END IF; END IF; "
        "RETURN NULL; END"
    )
    bind.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {tally.table}_sync() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ {body} $$"
    )
    function = f"EXECUTE FUNCTION {tally.table}_sync()"
    bind.exec_driver_sql(
        f"CREATE TRIGGER {tally.table}_insert AFTER INSERT ON {tally.source} "
        f"FOR EACH ROW WHEN ({public_new}) {function}"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER {tally.table}_delete AFTER DELETE ON {tally.source} "
        f"FOR EACH ROW WHEN ({public_old}) {function}"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER {tally.table}_update AFTER UPDATE ON {tally.source} "
        f"FOR EACH ROW WHEN ({_changed(tally, d)}) {function}"
    )


def _sqlite_create_triggers(bind: Connection, tally: Tally) -> None:
    d = bind.dialect
    public_old, public_new = tally.public("old", d), tally.public("new", d)
    shard = f"{_modulo(bind)} {tally.shards}"
    removed = ", ".join(_figures(tally, "old", "-"))
    added = ", ".join(_figures(tally, "new", ""))
    # INSERT ... SELECT ... WHERE: the WHERE also lifts SQLite's parsing ambiguity before an
    # upsert's ON CONFLICT.
    take_old = _upsert(tally, f"SELECT old.{tally.group}, old.id {shard}, {removed} WHERE 1")
    put_new = _upsert(tally, f"SELECT new.{tally.group}, new.id {shard}, {added} WHERE 1")
    statements = [
        f"CREATE TRIGGER {tally.table}_insert AFTER INSERT ON {tally.source} "
        f"WHEN {public_new} BEGIN {put_new}; END",
        f"CREATE TRIGGER {tally.table}_delete AFTER DELETE ON {tally.source} "
        f"WHEN {public_old} BEGIN {take_old}; END",
        f"CREATE TRIGGER {tally.table}_update AFTER UPDATE ON {tally.source} "
        f"WHEN {_changed(tally, d)} BEGIN "
        + _upsert(tally, f"SELECT old.{tally.group}, old.id {shard}, {removed} WHERE {public_old}")
        + "; "
        + _upsert(tally, f"SELECT new.{tally.group}, new.id {shard}, {added} WHERE {public_new}")
        + "; END",
    ]
    for statement in statements:
        bind.exec_driver_sql(statement)


def create_triggers(bind: Connection, tally: Tally) -> None:
    if bind.dialect.name == "postgresql":
        _pg_create_triggers(bind, tally)
    else:
        _sqlite_create_triggers(bind, tally)


def drop_triggers(bind: Connection, tally: Tally) -> None:
    postgres = bind.dialect.name == "postgresql"
    for event in ("insert", "delete", "update"):
        on = f" ON {tally.source}" if postgres else ""
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {tally.table}_{event}{on}")
    if postgres:
        bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {tally.table}_sync()")


def fill(bind: Connection, tally: Tally) -> None:
    """The tally recounted from the source rows (one GROUP BY)."""
    sums = "".join(f", SUM(COALESCE(s.{c}, 0))" for c in tally.sums)
    names = ", ".join((tally.group, "shard", *tally.columns))
    modulo = _modulo(bind)
    bind.exec_driver_sql(f"DELETE FROM {tally.table}")  # noqa: S608 - fixed names
    bind.exec_driver_sql(
        f"INSERT INTO {tally.table} ({names}) "  # noqa: S608 - fixed names
        f"SELECT s.{tally.group}, s.id {modulo} {tally.shards}, COUNT(*){sums} "
        f"FROM {tally.source} s WHERE {tally.public('s', bind.dialect)} "
        f"GROUP BY s.{tally.group}, s.id {modulo} {tally.shards}"
    )


def install(bind: Connection, tally: Tally) -> None:
    """Triggers and content of a tally table the migration has just created."""
    fill(bind, tally)
    create_triggers(bind, tally)


def rebuild(bind: Connection) -> None:
    """``flask db recount``: every tally refilled and its triggers written again (they carry a
    copy of their model's visibility rule)."""
    for tally in registered():
        drop_triggers(bind, tally)
        fill(bind, tally)
        create_triggers(bind, tally)
