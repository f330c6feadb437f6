"""Forums: themes, contributions, votes, comments, listing, search, moderation hooks, API."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from consult.db import utcnow
from consult.models import AuditEvent
from consult.moderation import services as moderation
from consult.permissions import authorize
from consult.search import engine as search_engine
from forums import queries, services
from forums.models import Comment, Contribution, Theme, Vote, wilson_lower_bound
from forums.permissions import Permission
from forums.services import ForumError
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory, first_subtheme, theme

TEACHING_TITLE = "Enseigner et apprendre avec le numérique"


def _close(slug: str = "enseigner-apprendre") -> Theme:
    closed = theme(slug)
    closed.closes_on = date.today() - timedelta(days=1)
    return closed


# --- Themes -------------------------------------------------------------------------------------


def test_five_themes_seeded_with_sub_themes(session) -> None:
    themes = queries.themes(session)
    assert [t.title for t in themes] == [
        "Garantir un égal accès au numérique pour tous / fracture numérique",
        TEACHING_TITLE,
        "Travailler ensemble autrement / culture numérique professionnelle commune",
        "Favoriser le développement d'un numérique responsable et souverain",
        "Mettre en place de nouvelles formes de gouvernance et de nouveaux outils d'anticipation",
    ]
    assert all(3 <= len(t.subthemes) <= 6 for t in themes)
    assert all(t.is_open() for t in themes)


def test_index_and_closed_theme_pages(client, session) -> None:
    page = client.get("/forums/").get_data(as_text=True)
    assert TEACHING_TITLE in page and page.count("fr-card__title") == 5
    _close()
    session.flush()
    page = client.get("/forums/enseigner-apprendre/").get_data(as_text=True)
    assert "Ce forum est fermé" in page and "Proposer une contribution" not in page
    assert client.get("/forums/inexistant/").status_code == 404


# --- Contributions ------------------------------------------------------------------------------


def test_post_contribution_keeps_author_snapshot(session) -> None:
    author = UserFactory(audience="parent", academie_code="13")
    c = services.post_contribution(
        session, author, theme(), first_subtheme().id, "  Des   tablettes  ", "Corps *riche*"
    )
    assert c.title == "Des tablettes"
    assert (c.author_audience, c.author_academie_code) == ("parent", "13")
    author.audience, author.academie_code = "professeur", "01"
    session.flush()
    session.refresh(c)
    assert (c.author_audience, c.author_academie_code) == ("parent", "13")
    assert c.is_visible and c.excerpt == "Corps riche"


@pytest.mark.parametrize(
    ("audience", "text", "held"),
    [
        ("eleve", "Écrivez-moi à lea@exemple.test", True),
        ("eleve", "Appelez le 06 12 34 56 78", True),
        ("eleve", "Aucune coordonnée ici", False),
        # Adults are warned first (tests/test_account_trust.py); once they confirm, held too.
        ("parent", "Écrivez-moi à lea@exemple.test", True),
        ("parent", "Aucune coordonnée ici", False),
    ],
)
def test_minors_personal_data_is_held(session, audience, text, held) -> None:
    author = UserFactory(audience=audience, school_level="lycee" if audience == "eleve" else None)
    c = services.post_contribution(
        session,
        author,
        theme(),
        first_subtheme().id,
        "Titre",
        text,
        personal_data_confirmed=audience != "eleve",
    )
    assert c.held_for_review is held
    assert c.is_visible is not held


@pytest.mark.parametrize(
    ("title", "body", "status"),
    [
        ("", "corps", 422),
        ("x" * 151, "corps", 422),
        ("titre", "   ", 422),
        ("titre", "x" * 5001, 422),
    ],
)
def test_bad_contributions(session, title, body, status) -> None:
    with pytest.raises(ForumError) as info:
        services.post_contribution(
            session, UserFactory(), theme(), first_subtheme().id, title, body
        )
    assert info.value.status == status


def test_contribution_refusals(session) -> None:
    other_sub = first_subtheme("fracture-numerique")
    with pytest.raises(ForumError) as info:
        services.post_contribution(session, UserFactory(), theme(), other_sub.id, "t", "b")
    assert info.value.status == 422
    blocked = UserFactory(blocked_at=utcnow())
    with pytest.raises(ForumError) as info:
        services.post_contribution(session, blocked, theme(), first_subtheme().id, "t", "b")
    assert info.value.status == 403
    _close()
    with pytest.raises(ForumError) as info:
        services.post_contribution(session, UserFactory(), theme(), first_subtheme().id, "t", "b")
    assert info.value.status == 409


def test_edit_window_and_first_vote(session) -> None:
    c = ContributionFactory()
    author = c.author
    sub = theme().subthemes[1]
    services.edit_contribution(session, author, c, sub.id, "Nouveau titre", "Nouveau corps")
    assert (c.title, c.subtheme_id, c.updated_at is not None) == ("Nouveau titre", sub.id, True)
    with pytest.raises(ForumError) as info:
        services.edit_contribution(session, UserFactory(), c, sub.id, "x", "y")
    assert info.value.status == 403
    services.vote(session, UserFactory(), c, "adopt")
    with pytest.raises(ForumError) as info:
        services.edit_contribution(session, author, c, sub.id, "Encore", "Encore")
    assert info.value.status == 409
    assert not authorize(author, Permission.EDIT, c)
    late = ContributionFactory(created_at=utcnow() - timedelta(minutes=31))
    assert not authorize(late.author, Permission.EDIT, late)
    with pytest.raises(ForumError) as info:
        services.edit_contribution(session, late.author, late, sub.id, "x", "y")
    assert "30 minutes" in info.value.message


def test_withdraw_keeps_the_page_for_its_author_and_leaves_the_lists(client, session) -> None:
    c = ContributionFactory()
    services.withdraw(session, c.author, c)
    with pytest.raises(ForumError):
        services.withdraw(session, c.author, c)
    with pytest.raises(ForumError) as info:
        services.vote(session, UserFactory(), c, "adopt")
    assert info.value.status == 409
    session.flush()
    assert c not in queries.list_contributions(session, c.theme_id, queries.Filters()).items
    # Withdrawn is not public (Contribution.is_public): a shared link says so (410) and leads
    # back to the forum; its author still reads it.
    gone = client.get(f"/forums/contributions/{c.id}")
    assert gone.status_code == 410
    text = gone.get_data(as_text=True)
    assert "retirée par son auteur" in text and c.title not in text
    assert f'href="/forums/{c.theme.slug}/"' in text
    client.login(c.author.email)
    page = client.get(f"/forums/contributions/{c.id}").get_data(as_text=True)
    assert "retirée par son auteur" in page


# --- Votes --------------------------------------------------------------------------------------


def test_vote_change_and_retract_keep_counts_exact(session) -> None:
    c = ContributionFactory()
    voter = UserFactory(audience="agent", academie_code="01")
    assert services.vote(session, voter, c, "adopt").adopt_count == 1
    assert services.vote(session, voter, c, "adopt").adopt_count == 1  # idempotent
    result = services.vote(session, voter, c, "refuse")
    assert (result.adopt_count, result.refuse_count, result.mine) == (0, 1, "refuse")
    row = session.scalar(select(Vote))
    assert (row.author_audience, row.author_academie_code) == ("agent", "01")
    services.vote(session, UserFactory(), c, "adopt")
    assert c.wilson == pytest.approx(wilson_lower_bound(1, 1))
    result = services.vote(session, voter, c, "retract")
    assert (result.adopt_count, result.refuse_count, result.mine) == (1, 0, None)
    assert session.scalar(select(func.count()).select_from(Vote)) == 1
    session.expire(c)
    assert (c.adopt_count, c.refuse_count) == (1, 0)


def test_vote_refusals(session) -> None:
    c = ContributionFactory()
    cases = [
        (c.author, c, "adopt", 403),
        (UserFactory(), c, "neutre", 422),
        (UserFactory(blocked_at=utcnow()), c, "adopt", 403),
        (UserFactory(), ContributionFactory(hidden_at=utcnow(), hidden_reason="x"), "adopt", 404),
        (UserFactory(), ContributionFactory(held_for_review=True), "adopt", 404),
    ]
    for voter, target, value, status in cases:
        with pytest.raises(ForumError) as info:
            services.vote(session, voter, target, value)
        assert info.value.status == status, (value, status)
    _close()
    with pytest.raises(ForumError) as info:
        services.vote(session, UserFactory(), c, "adopt")
    assert info.value.status == 409
    assert session.scalar(select(func.count()).select_from(Vote)) == 0


def test_wilson_in_sql_is_the_python_bound(session) -> None:
    """A vote sets the ranking score in its counter UPDATE: the SQL form of the bound gives
    the Python one, on both databases."""
    from sqlalchemy import literal, select

    from forums.models import wilson_lower_bound_sql

    for adopt, refuse in ((0, 0), (1, 0), (0, 1), (1, 1), (3, 0), (300, 20), (7, 93), (5000, 1)):
        expression = wilson_lower_bound_sql(literal(adopt), literal(refuse))
        assert session.scalar(select(expression)) == pytest.approx(
            wilson_lower_bound(adopt, refuse), abs=1e-12
        ), (adopt, refuse)


@pytest.mark.postgres_only
@pytest.mark.parametrize(("allowed", "expected"), [(True, "off"), (False, "on")])
def test_a_vote_commits_without_waiting_for_the_disk(app, monkeypatch, allowed, expected) -> None:
    """VOTE_ASYNC_COMMIT: the vote's transaction alone skips the wait for the WAL flush."""
    from sqlalchemy import text

    from consult.db import db

    monkeypatch.setitem(app.config, "VOTE_ASYNC_COMMIT", allowed)
    with app.app_context():
        item, voter = ContributionFactory(), UserFactory()
        assert db.session.scalar(text("SHOW synchronous_commit")) == "on"
        services.vote(db.session, voter, item, "adopt")
        assert db.session.scalar(text("SHOW synchronous_commit")) == expected
        assert item.adopt_count == 1


def test_wilson_ranks_300_of_320_above_3_of_3() -> None:
    assert wilson_lower_bound(300, 20) > wilson_lower_bound(3, 0)
    assert wilson_lower_bound(0, 0) == 0.0
    assert 0 < wilson_lower_bound(1, 1) < 0.5


# --- Comments -----------------------------------------------------------------------------------


def test_comments_pour_contre_and_one_reply_level(session) -> None:
    c = ContributionFactory()
    pour = services.add_comment(session, UserFactory(), c, "pour", "Oui")
    services.add_comment(session, UserFactory(), c, "contre", "Non")
    reply = services.add_comment(session, UserFactory(), c, "contre", "Réponse", pour.id)
    assert reply.polarity == "pour"  # a reply sits in its parent's column
    session.refresh(c)
    assert (c.pour_count, c.contre_count, c.comment_count) == (1, 1, 3)
    with pytest.raises(ForumError) as info:
        services.add_comment(session, UserFactory(), c, "pour", "Trop profond", reply.id)
    assert info.value.status == 422
    other = CommentFactory()
    with pytest.raises(ForumError) as info:
        services.add_comment(session, UserFactory(), c, "pour", "Ailleurs", other.id)
    assert info.value.status == 404
    threads = queries.comment_threads(session, c)
    assert [t.comment.body for t in threads["pour"]] == ["Oui"]
    assert [r.body for r in threads["pour"][0].replies] == ["Réponse"]


@pytest.mark.parametrize(
    ("polarity", "body", "status"),
    [("neutre", "x", 422), (None, "x", 422), ("pour", "", 422), ("pour", "x" * 3001, 422)],
)
def test_bad_comments(session, polarity, body, status) -> None:
    c = ContributionFactory()
    with pytest.raises(ForumError) as info:
        services.add_comment(session, UserFactory(), c, polarity, body)
    assert info.value.status == status
    assert session.scalar(select(func.count()).select_from(Comment)) == 0


def test_held_comment_counts_once_approved(session) -> None:
    c = ContributionFactory()
    minor = UserFactory(audience="eleve", school_level="college")
    held = services.add_comment(session, minor, c, "pour", "Mon numéro : 06 12 34 56 78")
    session.refresh(c)
    assert held.held_for_review and c.pour_count == 0
    moderator = RoleGrantFactory(role="moderator").user
    moderation.approve(session, moderator, "comment", held.id)
    session.refresh(c)
    assert c.pour_count == 1 and c.comment_count == 1
    moderation.hide(session, moderator, "comment", held.id, "Coordonnées personnelles")
    session.refresh(c)
    assert c.pour_count == 0 and c.comment_count == 0


# --- Listing, pagination, search ----------------------------------------------------------------


def _walk(session, theme_id, sort, filters=None, seed=0, limit=7) -> list[int]:
    seen, cursor = [], None
    for _ in range(50):
        page = queries.list_contributions(
            session, theme_id, filters or queries.Filters(), sort, cursor, seed=seed, limit=limit
        )
        seen.extend(c.id for c in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen
    raise AssertionError("pagination does not end")


@pytest.mark.parametrize("sort", queries.SORTS)
def test_keyset_pagination_visits_every_contribution_once(session, sort) -> None:
    # Dates deliberately out of id order (as contributions collected at a meeting are).
    start = utcnow() - timedelta(days=30)
    items = [
        ContributionFactory(
            adopt_count=i % 4,
            comment_count=i % 3,
            wilson=(i % 4) / 10,
            created_at=start + timedelta(hours=(i * 7) % 23),
        )
        for i in range(23)
    ]
    ContributionFactory(hidden_at=utcnow(), hidden_reason="x")
    seen = _walk(session, items[0].theme_id, sort, seed=50_000)
    assert sorted(seen) == sorted(c.id for c in items)
    if sort == "adoption":
        scores = [session.get(Contribution, i).wilson for i in seen]
        assert scores == sorted(scores, reverse=True)
    if sort == "debat":
        counts = [session.get(Contribution, i).comment_count for i in seen]
        assert counts == sorted(counts, reverse=True)
    if sort == "recent":
        dates = [session.get(Contribution, i).created_at for i in seen]
        assert dates == sorted(dates, reverse=True)
    if sort == "hasard":
        assert seen == _walk(session, items[0].theme_id, sort, seed=50_000)
        others = [_walk(session, items[0].theme_id, sort, seed=seed) for seed in (0, 1, 2)]
        # Each visitor's own shuffle: not the same cycle entered at another place.
        for other in others:
            assert other != seen
            start_at = other.index(seen[0])
            assert other[start_at:] + other[:start_at] != seen


def test_most_adopted_uses_wilson_not_share(session) -> None:
    few = ContributionFactory()
    many = ContributionFactory()
    for _ in range(3):
        services.vote(session, UserFactory(), few, "adopt")
    voters = UserFactory.create_batch(12)
    for voter in voters[:11]:
        services.vote(session, voter, many, "adopt")
    services.vote(session, voters[11], many, "refuse")
    page = queries.list_contributions(session, few.theme_id, queries.Filters(), "adoption")
    ids = [c.id for c in page.items]
    assert ids.index(many.id) < ids.index(few.id)


def test_filters(session) -> None:
    sub = theme().subthemes[2]
    a = ContributionFactory(author=UserFactory(audience="parent", academie_code="01"))
    b = ContributionFactory(subtheme=sub, author=UserFactory(audience="eleve", academie_code="13"))
    session.flush()

    def ids(**kw):
        return {
            c.id
            for c in queries.list_contributions(session, a.theme_id, queries.Filters(**kw)).items
        }

    assert ids(subtheme_id=sub.id) == {b.id}
    assert queries.Filters.clean("abc") == queries.Filters()


def test_theme_list_cannot_be_filtered_by_the_authors_audience_or_academie(client, session) -> None:
    """The author's audience and académie are protected (synthesis/README.md): a list filtered
    by them would recount the cells the syntheses hide. Fails before this change (the theme
    page offered both filters)."""
    a = ContributionFactory(author=UserFactory(audience="parent", academie_code="01"))
    b = ContributionFactory(theme=a.theme, author=UserFactory(audience="eleve", academie_code="13"))
    session.flush()
    slug = a.theme.slug
    for query in ("public=eleve", "academie=13", "public=parent&academie=01"):
        html = client.get(f"/forums/{slug}/?{query}").get_data(as_text=True)
        assert f"/forums/contributions/{a.id}" in html and f"/forums/contributions/{b.id}" in html
    html = client.get(f"/forums/{slug}/").get_data(as_text=True)
    assert 'name="public"' not in html and 'name="academie"' not in html


def test_bad_cursor(session, client) -> None:
    with pytest.raises(queries.BadCursor):
        queries.list_contributions(session, 1, queries.Filters(), "adoption", "pas_un_nombre")
    with pytest.raises(queries.BadCursor):
        queries.list_contributions(session, 1, queries.Filters(), "hasard", "7_1")
    with pytest.raises(queries.BadCursor):
        queries.list_contributions(session, 1, queries.Filters(), "recent", "hier_1")
    assert client.get("/forums/enseigner-apprendre/?apres=%27%3B--").status_code == 400
    assert client.get("/api/v1/contributions?cursor=x_y").status_code == 400
    assert client.get("/api/v1/contributions?sort=pirate").status_code == 400


def test_search_and_similar(session, client) -> None:
    hit = ContributionFactory(
        title="Prêter des ordinateurs portables aux familles", body="Équipement"
    )
    ContributionFactory(title="Former les enseignants", body="Formation continue")
    ContributionFactory(
        title="Ordinateurs masqués", body="ordinateurs", hidden_at=utcnow(), hidden_reason="x"
    )
    found = search_engine.search(session, "ordinateurs familles", "contribution")
    assert [h.id for h in found.hits] == [hit.id] and found.total == 1
    assert search_engine.search(session, 'AND OR NEAR * " ^', "contribution").hits == []
    similar = queries.similar_contributions(session, hit.theme_id, "Des ordinateurs pour tous")
    assert [c.id for c in similar] == [hit.id]
    page = client.get("/forums/recherche?q=ordinateurs", follow_redirects=True).get_data(
        as_text=True
    )
    assert "Prêter des <mark>ordinateurs</mark> portables" in page
    response = client.get("/forums/enseigner-apprendre/similaires?titre=ordinateurs")
    assert response.json[0]["id"] == hit.id


# --- Views --------------------------------------------------------------------------------------


def test_pages_escape_user_text(client, session) -> None:
    c = ContributionFactory()
    CommentFactory(contribution=c, body="<script>alert('c')</script>")
    for url in ("/forums/enseigner-apprendre/", f"/forums/contributions/{c.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(" not in page and "<img" not in page
        assert 'href="javascript:' not in page
    assert client.get("/forums/contributions/999999").status_code == 404
    hidden = ContributionFactory(hidden_at=utcnow(), hidden_reason="Hors sujet")
    gone = client.get(f"/forums/contributions/{hidden.id}")
    assert gone.status_code == 410
    assert "masquée par la modération" in gone.get_data(as_text=True)
    assert hidden.title not in gone.get_data(as_text=True)
    held = ContributionFactory(held_for_review=True)
    assert client.get(f"/forums/contributions/{held.id}").status_code == 404


def test_vote_without_javascript_redirects_back(client, session) -> None:
    c = ContributionFactory()
    url = f"/forums/contributions/{c.id}/vote"
    response = client.post(url, data={"value": "adopt"})
    assert response.status_code in (302, 400)
    voter = UserFactory()
    client.login(voter.email)
    assert client.post(url, data={"value": "adopt"}).status_code == 400  # no CSRF token
    back = "/forums/enseigner-apprendre/?tri=recent"
    response = client.submit(
        url, {"value": "adopt", "next": back}, page="/forums/enseigner-apprendre/"
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"{back}#contribution-{c.id}"
    response = client.submit(
        url, {"value": "adopt", "next": "https://ailleurs.example/"}, page=back
    )
    assert response.headers["Location"].startswith(f"/forums/contributions/{c.id}")
    assert client.submit(url, {"value": "pirate"}, page=back).status_code == 422
    missing = client.submit("/forums/contributions/999999/vote", {"value": "adopt"}, page=back)
    assert missing.status_code == 404
    page = client.get(f"/forums/contributions/{c.id}").get_data(as_text=True)
    assert 'aria-pressed="true"' in page


def test_vote_with_javascript_gets_json(client, session) -> None:
    c = ContributionFactory()
    client.login(UserFactory().email)
    token = client.csrf_token(f"/forums/contributions/{c.id}")
    response = client.post(
        f"/forums/contributions/{c.id}/vote",
        data={"value": "refuse", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.json == {"adopt_count": 0, "refuse_count": 1, "mine": "refuse"}
    own = ContributionFactory()
    client.logout()
    client.login(own.author.email)
    token = client.csrf_token(f"/forums/contributions/{own.id}")
    response = client.post(
        f"/forums/contributions/{own.id}/vote",
        data={"value": "adopt", "csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 403 and "propre contribution" in response.json["error"]


def test_new_contribution_with_the_similar_check_step(client, session) -> None:
    existing = ContributionFactory(title="Former les enseignants au numérique")
    author = UserFactory()
    url = "/forums/enseigner-apprendre/contribuer"
    assert client.get(url).status_code == 302  # login first
    client.login(author.email)
    data = {
        "subtheme": str(first_subtheme().id),
        "title": "Former tous les enseignants",
        "body": "Une formation **pratique** <script>x</script>",
    }
    response = client.submit(url, data)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Des contributions proches existent déjà" in page and existing.title in page
    assert session.scalar(select(func.count()).select_from(Contribution)) == 1
    response = client.submit(url, data | {"checked": "1"})
    assert response.status_code == 302
    created = session.scalar(select(Contribution).where(Contribution.author_id == author.id))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<strong>pratique</strong>" in page and "<script>x" not in page
    assert created.title == "Former tous les enseignants"


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"title": ""}, 422),
        ({"title": "x" * 10_000}, 422),
        ({"body": "x" * 10_000}, 422),
        ({"subtheme": "999999"}, 422),
        ({"subtheme": "<script>"}, 422),
    ],
)
def test_new_contribution_hostile_input(client, session, changes, status) -> None:
    client.login(UserFactory().email)
    data = {"subtheme": str(first_subtheme().id), "title": "Titre", "body": "Corps"}
    response = client.submit("/forums/enseigner-apprendre/contribuer", data | changes)
    assert response.status_code == status
    assert session.scalar(select(func.count()).select_from(Contribution)) == 0


def test_closed_forum_refuses_posts(client, session) -> None:
    _close()
    session.flush()
    client.login(UserFactory().email)
    url = "/forums/enseigner-apprendre/contribuer"
    assert "fermé" in client.get(url).get_data(as_text=True)
    data = {
        "subtheme": str(first_subtheme().id),
        "title": "Titre",
        "body": "Corps",
        "csrf_token": client.csrf_token("/forums/"),
    }
    assert client.post(url, data=data).status_code == 409


def test_edit_and_withdraw_views(client, session) -> None:
    c = ContributionFactory()
    client.login(c.author.email)
    url = f"/forums/contributions/{c.id}/modifier"
    data = {"subtheme": str(c.subtheme_id), "title": "Titre revu", "body": "Corps revu"}
    assert client.submit(url, data).status_code == 302
    session.refresh(c)
    assert c.title == "Titre revu"
    assert client.submit(url, data | {"title": ""}).status_code == 422
    response = client.submit(
        f"/forums/contributions/{c.id}/retirer", {}, page=f"/forums/contributions/{c.id}"
    )
    assert response.status_code == 302
    session.refresh(c)
    assert c.is_withdrawn
    client.logout()
    other = ContributionFactory()
    client.login(UserFactory().email)
    assert client.get(f"/forums/contributions/{other.id}/modifier").status_code == 403


def test_comment_views(client, session) -> None:
    c = ContributionFactory()
    client.login(UserFactory().email)
    url = f"/forums/contributions/{c.id}/commentaires"
    page = f"/forums/contributions/{c.id}"
    response = client.submit(url, {"polarity": "contre", "body": "Je doute <b>fort</b>"}, page=page)
    assert response.status_code == 302 and "#commentaire-" in response.headers["Location"]
    parent = session.scalar(select(Comment))
    assert (
        client.submit(url, {"body": "Réponse", "parent": str(parent.id)}, page=page).status_code
        == 302
    )
    assert client.submit(url, {"polarity": "neutre", "body": "x"}, page=page).status_code == 422
    assert client.submit(url, {"polarity": "pour", "body": ""}, page=page).status_code == 422
    assert (
        client.submit(url, {"polarity": "pour", "body": "x" * 10_000}, page=page).status_code == 422
    )
    assert (
        client.submit(
            url, {"polarity": "pour", "body": "x", "parent": "abc"}, page=page
        ).status_code
        == 404
    )
    assert (
        client.submit(
            url, {"polarity": "pour", "body": "x", "parent": "999999"}, page=page
        ).status_code
        == 404
    )
    html = client.get(page).get_data(as_text=True)
    assert "<p>Je doute &lt;b&gt;fort&lt;/b&gt;</p>" in html
    reply_page = client.get(f"{page}?repondre={parent.id}").get_data(as_text=True)
    assert f'name="parent" value="{parent.id}"' in reply_page
    for tampered in (
        "abc",
        "999999",
        str(session.scalar(select(Comment.id).where(Comment.parent_id.is_not(None)))),
    ):
        assert 'name="parent"' not in client.get(f"{page}?repondre={tampered}").get_data(
            as_text=True
        )
    session.refresh(c)
    assert (c.pour_count, c.contre_count, c.comment_count) == (0, 1, 2)


def test_account_panel_personal_data_and_deletion(app, client, session) -> None:
    c = ContributionFactory()
    held = ContributionFactory(author=c.author, held_for_review=True)
    services.vote(session, UserFactory(), c, "adopt")
    services.add_comment(session, UserFactory(), c, "contre", "Pas d'accord")
    client.login(c.author.email)
    page = client.get("/compte/").get_data(as_text=True)
    assert "Mes contributions aux forums" in page and "une personne a adopté" in page
    assert "En attente de relecture" in page and "a commenté (Contre)" in page
    from consult.accounts.services import delete_account, personal_data

    outer = session()
    with app.test_request_context():
        data = personal_data(outer, c.author)
        assert len(data["forum_contributions"]) == 2
        assert {"forum_votes", "forum_comments", "reports"} <= set(data)
        delete_account(outer, c.author)
    outer.flush()
    assert outer.get(Contribution, held.id) is None
    outer.refresh(c)
    assert c.author.public_name == "Compte supprimé"
    assert c.adopt_count == 1


def test_counters_on_home_page(client, session) -> None:
    c = ContributionFactory()
    services.vote(session, UserFactory(), c, "adopt")
    page = client.get("/").get_data(as_text=True)
    assert "contributions aux forums" in page


def test_vote_rate_limit(app, session) -> None:
    from tests.conftest import Client, make_test_app

    limited = make_test_app(app.config["SQLALCHEMY_DATABASE_URL"], RATELIMIT_VOTE="2 per minute")
    limited.test_client_class = Client
    client = limited.test_client()
    c = ContributionFactory()
    client.login(UserFactory().email)
    page = f"/forums/contributions/{c.id}"
    statuses = [
        client.submit(f"{page}/vote", {"value": v}, page=page).status_code
        for v in ("adopt", "refuse", "adopt")
    ]
    assert statuses == [302, 302, 429]


# --- Permissions --------------------------------------------------------------------------------


def test_policy_matrix(session) -> None:
    c = ContributionFactory()
    other, moderator = UserFactory(), RoleGrantFactory(role="moderator").user
    hidden = ContributionFactory(hidden_at=utcnow(), hidden_reason="x")
    matrix = [
        (None, Permission.VIEW, c, True),
        (None, Permission.VOTE, c, False),
        (None, Permission.CONTRIBUTE, theme(), False),
        (other, Permission.CONTRIBUTE, theme(), True),
        (other, Permission.VOTE, c, True),
        (c.author, Permission.VOTE, c, False),
        (other, Permission.COMMENT, c, True),
        (c.author, Permission.COMMENT, c, True),
        (other, Permission.EDIT, c, False),
        (c.author, Permission.EDIT, c, True),
        (other, Permission.WITHDRAW, c, False),
        (c.author, Permission.WITHDRAW, c, True),
        (None, Permission.VIEW, hidden, False),
        (other, Permission.VIEW, hidden, False),
        (hidden.author, Permission.VIEW, hidden, True),
        (moderator, Permission.VIEW, hidden, True),
        (other, Permission.VOTE, hidden, False),
    ]
    for user, permission, obj, expected in matrix:
        assert authorize(user, permission, obj) is expected, (user, permission, expected)


# --- API ----------------------------------------------------------------------------------------


def test_api(client, session) -> None:
    c = ContributionFactory()
    CommentFactory(contribution=c, polarity="contre")
    ContributionFactory(hidden_at=utcnow(), hidden_reason="x")
    themes = client.get("/api/v1/themes").json["data"]
    assert len(themes) == 5 and themes[1]["title"] == TEACHING_TITLE
    data = client.get("/api/v1/contributions?theme=enseigner-apprendre").json
    assert [d["id"] for d in data["data"]] == [c.id] and data["next_cursor"] is None
    assert data["data"][0]["author"] == c.author.pseudonym
    detail = client.get(f"/api/v1/contributions/{c.id}")
    assert detail.json["comments"][0]["polarity"] == "contre"
    text = detail.get_data(as_text=True) + json.dumps(data)
    assert "@" not in text  # pseudonyms only, never an email
    assert client.get("/api/v1/contributions/999999").status_code == 404
    assert client.get("/api/v1/contributions?theme=inconnu").status_code == 404
    for _ in range(3):
        ContributionFactory()
    page1 = client.get("/api/v1/contributions?sort=recent&limit=2").json
    page2 = client.get(
        f"/api/v1/contributions?sort=recent&limit=2&cursor={page1['next_cursor']}"
    ).json
    assert len({d["id"] for d in page1["data"] + page2["data"]}) == 4
    paths = client.get("/api/v1/openapi.json").json["paths"]
    assert {"/themes", "/contributions", "/contributions/{contribution_id}"} <= set(paths)


# --- The "done when" scenario ----------------------------------------------------------


def test_done_when_scenario(client, session) -> None:
    register = {
        "pseudonym": "Prof_Numerique",
        "email": "prof.numerique@exemple.test",
        "password": "des craies et des tablettes",
        "password_confirm": "des craies et des tablettes",
        "audience": "professeur",
        "academie": "13",
        "accept_terms": "y",
    }
    assert client.submit("/compte/inscription", register).status_code == 302
    new = "/forums/enseigner-apprendre/contribuer"
    response = client.submit(
        new,
        {
            "subtheme": str(first_subtheme().id),
            "title": "Des tiers-lieux numériques dans chaque collège",
            "body": "Ouvrir les salles informatiques aux familles le soir.",
            "checked": "1",
        },
    )
    assert response.status_code == 302
    contribution_url = response.headers["Location"]
    cid = int(re.search(r"/contributions/(\d+)", contribution_url).group(1))
    client.logout()

    second, third = UserFactory(), UserFactory()
    client.login(second.email)
    client.submit(f"/forums/contributions/{cid}/vote", {"value": "adopt"}, page=contribution_url)
    client.submit(
        f"/forums/contributions/{cid}/commentaires",
        {"polarity": "contre", "body": "Il faudra des surveillants le soir."},
        page=contribution_url,
    )
    client.logout()
    client.login(third.email)
    client.submit(f"/forums/contributions/{cid}/vote", {"value": "refuse"}, page=contribution_url)
    client.logout()

    listing = client.get("/forums/enseigner-apprendre/").get_data(as_text=True)
    card = listing[listing.index(f'id="contribution-{cid}"') :]
    assert '<span data-count="adopt">1</span>' in card
    assert '<span data-count="refuse">1</span>' in card
    # The number « Les plus débattues » sorts by, in words.
    assert "1 commentaire (0 pour, 1 contre)" in card
    # Anonymous visitors read the tallies in words, in the right number.
    assert '<span data-count="adopt">1</span> adoption\n' in card
    assert "(s)" not in card
    api = client.get(f"/api/v1/contributions/{cid}").json
    assert (api["adopt_count"], api["refuse_count"], api["pour_count"], api["contre_count"]) == (
        1,
        1,
        0,
        1,
    )

    for _ in range(3):
        client.login(UserFactory().email)
        report = client.submit(
            f"/moderation/signaler/contribution/{cid}",
            {"reason": "hors_sujet", "next": contribution_url},
        )
        assert report.status_code == 302
        client.logout()
    assert client.get(contribution_url).status_code == 410  # hidden pending review
    moderator = RoleGrantFactory(role="moderator").user
    client.login(moderator.email)
    queue = client.get("/moderation/").get_data(as_text=True)
    assert "Des tiers-lieux numériques" in queue
    hide = client.submit(
        f"/moderation/contribution/{cid}/masquer",
        {"reason": "Proposition hors du thème de ce forum"},
        page="/moderation/",
    )
    assert hide.status_code == 302
    client.logout()
    client.login("prof.numerique@exemple.test", "des craies et des tablettes")
    page = client.get(contribution_url).get_data(as_text=True)
    assert "Proposition hors du thème de ce forum" in page
    assert "Proposition hors du thème de ce forum" in client.get("/compte/").get_data(as_text=True)
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.target_id == str(cid))
        )
        >= 5
    )


def test_times_are_shown_in_paris_time(client, session) -> None:
    from datetime import datetime

    # Stored in UTC: 15:02 UTC on a winter day is 16:02 in Paris, 14:02 UTC in June 16:02 too.
    winter = ContributionFactory(created_at=datetime(2030, 1, 15, 15, 2))
    summer = ContributionFactory(created_at=datetime(2030, 6, 15, 14, 2))
    parent = CommentFactory(contribution=winter, created_at=datetime(2030, 1, 15, 23, 30))
    for item in (winter, summer):
        page = client.get(f"/forums/contributions/{item.id}").get_data(as_text=True)
        assert "à 16h02" in page, item.created_at
    page = client.get(f"/forums/contributions/{winter.id}").get_data(as_text=True)
    # 23:30 UTC is already the next day in Paris.
    assert "16/01/2030 00h30" in page
    assert parent.id


def test_the_unread_shuffle_key_column_is_gone(session) -> None:
    """The random order permutes ids per visitor; the old per-row key was written by every
    fill and read by nothing (migration 0103_forums_drop_shuffle_key)."""
    from sqlalchemy import inspect

    columns = {c["name"] for c in inspect(session.connection()).get_columns("forum_contribution")}
    assert "wilson" in columns
    assert "shuffle_key" not in columns
    assert "shuffle_key" not in Contribution.__table__.c
    if session.get_bind().dialect.name == "sqlite":
        # Dropping it must not rebuild the table: that would lose the FTS5 sync triggers.
        from sqlalchemy import text

        triggers = set(
            session.scalars(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
                {"t": "forum_contribution"},
            )
        )
        assert {f"forum_contribution_search_{n}" for n in ("ai", "ad", "au")} <= triggers
