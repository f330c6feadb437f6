"""Alembic environment: the URL comes from the Flask app (DATABASE_URL), never from a file."""

from __future__ import annotations

from alembic import context

import consult.jobs  # the queue's job records (consult.models below also binds `consult`)
import consult.models  # noqa: F401 - registers the core tables on Base.metadata
from consult.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _import_feature_models() -> None:
    """Register every package's tables on the metadata (for autogenerate)."""
    import importlib
    import importlib.util

    from consult import FEATURE_PACKAGES

    for package in FEATURE_PACKAGES:
        if importlib.util.find_spec(package) is not None and importlib.util.find_spec(
            f"{package}.models"
        ):
            importlib.import_module(f"{package}.models")


_import_feature_models()


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Autogenerate compares only what the models declare: tables that exist in the database
    but not in the metadata (SQLite FTS5 shadow tables such as retex_search_data, PostgreSQL
    extensions' tables) are left alone instead of being proposed for dropping."""
    return not (type_ == "table" and reflected and compare_to is None)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables, a no-op on PostgreSQL.
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
