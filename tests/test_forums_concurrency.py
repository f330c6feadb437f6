"""Vote races with real commits, on SQLite (the embedded default) and PostgreSQL alike."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select

from consult.db import db
from consult.models import AuditEvent, User
from forums.models import Contribution, Vote
from tests.conftest import Client
from tests.factories import UserFactory
from tests.forums_factories import ContributionFactory

THREADS = 16


def _setup(app, voters: int) -> tuple[int, list[str], list[int]]:
    with app.app_context():
        contribution = ContributionFactory()
        users = UserFactory.create_batch(voters)
        db.session.commit()
        ids = [contribution.author_id, *(u.id for u in users)]
        return contribution.id, [u.email for u in users], ids


def _cleanup(app, contribution_id: int, user_ids: list[int]) -> None:
    with app.app_context():
        session = db.session
        session.execute(delete(Vote).where(Vote.contribution_id == contribution_id))
        session.execute(delete(Contribution).where(Contribution.id == contribution_id))
        session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(user_ids)))
        session.execute(
            delete(AuditEvent).where(
                AuditEvent.target_type == "user",
                AuditEvent.target_id.in_([str(i) for i in user_ids]),
            )
        )
        session.execute(delete(User).where(User.id.in_(user_ids)))
        session.commit()


def _race(app, emails: list[str], contribution_id: int, values: list[str]) -> list[int]:
    app.test_client_class = Client
    clients = []
    for email in emails:
        client = app.test_client()
        client.login(email)
        clients.append(client)
    page = f"/forums/contributions/{contribution_id}"
    tokens = [c.csrf_token(page) for c in clients]
    barrier = threading.Barrier(len(values))
    statuses: list[int] = []
    lock = threading.Lock()

    def vote(index: int) -> None:
        client = clients[index]
        barrier.wait()
        response = client.post(
            f"{page}/vote",
            data={"value": values[index], "csrf_token": tokens[index]},
            headers={"Accept": "application/json"},
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=vote, args=(i,)) for i in range(len(values))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_many_voters_at_once_counts_equal_distinct_voters(app, committing) -> None:
    contribution_id, emails, user_ids = _setup(app, THREADS)
    try:
        values = ["adopt" if i % 3 else "refuse" for i in range(THREADS)]
        statuses = _race(app, emails, contribution_id, values)
        assert statuses == [200] * THREADS
        with app.app_context():
            c = db.session.get(Contribution, contribution_id)
            votes = dict(
                db.session.execute(
                    select(Vote.value, func.count())
                    .where(Vote.contribution_id == contribution_id)
                    .group_by(Vote.value)
                ).all()
            )
            assert c.adopt_count == votes["adopt"] == values.count("adopt")
            assert c.refuse_count == votes["refuse"] == values.count("refuse")
    finally:
        _cleanup(app, contribution_id, user_ids)


def test_one_voter_racing_itself_is_counted_once(app, committing) -> None:
    contribution_id, emails, user_ids = _setup(app, 1)
    try:
        statuses = _race(app, emails * THREADS, contribution_id, ["adopt"] * THREADS)
        # Every request ends cleanly: accepted, or refused by the constraint with a 409.
        assert set(statuses) <= {200, 409} and 200 in statuses
        with app.app_context():
            c = db.session.get(Contribution, contribution_id)
            rows = db.session.scalar(
                select(func.count())
                .select_from(Vote)
                .where(Vote.contribution_id == contribution_id)
            )
            assert rows == 1 and (c.adopt_count, c.refuse_count) == (1, 0)
    finally:
        _cleanup(app, contribution_id, user_ids)
