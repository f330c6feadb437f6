"""Suppression of small figures: primary (< 10 people) and complementary, so that no hidden
figure can be recovered by subtracting the shown parts from a shown total."""

from __future__ import annotations

import pandas as pd

from synthesis import catalog, privacy


def _participation(rows):
    return pd.DataFrame(rows, columns=["audience", "indicator", "value", "people"])


def _row(df, **where):
    rows = df
    for key, value in where.items():
        rows = rows[rows[key] == value]
    assert len(rows) == 1
    return rows.iloc[0]


def test_threshold_is_ten():
    assert privacy.THRESHOLD == 10
    df = _participation(
        [
            ("*", "votes", 100, 40),
            ("parent", "votes", 50, 10),
            ("professeur", "votes", 41, 21),
            ("eleve", "votes", 9, 9),
            ("agent", "votes", 0, 0),
        ]
    )
    mask = privacy.primary(df)
    assert list(mask) == [False, False, False, True, True]


def test_differencing_a_lone_suppressed_part_takes_the_next_smallest():
    # 3 students are hidden; without more, 100 - 60 - 37 would give them away.
    df = _participation(
        [
            ("*", "participants", 100, 100),
            ("professeur", "participants", 60, 60),
            ("parent", "participants", 37, 37),
            ("eleve", "participants", 3, 3),
        ]
    )
    out = privacy.suppress("participation", df)
    assert list(out["suppressed"]) == [False, False, True, True]
    parents = _row(out, audience="parent")
    assert parents["value"] is None and parents["people"] is None
    assert _row(out, audience="*")["value"] == 100
    # What is still shown cannot isolate either hidden figure.
    shown = out[~out["suppressed"] & (out["audience"] != "*")]
    assert 100 - shown["value"].sum() == 40  # parents + students together, not apart


def test_two_suppressed_parts_need_nothing_more():
    df = _participation(
        [
            ("*", "votes", 120, 50),
            ("professeur", "votes", 100, 40),
            ("parent", "votes", 12, 6),
            ("eleve", "votes", 8, 4),
        ]
    )
    out = privacy.suppress("participation", df)
    assert list(out["suppressed"]) == [False, False, True, True]


def test_hidden_total_protects_its_parts():
    # The total itself is under the threshold: every part is too (distinct people).
    df = _participation([("*", "ideas", 8, 8), ("parent", "ideas", 5, 5), ("eleve", "ideas", 3, 3)])
    out = privacy.suppress("participation", df)
    assert out["suppressed"].all()
    assert out["value"].isna().all()


def test_groups_are_separate():
    df = _participation(
        [
            ("*", "votes", 100, 100),
            ("professeur", "votes", 95, 95),
            ("eleve", "votes", 5, 5),
            ("*", "comments", 100, 100),
            ("professeur", "comments", 50, 50),
            ("parent", "comments", 50, 50),
        ]
    )
    out = privacy.suppress("participation", df)
    # The lone student row of "votes" takes the teachers with it; comments are untouched.
    votes = out[out["indicator"] == "votes"]
    assert list(votes["suppressed"]) == [False, True, True]
    assert not out[out["indicator"] == "comments"]["suppressed"].any()


def test_cascade_across_groups_until_stable():
    # Académie rows of a région: one académie hidden in audience "parent" forces a second
    # académie to be hidden, which leaves a lone hidden cell in that académie's audiences.
    rows = [
        ("16", "*", "participants", 60, 60),
        ("16", "parent", "participants", 30, 30),
        ("16", "professeur", "participants", 30, 30),
        ("11", "*", "participants", 40, 40),
        ("11", "parent", "participants", 5, 5),
        ("11", "professeur", "participants", 35, 35),
    ]
    df = pd.DataFrame(rows, columns=["academie_code", "audience", "indicator", "value", "people"])
    out = privacy.suppress("participation_territory", df)
    hidden = set(
        zip(
            out[out["suppressed"]]["academie_code"], out[out["suppressed"]]["audience"], strict=True
        )
    )
    # 11/parent (primary); 16/parent (the région's parents total is published elsewhere);
    # then each académie has one hidden audience next to its shown total: the teachers go too.
    assert hidden == {
        ("11", "parent"),
        ("16", "parent"),
        ("11", "professeur"),
        ("16", "professeur"),
    }


def test_adopt_refuse_within_votes_total():
    columns = catalog.spec("forum_themes").column_names
    rows = [
        ("t", "*", "*", "votes", 40, 40),
        ("t", "*", "*", "adopt", 36, 36),
        ("t", "*", "*", "refuse", 4, 4),
    ]
    out = privacy.suppress("forum_themes", pd.DataFrame(rows, columns=columns))
    # 40 votes shown: 4 refusals hidden alone would be 40 - 36.
    assert list(out["suppressed"]) == [False, True, True]


def test_survey_options_are_protected_against_the_base():
    columns = catalog.spec("survey_distribution").column_names
    rows = [
        ("Q", "oui", "*", 30, 33, 30 / 33, None, None, 30),
        ("Q", "non", "*", 3, 33, 3 / 33, None, None, 3),
        ("Q", "oui", "parent", 20, 20, 1.0, None, None, 20),
        ("Q", "oui", "eleve", 10, 13, 10 / 13, None, None, 10),
        ("Q", "non", "eleve", 3, 13, 3 / 13, None, None, 3),
    ]
    out = privacy.suppress("survey_distribution", pd.DataFrame(rows, columns=columns))
    hidden = set(
        zip(out[out["suppressed"]]["option_key"], out[out["suppressed"]]["audience"], strict=True)
    )
    # "non" of everyone and of students are under 10; each then sits alone next to a shown
    # base, so "oui" goes too in both; "oui" of parents stays (its audience group is complete).
    assert ("non", "*") in hidden and ("non", "eleve") in hidden
    assert ("oui", "*") in hidden and ("oui", "eleve") in hidden
    assert ("oui", "parent") not in hidden
    shown = out[~out["suppressed"]]
    assert shown["share"].notna().all()
    assert out[out["suppressed"]][["count", "base", "share"]].isna().all().all()


def test_tables_without_people_pass_unchanged():
    df = pd.DataFrame(
        [("Q1", "Ordinateur <b> ?", "single", "profil")],
        columns=catalog.spec("survey_questions").column_names,
    )
    out = privacy.suppress("survey_questions", df)
    assert not out["suppressed"].any() and out.iloc[0]["label"] == "Ordinateur <b> ?"


def test_open_answer_topics_never_quote_in_public():
    columns = catalog.spec("topics").column_names
    rows = [
        (
            "open_answers",
            1,
            "Tablette et wifi",
            40,
            "tablette, wifi",
            "q1",
            "response:1:T15",
            "q2",
            "r2",
            "q3",
            "r3",
            40,
        ),
        (
            "comments",
            1,
            "ENT",
            30,
            "ent",
            "Citation",
            "comment:4",
            "c2",
            "comment:5",
            "c3",
            "comment:6",
            30,
        ),
        ("ideas", 1, "Rare", 5, "rare", "Idée", "idea:1", None, None, None, None, 5),
    ]
    out = privacy.suppress("topics", pd.DataFrame(rows, columns=columns))
    open_answers, comments, ideas = (out.iloc[i] for i in range(3))
    assert open_answers["quote_1"] is None and open_answers["quote_1_ref"] is None
    assert open_answers["keywords"] == "tablette, wifi" and not open_answers["suppressed"]
    assert comments["quote_1"] == "Citation"
    assert ideas["suppressed"] and ideas["keywords"] is None and ideas["quote_1"] is None
    # The title is made of the keywords: it goes with them.
    assert ideas["label"] is None and open_answers["label"] == "Tablette et wifi"


def test_empty_and_suppressed_frames_keep_their_columns():
    columns = catalog.spec("participation").column_names
    out = privacy.suppress("participation", pd.DataFrame(columns=columns))
    assert list(out.columns) == [*columns, "suppressed"] and out.empty


def _reference_mask(name: str, df: pd.DataFrame) -> pd.Series:
    """The rule written as plainly as possible, row by row: the oracle for the vectorised one."""
    spec = catalog.spec(name)
    people = pd.to_numeric(df["people"], errors="coerce").fillna(0)
    hidden = (pd.to_numeric(df["people"], errors="coerce") < privacy.THRESHOLD).fillna(False)
    hidden = hidden.astype(bool).copy()
    changed = True
    while changed:
        changed = False
        for group in spec.groups:
            if group.part not in df.columns or any(k not in df.columns for k in group.keys):
                continue
            keys = [tuple(str(df.at[i, k]) for k in group.keys) for i in df.index]
            for key in dict.fromkeys(keys):
                rows = [i for i, k in zip(df.index, keys, strict=True) if k == key]
                value = {i: str(df.at[i, group.part]) for i in rows}
                totals = [i for i in rows if group.total is not None and value[i] == group.total]
                parts = [
                    i
                    for i in rows
                    if i not in totals and (group.members is None or value[i] in group.members)
                ]
                lone = len(parts) >= 2 and sum(hidden[i] for i in parts) == 1
                if lone and (group.total is None or any(not hidden[i] for i in totals)):
                    shown = [i for i in parts if not hidden[i]]
                    shown.sort(key=lambda i: (people[i], i))
                    hidden[shown[0]] = True
                    changed = True
    return hidden


def test_vectorised_suppression_matches_the_row_by_row_rule_on_random_tables():
    import random

    rng = random.Random(20201104)
    audiences = ["*", "eleve", "parent", "professeur", "encadrement", "agent"]
    checked = 0
    for name, spec in catalog.TABLES.items():
        if not spec.has_people or not spec.groups:
            continue
        for _trial in range(25):
            rows = []
            for _ in range(rng.randint(2, 40)):
                row = {}
                for column in spec.columns:
                    if column.name == "people":
                        row["people"] = rng.choice([0, 3, 9, 10, 11, 25, 300])
                    elif column.name == "audience":
                        row["audience"] = rng.choice(audiences)
                    elif column.kind == "dim" or column.kind == "text":
                        row[column.name] = rng.choice(["a", "b", "c", "*"])
                    else:
                        row[column.name] = rng.randint(0, 50)
                rows.append(row)
            df = pd.DataFrame(rows, columns=[c.name for c in spec.columns])
            expected = _reference_mask(name, df)
            assert privacy.suppression_mask(name, df).tolist() == expected.tolist(), name
            checked += 1
    assert checked >= 100
