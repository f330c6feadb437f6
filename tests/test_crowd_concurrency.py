"""Fifty people writing at the same moment, with real commits, on SQLite (the embedded default,
one writer at a time) and on PostgreSQL: no request ends in a 500, every accepted write is saved
and every counter equals the rows it counts.

Before write requests took SQLite's lock up front (``BEGIN IMMEDIATE``), 50 simultaneous voters
got about thirty « database is locked » 500s and lost their votes.
"""

from __future__ import annotations

import random
import secrets
import sqlite3
import threading
import uuid
from datetime import timedelta

import pytest
from flask import Flask
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from consult.db import db, utcnow
from consult.extensions import login_manager
from consult.models import AuditEvent, User
from consult.territorial.models import Event, EventRegistration
from forums.models import Contribution, Vote
from surveys import services as surveys
from surveys.demo import Answerer
from surveys.models import SurveyDraft, SurveyParticipation, SurveyResponse
from tests.conftest import Client, make_test_app
from tests.factories import UserFactory
from tests.forums_factories import ContributionFactory

CROWD = 50


def _sign_in(app: Flask, client: Client, user_id: int) -> str:
    """Put a logged-in session and a CSRF token in the client's cookie, as the login form and
    the first page would: fifty argon2 password checks would take most of the test's time on a
    busy machine and are not what it is about. Returns the CSRF token for the forms."""
    with app.test_request_context(environ_base=client.environ_base):
        # Flask-Login's "strong" protection ties the session to the client's address and agent.
        identifier = login_manager._session_identifier_generator()
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{user_id}:1"
        sess["_fresh"] = True
        sess["_id"] = identifier
        sess["csrf_token"] = secrets.token_hex(20)
        raw = sess["csrf_token"]
    # Flask-WTF's token: the session's secret signed with the app key (salt "wtf-csrf-token").
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _crowd(app: Flask, count: int) -> list[int]:
    with app.app_context():
        users = [UserFactory(academie_code="16") for _ in range(count)]
        db.session.commit()
        ids = [u.id for u in users]
        db.session.remove()
    return ids


def _race(app: Flask, user_ids: list[int], path: str, data_for, headers=None) -> list[int]:
    """Every user POSTs ``path`` at the same moment; returns the statuses."""
    app.test_client_class = Client
    clients = [app.test_client() for _ in user_ids]
    for index, client in enumerate(clients):
        # Fifty homes, not fifty tabs behind one address: the per-address rate limits of the
        # participation forms are not what this measures.
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{index + 1}"
    tokens = [_sign_in(app, c, uid) for c, uid in zip(clients, user_ids, strict=True)]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        response = clients[index].post(
            path, data={**data_for(index), "csrf_token": tokens[index]}, headers=headers or {}
        )
        with lock:
            statuses.append(response.status_code)
            if response.status_code >= 500:
                bodies.append(response.get_data(as_text=True)[:300])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(statuses) == len(clients), "a request never finished"
    assert not bodies, bodies
    return statuses


def _delete_users(user_ids: list[int]) -> None:
    db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(user_ids)))
    db.session.execute(
        delete(AuditEvent).where(
            AuditEvent.target_type == "user",
            AuditEvent.target_id.in_([str(i) for i in user_ids]),
        )
    )
    db.session.execute(delete(User).where(User.id.in_(user_ids)))


def test_fifty_voters_on_one_contribution_are_all_counted(app, committing) -> None:
    voters = _crowd(app, CROWD)
    with app.app_context():
        contribution = ContributionFactory()
        db.session.commit()
        contribution_id, author_id = contribution.id, contribution.author_id
        db.session.remove()
    values = ["adopt" if i % 3 else "refuse" for i in range(CROWD)]
    try:
        statuses = _race(
            app,
            voters,
            f"/forums/contributions/{contribution_id}/vote",
            lambda i: {"value": values[i]},
            headers={"Accept": "application/json"},
        )
        assert statuses == [200] * CROWD
        with app.app_context():
            saved = dict(
                db.session.execute(
                    select(Vote.user_id, Vote.value).where(Vote.contribution_id == contribution_id)
                ).all()
            )
            assert saved == dict(zip(voters, values, strict=True))
            c = db.session.get(Contribution, contribution_id)
            assert (c.adopt_count, c.refuse_count) == (
                values.count("adopt"),
                values.count("refuse"),
            )
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(Vote).where(Vote.contribution_id == contribution_id))
            db.session.execute(delete(Contribution).where(Contribution.id == contribution_id))
            _delete_users([*voters, author_id])
            db.session.commit()
            db.session.remove()


def test_fifty_event_sign_ups_fill_the_capacity_exactly(app, committing) -> None:
    capacity = 40
    people = _crowd(app, CROWD)
    with app.app_context():
        event = Event(
            scope_kind="academie",
            scope_code="16",
            title="Atelier pris d'assaut",
            description="Quarante places pour cinquante personnes.",
            starts_at=utcnow() + timedelta(days=3),
            ends_at=utcnow() + timedelta(days=3, hours=2),
            place="Toulouse",
            audiences=["professeur"],
            capacity=capacity,
        )
        db.session.add(event)
        db.session.commit()
        event_id = event.id
        db.session.remove()
    try:
        statuses = _race(
            app, people, f"/territoires/evenements/{event_id}/inscription", lambda _i: {}
        )
        # Beyond the capacity, sign-ups go on the waiting list (302 too).
        assert statuses == [302] * CROWD
        with app.app_context():
            rows = db.session.scalar(
                select(func.count()).where(
                    EventRegistration.event_id == event_id,
                    EventRegistration.status == "registered",
                )
            )
            assert db.session.get(Event, event_id).registered_count == rows == capacity
            waiting = db.session.scalar(
                select(func.count()).where(
                    EventRegistration.event_id == event_id,
                    EventRegistration.status == "waiting",
                )
            )
            assert waiting == CROWD - capacity
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(
                delete(EventRegistration).where(EventRegistration.event_id == event_id)
            )
            db.session.execute(delete(Event).where(Event.id == event_id))
            _delete_users(people)
            db.session.commit()
            db.session.remove()


def test_fifty_questionnaire_submissions_are_all_stored(app, committing) -> None:
    respondents = _crowd(app, CROWD)
    marker = uuid.uuid4().hex[:8]
    with app.app_context():
        before = db.session.scalar(select(func.coalesce(func.max(SurveyResponse.id), 0)))
        questionnaire = surveys.current_questionnaire(db.session)
        answerer = Answerer(questionnaire.definition, "professeur")
        rng = random.Random(marker)
        for user_id in respondents:
            db.session.add(
                SurveyDraft(
                    questionnaire_id=questionnaire.id, user_id=user_id, answers=answerer.answer(rng)
                )
            )
        db.session.commit()
        db.session.remove()
    try:
        statuses = _race(app, respondents, "/questionnaire/relecture", lambda _i: {})
        assert statuses == [302] * CROWD
        with app.app_context():
            stored = db.session.scalar(select(func.count()).where(SurveyResponse.id > before))
            participants = set(
                db.session.scalars(
                    select(SurveyParticipation.user_id).where(
                        SurveyParticipation.user_id.in_(respondents)
                    )
                )
            )
            drafts_left = db.session.scalar(
                select(func.count()).where(SurveyDraft.user_id.in_(respondents))
            )
            assert stored == CROWD
            assert participants == set(respondents)
            assert drafts_left == 0
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(SurveyResponse).where(SurveyResponse.id > before))
            db.session.execute(
                delete(SurveyParticipation).where(SurveyParticipation.user_id.in_(respondents))
            )
            db.session.execute(delete(SurveyDraft).where(SurveyDraft.user_id.in_(respondents)))
            _delete_users(respondents)
            db.session.commit()
            db.session.remove()


def test_a_lock_held_too_long_gets_a_french_503_and_changes_nothing(
    database_url, committing
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's database-wide writer lock; PostgreSQL locks rows, not the database")
    app = make_test_app(database_url, SQLITE_BUSY_TIMEOUT_MS=50)
    [voter] = _crowd(app, 1)
    with app.app_context():
        contribution = ContributionFactory()
        db.session.commit()
        contribution_id, author_id = contribution.id, contribution.author_id
        db.session.remove()
    app.test_client_class = Client
    client = app.test_client()
    token = _sign_in(app, client, voter)
    path = f"/forums/contributions/{contribution_id}/vote"
    # Another process (a CLI command, a second worker) holds the write lock meanwhile.
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        as_json = client.post(
            path,
            data={"value": "adopt", "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        as_page = client.post(path, data={"value": "adopt", "csrf_token": token})
    finally:
        holder.rollback()
        holder.close()
    try:
        assert as_json.status_code == 503
        assert as_json.headers["Retry-After"].isdigit()
        assert "réessayez dans quelques secondes" in as_json.get_json()["error"]["message"]
        assert as_page.status_code == 503
        assert as_page.headers["Retry-After"].isdigit()
        page = as_page.get_data(as_text=True)
        assert "Service momentanément indisponible" in page
        assert "Rien n&#39;a été modifié" in page or "Rien n'a été modifié" in page
        with app.app_context():
            assert (
                db.session.scalar(
                    select(func.count()).where(Vote.contribution_id == contribution_id)
                )
                == 0
            )
            db.session.remove()
        # Once the lock is released the same request goes through.
        again = client.post(
            path,
            data={"value": "adopt", "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        assert again.status_code == 200
    finally:
        with app.app_context():
            db.session.execute(delete(Vote).where(Vote.contribution_id == contribution_id))
            db.session.execute(delete(Contribution).where(Contribution.id == contribution_id))
            _delete_users([voter, author_id])
            db.session.commit()
            db.session.remove()
