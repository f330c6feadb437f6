"""Registration races with real commits, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy import delete, func, select

from consult.db import db
from consult.models import AuditEvent, User
from tests.conftest import Client

THREADS = 12


@pytest.mark.parametrize("same", ["email", "pseudonym"])
def test_racing_duplicate_registrations_yield_one_account(app, committing, same) -> None:
    app.test_client_class = Client
    clients = [app.test_client() for _ in range(THREADS)]
    tokens = [c.csrf_token("/compte/inscription") for c in clients]
    barrier = threading.Barrier(THREADS)
    statuses: list[int] = []
    bodies: list[str] = []
    lock = threading.Lock()

    def register(index: int) -> None:
        data = {
            "pseudonym": "Course_Poitiers" if same == "pseudonym" else f"Coureur_{index}",
            "email": "course@exemple.test" if same == "email" else f"c{index}@exemple.test",
            "password": "un sprint vers la ligne d'arrivée",
            "password_confirm": "un sprint vers la ligne d'arrivée",
            "audience": "parent",
            "academie": "13",
            "accept_terms": "y",
            "csrf_token": tokens[index],
        }
        barrier.wait()
        response = clients[index].post("/compte/inscription", data=data)
        with lock:
            statuses.append(response.status_code)
            bodies.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=register, args=(i,)) for i in range(THREADS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        errors = {e for b in bodies for e in re.findall(r"fr-error-text\">([^<]+)<", b)}
        assert sorted(statuses) == [302] + [409] * (THREADS - 1), (statuses, errors)
        assert all("Erreur du serveur" not in body for body in bodies)
        with app.app_context():
            column = User.email_key if same == "email" else User.pseudonym_key
            value = "course@exemple.test" if same == "email" else "course_poitiers"
            assert db.session.scalar(select(func.count()).where(column == value)) == 1
            db.session.remove()
    finally:
        with app.app_context():
            ids = select(User.id).where(
                (User.email_key == "course@exemple.test")
                | (User.pseudonym_key == "course_poitiers")
                | User.pseudonym_key.like("coureur_%")
            )
            # Registration events name their own account as actor.
            db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id.in_(ids)))
            db.session.execute(delete(User).where(User.id.in_(ids)))
            db.session.commit()
            db.session.remove()
