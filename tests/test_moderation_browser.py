"""A moderator hides a reported contribution from the queue, finds it under « Masqués » and
restores it, in a real browser, with and without JavaScript."""

from __future__ import annotations

import uuid

import pytest

from tests.browser_support import PASSWORD, axe_violations, login

pytestmark = pytest.mark.browser


def _reported_contribution(live_server) -> dict:
    from consult.accounts import services as accounts
    from consult.db import db
    from consult.moderation import services as moderation
    from forums import services as forums
    from forums.queries import theme_by_slug

    tag = uuid.uuid4().hex[:6]
    with live_server.app.app_context():
        session = db.session

        def person(name: str):
            return accounts.register(
                session,
                accounts.ProfileData(
                    pseudonym=f"{name}_{tag}", audience="professeur", academie_code="13"
                ),
                f"{name.lower()}-{tag}@exemple.test",
                PASSWORD,
            )

        author, reporter, moderator = person("Auteur"), person("Lecteur"), person("Moderateur")
        accounts.grant_role(session, moderator, "moderator")
        theme = theme_by_slug(session, "enseigner-apprendre")
        contribution = forums.post_contribution(
            session,
            author,
            theme,
            theme.subthemes[0].id,
            f"Une contribution signalée {tag}",
            "Un texte que quelqu'un a signalé à tort.",
        )
        session.flush()
        moderation.report(session, reporter, "contribution", contribution.id, "spam", "")
        session.commit()
        return {"id": contribution.id, "title": contribution.title, "moderator": moderator.email}


def _anonymous_status(browser, url: str) -> int:
    """What a visitor without an account gets (the moderator reads hidden content)."""
    anonymous = browser.new_context()
    try:
        return anonymous.request.get(url, max_redirects=0).status
    finally:
        anonymous.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_moderator_hides_then_restores(browser, live_server, committing, javascript) -> None:
    data = _reported_contribution(live_server)
    base = live_server.url
    context = browser.new_context(locale="fr-FR", java_script_enabled=javascript)
    page = context.new_page()
    try:
        login(page, live_server, data["moderator"])
        page.goto(f"{base}/moderation/")
        card = page.locator("section", has=page.get_by_role("link", name=data["title"]))
        card.get_by_label("Motif du masquage (montré à l'auteur)").fill("Hors charte")
        card.get_by_role("button", name="Masquer").click()
        page.wait_for_load_state()
        assert page.get_by_text("Le contenu est masqué").first.is_visible()
        assert _anonymous_status(browser, f"{base}/forums/contributions/{data['id']}") != 200

        page.get_by_role("link", name="Masqués").click()
        page.wait_for_load_state()
        assert page.url.startswith(f"{base}/moderation/masques")
        masked = page.locator(f'[data-masked="contribution-{data["id"]}"]')
        assert "Hors charte" in masked.inner_text()
        if javascript:
            assert axe_violations(page) == []
        masked.get_by_role("button", name="Rétablir").click()
        page.wait_for_load_state()
        assert page.url.startswith(f"{base}/moderation/masques")
        assert page.get_by_text("Le contenu est rétabli.").first.is_visible()
        assert page.locator(f'[data-masked="contribution-{data["id"]}"]').count() == 0

        assert _anonymous_status(browser, f"{base}/forums/contributions/{data['id']}") == 200
    finally:
        context.close()
