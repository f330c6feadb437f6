"""Contribution pages paginate their debate: threads (a comment and its replies) by pages of
THREADS_PER_PAGE, oldest first, both columns on every page, links to a comment land on its
page, plain links (no JavaScript)."""

from __future__ import annotations

import re

from forums.queries import THREADS_PER_PAGE
from tests.factories import UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory

THREADS = 2 * THREADS_PER_PAGE + 5


def _debate(session):
    c = ContributionFactory()
    author = UserFactory()
    roots, replies = [], {}
    for i in range(THREADS):
        root = CommentFactory(
            contribution=c,
            author=author,
            polarity="pour" if i % 3 else "contre",
            body=f"Fil numéro {i + 1} du débat",
        )
        roots.append(root)
        if i % 4 == 0:
            replies[root.id] = CommentFactory(
                contribution=c,
                author=author,
                parent_id=root.id,
                polarity=root.polarity,
                body=f"Réponse au fil {i + 1}",
            )
    session.flush()
    return c, roots, replies


def _comment_ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'id="commentaire-(\d+)"', html)]


def test_threads_are_paginated_with_their_replies(client, session) -> None:
    c, roots, replies = _debate(session)
    url = f"/forums/contributions/{c.id}"
    first = client.get(url).get_data(as_text=True)
    shown = _comment_ids(first)
    page_roots = [r.id for r in roots[:THREADS_PER_PAGE]]
    assert [i for i in shown if i in {r.id for r in roots}] == page_roots
    # Each reply is on its thread's page, never elsewhere.
    assert {replies[r].id for r in page_roots if r in replies} <= set(shown)
    assert roots[THREADS_PER_PAGE].id not in shown
    assert "forum-debate__pour" in first and "forum-debate__contre" in first
    assert f'href="{url}?page=2#debat"' in first and "page 1 sur 3" in first
    last = client.get(url + "?page=3").get_data(as_text=True)
    assert [i for i in _comment_ids(last) if i in {r.id for r in roots}] == [
        r.id for r in roots[2 * THREADS_PER_PAGE :]
    ]
    assert "forum-debate__contre" in last
    # Out of range or malformed: the nearest real page, never an error.
    assert client.get(url + "?page=99").get_data(as_text=True).count("Fil numéro") == 5
    assert "Fil numéro 1 du débat" in client.get(url + "?page=-3").get_data(as_text=True)
    assert client.get(url + "?page=abc").status_code == 200


def test_a_link_to_a_comment_lands_on_its_page(client, session) -> None:
    c, roots, replies = _debate(session)
    root = roots[2 * THREADS_PER_PAGE]  # page 3
    reply = replies[root.id]
    for target in (root, reply):
        page = client.get(f"/forums/contributions/{c.id}?commentaire={target.id}")
        assert f'id="commentaire-{target.id}"' in page.get_data(as_text=True)
    # A comment of another contribution does not move the page.
    other = CommentFactory()
    page = client.get(f"/forums/contributions/{c.id}?commentaire={other.id}")
    assert f'id="commentaire-{roots[0].id}"' in page.get_data(as_text=True)


def test_a_new_comment_redirects_to_its_page(client, session) -> None:
    c, roots, _replies = _debate(session)
    client.login(UserFactory().email)
    url = f"/forums/contributions/{c.id}"
    response = client.submit(
        url + "/commentaires", {"polarity": "contre", "body": "Un tout dernier avis"}, page=url
    )
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "commentaire=" in location and "#commentaire-" in location
    page = client.get(location).get_data(as_text=True)
    assert "Un tout dernier avis" in page and "page 3 sur 3" in page
    # Replying to an old thread opens the page that shows it.
    reply_page = client.get(f"{url}?repondre={roots[-1].id}").get_data(as_text=True)
    assert f'id="commentaire-{roots[-1].id}"' in reply_page


def test_hidden_threads_are_not_counted_for_visitors(client, session) -> None:
    from consult.db import utcnow

    c, roots, _replies = _debate(session)
    for root in roots[:5]:
        root.hidden_at = utcnow()
    session.flush()
    html = client.get(f"/forums/contributions/{c.id}").get_data(as_text=True)
    assert "page 1 sur 2" in html
    assert f'id="commentaire-{roots[5].id}"' in html
