"""The answers tally (surveys/tally.py) against a recount of the response documents in Python,
after every kind of write: the web and access-code submissions, ORM and bulk inserts, updates,
deletions (one, bulk, a whole questionnaire), the rebuild, concurrent submissions; and the
synthesis engine's questionnaire counts, which read the tally, against the same recount."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import delete, func, insert, select, text, update

from consult.db import db, utcnow
from consult.models import User
from surveys import services, tally
from surveys.demo import Answerer
from surveys.models import (
    AccessCode,
    AccessCodeBatch,
    Questionnaire,
    SurveyDraft,
    SurveyResponse,
)
from synthesis import engine
from tests.surveys_factories import answer_pages, load_small, small_definition, user_with_role

SCALAR = ("single", "scale", "number")
LISTED = ("multiple", "ranking")


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def recount(session, questionnaire_id: int | None = None) -> dict[tuple, int]:
    """The tally the documents call for, computed here apart from the SQL (the rule in
    surveys/tally.py's docstring)."""
    types = {
        q.id: {question.code: question.type for question in q.definition.questions}
        for q in session.scalars(select(Questionnaire))
    }
    query = select(
        SurveyResponse.questionnaire_id,
        SurveyResponse.author_academie_code,
        SurveyResponse.author_audience,
        SurveyResponse.answers,
    )
    if questionnaire_id is not None:
        query = query.where(SurveyResponse.questionnaire_id == questionnaire_id)
    counts: Counter = Counter()
    for qid, academie, audience, answers in session.execute(query):
        cell = (academie or "", audience)
        counts[(qid, "n", "", "", *cell)] += 1
        for code, value in answers.items():
            kind = types[qid].get(code)
            if kind in SCALAR:
                if isinstance(value, str) or (
                    isinstance(value, int | float) and not isinstance(value, bool)
                ):
                    counts[(qid, "v", code, _text(value), *cell)] += 1
            elif kind in LISTED and isinstance(value, list) and value:
                counts[(qid, "b", code, "", *cell)] += 1
                for option in value:
                    if option is not None:
                        counts[(qid, "v", code, _text(option), *cell)] += 1
                if kind == "ranking" and value[0] is not None:
                    counts[(qid, "f", code, _text(value[0]), *cell)] += 1
    return {key: n for key, n in counts.items() if n}


def stored(session, questionnaire_id: int | None = None) -> dict[tuple, int]:
    where = "" if questionnaire_id is None else f" WHERE questionnaire_id = {int(questionnaire_id)}"
    rows = session.execute(
        text(
            "SELECT questionnaire_id, kind, question_key, option_key, academie_code, audience, "  # noqa: S608 - an integer
            f"sum(count) FROM survey_answer_tally{where} GROUP BY questionnaire_id, kind, "
            "question_key, option_key, academie_code, audience"
        )
    )
    return {tuple(row[:6]): int(row[6]) for row in rows if row[6]}


def assert_exact(session) -> None:
    session.flush()
    assert stored(session) == recount(session)
    assert tally.differences(session) == 0


def _response(questionnaire, answers, audience="eleve", academie="13") -> SurveyResponse:
    return SurveyResponse(
        questionnaire_id=questionnaire.id,
        author_audience=audience,
        author_academie_code=academie,
        answers=answers,
    )


@pytest.fixture
def mini(session, app, monkeypatch):
    questionnaire = load_small(session)
    monkeypatch.setitem(app.config, "SURVEY_SLUG", questionnaire.slug)
    return questionnaire


def test_tally_follows_inserts_updates_and_deletions(session, mini) -> None:
    rng = random.Random(11)
    pupils, teachers = Answerer(mini.definition, "eleve"), Answerer(mini.definition, "professeur")
    for i in range(40):
        session.add(_response(mini, pupils.answer(rng), "eleve", ("13", "01", None)[i % 3]))
    for _ in range(15):
        session.add(_response(mini, teachers.answer(rng), "professeur", "16"))
    session.flush()
    assert_exact(session)
    assert stored(session)[(mini.id, "n", "", "", "", "eleve")] == 13  # without académie
    # A bulk insert (the demo generator's path): one statement, many rows.
    session.execute(
        insert(SurveyResponse),
        [
            {
                "questionnaire_id": mini.id,
                "author_audience": "eleve",
                "author_academie_code": "13",
                "answers": pupils.answer(rng),
                "submitted_at": utcnow(),
                "has_personal_data": False,
                "via_code": True,
            }
            for _ in range(25)
        ],
    )
    assert_exact(session)
    # Answers or snapshot changed (no path does it today; the tally must still follow).
    first, second, third = session.scalars(select(SurveyResponse).limit(3)).all()
    first.answers = {"Q1": "non", "Q3": ["b", "c"], "Q7": "plus de tablettes"}
    second.author_academie_code = "01"
    second.author_audience = "professeur"
    third.has_personal_data = True  # not counted: nothing moves
    assert_exact(session)
    session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.author_audience == "professeur")
        .values(author_academie_code="13")
    )
    assert_exact(session)
    # Deletions: one, then in bulk.
    session.delete(first)
    assert_exact(session)
    session.execute(delete(SurveyResponse).where(SurveyResponse.author_academie_code == "13"))
    assert_exact(session)
    assert stored(session) and recount(session)


def test_answers_that_do_not_fit_their_question_are_left_out(session, mini) -> None:
    odd = [
        {"Q1": ["oui"], "Q2": "7", "Q3": "a", "Q4": ["y", None, "x"], "Q6": "texte libre"},
        {"Q1": None, "Q2": 3.5, "Q3": [], "Q4": [None, "z"], "Q5": True, "ZZ": "inconnue"},
        {"Q1": "oui", "Q2": 12, "Q3": ["a", 2], "Q5": 4, "Q7": "précisions"},
        {},
    ]
    for answers in odd:
        session.add(_response(mini, answers))
    assert_exact(session)
    counts = stored(session)
    # Free text is never counted, nor unknown questions.
    assert not [key for key in counts if key[2] in ("Q6", "Q7", "ZZ")]
    assert counts[(mini.id, "n", "", "", "13", "eleve")] == 4
    assert counts[(mini.id, "v", "Q2", "12", "13", "eleve")] == 1


def test_web_and_access_code_submissions_are_counted(client, session, mini) -> None:
    pupil = user_with_role(audience="eleve", academie_code="13")
    client.login(pupil.email)
    started = client.submit("/questionnaire/commencer", {}, page="/questionnaire/")
    assert started.headers["Location"].endswith("/questionnaire/page/1")
    answers = answer_pages(client, mini.definition, "eleve", seed=3)
    assert client.submit("/questionnaire/relecture", {}).status_code == 302
    client.logout()
    coordinator = user_with_role("coordinator", "academie", "16", academie_code="16")
    batch = services.create_batch(
        session,
        mini,
        coordinator,
        label="Classe",
        audience="professeur",
        academie_code="16",
        size=1,
        valid_days=3,
        now=utcnow(),
    )
    respondent = services.Respondent.of_code(batch.codes[0])
    draft = services.start(session, mini, respondent, utcnow())
    draft.answers = Answerer(mini.definition, "professeur").answer(random.Random(4))
    services.submit(session, mini, respondent, draft, utcnow())
    assert_exact(session)
    counts = stored(session)
    assert counts[(mini.id, "n", "", "", "13", "eleve")] == 1
    assert counts[(mini.id, "n", "", "", "16", "professeur")] == 1
    assert counts[(mini.id, "v", "Q1", answers["Q1"], "13", "eleve")] == 1


def test_rebuild_recounts_and_check_finds_drift(session, mini) -> None:
    rng = random.Random(5)
    answerer = Answerer(mini.definition, "eleve")
    for _ in range(30):
        session.add(_response(mini, answerer.answer(rng)))
    session.flush()
    before = stored(session)
    mine = {"q": mini.id}
    session.execute(
        text(
            "UPDATE survey_answer_tally SET count = count + 2 "
            "WHERE kind = 'n' AND questionnaire_id = :q"
        ),
        mine,
    )
    session.execute(
        text("DELETE FROM survey_answer_tally WHERE kind = 'f' AND questionnaire_id = :q"), mine
    )
    assert tally.differences(session) > 0
    assert tally.differences(session, mini.id) > 0
    rows = tally.rebuild(session, mini.id)
    assert rows == session.scalar(
        text("SELECT count(*) FROM survey_answer_tally WHERE questionnaire_id = :q"), mine
    )
    assert stored(session) == before == recount(session)
    assert tally.differences(session) == 0
    tally.rebuild(session)
    assert stored(session) == before


def test_rebuild_and_check_commands(app, session, mini) -> None:
    session.add(_response(mini, Answerer(mini.definition, "eleve").answer(random.Random(1))))
    session.flush()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["surveys", "check-tallies"])
    assert result.exit_code == 0 and "exacts" in result.output
    session.execute(text("UPDATE survey_answer_tally SET count = 0 WHERE kind = 'n'"))
    result = runner.invoke(args=["surveys", "check-tallies"])
    assert result.exit_code == 1 and "rebuild-tallies" in result.output
    result = runner.invoke(args=["surveys", "rebuild-tallies"])
    assert result.exit_code == 0, result.output
    assert stored(session) == recount(session)


def test_two_questionnaires_and_a_deleted_one(session, mini) -> None:
    other, _changed = services.load_definition(
        session,
        services.engine.parse(small_definition(slug="autre-mini")),
        utcnow(),
    )
    rng = random.Random(8)
    answerer = Answerer(mini.definition, "eleve")
    for questionnaire in (mini, other, mini):
        session.add(_response(questionnaire, answerer.answer(rng)))
    assert_exact(session)
    assert stored(session, other.id) == recount(session, other.id) != {}
    session.delete(other)
    session.flush()
    assert stored(session, other.id) == {}
    assert_exact(session)


@pytest.mark.postgres_only
def test_truncating_the_responses_empties_the_tally(session, mini) -> None:
    session.add(_response(mini, Answerer(mini.definition, "eleve").answer(random.Random(3))))
    session.flush()
    assert stored(session)
    session.execute(text("TRUNCATE survey_response"))
    assert stored(session) == recount(session) == {}


def test_engine_reads_the_same_counts_as_the_documents(app, session, mini) -> None:
    rng = random.Random(21)
    for audience, academie in (("eleve", "13"), ("eleve", None), ("professeur", "01")):
        answerer = Answerer(mini.definition, audience)
        for _ in range(12):
            session.add(_response(mini, answerer.answer(rng), audience, academie))
    session.flush()
    with app.app_context():  # the questionnaire the pages serve: SURVEY_SLUG
        survey = engine.read_survey(session)
    assert survey.definition.slug == mini.slug
    expected = recount(session, mini.id)
    types = {q.code: q.type for q in mini.definition.questions}

    def frame(df, columns) -> dict[tuple, int]:
        return {
            tuple("" if pd.isna(v) else v for v in row[:-1]): int(row[-1])
            for row in df[columns].itertuples(index=False)
        }

    assert frame(survey.respondents, ["academie_code", "audience", "n"]) == {
        (a, aud): n for (_q, kind, _c, _o, a, aud), n in expected.items() if kind == "n"
    }
    assert frame(
        survey.values, ["question_key", "option_key", "academie_code", "audience", "count"]
    ) == {(c, o, a, aud): n for (_q, kind, c, o, a, aud), n in expected.items() if kind == "v"}
    bases: Counter = Counter()
    for (_q, kind, code, _o, a, aud), n in expected.items():
        if (kind == "b") or (kind == "v" and types[code] in SCALAR):
            bases[(code, a, aud)] += n
    assert frame(survey.bases, ["question_key", "academie_code", "audience", "base"]) == bases


# --- Concurrent submissions (real commits) -------------------------------------------------------

THREADS = 8
PER_THREAD = 6


@pytest.mark.postgres_only
def test_concurrent_submissions_from_one_cell_keep_the_tally_exact(app, committing) -> None:
    """Submissions of one académie and audience all increment the same rows: none is lost, none
    deadlocks (every statement writes its rows in key order)."""
    with app.app_context():
        session = db.session
        before = session.scalar(select(func.coalesce(func.max(SurveyResponse.id), 0)))
        questionnaire = services.current_questionnaire(session)
        coordinator = user_with_role("coordinator", "academie", "13", academie_code="13")
        now = utcnow()
        batch = AccessCodeBatch(
            questionnaire_id=questionnaire.id,
            label="concurrence",
            audience="eleve",
            academie_code="13",
            size=THREADS * PER_THREAD,
            created_by_id=coordinator.id,
            created_at=now,
            expires_at=now + timedelta(days=1),
        )
        session.add(batch)
        session.flush()
        codes = [
            AccessCode(batch_id=batch.id, code=f"T{batch.id:04d}{i:05d}")
            for i in range(THREADS * PER_THREAD)
        ]
        session.add_all(codes)
        session.flush()
        answerer = Answerer(questionnaire.definition, "eleve")
        rng = random.Random(2)
        for code in codes:
            session.add(
                SurveyDraft(
                    questionnaire_id=questionnaire.id,
                    access_code_id=code.id,
                    answers=answerer.answer(rng),
                )
            )
        code_ids = [code.id for code in codes]
        batch_id, coordinator_id = batch.id, coordinator.id
        session.commit()
        session.remove()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def submit(ids: list[int]) -> None:
        with app.app_context():
            barrier.wait()
            try:
                for code_id in ids:
                    access = db.session.get(AccessCode, code_id)
                    questionnaire = services.current_questionnaire(db.session)
                    respondent = services.Respondent.of_code(access)
                    draft = services.find_draft(db.session, questionnaire, respondent)
                    services.submit(db.session, questionnaire, respondent, draft, utcnow())
                    db.session.commit()
            except BaseException as exc:
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [
        threading.Thread(target=submit, args=(code_ids[i::THREADS],)) for i in range(THREADS)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with app.app_context():
            session = db.session
            added = session.scalar(select(func.count()).where(SurveyResponse.id > before))
            assert added == THREADS * PER_THREAD
            assert stored(session) == recount(session)
            session.remove()
    finally:
        with app.app_context():
            session = db.session
            session.execute(delete(SurveyResponse).where(SurveyResponse.id > before))
            session.execute(delete(SurveyDraft).where(SurveyDraft.access_code_id.in_(code_ids)))
            session.execute(delete(AccessCodeBatch).where(AccessCodeBatch.id == batch_id))
            session.execute(delete(User).where(User.id == coordinator_id))
            session.commit()
            assert tally.differences(session) == 0
            session.remove()
