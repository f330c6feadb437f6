"""Command line: migrations from empty to head, territories, admin creation, roles, demo data."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, inspect, select, text

from consult.db import make_engine
from tests.conftest import make_test_app


@pytest.fixture
def fresh_url(tmp_path, committing):
    """An empty database of the same kind as the suite's (SQLite file or PostgreSQL)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    from consult.config import normalise_database_url

    base = normalise_database_url(base)
    name = f"consult_cli_{os.getpid()}"
    admin = make_engine(base).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + f"/{name}"
    from tests.conftest import _dispose_extra_apps

    _dispose_extra_apps()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_app(fresh_url):
    application = make_test_app(fresh_url)
    yield application
    from consult.db import db

    db.session.remove()


def test_upgrade_from_empty_to_head_and_back(fresh_app, fresh_url) -> None:
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    engine = make_engine(fresh_url)
    tables = set(inspect(engine).get_table_names())
    assert {
        "user_account",
        "academie",
        "departement",
        "region_academique",
        "role_grant",
        "audit_event",
        "alembic_version",
    } <= tables
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()


def test_init_admin_grant_and_demo(fresh_app, fresh_url) -> None:
    from consult.db import db
    from consult.models import RoleGrant, User

    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["init"])  # idempotent
    assert "0 régions académiques" in result.output

    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--pseudonym",
            "Cheffe_Projet",
            "--email",
            "cheffe@exemple.test",
            "--password",
            "une longue phrase secrète",
        ]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        args=[
            "users",
            "create-admin",
            "--pseudonym",
            "Bad",
            "--email",
            "nope",
            "--password",
            "court",
        ]
    )
    assert result.exit_code != 0
    assert "12 caractères" in result.output

    result = runner.invoke(args=["demo", "--scale", "tiny", "--seed", "7"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["demo", "--scale", "tiny", "--if-empty"])
    assert "déjà" in result.output

    result = runner.invoke(
        args=["users", "grant", "CoordPoitiers", "coordinator", "--region", "75"]
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "grant", "Inconnu", "moderator"])
    assert result.exit_code != 0
    result = runner.invoke(
        args=["users", "grant", "CoordPoitiers", "coordinator", "--academie", "99"]
    )
    assert "Académie inconnue" in result.output

    with fresh_app.app_context():
        users = db.session.scalar(select(func.count()).select_from(User))
        assert users == 200 + 5 + 1
        audiences = dict(
            db.session.execute(select(User.audience, func.count()).group_by(User.audience)).all()
        )
        assert set(audiences) == {"eleve", "parent", "professeur", "encadrement", "agent", "autre"}
        academies = db.session.scalar(select(func.count(func.distinct(User.academie_code))))
        assert academies >= 20
        students = db.session.scalars(select(User).where(User.audience == "eleve")).all()
        assert all(s.school_level in {"college", "lycee"} for s in students)
        grants = db.session.scalars(select(RoleGrant.role)).all()
        assert sorted(grants).count("coordinator") == 3
        from sqlalchemy.orm import aliased

        from forums.models import Comment

        parent = aliased(Comment)
        replies = db.session.scalar(
            select(func.count()).select_from(Comment).where(Comment.parent_id.is_not(None))
        )
        early = db.session.scalar(
            select(func.count())
            .select_from(Comment)
            .join(parent, parent.id == Comment.parent_id)
            .where(Comment.created_at < parent.created_at)
        )
        assert replies > 0
        assert early == 0, "a demo reply is dated before the comment it answers"
        db.session.remove()


def test_demo_is_reproducible(tmp_path, committing) -> None:
    from consult.db import db
    from consult.models import User

    pseudonyms = []
    for run in range(2):
        application = make_test_app(f"sqlite:///{tmp_path / f'demo{run}.sqlite3'}")
        runner = application.test_cli_runner()
        assert runner.invoke(args=["init"]).exit_code == 0
        assert runner.invoke(args=["demo", "--seed", "11"]).exit_code == 0
        with application.app_context():
            pseudonyms.append(db.session.scalars(select(User.pseudonym).order_by(User.id)).all())
            db.session.remove()
    assert pseudonyms[0] == pseudonyms[1]
