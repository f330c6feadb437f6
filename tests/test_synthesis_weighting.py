"""Weighting to a reference population: post-stratification and raking against hand
computations on a 2 × 2 case, Kish's effective sample size, the validated CSV upload, and the
weighted shares of the compiled questionnaire tables."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from synthesis import engine, store, weighting
from synthesis.catalog import resolve_scope
from synthesis.models import ReferencePopulation
from synthesis.weighting import ReferenceError, parse_reference_csv
from tests.factories import UserFactory
from tests.synthesis_factories import MONTPELLIER, TOULOUSE, build_dataset

SAMPLE = pd.DataFrame(
    [("eleve", "16", 20), ("eleve", "11", 30), ("parent", "16", 10), ("parent", "11", 40)],
    columns=["audience", "academie_code", "n"],
)
POPULATION = pd.DataFrame(
    [("eleve", "16", 300), ("eleve", "11", 200), ("parent", "16", 100), ("parent", "11", 400)],
    columns=["audience", "academie_code", "population"],
)


def _weights(result: weighting.Weights) -> dict[tuple[str, str], float]:
    w = result.cell_weights
    return dict(zip(zip(w["audience"], w["academie_code"], strict=True), w["weight"], strict=True))


def test_poststratification_by_hand():
    result = weighting.poststratify(SAMPLE, POPULATION)
    w = _weights(result)
    # (N_c / N) / (n_c / n): 0.3 / 0.2, 0.2 / 0.3, 0.1 / 0.1, 0.4 / 0.4.
    assert w[("eleve", "16")] == pytest.approx(1.5)
    assert w[("eleve", "11")] == pytest.approx(2 / 3)
    assert w[("parent", "16")] == pytest.approx(1.0)
    assert w[("parent", "11")] == pytest.approx(1.0)
    # Kish: (Σw)² / Σw² = 100² / (20·2.25 + 30·4/9 + 10 + 40).
    assert result.effective_n == pytest.approx(10_000 / (45 + 40 / 3 + 50))
    assert result.method == "poststratification" and result.empty_cells == []


def test_raking_by_hand():
    result = weighting.rake(SAMPLE, POPULATION)
    assert result.converged and 1 < result.iterations < 100
    # A 2 × 2 table raked to margins (50, 50) × (40, 60) keeps the sample's odds ratio
    # 20·40 / (30·10) = 8/3: x(10 + x) / ((50 − x)(40 − x)) = 8/3 → x² − 150x + 3200 = 0.
    x = (150 - math.sqrt(150**2 - 4 * 3200)) / 2
    w = _weights(result)
    assert w[("eleve", "16")] == pytest.approx(x / 20, abs=1e-6)
    assert w[("eleve", "11")] == pytest.approx((50 - x) / 30, abs=1e-6)
    assert w[("parent", "16")] == pytest.approx((40 - x) / 10, abs=1e-6)
    assert w[("parent", "11")] == pytest.approx((10 + x) / 40, abs=1e-6)
    # Margins are met: pupils are half of the weighted sample, Toulouse 40 %.
    n = SAMPLE.set_index(["audience", "academie_code"])["n"]
    weighted = {k: n[k] * v for k, v in w.items()}
    assert weighted[("eleve", "16")] + weighted[("eleve", "11")] == pytest.approx(50)
    assert weighted[("eleve", "16")] + weighted[("parent", "16")] == pytest.approx(40)


def test_raking_reports_cells_without_respondents():
    population = pd.concat(
        [POPULATION, pd.DataFrame([("agent", "16", 50)], columns=POPULATION.columns)]
    )
    result = weighting.rake(SAMPLE, population)
    assert result.empty_cells == [("agent", "16")]
    assert result.converged
    assert set(_weights(result)) == set(_weights(weighting.rake(SAMPLE, POPULATION)))


def test_raking_stops_at_max_iterations():
    result = weighting.rake(SAMPLE, POPULATION, max_iterations=1, tolerance=1e-15)
    assert result.iterations == 1 and not result.converged


def test_kish_effective_n():
    assert weighting.kish([10, 10], [1.0, 1.0]) == pytest.approx(20)
    # Half the respondents weigh 3, half 1: (40)² / (10·9 + 10) = 16.
    assert weighting.kish([10, 10], [3.0, 1.0]) == pytest.approx(16)
    assert weighting.kish([], []) is None


# --- The upload -------------------------------------------------------------------------------


def test_parse_valid_semicolon_and_comma():
    data = b"audience;academie_code;population\neleve;16;1 200\nparent;11;300\n"
    df = parse_reference_csv(b"\xef\xbb\xbf" + data)
    assert df.to_dict("records") == [
        {"audience": "eleve", "academie_code": "16", "population": 1200},
        {"audience": "parent", "academie_code": "11", "population": 300},
    ]
    df = parse_reference_csv(b"Audience,academie_code,population\r\nagent,13,5\r\n\r\n")
    assert list(df["population"]) == [5]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "vide"),
        (b"   \n", "vide"),
        ("audience;academie_code;population\neleve;16;12\n".encode("utf-16"), "UTF-8"),
        ("audience;académie;population\néleve;16;1\n".encode("latin-1"), "UTF-8"),
        (b"public;code;nombre\neleve;16;1\n", "Ligne 1"),
        (b"audience;academie_code;population\n", "aucune ligne"),
        (b"audience;academie_code;population\neleve;99;10\n", "Ligne 2 : académie inconnue"),
        (b"audience;academie_code;population\neleve;16;10\nmaire;16;3\n", "Ligne 3 : public"),
        (b"audience;academie_code;population\nautre;16;3\n", "public inconnu"),
        (b"audience;academie_code;population\neleve;16;-4\n", "négative"),
        (b"audience;academie_code;population\neleve;16;\n", "Ligne 2 : la population manque"),
        (b"audience;academie_code;population\neleve;;4\n", "code d'académie manque"),
        (b"audience;academie_code;population\n;16;4\n", "public manque"),
        (b"audience;academie_code;population\neleve;16;douze\n", "pas un nombre entier"),
        (b"audience;academie_code;population\neleve;16;1.5\n", "pas un nombre entier"),
        (b"audience;academie_code;population\neleve;16;1e9\n", "pas un nombre entier"),
        (b"audience;academie_code;population\neleve;16;999999999999\n", "invraisemblable"),
        (b"audience;academie_code;population\neleve;16;4;9\n", "trois colonnes"),
        (
            b"audience;academie_code;population\neleve;16;4\nparent;16;4\neleve;16;5\n",
            "Ligne 4 : la case eleve × 16 figure déjà ligne 2",
        ),
        (b"audience;academie_code;population\neleve;16;0\n", "totale est nulle"),
        (b"audience;academie_code;population\n<script>;16;4\n", "public inconnu"),
        (b"\x00\x01\x02", "CSV"),
        (b"audience;academie_code;population\n" + b"eleve;16;1\n" * 100_000, "volumineux"),
    ],
)
def test_parse_rejects_bad_uploads(content, message):
    with pytest.raises(ReferenceError) as error:
        parse_reference_csv(content)
    assert message in str(error.value)


def test_save_reference_deactivates_the_previous(session):
    user = UserFactory()
    df = parse_reference_csv(b"audience;academie_code;population\neleve;16;10\n")
    first = weighting.save_reference(session, df, "Effectifs 2020", "DEPP, RERS 2020", user)
    second = weighting.save_reference(session, df, "Effectifs 2021", "DEPP, RERS 2021", user)
    with pytest.raises(ReferenceError):
        weighting.save_reference(session, df, "", "DEPP", user)
    with pytest.raises(ReferenceError):
        weighting.save_reference(session, df, "Sans source", "  ", user)
    with pytest.raises(ReferenceError):
        weighting.save_reference(session, df, "x" * 201, "DEPP", user)
    session.refresh(first)
    assert not first.active and second.active
    assert second.rows == [["eleve", "16", 10]] and second.uploaded_by_id == user.id
    assert session.query(ReferencePopulation).filter_by(active=True).count() == 1
    assert engine.active_reference(session).id == second.id


# --- In the compiled tables -------------------------------------------------------------------


def test_weighted_shares_in_the_compilation(session):
    build_dataset(session)
    # Respondents: 12 Toulouse teachers, 11 Montpellier teachers. Population: 100 and 300.
    df = parse_reference_csv(
        f"audience;academie_code;population\nprofesseur;{TOULOUSE};100\n"
        f"professeur;{MONTPELLIER};300\n".encode()
    )
    weighting.save_reference(session, df, "Enseignants", "Source citée", None)
    compilation = engine.compile_all(session, scopes=[resolve_scope("national")], topics=False)
    assert compilation.reference_id is not None
    tables = store.load(session, "national", "", public=False)
    dist = tables["survey_distribution"]
    urbain = dist[(dist["question_key"] == "C01") & (dist["option_key"] == "urbain")]
    everyone = urbain[urbain["audience"] == "*"].iloc[0]
    # Unweighted 20/23 stays; weighted: 1/4 · 9/12 + 3/4 · 11/11 = 0.9375.
    assert everyone["share"] == pytest.approx(20 / 23, abs=1e-6)
    assert everyone["weighted_share"] == pytest.approx(0.9375, abs=1e-6)
    w16 = (100 / 400) / (12 / 23)
    w11 = (300 / 400) / (11 / 23)
    kish = 23**2 / (12 * w16**2 + 11 * w11**2)
    assert everyone["effective_n"] == pytest.approx(kish, abs=1e-3)
    # Only the all-audience rows carry a weighted figure.
    assert urbain[urbain["audience"] != "*"]["weighted_share"].isna().all()
    meta = store.meta(session, "national", "")
    assert meta["weighting"]["method"] == "poststratification"
    assert meta["weighting"]["respondents"] == 23
