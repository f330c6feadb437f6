"""Territorial races with real commits (SQLite and PostgreSQL): event capacity and idea support
counters hold when many people click at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import delete, func, select

from consult.db import db, utcnow
from consult.models import AuditEvent, User
from consult.territorial.models import Event, EventRegistration, Idea, IdeaSupport
from tests.conftest import Client
from tests.factories import UserFactory

THREADS = 12
CAPACITY = 5


def _people(app, count: int) -> list[tuple[int, str]]:
    with app.app_context():
        users = [UserFactory(academie_code="16", pseudonym=f"Course<b>{i}") for i in range(count)]
        db.session.commit()
        found = [(u.id, u.email) for u in users]
        db.session.remove()
    return found


def _cleanup(app, user_ids: list[int], event_id: int | None, idea_id: int | None) -> None:
    with app.app_context():
        session = db.session
        if event_id:
            session.execute(delete(EventRegistration).where(EventRegistration.event_id == event_id))
            session.execute(delete(Event).where(Event.id == event_id))
        if idea_id:
            session.execute(delete(IdeaSupport).where(IdeaSupport.idea_id == idea_id))
            session.execute(delete(Idea).where(Idea.id == idea_id))
        session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(user_ids)))
        session.execute(delete(User).where(User.id.in_(user_ids)))
        session.commit()
        session.remove()


def _race(app, emails: list[str], path: str, page: str, repeat_first: bool = False):
    app.test_client_class = Client
    clients = [app.test_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):
        client.login(email)
    tokens = [c.csrf_token(page) for c in clients]
    jobs = list(range(len(clients)))
    if repeat_first:
        jobs.append(0)  # the same person double-clicks
    barrier = threading.Barrier(len(jobs))
    statuses: list[int] = []
    lock = threading.Lock()

    def run(index: int) -> None:
        barrier.wait()
        response = clients[index].post(path, data={"csrf_token": tokens[index]})
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=run, args=(i,)) for i in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def test_event_capacity_holds_under_concurrency(app, committing) -> None:
    people = _people(app, THREADS)
    event_id = None
    try:
        with app.app_context():
            event = Event(
                scope_kind="academie",
                scope_code="16",
                title="Atelier très demandé",
                description="Places limitées.",
                starts_at=utcnow() + timedelta(days=3),
                ends_at=utcnow() + timedelta(days=3, hours=2),
                place="Toulouse",
                audiences=["parent"],
                capacity=CAPACITY,
            )
            db.session.add(event)
            db.session.commit()
            event_id = event.id
            db.session.remove()
        url = f"/territoires/evenements/{event_id}"
        statuses = _race(app, [e for _, e in people], f"{url}/inscription", url, repeat_first=True)
        # Everyone beyond the capacity goes on the waiting list; the double click is a 409.
        assert sorted(statuses) == [302] * THREADS + [409]
        with app.app_context():
            event = db.session.get(Event, event_id)
            assert event.registered_count == _count(event_id, "registered") == CAPACITY
            assert _count(event_id, "waiting") == THREADS - CAPACITY
            db.session.remove()

        # Now every registered person signs out at the same moment: each freed place goes to
        # one waiting person, in order, none twice.
        with app.app_context():
            registered = set(
                db.session.scalars(
                    select(EventRegistration.user_id).where(
                        EventRegistration.event_id == event_id,
                        EventRegistration.status == "registered",
                    )
                )
            )
            first_waiting = list(
                db.session.scalars(
                    select(EventRegistration.user_id)
                    .where(
                        EventRegistration.event_id == event_id,
                        EventRegistration.status == "waiting",
                    )
                    .order_by(EventRegistration.id)
                )
            )[:CAPACITY]
            db.session.remove()
        leaving = [e for i, e in people if i in registered]
        statuses = _race(app, leaving, f"{url}/desinscription", url)
        assert statuses == [302] * CAPACITY
        with app.app_context():
            event = db.session.get(Event, event_id)
            now_registered = set(
                db.session.scalars(
                    select(EventRegistration.user_id).where(
                        EventRegistration.event_id == event_id,
                        EventRegistration.status == "registered",
                    )
                )
            )
            assert now_registered == set(first_waiting)
            assert event.registered_count == _count(event_id, "registered") == CAPACITY
            assert _count(event_id, "waiting") == THREADS - 2 * CAPACITY
            db.session.remove()
    finally:
        _cleanup(app, [i for i, _ in people], event_id, None)


def _count(event_id: int, status: str) -> int:
    return db.session.scalar(
        select(func.count()).where(
            EventRegistration.event_id == event_id, EventRegistration.status == status
        )
    )


def test_support_counter_is_exact_under_concurrency(app, committing) -> None:
    people = _people(app, THREADS + 1)
    author_id = people[0][0]
    idea_id = None
    try:
        with app.app_context():
            idea = Idea(
                academie_code="16",
                author_id=author_id,
                author_audience="parent",
                author_academie_code="16",
                title="Une idée populaire",
                body="Tout le monde la soutient en même temps.",
            )
            db.session.add(idea)
            db.session.commit()
            idea_id = idea.id
            db.session.remove()
        url = f"/territoires/idees/{idea_id}"
        statuses = _race(app, [e for _, e in people[1:]], f"{url}/soutenir", url, repeat_first=True)
        assert sorted(statuses) == [302] * THREADS + [409]
        with app.app_context():
            idea = db.session.get(Idea, idea_id)
            rows = db.session.scalar(select(func.count()).where(IdeaSupport.idea_id == idea_id))
            assert idea.support_count == rows == THREADS
            db.session.remove()
    finally:
        _cleanup(app, [i for i, _ in people], None, idea_id)
