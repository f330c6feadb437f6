"""Database engine and the one-session-per-request scope.

Services receive the session and never commit; a view commits once, at the end of a successful
request, through :func:`commit` (which turns a constraint race into a clean exception the view can
answer in French). The session is removed when the application context ends, which rolls back
anything left uncommitted.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from flask.globals import _cv_app
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

# Stable constraint names so Alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Naive UTC timestamps: the same on SQLite (no tz support) and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def _app_context_id() -> int:
    # One session per application context: each request pushes its own.
    return id(_cv_app.get(None))


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT (used by the test isolation and by
    # nested transactions); SQLAlchemy documents taking BEGIN over ourselves.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")


class AppSession(Session):
    """A session bound to the current application's engine, so several apps (tests, tools)
    can live in one process without sharing a database by accident."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kw: Any) -> Any:
        if self.bind is not None:  # bound explicitly, e.g. to a test's outer transaction
            return self.bind
        return current_app.extensions["consult_engine"]


class Database:
    """The scoped session (one per application context) and access to the app's engine."""

    def __init__(self) -> None:
        self.session_factory = sessionmaker(class_=AppSession, expire_on_commit=False)
        self.session = scoped_session(self.session_factory, scopefunc=_app_context_id)

    def init_app(self, app: Flask) -> None:
        url = app.config["SQLALCHEMY_DATABASE_URL"]
        app.extensions["consult_engine"] = make_engine(
            url, echo=app.config.get("SQLALCHEMY_ECHO", False)
        )

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

    @property
    def engine(self) -> Engine:
        return current_app.extensions["consult_engine"]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def make_engine(url: str, echo: bool = False) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


db = Database()


def session() -> Session:
    return db.session()


def commit() -> None:
    """Commit the request's unit of work once; on a constraint race roll back and re-raise."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise
