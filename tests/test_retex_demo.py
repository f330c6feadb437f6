"""Retex demo data: every académie gets published, submitted and draft sheets, searchable."""

from __future__ import annotations

from sqlalchemy import func, select

from consult.territories import catalog
from tests.conftest import make_test_app


def test_demo_fills_every_academie(tmp_path, committing) -> None:
    from consult.db import db
    from retex import queries
    from retex.models import RetexRevision, RetexSheet

    application = make_test_app(f"sqlite:///{tmp_path / 'retex-demo.sqlite3'}")
    runner = application.test_cli_runner()
    assert runner.invoke(args=["init"]).exit_code == 0
    result = runner.invoke(args=["demo", "--scale", "tiny", "--seed", "5"])
    assert result.exit_code == 0, result.output
    with application.app_context():
        session = db.session
        rows = session.execute(select(RetexSheet.academie_code, RetexSheet.status)).all()
        statuses: dict[str, set[str]] = {}
        for academie, status in rows:
            statuses.setdefault(academie, set()).add(status)
        for code in catalog().academies:
            assert statuses.get(code, set()) >= {"published", "submitted", "draft"}, code
        published = session.scalar(select(func.count()).select_from(RetexRevision))
        assert published == sum(1 for _academie, status in rows if status == "published")
        found, total = queries.page_of(session, queries.Filters(q="tablettes"), 1)
        assert all("ablettes" in r.search_text for r in found)
        assert total > 0
        db.session.remove()
