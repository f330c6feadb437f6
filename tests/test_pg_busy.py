"""PostgreSQL's "busy" answers in a write request — a serialization failure (40001), a deadlock
(40P01), a lock wait past ``lock_timeout`` (55P03) — get the same French 503 with Retry-After as
SQLite's "database is locked" (one handler, ``consult.db.busy_response``), never a 500, and what
was saved before stays saved while the failed request's own writes are rolled back.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, delete, func, select, text

from consult.db import db
from forums import services as forum_services
from forums.models import Contribution, Vote
from tests.conftest import Client, make_test_app
from tests.forums_factories import ContributionFactory
from tests.test_crowd_concurrency import _crowd, _delete_users, _sign_in

pytestmark = pytest.mark.postgres_only


def _setup(app):
    voters = _crowd(app, 2)
    with app.app_context():
        contribution = ContributionFactory()
        db.session.commit()
        ids = contribution.id, contribution.author_id
        db.session.remove()
    return voters, ids


def _cleanup(app, contribution_id, user_ids):
    with app.app_context():
        db.session.execute(delete(Vote).where(Vote.contribution_id == contribution_id))
        db.session.execute(delete(Contribution).where(Contribution.id == contribution_id))
        _delete_users(user_ids)
        db.session.commit()
        db.session.remove()


def _state(app, contribution_id):
    with app.app_context():
        votes = db.session.scalar(
            select(func.count()).where(Vote.contribution_id == contribution_id)
        )
        adopt = db.session.scalar(
            select(Contribution.adopt_count).where(Contribution.id == contribution_id)
        )
        db.session.remove()
    return votes, adopt


def _assert_busy_answers(as_json, as_page):
    assert as_json.status_code == 503, as_json.get_data(as_text=True)[:300]
    assert as_json.headers["Retry-After"].isdigit()
    assert "réessayez dans quelques secondes" in as_json.get_json()["error"]["message"]
    assert as_page.status_code == 503
    page = as_page.get_data(as_text=True)
    assert "Service momentanément indisponible" in page
    assert "Rien n&#39;a été modifié" in page or "Rien n'a été modifié" in page


@pytest.mark.parametrize("sqlstate", ["40001", "40P01"])
def test_serialization_failure_and_deadlock_give_a_french_503(
    database_url, committing, monkeypatch, sqlstate
) -> None:
    app = make_test_app(database_url)
    (first, second), (contribution_id, author_id) = _setup(app)
    app.test_client_class = Client
    try:
        # A vote saved before the failure must survive it.
        early = app.test_client()
        early.environ_base["REMOTE_ADDR"] = "192.0.2.1"
        token = _sign_in(app, early, first)
        path = f"/forums/contributions/{contribution_id}/vote"
        assert early.post(path, data={"value": "adopt", "csrf_token": token}).status_code in (
            200,
            302,
        )
        real_apply = forum_services._apply_counts

        def failing_apply(session, *args, **kwargs):
            # The request has already written its vote row: PostgreSQL aborts the transaction
            # the way a real conflict would (same SQLSTATE, raised by the server).
            real_apply(session, *args, **kwargs)
            session.execute(
                text(
                    "DO $$ BEGIN RAISE EXCEPTION 'simulated conflict' "
                    f"USING ERRCODE = '{sqlstate}'; END $$"
                )
            )

        monkeypatch.setattr(forum_services, "_apply_counts", failing_apply)
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = "192.0.2.2"
        token = _sign_in(app, client, second)
        as_json = client.post(
            path,
            data={"value": "adopt", "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        as_page = client.post(path, data={"value": "adopt", "csrf_token": token})
        _assert_busy_answers(as_json, as_page)
        assert _state(app, contribution_id) == (1, 1)
    finally:
        _cleanup(app, contribution_id, [first, second, author_id])


def test_a_lock_wait_past_lock_timeout_gives_a_french_503(database_url, committing) -> None:
    sep = "&" if "?" in database_url else "?"
    app = make_test_app(database_url + f"{sep}options=-c%20lock_timeout%3D200")
    (voter, _other), (contribution_id, author_id) = _setup(app)
    app.test_client_class = Client
    client = app.test_client()
    token = _sign_in(app, client, voter)
    path = f"/forums/contributions/{contribution_id}/vote"
    # Another worker holds the contribution's row (its counters) meanwhile.
    holder = create_engine(database_url)
    try:
        with holder.connect() as conn:
            conn.execute(
                text("SELECT id FROM forum_contribution WHERE id = :id FOR UPDATE"),
                {"id": contribution_id},
            )
            as_json = client.post(
                path,
                data={"value": "adopt", "csrf_token": token},
                headers={"Accept": "application/json"},
            )
            as_page = client.post(path, data={"value": "adopt", "csrf_token": token})
            conn.rollback()
        _assert_busy_answers(as_json, as_page)
        assert _state(app, contribution_id) == (0, 0)
        again = client.post(
            path,
            data={"value": "adopt", "csrf_token": token},
            headers={"Accept": "application/json"},
        )
        assert again.status_code == 200
        assert _state(app, contribution_id) == (1, 1)
    finally:
        holder.dispose()
        _cleanup(app, contribution_id, [voter, _other, author_id])
