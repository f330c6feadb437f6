"""Visitors who have not logged in: no session cookie on any page they read, and the shared
page cache that serves them (consult/pagecache.py)."""

from __future__ import annotations

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
    urls += ["/page-qui-n-existe-pas", "/forums/contributions/999999999"]
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
