"""The gd fill of the synthesis benchmark, at a tiny fraction: exact volumes, every invariant of
the app (counters, snapshots, one reply level, no self-vote), answers valid for each audience's
questionnaire path, and pages that read the result. PostgreSQL SQL, so PostgreSQL only."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bench import gd_fill
from surveys import engine

pytestmark = pytest.mark.postgres_only

FRACTION = 0.0004


@pytest.fixture
def filled(session):
    before = gd_fill.counts(session)
    sizes = gd_fill.sizes_for(FRACTION)
    lines: list[str] = []
    timings = gd_fill.Filler(session, sizes, lines.append, pool=40).fill()
    after = gd_fill.counts(session)
    return sizes, {k: after[k] - before[k] for k in after}, timings, lines


def test_volumes_are_exact(filled):
    sizes, added, timings, lines = filled
    assert added["user_account"] == sizes["users"] == 200
    assert added["forum_contribution"] == sizes["contributions"] == 240
    assert added["forum_vote"] == sizes["votes"] == 2000
    assert added["forum_comment"] == sizes["comments"] == 400
    assert added["survey_response"] == sizes["responses"] == 560
    assert added["territorial_idea"] == sizes["ideas"] == 24
    # Capped at this size: about seven people per académie can support each idea once.
    assert added["territorial_idea_support"] == sizes["supports"] == 40
    # One Retex sheet per académie at this fraction, published with its revision.
    assert added["retex_sheet"] == 30
    assert added["retex_revision"] == 30
    assert set(timings) == {
        "participants",
        "contributions",
        "votes",
        "comments",
        "forum counters",
        "ideas and supports",
        "questionnaire responses",
        "retex sheets",
        "cleanup and analyze",
    }
    assert len(lines) == len(timings)


def test_invariants_hold(filled, session):
    assert gd_fill.check(session) == dict.fromkeys(gd_fill.CHECKS, 0)
    # The checks are not vacuous: counters are non-zero somewhere, replies exist.
    row = session.execute(
        text(
            "SELECT sum(adopt_count), sum(refuse_count), sum(pour_count), sum(contre_count), "
            "sum(comment_count) FROM forum_contribution"
        )
    ).one()
    assert all(value > 0 for value in row)
    replies = session.execute(
        text("SELECT count(*) FROM forum_comment WHERE parent_id IS NOT NULL")
    ).scalar()
    assert replies == round(400 * gd_fill.REPLY_SHARE)
    # Scratch tables are gone.
    for table in gd_fill.SCRATCH:
        assert session.execute(text(f"SELECT to_regclass('{table}')")).scalar() is None


def test_a_broken_counter_is_caught(filled, session):
    session.execute(
        text(
            "UPDATE forum_contribution SET adopt_count = adopt_count + 1 "
            "WHERE id = (SELECT max(id) FROM forum_contribution)"
        )
    )
    assert gd_fill.check(session)["vote counters"] == 1


def test_answers_follow_each_audience_path(filled, session):
    definition = engine.load_file(engine.default_path())
    rows = session.execute(
        text("SELECT author_audience, answers, via_code FROM survey_response")
    ).all()
    assert len(rows) == 560
    for audience, answers, _via_code in rows:
        engine.check_stored(definition, audience, answers)
    assert {audience for audience, _a, _v in rows} == set(definition.audiences)
    assert {via for _a, _b, via in rows} == {True, False}
    open_answers = [
        value
        for _audience, answers, _v in rows
        for code, value in answers.items()
        if definition.question(code).is_free_text
    ]
    assert open_answers
    # Account holders answered once each, with their own audience and académie.
    mismatched = session.execute(
        text(
            "SELECT count(*) FROM survey_participation p JOIN user_account u ON u.id = p.user_id "
            "WHERE u.audience NOT IN (SELECT jsonb_array_elements_text("
            "CAST(definition_data AS jsonb) -> 'audiences') FROM survey_questionnaire)"
        )
    ).scalar()
    assert mismatched == 0


def test_audiences_are_skewed_and_demo_only(filled, session):
    rows = dict(
        session.execute(
            text(
                "SELECT audience, count(*) FROM user_account WHERE email LIKE '%@consult.test' "
                "GROUP BY audience"
            )
        ).all()
    )
    assert sum(rows.values()) == 200
    assert session.execute(
        text("SELECT bool_and(is_demo) FROM user_account WHERE email LIKE '%@consult.test'")
    ).scalar()
    assert (
        session.execute(
            text("SELECT count(*) FROM user_account WHERE email NOT LIKE '%@consult.test'")
        ).scalar()
        == session.execute(text("SELECT count(*) FROM user_account WHERE NOT is_demo")).scalar()
    )
    # Pupils and teachers outnumber management, agents and others together.
    assert rows.get("eleve", 0) + rows.get("professeur", 0) > rows.get("encadrement", 0) + rows.get(
        "agent", 0
    ) + rows.get("autre", 0)


def test_the_app_reads_the_dataset(filled, session, client):
    slug, contribution_id = session.execute(
        text(
            "SELECT t.slug, c.id FROM forum_contribution c JOIN forum_theme t ON t.id = c.theme_id "
            "WHERE c.hidden_at IS NULL ORDER BY c.comment_count DESC, c.id LIMIT 1"
        )
    ).one()
    assert client.get(f"/forums/{slug}/?tri=adoption").status_code == 200
    page = client.get(f"/forums/contributions/{contribution_id}")
    assert page.status_code == 200
    assert "@consult.test" not in page.get_data(as_text=True)
