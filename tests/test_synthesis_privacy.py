"""The disclosure rule on its own (synthesis/privacy.py): rows under 10 people hidden, other
protected counts perturbed by their cell key (bounded, stable, the same for the same records
wherever they are printed), public content exact, breakdowns completed with zeros."""

from __future__ import annotations

import collections

import pandas as pd
import pytest

from synthesis import catalog, privacy

KEY = b"test disclosure key"


def _participation(rows):
    return pd.DataFrame(rows, columns=["audience", "indicator", "value", "people"])


def _protect(name, df, kind="academie", code="16", **kw):
    kw.setdefault("key", KEY)
    return privacy.protect(name, df, kind, code, **kw)


def _row(df, **where):
    rows = df
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1, where
    return rows.iloc[0]


def test_ptable_is_a_published_symmetric_distribution_bounded_by_d():
    assert privacy.THRESHOLD == 10 and privacy.D == 3
    noises = dict(privacy.PTABLE)
    assert sorted(noises) == list(range(-privacy.D, privacy.D + 1))
    assert sum(noises.values()) == pytest.approx(1.0)
    assert all(noises[n] == noises[-n] for n in noises)
    # The HMAC draws follow it (2,000 cells: each frequency within 0.04 of the table's).
    drawn = collections.Counter(privacy.noise(f"votes|A:{i}", 50, KEY) for i in range(2000))
    for noise, probability in privacy.PTABLE:
        assert abs(drawn[noise] / 2000 - probability) < 0.04, noise


@pytest.mark.parametrize("value", [0, 1, 2, 9, 10, 11, 12, 57, 10_000])
def test_perturbation_bounds(value):
    for cell in (f"c{i}" for i in range(300)):
        out = privacy.perturb(cell, value, KEY)
        assert abs(out - value) <= privacy.D
        assert out >= 0 and (out == 0) == (value == 0)
        if value >= privacy.THRESHOLD:
            assert out >= privacy.THRESHOLD  # never printed under the threshold


def test_the_cell_key_is_deterministic_and_keyed():
    cells = [f"participants|A:{i:02d}" for i in range(60)]
    first = [privacy.perturb(c, 40, KEY) for c in cells]
    assert first == [privacy.perturb(c, 40, KEY) for c in cells]
    assert first != [privacy.perturb(c, 40, b"another key") for c in cells]
    assert len(set(first)) > 1  # not a constant shift


def test_small_rows_are_hidden_and_breakdowns_completed_with_zeros():
    df = _participation(
        [
            ("*", "votes", 100, 40),
            ("parent", "votes", 50, 10),
            ("professeur", "votes", 41, 21),
            ("eleve", "votes", 9, 9),
        ]
    )
    out = _protect("participation", df)
    votes = out[out["indicator"] == "votes"]
    # Every audience is listed, the missing ones as hidden zeros: a hidden cell may be 0.
    assert set(votes["audience"]) == {*privacy._audiences(), "*"}
    hidden = set(votes[votes["suppressed"]]["audience"])
    assert hidden == {"eleve", "encadrement", "agent", "autre"}
    assert votes[votes["suppressed"]][["value", "people"]].isna().all().all()
    # Every indicator is listed too.
    assert set(out["indicator"]) >= set(catalog.PARTICIPATION_INDICATORS)
    for audience, value in [("*", 100), ("parent", 50), ("professeur", 41)]:
        assert abs(_row(votes, audience=audience)["value"] - value) <= privacy.D


def test_totals_are_cells_of_their_own():
    """A total is perturbed by its own key, not summed from the perturbed parts."""
    rows = [("*", "participants", 300, 300)]
    rows += [(a, "participants", 60, 60) for a in privacy._audiences()[:5]]
    found_different = False
    for code in ("01", "02", "03", "04", "06", "07", "08", "09", "10", "11"):
        out = _protect("participation", _participation(rows), code=code)
        part = out[(out["indicator"] == "participants") & ~out["suppressed"]]
        total = int(_row(part, audience="*")["value"])
        parts = int(part[part["audience"] != "*"]["value"].sum())
        assert abs(total - 300) <= privacy.D
        found_different |= total != parts
    assert found_different


def test_public_content_is_exact_only_at_the_nation_for_everyone():
    df = _participation(
        [("*", "contributions", 7, 6), ("*", "participants", 40, 40), ("eleve", "votes", 30, 12)]
    )
    nation = _protect("participation", df, "national", "")
    contributions = _row(nation, indicator="contributions", audience="*")
    assert contributions["value"] == 7 and not contributions["suppressed"]
    assert pd.isna(contributions["people"])  # 6 authors: a count of people under 10
    territory = _protect("participation", df, "academie", "16")
    assert _row(territory, indicator="contributions", audience="*")["suppressed"]


def test_the_same_records_get_the_same_figure_in_every_scope_and_table():
    """Toulouse's row of the national table, Toulouse's own synthesis, and (every participant
    being in Toulouse) Occitanie's: one cell, one figure."""
    national = pd.DataFrame(
        [("16", "*", "participants", 57, 57), ("16", "professeur", "participants", 57, 57)],
        columns=catalog.spec("participation_territory").column_names,
    )
    own = _participation([("*", "participants", 57, 57), ("professeur", "participants", 57, 57)])
    index = dict(privacy.raw_cells("participation_territory", national, "national"))
    index.update(privacy.raw_cells("participation", own, "academie", "16"))
    index.update(privacy.raw_cells("participation", own, "region", "76"))
    index.update(privacy.raw_cells("participation", own, "national", ""))
    a = _protect("participation_territory", national, "national", "", index=index)
    b = _protect("participation", own, "academie", "16", index=index)
    c = _protect("participation", own, "region", "76", index=index)
    figures = {
        int(_row(a, academie_code="16", audience="*", indicator="participants")["value"]),
        int(_row(b, audience="*", indicator="participants")["value"]),
        int(_row(b, audience="professeur", indicator="participants")["value"]),
        int(_row(c, audience="*", indicator="participants")["value"]),
    }
    assert len(figures) == 1


def test_canonical_identity_follows_the_population():
    index = {
        privacy.identity("votes", "FR"): 30,
        privacy.identity("votes", "FR", theme="t1"): 30,
        privacy.identity("votes", "FR", theme="t1", subtheme="s1"): 30,
        privacy.identity("votes", "FR", theme="t2"): 0,
        privacy.identity("votes", "A:16"): 12,
        privacy.identity("votes", "R:76"): 12,
    }
    # A subtheme holding all the votes of a theme holding all the votes is the total.
    assert privacy.canonical(index, "votes", "FR", {"theme": "t1", "subtheme": "s1"}, 30) == (
        privacy.identity("votes", "FR")
    )
    # Toulouse is all of Occitanie (its région) but not the nation.
    assert privacy.canonical(index, "votes", "A:16", {}, 12) == privacy.identity("votes", "R:76")
    # A single-académie région is its académie.
    assert privacy.territory("region", "06") == privacy.territory("academie", "43")
    assert privacy.territory("national") == "FR"


def test_shares_are_computed_from_the_published_counts():
    columns = catalog.spec("survey_distribution").column_names
    rows = [
        ("Q", "oui", "*", 30, 43, 30 / 43, None, None, 30),
        ("Q", "non", "*", 13, 43, 13 / 43, None, None, 13),
        ("Q", "non", "eleve", 3, 13, 3 / 13, None, None, 3),
    ]
    out = _protect("survey_distribution", pd.DataFrame(rows, columns=columns), "national", "")
    for row in out[~out["suppressed"]].to_dict("records"):
        assert row["share"] == pytest.approx(row["count"] / row["base"], abs=1e-6)
    assert _row(out, option_key="non", audience="eleve")["suppressed"]


def test_retex_sheets_are_public_content_their_authors_are_not():
    columns = catalog.spec("retex").column_names
    rows = [("theme", "t1", 75, 4), ("academie", "16", 12, 11)]
    out = _protect("retex", pd.DataFrame(rows, columns=columns))
    first = _row(out, value_key="t1")
    assert first["sheets"] == 75 and not first["suppressed"] and pd.isna(first["people"])
    assert _row(out, value_key="16")["sheets"] == 12


def test_tables_without_people_pass_unchanged():
    df = pd.DataFrame(
        [("Q1", "Ordinateur <b> ?", "single", "profil")],
        columns=catalog.spec("survey_questions").column_names,
    )
    out = _protect("survey_questions", df)
    assert not out["suppressed"].any() and out.iloc[0]["label"] == "Ordinateur <b> ?"


def test_open_answer_topics_never_quote_in_public():
    columns = catalog.spec("topics").column_names
    rows = [
        ("open_answers", 1, "Tablette et wifi", 40, "tablette, wifi", "q1", "response:1:T15", "q2",
         "r2", "q3", "r3", 40),
        ("comments", 1, "ENT", 30, "ent", "Citation", "comment:4", "c2", "comment:5", "c3",
         "comment:6", 30),
        ("ideas", 1, "Rare", 5, "rare", "Idée", "idea:1", None, None, None, None, 5),
    ]  # fmt: skip
    out = _protect("topics", pd.DataFrame(rows, columns=columns))
    open_answers, comments, ideas = (out.iloc[i] for i in range(3))
    assert open_answers["quote_1"] is None and open_answers["quote_1_ref"] is None
    assert open_answers["keywords"] == "tablette, wifi" and not open_answers["suppressed"]
    assert comments["quote_1"] == "Citation"
    assert ideas["suppressed"] and ideas["keywords"] is None and ideas["quote_1"] is None
    # The title is made of the keywords: it goes with them.
    assert ideas["label"] is None and open_answers["label"] == "Tablette et wifi"


def test_empty_frames_keep_their_columns():
    for name in ("forum_top", "topics", "retex", "survey_distribution"):
        columns = catalog.spec(name).column_names
        out = _protect(name, pd.DataFrame(columns=columns))
        assert list(out.columns) == [*columns, "suppressed"] and out.empty, name
