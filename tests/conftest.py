"""Test fixtures: one database migrated once per run, each test inside a rolled-back transaction.

The same suite runs on SQLite (default) and on PostgreSQL when TEST_DATABASE_URL is set; CI sets
it and also REDIS_URL, so the rate limits and caches are exercised on Redis there.
"""

from __future__ import annotations

import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

os.environ["CONSULT_ENV"] = "testing"

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from consult import create_app, migrate
from consult.db import db, make_engine
from consult.extensions import limiter
from consult.territories import load_territories
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytest_plugins = ["tests.browser_support", "tests.smtp_support"]

RUN_ID = uuid.uuid4().hex[:8]
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
ON_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("TEST_DATABASE_URL"):
        return
    if ON_CI and not os.environ.get("CONSULT_SQLITE_PASS"):
        # On CI every PostgreSQL test must run: a missing TEST_DATABASE_URL is an error
        # (.ci/run's extra SQLite pass says so explicitly with CONSULT_SQLITE_PASS=1).
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set TEST_DATABASE_URL")
    for item in items:
        if "postgres_only" in item.keywords:
            item.add_marker(skip)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from consult.config import normalise_database_url

        url = normalise_database_url(url)
        _reset_postgres(url)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    return url


def make_test_app(database_url: str, **overrides: object) -> Flask:
    config = {
        "SQLALCHEMY_DATABASE_URL": database_url,
        "INSTANCE_PATH": os.environ.get(
            "PYTEST_INSTANCE", str(Path(tempfile.gettempdir()) / "consult-test")
        ),
        "COUNTERS_CACHE_SECONDS": 0,
        # Off for the suite (a page kept from one test would leak into the next, whose data was
        # rolled back); tests/test_anonymous_pages.py turns it on.
        "PAGE_CACHE_SECONDS": 0,
        "FRAGMENT_SECONDS": 0,  # the same for rendered cards (ids are reused after rollbacks)
        "CACHE_KEY_PREFIX": f"consult-test-{RUN_ID}:",
        "RATELIMIT_KEY_PREFIX": f"consult-test-{RUN_ID}",
        # Generous limits for the suite; the rate-limit tests lower them explicitly.
        "RATELIMIT_LOGIN": "1000 per minute",
        "RATELIMIT_REGISTER": "1000 per minute",
        "RATELIMIT_RESET": "1000 per minute",
        "RATELIMIT_REAUTH": "1000 per minute",
        "MAIL_SUPPRESS_SEND": True,
    }
    config.update(overrides)
    application = create_app(config)
    _EXTRA_APPS.append(application)
    return application


# Apps built by individual tests; their engines are disposed after each test so no connection
# outlives it (psycopg warns about connections closed by the garbage collector).
_EXTRA_APPS: list[Flask] = []


def _dispose_extra_apps() -> None:
    while _EXTRA_APPS:
        _EXTRA_APPS.pop().extensions["consult_engine"].dispose()


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    application = make_test_app(database_url)
    _EXTRA_APPS.remove(application)
    with application.app_context():
        migrate.upgrade("heads", url=database_url)
        load_territories(db.session)
        db.session.commit()
        db.session.remove()
    yield application
    application.extensions["consult_engine"].dispose()


@pytest.fixture(autouse=True)
def _isolated(request: pytest.FixtureRequest, app: Flask) -> Iterator[None]:
    """Every test runs in a transaction rolled back at the end: the views' commits become
    savepoint releases. Tests that need real commits (concurrency) use ``committing``.

    No application context is pushed around the test on purpose: each request must get its own
    context, session and ``g`` (the logged-in user lives there), as in production.
    """
    app.extensions.pop("consult_outbox", None)
    if "committing" in request.fixturenames:
        yield
        _dispose_extra_apps()
        return
    engine = app.extensions["consult_engine"]
    connection = engine.connect()
    transaction = connection.begin()
    db.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield
    finally:
        db.session.remove()
        db.session_factory.configure(bind=None)
        transaction.rollback()
        connection.close()
        _reset_rate_limits(app)
        _dispose_extra_apps()


def _reset_rate_limits(app: Flask) -> None:
    with app.app_context():
        limiter.reset()


@pytest.fixture
def committing() -> None:
    """Opt out of the rolled-back transaction: the test commits for real and cleans up."""


@pytest.fixture
def session(app: Flask):
    return db.session


class Client(FlaskClient):
    """A test client that submits forms the way a browser does: GET the page, take its CSRF
    token, POST the form."""

    def csrf_token(self, url: str) -> str:
        response = self.get(url)
        match = CSRF_RE.search(response.get_data(as_text=True))
        if match is None and response.status_code == 200:
            # A visitor's page holds no form and opens no session; the session's token is the
            # one the login page hands out (any form page would give the same).
            response = self.get("/compte/connexion")
            match = CSRF_RE.search(response.get_data(as_text=True))
        assert match, f"no CSRF token on {url} (status {response.status_code})"
        return match.group(1)

    def submit(self, url: str, data: dict | None = None, *, page: str | None = None, **kw):
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token(page or url))
        return self.post(url, data=payload, **kw)

    def login(self, email: str, password: str = DEFAULT_PASSWORD):
        response = self.submit("/compte/connexion", {"email": email, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response

    def logout(self):
        page = self.get("/")
        match = CSRF_RE.search(page.get_data(as_text=True))
        if match is None:  # nobody logged in: a visitor's page carries no form (no session)
            return page
        return self.post("/compte/deconnexion", data={"csrf_token": match.group(1)})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    app.test_client_class = Client
    return app.test_client()


@pytest.fixture
def user(session) -> object:
    return UserFactory()


@pytest.fixture
def outbox(app: Flask) -> list:
    return app.extensions.setdefault("consult_outbox", [])
