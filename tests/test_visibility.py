"""One visibility rule per kind of content: ``is_public`` answers the same in Python and SQL, and
the readers that used to keep their own copy (report form, Retex review, syntheses) obey it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from consult.db import utcnow
from consult.moderation import visible_to
from consult.territorial.models import Event, Idea, NewsItem
from forums.models import Comment, Contribution
from retex.models import RetexSheet
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import CommentFactory, ContributionFactory
from tests.retex_factories import PDF, make_sheet
from tests.territorial_factories import EventFactory, IdeaFactory, NewsFactory

# --- The rule, Python and SQL agree --------------------------------------------------------------


def _states(session):
    """One item per state, with whether it is public."""
    base = ContributionFactory()
    withdrawn = ContributionFactory(withdrawn_at=utcnow())
    contributions = {
        "public": (base, True),
        "withdrawn": (withdrawn, False),
        "hidden": (ContributionFactory(hidden_at=utcnow(), hidden_reason="x"), False),
        "held": (ContributionFactory(held_for_review=True), False),
    }
    comments = {
        "public": (CommentFactory(contribution=base), True),
        "hidden": (CommentFactory(contribution=base, hidden_at=utcnow()), False),
        "held": (CommentFactory(contribution=base, held_for_review=True), False),
        "on withdrawn": (CommentFactory(contribution=withdrawn), False),
    }
    ideas = {
        "public": (IdeaFactory(), True),
        "hidden": (IdeaFactory(hidden_at=utcnow()), False),
        "held": (IdeaFactory(held_for_review=True), False),
    }
    return {Contribution: contributions, Comment: comments, Idea: ideas}


def test_python_and_sql_agree_on_every_state(session) -> None:
    for model, items in _states(session).items():
        session.flush()
        ids = {obj.id for obj, _ in items.values()}
        in_sql = set(session.scalars(select(model.id).where(model.id.in_(ids), model.is_public)))
        for state, (obj, expected) in items.items():
            assert obj.is_public is expected, (model.__name__, state)
            assert (obj.id in in_sql) is expected, (model.__name__, state)


def test_retex_events_and_news_rules(session) -> None:
    author, reviewer = UserFactory(), RoleGrantFactory(role="coordinator").user
    draft = make_sheet(author)
    published = make_sheet(author, "published", reviewer=reviewer)
    assert not draft.is_public and published.is_public
    assert set(
        session.scalars(
            select(RetexSheet.id).where(
                RetexSheet.id.in_([draft.id, published.id]), RetexSheet.is_public
            )
        )
    ) == {published.id}
    event, news = EventFactory(), NewsFactory()
    assert event.is_public and news.is_public
    assert session.scalar(select(Event.id).where(Event.id == event.id, Event.is_public))
    assert session.scalar(select(NewsItem.id).where(NewsItem.id == news.id, NewsItem.is_public))


def test_visible_to_author_moderator_not_others(session) -> None:
    author = UserFactory()
    held = ContributionFactory(author=author, held_for_review=True)
    moderator = RoleGrantFactory(role="moderator").user
    assert visible_to(author, held)
    assert visible_to(moderator, held)
    assert not visible_to(UserFactory(), held)
    assert not visible_to(None, held)


def test_withdrawn_contribution_leaves_the_public_api_and_page(client, session) -> None:
    author = UserFactory()
    item = ContributionFactory(author=author, withdrawn_at=utcnow(), title="Retirée ZQXW")
    assert client.get(f"/api/v1/contributions/{item.id}").status_code == 404
    # A shared link says the contribution was taken down (410), never what it said.
    gone = client.get(f"/forums/contributions/{item.id}")
    assert gone.status_code == 410
    assert "ZQXW" not in gone.get_data(as_text=True)
    client.login(author.email)
    page = client.get(f"/forums/contributions/{item.id}").get_data(as_text=True)
    assert "Retirée ZQXW" in page and "retirée par son auteur" in page


def test_comment_counter_counts_public_comments_only(app, session) -> None:
    from consult.hooks import hooks

    base = ContributionFactory()
    CommentFactory(contribution=base)
    before = _forum_counters(app)["forum_comments"]
    CommentFactory(contribution=base, held_for_review=True)
    CommentFactory(contribution=base, hidden_at=utcnow())
    CommentFactory(contribution=ContributionFactory(withdrawn_at=utcnow()))
    assert _forum_counters(app)["forum_comments"] == before
    assert hooks(app).counters


def _forum_counters(app) -> dict:
    from forums import _counters

    return _counters()


# --- The report form ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: ("contribution", ContributionFactory(held_for_review=True, title="Tenu SECRET1")),
        lambda: ("contribution", ContributionFactory(hidden_at=utcnow(), title="Masqué SECRET1")),
        lambda: ("contribution", ContributionFactory(withdrawn_at=utcnow(), title="SECRET1")),
        lambda: ("comment", CommentFactory(held_for_review=True, body="Tenu SECRET1")),
        lambda: ("idea", IdeaFactory(held_for_review=True, title="Tenue SECRET1")),
        lambda: ("idea", IdeaFactory(hidden_at=utcnow(), title="Masquée SECRET1")),
    ],
)
def test_report_form_answers_404_on_what_the_reporter_may_not_read(client, session, make) -> None:
    kind, target = make()
    client.login(UserFactory().email)
    url = f"/moderation/signaler/{kind}/{target.id}"
    response = client.get(url)
    assert response.status_code == 404
    assert "SECRET1" not in response.get_data(as_text=True)
    token = client.csrf_token("/forums/")
    posted = client.post(url, data={"csrf_token": token, "reason": "spam"})
    assert posted.status_code == 404
    assert "SECRET1" not in posted.get_data(as_text=True)


def test_report_form_still_shows_public_items_and_moderators_see_held(client, session) -> None:
    held = ContributionFactory(held_for_review=True, title="Tenu VISIBLE2")
    public = ContributionFactory(title="Publique VISIBLE3")
    client.login(UserFactory().email)
    assert "VISIBLE3" in client.get(f"/moderation/signaler/contribution/{public.id}").get_data(
        as_text=True
    )
    client.logout()
    client.login(RoleGrantFactory(role="moderator").user.email)
    page = client.get(f"/moderation/signaler/contribution/{held.id}")
    assert page.status_code == 200 and "VISIBLE2" in page.get_data(as_text=True)


# --- Retex: coordinators see sheets once submitted ----------------------------------------


def _coordinator_of_sheet():
    # make_sheet's territory is académie 16.
    return RoleGrantFactory(role="coordinator", scope_kind="academie", scope_code="16").user


def test_coordinator_does_not_see_a_never_submitted_draft(client, session) -> None:
    from consult.permissions import authorize
    from retex.models import RetexAttachment
    from retex.permissions import Permission

    author = UserFactory()
    draft = make_sheet(author, title="Brouillon DRAFT9")
    attachment = RetexAttachment(
        sheet=draft,
        stored_name="a" * 32,
        filename="DRAFT9.pdf",
        content_type="application/pdf",
        size=len(PDF),
        sha256="0" * 64,
    )
    session.add(attachment)
    session.flush()
    coordinator = _coordinator_of_sheet()
    assert not authorize(coordinator, Permission.ATTACHMENT_VIEW, attachment)
    assert authorize(author, Permission.ATTACHMENT_VIEW, attachment)
    client.login(coordinator.email)
    for url in (f"/retex/{draft.id}/suivi", f"/retex/pieces-jointes/{attachment.id}"):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert "DRAFT9" not in response.get_data(as_text=True)
    client.logout()
    client.login(author.email)
    assert client.get(f"/retex/{draft.id}/suivi").status_code == 200


def test_coordinator_sees_a_submitted_sheet(client, session) -> None:
    sheet = make_sheet(UserFactory(), "submitted", title="Soumise SUBM7")
    client.login(_coordinator_of_sheet().email)
    page = client.get(f"/retex/{sheet.id}/suivi")
    assert page.status_code == 200 and "SUBM7" in page.get_data(as_text=True)


# --- Moderation reaches what was already compiled ---------------------------------------------


def _compile_by_hand(session, contributions, comment):
    """A compilation whose top list and topic quotes name the given items."""
    import pandas as pd

    from synthesis import catalog, store

    compilation = store.start(session)
    top_columns = catalog.spec("forum_top").column_names
    top = pd.DataFrame(
        [
            dict.fromkeys(top_columns)
            | {
                "ranking": "adoption",
                "rank": i + 1,
                "contribution_id": item.id,
                "title": item.title,
            }
            | {"adopt": 50, "refuse": 1, "people": 60}
            for i, item in enumerate(contributions)
        ],
        columns=top_columns,
    )
    topic_columns = catalog.spec("topics").column_names
    topics = pd.DataFrame(
        [
            dict.fromkeys(topic_columns)
            | {"corpus": "contributions", "topic": 1, "size": 40, "people": 40}
            | {
                "quote_1": contributions[0].title,
                "quote_1_ref": f"contribution:{contributions[0].id}",
            }
            | {
                "quote_2": contributions[1].title,
                "quote_2_ref": f"contribution:{contributions[1].id}",
            }
            | {"quote_3": comment.body, "quote_3_ref": f"comment:{comment.id}"}
        ],
        columns=topic_columns,
    )
    store.save(
        session,
        compilation,
        catalog.resolve_scope("national", ""),
        {"forum_top": top, "topics": topics},
    )
    compilation.status = "done"
    compilation.finished_at = utcnow()
    session.flush()
    return compilation


def test_hidden_or_withdrawn_after_compilation_leaves_top_lists_and_quotes(session) -> None:
    from synthesis import store

    kept, hidden_later = ContributionFactory(title="Gardée"), ContributionFactory(title="CACHEE5")
    comment = CommentFactory(contribution=kept, body="Commentaire RETIRE6")
    _compile_by_hand(session, [kept, hidden_later], comment)
    tables = store.load(session, "national", public=True, tables=["forum_top", "topics"])
    assert set(tables["forum_top"]["contribution_id"]) == {kept.id, hidden_later.id}
    hidden_later.hidden_at = utcnow()
    comment.held_for_review = True
    session.flush()
    tables = store.load(session, "national", public=True, tables=["forum_top", "topics"])
    assert list(tables["forum_top"]["contribution_id"]) == [kept.id]
    quotes = tables["topics"].iloc[0]
    assert quotes["quote_1"] == "Gardée"
    assert quotes["quote_2"] is None and quotes["quote_2_ref"] is None
    assert quotes["quote_3"] is None and quotes["quote_3_ref"] is None
    # Analysts' raw tables are the compilation as it was.
    raw = store.load(session, "national", public=False, tables=["forum_top"])
    assert len(raw["forum_top"]) == 2


def test_syntheses_api_and_page_stop_showing_a_hidden_item_at_once(app, client, session) -> None:
    kept, hidden_later = ContributionFactory(title="Gardée"), ContributionFactory(title="CACHEE8")
    comment = CommentFactory(contribution=kept, body="Commentaire")
    _compile_by_hand(session, [kept, hidden_later], comment)
    assert "CACHEE8" in client.get("/api/v1/syntheses/national/forum_top").get_data(as_text=True)
    from forums import services

    with app.test_request_context():  # as in the withdraw view
        services.withdraw(session, hidden_later.author, hidden_later)
    session.flush()
    for url in (
        "/api/v1/syntheses/national/forum_top",
        "/api/v1/syntheses/national",
        "/syntheses/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "CACHEE8" not in response.get_data(as_text=True), url


def test_the_rule_is_written_once() -> None:
    """Grep finds no second definition: readers call ``is_public`` / ``visible_to``."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    copies = re.compile(
        r"hidden_at\.is_\(None\)|hidden_at IS NULL|held_for_review\.is_\(False\)"
        r"|NOT \w+\.held_for_review|withdrawn_at\.is_\(None\)|withdrawn_at IS NULL"
        r"|published_version > 0|version > DRAFT"
    )
    homes = {
        "consult/moderation/models.py",
        "forums/models.py",
        "retex/models.py",
        "synthesis/results_models.py",
    }
    found = []
    for package in ("consult", "forums", "retex", "surveys", "synthesis"):
        for path in (root / package).rglob("*.py"):
            relative = path.relative_to(root).as_posix()
            if relative in homes:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if copies.search(line):
                    found.append(f"{relative}:{number}: {line.strip()}")
    assert not found, "visibility rule copied:\n" + "\n".join(found)


# --- Home counters count public facts only -------------------------------------------------------


def test_home_vote_counter_counts_votes_on_public_contributions_only(app, session) -> None:
    from consult import counters
    from forums import services as forums

    with app.test_request_context():
        before = counters.compute()["totals"]["forum_votes"]
    public = ContributionFactory()
    hidden = ContributionFactory()
    held = ContributionFactory()
    withdrawn = ContributionFactory()
    for target in (public, hidden, held, withdrawn):
        for _ in range(2):
            forums.vote(session, UserFactory(), target, "adopt")
    hidden.hidden_at = utcnow()
    held.held_for_review = True
    withdrawn.withdrawn_at = utcnow()
    session.flush()
    with app.test_request_context():
        totals = counters.compute()["totals"]
    assert totals["forum_votes"] - before == 2
