"""The disclosure attacker on the surfaces outside the synthesis package: the home page, every
territory page (30 académies, 18 régions) and the coordinators' questionnaire results.

The attacker reads every people figure those pages print (a number, « < 10 », « secret
statistique », or nothing when a breakdown is not shown), writes every additive relation that
holds between them (a total is the sum of its audiences; a région the sum of its académies; the
nation the sum of its régions; a column or row total the sum of its cells; a required question's
respondents are the questionnaire's responses) and solves each hidden small cell's minimum and
maximum by linear programming (scipy's HiGHS). A cell of 1 to 9 people pinned to one whole value
is recovered. The datasets are hostile: a territory with one person (Mayotte), a cell of 10
beside cells of 1 (Toulouse), a région with two académies (Occitanie: Toulouse, Montpellier).
"""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from html import unescape

import numpy as np
import pytest
from scipy.optimize import linprog

from consult.models import Audience
from consult.territories import catalog
from surveys.models import SurveyResponse
from tests.factories import UserFactory
from tests.surveys_factories import load_small, user_with_role
from tests.territorial_factories import IdeaFactory

SMALL, SECRET = "small", "secret"
THRESHOLD = 10
D = 3  # the published ptable's largest noise (synthesis/privacy.py)


# --- The attacker ---------------------------------------------------------------------------------


def figure(html: str) -> int | str | None:
    """A printed cell: its number, SMALL (« < 10 »), SECRET (neutral marker) or None (no figure)."""
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    text = re.sub(r"\(.*?\)", " ", text)  # the share beside a count
    text = re.sub(r"\s+", "", text)
    if "secretstatistique" in text:
        return SECRET
    if text.startswith("<10"):
        return SMALL
    if re.fullmatch(r"\d+", text):
        return int(text)
    return None


def recovered(
    printed: dict[Hashable, int | str],
    relations: list[tuple[Hashable, list[Hashable]]],
    truth: dict[Hashable, int],
    noise: int = D,
) -> dict[Hashable, tuple[float, float]]:
    """The protected cells (true value 1 to 9) the attacker pins to one whole value, with their
    LP interval. The attacker knows the published ptable: a printed figure is its true value
    within ``noise`` either way, and 10 or more (smaller ones are hidden); a printed 0 is 0;
    the neutral marker (« secret statistique », or « < 10 ») is 0 to 9; an unprinted figure is
    0 or more. Only relations true in the data are written."""
    relations = [
        (total, parts)
        for total, parts in relations
        if truth.get(total, 0) == sum(truth.get(p, 0) for p in parts)
    ]
    protected = [k for k, v in truth.items() if 0 < v < THRESHOLD]
    found: dict[Hashable, tuple[float, float]] = {}
    for key in protected:
        if isinstance(printed.get(key), int):
            found[key] = (printed[key], printed[key])  # a small cell printed at all
    unknown = sorted(
        {k for total, parts in relations for k in (total, *parts)} | set(protected),
        key=repr,
    )
    index = {k: i for i, k in enumerate(unknown)}
    rows, rhs = [], []
    for total, parts in relations:
        row = np.zeros(len(unknown))
        for key, sign in [(total, 1.0)] + [(p, -1.0) for p in parts]:
            row[index[key]] += sign
        rows.append(row)
        rhs.append(0.0)
    bounds = []
    for key in unknown:
        shown = printed.get(key)
        if shown == 0:
            bounds.append((0, 0))  # zero is kept zero
        elif isinstance(shown, int):
            bounds.append((max(THRESHOLD, shown - noise), shown + noise))
        elif shown in (SMALL, SECRET):
            bounds.append((0, THRESHOLD - 1))
        else:
            bounds.append((0, None))
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    for key in protected:
        if key in found or key not in index:
            continue
        objective = np.zeros(len(unknown))
        objective[index[key]] = 1
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0, (key, low.message)  # the true data satisfy every relation
        if high.status != 0:
            continue  # unbounded above: not pinned
        if math.floor(-high.fun + 1e-6) - math.ceil(low.fun - 1e-6) < 1:
            found[key] = (low.fun, -high.fun)
    return found


# --- Home and territory pages ---------------------------------------------------------------------

# Everyone takes part (one published idea each), so the registered accounts, the compiled
# participants and the truth are the same figures.
PEOPLE = {
    "43": {"eleve": 1},  # Mayotte, a région académique of its own: one person
    "16": {"professeur": 10, "parent": 1, "agent": 1},  # Toulouse: 10 beside 1s
    "11": {"professeur": 12, "eleve": 12, "parent": 2},  # Montpellier, Toulouse's région
    "13": {"professeur": 15, "parent": 11, "eleve": 3},  # Poitiers
}
AUDIENCES = [a.value for a in Audience]


def _people_dataset() -> None:
    for academie, counts in PEOPLE.items():
        for audience, count in counts.items():
            for _ in range(count):
                user = UserFactory(
                    academie_code=academie,
                    audience=audience,
                    school_level="college" if audience == "eleve" else None,
                )
                IdeaFactory(author=user)


def _truth() -> dict[Hashable, int]:
    cat = catalog()
    truth: dict[Hashable, int] = {}
    for code in cat.academies:
        for audience in AUDIENCES:
            truth[("academie", code, audience)] = PEOPLE.get(code, {}).get(audience, 0)
    for code, region in cat.regions.items():
        for audience in AUDIENCES:
            truth[("region", code, audience)] = sum(
                truth[("academie", a, audience)] for a in region.academie_codes
            )
    for audience in AUDIENCES:
        truth[("national", "", audience)] = sum(
            truth[("academie", a, audience)] for a in cat.academies
        )
    for key in list(truth):
        kind, code, _audience = key
        truth[(kind, code, "*")] = truth.get((kind, code, "*"), 0) + truth[key]
    return truth


def _relations(across: bool) -> list[tuple[Hashable, list[Hashable]]]:
    """Each page's total = the sum of its audiences; ``across`` adds the territory hierarchy."""
    cat = catalog()
    scopes = [("national", "")] + [("region", c) for c in cat.regions]
    scopes += [("academie", c) for c in cat.academies]
    relations = [((k, c, "*"), [(k, c, a) for a in AUDIENCES]) for k, c in scopes]
    for audience in [*AUDIENCES, "*"] if across else []:
        relations.append(
            (("national", "", audience), [("region", c, audience) for c in cat.regions])
        )
        for code, region in cat.regions.items():
            relations.append(
                (
                    ("region", code, audience),
                    [("academie", a, audience) for a in region.academie_codes],
                )
            )
    return relations


TOTAL_PATTERNS = (
    r"Participants aux forums, boîtes à idées et Retex : (.*?)</li>",
    r"\(dernière synthèse\) : (.*?)</p>",
    r'consult-counter">([^<]*)</p>\s*<p class="fr-tile__desc">participants inscrits',
)


def _people_on(html: str, kind: str, code: str, labels: dict[str, str]) -> dict:
    printed: dict[Hashable, int | str] = {}
    for label, cell in re.findall(r'<th scope="row">([^<]+)</th><td>(.*?)</td>', html):
        label = unescape(label).strip()
        if label in labels:
            printed[(kind, code, labels[label])] = figure(cell)
        elif label == "Total":
            printed[(kind, code, "*")] = figure(cell)
    for pattern in TOTAL_PATTERNS:
        match = re.search(pattern, html)
        if match and (kind, code, "*") not in printed:
            printed[(kind, code, "*")] = figure(match.group(1))
    return {k: v for k, v in printed.items() if v is not None}


def _crawl(client, app) -> dict[Hashable, int | str]:
    with app.test_request_context():
        labels = {str(a.plural_label): a.value for a in Audience}
    cat = catalog()
    printed = _people_on(client.get("/").get_data(as_text=True), "national", "", labels)
    for code, acad in cat.academies.items():
        html = client.get(f"/territoires/{acad.slug}/").get_data(as_text=True)
        printed.update(_people_on(html, "academie", code, labels))
    for code, region in cat.regions.items():
        html = client.get(f"/territoires/region/{region.slug}/").get_data(as_text=True)
        printed.update(_people_on(html, "region", code, labels))
    return printed


def _compile(session) -> None:
    from synthesis import engine

    engine.compile_all(session, topics=False)
    session.flush()


def test_no_people_figure_before_the_first_compilation(app, client, session) -> None:
    """Live counts of people are never printed: before any compilation there is none."""
    _people_dataset()
    session.flush()
    printed = _crawl(client, app)
    assert printed == {}
    home = client.get("/").get_data(as_text=True)
    assert "seront publiés avec la première synthèse" in home
    html = client.get("/territoires/mayotte/").get_data(as_text=True)
    assert "seront publiés avec la première synthèse" in html
    assert "Personnes ayant" not in html  # no idea authors, no distinct supporters


def test_pages_print_only_the_compilations_protected_figures(app, client, session) -> None:
    """Every people figure of the home and territory pages is the compiled public figure of
    that scope (or left out): the pages publish nothing the compile-wide protection did not
    decide, so they cannot leak more than the compiled tables."""
    from synthesis import store

    _people_dataset()
    session.flush()
    _compile(session)
    printed = _crawl(client, app)
    assert printed, "the pages print the compiled figures"
    by_scope: dict[tuple[str, str], dict] = {}
    for (kind, code, audience), shown in printed.items():
        if (kind, code) not in by_scope:
            with app.app_context():  # the app's disclosure key
                table = store.load(session, kind, code, public=True, tables=["participation"])
            df = table["participation"]
            by_scope[(kind, code)] = {
                r["audience"]: (None if r["suppressed"] else int(r["value"]))
                for r in df[df["indicator"] == "participants"].to_dict("records")
            }
        compiled = by_scope[(kind, code)].get(audience, 0)
        if compiled is None:
            assert shown == SECRET, (kind, code, audience, shown)
        else:
            assert shown == compiled, (kind, code, audience, shown, compiled)


def test_attacker_recovers_no_small_cell_from_one_page(app, client, session) -> None:
    """Fails on the code before this change: the live counts printed each audience « < 10 »
    beside the exact total (Toulouse: 12 - 10 = 1 + 1, so each is 1)."""
    _people_dataset()
    session.flush()
    _compile(session)
    printed = _crawl(client, app)
    found = recovered(printed, _relations(across=False), _truth())
    assert not found, found


def test_attacker_recovers_no_small_cell_across_territories(app, client, session) -> None:
    """Also fails on the code before this change (a région minus its académies' live counts).
    The pages print only the compiled figures (test above), so this holds exactly as far as the
    compile-wide protection of the participation tables holds."""
    _people_dataset()
    session.flush()
    _compile(session)
    printed = _crawl(client, app)
    found = recovered(printed, _relations(across=True), _truth())
    assert not found, found


# --- Coordinators' questionnaire results ----------------------------------------------------------

# Q1 (single choice: oui, non) of the small questionnaire, by audience and académie: a cell of 10
# beside cells of 1, a one-person académie (Mayotte).
ANSWERS = [
    ("eleve", "16", "oui", 10),
    ("eleve", "43", "non", 1),
    ("professeur", "16", "oui", 1),
    ("professeur", "13", "oui", 12),
    ("professeur", "11", "non", 1),
]


def _tables(html: str) -> list[list[list[str]]]:
    tables = []
    for table in re.findall(r"<table>(.*?)</table>", html, re.S):
        rows = []
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
            rows.append(re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S))
        tables.append(rows)
    return tables


def _survey_printed(client) -> tuple[dict, list]:
    printed: dict[Hashable, int | str | None] = {}
    relations: list[tuple[Hashable, list[Hashable]]] = []
    labels = {"Élève": "eleve", "Professeur ou professeure": "professeur"}
    home = _tables(client.get("/questionnaire/resultats/").get_data(as_text=True))[0]
    for label, cell in home[1:]:
        printed[("resp", labels.get(label, "*"))] = figure(cell)
    relations.append((("resp", "*"), [("resp", a) for a in labels.values()]))
    page = client.get("/questionnaire/resultats/Q1").get_data(as_text=True)
    by_audience, by_academie = _tables(page)[0], _tables(page)[-1]
    header = [labels.get(unescape(h), "*") for h in by_audience[0][1:]]
    options = []
    for row in by_audience[1:]:
        name = "r" if row[0] == "Répondants" else unescape(row[0])
        if name != "r":
            options.append(name)
        for audience, cell in zip(header, row[1:], strict=True):
            printed[(name, audience)] = figure(cell)
    academie_header = [unescape(h) for h in by_academie[0][1:]]
    academies = []
    for row in by_academie[1:]:
        academies.append(row[0])
        for column, cell in zip(academie_header, row[1:], strict=True):
            name = "r" if column == "Répondants" else column
            printed[(name, row[0])] = figure(cell)
    for name in [*options, "r"]:
        relations.append(((name, "*"), [(name, a) for a in labels.values()]))
        relations.append(((name, "*"), [(name, a) for a in academies]))
    for column in [*labels.values(), "*", *academies]:
        relations.append((("r", column), [(o, column) for o in options]))
    for audience in [*labels.values(), "*"]:
        relations.append((("r", audience), [("resp", audience)]))  # Q1 is required
    return {k: v for k, v in printed.items() if v is not None}, relations


def test_attacker_recovers_no_small_cell_from_questionnaire_results(
    client, session, app, monkeypatch
) -> None:
    """Fails on the code before this change: the column totals gave the hidden cells back
    (pupils: 11 respondents - 10 « oui » = 1 « non »)."""
    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    truth: dict[Hashable, int] = {}
    names = {"16": "Toulouse", "43": "Mayotte", "13": "Poitiers", "11": "Montpellier"}
    for audience, academie, value, count in ANSWERS:
        label = "Oui <b>" if value == "oui" else "Non"
        for _ in range(count):
            session.add(
                SurveyResponse(
                    questionnaire_id=questionnaire.id,
                    author_audience=audience,
                    author_academie_code=academie,
                    answers={"Q1": value},
                )
            )
        for key in [
            (label, audience),
            (label, "*"),
            (label, names[academie]),
            ("r", audience),
            ("r", "*"),
            ("r", names[academie]),
            ("resp", audience),
            ("resp", "*"),
        ]:
            truth[key] = truth.get(key, 0) + count
    session.flush()
    coordinator = user_with_role("coordinator", "academie", "16")
    client.login(coordinator.email)
    printed, relations = _survey_printed(client)
    assert printed[("r", "*")] == 25
    found = recovered(printed, relations, truth)
    assert not found, found
    # The analyst still reads every figure.
    client.logout()
    client.login(user_with_role("analyst").email)
    printed, _relations = _survey_printed(client)
    assert printed[("Non", "eleve")] == 1 and printed[("Oui <b>", "eleve")] == 10


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("&lt; 10", SMALL),
        ('<span title="x">secret statistique</span> <span>(secret statistique)</span>', SECRET),
        ("1\u202f234 <span>(12.0 %)</span>", 1234),
        ("–", None),
    ],
)
def test_figure_reader(text, expected) -> None:
    assert figure(text) == expected


# --- The results protection on its own -----------------------------------------------------------


def _full_attack(results, protection) -> dict:
    """Every cell of one question's tables as printed, every relation (the unprinted académie
    bucket an unknown), solved."""
    from surveys import disclosure

    keys = [k for k, _label in results.keys]
    cells: dict[Hashable, int] = {("r", "*"): results.overall.respondents}
    relations: list[tuple[Hashable, list[Hashable]]] = []
    for aud, split in results.by_audience.items():
        cells[("r", aud)] = split.respondents
        for k in keys:
            cells[("c", k, aud)] = split.counts[k]
    for acad, split in results.by_academie.items():
        cells[("ar", acad)] = split.respondents
        for k in keys:
            cells[("a", acad, k)] = split.counts[k]
    for k in keys:
        cells[("c", k, "*")] = results.overall.counts[k]
        relations.append((("c", k, "*"), [("c", k, a) for a in results.by_audience]))
        relations.append((("c", k, "*"), [("a", a, k) for a in results.by_academie]))
    relations.append((("r", "*"), [("r", a) for a in results.by_audience]))
    relations.append((("r", "*"), [("ar", a) for a in results.by_academie]))
    relations.append((("r", "*"), [("c", k, "*") for k in keys]))
    for aud in results.by_audience:
        relations.append((("r", aud), [("c", k, aud) for k in keys]))
    for acad in results.by_academie:
        relations.append((("ar", acad), [("a", acad, k) for k in keys]))
    printed = {
        key: disclosure.SECRET if protection.hidden(key) else protection.figure(key, value)
        for key, value in cells.items()
        if not (key[0] in ("a", "ar") and key[1] == "")
    }
    return recovered(printed, relations, cells)


def test_respondents_without_an_academie_stay_in_the_relations(app) -> None:
    """Their bucket is not printed but still counts in the totals: the protection must keep it
    in the relations as an unknown (it used to drop those relations as false)."""
    from types import SimpleNamespace

    from surveys import disclosure
    from surveys.queries import QuestionResults, Split

    def split(**counts: int) -> Split:
        made = Split(respondents=sum(counts.values()))
        made.counts.update(counts)
        return made

    results = QuestionResults(
        question=SimpleNamespace(type="single", code="Q1"),
        keys=[("oui", "Oui"), ("non", "Non"), ("nsp", "NSP")],
        overall=split(oui=30, non=13, nsp=24),
        by_audience={"eleve": split(oui=30, non=13, nsp=24)},
        by_academie={
            "16": split(oui=20, non=1, nsp=12),
            "13": split(oui=10, non=10, nsp=12),
            "": split(non=2),
        },
    )
    with app.app_context():
        protection = disclosure.question(results, False)
        assert protection.hidden(("a", "16", "non"))
        assert not _full_attack(results, protection)


HOSTILE_QUESTIONS = {
    # Three hidden audiences sharing a total of 3: the old row protection printed each as 1.
    "three_hidden_audiences": (
        {"eleve": {"oui": 1}, "parent": {"oui": 1}, "agent": {"oui": 1}},
        {"professeur": {"oui": 20, "non": 5}},
    ),
    # A cell of 10 beside cells of 1, all in one académie.
    "ten_beside_ones": ({"professeur": {"oui": 10, "non": 1}, "eleve": {"non": 1}}, {}),
    # One respondent in the whole académie.
    "one_person": ({"eleve": {"nsp": 1}}, {"professeur": {"oui": 14, "non": 11}}),
}


@pytest.mark.parametrize("name", list(HOSTILE_QUESTIONS))
def test_results_protection_on_hostile_tables(app, name) -> None:
    """The first group of audiences answered in Toulouse, the second in Poitiers: every count,
    total and académie figure of the page printed as the protection says, every relation solved."""
    from types import SimpleNamespace

    from surveys import disclosure
    from surveys.queries import QuestionResults, Split

    keys = [("oui", "Oui"), ("non", "Non"), ("nsp", "NSP")]

    def split(counts: dict[str, int]) -> Split:
        made = Split(respondents=sum(counts.values()))
        made.counts.update(counts)
        return made

    def merged(*groups: dict[str, dict[str, int]]) -> dict[str, int]:
        total: dict[str, int] = {}
        for group in groups:
            for counts in group.values():
                for key, count in counts.items():
                    total[key] = total.get(key, 0) + count
        return total

    toulouse, poitiers = HOSTILE_QUESTIONS[name]
    audiences = {a: split(merged({a: toulouse.get(a, {})}, {a: poitiers.get(a, {})}))
                 for a in {*toulouse, *poitiers}}  # fmt: skip
    results = QuestionResults(
        question=SimpleNamespace(type="single", code="Q1"),
        keys=keys,
        overall=split(merged(toulouse, poitiers)),
        by_audience=audiences,
        by_academie={"16": split(merged(toulouse)), "13": split(merged(poitiers))},
    )
    with app.app_context():
        protection = disclosure.question(results, False)
    assert not _full_attack(results, protection)
    # Every small cell is hidden, every other one printed within the ptable's bound.
    for key, value in [(("c", k, a), s.counts[k]) for a, s in audiences.items() for k, _l in keys]:
        if 0 < value < THRESHOLD:
            assert protection.hidden(key), key
        elif value >= THRESHOLD:
            assert abs(protection.figure(key, value) - value) <= D
