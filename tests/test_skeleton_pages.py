"""Logged-in pages served from shared skeletons with per-person holes (consult/skeleton.py).

The heart of it: for every kind of reader, the page filled from a skeleton equals, byte for
byte, the page the application renders in full for them (CSRF tokens compared once unmasked,
each checked to validate), with the same headers; a reader's holes never reach another; and
whatever the fast path cannot do exactly gets the full render.
"""

from __future__ import annotations

import re

import pytest
from itsdangerous import URLSafeTimedSerializer

from consult import csrf, pagecache
from consult.db import db, utcnow
from consult.notifications import services as notifications
from consult.notifications.models import Notification
from forums import services
from forums.models import Contribution
from tests.conftest import CSRF_RE, Client
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory, theme

HIT = "X-Consult-Skeleton"
THEME = "/forums/enseigner-apprendre/"
# Headers of one transmission: the date, the body's digest and length (the masked tokens make
# each body unique), and the fast path's own mark.
PER_RESPONSE = {"date", "etag", "content-length", HIT.lower()}


@pytest.fixture
def skeletons(app, monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_CACHE_SECONDS", 10)
    monkeypatch.setitem(app.config, "SKELETON_PAGES", True)
    pagecache.bump(app)  # skeletons left by an earlier test (rolled-back data) are not used
    app.extensions["consult_skeleton_pages"].local._data.clear()
    return app


def _reader(app, user, **headers):
    app.test_client_class = Client
    client = app.test_client()
    client.login(user.email)
    client.get("/compte/")  # shows (and drops) the login flash
    return client


def _unmasked(app, html: str) -> str:
    """Every masked token replaced by the session token it carries, once checked valid."""
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")

    def raw(match: re.Match) -> str:
        signed = csrf.unmask(match.group(1))
        return match.group(0).replace(match.group(1), signer.loads(signed, max_age=3600))

    return CSRF_RE.sub(raw, html)


def _headers(response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers if k.lower() not in PER_RESPONSE)


def _full(app, client, url: str, **kw):
    app.config["SKELETON_PAGES"] = False
    try:
        return client.get(url, **kw)
    finally:
        app.config["SKELETON_PAGES"] = True


def assert_same_as_full_render(app, client, url: str, *, hit: bool = True, **kw) -> str:
    full = _full(app, client, url, **kw)
    fast = client.get(url, **kw)
    assert (fast.headers.get(HIT) == "hit") is hit, (url, fast.status_code)
    assert fast.status_code == full.status_code
    assert _headers(fast) == _headers(full)
    assert ("ETag" in fast.headers) is ("ETag" in full.headers)
    body = fast.get_data()
    if fast.headers.get("Content-Encoding") == "br":
        import brotli

        body = brotli.decompress(body)
        full_body = brotli.decompress(full.get_data())
    else:
        full_body = full.get_data()
    html = body.decode()
    assert _unmasked(app, html) == _unmasked(app, full_body.decode())
    tokens = CSRF_RE.findall(html)
    assert len(set(tokens)) == len(tokens)  # each form its own mask (BREACH)
    return html


def _card(html: str, contribution_id: int) -> str:
    start = html.index(f'id="contribution-{contribution_id}"')
    return html[start : html.index("</article>", start)]


def _pressed(card: str) -> str | None:
    """The vote button shown pressed on a card, if any."""
    found = re.search(r'value="(adopt|refuse)"[^>]*aria-pressed="true"', card)
    return found.group(1) if found else None


def _page(session, count: int = 5) -> list[Contribution]:
    authors = UserFactory.create_batch(2)
    cards = [ContributionFactory(author=authors[i % 2]) for i in range(count)]
    session.flush()
    return cards


def _notify(session, user, count: int) -> None:
    for number in range(count):
        session.add(
            Notification(
                user_id=user.id,
                event="new_contribution",
                subject_kind="contribution",
                subject_id=10_000 + number,
            )
        )
    session.flush()


# --- The same page, byte for byte -----------------------------------------------------------------


def test_a_participant_with_votes_follows_and_notifications_gets_the_full_render(
    skeletons, session
) -> None:
    cards = _page(session)
    viewer = UserFactory(pseudonym="Zoé <i>l'écrit</i>")
    services.vote(session, viewer, cards[0], "adopt")
    services.vote(session, viewer, cards[1], "refuse")
    notifications.follow(session, viewer, "theme", str(theme().id))
    notifications.follow(session, viewer, "contribution", str(cards[2].id))
    _notify(session, viewer, 3)
    client = _reader(skeletons, viewer)
    pages = (THEME, THEME + "?tri=recent", f"/forums/contributions/{cards[2].id}", "/forums/", "/")
    for url in pages:
        html = assert_same_as_full_render(skeletons, client, url)
        assert "Zoé &lt;i&gt;l&#39;écrit&lt;/i&gt;" in html
    html = assert_same_as_full_render(skeletons, client, THEME)
    assert _pressed(_card(html, cards[0].id)) == "adopt"
    assert _pressed(_card(html, cards[1].id)) == "refuse"
    assert _pressed(_card(html, cards[3].id)) is None
    assert 'data-notification-count="3"' in html
    # Compressed as the full render is.
    assert_same_as_full_render(skeletons, client, THEME, headers={"Accept-Encoding": "br"})


@pytest.mark.parametrize("unread", [0, 1, 7, 120])
def test_the_bell_for_every_count(skeletons, session, unread) -> None:
    _page(session, 2)
    viewer = UserFactory()
    _notify(session, viewer, unread)
    client = _reader(skeletons, viewer)
    html = assert_same_as_full_render(skeletons, client, THEME)
    assert f'data-notification-count="{unread}"' in html


def test_a_pupil_and_a_teacher_share_one_skeleton(skeletons, session, monkeypatch) -> None:
    _page(session, 3)
    pupil = UserFactory(audience="eleve", school_level="college")
    teacher = UserFactory(audience="professeur")
    middleware = skeletons.extensions["consult_skeleton_pages"]
    renders = []
    real = middleware._render
    monkeypatch.setattr(middleware, "_render", lambda *a: renders.append(a) or real(*a))
    for person in (pupil, teacher):
        assert_same_as_full_render(skeletons, _reader(skeletons, person), THEME)
    assert len(renders) == 1  # rendered once, then filled for each reader


def test_english_from_the_account_or_the_address(skeletons, session) -> None:
    cards = _page(session, 2)
    english = UserFactory(locale="en")
    client = _reader(skeletons, english)
    html = assert_same_as_full_render(skeletons, client, THEME)
    assert '<html lang="en"' in html
    html = assert_same_as_full_render(skeletons, client, f"/forums/contributions/{cards[0].id}")
    assert '<html lang="en"' in html
    french = _reader(skeletons, UserFactory())
    assert '<html lang="en"' in assert_same_as_full_render(skeletons, french, THEME + "?lang=en")
    assert '<html lang="fr"' in assert_same_as_full_render(skeletons, french, THEME)


def test_a_contribution_page_with_its_debate(skeletons, session) -> None:
    item = ContributionFactory()
    comments = [
        CommentFactory(contribution=item, polarity="pour" if number % 2 else "contre")
        for number in range(6)
    ]
    viewer = UserFactory()
    services.vote(session, viewer, item, "refuse")
    session.flush()
    client = _reader(skeletons, viewer)
    url = f"/forums/contributions/{item.id}"
    html = assert_same_as_full_render(skeletons, client, url)
    assert f'action="/forums/contributions/{item.id}/commentaires"' in html
    assert_same_as_full_render(skeletons, client, url + f"?repondre={comments[0].id}")


# --- Who gets the full render ------------------------------------------------------------------


def test_staff_blocked_accounts_and_authors_get_the_full_render(skeletons, session) -> None:
    cards = _page(session, 3)
    moderator = RoleGrantFactory(role="moderator").user
    blocked = UserFactory()
    author = cards[1].author
    commenter = CommentFactory(contribution=cards[2]).author
    clients = {p: _reader(skeletons, p) for p in (moderator, blocked, author, commenter)}
    blocked.blocked_at = utcnow()
    session.flush()
    for person in (moderator, blocked, author):
        assert_same_as_full_render(skeletons, clients[person], THEME, hit=False)
    html = assert_same_as_full_render(skeletons, clients[blocked], THEME, hit=False)
    assert "data-blocked-notice" in html
    contribution = f"/forums/contributions/{cards[2].id}"
    assert_same_as_full_render(skeletons, clients[commenter], contribution, hit=False)
    # On a page where they wrote nothing, the author and the commenter are readers like others.
    assert_same_as_full_render(skeletons, clients[author], contribution)
    assert_same_as_full_render(
        skeletons, clients[commenter], f"/forums/contributions/{cards[0].id}"
    )


def test_a_flash_another_browser_or_an_unknown_page_get_the_full_render(skeletons, session) -> None:
    cards = _page(session, 2)
    viewer = UserFactory()
    client = _reader(skeletons, viewer)
    assert client.get(THEME).headers.get(HIT) == "hit"
    token = CSRF_RE.search(client.get(THEME).get_data(as_text=True)).group(1)
    voted = client.post(
        f"/forums/contributions/{cards[0].id}/vote",
        data={"value": "adopt", "csrf_token": token, "next": THEME},
    )
    assert voted.status_code == 302
    flashed = client.get(THEME)  # the flash is shown by the full render...
    assert HIT not in flashed.headers and "Vous adoptez" in flashed.get_data(as_text=True)
    assert client.get(THEME).headers.get(HIT) == "hit"  # ...then the skeleton again
    for url in ("/forums/contributions/999999999", "/forums/sans-theme/", "/territoires/"):
        assert HIT not in client.get(url).headers
    # Strong session protection: another browser's request is the full render's to refuse.
    other = client.get(THEME, headers={"User-Agent": "un autre navigateur"})
    assert HIT not in other.headers
    assert "Se connecter" in other.get_data(as_text=True)


def test_a_hidden_contribution_is_not_served_from_a_skeleton(skeletons, session) -> None:
    item = ContributionFactory(hidden_at=utcnow(), hidden_reason="Hors sujet")
    session.flush()
    reader = _reader(skeletons, UserFactory())
    response = reader.get(f"/forums/contributions/{item.id}")
    assert response.status_code == 410 and HIT not in response.headers
    author = _reader(skeletons, item.author)
    page = assert_same_as_full_render(
        skeletons, author, f"/forums/contributions/{item.id}", hit=False
    )
    assert "Hors sujet" in page


# --- One person's holes never reach another -------------------------------------------------------


def test_two_readers_interleaved_see_only_their_own_holes(skeletons, session) -> None:
    cards = _page(session, 3)
    alice = UserFactory(pseudonym="Alice Lectrice")
    bruno = UserFactory(pseudonym="Bruno Lecteur")
    services.vote(session, alice, cards[0], "adopt")
    services.vote(session, bruno, cards[0], "refuse")
    notifications.follow(session, alice, "theme", str(theme().id))
    _notify(session, bruno, 4)
    a, b = _reader(skeletons, alice), _reader(skeletons, bruno)
    for _round in range(2):
        page_a = a.get(THEME)
        page_b = b.get(THEME)
        assert page_a.headers[HIT] == page_b.headers[HIT] == "hit"
        html_a, html_b = page_a.get_data(as_text=True), page_b.get_data(as_text=True)
        assert "Alice Lectrice" in html_a and "Bruno" not in html_a
        assert "Bruno Lecteur" in html_b and "Alice" not in html_b
        assert 'data-notification-count="0"' in html_a
        assert 'data-notification-count="4"' in html_b
        assert "Suivi" in html_a and "Suivi<" not in html_b
        card_a, card_b = _card(html_a, cards[0].id), _card(html_b, cards[0].id)
        assert (_pressed(card_a), _pressed(card_b)) == ("adopt", "refuse")
        tokens_a = {_raw_token(skeletons, t) for t in CSRF_RE.findall(html_a)}
        tokens_b = {_raw_token(skeletons, t) for t in CSRF_RE.findall(html_b)}
        assert len(tokens_a) == len(tokens_b) == 1 and tokens_a != tokens_b


def _raw_token(app, masked: str) -> str:
    signer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="wtf-csrf-token")
    return signer.loads(csrf.unmask(masked))


def test_the_kept_skeleton_holds_nothing_personal(skeletons, session) -> None:
    _page(session, 2)
    viewer = UserFactory(pseudonym="Personne Secrète")
    client = _reader(skeletons, viewer)
    html = client.get(THEME).get_data(as_text=True)
    token = _raw_token(skeletons, CSRF_RE.search(html).group(1))
    middleware = skeletons.extensions["consult_skeleton_pages"]
    kept = [entry for _expires, entry in middleware.local._data.values()]
    assert kept
    for skeleton in kept:
        raw = skeleton.dumps().decode()
        assert "Personne" not in raw and viewer.email not in raw and token not in raw
        assert "Participant" not in raw.split("<main")[0]  # no one's name in the header


# --- Changes show at once ------------------------------------------------------------------------


def test_a_vote_or_a_follow_shows_at_once_on_the_next_page(skeletons, session) -> None:
    cards = _page(session, 3)
    viewer = UserFactory()
    client = _reader(skeletons, viewer)
    html = client.get(THEME).get_data(as_text=True)
    token = CSRF_RE.search(_card(html, cards[2].id)).group(1)
    voted = client.post(
        f"/forums/contributions/{cards[2].id}/vote",
        data={"value": "refuse", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert voted.status_code == 200 and voted.get_json()["mine"] == "refuse"
    page = client.get(THEME)
    assert page.headers[HIT] == "hit"
    assert _pressed(_card(page.get_data(as_text=True), cards[2].id)) == "refuse"
    follow = re.search(
        r'action="/notifications/suivre".*?value="([^"]+)"', page.get_data(as_text=True), re.S
    )
    followed = client.post(
        "/notifications/suivre",
        data={
            "csrf_token": follow.group(1),
            "kind": "theme",
            "key": str(theme().id),
            "action": "follow",
            "next": THEME,
        },
    )
    assert followed.status_code == 302
    client.get(THEME)  # its flash
    page = client.get(THEME)
    assert page.headers[HIT] == "hit" and 'aria-pressed="true"' in page.get_data(as_text=True)
    # Votes are quiet: the kept skeleton's counters may lag (PAGE_CACHE_SECONDS at most, as on
    # visitors' pages), the reader's own vote never does. A fresh skeleton has them all.
    pagecache.bump(skeletons)
    assert_same_as_full_render(skeletons, client, THEME)


def test_new_content_replaces_the_skeleton(skeletons, session) -> None:
    _page(session, 2)
    client = _reader(skeletons, UserFactory())
    assert client.get(THEME).headers[HIT] == "hit"
    with skeletons.app_context():
        ContributionFactory(title="Une toute nouvelle proposition")
        db.session.commit()  # moves the content generation
    page = client.get(THEME)
    assert page.headers[HIT] == "hit"
    assert "Une toute nouvelle proposition" in page.get_data(as_text=True)


def test_logout_password_change_and_blocking_stop_the_fast_path(skeletons, session) -> None:
    _page(session, 2)
    viewer = UserFactory(pseudonym="Camille Connectée")
    client = _reader(skeletons, viewer)
    assert client.get(THEME).headers[HIT] == "hit"
    # Blocking shows on the very next request.
    viewer.blocked_at = utcnow()
    session.flush()
    page = client.get(THEME)
    assert HIT not in page.headers and "data-blocked-notice" in page.get_data(as_text=True)
    viewer.blocked_at = None
    session.flush()
    assert client.get(THEME).headers[HIT] == "hit"
    # So does a deletion.
    viewer.deleted_at = utcnow()
    session.flush()
    page = client.get(THEME)
    assert HIT not in page.headers and "Camille Connectée" not in page.get_data(as_text=True)
    viewer.deleted_at = None
    session.flush()
    assert client.get(THEME).headers[HIT] == "hit"
    # A password change elsewhere (a new session version) logs this session out.
    stolen = client.get_cookie(skeletons.config["SESSION_COOKIE_NAME"]).value
    viewer.session_version += 1
    session.flush()
    page = client.get(THEME)
    assert HIT not in page.headers
    assert "Camille Connectée" not in page.get_data(as_text=True)
    # Logging out: the page is a visitor's.
    viewer.session_version -= 1
    session.flush()
    client.set_cookie(skeletons.config["SESSION_COOKIE_NAME"], stolen)
    assert client.get(THEME).headers[HIT] == "hit"
    client.logout()
    page = client.get(THEME)
    assert HIT not in page.headers and "Se connecter" in page.get_data(as_text=True)


def test_forms_of_a_filled_page_work(skeletons, session) -> None:
    item = ContributionFactory()
    session.flush()
    client = _reader(skeletons, UserFactory())
    url = f"/forums/contributions/{item.id}"
    page = client.get(url)
    assert page.headers[HIT] == "hit"
    html = page.get_data(as_text=True)
    comment = re.search(
        r'action="/forums/contributions/\d+/commentaires".*?value="([^"]+)"', html, re.S
    )
    posted = client.post(
        f"{url}/commentaires",
        data={"csrf_token": comment.group(1), "polarity": "pour", "body": "Tout à fait d'accord."},
    )
    assert posted.status_code == 302
    client.get(url)  # its flash; and the commenter now gets this page in full
    assert HIT not in client.get(url).headers
    html = client.get(THEME).get_data(as_text=True)
    logout = re.search(r'action="/compte/deconnexion".*?value="([^"]+)"', html, re.S)
    assert (
        client.post("/compte/deconnexion", data={"csrf_token": logout.group(1)}).status_code == 302
    )
    assert "Se connecter" in client.get(THEME).get_data(as_text=True)


def test_workers_share_skeletons_through_the_store(skeletons, session, monkeypatch) -> None:
    from consult.skeleton import Skeleton

    _page(session, 2)
    client = _reader(skeletons, UserFactory())
    assert client.get(THEME).headers[HIT] == "hit"
    middleware = skeletons.extensions["consult_skeleton_pages"]
    (kept,) = [entry for _expires, entry in middleware.local._data.values()]
    assert Skeleton.loads(kept.dumps()) == kept
    # Another worker (an empty local tier): with Redis it finds the skeleton there; in the
    # embedded default each process keeps its own.
    middleware.local._data.clear()
    renders = []
    real = middleware._render
    monkeypatch.setattr(middleware, "_render", lambda *a: renders.append(a) or real(*a))
    assert_same_as_full_render(skeletons, client, THEME)
    shared = skeletons.extensions["consult_page_cache"].local is not None
    assert len(renders) == (0 if shared else 1)


def test_a_store_outage_or_a_script_gets_the_full_render(skeletons, session, monkeypatch) -> None:
    _page(session, 2)
    client = _reader(skeletons, UserFactory(pseudonym="Dominique Lectrice"))
    assert client.get(THEME).headers[HIT] == "hit"
    assert HIT not in client.get(THEME, headers={"Accept": "application/json"}).headers
    store = skeletons.extensions["consult_page_store"]

    def down(_keys):
        raise ConnectionError("the store does not answer")

    monkeypatch.setattr(store, "get_raw", down)
    monkeypatch.setattr(skeletons.extensions["consult_page_cache"], "generation", (b"0", 0.0))
    page = client.get(THEME)
    assert page.status_code == 200 and HIT not in page.headers
    assert "Dominique Lectrice" in page.get_data(as_text=True)
