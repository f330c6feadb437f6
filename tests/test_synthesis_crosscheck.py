"""The engine's totals against direct SQL counts on the demo dataset (``flask demo --scale
tiny``, whose last step compiles the syntheses): every scope, every participation indicator,
the distinct people, and the forum totals per theme."""

# ruff: noqa: S608 - the queries are fixed fragments, written apart from the engine on purpose

from __future__ import annotations

from sqlalchemy import text

from consult import demo
from synthesis import catalog, store

VISIBLE = "{a}.hidden_at IS NULL AND {a}.held_for_review = :false"
VISIBLE_C = VISIBLE.format(a="c") + " AND c.withdrawn_at IS NULL"

# (indicator, SQL returning one row per counted item: person, académie, audience)
SOURCES = {
    "contributions": "SELECT c.author_id, c.author_academie_code, c.author_audience "
    f"FROM forum_contribution c WHERE {VISIBLE_C}",
    "votes": "SELECT v.user_id, v.author_academie_code, v.author_audience FROM forum_vote v "
    f"JOIN forum_contribution c ON c.id = v.contribution_id WHERE {VISIBLE_C}",
    "comments": "SELECT m.author_id, m.author_academie_code, m.author_audience "
    "FROM forum_comment m JOIN forum_contribution c ON c.id = m.contribution_id "
    f"WHERE {VISIBLE.format(a='m')} AND {VISIBLE_C}",
    "ideas": "SELECT i.author_id, i.author_academie_code, i.author_audience "
    f"FROM territorial_idea i WHERE {VISIBLE.format(a='i')}",
    "idea_supports": "SELECT s.user_id, s.author_academie_code, s.author_audience "
    "FROM territorial_idea_support s JOIN territorial_idea i ON i.id = s.idea_id "
    f"WHERE {VISIBLE.format(a='i')}",
    "retex_sheets": "SELECT s.author_id, s.author_academie_code, s.author_audience "
    "FROM retex_sheet s WHERE s.published_version > 0",
}


def test_engine_totals_match_sql_on_the_demo(app, session):
    # One test for the three checks: generating the demo is the slow part.
    with app.app_context():
        demo.generate("tiny", seed=7)
    _check_participation(session)
    _check_forums(session)
    _check_survey(session)


def _sql_figures(session, academies: tuple[str, ...] | None):
    """value and people per indicator × audience (and "*") straight from SQL + sets."""
    figures: dict[tuple[str, str], tuple[int, int]] = {}
    everyone: dict[str, set] = {}
    for indicator, sql in SOURCES.items():
        rows = session.execute(text(sql), {"false": False}).all()
        rows = [r for r in rows if academies is None or r[1] in academies]
        by_audience: dict[str, list] = {}
        for person, _academie, audience in rows:
            by_audience.setdefault(audience, []).append(person)
            everyone.setdefault(audience, set()).add(person)
            everyone.setdefault("*", set()).add(person)
        for audience, people in by_audience.items():
            figures[(indicator, audience)] = (len(people), len(set(people)))
        if rows:
            figures[(indicator, "*")] = (len(rows), len({r[0] for r in rows}))
    for audience, people in everyone.items():
        figures[("participants", audience)] = (len(people), len(people))
    responses = session.execute(
        text("SELECT author_academie_code, author_audience FROM survey_response")
    ).all()
    responses = [r for r in responses if academies is None or r[0] in academies]
    counts: dict[str, int] = {}
    for _academie, audience in responses:
        counts[audience] = counts.get(audience, 0) + 1
    for audience, n in counts.items():
        figures[("survey_responses", audience)] = (n, n)
    if responses:
        figures[("survey_responses", "*")] = (len(responses), len(responses))
    return figures


def _check_participation(session):
    compilation = store.latest(session)
    assert compilation is not None and compilation.trigger == "demo"
    assert len(compilation.scopes) == 49
    checked = 0
    for scope in catalog.all_scopes():
        academies = None if scope.kind == "national" else scope.academie_codes
        expected = _sql_figures(session, academies)
        table = store.load(session, scope.kind, scope.code, public=False)["participation"]
        got = {
            (r.indicator, r.audience): (int(r.value), int(r.people))
            for r in table.itertuples(index=False)
        }
        assert got == expected, scope
        checked += len(got)
    assert checked > 500
    national = _sql_figures(session, None)
    # The demo is big enough for the figures to mean something.
    assert national[("votes", "*")][0] > 500 and national[("participants", "*")][0] > 100


def _check_forums(session):
    rows = session.execute(
        text(
            "SELECT t.slug, count(*), count(DISTINCT v.user_id), "
            "sum(CASE WHEN v.value = 'adopt' THEN 1 ELSE 0 END) "
            "FROM forum_vote v JOIN forum_contribution c ON c.id = v.contribution_id "
            f"JOIN forum_theme t ON t.id = c.theme_id WHERE {VISIBLE_C} GROUP BY t.slug"
        ),
        {"false": False},
    ).all()
    themes = store.load(session, "national", "", public=False)["forum_themes"]
    total = themes[(themes["subtheme_slug"] == "*") & (themes["audience"] == "*")]
    for slug, votes, voters, adopt in rows:
        mine = total[total["theme_slug"] == slug].set_index("indicator")
        assert (mine.loc["votes", "value"], mine.loc["votes", "people"]) == (votes, voters)
        assert mine.loc["adopt", "value"] == adopt
    # Per contribution, adopt/refuse of the top rows are the stored counters.
    top = store.load(session, "national", "", public=False)["forum_top"]
    counters = {
        cid: (a, r)
        for cid, a, r in session.execute(
            text("SELECT id, adopt_count, refuse_count FROM forum_contribution")
        )
    }
    adopted = top[top["ranking"] == "adopted"]
    assert not adopted.empty
    for row in adopted.itertuples(index=False):
        assert counters[int(row.contribution_id)] == (row.adopt, row.refuse)


def _check_survey(session):
    dist = store.load(session, "national", "", public=False)["survey_distribution"]
    everyone = dist[(dist["audience"] == "*") & (dist["question_key"] == "C01")]
    n = session.execute(text("SELECT count(*) FROM survey_response")).scalar()
    assert n > 0
    # C01 is a required single choice of the common core: every response answers it.
    assert set(everyone["base"]) == {n}
    assert everyone["count"].sum() == n
