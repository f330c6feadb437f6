"""Retex in a real browser: the Toulouse journey (file, return, resubmit, publish), the print
stylesheet, and an axe-core audit of every Retex page."""

from __future__ import annotations

import uuid

import pytest

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _accounts(live_server) -> tuple[str, str]:
    from consult.accounts import services
    from consult.db import db

    suffix = uuid.uuid4().hex[:6]
    teacher = f"prof-{suffix}@exemple.test"
    coordinator = f"coord-{suffix}@exemple.test"
    with live_server.app.app_context():
        services.register(
            db.session,
            services.ProfileData(
                pseudonym=f"Prof_{suffix}", audience="professeur", academie_code="16"
            ),
            teacher,
            PASSWORD,
        )
        coord = services.register(
            db.session,
            services.ProfileData(
                pseudonym=f"Coord_{suffix}", audience="encadrement", academie_code="16"
            ),
            coordinator,
            PASSWORD,
        )
        services.grant_role(db.session, coord, "coordinator", "academie", "16")
        db.session.commit()
        db.session.remove()
    return teacher, coordinator


def _logout(page) -> None:
    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_load_state()


def _fill_sheet(page, title: str) -> None:
    page.locator("#title").fill(title)
    page.get_by_label("Territoire").select_option("academie:16")
    page.get_by_label("Type d'établissement ou de structure").select_option("college")
    page.get_by_label("Niveau", exact=True).select_option("college")
    tick(page, "period-0", "Confinement du printemps 2020")
    tick(page, "themes-0", "Garantir un égal accès")
    tick(page, "audiences-1", "Parents")
    page.locator("#context").fill("Un collège rural de Haute-Garonne, **sans équipement** partagé.")
    page.locator("#actions").fill("- prêt de tablettes\n- permanence téléphonique")
    page.locator("#tools").fill("ENT, tablettes, clés 4G")
    page.locator("#results").fill("150 familles équipées en trois semaines.")
    page.locator("#lessons").fill("Le lien avec les familles compte autant que le matériel.")
    page.locator("#contact_role").fill("Principal adjoint")


def test_toulouse_retex_journey_and_axe(page, live_server, tmp_path) -> None:
    base = live_server.url
    teacher, coordinator = _accounts(live_server)
    title = f"Tablettes pour les familles {uuid.uuid4().hex[:4]}"
    problems: list[str] = []

    login(page, live_server, teacher)
    page.goto(f"{base}/retex/nouvelle")
    problems += axe_violations(page)
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    assert page.locator("#form-errors").is_visible()
    problems += axe_violations(page)

    _fill_sheet(page, title)
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    page.wait_for_url("**/suivi")
    follow_url = page.url
    assert page.get_by_text("Brouillon", exact=True).is_visible()
    pdf = tmp_path / "bilan.pdf"
    pdf.write_bytes(PDF)
    page.locator("#file").set_input_files(str(pdf))
    page.get_by_label("Légende (facultatif)").fill("Bilan chiffré")
    page.get_by_role("button", name="Ajouter la pièce jointe").click()
    assert page.get_by_role("link", name="Bilan chiffré").is_visible()
    problems += axe_violations(page)
    page.get_by_role("button", name="Soumettre à relecture").click()
    assert page.get_by_text("Soumise à relecture", exact=True).is_visible()
    _logout(page)

    login(page, live_server, coordinator)
    page.goto(f"{base}/retex/mes-fiches")
    problems += axe_violations(page)
    page.get_by_role("link", name=title).click()
    page.get_by_label("Commentaire pour l'auteur").fill("Précisez la durée du prêt.")
    page.get_by_role("button", name="Renvoyer avec ce commentaire").click()
    assert page.get_by_text("Renvoyée avec commentaires", exact=True).is_visible()
    _logout(page)

    login(page, live_server, teacher)
    page.goto(follow_url)
    assert page.get_by_text("Précisez la durée du prêt.").is_visible()
    page.get_by_role("link", name="Modifier la fiche").click()
    page.locator("#results").fill("150 familles équipées, prêt de trois mois renouvelable.")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    page.get_by_role("button", name="Soumettre à relecture").click()
    _logout(page)

    login(page, live_server, coordinator)
    page.goto(follow_url)
    problems += axe_violations(page)
    page.get_by_role("button", name="Publier la fiche").click()
    assert page.get_by_text("Version 1 publiée.").is_visible()
    _logout(page)

    page.goto(f"{base}/retex/?territory=academie:16")
    problems += axe_violations(page)
    page.get_by_role("link", name=title).click()
    assert page.get_by_text("prêt de trois mois renouvelable").is_visible()
    assert page.get_by_role("heading", name="Pièces jointes").is_visible()
    sheet_url = page.url
    problems += axe_violations(page)
    page.emulate_media(media="print")
    assert not page.locator("header.fr-header").is_visible()
    assert page.get_by_role("heading", level=1, name=title).is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "retex-print.png"), full_page=True)
    page.emulate_media(media="screen")
    problems += axe_violations(page, f"{sheet_url}/versions")
    problems += axe_violations(page, f"{base}/retex/?q=tablettes&theme=1")
    assert problems == []


def test_retex_list_works_without_javascript(browser, live_server, committing) -> None:
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/retex/")
    page.get_by_label("Thème").select_option("2")
    page.get_by_role("button", name="Appliquer").click()
    assert "theme=2" in page.url
    assert page.get_by_role("heading", level=1).count() == 1
    context.close()
