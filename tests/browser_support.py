"""Browser test support (a pytest plugin loaded by conftest): a live server on its own
database, Debian's Chromium through Playwright, an axe-core audit helper, and a guard that no
request leaves the machine. Chromium comes from apt (`make test` installs it as root);
Playwright never downloads a browser.

Feature packages write their own ``tests/test_<package>_browser.py`` with these fixtures; use
``live_server.app`` in an app context to create the data a page needs (real commits: the live
database is separate from the rolled-back one of the other tests).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import ON_CI, make_test_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "des craies et des tablettes"


def _require_chromium() -> None:
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    message = f"Chromium not found at {CHROMIUM}: run `make test` as root to install it"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app on a free loopback port, on its own SQLite database with real commits."""
    from consult import migrate
    from consult.accounts import services
    from consult.db import db
    from consult.territories import load_territories

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}"
    app = make_test_app(url, SESSION_COOKIE_SECURE=False)
    from tests import conftest

    conftest._EXTRA_APPS.remove(app)  # lives for the whole run
    with app.app_context():
        migrate.upgrade("heads", url=url)
        load_territories(db.session)
        admin = services.register(
            db.session,
            services.ProfileData(pseudonym="Admin_Audit", audience="autre", academie_code="01"),
            "admin-audit@exemple.test",
            PASSWORD,
        )
        services.grant_role(db.session, admin, "admin")
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    app.extensions["consult_engine"].dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server, committing):
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []

    def watch(request) -> None:
        if not request.url.startswith((live_server.url, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", watch)
    yield page
    context.close()
    assert outside == [], f"requests left the machine: {outside}"


def axe_violations(page, url: str | None = None) -> list[str]:
    """Serious and critical axe-core violations of ``url`` (or of the current page)."""
    from axe_playwright_python.sync_playwright import Axe

    if url is not None:
        page.goto(url)
    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']} — "
        + "; ".join(str(n["target"][0]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def login(page, live_server: LiveServer, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/compte/connexion")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/compte/")


def tick(page, input_id: str, text: str) -> None:
    """Click the visible DSFR label, as a person does (the input itself is styled away)."""
    label = page.locator(f'label[for="{input_id}"]')
    assert text in label.inner_text()
    label.click()
    assert page.locator(f"#{input_id}").is_checked()
