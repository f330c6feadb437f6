"""Alembic environment: the URL comes from the Flask app (DATABASE_URL), never from a file."""

from __future__ import annotations

from alembic import context
import consult.models  # noqa: F401 - registers the core tables on Base.metadata
from consult.db import Base, make_engine

config = context.config
target_metadata = Base.metadata


def _import_feature_models() -> None:
    # Feature packages' models register themselves when imported; each lands with its issue.
    import importlib

    for name in ("forums.models", "surveys.models", "retex.models", "synthesis.models"):
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name not in {name, name.split(".")[0]}:
                raise


_import_feature_models()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        compare_type=True,
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


def _run(connection) -> None:  # noqa: ANN001
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: batch mode rebuilds tables, a no-op on PostgreSQL.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
