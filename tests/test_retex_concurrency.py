"""Racing reviewers (real commits, SQLite and PostgreSQL): one publication, one clean refusal."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select

from consult.db import db
from consult.models import RoleGrant, User
from retex.models import RetexRevision, RetexSheet
from tests.conftest import Client
from tests.factories import DEFAULT_PASSWORD
from tests.retex_factories import make_sheet

REVIEWERS = 6


def _user(email: str, pseudonym: str, coordinator: bool) -> int:
    from consult.accounts import services

    user = services.register(
        db.session,
        services.ProfileData(pseudonym=pseudonym, audience="professeur", academie_code="16"),
        email,
        DEFAULT_PASSWORD,
    )
    if coordinator:
        services.grant_role(db.session, user, "coordinator", "academie", "16")
    return user.id


def test_racing_publications_yield_one_version(app, committing) -> None:
    app.test_client_class = Client
    emails = [f"relecteur{i}@course-retex.test" for i in range(REVIEWERS)]
    with app.app_context():
        author_id = _user("auteur@course-retex.test", "Auteur_course_retex", False)
        for i, email in enumerate(emails):
            _user(email, f"Relecteur_course_{i}", True)
        sheet = make_sheet(db.session.get(User, author_id), "submitted")
        sheet_id = sheet.id
        db.session.commit()
        db.session.remove()
    clients = [app.test_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):
        client.login(email)
    tokens = [c.csrf_token(f"/retex/{sheet_id}/suivi") for c in clients]
    barrier = threading.Barrier(REVIEWERS)
    statuses: list[int] = []
    lock = threading.Lock()

    def publish(index: int) -> None:
        barrier.wait()
        response = clients[index].post(
            f"/retex/{sheet_id}/publier", data={"csrf_token": tokens[index], "comment": ""}
        )
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=publish, args=(i,)) for i in range(REVIEWERS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # The winner redirects; the others find the sheet published already (403: no longer
        # awaiting review, or 409: it changed under them), never a 500.
        assert statuses.count(302) == 1, statuses
        assert set(statuses) <= {302, 403, 409}, statuses
        with app.app_context():
            count = select(func.count()).where(RetexRevision.sheet_id == sheet_id)
            assert db.session.scalar(count) == 1
            assert db.session.get(RetexSheet, sheet_id).published_version == 1
            db.session.remove()
    finally:
        with app.app_context():
            db.session.execute(delete(RetexSheet).where(RetexSheet.id == sheet_id))
            ids = select(User.id).where(User.email_key.like("%@course-retex.test"))
            db.session.execute(delete(RoleGrant).where(RoleGrant.user_id.in_(ids)))
            db.session.execute(delete(User).where(User.email_key.like("%@course-retex.test")))
            db.session.commit()
            db.session.remove()
