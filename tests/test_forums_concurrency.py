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
        # Every request ends cleanly: the constraint lets one INSERT through, the others find
        # the vote already there and answer with the counts.
        assert set(statuses) == {200}
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


def _counts_match_rows(app, contribution_id: int) -> tuple[int, int]:
    """The contribution's counters equal its vote rows, and the theme's tally (the home page's
    and /forums/' figures) equals the live sum over its public contributions."""
    from consult import tallies
    from forums.models import THEME_TALLY

    with app.app_context():
        session = db.session
        c = session.get(Contribution, contribution_id)
        rows = dict(
            session.execute(
                select(Vote.value, func.count())
                .where(Vote.contribution_id == contribution_id)
                .group_by(Vote.value)
            ).all()
        )
        assert (c.adopt_count, c.refuse_count) == (rows.get("adopt", 0), rows.get("refuse", 0))
        live = session.execute(
            select(
                func.coalesce(func.sum(Contribution.adopt_count), 0),
                func.coalesce(func.sum(Contribution.refuse_count), 0),
            ).where(Contribution.theme_id == c.theme_id, Contribution.is_public)
        ).one()
        kept = tallies.by_group(session, THEME_TALLY)[c.theme_id]
        assert (kept["adopt_count"], kept["refuse_count"]) == tuple(live)
        session.remove()
        return c.adopt_count, c.refuse_count


def test_many_voters_change_and_retract_at_once(app, committing) -> None:
    contribution_id, emails, user_ids = _setup(app, THREADS)
    try:
        assert _race(app, emails, contribution_id, ["adopt"] * THREADS) == [200] * THREADS
        # Everyone at once: a quarter keep their vote, a quarter change it, half retract.
        values = [("adopt", "refuse", "retract", "retract")[i % 4] for i in range(THREADS)]
        statuses = _race(app, emails, contribution_id, values)
        assert statuses == [200] * THREADS
        adopt, refuse = _counts_match_rows(app, contribution_id)
        assert (adopt, refuse) == (values.count("adopt"), values.count("refuse"))
    finally:
        _cleanup(app, contribution_id, user_ids)


def test_one_voter_changing_and_retracting_in_a_race_stays_counted_once(app, committing) -> None:
    contribution_id, emails, user_ids = _setup(app, 1)
    try:
        values = [("adopt", "refuse", "retract")[i % 3] for i in range(THREADS)]
        statuses = _race(app, emails * THREADS, contribution_id, values)
        assert set(statuses) == {200}
        adopt, refuse = _counts_match_rows(app, contribution_id)
        assert adopt + refuse <= 1
    finally:
        _cleanup(app, contribution_id, user_ids)
