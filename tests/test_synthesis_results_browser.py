"""Results space in a real browser: an analyst composes and publishes the national synthesis,
a visitor reads it, prints it and downloads its PDF; axe-core audits the composer and the
public pages (no serious or critical violation)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser


def _setup(live_server) -> tuple[str, int]:
    """An analyst account, a public contribution to cite and a compilation to take figures
    from (real commits: the live database is its own)."""
    from consult.accounts import services
    from consult.db import db, utcnow
    from synthesis.models import Compilation, CompiledScope
    from tests.forums_factories import ContributionFactory

    suffix = uuid.uuid4().hex[:6]
    email = f"analyste-{suffix}@exemple.test"
    with live_server.app.app_context():
        analyst = services.register(
            db.session,
            services.ProfileData(
                pseudonym=f"Analyste_{suffix}", audience="encadrement", academie_code="13"
            ),
            email,
            PASSWORD,
        )
        services.grant_role(db.session, analyst, "analyst")
        contribution = ContributionFactory(author=analyst)
        compilation = Compilation(status="done", trigger="cli", finished_at=utcnow())
        db.session.add(compilation)
        db.session.flush()
        db.session.add(
            CompiledScope(
                compilation_id=compilation.id,
                scope_kind="national",
                scope_code="",
                payload={
                    "participation": {
                        "columns": ["audience", "indicator", "value", "people"],
                        "rows": [
                            ["*", "participants", 60, 60],
                            ["eleve", "participants", 4, 4],
                            ["parent", "participants", 20, 20],
                            ["professeur", "participants", 36, 36],
                        ],
                    }
                },
            )
        )
        db.session.commit()
        contribution_id = contribution.id
        db.session.remove()
    return email, contribution_id


def test_compose_publish_read_print_and_download(page, live_server) -> None:
    base = live_server.url
    email, contribution_id = _setup(live_server)
    title = f"Synthèse nationale {uuid.uuid4().hex[:4]}"
    problems: list[str] = []

    login(page, live_server, email)
    page.goto(f"{base}/resultats/composer/")
    problems += axe_violations(page)
    page.get_by_role("link", name="Synthèse nationale").click()
    composer_url = page.url
    button = page.get_by_role("button", name="Commencer le brouillon")
    if button.count() == 0:  # a draft or a version left by an earlier run of this session
        button = page.get_by_role("button", name="Préparer une nouvelle version")
    if button.count():
        button.click()
    page.locator("#title").fill(title)
    page.locator("#introduction").fill("Ce que les **cinq publics** ont dit.")
    tick(page, "figures-0", "Participation par public")
    page.get_by_role("button", name="Enregistrer le texte").click()
    assert page.get_by_text("Texte enregistré dans le brouillon.").is_visible()

    # A refused proposal shows its errors accessibly, then a valid one is added.
    page.get_by_role("button", name="Ajouter la proposition").click()
    assert page.locator("#form-errors").first.is_visible()
    problems += axe_violations(page)
    page.goto(composer_url)
    page.locator("#new-theme").select_option(index=1)
    page.locator("#new-title").fill("Équiper chaque élève qui en a besoin")
    page.locator("#new-text").fill("Un prêt d'ordinateurs organisé par l'établissement.")
    page.get_by_role("button", name="Ajouter la proposition").click()
    assert page.get_by_text("Proposition ajoutée.").is_visible()
    source_field = page.get_by_label("Source").last
    source_field.fill("contribution:999999999")
    page.get_by_role("button", name="Ajouter la source").last.click()
    assert page.get_by_text("n'existe pas ou n'est pas publique").first.is_visible()
    page.get_by_label("Source").last.fill(f"{base}/forums/contributions/{contribution_id}")
    page.get_by_role("button", name="Ajouter la source").last.click()
    assert page.get_by_text("Source ajoutée.").is_visible()
    problems += axe_violations(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-composer.png"), full_page=True)
    page.get_by_role("button", name="Publier la version").click()
    page.wait_for_url("**/resultats/nationale/version-*/")
    version_url = page.url
    page.get_by_role("button", name="Se déconnecter").first.click()
    page.wait_for_load_state()

    page.goto(f"{base}/resultats/")
    problems += axe_violations(page)
    page.get_by_role("link", name=title).click()
    assert page.get_by_role("heading", level=1, name=title).is_visible()
    assert page.get_by_role("heading", name="Équiper chaque élève qui en a besoin").is_visible()
    link = page.locator(f'a[href="/forums/contributions/{contribution_id}"]')
    assert link.count() == 1
    table = page.get_by_role("table", name="Participation par public")
    assert table.get_by_role("cell", name="secret statistique").count() >= 4
    assert page.get_by_role("button", name="Imprimer").is_visible()  # shown by the script
    problems += axe_violations(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Télécharger en PDF").click()
    download = download_info.value
    assert download.suggested_filename.startswith("synthese-nationale-v")
    assert Path(download.path()).read_bytes()[:5] == b"%PDF-"

    page.emulate_media(media="print")
    assert not page.locator("header.fr-header").is_visible()
    assert not page.get_by_role("link", name="Télécharger en PDF").is_visible()
    assert page.get_by_role("heading", level=1, name=title).is_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-print.png"), full_page=True)
    page.emulate_media(media="screen")
    problems += axe_violations(page, version_url)
    # On a phone the wide tables scroll in their own focusable region.
    page.set_viewport_size({"width": 375, "height": 800})
    problems += axe_violations(page, version_url)
    assert problems == []


def _publish_directly(live_server) -> str:
    """A published Poitiers synthesis, through the services; returns its page's path."""
    from consult.accounts import services
    from consult.db import db
    from synthesis import results

    suffix = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        coordinator = services.register(
            db.session,
            services.ProfileData(
                pseudonym=f"Coord_{suffix}", audience="encadrement", academie_code="13"
            ),
            f"coord-{suffix}@exemple.test",
            PASSWORD,
        )
        services.grant_role(db.session, coordinator, "coordinator", "academie", "13")
        info = results.scope("academie", "13")
        draft = results.start_draft(db.session, info, coordinator)
        proposal = results.add_proposal(
            db.session,
            draft,
            coordinator,
            theme=results.themes(db.session)[0][0],
            title=f"Former les familles {suffix}",
            text="Des ateliers le samedi matin.",
            position=None,
        )
        results.add_source(db.session, proposal, coordinator, "question:C01")
        version = results.publish(db.session, info, coordinator)
        number = version.version
        db.session.commit()
        db.session.remove()
    return f"/resultats/poitiers/version-{number}/"


def test_published_synthesis_reads_without_javascript(browser, live_server, committing) -> None:
    path = _publish_directly(live_server)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(f"{live_server.url}/resultats/")
    assert page.get_by_role("heading", level=1, name="Résultats de la consultation").is_visible()
    page.locator('a[href="/resultats/poitiers/"]').first.click()
    assert page.get_by_role("heading", level=1).is_visible()
    # Without a script the print button stays hidden; the page itself is complete.
    assert not page.get_by_role("button", name="Imprimer").is_visible()
    assert page.get_by_role("link", name="Télécharger en PDF").is_visible()
    assert page.locator('a[href="/syntheses/poitiers/#question-C01-title"]').count() >= 1
    page.goto(f"{live_server.url}{path}")
    assert page.get_by_text("Coordination académique : Académie de Poitiers").first.is_visible()
    context.close()
