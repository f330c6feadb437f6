"""The public counters kept at write time (consult/tallies.py) equal live counts of the rows
after every kind of write: posting, voting, changing and retracting, commenting and replying,
moderation (hide, restore, approve held content), withdrawal, account deletion, ideas and their
supports, a row deleted outright, a contribution moved to another theme, Retex publication.
Each figure is compared with a COUNT(*) over the rows under the models' one visibility rule,
on every page that prints it: home, /forums/, /territoires/ and a territory page."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select, text

from consult import counters, tallies
from consult.accounts import services as accounts
from consult.moderation import services as moderation
from consult.territorial import queries as territorial_queries
from consult.territorial import services as ideas
from consult.territorial import territory
from consult.territorial.models import IDEA_TALLY, Idea, IdeaSupport
from consult.territories import catalog
from forums import queries as forum_queries
from forums import services as forums
from forums.models import THEME_TALLY, Comment, Contribution, Vote
from retex import queries as retex_queries
from retex.models import RetexSheet
from tests.factories import RoleGrantFactory, UserFactory
from tests.forums_factories import theme
from tests.retex_factories import make_sheet

CONTACT = "Écrivez-moi : jean.dupont@example.org"


def _live_forums(session) -> dict[int, dict[str, int]]:
    per_theme: dict[int, Counter] = {}
    for theme_id, n in session.execute(
        select(Contribution.theme_id, func.count())
        .where(Contribution.is_public)
        .group_by(Contribution.theme_id)
    ):
        per_theme.setdefault(theme_id, Counter())["contributions"] = n
    for theme_id, n in session.execute(
        select(Contribution.theme_id, func.count())
        .join(Vote, Vote.contribution_id == Contribution.id)
        .where(Contribution.is_public)
        .group_by(Contribution.theme_id)
    ):
        per_theme.setdefault(theme_id, Counter())["votes"] = n
    for theme_id, n in session.execute(
        select(Contribution.theme_id, func.count())
        .join(Comment, Comment.contribution_id == Contribution.id)
        .where(Comment.is_public)
        .group_by(Contribution.theme_id)
    ):
        per_theme.setdefault(theme_id, Counter())["comments"] = n
    return {
        theme_id: {k: figures[k] for k in ("contributions", "votes", "comments")}
        for theme_id, figures in per_theme.items()
        if any(figures.values())
    }


def _live_ideas(session) -> dict[str, tuple[int, int]]:
    ideas_by = dict(
        session.execute(
            select(Idea.academie_code, func.count())
            .where(Idea.is_public)
            .group_by(Idea.academie_code)
        ).all()
    )
    supports_by = dict(
        session.execute(
            select(Idea.academie_code, func.count())
            .join(IdeaSupport, IdeaSupport.idea_id == Idea.id)
            .where(Idea.is_public)
            .group_by(Idea.academie_code)
        ).all()
    )
    return {
        code: (ideas_by.get(code, 0), supports_by.get(code, 0))
        for code in set(ideas_by) | set(supports_by)
    }


def assert_exact(session) -> None:
    session.flush()
    forums_live = _live_forums(session)
    ideas_live = _live_ideas(session)
    totals = counters.compute()["totals"]
    by_theme = forum_queries.theme_counts(session)
    cat = catalog()
    by_academie = territorial_queries.idea_counts_by_academie(session, tuple(cat.academies))
    # A région's page sums its académies (Toulouse, 16, is one of Occitanie's two).
    region = next(r for r in cat.regions.values() if "16" in r.academie_codes)
    in_region = territorial_queries.participation(session, territory.region(region.code))
    assert {k: v for k, v in by_theme.items() if any(v.values())} == forums_live
    assert totals["forum_contributions"] == sum(f["contributions"] for f in forums_live.values())
    assert totals["forum_votes"] == sum(f["votes"] for f in forums_live.values())
    assert totals["forum_comments"] == sum(f["comments"] for f in forums_live.values())
    assert by_academie == {code: n for code, (n, _s) in ideas_live.items() if n}
    assert totals["territorial_ideas"] == sum(n for n, _s in ideas_live.values())
    wanted = [ideas_live.get(code, (0, 0)) for code in region.academie_codes]
    assert in_region["ideas"] == sum(n for n, _s in wanted)
    assert in_region["idea_supports"] == sum(s for _n, s in wanted)
    assert totals["retex_sheets"] == session.scalar(
        select(func.count()).select_from(RetexSheet).where(RetexSheet.is_public)
    )
    assert totals["retex_sheets"] == retex_queries.count_published(session)


@pytest.fixture(autouse=True)
def _one_request(app):
    """The whole test in one request context: one session, as in a view (a context of its own
    per write would roll each one back with its session)."""
    with app.test_request_context():
        yield


@pytest.fixture
def moderator(_one_request):
    return RoleGrantFactory(role="moderator").user


def _post(session, author, title="Des tablettes pour tous", body="Un texte public.", slug=None):
    item_theme = theme(slug) if slug else theme()
    return forums.post_contribution(
        session,
        author,
        item_theme,
        item_theme.subthemes[0].id,
        title,
        body,
        personal_data_confirmed=True,
    )


def test_forum_counters_follow_every_write(session, moderator) -> None:
    assert_exact(session)
    author, other = UserFactory(), UserFactory()
    voters = UserFactory.create_batch(4)
    public = _post(session, author)
    second = _post(session, other, slug="gouvernance-anticipation")
    held = _post(session, author, body=CONTACT)
    assert held.held_for_review
    assert_exact(session)

    # Votes: adopt, refuse, change one's mind, retract, retract again (nothing to retract).
    forums.vote(session, voters[0], public, "adopt")
    forums.vote(session, voters[1], public, "refuse")
    forums.vote(session, voters[2], second, "adopt")
    assert_exact(session)
    forums.vote(session, voters[1], public, "adopt")
    forums.vote(session, voters[0], public, "retract")
    forums.vote(session, voters[0], public, "retract")
    forums.vote(session, voters[3], public, "refuse")
    assert_exact(session)

    # Comments, a reply, a held comment.
    first = forums.add_comment(session, voters[0], public, "pour", "Oui, bien sûr.")
    forums.add_comment(session, voters[1], public, None, "D'accord.", parent_id=first.id)
    forums.add_comment(session, voters[2], public, "contre", "Non.")
    held_comment = forums.add_comment(
        session, voters[3], public, "pour", CONTACT, personal_data_confirmed=True
    )
    assert held_comment.held_for_review
    assert_exact(session)

    # Moderation of comments: hide, restore, approve the held one.
    moderation.hide(session, moderator, "comment", first.id, "Hors sujet")
    assert_exact(session)
    moderation.restore(session, moderator, "comment", first.id)
    moderation.approve(session, moderator, "comment", held_comment.id)
    assert_exact(session)

    # Moderation of contributions: the votes and comments they show go and come back.
    moderation.hide(session, moderator, "contribution", public.id, "Injurieux")
    assert_exact(session)
    moderation.restore(session, moderator, "contribution", public.id)
    assert_exact(session)
    moderation.approve(session, moderator, "contribution", held.id)
    forums.vote(session, voters[0], held, "refuse")
    assert_exact(session)

    # Withdrawal by the author.
    forums.withdraw(session, other, second)
    assert_exact(session)

    # A contribution moved to another theme takes its figures along.
    public.theme_id = theme("gouvernance-anticipation").id
    assert_exact(session)
    # A row deleted outright (its votes and comments go with it, by cascade).
    session.delete(held)
    assert_exact(session)


def test_account_deletion_keeps_the_counters_exact(session) -> None:
    author, voter = UserFactory(academie_code="16"), UserFactory()
    kept = _post(session, author)
    held = _post(session, author, body=CONTACT)
    forums.vote(session, voter, kept, "adopt")
    forums.add_comment(session, voter, kept, "contre", "Je ne crois pas.")
    forums.add_comment(session, voter, kept, "pour", CONTACT, personal_data_confirmed=True)
    idea = ideas.post_idea(session, author, "Une idée", "Un texte.")
    ideas.post_idea(session, author, "Une autre", CONTACT, personal_data_confirmed=True)
    ideas.support_idea(session, voter, idea)
    assert_exact(session)
    held_id = held.id
    accounts.delete_account(session, author)
    accounts.delete_account(session, voter)
    session.expire_all()
    assert session.get(Contribution, held_id) is None
    assert_exact(session)


def test_idea_counters_follow_every_write(session, moderator) -> None:
    author = UserFactory(academie_code="16")
    supporters = UserFactory.create_batch(3)
    first = ideas.post_idea(session, author, "Des ordinateurs prêtés", "Un texte.")
    second = ideas.post_idea(session, UserFactory(academie_code="22"), "Autre", "Un texte.")
    held = ideas.post_idea(session, author, "Retenue", CONTACT, personal_data_confirmed=True)
    assert held.held_for_review
    assert_exact(session)
    for supporter in supporters:
        ideas.support_idea(session, supporter, first)
    ideas.support_idea(session, supporters[0], second)
    assert_exact(session)
    moderation.hide(session, moderator, "idea", first.id, "Hors sujet")
    assert_exact(session)
    moderation.restore(session, moderator, "idea", first.id)
    moderation.approve(session, moderator, "idea", held.id)
    ideas.support_idea(session, supporters[1], held)
    assert_exact(session)
    session.delete(second)
    assert_exact(session)


def test_retex_publication_counts_on_the_home_page(session) -> None:
    reviewer = RoleGrantFactory(role="coordinator").user
    make_sheet(UserFactory())
    assert_exact(session)
    make_sheet(UserFactory(), "published", reviewer=reviewer)
    assert_exact(session)


def test_recount_rebuilds_the_tallies_from_the_rows(session) -> None:
    """``flask db recount`` (after a change of a visibility rule, or a bulk load) gives the
    figures the triggers keep."""
    item = _post(session, UserFactory())
    forums.vote(session, UserFactory(), item, "adopt")
    ideas.post_idea(session, UserFactory(academie_code="16"), "Une idée", "Un texte.")
    session.flush()
    before = tallies.by_group(session, THEME_TALLY), tallies.by_group(session, IDEA_TALLY)
    connection = session.connection()
    connection.exec_driver_sql(f"DELETE FROM {THEME_TALLY.table}")  # noqa: S608 - fixed name
    assert tallies.totals(session, THEME_TALLY)["items"] == 0
    tallies.rebuild(connection)
    after = tallies.by_group(session, THEME_TALLY), tallies.by_group(session, IDEA_TALLY)
    assert after == before
    # The triggers are back: the next vote still counts.
    forums.vote(session, UserFactory(), item, "refuse")
    assert_exact(session)


def test_recount_command(app, session) -> None:
    item = _post(session, UserFactory())
    forums.vote(session, UserFactory(), item, "adopt")
    session.flush()
    before = tallies.by_group(session, THEME_TALLY)
    session.connection().exec_driver_sql(f"DELETE FROM {THEME_TALLY.table}")  # noqa: S608
    result = app.test_cli_runner().invoke(args=["db", "recount"])
    assert result.exit_code == 0, result.output
    assert "Compteurs publics recomptés" in result.output
    assert tallies.by_group(session, THEME_TALLY) == before


def test_votes_of_one_theme_spread_over_shards(session) -> None:
    """Voters on different contributions of one theme update different rows of its tally
    (a single row would make each wait for the previous voter's commit)."""
    author = UserFactory()
    items = [_post(session, author, title=f"Proposition {i}") for i in range(4)]
    for item in items:
        forums.vote(session, UserFactory(), item, "adopt")
    session.flush()
    shards = set(
        session.execute(
            text(
                f"SELECT shard FROM {THEME_TALLY.table} "  # noqa: S608 - fixed name
                "WHERE theme_id = :theme AND adopt_count > 0"
            ),
            {"theme": theme().id},
        ).scalars()
    )
    assert {item.id % THEME_TALLY.shards for item in items} <= shards
    assert len(shards) > 1


# --- People figures: read from the compilation once, never by a visitor -----------------------


def test_people_figures_are_built_once_per_compilation(session, monkeypatch) -> None:
    from synthesis import engine, store

    for _ in range(12):
        ideas.post_idea(session, UserFactory(academie_code="16"), "Une idée", "Un texte.")
    engine.compile_all(session, topics=False)
    session.flush()
    loads: list[tuple[str, str]] = []
    real_load = store.load

    def counting_load(session, kind, code="", **kw):
        loads.append((kind, code))
        return real_load(session, kind, code, **kw)

    monkeypatch.setattr(store, "load", counting_load)
    # The compilation prepares every scope's figures (national, régions, académies)...
    scopes = 1 + len(catalog().regions) + len(catalog().academies)
    assert counters.warm_people() == scopes
    assert len(loads) == scopes
    # ... so the home page and the territory pages read them without loading anything.
    first = counters.compute()["people"]
    territorial_queries.participation(session, territory.academie("16"))
    assert len(loads) == scopes
    assert first["participants"]["value"] is not None
    # A new compilation supersedes them.
    for _ in range(12):
        ideas.post_idea(session, UserFactory(academie_code="16"), "Une autre", "Un texte.")
    engine.compile_all(session, topics=False)
    session.flush()
    second = counters.compute()["people"]
    assert len(loads) == scopes + 1
    assert second["as_of"] == store.latest(session).finished_at.date().isoformat()
