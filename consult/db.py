"""Database engine and the one-session-per-request scope.

Services receive the session and never commit; a view commits once, at the end of a successful
request, through :func:`commit` (which turns a constraint race into a clean exception the view can
answer in French). The session is removed when the application context ends, which rolls back
anything left uncommitted.

SQLite (the embedded default) allows one writer at a time. A transaction that starts with a plain
``BEGIN``, reads, then writes must upgrade its lock; when another writer got there first SQLite
answers "database is locked" at once, without waiting for the busy timeout (waiting could
deadlock). So a request that may write (any method but GET, HEAD, OPTIONS) opens its transaction
with ``BEGIN IMMEDIATE``: it queues for the write lock up front, within the busy timeout, and
never has to upgrade. Reads stay concurrent thanks to WAL. If the wait still runs out, the
request gets a French 503 with ``Retry-After`` (:func:`busy_response`), never a 500.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from flask.globals import _cv_app
from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
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


# Methods that never write (RFC 9110 safe methods); every other request takes the write lock.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# How long a SQLite writer queues for the lock before the request gets a 503. Below gunicorn's
# 30 s worker timeout; 50 simultaneous writers on a laptop clear in well under a second each.
SQLITE_BUSY_TIMEOUT_MS = 15_000
# Seconds a client is told to wait before retrying when the database stayed busy.
BUSY_RETRY_AFTER = 2


def _wants_write_lock() -> bool:
    if not has_request_context() or request.method in SAFE_METHODS:
        return False
    # Once the lock wait ran out, the error page only reads (the user, the navigation): a
    # plain BEGIN reads beside the writer under WAL instead of queueing for the lock again.
    return not g.get("db_busy", False)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT (used by the test isolation and by
    # nested transactions); SQLAlchemy documents taking BEGIN over ourselves.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        # The FTS5 triggers index French stems computed in Python (consult/search/stems.py).
        from consult.search.stems import sql_stems

        dbapi_connection.create_function("consult_stems", 1, sql_stems, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Outside a request (CLI, migrations, the test suite's outer transaction) a plain BEGIN:
        # an IMMEDIATE one there would hold the write lock for a whole command or test.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def is_busy_error(error: BaseException) -> bool:
    """The database stayed locked by other writers: worth retrying later, not a bug.

    SQLite says "database is locked" (SQLITE_BUSY) or "database table is locked"; PostgreSQL's
    equivalents are a serialization failure, a deadlock and a lock wait that timed out. A pool
    with no free connection within its timeout is the same situation one step earlier.
    """
    if isinstance(error, PoolTimeoutError):
        return True
    if not isinstance(error, OperationalError):
        return False
    orig = error.orig
    if getattr(orig, "sqlstate", None) in {"40001", "40P01", "55P03"}:
        return True
    return type(orig).__module__ == "sqlite3" and "locked" in str(orig)


def busy_response(error: OperationalError | PoolTimeoutError) -> Any:
    """503 + Retry-After in French (JSON for the API and JSON clients) for a busy database;
    any other OperationalError goes on to the application's generic 500 handler."""
    if not is_busy_error(error):
        generic = current_app.error_handler_spec[None][None].get(Exception)
        if generic is None:
            raise error
        return generic(error)
    from flask import jsonify
    from flask_babel import gettext

    from consult.views import render_error

    current_app.logger.warning("Database busy on %s %s: %s", request.method, request.path, error)
    db.session.rollback()
    g.db_busy = True
    message = gettext(
        "Le service est très sollicité en ce moment et n'a pas pu enregistrer votre demande. "
        "Rien n'a été modifié : réessayez dans quelques secondes."
    )
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    if request.path.startswith("/api/") or (
        best == "application/json" and request.accept_mimetypes[best] > 0
    ):
        response = jsonify({"error": {"status": 503, "message": message}})
        response.status_code = 503
    else:
        body, _code = render_error(503, message)
        response = current_app.make_response((body, 503))
    response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


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
            url,
            echo=app.config.get("SQLALCHEMY_ECHO", False),
            busy_timeout_ms=app.config.get("SQLITE_BUSY_TIMEOUT_MS", SQLITE_BUSY_TIMEOUT_MS),
        )

        @app.teardown_appcontext
        def _remove_session(_exc: BaseException | None) -> None:
            self.session.remove()

        app.register_error_handler(OperationalError, busy_response)
        app.register_error_handler(PoolTimeoutError, busy_response)

    @property
    def engine(self) -> Engine:
        return current_app.extensions["consult_engine"]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def make_engine(
    url: str, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            from pathlib import Path

            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo)
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=5, max_overflow=10)


def make_read_engine(app: Flask) -> Engine:
    """An engine for single-statement reads outside the request's unit of work (the logged-in
    fast path of consult.skeleton): on PostgreSQL in autocommit, so a read is one round trip
    with no BEGIN, ROLLBACK or ping around it (a dead connection fails the read, which falls
    back to the full render, and is replaced); on SQLite the application's own engine, whose
    connections already run without an implicit transaction."""
    engine = app.extensions["consult_engine"]
    if engine.dialect.name == "sqlite":
        return engine
    return create_engine(
        engine.url, isolation_level="AUTOCOMMIT", pool_size=2, max_overflow=8, pool_recycle=3600
    )


db = Database()


def session() -> Session:
    return db.session()


def without_waiting_for_disk(session: Session, setting: str) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL's
    ``synchronous_commit = off``, for this transaction only), when the app's ``setting`` allows
    it. For high-rate, low-stakes writes (votes): each durable commit waits for a disk flush,
    about 5 ms on the benchmark machine, which alone capped two workers near 400 votes/s. The
    transaction stays atomic: a crash of the database server may forget the last fraction of a
    second of such commits (wal_writer_delay, 200 ms by default, three times at most), never keep
    half of one, so counters and rows still agree. SQLite: nothing to do."""
    if not has_app_context() or not current_app.config.get(setting, False):
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL synchronous_commit = off"))


def commit() -> None:
    """Commit the request's unit of work once; on a constraint race roll back and re-raise."""
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise
