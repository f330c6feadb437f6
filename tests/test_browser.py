"""Real pages in Debian's Chromium through Playwright: the registration journey and an axe-core
accessibility audit of every page. Chromium comes from apt (`make test` installs it as root);
Playwright never downloads a browser."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import ON_CI, make_test_app

pytestmark = pytest.mark.browser

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


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app on a free loopback port, on its own SQLite database with real commits."""
    from consult import migrate
    from consult.accounts import services
    from consult.db import db
    from consult.territories import load_territories

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.sqlite3'}"
    app = make_test_app(url, SESSION_COOKIE_SECURE=False)
    from tests import conftest

    conftest._EXTRA_APPS.remove(app)  # lives for the whole module
    with app.app_context():
        migrate.upgrade("head", url=url)
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
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.extensions["consult_engine"].dispose()


@pytest.fixture(scope="module")
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
def page(browser, live_server, committing):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="fr-FR", accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []

    def watch(request) -> None:  # noqa: ANN001
        if not request.url.startswith((live_server, "data:", "blob:")):
            outside.append(request.url)

    page.on("request", watch)
    yield page
    context.close()
    assert outside == [], f"requests left the machine: {outside}"


def _tick(page, input_id: str, text: str) -> None:  # noqa: ANN001
    """Click the visible DSFR label, as a person does (the input itself is styled away)."""
    label = page.locator(f'label[for="{input_id}"]')
    assert text in label.inner_text()
    label.click()
    assert page.locator(f"#{input_id}").is_checked()


def _fill_registration(page, live_server: str) -> None:  # noqa: ANN001
    page.goto(f"{live_server}/compte/inscription")
    page.locator("#pseudonym").fill("Prof_de_Poitiers")
    page.locator("#email").fill("prof.poitiers@exemple.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    _tick(page, "audience-2", "Professeur ou professeure")
    page.get_by_label("Académie").select_option(label="Poitiers")
    page.get_by_label("Département (facultatif)").select_option("86")
    _tick(page, "accept_terms", "J'ai lu la page")


def test_register_login_download_and_delete(page, live_server) -> None:  # noqa: ANN001
    ARTIFACTS.mkdir(exist_ok=True)
    _fill_registration(page, live_server)
    # The enhancement hides the student-only field for a teacher.
    assert not page.get_by_text("Niveau scolaire (élèves seulement)").is_visible()
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{live_server}/compte/")
    assert page.get_by_text("Bienvenue Prof_de_Poitiers").is_visible()
    page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_text("Vous êtes déconnecté.").is_visible()

    page.goto(f"{live_server}/compte/connexion")
    page.get_by_label("Adresse électronique").fill("prof.poitiers@exemple.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server}/compte/")

    page.get_by_role("link", name="Télécharger mes données").click()
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Télécharger (JSON)").click()
    data = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["pseudonym"] == "Prof_de_Poitiers"
    assert data["account"]["audience"] == "professeur"
    assert data["account"]["academie"]["name"] == "Poitiers"

    page.goto(f"{live_server}/compte/suppression")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    _tick(page, "confirm", "Je comprends")
    page.get_by_role("button", name="Supprimer définitivement mon compte").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_text("Votre compte est supprimé").is_visible()


def test_registration_errors_are_announced(page, live_server) -> None:  # noqa: ANN001
    _fill_registration(page, live_server)
    page.locator("#pseudonym").fill("moi@exemple.fr")
    page.get_by_role("button", name="Créer mon compte").click()
    summary = page.locator("#form-errors")
    assert summary.is_visible()
    assert "ressembler à une adresse" in summary.inner_text()
    assert page.get_by_label("Pseudonyme").get_attribute("aria-invalid") == "true"


PUBLIC = [
    "/",
    "/donnees-personnelles",
    "/mentions-legales",
    "/accessibilite",
    "/compte/inscription",
    "/compte/connexion",
    "/compte/mot-de-passe-oublie",
    "/compte/reinitialiser/lien-invalide",
    "/page-inexistante",
    "/?lang=en",
]
PRIVATE = [
    "/compte/",
    "/compte/profil",
    "/compte/securite",
    "/compte/mes-donnees",
    "/compte/suppression",
    "/admin/",
    "/admin/journal",
]


def _audit(page, url: str) -> list[str]:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    page.goto(url)
    results = Axe().run(page)
    return [
        f"{url}: {v['id']} ({v['impact']}) {v['help']} — "
        + "; ".join(n["target"][0] for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_every_page_passes_axe(page, live_server) -> None:  # noqa: ANN001
    problems = []
    for path in PUBLIC:
        problems += _audit(page, live_server + path)
    # The same forms in their error state.
    page.goto(f"{live_server}/compte/inscription")
    page.get_by_role("button", name="Créer mon compte").click()
    problems += _audit_current(page)
    page.goto(f"{live_server}/compte/connexion")
    page.get_by_label("Adresse électronique").fill("admin-audit@exemple.test")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server}/compte/")
    for path in PRIVATE:
        problems += _audit(page, live_server + path)
    assert problems == []


def _audit_current(page) -> list[str]:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']}"
        for v in results.response["violations"]
        if v["impact"] in {"serious", "critical"}
    ]


def test_pages_work_without_javascript(browser, live_server, committing) -> None:  # noqa: ANN001
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server}/compte/inscription")
    page.locator("#pseudonym").fill("Sans_JS")
    page.locator("#email").fill("sans.js@exemple.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    _tick(page, "audience-0", "Élève")
    _tick(page, "school_level-1", "Lycée")
    page.get_by_label("Académie").select_option(label="Toulouse")
    _tick(page, "accept_terms", "J'ai lu la page")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{live_server}/compte/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mobile-no-js.png"), full_page=True)
    # On a phone without JavaScript the account links stay reachable.
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    context.close()
