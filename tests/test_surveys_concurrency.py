"""Racing submissions of one questionnaire response (real commits, SQLite and PostgreSQL):
whatever the number of tabs, one response is stored and every other request gets a French 409."""

from __future__ import annotations

import random
import threading
import uuid

from sqlalchemy import delete, func, select

from consult.accounts import services as accounts
from consult.db import db, utcnow
from consult.extensions import limiter
from consult.models import User
from surveys import services
from surveys.demo import Answerer
from surveys.models import (
    AccessCode,
    AccessCodeBatch,
    SurveyDraft,
    SurveyParticipation,
    SurveyResponse,
)
from tests.conftest import Client

THREADS = 8
PASSWORD = "une course entre onglets ouverts"


def _race(clients, tokens) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(clients))
    outcomes: list[tuple[int, str]] = []
    lock = threading.Lock()

    def send(index: int) -> None:
        barrier.wait()
        response = clients[index].post(
            "/questionnaire/relecture", data={"csrf_token": tokens[index]}
        )
        with lock:
            outcomes.append((response.status_code, response.headers.get("Location", "")))

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_racing_submissions_store_one_response(app, committing) -> None:
    app.test_client_class = Client
    suffix = uuid.uuid4().hex[:8]
    email = f"course-{suffix}@exemple.test"
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.max(SurveyResponse.id), 0)))
        questionnaire = services.current_questionnaire(db.session)
        answers = Answerer(questionnaire.definition, "professeur").answer(random.Random(5))
        user = accounts.register(
            db.session,
            accounts.ProfileData(
                pseudonym=f"Course_{suffix}", audience="professeur", academie_code="13"
            ),
            email,
            PASSWORD,
        )
        db.session.flush()
        db.session.add(
            SurveyDraft(questionnaire_id=questionnaire.id, user_id=user.id, answers=answers)
        )
        batch = services.create_batch(
            db.session,
            questionnaire,
            user,
            label="course",
            audience="eleve",
            academie_code="13",
            size=1,
            valid_days=1,
            now=utcnow(),
        )
        code = batch.codes[0].code
        user_id, batch_id = user.id, batch.id
        db.session.commit()
        db.session.remove()
    try:
        # The same account in several tabs.
        clients = [app.test_client() for _ in range(THREADS)]
        for client in clients:
            client.login(email, PASSWORD)
        tokens = [c.csrf_token("/questionnaire/relecture") for c in clients]
        outcomes = _race(clients, tokens)
        assert sorted(status for status, _l in outcomes) == [302] + [409] * (THREADS - 1)
        assert sum(location.endswith("/merci") for _s, location in outcomes) == 1
        # The same access code in several browsers.
        clients = [app.test_client() for _ in range(THREADS)]
        for client in clients:
            assert client.submit("/questionnaire/code", {"code": code}).status_code == 302
        with app.app_context():
            draft = db.session.scalar(
                select(SurveyDraft)
                .where(SurveyDraft.access_code_id.is_not(None))
                .join(AccessCode)
                .where(AccessCode.batch_id == batch_id)
            )
            draft.answers = Answerer(questionnaire.definition, "eleve").answer(random.Random(6))
            db.session.commit()
            db.session.remove()
        tokens = [c.csrf_token("/questionnaire/relecture") for c in clients]
        outcomes = _race(clients, tokens)
        # One is thanked; the others find the code spent (409) or already forgotten by their
        # session (sent back to the questionnaire's home page), never a 500.
        assert sum(location.endswith("/merci") for _s, location in outcomes) == 1
        assert all(
            status == 409 or location.endswith("/questionnaire/")
            for status, location in outcomes
            if not location.endswith("/merci")
        ), outcomes
        with app.app_context():
            created = (
                db.session.execute(
                    select(SurveyResponse.author_audience).where(SurveyResponse.id > before)
                )
                .scalars()
                .all()
            )
            assert sorted(created) == ["eleve", "professeur"]
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(SurveyResponse).where(SurveyResponse.id > before))
            db.session.execute(
                delete(SurveyParticipation).where(SurveyParticipation.user_id == user_id)
            )
            db.session.execute(delete(SurveyDraft).where(SurveyDraft.user_id == user_id))
            db.session.execute(delete(AccessCodeBatch).where(AccessCodeBatch.id == batch_id))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.commit()
            db.session.remove()
            # Committing tests skip the suite's per-test reset: the code-entry limit counted
            # this test's POSTs and must not leak into the next test.
            limiter.reset()
