"""The search index's database objects, shared by the migrations and ``flask search reindex``.

PostgreSQL: a stored generated ``search_vector`` column per searched table (parsed once, when
the row is written) with a GIN index, in the ``consult_french`` configuration: French stems,
accents folded by ``unaccent`` when the extension can be created (it needs the right to create
it; without it the configuration is plain ``french`` and accents count).

SQLite: one FTS5 table per searched table, keyed by the row id, holding the French terms of
consult/search/stems.py (through the ``consult_stems`` SQL function that consult.db registers
on every connection). Triggers keep it in step with every insert, edit and delete, whatever
code path writes; visibility (withdrawn, hidden, unpublished) is checked at query time, so a
moderator's decision needs no re-indexing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

PG_CONFIG = "consult_french"


@dataclass(frozen=True)
class Indexed:
    table: str
    # FTS5 column → source column; the first one weighs most (the title) where there are two.
    columns: tuple[tuple[str, str], ...]

    @property
    def fts(self) -> str:
        return f"{self.table}_search"

    def pg_vector(self) -> str:
        weights = "ABCD"
        parts = [
            f"setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce({source}, '')), "
            f"'{weights[i]}')"
            for i, (_name, source) in enumerate(self.columns)
        ]
        return " || ".join(parts)


CONTRIBUTIONS = Indexed("forum_contribution", (("title", "title"), ("body", "body")))
IDEAS = Indexed("territorial_idea", (("title", "title"), ("body", "body")))
RETEX = Indexed("retex_revision", (("body", "search_text"),))
ALL = (CONTRIBUTIONS, IDEAS, RETEX)


def pg_ensure_config(bind: Connection) -> bool:
    """Create ``consult_french`` once (each package's migration calls this: their branches run
    in any order). Returns whether accents are folded."""
    unaccent = False
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS unaccent")
        unaccent = True
    except Exception:
        unaccent = False
    exists = bind.exec_driver_sql(
        "SELECT 1 FROM pg_ts_config WHERE cfgname = %(name)s", {"name": PG_CONFIG}
    ).scalar()
    if not exists:
        bind.exec_driver_sql(f"CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = french)")
        if unaccent:
            bind.exec_driver_sql(
                f"ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} ALTER MAPPING FOR "
                "hword, hword_part, word WITH unaccent, french_stem"
            )
    return unaccent


def pg_create(bind: Connection, indexed: Indexed) -> None:
    pg_ensure_config(bind)
    bind.exec_driver_sql(
        f"ALTER TABLE {indexed.table} ADD COLUMN search_vector tsvector "
        f"GENERATED ALWAYS AS ({indexed.pg_vector()}) STORED"
    )
    bind.exec_driver_sql(
        f"CREATE INDEX ix_{indexed.table}_search_vector ON {indexed.table} "
        "USING gin (search_vector)"
    )


def pg_drop(bind: Connection, indexed: Indexed) -> None:
    bind.exec_driver_sql(f"DROP INDEX IF EXISTS ix_{indexed.table}_search_vector")
    bind.exec_driver_sql(f"ALTER TABLE {indexed.table} DROP COLUMN IF EXISTS search_vector")


def _sqlite_values(indexed: Indexed, row: str) -> str:
    return ", ".join(f"consult_stems({row}.{source})" for _name, source in indexed.columns)


def sqlite_create(bind: Connection, indexed: Indexed) -> None:
    names = ", ".join(name for name, _source in indexed.columns)
    sources = ", ".join(source for _name, source in indexed.columns)
    fts, table = indexed.fts, indexed.table
    statements = [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, tokenize='unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "  # noqa: S608 - fixed names
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {_sqlite_values(indexed, 'new')}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "  # noqa: S608 - fixed names
        f"DELETE FROM {fts} WHERE rowid = old.id; END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {sources} ON {table} BEGIN "  # noqa: S608 - fixed names
        f"DELETE FROM {fts} WHERE rowid = old.id; "
        f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {_sqlite_values(indexed, 'new')}); END",
    ]
    for statement in statements:
        bind.exec_driver_sql(statement)
    sqlite_fill(bind, indexed)


def sqlite_fill(bind: Connection, indexed: Indexed) -> None:
    names = ", ".join(name for name, _source in indexed.columns)
    bind.exec_driver_sql(f"DELETE FROM {indexed.fts}")  # noqa: S608 - fixed names
    bind.exec_driver_sql(
        f"INSERT INTO {indexed.fts}(rowid, {names}) "  # noqa: S608 - fixed names
        f"SELECT id, {_sqlite_values(indexed, indexed.table)} FROM {indexed.table}"
    )


def sqlite_drop(bind: Connection, indexed: Indexed) -> None:
    for suffix in ("ai", "ad", "au"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {indexed.fts}_{suffix}")
    bind.exec_driver_sql(f"DROP TABLE IF EXISTS {indexed.fts}")


def create(bind: Connection, indexed: Indexed) -> None:
    if bind.dialect.name == "postgresql":
        pg_create(bind, indexed)
    elif bind.dialect.name == "sqlite":
        sqlite_create(bind, indexed)


def drop(bind: Connection, indexed: Indexed) -> None:
    if bind.dialect.name == "postgresql":
        pg_drop(bind, indexed)
    elif bind.dialect.name == "sqlite":
        sqlite_drop(bind, indexed)


def rebuild(bind: Connection) -> None:
    """``flask search reindex``: SQLite's FTS5 tables refilled from the rows; on PostgreSQL the
    stored vectors are recomputed (an update of each row) and the GIN indexes rebuilt."""
    for indexed in ALL:
        if bind.dialect.name == "sqlite":
            sqlite_fill(bind, indexed)
        elif bind.dialect.name == "postgresql":
            first = indexed.columns[0][1]
            bind.exec_driver_sql(f"UPDATE {indexed.table} SET {first} = {first}")  # noqa: S608
            bind.exec_driver_sql(f"REINDEX INDEX ix_{indexed.table}_search_vector")
