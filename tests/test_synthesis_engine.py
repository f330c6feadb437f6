"""Exact figures of the synthesis engine on the hand-made dataset of tests/synthesis_factories:
counts and distinct people at every level, forum rankings with Wilson bounds, consensus labels,
questionnaire distributions, Retex, hidden and withdrawn content excluded, the store."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from click.testing import CliRunner

from forums.models import wilson_lower_bound
from synthesis import catalog, engine, privacy, store
from synthesis.catalog import UnknownScope
from synthesis.models import Compilation, CompiledScope
from tests.synthesis_factories import (
    MONTPELLIER,
    OCCITANIE,
    POITIERS,
    TOULOUSE,
    build_dataset,
)


@pytest.fixture
def dataset(session):
    return build_dataset(session)


SCOPES = [
    ("national", ""),
    ("region", OCCITANIE),
    ("academie", TOULOUSE),
    ("academie", MONTPELLIER),
    ("academie", POITIERS),
]


@pytest.fixture
def compiled(session, dataset):
    engine.compile_all(
        session, scopes=[catalog.resolve_scope(k, c) for k, c in SCOPES], topics=False
    )
    return dataset


def close(a, b) -> bool:
    # The store keeps six decimals.
    return math.isclose(a, b, abs_tol=1e-6)


def _tables(session, kind="national", code="", public=False):
    return store.load(session, kind, code, public=public)


def _figure(df: pd.DataFrame, column: str = "value", **where) -> object:
    rows = df
    for key, value in where.items():
        rows = rows[rows[key].astype(str) == str(value)]
    assert len(rows) == 1, f"{where}: {len(rows)} rows\n{df.to_string()}"
    return rows.iloc[0][column]


def _pair(df, **where):
    return (_figure(df, "value", **where), _figure(df, "people", **where))


def test_every_scope_is_stored_once_in_one_compilation(session, dataset):
    engine.compile_all(session, topics=False)
    compilation = store.latest(session)
    assert compilation.status == "done" and compilation.finished_at is not None
    kinds = [(s.scope_kind, s.scope_code) for s in compilation.scopes]
    assert len(kinds) == 1 + 18 + 30 == len(set(kinds))
    assert ("region", OCCITANIE) in kinds and ("academie", TOULOUSE) in kinds
    tables = _tables(session)
    assert set(tables) == set(catalog.TABLE_NAMES)
    for name, df in tables.items():
        assert list(df.columns) == catalog.spec(name).column_names, name


def test_participation_national_exact(session, compiled):
    df = _tables(session)["participation"]
    expected = compiled.expected
    for indicator in ("contributions", "ideas", "idea_supports", "retex_sheets"):
        assert _figure(df, indicator=indicator, audience="*") == expected[indicator]
    # 76 votes by 40 people: 12+12+3+12 voters + the mover.
    assert _pair(df, indicator="votes", audience="*") == (76, 40)
    assert _pair(df, indicator="votes", audience="professeur") == (49, 25)
    assert _pair(df, indicator="votes", audience="parent") == (24, 12)
    # 7 visible comments by 6 people (one parent commented twice; the hidden one is out).
    assert _pair(df, indicator="comments", audience="*") == (7, 6)
    # Participants: 12 + 12 + 3 Toulouse, 12 Montpellier, the mover, 2 Poitiers = 42.
    assert _pair(df, indicator="participants", audience="*") == (42, 42)
    assert _pair(df, indicator="participants", audience="professeur") == (25, 25)
    # Responses are people on their own, never merged with accounts.
    assert _pair(df, indicator="survey_responses", audience="*") == (23, 23)
    # Nobody is counted for an audience that did nothing.
    assert df[(df["audience"] == "agent")].empty


def test_people_are_distinct_at_region_level(session, compiled):
    toulouse = _tables(session, "academie", TOULOUSE)["participation"]
    montpellier = _tables(session, "academie", MONTPELLIER)["participation"]
    occitanie = _tables(session, "region", OCCITANIE)["participation"]
    # The mover voted as a Toulouse member and commented as a Montpellier one: a participant
    # of each académie, but one person of the région.
    assert _figure(toulouse, indicator="participants", audience="*") == 28
    assert _figure(montpellier, indicator="participants", audience="*") == 13
    assert _figure(occitanie, indicator="participants", audience="*") == 40  # not 41
    assert _pair(occitanie, indicator="comments", audience="professeur") == (2, 2)
    territory = _tables(session, "region", OCCITANIE)["participation_territory"]
    assert set(territory["academie_code"]) == {TOULOUSE, MONTPELLIER}
    assert (
        _figure(territory, indicator="participants", audience="*", academie_code=MONTPELLIER) == 13
    )
    poitiers = _tables(session, "academie", POITIERS)["participation"]
    assert _figure(poitiers, indicator="participants", audience="*") == 2
    assert _figure(poitiers, indicator="retex_sheets", audience="encadrement") == 1


def test_participation_daily(session, compiled):
    daily = _tables(session)["participation_daily"]
    assert _pair(daily, day="2020-11-04", indicator="votes", audience="*") == (76, 40)
    assert _pair(daily, day="2020-11-05", indicator="comments", audience="*") == (7, 6)
    assert _pair(daily, day="2020-11-06", indicator="survey_responses", audience="*") == (23, 23)


def test_hidden_and_withdrawn_content_counts_nowhere(session, compiled):
    national = _tables(session)
    themes = national["forum_themes"]
    teaching = themes[themes["theme_slug"] == "enseigner-apprendre"]
    # consensual, divisive, too_few; the hidden and withdrawn ones are out.
    assert _pair(teaching, subtheme_slug="*", indicator="contributions", audience="*") == (3, 3)
    assert _figure(teaching, subtheme_slug="*", indicator="votes", audience="*") == 76
    ids = set(national["forum_top"]["contribution_id"].astype(int))
    assert compiled.contributions["hidden"].id not in ids
    assert compiled.contributions["withdrawn"].id not in ids
    # The hidden idea is out, and so is the draft Retex sheet.
    assert _figure(national["participation"], indicator="ideas", audience="*") == 2
    assert set(national["retex_recent"]["sheet_id"].astype(int)) == {
        s.id for s in compiled.sheets[:2]
    }


def test_forum_themes_exact(session, compiled):
    themes = _tables(session)["forum_themes"]
    teaching = themes[(themes["theme_slug"] == "enseigner-apprendre")]
    sub = teaching["subtheme_slug"].unique()
    assert set(sub) == {"*", compiled.contributions["consensual"].subtheme.slug}
    # Adoptions: 31 on consensual + 13 on divisive + 13 on too_few.
    assert _pair(teaching, subtheme_slug="*", indicator="adopt", audience="*") == (57, 34)
    assert _pair(teaching, subtheme_slug="*", indicator="refuse", audience="eleve") == (3, 3)
    assert _pair(teaching, subtheme_slug="*", indicator="pour", audience="parent") == (4, 3)
    assert _pair(teaching, subtheme_slug="*", indicator="contre", audience="*") == (3, 3)
    other = themes[themes["theme_slug"] != "enseigner-apprendre"]
    assert _pair(other, subtheme_slug="*", indicator="contributions", audience="*") == (1, 1)


def test_forum_top_by_wilson_and_by_comments(session, compiled):
    top = _tables(session)["forum_top"]
    c = compiled.contributions
    adopted = top[(top["ranking"] == "adopted") & (top["theme_slug"] == "enseigner-apprendre")]
    assert list(adopted["contribution_id"].astype(int)) == [
        c["consensual"].id,
        c["too_few"].id,
        c["divisive"].id,
    ]
    assert list(adopted["rank"].astype(int)) == [1, 2, 3]
    first = adopted.iloc[0]
    assert (first["adopt"], first["refuse"], first["people"]) == (31, 5, 36)
    assert close(first["wilson"], wilson_lower_bound(31, 5))
    assert close(adopted.iloc[2]["wilson"], wilson_lower_bound(13, 11))
    assert first["title"] == "Former <b>tous</b> les enseignants"  # escaped by templates
    debated = top[(top["ranking"] == "debated") & (top["theme_slug"] == "enseigner-apprendre")]
    assert list(debated["contribution_id"].astype(int)) == [c["consensual"].id, c["divisive"].id]
    # 5 comments (4 pour, 1 contre) by 4 distinct people on the consensual one.
    row = debated.iloc[0]
    assert (row["comments"], row["pour"], row["contre"], row["people"]) == (5, 4, 1, 4)


def test_forum_top_uses_the_scope_votes(session, compiled):
    top = _tables(session, "academie", MONTPELLIER)["forum_top"]
    adopted = top[top["ranking"] == "adopted"]
    # Montpellier people voted only on the consensual one (12 adoptions, no refusal).
    assert list(adopted["contribution_id"].astype(int)) == [compiled.contributions["consensual"].id]
    assert (adopted.iloc[0]["adopt"], adopted.iloc[0]["refuse"]) == (12, 0)
    assert close(adopted.iloc[0]["wilson"], wilson_lower_bound(12, 0))


def test_consensus_labels(session, compiled):
    c = compiled.contributions
    consensus = _tables(session)["forum_consensus"].set_index("contribution_id")
    consensus.index = consensus.index.astype(int)
    assert consensus.loc[c["consensual"].id, "label"] == "consensuelle"
    assert consensus.loc[c["divisive"].id, "label"] == "clivante"
    # Only the teachers cast 10 votes or more on it: no label at all.
    assert c["too_few"].id not in consensus.index
    row = consensus.loc[c["consensual"].id]
    assert (row["audiences"], row["votes"], row["people"]) == (2, 36, 36)
    assert close(row["min_share"], 9 / 12) and close(row["max_share"], 22 / 24)
    divisive = consensus.loc[c["divisive"].id]
    assert close(divisive["min_share"], 2 / 12)
    assert close(divisive["max_share"], 11 / 12)
    matrix = _tables(session)["forum_consensus_matrix"]
    cell = matrix[
        (matrix["contribution_id"].astype(int) == c["divisive"].id)
        & (matrix["audience"] == "parent")
    ].iloc[0]
    assert (cell["adopt"], cell["refuse"], cell["people"]) == (2, 10, 12)
    assert close(cell["share"], 2 / 12)
    assert set(matrix["contribution_id"].astype(int)) == {c["consensual"].id, c["divisive"].id}


def test_consensus_in_a_territory(session, compiled):
    montpellier = _tables(session, "academie", MONTPELLIER)["forum_consensus"]
    # One audience only in Montpellier: nothing to compare.
    assert montpellier.empty
    toulouse = _tables(session, "academie", TOULOUSE)["forum_consensus"]
    labels = dict(zip(toulouse["contribution_id"].astype(int), toulouse["label"], strict=True))
    c = compiled.contributions
    assert labels == {c["consensual"].id: "consensuelle", c["divisive"].id: "clivante"}


def test_survey_distribution_exact(session, compiled):
    df = _tables(session)["survey_distribution"]
    row = df[
        (df["question_key"] == "C01") & (df["option_key"] == "urbain") & (df["audience"] == "*")
    ]
    assert (row.iloc[0]["count"], row.iloc[0]["base"]) == (20, 23)
    assert close(row.iloc[0]["share"], 20 / 23)
    # Multiple choice: shares per respondent (17 of 23 have a computer).
    computer = df[(df["question_key"] == "C05") & (df["option_key"] == "ordinateur")]
    assert set(computer["audience"]) == {"*", "professeur"}
    assert (computer.iloc[0]["count"], computer.iloc[0]["base"]) == (17, 23)
    # Number: its values as options; the base is who saw and answered it.
    six = df[(df["question_key"] == "C06") & (df["option_key"] == "2") & (df["audience"] == "*")]
    assert (six.iloc[0]["count"], six.iloc[0]["base"]) == (6, 17)
    # Scale values as options.
    scale = df[(df["question_key"] == "C02") & (df["audience"] == "*")]
    assert dict(zip(scale["option_key"], scale["count"], strict=True)) == {"4": 12, "5": 11}
    # Free text never appears as a distribution.
    assert "T15" not in set(df["question_key"])
    assert df["weighted_share"].isna().all() and df["effective_n"].isna().all()
    questions = _tables(session)["survey_questions"]
    assert _figure(questions, "kind", question_key="C05") == "multiple"


def test_survey_territory_split(session, compiled):
    split = _tables(session, "region", OCCITANIE)["survey_territory"]
    rows = split[(split["question_key"] == "C01") & (split["option_key"] == "urbain")]
    assert dict(zip(rows["academie_code"], rows["count"], strict=True)) == {
        TOULOUSE: 9,
        MONTPELLIER: 11,
    }
    assert dict(zip(rows["academie_code"], rows["base"], strict=True)) == {
        TOULOUSE: 12,
        MONTPELLIER: 11,
    }
    assert _tables(session, "academie", TOULOUSE)["survey_territory"].empty


def test_retex_counts(session, compiled):
    retex = _tables(session)["retex"]
    assert _figure(retex, "sheets", dimension="theme", value_key="2") == 2
    assert _figure(retex, "sheets", dimension="theme", value_key="1") == 1
    assert _figure(retex, "sheets", dimension="school_level", value_key="lycee") == 1
    assert _figure(retex, "sheets", dimension="audience", value_key="professeur") == 1
    assert _figure(retex, "sheets", dimension="academie", value_key=POITIERS) == 1
    toulouse = _tables(session, "academie", TOULOUSE)["retex_recent"]
    assert list(toulouse["sheet_id"].astype(int)) == [compiled.sheets[0].id]


def test_public_load_suppresses_small_figures(session, compiled):
    public = _tables(session, public=True)
    participation = public["participation"]
    # 42 participants, printed within the published ptable's bound; 3 students hidden.
    assert abs(_figure(participation, indicator="participants", audience="*") - 42) <= privacy.D
    students = participation[
        (participation["indicator"] == "participants") & (participation["audience"] == "eleve")
    ].iloc[0]
    assert students["suppressed"] and pd.isna(students["value"]) and pd.isna(students["people"])
    # Nothing shown anywhere rests on fewer than 10 people, but public content: the nation's
    # ranked contributions carry the counters printed on their cards (synthesis/README.md).
    for name, df in public.items():
        if name == "forum_top":
            continue
        if "people" in df.columns and catalog.spec(name).has_people:
            shown = df[~df["suppressed"]]
            assert (shown["people"].dropna() >= 10).all(), name
    raw = _tables(session, public=False)["participation"]
    assert "suppressed" not in raw.columns


def test_compile_scope_and_unknown_scope(session, dataset):
    tables = engine.compile_scope(session, "academie", TOULOUSE, topics=False)
    assert _figure(tables["participation"], indicator="participants", audience="*") == 28
    with pytest.raises(UnknownScope):
        engine.compile_scope(session, "academie", "99", topics=False)
    with pytest.raises(UnknownScope):
        catalog.resolve_scope("pays", "")
    assert store.load(session, "academie", "99", public=True) is None


def test_load_reads_only_the_tables_asked_for(session, compiled):
    whole = store.load(session, "national", "", public=True)
    some = store.load(session, "national", "", public=True, tables=["topics", "participation"])
    assert list(some) == ["participation", "topics"]  # catalogue order, nothing else
    assert some["participation"].equals(whole["participation"])


def test_store_roundtrip_and_latest(session, dataset):
    first = engine.compile_all(session, scopes=[catalog.resolve_scope("national")], topics=False)
    second = engine.compile_all(session, scopes=[catalog.resolve_scope("national")], topics=False)
    assert store.latest(session).id == second.id != first.id
    running = Compilation(status="running")
    session.add(running)
    session.flush()
    assert store.latest(session).id == second.id
    row = session.query(CompiledScope).filter_by(compilation_id=second.id).one()
    payload = row.payload["forum_top"]
    assert payload["columns"] == catalog.spec("forum_top").column_names
    # JSON-safe values: no NaN, floats rounded.
    wilson = payload["columns"].index("wilson")
    assert all(isinstance(r[wilson], float) for r in payload["rows"])
    assert store.to_payload(pd.DataFrame({"x": [float("nan"), 1 / 3]}))["rows"] == [
        [None],
        [0.333333],
    ]


def test_empty_consultation_compiles(session):
    compilation = engine.compile_all(
        session, scopes=[catalog.resolve_scope("academie", "43")], topics=False
    )
    assert compilation.status == "done"
    tables = store.load(session, "academie", "43", public=True)
    # Nothing to show: the breakdowns are completed with zero rows, each hidden like any small row.
    for name, df in tables.items():
        if name != "survey_questions":
            assert df.empty or df["suppressed"].all(), name


def test_cli_compile_and_status(app, session, dataset):
    runner = CliRunner()
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["synthesis", "status"])
        assert "Aucune compilation" in result.output
        result = app.test_cli_runner().invoke(
            args=["synthesis", "compile", "--scope", "academie:16", "--quiet", "--no-topics"]
        )
        assert result.exit_code == 0, result.output
        assert "1 territoires" in result.output and "mémoire maximale" in result.output
        result = app.test_cli_runner().invoke(args=["synthesis", "status"])
        assert "Compilation" in result.output and "1 territoires" in result.output
        bad = app.test_cli_runner().invoke(args=["synthesis", "compile", "--scope", "academie:99"])
        assert bad.exit_code == 2 and "inconnu" in bad.output
        bad = app.test_cli_runner().invoke(args=["synthesis", "compile", "--scope", "paris"])
        assert bad.exit_code == 2
    assert runner is not None


def test_cli_compile_prepares_pages_and_archive_then_exports(
    app, session, dataset, tmp_path, monkeypatch
):
    import zipfile

    monkeypatch.setitem(app.config, "SYNTHESIS_EXPORT_DIR", str(tmp_path / "cache"))
    runner = app.test_cli_runner()
    missing = runner.invoke(args=["synthesis", "export", "--out", str(tmp_path / "none.zip")])
    assert missing.exit_code == 1 and "aucune synthèse compilée" in missing.output
    result = runner.invoke(
        args=["synthesis", "compile", "--scope", "national", "--quiet", "--no-topics"]
    )
    assert result.exit_code == 0, result.output
    assert "Pages publiques préparées : 1 ; archive nationale : prête" in result.output
    assert any((tmp_path / "cache").rglob("*.zip"))

    out = tmp_path / "national.zip"
    result = runner.invoke(args=["synthesis", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
    assert "README.md" in names and any(n.endswith(".parquet") for n in names)
    bad = runner.invoke(args=["synthesis", "export", "--scope", "academie:99", "--out", str(out)])
    assert bad.exit_code == 2


def test_topics_of_contributions_and_open_answers(session, dataset):
    from tests.synthesis_factories import _contribution, _responses

    authors = dataset.users["t_prof"] + dataset.users["t_parent"]
    subjects = [
        "Prêter des tablettes numériques aux élèves des collèges ruraux pour travailler",
        "Former les enseignants aux outils numériques pendant le temps de service",
    ]
    made = []
    for i in range(40):
        made.append(
            _contribution(authors[i % len(authors)], f"{subjects[i % 2]} ({i})", withdrawn_at=None)
        )
    hidden = _contribution(
        authors[0], "Zorglub zorglub tablettes numériques", hidden_at=made[0].created_at
    )
    _responses(
        dataset.questionnaire,
        dataset.users["m_parent"] * 8,
        [{"C01": "rural", "P13": f"{subjects[i % 2]} — réponse {i}"} for i in range(32)],
    )
    session.flush()
    engine.compile_all(session, scopes=[catalog.resolve_scope("national")], topics=True)
    raw = _tables(session)["topics"]
    contributions = raw[raw["corpus"] == "contributions"]
    assert len(contributions) >= 2
    assert contributions["size"].sum() <= 46
    refs = {r for c in ("quote_1_ref", "quote_2_ref", "quote_3_ref") for r in contributions[c]}
    assert f"contribution:{hidden.id}" not in refs
    assert any(r and r.startswith("contribution:") for r in refs)
    # People are distinct authors: 24 authors wrote the 40 contributions.
    assert contributions["people"].max() <= 24
    answers = raw[raw["corpus"] == "open_answers"]
    assert not answers.empty
    public = _tables(session, public=True)["topics"]
    public_answers = public[public["corpus"] == "open_answers"]
    assert public_answers["quote_1"].isna().all() and public_answers["quote_1_ref"].isna().all()


def test_a_person_under_two_audiences_is_one_participant(session, dataset):
    from forums.models import Comment, Vote
    from tests.factories import UserFactory

    changed = UserFactory(audience="professeur", academie_code=POITIERS)
    consensual = dataset.contributions["consensual"]
    # Voted as a parent, commented later as a teacher (the profile changed in between).
    session.add(
        Vote(
            contribution_id=consensual.id,
            user_id=changed.id,
            value="adopt",
            author_audience="parent",
            author_academie_code=POITIERS,
        )
    )
    session.add(
        Comment(
            contribution_id=consensual.id,
            author_id=changed.id,
            polarity="pour",
            body="Toujours d'accord",
            author_audience="professeur",
            author_academie_code=POITIERS,
        )
    )
    session.flush()
    engine.compile_all(
        session,
        scopes=[catalog.resolve_scope("national"), catalog.resolve_scope("academie", POITIERS)],
        topics=False,
    )
    national = _tables(session)["participation"]
    assert _figure(national, indicator="participants", audience="*") == 43
    assert _figure(national, indicator="participants", audience="parent") == 13
    assert _figure(national, indicator="participants", audience="professeur") == 26
    poitiers = _tables(session, "academie", POITIERS)["participation"]
    assert _figure(poitiers, indicator="participants", audience="*") == 3
    assert _pair(poitiers, indicator="votes", audience="*") == (1, 1)


def test_topics_come_after_the_tables_and_reuse_an_unchanged_sample(session, dataset, monkeypatch):
    """The tables are stored (and public) without the text analysis; compile_topics adds the
    topics, and a later compilation whose sample is the same texts reuses them (no
    extraction), while a scope whose texts changed is analysed again."""
    from synthesis import topics as topics_module
    from tests.synthesis_factories import _contribution

    authors = dataset.users["t_prof"] + dataset.users["t_parent"]
    subjects = [
        "Prêter des tablettes numériques aux élèves des collèges ruraux pour travailler",
        "Former les enseignants aux outils numériques pendant le temps de service",
    ]
    for i in range(40):
        _contribution(authors[i % len(authors)], f"{subjects[i % 2]} ({i})", withdrawn_at=None)
    session.flush()
    national = [catalog.resolve_scope("national")]
    first = engine.compile_all(session, scopes=national, topics=False)
    assert first.status == "done" and first.topics_at is None
    assert _tables(session)["topics"].empty
    assert not _tables(session)["participation"].empty
    public_before = _tables(session, public=True)["topics"]
    assert public_before.empty

    calls: list[int] = []
    extract = topics_module.extract
    monkeypatch.setattr(
        topics_module, "extract", lambda texts, n: calls.append(len(texts)) or extract(texts, n)
    )
    assert engine.compile_topics(session, first) == (1, 1)
    assert first.topics_at is not None and calls
    found = _tables(session)["topics"]
    assert not found[found["corpus"] == "contributions"].empty
    # The public tables of the compilation follow its topics (cached per version).
    assert not _tables(session, public=True)["topics"].empty

    calls.clear()
    second = engine.compile_all(session, scopes=national, topics=False)
    assert engine.compile_topics(session, second) == (1, 0)
    assert calls == []
    again = store.load(session, "national", "", public=False, compilation=second)["topics"]
    pd.testing.assert_frame_equal(again, found)

    _contribution(authors[0], f"{subjects[0]} (nouvelle)", withdrawn_at=None)
    session.flush()
    third = engine.compile_all(session, scopes=national, topics=False)
    assert engine.compile_topics(session, third) == (1, 1)
    assert calls


def test_cli_compile_reports_the_topics_apart(app, session, dataset):
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["synthesis", "compile", "--scope", "national", "--quiet", "--no-warm"]
        )
    assert result.exit_code == 0, result.output
    assert "Thèmes des textes libres : 1 territoires" in result.output
    assert store.latest(session).topics_at is not None
