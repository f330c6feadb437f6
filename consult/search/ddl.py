"""The search index's database objects, shared by the migrations and ``flask search reindex``.

PostgreSQL: a side table ``<table>_search (id, search_vector)`` per searched table, with a GIN
index, written by a trigger when a row is inserted or its text changes (parsed once, then
stored), in the ``consult_french`` configuration: French stems, accents folded by ``unaccent``
when the extension can be created (it needs the right to create it; without it the
configuration is plain ``french`` and accents count). Not a generated column on the table
itself: PostgreSQL recomputes those on every UPDATE, and every new row version of a
non-HOT update is inserted into the GIN index again, so each vote (a counter update on the
contribution) would re-parse the text and add its words to the index.

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
    # "package.module:Model" whose ``is_public`` the PostgreSQL side table keeps a copy of
    # (``public``), so counting and ranking read the index alone; None: the rule needs other
    # tables (Retex: the sheet's published version), the query joins instead.
    model: str | None = None

    @property
    def fts(self) -> str:
        return f"{self.table}_search"

    def public(self, alias: str) -> str | None:
        """The model's one visibility rule as SQL on ``alias`` (``new``, ``old``, the table)."""
        if self.model is None:
            return None
        import importlib

        from sqlalchemy.dialects import postgresql

        from consult.moderation import public_sql

        module, _sep, name = self.model.partition(":")
        return public_sql(
            getattr(importlib.import_module(module), name), alias, postgresql.dialect()
        )

    def pg_vector(self, row: str = "") -> str:
        weights = "ABCD"
        parts = [
            f"setweight(to_tsvector('{PG_CONFIG}'::regconfig, coalesce({row}{source}, '')), "
            f"'{weights[i]}')"
            for i, (_name, source) in enumerate(self.columns)
        ]
        return " || ".join(parts)


CONTRIBUTIONS = Indexed(
    "forum_contribution", (("title", "title"), ("body", "body")), "forums.models:Contribution"
)
IDEAS = Indexed(
    "territorial_idea", (("title", "title"), ("body", "body")), "consult.territorial.models:Idea"
)
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


def pg_create(bind: Connection, indexed: Indexed, *, triggers: bool = True) -> None:
    """The side table, its GIN index and its content; ``triggers=False`` only for the
    benchmark, which builds the index on a copy of the data without changing how it is
    written."""
    pg_ensure_config(bind)
    fts, table = indexed.fts, indexed.table
    # The benchmark's copy has no foreign key either: no lock taken on the shared table.
    reference = f" REFERENCES {table} (id) ON DELETE CASCADE" if triggers else ""
    flag = ", public boolean NOT NULL" if indexed.model else ""
    bind.exec_driver_sql(
        f"CREATE TABLE {fts} (id integer PRIMARY KEY{reference}, "
        f"search_vector tsvector NOT NULL{flag})"
    )
    pg_fill(bind, indexed)
    bind.exec_driver_sql(f"CREATE INDEX ix_{fts}_gin ON {fts} USING gin (search_vector)")
    if triggers:
        pg_create_triggers(bind, indexed)


def _pg_row(indexed: Indexed, alias: str) -> tuple[str, str, str]:
    """Column list, values and ON CONFLICT assignments of one side-table row."""
    prefix = f"{alias}." if alias else ""
    if indexed.model:
        public = indexed.public(alias or indexed.table)
        return (
            "id, search_vector, public",
            f"{prefix}id, {indexed.pg_vector(prefix)}, {public}",
            "search_vector = EXCLUDED.search_vector, public = EXCLUDED.public",
        )
    return (
        "id, search_vector",
        f"{prefix}id, {indexed.pg_vector(prefix)}",
        ("search_vector = EXCLUDED.search_vector"),
    )


def pg_create_triggers(bind: Connection, indexed: Indexed) -> None:
    """The row is written again when its text changes and, for a flagged source, when the
    model's rule gives another answer for it (the WHEN clause is that rule on the old and new
    row): a vote's counter update costs nothing here."""
    fts, table = indexed.fts, indexed.table
    columns, values, assignments = _pg_row(indexed, "new")
    bind.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {fts}_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "  # noqa: S608 - fixed names
        f"INSERT INTO {fts} ({columns}) VALUES ({values}) "
        f"ON CONFLICT (id) DO UPDATE SET {assignments}; RETURN NULL; END $$"
    )
    sources = ", ".join(source for _name, source in indexed.columns)
    bind.exec_driver_sql(
        f"CREATE TRIGGER {fts}_sync AFTER INSERT OR UPDATE OF {sources} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {fts}_sync()"
    )
    if indexed.model:
        bind.exec_driver_sql(
            f"CREATE TRIGGER {fts}_visibility AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN (({indexed.public('new')}) IS DISTINCT FROM ({indexed.public('old')})) "
            f"EXECUTE FUNCTION {fts}_sync()"
        )


def pg_drop_triggers(bind: Connection, indexed: Indexed) -> None:
    for name in ("sync", "visibility"):
        bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {indexed.fts}_{name} ON {indexed.table}")
    bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {indexed.fts}_sync()")


def pg_fill(bind: Connection, indexed: Indexed) -> None:
    columns, values, _assignments = _pg_row(indexed, "")
    bind.exec_driver_sql(f"DELETE FROM {indexed.fts}")  # noqa: S608 - fixed names
    bind.exec_driver_sql(
        f"INSERT INTO {indexed.fts} ({columns}) "  # noqa: S608 - fixed names
        f"SELECT {values} FROM {indexed.table}"
    )


def pg_drop(bind: Connection, indexed: Indexed) -> None:
    pg_drop_triggers(bind, indexed)
    bind.exec_driver_sql(f"DROP TABLE IF EXISTS {indexed.fts}")


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
    """``flask search reindex``: every index table refilled from the rows."""
    for indexed in ALL:
        if bind.dialect.name == "sqlite":
            sqlite_fill(bind, indexed)
        elif bind.dialect.name == "postgresql":
            # Triggers again too: they carry a copy of each model's visibility rule.
            pg_drop_triggers(bind, indexed)
            pg_fill(bind, indexed)
            pg_create_triggers(bind, indexed)
