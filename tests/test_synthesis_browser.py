"""The synthesis page in Chromium: an analyst sees the map and the charts drawn locally (no
request leaves the machine), axe finds nothing serious, and without JavaScript the tables are
all there."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.browser_support import ARTIFACTS, PASSWORD, axe_violations, login
from tests.test_synthesis_pages import national_tables, poitiers_tables, publish

pytestmark = pytest.mark.browser

ANALYST = "analyste-syntheses@exemple.test"


@pytest.fixture
def compiled(live_server) -> Iterator[None]:
    from consult.accounts import services
    from consult.db import db
    from consult.models import User
    from synthesis.models import Compilation

    with live_server.app.app_context():
        session = db.session
        if session.query(User).filter_by(email=ANALYST).first() is None:
            analyst = services.register(
                session,
                services.ProfileData(
                    pseudonym="Analyste_Syntheses", audience="autre", academie_code="13"
                ),
                ANALYST,
                PASSWORD,
            )
            services.grant_role(session, analyst, "analyst")
            session.commit()
        compilation_id = publish(
            session,
            {("national", ""): national_tables(), ("academie", "13"): poitiers_tables()},
        ).id
        db.session.remove()
    try:
        yield
    finally:
        # The live database is shared by the whole run: leave no compilation behind.
        with live_server.app.app_context():
            db.session.delete(db.session.get(Compilation, compilation_id))
            db.session.commit()
            db.session.remove()


def test_analyst_sees_map_and_charts_drawn_locally(page, live_server, compiled) -> None:
    login(page, live_server, ANALYST)
    page.goto(f"{live_server.url}/syntheses/france/")
    page.wait_for_selector("#participation-map-plot[data-rendered=true]", timeout=20_000)
    plots = page.locator(".synthesis-plot")
    total = plots.count()
    assert total >= 6
    page.wait_for_function(
        "n => document.querySelectorAll('.synthesis-plot[data-rendered=true]').length === n",
        arg=total,
        timeout=20_000,
    )
    # The map is drawn by the map layer on a canvas, from the GeoJSON served by the app.
    assert page.locator("#participation-map-plot canvas").count() >= 1
    assert page.locator("#participation-audience-plot .main-svg").count() >= 1
    # A contribution title with markup is drawn as text, not interpreted by plotly.js.
    labels = page.locator("#consensus-matrix-plot .ytick text").all_text_contents()
    assert "Des <b>tablettes</b>" in labels
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#participation-map-plot").screenshot(path=str(ARTIFACTS / "synthesis-map.png"))
    assert axe_violations(page) == []
    # Analysts see the controls on the index of the syntheses.
    page.goto(f"{live_server.url}/syntheses/")
    assert page.get_by_role("button", name="Recompiler").is_visible()
    assert axe_violations(page) == []


def test_public_territory_page_passes_axe(page, live_server, compiled) -> None:
    page.goto(f"{live_server.url}/syntheses/poitiers/")
    page.wait_for_selector("#participation-audience-plot[data-rendered=true]", timeout=20_000)
    assert axe_violations(page) == []


def test_without_javascript_the_tables_are_all_there(browser, live_server, compiled) -> None:
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/syntheses/france/")
        for table in (
            "participation-audience-table",
            "participation-map-table",
            "forums-votes-table",
            "consensus-matrix-table",
            "question-Q1-table",
        ):
            assert page.locator(f"#{table} table").is_visible(), table
        assert page.locator(".synthesis-plot[data-rendered=true]").count() == 0
        assert (
            page.locator("#participation-audience-summary")
            .inner_text()
            .startswith("62 personnes ont participé")
        )
        row = page.locator("#participation-audience-table tr", has_text="Parents")
        assert row.locator("td").first.inner_text() == "secret statistique"
    finally:
        context.close()


@pytest.fixture
def worker(live_server, tmp_path, monkeypatch) -> Iterator[threading.Event]:
    """A real queue (Huey on SQLite) for the live server, drained by a worker thread, as
    `flask jobs worker` does; yields an event set once the queue is empty and idle."""
    from huey import SqliteHuey

    from consult import jobs

    q = jobs.queue(live_server.app)
    monkeypatch.setattr(q, "huey", SqliteHuey("browser", filename=str(tmp_path / "jobs.db")))
    monkeypatch.setattr(q, "wrappers", {})
    q.register_all()
    stop, idle = threading.Event(), threading.Event()

    def drain() -> None:
        while not stop.is_set():
            task = q.huey.dequeue()
            if task is None:
                idle.set()
                stop.wait(0.2)
                continue
            idle.clear()
            q.huey.execute(task)

    thread = threading.Thread(target=drain, name="test-worker", daemon=True)
    thread.start()
    yield idle
    stop.set()
    thread.join(timeout=300)


def test_analyst_recompiles_in_the_background(page, live_server, compiled, worker) -> None:
    """The real thing: the button queues a job that a worker runs with its own application
    context; the page reports it and, once done, reads the new compilation."""
    from consult.db import db
    from synthesis import store
    from synthesis.models import Compilation

    with live_server.app.app_context():
        before = db.session.query(Compilation.id).order_by(Compilation.id.desc()).first()[0]
        db.session.remove()
    try:
        login(page, live_server, ANALYST)
        page.goto(f"{live_server.url}/syntheses/")
        page.get_by_role("button", name="Recompiler").click()
        page.wait_for_url(f"{live_server.url}/syntheses/#compilation")
        assert page.get_by_text("Compilation lancée").is_visible()
        for _attempt in range(120):
            with live_server.app.app_context():
                latest = store.latest(db.session)
                latest_id = latest.id if latest else None
                db.session.remove()
            if latest_id and latest_id > before:
                break
            page.wait_for_timeout(500)
        assert latest_id and latest_id > before
        page.goto(f"{live_server.url}/syntheses/")
        assert page.get_by_text("Dernière compilation : terminée").is_visible()
        assert page.get_by_role("button", name="Recompiler").is_visible()
        # The job goes on with the pages and the national archive: once the worker is idle,
        # the analysts' page says it is done and stops refreshing.
        worker.clear()
        assert worker.wait(timeout=300)
        page.goto(f"{live_server.url}/syntheses/compilation")
        assert page.locator("td", has_text="terminée").first.is_visible()
        assert page.locator('meta[http-equiv="refresh"]').count() == 0
    finally:
        # Let the worker finish (pages, then every archive) before cleaning up.
        worker.clear()
        assert worker.wait(timeout=300)
        from consult.jobs import JobRecord

        with live_server.app.app_context():
            for compilation in db.session.query(Compilation).filter(Compilation.id > before):
                db.session.delete(compilation)
            db.session.query(JobRecord).delete()
            db.session.commit()
            db.session.remove()
