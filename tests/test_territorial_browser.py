"""The territorial journey in a real browser (coordinator, parent, supporter) and an axe-core
audit of every territorial page."""

from __future__ import annotations

import pytest

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser


def _accounts(live_server) -> None:
    from consult.accounts import services
    from consult.db import db

    with live_server.app.app_context():
        if services.email_taken(db.session, "terr-coord@exemple.test"):
            return
        people = {
            "terr-coord@exemple.test": ("Coord_Toulouse", "professeur"),
            "terr-parent@exemple.test": ("Parent_Toulouse", "parent"),
            "terr-soutien@exemple.test": ("Soutien_Toulouse", "agent"),
        }
        for email, (pseudonym, audience) in people.items():
            user = services.register(
                db.session,
                services.ProfileData(pseudonym=pseudonym, audience=audience, academie_code="16"),
                email,
                PASSWORD,
            )
            if pseudonym == "Coord_Toulouse":
                services.grant_role(db.session, user, "coordinator", "academie", "16")
        db.session.commit()
        db.session.remove()


def _logout(page, base: str) -> None:
    page.goto(f"{base}/")
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(f"{base}/")


def test_territorial_journey_and_accessibility(page, live_server) -> None:
    base = live_server.url
    _accounts(live_server)
    violations: list[str] = []

    # Anonymous visitor: the public pages.
    for path in (
        "/territoires/",
        "/territoires/toulouse/",
        "/territoires/region/occitanie/",
        "/territoires/agenda/",
        "/territoires/agenda/?periode=passees",
        "/territoires/actualites/",
        "/territoires/toulouse/idees/",
    ):
        violations += axe_violations(page, f"{base}{path}")
        assert page.locator("h1").count() == 1, path
    # The map's areas are keyboard-reachable links to the académie pages.
    page.goto(f"{base}/territoires/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "territoires.png"), full_page=True)
    page.locator("svg.territorial-map a[aria-label='Académie de Toulouse']").click()
    page.wait_for_url(f"{base}/territoires/toulouse/")

    # The coordinator publishes an event and a news item from the académie page.
    login(page, live_server, "terr-coord@exemple.test")
    page.goto(f"{base}/territoires/toulouse/")
    page.get_by_role("link", name="Publier un événement").click()
    violations += axe_violations(page)
    page.get_by_role("button", name="Publier l’événement").click()  # empty: errors shown
    assert page.locator("#form-errors").is_visible()
    violations += axe_violations(page)
    page.get_by_label("Titre").fill("Atelier parents-professeurs à Toulouse")
    page.locator("#description").fill("Partager ce qui a marché pendant le confinement.")
    page.locator("#starts_at").fill("2030-11-04T09:00")
    page.locator("#ends_at").fill("2030-11-04T12:00")
    page.locator("#place").fill("Rectorat de Toulouse")
    tick(page, "audiences-2", "Parents")
    tick(page, "audiences-3", "Professeurs")
    page.locator("#capacity").fill("25")
    page.get_by_role("button", name="Publier l’événement").click()
    page.wait_for_url(f"{base}/territoires/evenements/*")
    assert page.get_by_text("L'événement est publié.").is_visible()
    violations += axe_violations(page)
    event_url = page.url

    page.goto(f"{base}/territoires/actualites/nouvelle?territoire=academie:16")
    violations += axe_violations(page)
    page.get_by_label("Titre").fill("Les ateliers commencent à Toulouse")
    page.locator("#body").fill("Rendez-vous **au rectorat** pour le premier atelier.")
    page.get_by_role("button", name="Publier l’actualité").click()
    page.wait_for_url(f"{base}/territoires/actualites/*")
    assert page.locator("strong", has_text="au rectorat").is_visible()
    violations += axe_violations(page)
    _logout(page, base)

    # A parent posts an idea and registers for the event.
    login(page, live_server, "terr-parent@exemple.test")
    page.goto(f"{base}/territoires/toulouse/")
    page.get_by_role("link", name="Proposer une idée").click()
    violations += axe_violations(page)
    page.get_by_label("Titre de l'idée").fill("Prêter des ordinateurs aux familles")
    page.locator("#body").fill("Beaucoup de familles n'avaient qu'un téléphone pour tous.")
    page.get_by_role("button", name="Publier mon idée").click()
    page.wait_for_url(f"{base}/territoires/idees/*")
    idea_url = page.url
    assert page.get_by_text("Votre idée est publiée.").is_visible()
    violations += axe_violations(page)
    page.goto(event_url)
    page.get_by_role("button", name="M’inscrire").click()
    assert page.get_by_text("Votre inscription est enregistrée.").is_visible()
    assert page.get_by_text("24 places restantes").is_visible()
    _logout(page, base)

    # Another participant supports it.
    login(page, live_server, "terr-soutien@exemple.test")
    page.goto(idea_url)
    page.get_by_role("button", name="Soutenir cette idée").click()
    assert page.get_by_text("Votre soutien est enregistré.").is_visible()
    assert page.get_by_text("1 soutien", exact=True).is_visible()
    _logout(page, base)

    # The coordinator answers: "retenue".
    login(page, live_server, "terr-coord@exemple.test")
    page.goto(idea_url)
    violations += axe_violations(page)
    tick(page, "status-1", "Retenue")
    page.locator("#answer").fill("Retenue : des ordinateurs seront prêtés à la rentrée.")
    page.get_by_role("button", name="Publier la réponse").click()
    assert page.get_by_text("La réponse est publiée.").is_visible()
    assert page.get_by_text("Réponse de la coordination : Retenue").is_visible()
    violations += axe_violations(page)

    page.goto(f"{base}/territoires/region/occitanie/")
    assert page.get_by_role("link", name="Prêter des ordinateurs aux familles").is_visible()
    assert page.get_by_role("link", name="Atelier parents-professeurs à Toulouse").is_visible()
    assert page.get_by_role("link", name="Les ateliers commencent à Toulouse").is_visible()
    assert violations == [], "\n".join(violations)


def test_territorial_pages_work_without_javascript(browser, live_server, committing) -> None:
    _accounts(live_server)
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    page = context.new_page()
    try:
        base = live_server.url
        login(page, live_server, "terr-parent@exemple.test")
        page.goto(f"{base}/territoires/idees/nouvelle")
        page.get_by_label("Titre de l'idée").fill("Une idée postée sans JavaScript")
        page.locator("#body").fill("Le formulaire fonctionne sans aucun script chargé.")
        page.get_by_role("button", name="Publier mon idée").click()
        page.wait_for_url(f"{base}/territoires/idees/*")
        assert page.get_by_text("Votre idée est publiée.").is_visible()
    finally:
        context.close()
