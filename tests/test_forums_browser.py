"""Forum pages in a real browser: axe audit of every page, votes with and without JavaScript,
the two-column debate on wide screens."""

from __future__ import annotations

import gc
import sys
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser
STATIC = str(Path(__file__).resolve().parent.parent / "static")


def _settle(page) -> None:
    """Let pending requests finish, then collect the static files the threaded dev server
    left open for requests the browser aborted (werkzeug does not close a file response
    whose client went away). Only those ResourceWarnings are dropped, here, instead of
    surfacing at garbage collection in whichever test runs next; anything else still fails."""
    page.wait_for_load_state("networkidle")
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        name = str(getattr(unraisable.object, "name", ""))
        if isinstance(unraisable.exc_value, ResourceWarning) and f"{STATIC}/" in name:
            return
        previous(unraisable)

    sys.unraisablehook = hook
    try:
        gc.collect()
    finally:
        sys.unraisablehook = previous


def _people_and_contribution(live_server) -> dict:
    from consult.accounts import services as accounts
    from consult.db import db
    from forums import services
    from forums.queries import theme_by_slug

    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        session = db.session

        def person(name: str, audience: str = "professeur"):
            return accounts.register(
                session,
                accounts.ProfileData(
                    pseudonym=f"{name}_{tag}", audience=audience, academie_code="13"
                ),
                f"{name.lower()}-{tag}@exemple.test",
                PASSWORD,
            )

        author, voter, moderator, critic = (
            person("Autrice"),
            person("Votant", "parent"),
            person("Moderatrice"),
            person("Critique", "agent"),
        )
        accounts.grant_role(session, moderator, "moderator")
        theme = theme_by_slug(session, "enseigner-apprendre")
        contribution = services.post_contribution(
            session,
            author,
            theme,
            theme.subthemes[0].id,
            f"Des ressources libres pour chaque classe <em>{tag}</em>",
            "Une **banque** de ressources partagées entre académies.",
        )
        pour = services.add_comment(session, critic, contribution, "pour", "Excellente idée.")
        services.add_comment(session, critic, contribution, "contre", "Qui va les relire ?")
        services.add_comment(session, author, contribution, None, "Les inspecteurs.", pour.id)
        session.commit()
        return {
            "id": contribution.id,
            "author": author.email,
            "voter": voter.email,
            "moderator": moderator.email,
        }


def test_forum_pages_pass_axe(page, live_server) -> None:
    data = _people_and_contribution(live_server)
    base = live_server.url
    cid = data["id"]
    problems = []
    for path in (
        "/forums/",
        "/forums/enseigner-apprendre/",
        "/forums/enseigner-apprendre/?tri=hasard",
        f"/forums/contributions/{cid}",
        "/forums/recherche?q=ressources",
    ):
        problems += axe_violations(page, base + path)
    login(page, live_server, data["author"])
    for path in (
        "/forums/enseigner-apprendre/contribuer",
        f"/forums/contributions/{cid}",
        f"/forums/contributions/{cid}/modifier",
        "/compte/",
    ):
        problems += axe_violations(page, base + path)
    # The form in its error state and the similar-contributions check step.
    page.goto(f"{base}/forums/enseigner-apprendre/contribuer")
    page.get_by_role("button", name="Vérifier et publier").click()
    problems += axe_violations(page)
    page.get_by_label("Sous-thème").select_option(index=1)
    page.get_by_label("Titre").fill("Des ressources libres partagées")
    page.get_by_label("Votre contribution").fill("Mutualiser les ressources.")
    page.get_by_role("button", name="Vérifier et publier").click()
    assert page.get_by_text("Des contributions proches existent déjà").first.is_visible()
    problems += axe_violations(page)
    page.get_by_role("button", name="Se déconnecter").click()
    login(page, live_server, data["moderator"])
    for path in ("/moderation/", f"/moderation/signaler/contribution/{cid}"):
        problems += axe_violations(page, base + path)
    _settle(page)
    assert problems == []


def test_vote_without_reload_and_two_columns(page, live_server) -> None:
    data = _people_and_contribution(live_server)
    base = live_server.url
    login(page, live_server, data["voter"])
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/forums/contributions/{data['id']}")
    page.evaluate("window.__noReload = true")
    # The buttons show their words and counts, not a lone thumb squeezed to 32 px.
    for name in ("J'adopte", "Je refuse"):
        button = page.get_by_role("button", name=name)
        assert name in button.inner_text() and "0" in button.inner_text()
        assert button.bounding_box()["width"] > 80
    page.get_by_role("button", name="J'adopte").click()
    adopt = page.locator('[data-count="adopt"]')
    expect(adopt).to_have_text("1")
    assert page.evaluate("window.__noReload") is True
    assert page.get_by_role("button", name="J'adopte").get_attribute("aria-pressed") == "true"
    page.get_by_role("button", name="Je refuse").click()
    expect(page.locator('[data-count="refuse"]')).to_have_text("1")
    expect(adopt).to_have_text("0")

    pour = page.locator(".forum-debate__item.forum-debate__pour").first.bounding_box()
    contre = page.locator(".forum-debate__item.forum-debate__contre").first.bounding_box()
    assert contre["x"] > pour["x"] + 100  # side by side
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "forum-contribution.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 800})
    pour = page.locator(".forum-debate__item.forum-debate__pour").first.bounding_box()
    contre = page.locator(".forum-debate__item.forum-debate__contre").first.bounding_box()
    assert abs(contre["x"] - pour["x"]) < 2  # interleaved, one column
    assert page.locator(".forum-debate__item .fr-badge").first.is_visible()
    _settle(page)


def test_vote_and_comment_without_javascript(browser, live_server, committing) -> None:
    data = _people_and_contribution(live_server)
    base = live_server.url
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    login(page, live_server, data["voter"])
    page.goto(f"{base}/forums/enseigner-apprendre/?tri=recent")
    card = page.locator(f"#contribution-{data['id']}")
    card.get_by_role("button", name="J'adopte").click()
    page.wait_for_load_state()
    assert "/forums/enseigner-apprendre/?tri=recent" in page.url
    card = page.locator(f"#contribution-{data['id']}")
    assert card.locator('[data-count="adopt"]').inner_text() == "1"
    page.goto(f"{base}/forums/contributions/{data['id']}")
    tick(page, "polarity-1", "Contre")
    page.locator("#body").fill("Sans JavaScript aussi, je suis contre.")
    page.get_by_role("button", name="Publier mon commentaire").click()
    assert page.get_by_text("Sans JavaScript aussi, je suis contre.").is_visible()
    _settle(page)
    context.close()
