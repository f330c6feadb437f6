"""Questionnaire: engine, definitions, answering, codes, permissions, hostile input, exports."""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import re
import zipfile
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from consult.db import utcnow
from surveys import engine, exports, queries, services
from surveys.demo import Answerer
from surveys.models import (
    AccessCode,
    AccessCodeBatch,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
)
from surveys.permissions import Permission, policy
from surveys.services import Respondent, SurveyError
from tests.surveys_factories import (
    CODE_RE,
    load_small,
    small_definition,
    user_with_role,
)

EGN = engine.load_file(engine.default_path())


@pytest.fixture
def mini(session, app, monkeypatch):
    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    return questionnaire


# --- The definition file ------------------------------------------------------------------------


def test_egn_definition_has_a_real_path_for_every_audience() -> None:
    for audience in EGN.audiences:
        count = len(EGN.questions_for(audience))
        assert 25 <= count <= 40, (audience, count)
    types = {q.type for q in EGN.questions}
    assert types == set(engine.QUESTION_TYPES)
    assert sum(1 for q in EGN.questions if q.condition) >= 15


def test_definition_round_trips_through_its_data() -> None:
    assert engine.parse(EGN.to_data()).to_data() == EGN.to_data()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: d["sections"][0]["questions"].append(d["sections"][0]["questions"][0]),
            "double",
        ),
        (lambda d: d["sections"][0]["questions"][0].update(type="slider"), "type inconnu"),
        (
            lambda d: d["sections"][0]["questions"][0].update(
                condition={"question": "Q3", "in": ["a"]}
            ),
            "plus loin",
        ),
        (
            lambda d: d["sections"][0]["questions"][1].update(
                condition={"question": "Q1", "in": ["peut-être"]}
            ),
            "valeurs inconnues",
        ),
        (lambda d: d["sections"][0]["questions"][1].update(min=5, max=1), "bornes"),
        (lambda d: d.update(closes="2019-01-01"), "clôture"),
        (lambda d: d["sections"][1].update(audiences=["martien"]), "publics inconnus"),
        (
            lambda d: d["sections"][2]["questions"][0].update(
                condition={"question": "Q4", "answered": True}
            ),
            "parcours",
        ),
        (lambda d: d["sections"][0]["questions"][0].update(code="Q 1<"), "code invalide"),
        (lambda d: d["sections"][1]["questions"][0].update(max_rank=9), "max_rank"),
    ],
)
def test_inconsistent_definitions_are_refused(mutate, message) -> None:
    data = small_definition()
    mutate(data)
    with pytest.raises(engine.DefinitionError, match=message):
        engine.parse(data)


def test_definition_editable_until_opening_then_refused(session) -> None:
    future = date.today() + timedelta(days=30)
    questionnaire = load_small(session, slug="futur", opens=future)
    changed = copy.deepcopy(small_definition(slug="futur", opens=future))
    changed["title"] = "Nouveau titre"
    _q, did = services.load_definition(session, engine.parse(changed), utcnow())
    assert did and questionnaire.title == "Nouveau titre"
    after_opening = datetime.combine(future, datetime.min.time()) + timedelta(hours=1)
    changed["title"] = "Trop tard"
    with pytest.raises(SurveyError, match="ne peut plus être modifiée"):
        services.load_definition(session, engine.parse(changed), after_opening)
    # Loading the same data again is harmless.
    current = engine.parse(questionnaire.definition_data)
    assert services.load_definition(session, current, after_opening) == (questionnaire, False)


def test_admin_edits_definition_in_the_browser_only_before_opening(
    client, session, app, monkeypatch
) -> None:
    future = date.today() + timedelta(days=30)
    questionnaire = load_small(session, slug="futur", opens=future)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", "futur")
    admin = user_with_role("admin", audience="autre")
    client.login(admin.email)
    data = small_definition(slug="futur", opens=future)
    data["title"] = "Titre revu"
    response = client.submit("/questionnaire/definition", {"definition": json.dumps(data)})
    assert response.status_code == 302
    session.refresh(questionnaire)
    assert questionnaire.title == "Titre revu"
    bad = client.submit("/questionnaire/definition", {"definition": "{pas du json"})
    assert bad.status_code == 422
    data["sections"][0]["questions"][0]["type"] = "inconnu"
    bad = client.submit("/questionnaire/definition", {"definition": json.dumps(data)})
    assert bad.status_code == 422 and "type inconnu" in bad.get_data(as_text=True)
    huge = client.submit("/questionnaire/definition", {"definition": "x" * 400_000})
    assert huge.status_code in (413, 422)
    # The EGN questionnaire is open: refused.
    monkeypatch.setitem(app.config, "SURVEY_SLUG", "egn-2020")
    egn = json.dumps(EGN.to_data() | {"title": "Changé"})
    refused = client.submit("/questionnaire/definition", {"definition": egn})
    assert refused.status_code == 409
    assert "ne peut plus être modifiée" in refused.get_data(as_text=True)


def test_cli_load_and_export(app, session, tmp_path) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["surveys", "load"])
    assert result.exit_code == 0, result.output
    assert "inchangé" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"slug": "x"}), encoding="utf-8")
    result = runner.invoke(args=["surveys", "load", str(broken)])
    assert result.exit_code != 0 and "version" in result.output
    out = tmp_path / "codebook.csv"
    result = runner.invoke(args=["surveys", "export", "--format", "codebook", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "C05_aucun" in out.read_text(encoding="utf-8-sig")


# --- The evaluator -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cond", "answers", "expected"),
    [
        ({"question": "A", "in": ["x"]}, {"A": "x"}, True),
        ({"question": "A", "in": ["x"]}, {"A": ["y", "x"]}, True),
        ({"question": "A", "in": ["x"]}, {}, False),
        ({"question": "A", "not_in": ["x"]}, {"A": ["y"]}, True),
        ({"question": "A", "not_in": ["x"]}, {}, False),
        ({"question": "A", "gte": 3}, {"A": 3}, True),
        ({"question": "A", "lte": 3}, {"A": 4}, False),
        ({"question": "A", "answered": True}, {"A": ""}, False),
        ({"all": [{"question": "A", "in": ["x"]}, {"question": "B", "gte": 2}]}, {"A": "x"}, False),
        ({"any": [{"question": "A", "in": ["x"]}, {"question": "B", "gte": 2}]}, {"B": 2}, True),
        ({"not": {"question": "A", "in": ["x"]}}, {"A": "y"}, True),
    ],
)
def test_evaluate(cond, answers, expected) -> None:
    assert engine.evaluate(cond, answers) is expected


def test_prune_hides_transitively() -> None:
    definition = engine.parse(small_definition())
    answers = {"Q1": "non", "Q2": 4, "Q3": ["a"], "Q4": ["x"], "Q6": "ok", "Q7": "tiens"}
    # Q1 = non hides Q2 and the whole pupils' section; Q7 needs Q3 = c.
    assert engine.prune(definition, "eleve", answers) == {"Q1": "non", "Q3": ["a"], "Q6": "ok"}


def test_the_browser_script_implements_the_same_grammar() -> None:
    from consult.config import ROOT

    script = (ROOT / "static" / "js" / "surveys.js").read_text(encoding="utf-8")
    for operator in ("cond.all", "cond.any", "cond.not", "cond.in", "cond.not_in", "gte"):
        assert operator in script


# --- Answer validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "raw", "message"),
    [
        ("Q1", ["peut-être"], "proposées"),
        ("Q1", ["oui", "non"], "proposées"),
        ("Q2", ["11"], "entre 1 et 10"),
        ("Q2", ["-1"], "entre 1 et 10"),
        ("Q2", ["2.5"], "entier"),
        ("Q2", ["9" * 40], "entier"),
        ("Q3", ["a", "b", "c"], "au plus 2"),
        ("Q3", ["a", "a"], "proposées"),
        ("Q3", ["<script>"], "proposées"),
        ("Q4", ["x", "x"], "qu'une fois"),
        ("Q4", ["x", "y", "z"], "au plus 2"),
        ("Q4", ["w"], "éléments proposés"),
        ("Q5", ["6"], "1 à 5"),
        ("Q5", ["0"], "1 à 5"),
        ("Q6", ["é" * 3001], "3000"),
        ("Q7", ["x" * 301], "300"),
    ],
)
def test_clean_answer_refuses_out_of_range(code, raw, message) -> None:
    definition = engine.parse(small_definition())
    with pytest.raises(engine.AnswerError, match=message):
        engine.clean_answer(definition.question(code), raw)


def test_clean_answer_normalises() -> None:
    definition = engine.parse(small_definition())
    assert engine.clean_answer(definition.question("Q3"), ["c", "a"]) == ["a", "c"]
    assert engine.clean_answer(definition.question("Q2"), [" 7 "]) == 7
    assert engine.clean_answer(definition.question("Q4"), ["z", ""]) == ["z"]
    assert engine.clean_answer(definition.question("Q6"), ["  "]) is None


# --- Property tests ------------------------------------------------------------------------------


def _raw_strategy(question: engine.Question):
    valid = list(question.option_values) or ["1", "2", "3", "4", "5"]
    junk = st.text(max_size=20)
    values = st.one_of(st.sampled_from(valid), junk, st.integers(-5, 100).map(str))
    return st.lists(values, max_size=5)


@st.composite
def _raw_answers(draw, definition: engine.Definition, audience: str):
    raw = {}
    for question in definition.questions_for(audience):
        if draw(st.booleans()):
            raw[question.code] = draw(_raw_strategy(question))
    # Answers to other tracks' questions (tampering).
    for question in definition.questions:
        if draw(st.integers(0, 20)) == 0:
            raw[question.code] = draw(_raw_strategy(question))
    return raw


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_property_whatever_is_sent_what_is_kept_satisfies_the_definition(data) -> None:
    audience = data.draw(st.sampled_from(EGN.audiences))
    raw = data.draw(_raw_answers(EGN, audience))
    kept = {}
    for code, values in raw.items():
        try:
            value = engine.clean_answer(EGN.question(code), values)
        except engine.AnswerError:
            continue
        if value is not None:
            kept[code] = value
    answers, missing = engine.validate_all(EGN, audience, kept)
    visible = {q.code for q in engine.visible_questions(EGN, audience, answers)}
    assert set(answers) <= visible
    for code, value in answers.items():
        raw_again = value if isinstance(value, list) else [str(value)]
        assert engine.clean_answer(EGN.question(code), [str(v) for v in raw_again]) == value
    if not missing:
        engine.check_stored(EGN, audience, answers)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), audience=st.sampled_from(EGN.audiences))
def test_property_demo_answers_respect_conditions(seed, audience) -> None:
    answers = Answerer(EGN, audience).answer(random.Random(seed))
    engine.check_stored(EGN, audience, answers)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_property_submitted_response_always_satisfies_definition(session, mini, data) -> None:
    definition = mini.definition
    audience = data.draw(st.sampled_from(definition.audiences))
    user = user_with_role(None, audience=audience)
    respondent = Respondent.of_user(user)
    now = utcnow()
    draft = services.start(session, mini, respondent, now)
    raw = data.draw(_raw_answers(definition, audience))
    from werkzeug.datastructures import MultiDict

    for section in definition.sections_for(audience):
        form = MultiDict([(f"q_{c}", v) for c, vs in raw.items() for v in vs])
        services.save_page(session, mini, respondent, draft, section, form, False, now)
    try:
        with session.begin_nested():
            response = services.submit(session, mini, respondent, draft, now)
    except SurveyError:
        assert session.get(SurveyDraft, draft.id) is not None
        return
    engine.check_stored(definition, audience, response.answers)


# --- Answering through the pages -----------------------------------------------------------------


def test_pages_need_a_respondent(client, mini) -> None:
    response = client.get("/questionnaire/page/1")
    assert response.status_code == 302
    response = client.submit("/questionnaire/commencer", {}, page="/questionnaire/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/questionnaire/")


def test_markup_in_definition_is_escaped(client, session, mini) -> None:
    user = user_with_role(None, audience="eleve")
    client.login(user.email)
    client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    page = client.get("/questionnaire/page/1").get_data(as_text=True)
    assert "Ordinateur &lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>x</script>" not in page
    index = client.get("/questionnaire/").get_data(as_text=True)
    assert "Mini &lt;script&gt;" in index


def test_hostile_page_posts_leave_nothing_half_saved(client, session, mini) -> None:
    user = user_with_role(None, audience="eleve")
    client.login(user.email)
    client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    draft = session.scalar(select(SurveyDraft).where(SurveyDraft.user_id == user.id))
    cases = [
        {"q_Q1": "peut-être"},
        {"q_Q1": "oui", "q_Q2": "999", "q_Q3": "a"},
        {"q_Q1": "oui", "q_Q2": "2", "q_Q3": ["a", "b", "c"]},
        {"q_Q1": "x" * 10_000},
        {"q_Q1": "<script>alert(1)</script>", "q_Q3": "a"},
        {},  # required answers missing
    ]
    for data in cases:
        response = client.submit("/questionnaire/page/1", {"action": "suivant", **data})
        assert response.status_code == 422, data
        assert "<script>alert(1)</script>" not in response.get_data(as_text=True)
        session.expire_all()
        assert session.get(SurveyDraft, draft.id).answers == {}
    # Without CSRF token.
    response = client.post("/questionnaire/page/1", data={"q_Q1": "oui", "action": "suivant"})
    assert response.status_code == 400
    # Tampered page numbers and action.
    assert client.get("/questionnaire/page/0").status_code == 404
    assert client.get("/questionnaire/page/99").status_code == 302
    response = client.submit(
        "/questionnaire/page/1", {"action": "<b>", "q_Q1": "non", "q_Q2": "4", "q_Q3": "a"}
    )
    assert response.status_code == 302
    session.expire_all()
    # Q2 is hidden by Q1 = non: dropped, never stored.
    assert session.get(SurveyDraft, draft.id).answers == {"Q1": "non", "Q3": ["a"]}


def test_back_keeps_answers_and_tracks_follow_audience(client, session, mini) -> None:
    student = user_with_role(None, audience="eleve")
    client.login(student.email)
    client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    client.submit(
        "/questionnaire/page/1", {"action": "suivant", "q_Q1": "oui", "q_Q2": "3", "q_Q3": "b"}
    )
    page2 = client.get("/questionnaire/page/2").get_data(as_text=True)
    assert "Élèves seulement" in page2
    response = client.submit("/questionnaire/page/2", {"action": "precedent", "q_Q4": ["y"]})
    assert response.headers["Location"].endswith("/questionnaire/page/1")
    page1 = client.get("/questionnaire/page/1").get_data(as_text=True)
    assert 'value="3"' in page1
    assert 'value="oui" checked' in page1
    client.logout()
    teacher = user_with_role(None, audience="professeur")
    client.login(teacher.email)
    client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    client.submit(
        "/questionnaire/page/1", {"action": "suivant", "q_Q1": "oui", "q_Q2": "3", "q_Q3": "b"}
    )
    assert "Élèves seulement" not in client.get("/questionnaire/page/2").get_data(as_text=True)


def test_review_refuses_incomplete_and_audience_without_track(client, session, mini) -> None:
    other = user_with_role(None, audience="autre")
    client.login(other.email)
    response = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    assert response.status_code == 403
    assert "parcours" in response.get_data(as_text=True)
    client.logout()
    student = user_with_role(None, audience="eleve")
    client.login(student.email)
    client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    review = client.get("/questionnaire/relecture")
    assert "À compléter" in review.get_data(as_text=True)
    response = client.submit("/questionnaire/relecture", {})
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_closed_and_not_yet_open_questionnaires_refuse_answers(
    client, session, app, monkeypatch
) -> None:
    load_small(session, slug="clos", opens=date(2019, 1, 1), closes=date(2020, 1, 1))
    load_small(session, slug="bientot", opens=date(2098, 1, 1), closes=date(2099, 1, 1))
    user = user_with_role(None, audience="eleve")
    client.login(user.email)
    for slug, message in (("clos", "clos"), ("bientot", "ouvrira")):
        monkeypatch.setitem(app.config, "SURVEY_SLUG", slug)
        response = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
        assert response.status_code == 403
        assert message in response.get_data(as_text=True)


def test_submitting_after_closing_is_refused_and_draft_kept(session, mini) -> None:
    user = user_with_role(None, audience="professeur")
    respondent = Respondent.of_user(user)
    draft = services.start(session, mini, respondent, utcnow())
    draft.answers = {"Q1": "non", "Q3": ["a"]}
    with pytest.raises(SurveyError, match="clos"):
        services.submit(session, mini, respondent, draft, mini.closes_at + timedelta(seconds=1))
    assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 0


def test_one_response_per_participant_is_a_database_constraint(session, mini) -> None:
    from sqlalchemy.exc import IntegrityError

    user = user_with_role(None, audience="professeur")
    session.add(SurveyParticipation(questionnaire_id=mini.id, user_id=user.id))
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(SurveyParticipation(questionnaire_id=mini.id, user_id=user.id))
        session.flush()


# --- Access codes --------------------------------------------------------------------------------


def _batch(session, questionnaire, size=3, days=10, academie="13", audience="eleve"):
    coordinator = user_with_role("coordinator", "academie", academie)
    return services.create_batch(
        session,
        questionnaire,
        coordinator,
        label="Classe",
        audience=audience,
        academie_code=academie,
        size=size,
        valid_days=days,
        now=utcnow(),
    )


def test_codes_unknown_used_expired(client, session, mini) -> None:
    batch = _batch(session, mini)
    code = batch.codes[0]
    assert len({c.code for c in batch.codes}) == 3
    for raw, status in (("", 422), ("AAAA-BBBB-CC", 404), ("x" * 40, 422), ("<script>", 404)):
        response = client.submit("/questionnaire/code", {"code": raw})
        assert response.status_code == status, raw
    code.used_at = utcnow()
    session.flush()
    assert client.submit("/questionnaire/code", {"code": code.code}).status_code == 409
    batch.expires_at = utcnow() - timedelta(minutes=1)
    session.flush()
    expired = client.submit("/questionnaire/code", {"code": batch.codes[1].code})
    assert expired.status_code == 410 and "expiré" in expired.get_data(as_text=True)


def test_code_draft_resumes_with_the_same_code(client, session, mini) -> None:
    batch = _batch(session, mini)
    code = services.format_code(batch.codes[0].code)
    client.submit("/questionnaire/code", {"code": code})
    client.submit(
        "/questionnaire/page/1", {"action": "brouillon", "q_Q1": "oui", "q_Q2": "2", "q_Q3": "a"}
    )
    client.submit("/questionnaire/code/quitter", {}, page="/questionnaire/")
    assert client.get("/questionnaire/page/1").status_code == 302
    response = client.submit("/questionnaire/code", {"code": code})
    assert response.headers["Location"].endswith("/questionnaire/page/1")
    assert 'value="2"' in client.get("/questionnaire/page/1").get_data(as_text=True)


def test_a_code_cannot_be_used_twice_even_in_two_tabs(session, mini) -> None:
    batch = _batch(session, mini)
    access = batch.codes[0]
    respondent = Respondent.of_code(access)
    now = utcnow()
    draft = services.start(session, mini, respondent, now)
    draft.answers = {"Q1": "non", "Q3": ["a"]}
    services.submit(session, mini, respondent, draft, now)
    other = SurveyDraft(questionnaire_id=mini.id, access_code_id=access.id, answers=draft.answers)
    session.add(other)
    session.flush()
    with pytest.raises(SurveyError, match="déjà servi"):
        services.submit(session, mini, respondent, other, now)


def test_batch_form_hostile_input_and_territory(client, session, mini) -> None:
    coordinator = user_with_role("coordinator", "academie", "13")
    client.login(coordinator.email)
    page = client.get("/questionnaire/codes/nouveau").get_data(as_text=True)
    assert 'value="13"' in page and 'value="01"' not in page  # only their académie
    base = {"label": "Classe", "audience": "eleve", "academie": "13", "size": "5"}
    for override in (
        {"academie": "01"},
        {"audience": "martien"},
        {"size": "501"},
        {"size": "-1"},
        {"size": "abc"},
        {"label": ""},
        {"label": "x" * 10_000},
        {"valid_days": "999"},
    ):
        data = base | {"valid_days": "10"} | override
        response = client.submit("/questionnaire/codes/nouveau", data)
        assert response.status_code == 422, override
    assert session.scalar(select(func.count()).select_from(AccessCodeBatch)) == 0
    response = client.post("/questionnaire/codes/nouveau", data=base | {"valid_days": "10"})
    assert response.status_code == 400


def test_sheet_only_for_coordinators_of_its_academie(client, session, mini) -> None:
    batch = _batch(session, mini, academie="13")
    outsider = user_with_role("coordinator", "academie", "01")
    client.login(outsider.email)
    assert client.get(f"/questionnaire/codes/{batch.id}").status_code == 403
    assert client.get("/questionnaire/codes/999999").status_code == 404
    client.logout()
    region = user_with_role("coordinator", "region", "75")  # Nouvelle-Aquitaine covers Poitiers
    client.login(region.email)
    sheet = client.get(f"/questionnaire/codes/{batch.id}").get_data(as_text=True)
    assert len(CODE_RE.findall(sheet)) == 3


# --- Permissions ---------------------------------------------------------------------------------

ROLES = {
    "anonymous": None,
    "participant": (None, "national", ""),
    "coordinator": ("coordinator", "academie", "13"),
    "analyst": ("analyst", "national", ""),
    "admin": ("admin", "national", ""),
}
MATRIX = {
    (Permission.CODES_MANAGE, None): {"coordinator", "admin"},
    (Permission.CODES_MANAGE, "13"): {"coordinator", "admin"},
    (Permission.CODES_MANAGE, "01"): {"admin"},
    (Permission.RESULTS_VIEW, None): {"coordinator", "analyst", "admin"},
    (Permission.RESULTS_UNSUPPRESSED, None): {"analyst", "admin"},
    (Permission.EXPORT, None): {"analyst", "admin"},
    (Permission.DEFINITION_EDIT, None): {"admin"},
}


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize(("permission", "obj"), list(MATRIX))
def test_permission_matrix(session, role, permission, obj) -> None:
    spec = ROLES[role]
    user = None if spec is None else user_with_role(*spec)
    assert policy(user, permission, obj) is (role in MATRIX[(permission, obj)])


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/questionnaire/resultats/", {"coordinator", "analyst", "admin"}),
        ("/questionnaire/resultats/C02", {"coordinator", "analyst", "admin"}),
        ("/questionnaire/resultats/C34", {"analyst", "admin"}),
        ("/questionnaire/export/reponses.csv", {"analyst", "admin"}),
        ("/questionnaire/export/codebook.csv", {"analyst", "admin"}),
        ("/questionnaire/codes/", {"coordinator", "admin"}),
        ("/questionnaire/definition", {"admin"}),
    ],
)
def test_protected_pages(client, session, url, allowed) -> None:
    for role, spec in ROLES.items():
        if spec is not None:
            client.login(user_with_role(*spec).email)
        status = client.get(url).status_code
        if role in allowed:
            assert status == 200, (role, url)
        else:
            assert status == (302 if spec is None else 403), (role, url, status)
        if spec is not None:
            client.logout()


# --- Results and exports -------------------------------------------------------------------------


def _responses(session, questionnaire, count, audience="eleve", academie="13", seed=0):
    rng = random.Random(seed)
    answerer = Answerer(questionnaire.definition, audience)
    for _ in range(count):
        session.add(
            SurveyResponse(
                questionnaire_id=questionnaire.id,
                author_audience=audience,
                author_academie_code=academie,
                answers=answerer.answer(rng),
            )
        )
    session.flush()


def test_results_suppress_small_cells_outside_analysts(client, session, mini) -> None:
    _responses(session, mini, 12, "eleve")
    _responses(session, mini, 3, "professeur")
    coordinator = user_with_role("coordinator", "academie", "13")
    client.login(coordinator.email)
    page = client.get("/questionnaire/resultats/Q1").get_data(as_text=True)
    # 12 pupils beside 3 teachers under a printed total of 15: the 3 are hidden behind the
    # neutral marker; the 12 and the total are perturbed by their cell keys, so 15 − 12 gives
    # the teachers back only within ±6 (synthesis/privacy.py).
    assert "secret statistique" in page and "&lt; 10" not in page
    teachers = re.search(r"Professeur[^<]*</th><td>([^<]*)<", page)
    assert teachers is None or "secret" in teachers.group(1) or teachers.group(1) == "–"
    client.logout()
    analyst = user_with_role("analyst")
    client.login(analyst.email)
    page = client.get("/questionnaire/resultats/Q1").get_data(as_text=True)
    assert "< 10" not in page and "&lt; 10" not in page
    assert "<td>3</td>" in page
    assert client.get("/questionnaire/resultats/ZZZ").status_code == 404


def test_results_chart_plotly_served_locally_with_scoped_csp(client, session, mini) -> None:
    _responses(session, mini, 12, "eleve")
    analyst = user_with_role("analyst")
    client.login(analyst.email)
    page = client.get("/questionnaire/resultats/Q1")
    csp = page.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in csp and "script-src 'self';" in csp
    html = page.get_data(as_text=True)
    # The partial bundle built by `make assets`, fingerprinted (tests/test_weight.py).
    assert re.search(r'src="/static/vendor/plotly\.min\.[0-9a-f]{12}\.js"', html)
    assert "data-chart=" in html
    assert (
        "unsafe-inline"
        not in client.get("/questionnaire/resultats/").headers["Content-Security-Policy"]
    )
    script = client.get("/questionnaire/vendor/plotly.min.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    script.close()


def test_question_results_counts(session, mini) -> None:
    _responses(session, mini, 30, "eleve", seed=3)
    question = mini.definition.question("Q3")
    results = queries.question_results(session, mini, question)
    stored = session.scalars(select(SurveyResponse.answers)).all()
    expected = sum(1 for a in stored if "a" in a.get("Q3", []))
    assert results.overall.counts["a"] == expected
    assert results.by_audience["eleve"].respondents == sum(1 for a in stored if "Q3" in a)
    assert results.by_academie["13"].respondents == results.overall.respondents
    for code in ("Q1", "Q2", "Q4", "Q5"):
        results = queries.question_results(session, mini, mini.definition.question(code))
        values = [a[code] for a in stored if code in a]
        assert values and results.overall.respondents == len(values)
        if code == "Q2":
            assert results.overall.total == sum(values)
        elif code == "Q4":
            assert results.overall.first == Counter(v[0] for v in values)
            assert results.overall.counts == Counter(x for v in values for x in v)
        else:
            assert results.by_audience["eleve"].counts == Counter(values)


def test_free_text_browsing_masks_and_searches(client, session, mini) -> None:
    for text in ("Appelez le 06 12 34 56 78", "Un ordinateur par élève", "100% d'accord_"):
        session.add(
            SurveyResponse(
                questionnaire_id=mini.id,
                author_audience="eleve",
                author_academie_code="13",
                answers={"Q1": "non", "Q3": ["a"], "Q6": text},
            )
        )
    session.flush()
    analyst = user_with_role("analyst")
    client.login(analyst.email)
    page = client.get("/questionnaire/resultats/Q6").get_data(as_text=True)
    assert "[téléphone masqué]" in page and "06 12 34 56 78" not in page
    page = client.get("/questionnaire/resultats/Q6?q=ORDINATEUR").get_data(as_text=True)
    assert "Un ordinateur par élève" in page and "[téléphone masqué]" not in page
    page = client.get("/questionnaire/resultats/Q6?q=%25").get_data(as_text=True)
    assert "1 réponse" in page
    assert client.get("/questionnaire/resultats/Q6?page=abc&q=" + "x" * 500).status_code == 200


def test_exports_xlsx_ods_csv_have_the_same_rows(client, session, mini) -> None:
    _responses(session, mini, 5, "eleve", seed=1)
    session.add(
        SurveyResponse(
            questionnaire_id=mini.id,
            author_audience="professeur",
            author_academie_code="13",
            answers={"Q1": "non", "Q3": ["c"], "Q6": "écrire à x@y.fr\x0b", "Q7": "Élan & <b>"},
        )
    )
    session.flush()
    analyst = user_with_role("analyst")
    client.login(analyst.email)
    csv_bytes = client.get("/questionnaire/export/reponses.csv").get_data()
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 7
    assert rows[0][:5] == exports.FIXED_HEADERS
    assert "Q3_a" in rows[0] and "Q4_rang2" in rows[0]
    assert rows[-1][rows[0].index("Q7")] == "Élan & <b>"
    assert "[adresse masquée]" in rows[-1][rows[0].index("Q6")]

    from openpyxl import load_workbook

    xlsx = client.get("/questionnaire/export/reponses.xlsx")
    assert xlsx.headers["Content-Type"].startswith("application/vnd.openxml")
    workbook = load_workbook(io.BytesIO(xlsx.get_data()), read_only=True)
    sheet_rows = list(workbook["reponses"].iter_rows(values_only=True))
    assert len(sheet_rows) == 7 and sheet_rows[-1][rows[0].index("Q7")] == "Élan & <b>"
    assert workbook["codebook"]["A1"].value == "colonne"

    ods = client.get("/questionnaire/export/reponses.ods").get_data()
    archive = zipfile.ZipFile(io.BytesIO(ods))
    assert archive.namelist()[0] == "mimetype"
    assert archive.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    content = archive.read("content.xml").decode("utf-8")
    assert content.count("<table:table-row>") == 7 + 1 + len(exports.FIXED_HEADERS) + len(
        engine.export_columns(mini.definition)
    )
    assert "Élan &amp; &lt;b&gt;" in content
    from xml.dom import minidom

    minidom.parseString(content)  # noqa: S318 - our own export, checked to be well-formed
    assert client.get("/questionnaire/export/reponses.pdf").status_code == 404


def test_responses_csv_is_guarded_and_dated_with_offset(client, session, mini) -> None:
    session.add(
        SurveyResponse(
            questionnaire_id=mini.id,
            author_audience="professeur",
            author_academie_code="01",
            answers={"Q1": "non", "Q6": "=cmd|' /C calc'!A0", "Q7": "@SUM(1)"},
        )
    )
    session.flush()
    client.login(user_with_role("analyst").email)
    response = client.get("/questionnaire/export/reponses.csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig")), delimiter=";"))
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Q6"] == "'=cmd|' /C calc'!A0" and row["Q7"] == "'@SUM(1)"
    assert row["envoyee_le"].endswith("+00:00")
    assert row["academie"] == "01"
    comma = client.get("/questionnaire/export/reponses.csv?sep=comma").get_data()
    assert not comma.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(comma.decode())))[1][rows[0].index("Q7")] == "'@SUM(1)"


def test_export_stream_does_not_build_everything_in_memory(session, mini, monkeypatch) -> None:
    _responses(session, mini, 1200, "eleve", seed=2)
    monkeypatch.setattr(exports, "BLOCK_ROWS", 500)
    stream = exports.build(session, mini, "csv")
    first = next(stream)
    assert first == "\ufeff".encode()
    chunks = list(stream)
    assert len(chunks) > 2  # flushed as it goes, not one big string


# --- Account hooks and demo ----------------------------------------------------------------------


def test_account_data_and_deletion(client, session, mini) -> None:
    user = user_with_role(None, audience="eleve")
    respondent = Respondent.of_user(user)
    draft = services.start(session, mini, respondent, utcnow())
    draft.answers = {"Q1": "non"}
    session.flush()
    data = services.personal_data(session, user)
    assert data["questionnaire"]["brouillons"][0]["reponses"] == {"Q1": "non"}
    client.login(user.email)
    assert "réponses en cours" in client.get("/compte/").get_data(as_text=True)
    services.erase_account(session, user)
    assert session.scalar(select(func.count()).select_from(SurveyDraft)) == 0


def test_demo_step_tiny_respects_conditions(app, session) -> None:
    from contextlib import contextmanager

    from surveys import demo

    @contextmanager
    def progress(label, length):
        class Bar:
            def update(self, n):
                pass

        yield Bar()

    session.commit = session.flush  # stay inside the test's transaction
    try:
        demo.generate(session, "tiny", random.Random(1), progress)
    finally:
        del session.commit
    questionnaire = services.current_questionnaire(session)
    rows = session.execute(
        select(SurveyResponse.author_audience, SurveyResponse.answers).where(
            SurveyResponse.questionnaire_id == questionnaire.id
        )
    ).all()
    assert len(rows) == demo.TARGETS["tiny"]
    for audience, answers in rows:
        engine.check_stored(questionnaire.definition, audience, answers)
    assert {audience for audience, _a in rows} >= {"eleve", "parent", "professeur"}


def test_codes_are_unambiguous(session, mini) -> None:
    batch = _batch(session, mini, size=50)
    for code in batch.codes:
        assert len(code.code) == services.CODE_LENGTH
        assert not set(code.code) & set("01OIL")
    assert services.normalise_code(" abcd-efgh jk ") == "ABCDEFGHJK"
    assert session.scalar(select(func.count()).select_from(AccessCode)) == 50
