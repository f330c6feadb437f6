"""Visitors who have not logged in: no session cookie on any page they read, and the shared
page cache that serves them (consult/pagecache.py)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from consult.db import db
from forums import services
from forums.models import Contribution
from tests.conftest import Client
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import ContributionFactory, first_subtheme
from tests.test_surface_crawler import _seed, _urls

# GET pages that hold a form an anonymous visitor submits: its CSRF token lives in the session,
# so these (and only these) open one.
FORM_PAGES = (
    "/compte/connexion",
    "/compte/inscription",
    "/compte/mot-de-passe-oublie",
    "/compte/reinitialiser/",
    "/moderation/signaler/",
    "/questionnaire/code",
)
FORM_PAGE_EXACT = ("/questionnaire/",)  # the access-code form


def test_no_page_sets_a_cookie_for_a_visitor(app, client, session) -> None:
    seed = _seed(session)
    urls, uncovered = _urls(app, seed)
    assert not uncovered
    urls += [
        "/page-qui-n-existe-pas",
        "/forums/contributions/999999999",
        "/forums/enseigner-apprendre/?tri=hasard",
    ]
    cookies: list[str] = []
    for url in dict.fromkeys(urls):
        client._cookies.clear()
        response = client.get(url)
        body = response.get_data().decode("utf-8", "replace")
        response.close()  # streamed exports end their context here
        set_cookie = response.headers.getlist("Set-Cookie")
        if not set_cookie:
            continue
        if (url in FORM_PAGE_EXACT or url.startswith(FORM_PAGES)) and 'name="csrf_token"' in body:
            continue
        cookies.append(f"{response.status_code} {url}: {set_cookie}")
    assert not cookies, "\n".join(cookies)
    assert len(urls) > 100


# --- The shared page cache ------------------------------------------------------------------------

HIT = "X-Consult-Cache"


@pytest.fixture
def page_cache(app, monkeypatch):
    from consult import pagecache

    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 10)
    pagecache.bump(app)  # entries left by an earlier test (rolled-back data) are not served
    return app


def _visitor(app):
    app.test_client_class = Client
    return app.test_client()


def test_a_hit_serves_the_same_bytes(page_cache, client, session) -> None:
    ContributionFactory(title="Une contribution à garder en cache")
    first = client.get("/forums/enseigner-apprendre/", headers={"Accept-Encoding": "br"})
    second = client.get("/forums/enseigner-apprendre/", headers={"Accept-Encoding": "br"})
    assert first.status_code == second.status_code == 200
    assert HIT not in first.headers and second.headers[HIT] == "hit"
    assert second.get_data() == first.get_data()
    assert second.headers["Content-Encoding"] == "br"
    assert "Set-Cookie" not in second.headers
    # Another encoding, another language: another entry, never the brotli or French bytes.
    plain = client.get("/forums/enseigner-apprendre/")
    assert HIT not in plain.headers and "Content-Encoding" not in plain.headers
    assert "Une contribution à garder en cache" in plain.get_data(as_text=True)
    english = client.get("/forums/enseigner-apprendre/?lang=en")
    assert HIT not in english.headers and '<html lang="en"' in english.get_data(as_text=True)
    client.set_cookie("consult_lang", "en")
    assert '<html lang="en"' in client.get("/forums/enseigner-apprendre/").get_data(as_text=True)
    # HEAD is answered from the entry, without a body.
    head = _visitor(page_cache).head("/forums/enseigner-apprendre/")
    assert head.headers[HIT] == "hit" and head.get_data() == b""


def test_new_content_and_hidden_content_show_at_once(page_cache, client, session) -> None:
    url = "/forums/enseigner-apprendre/"
    assert client.get(url).status_code == 200
    assert client.get(url).headers[HIT] == "hit"
    author = _visitor(page_cache)
    writer = UserFactory()
    author.login(writer.email)
    response = author.submit(
        "/forums/enseigner-apprendre/contribuer",
        {
            "subtheme": str(first_subtheme().id),
            "title": "Des tablettes pour tous les collèges",
            "body": "Une proposition toute neuve.",
            "checked": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(url)
    assert HIT not in page.headers
    assert "Des tablettes pour tous les collèges" in page.get_data(as_text=True)
    created = session.scalar(select(Contribution).where(Contribution.author_id == writer.id))
    contribution_url = f"/forums/contributions/{created.id}"
    assert client.get(contribution_url).status_code == 200
    assert client.get(contribution_url).headers[HIT] == "hit"
    moderator = _visitor(page_cache)
    moderator.login(RoleGrantFactory(role="moderator").user.email)
    hide = moderator.submit(
        f"/moderation/contribution/{created.id}/masquer",
        {"reason": "Hors du thème de ce forum"},
        page="/moderation/",
    )
    assert hide.status_code == 302
    assert client.get(contribution_url).status_code == 410
    assert "Des tablettes pour tous les collèges" not in client.get(url).get_data(as_text=True)


def test_logged_in_people_never_get_a_cached_page(page_cache, client, session) -> None:
    url = "/forums/"
    client.get(url)
    assert client.get(url).headers[HIT] == "hit"
    user = UserFactory(pseudonym="Lectrice connectée")
    member = _visitor(page_cache)
    member.login(user.email)
    for _ in range(2):
        page = member.get(url)
        assert HIT not in page.headers
        assert "Lectrice connectée" in page.get_data(as_text=True)
    # And what they saw is never served to a visitor.
    for _ in range(2):
        assert "Lectrice connectée" not in client.get(url).get_data(as_text=True)
    # A visitor holding a session (an access code, a form's token) is not served either.
    client.get("/compte/connexion")
    assert HIT not in client.get(url).headers


def test_votes_do_not_empty_the_cache_but_content_writes_do(page_cache, session) -> None:
    from consult import pagecache

    with page_cache.app_context():
        before = pagecache.content_generation(page_cache)
        c = ContributionFactory()
        db.session.flush()
        after_content = pagecache.content_generation(page_cache)
        assert after_content != before
        voter = UserFactory()
        db.session.commit()
        after_content = pagecache.content_generation(page_cache)
        assert services.vote(db.session, voter, c, "adopt").adopt_count == 1
        db.session.commit()
        assert pagecache.content_generation(page_cache) == after_content


def test_what_is_never_stored(page_cache, client, session) -> None:
    for url in ("/page-absente", "/compte/connexion", "/forums/contributions/999999"):
        client.get(url)
        client._cookies.clear()
        assert HIT not in client.get(url).headers, url
    # The Host header is not part of the key, but a forged host is refused, never served.
    page_cache.config["TRUSTED_HOSTS"], saved = ["localhost"], page_cache.config["TRUSTED_HOSTS"]
    try:
        client.get("/forums/")
        assert client.get("/forums/").headers[HIT] == "hit"
        forged = client.get("/forums/", headers={"Host": "evil.example"})
        assert forged.status_code == 400 and HIT not in forged.headers
    finally:
        page_cache.config["TRUSTED_HOSTS"] = saved
    # A validator that is not the stored page's gets the whole page; Range goes to the app.
    stale = client.get("/forums/", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200 and stale.headers[HIT] == "hit"
    assert HIT not in client.get("/forums/", headers={"Range": "bytes=0-10"}).headers


# --- Card fragments -------------------------------------------------------------------------------


def test_cards_are_kept_but_follow_their_content(app, client, session, monkeypatch) -> None:
    from consult.db import utcnow

    monkeypatch.setitem(app.config, "FRAGMENT_SECONDS", 300)
    c = ContributionFactory(title="Titre avant modification")
    url = "/forums/enseigner-apprendre/"
    assert "Titre avant modification" in client.get(url).get_data(as_text=True)
    c.title, c.updated_at = "Titre après modification", utcnow()
    c.comment_count, c.pour_count = 3, 3
    session.flush()
    page = client.get(url).get_data(as_text=True)
    assert "Titre après modification" in page and "Titre avant modification" not in page
    assert "3 commentaires" in page
    # Same card for a voter: their own vote box (token, pressed button) beside the kept part;
    # what a visitor reads next carries neither.
    voter = UserFactory()
    member = app.test_client()
    member.__class__ = Client
    member.login(voter.email)
    assert 'name="csrf_token"' in member.get(url).get_data(as_text=True)
    assert 'name="csrf_token"' not in client.get(url).get_data(as_text=True)


def test_the_random_order_keeps_its_seed_in_the_links(client, session) -> None:
    for _ in range(25):
        ContributionFactory()
    first = client.get("/forums/enseigner-apprendre/?tri=hasard")
    assert "Set-Cookie" not in first.headers
    html = first.get_data(as_text=True)
    seed = re.search(r"graine=(\d+)", html).group(1)
    following = re.search(r'href="([^"]*apres=[^"]*)"', html).group(1).replace("&amp;", "&")
    assert f"graine={seed}" in following
    ids = lambda page: re.findall(r'id="contribution-(\d+)"', page)  # noqa: E731
    second = client.get(following).get_data(as_text=True)
    assert not set(ids(html)) & set(ids(second))  # the same order: no card twice
    again = client.get(f"/forums/enseigner-apprendre/?tri=hasard&graine={seed}")
    assert ids(again.get_data(as_text=True)) == ids(html)


def test_a_visitor_holding_the_cached_page_gets_a_304_from_the_cache(
    page_cache, client, session
) -> None:
    url = "/forums/enseigner-apprendre/"
    first = client.get(url, headers={"Accept-Encoding": "br"})
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "no-cache"  # shared: no name, no token in it
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": etag})
    assert again.status_code == 304 and again.headers[HIT] == "hit"
    assert again.get_data() == b"" and again.headers["ETag"] == etag
    other = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": 'W/"autre"'})
    assert other.status_code == 200 and other.get_data() == first.get_data()
