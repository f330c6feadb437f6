"""Follow and be told, in a real browser: follow a contribution, another person comments, the
bell shows 1, the page lists it, the email arrives on a local SMTP server, its unsubscribe link
works; the copy-link button; axe on the new pages."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.browser_support import PASSWORD, axe_violations, login, tick

pytestmark = pytest.mark.browser


def _setup(live_server) -> dict:
    from consult.accounts import services as accounts
    from consult.db import db
    from consult.notifications import services as notifications
    from consult.notifications.models import Delivery, Event
    from forums import services
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

        author, reader, critic = person("Autrice"), person("Lectrice"), person("Critique")
        theme = theme_by_slug(session, "enseigner-apprendre")
        contribution = services.post_contribution(
            session,
            author,
            theme,
            theme.subthemes[0].id,
            f"Suivre les débats {tag}",
            "Une contribution que d'autres vont suivre et commenter.",
        )
        notifications.set_preferences(session, reader, {Event.COMMENT: Delivery.IMMEDIATE})
        session.commit()
        data = {
            "id": contribution.id,
            "reader": reader.email,
            "reader_id": reader.id,
            "critic": critic.email,
            "critic_name": critic.pseudonym,
        }
        db.session.remove()
    return data


def test_follow_comment_bell_page_email_and_unsubscribe(browser, page, live_server, smtp_server):
    from consult.db import db
    from consult.models import User
    from consult.notifications import services as notifications
    from consult.notifications.models import Delivery

    data = _setup(live_server)
    base = live_server.url
    config = live_server.app.config
    saved = {key: config.get(key) for key in smtp_server.config()}
    config.update(smtp_server.config())
    try:
        login(page, live_server, data["reader"])
        page.goto(f"{base}/forums/contributions/{data['id']}")
        follow = page.get_by_role("button", name="Suivre cette contribution")
        assert follow.get_attribute("aria-pressed") == "false"
        follow.click()
        page.wait_for_load_state()
        following = page.get_by_role("button", name="Suivi cette contribution")
        assert following.get_attribute("aria-pressed") == "true"
        assert (
            page.locator("[data-notification-count]").first.get_attribute("data-notification-count")
            == "0"
        )

        # Another person comments, in their own browser.
        other = browser.new_context(locale="fr-FR")
        critic = other.new_page()
        login(critic, live_server, data["critic"])
        critic.goto(f"{base}/forums/contributions/{data['id']}")
        tick(critic, "polarity-1", "Contre")
        critic.locator("#body").fill("Je ne suis pas convaincu, voici pourquoi.")
        critic.get_by_role("button", name="Publier mon commentaire").click()
        critic.wait_for_load_state()
        other.close()

        page.reload()
        bell = page.locator("[data-notification-count]").first
        assert bell.get_attribute("data-notification-count") == "1"
        assert "1" in bell.inner_text()
        bell.click()
        page.wait_for_url(f"{base}/notifications/")
        expect(page.locator("#notifications li p").first).to_contain_text(
            f"{data['critic_name']} a commenté la contribution"
        )
        assert axe_violations(page) == []

        (message,) = smtp_server.wait_for(1)
        assert message["To"] == data["reader"]
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = re.search(r"<(.+)>", message["List-Unsubscribe"]).group(1)
        assert link in message.get_body(preferencelist=("plain",)).get_content()
        assert data["critic"] not in message.as_string()

        # The link (on SITE_URL in the email) opened on the live server, logged out.
        page.context.clear_cookies()
        page.goto(base + "/" + link.split("/", 3)[3])
        page.get_by_role("button", name="Confirmer le désabonnement").click()
        expect(page.get_by_text("vous ne recevrez plus aucun courriel")).to_be_visible()
        with live_server.app.app_context():
            reader = db.session.get(User, data["reader_id"])
            assert set(notifications.preferences(db.session, reader).values()) == {Delivery.NONE}
            db.session.remove()
    finally:
        config.update(saved)


def test_copy_link_button_and_new_pages_pass_axe(browser, live_server, committing):
    data = _setup(live_server)
    base = live_server.url
    context = browser.new_context(locale="fr-FR")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((base, "data:")) else None,
    )
    page.goto(f"{base}/forums/contributions/{data['id']}")
    button = page.get_by_role("button", name="Copier le lien")
    button.click()
    expect(page.locator("[data-copy-status]")).to_have_text("Lien copié dans le presse-papiers.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith(f"/forums/contributions/{data['id']}")
    assert outside == []

    login(page, live_server, data["reader"])
    violations = []
    for path in ("/notifications/", "/notifications/preferences"):
        violations += axe_violations(page, base + path)
    page.goto(f"{base}/forums/contributions/{data['id']}")
    page.get_by_role("link", name=re.compile("^Autrice_")).first.click()
    page.wait_for_url(re.compile(r"/profils/"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Autrice_")
    violations += axe_violations(page)
    assert violations == []
    context.close()


def test_follow_without_javascript(browser, live_server, committing):
    data = _setup(live_server)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 375, "height": 800})
    page = context.new_page()
    login(page, live_server, data["critic"])
    page.goto(f"{live_server.url}/forums/enseigner-apprendre/")
    page.get_by_role("button", name=re.compile("^Suivre ce thème")).click()
    page.wait_for_load_state()
    assert (
        page.get_by_role("button", name=re.compile("^Suivi ce thème")).get_attribute("aria-pressed")
        == "true"
    )
    # Without JavaScript the permalink is there to copy by hand; the button stays hidden.
    page.goto(f"{live_server.url}/forums/contributions/{data['id']}")
    assert (
        page.get_by_label("Lien permanent vers cette page")
        .input_value()
        .endswith(f"/forums/contributions/{data['id']}")
    )
    assert not page.get_by_role("button", name="Copier le lien").is_visible()
    context.close()
