"""The registration journey and an axe-core audit of every core page, in a real browser."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser


def _fill_registration(page, base: str) -> None:
    page.goto(f"{base}/compte/inscription")
    page.locator("#pseudonym").fill("Prof_de_Poitiers")
    page.locator("#email").fill("prof.poitiers@exemple.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    tick(page, "audience-2", "Professeur ou professeure")
    page.get_by_label("Académie").select_option(label="Poitiers")
    page.get_by_label("Département (facultatif)").select_option("86")
    tick(page, "accept_terms", "J'ai lu la page")


def test_register_login_download_and_delete(page, live_server) -> None:
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    _fill_registration(page, base)
    # The enhancement hides the student-only field for a teacher.
    assert not page.get_by_text("Niveau scolaire (élèves seulement)").is_visible()
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{base}/compte/")
    assert page.get_by_text("Bienvenue Prof_de_Poitiers").is_visible()
    page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)

    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_text("Vous êtes déconnecté.").is_visible()

    login(page, live_server, "prof.poitiers@exemple.test")

    page.get_by_role("link", name="Télécharger mes données").click()
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Télécharger (JSON)").click()
    data = json.loads(Path(download_info.value.path()).read_text(encoding="utf-8"))
    assert data["account"]["pseudonym"] == "Prof_de_Poitiers"
    assert data["account"]["audience"] == "professeur"
    assert data["account"]["academie"]["name"] == "Poitiers"

    page.goto(f"{base}/compte/suppression")
    page.get_by_label("Mot de passe").fill(PASSWORD)
    tick(page, "confirm", "Je comprends")
    page.get_by_role("button", name="Supprimer définitivement mon compte").click()
    page.wait_for_url(f"{base}/")
    assert page.get_by_text("Votre compte est supprimé").is_visible()


def test_registration_errors_are_announced(page, live_server) -> None:
    _fill_registration(page, live_server.url)
    page.locator("#pseudonym").fill("moi@exemple.fr")
    page.get_by_role("button", name="Créer mon compte").click()
    summary = page.locator("#form-errors")
    assert summary.is_visible()
    assert "ressembler à une adresse" in summary.inner_text()
    assert page.locator("#pseudonym").get_attribute("aria-invalid") == "true"


PUBLIC = [
    "/",
    "/donnees-personnelles",
    "/mentions-legales",
    "/accessibilite",
    "/plan-du-site",
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


def test_every_core_page_passes_axe(page, live_server) -> None:
    base = live_server.url
    problems = []
    for path in PUBLIC:
        problems += axe_violations(page, base + path)
    # The registration form in its error state.
    page.goto(f"{base}/compte/inscription")
    page.get_by_role("button", name="Créer mon compte").click()
    problems += axe_violations(page)
    login(page, live_server, "admin-audit@exemple.test")
    for path in PRIVATE:
        problems += axe_violations(page, base + path)
    assert problems == []


def test_pages_work_without_javascript(browser, live_server, committing) -> None:
    base = live_server.url
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{base}/compte/inscription")
    page.locator("#pseudonym").fill("Sans_JS")
    page.locator("#email").fill("sans.js@exemple.test")
    page.locator("#password").fill(PASSWORD)
    page.locator("#password_confirm").fill(PASSWORD)
    tick(page, "audience-0", "Élève")
    tick(page, "school_level-1", "Lycée")
    page.get_by_label("Académie").select_option(label="Toulouse")
    tick(page, "accept_terms", "J'ai lu la page")
    page.get_by_role("button", name="Créer mon compte").click()
    page.wait_for_url(f"{base}/compte/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mobile-no-js.png"), full_page=True)
    # On a phone without JavaScript the account links stay reachable.
    assert page.get_by_role("button", name="Se déconnecter").is_visible()
    context.close()
