"""The job queue: recorded jobs, progress, lost jobs, emails, the worker; and a real worker
process killed in the middle of a compilation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select

from consult import jobs
from consult.config import ROOT
from consult.db import db, utcnow
from consult.jobs import JobRecord
from consult.models import Role
from synthesis import store, tasks, views
from synthesis.models import Compilation
from tests.conftest import RUN_ID, make_test_app
from tests.factories import RoleGrantFactory, UserFactory

# A test kind: it reports progress, fails on demand, and says when it was lost.
RAN: list[tuple] = []
LOST: list[int] = []


def _on_lost(session, record: JobRecord) -> None:
    LOST.append(record.id)


@jobs.task("tests.counting", record=True, on_lost=_on_lost)
def counting(n: int, *, fail: bool = False, job: jobs.Job) -> None:
    job.set_total(n)
    for i in range(n):
        job.step(f"pas {i + 1}")
    RAN.append((n, fail))
    if fail:
        raise RuntimeError("panne simulée")


@pytest.fixture(autouse=True)
def _clear() -> None:
    RAN.clear()
    LOST.clear()


def _submit(app: Flask, session, *args, **kwargs) -> JobRecord:
    with app.test_request_context("/"):
        record = jobs.submit(session, "tests.counting", *args, label="Comptage", **kwargs)
        session.commit()
    return record


# --- Recorded jobs (the suite's queue runs each job when its unit of work commits) -------------


def test_a_recorded_job_runs_after_commit_and_keeps_its_progress(app, session) -> None:
    record = _submit(app, session, 3)
    assert RAN == [(3, False)]
    session.expire_all()
    record = session.get(JobRecord, record.id)
    assert record.status == "done"
    assert (record.progress_done, record.progress_total, record.progress_label) == (3, 3, "pas 3")
    assert record.started_at is not None and record.finished_at is not None
    assert record.attempts == 1 and record.task_id
    assert jobs.progress(record, app).percent == 100


def test_a_rolled_back_job_is_never_sent(app, session) -> None:
    with app.test_request_context("/"):
        jobs.submit(session, "tests.counting", 2, label="Comptage")
        session.rollback()
        session.commit()
    assert RAN == []
    assert session.scalars(select(JobRecord)).all() == []


def test_a_failing_job_is_recorded_failed_with_its_error(app, session) -> None:
    record = _submit(app, session, 2, fail=True)
    assert RAN == [(2, True)]
    session.expire_all()
    record = session.get(JobRecord, record.id)
    assert record.status == "failed"
    assert record.error == "panne simulée"
    assert record.progress_done == 2


def test_a_job_no_longer_queued_is_not_run(app, session, monkeypatch) -> None:
    """A job swept as lost while it waited (or claimed twice) must not run afterwards."""
    held: list = []
    monkeypatch.setattr(jobs.queue(app).huey, "enqueue", held.append)
    record = _submit(app, session, 1)
    session.get(JobRecord, record.id).status = "failed"
    session.commit()
    monkeypatch.undo()
    jobs.queue(app).huey.enqueue(held[0])
    assert RAN == []


def test_an_unreachable_queue_marks_the_job_failed(app, session, monkeypatch) -> None:
    def down(message):
        raise ConnectionError("redis injoignable")

    monkeypatch.setattr(jobs.queue(app).huey, "enqueue", down)
    record = _submit(app, session, 1)
    session.expire_all()
    record = session.get(JobRecord, record.id)
    assert record.status == "failed"
    assert record.error == jobs.UNQUEUED_MESSAGE


def test_unrecorded_kinds_cannot_be_submitted_and_recorded_ones_are_not_retried(app) -> None:
    with app.test_request_context("/"), pytest.raises(ValueError):
        jobs.submit(db.session, "mail.send", "a@b.c", "s", "b", label="x")
    with pytest.raises(ValueError):
        jobs.task("tests.bad", record=True, retries=2)


# --- Lost jobs ----------------------------------------------------------------------------------


def _running_record(session, *, started_minutes_ago: int = 10, kind="tests.counting") -> JobRecord:
    record = JobRecord(
        kind=kind,
        label="Comptage",
        status="running",
        task_id="t-1",
        created_at=utcnow() - timedelta(minutes=started_minutes_ago),
        started_at=utcnow() - timedelta(minutes=started_minutes_ago),
    )
    session.add(record)
    session.flush()
    return record


def test_a_running_job_without_heartbeat_is_marked_failed(app, session) -> None:
    record = _running_record(session)
    lost = jobs.expire_lost(session, app)
    assert [r.id for r in lost] == [record.id]
    assert record.status == "failed" and record.finished_at is not None
    assert record.error.startswith("Tâche interrompue")
    assert [record.id] == LOST


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(app, session) -> None:
    record = _running_record(session)
    huey = jobs.queue(app).huey
    huey.put(jobs._beat_key(record.id), time.time())
    try:
        assert jobs.expire_lost(session, app) == []
        assert record.status == "running"
        # The same beat, older than the lease: the worker is gone.
        huey.put(jobs._beat_key(record.id), time.time() - app.config["JOBS_LEASE_SECONDS"] - 1)
        assert [r.id for r in jobs.expire_lost(session, app)] == [record.id]
    finally:
        huey.delete(jobs._beat_key(record.id))


def test_an_unreadable_queue_storage_fails_no_job(app, session, monkeypatch) -> None:
    """Redis down: nobody can tell whether a worker lives, so nothing is declared lost."""
    record = _running_record(session)

    def down(*args, **kwargs):
        raise ConnectionError("redis injoignable")

    monkeypatch.setattr(jobs.queue(app).huey, "get", down)
    assert jobs.expire_lost(session, app) == []
    assert record.status == "running"


def test_workers_sweep_lost_jobs_every_minute(app, session) -> None:
    record = _running_record(session)
    q = jobs.queue(app)
    q.register_all()
    sweep = q.wrappers[jobs.SWEEP]
    # Due at any minute (Huey's scheduler asks every minute).
    assert jobs.SWEEP in {t.name for t in q.huey.read_periodic(utcnow())}
    sweep.call_local()
    session.expire_all()
    assert session.get(JobRecord, record.id).status == "failed"


def test_a_just_claimed_job_is_not_lost_before_its_first_beat(app, session) -> None:
    record = _running_record(session, started_minutes_ago=0)
    assert jobs.expire_lost(session, app) == []
    assert record.status == "running"


def test_a_queued_job_lost_from_the_queue_is_marked_failed(database_url, tmp_path, session) -> None:
    """With a real queue: a record whose task is still waiting stays queued (no worker yet);
    one whose task left the queue without ever being claimed was lost by a dying worker."""
    other = make_test_app(
        database_url,
        JOBS_BACKEND="sqlite",
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"),
        JOBS_LEASE_SECONDS=60,
    )
    with other.test_request_context("/"):
        taken = jobs.submit(session, "tests.counting", 1, label="Comptage")
        waiting = jobs.submit(session, "tests.counting", 1, label="Comptage")
        session.commit()
        huey = jobs.queue(other).huey
        assert {t.id for t in huey.pending()} == {taken.task_id, waiting.task_id}
        # A worker takes the first task off the queue and dies before claiming it.
        assert huey.dequeue().id == taken.task_id
        assert RAN == []
        assert jobs.expire_lost(session, other) == []  # both too recent to judge
        for record in (taken, waiting):
            record.created_at = utcnow() - timedelta(minutes=5)
        session.flush()
        assert [r.id for r in jobs.expire_lost(session, other)] == [taken.id]
        assert taken.status == "failed" and taken.error.startswith("Tâche interrompue")
        assert waiting.status == "queued"


def test_the_worker_marks_lost_jobs_failed_when_it_starts(
    database_url, tmp_path, session, monkeypatch
) -> None:
    record = _running_record(session)
    session.commit()
    other = make_test_app(
        database_url, JOBS_BACKEND="sqlite", JOBS_SQLITE_PATH=str(tmp_path / "jobs.db")
    )
    consumers: list = []

    class FakeConsumer:
        def run(self) -> None:
            consumers.append(self)

    monkeypatch.setattr(
        type(jobs.queue(other).huey), "create_consumer", lambda self, **kw: FakeConsumer()
    )
    result = other.test_cli_runner().invoke(args=["jobs", "worker"])
    assert result.exit_code == 0, result.output
    assert "1 tâche(s) interrompue(s)" in result.output
    assert len(consumers) == 1
    session.expire_all()
    assert session.get(JobRecord, record.id).status == "failed"


def test_the_worker_refuses_immediate_mode(app) -> None:
    result = app.test_cli_runner().invoke(args=["jobs", "worker"])
    assert result.exit_code != 0
    assert "immediate" in result.output


def test_jobs_status_lists_records(app, session) -> None:
    _submit(app, session, 2)
    result = app.test_cli_runner().invoke(args=["jobs", "status"])
    assert result.exit_code == 0, result.output
    assert "tests.counting\tdone\t2/2" in result.output


# --- Emails -------------------------------------------------------------------------------------


def test_mail_is_sent_by_a_job_not_by_the_request(app, client, user, outbox, monkeypatch) -> None:
    held: list = []
    monkeypatch.setattr(jobs.queue(app).huey, "enqueue", held.append)
    response = client.submit("/compte/mot-de-passe-oublie", {"email": user.email})
    assert response.status_code == 302
    assert outbox == []  # nothing sent while the request ran
    assert [m.name for m in held] == ["mail.send"]
    assert held[0].retries == 5
    monkeypatch.undo()
    jobs.queue(app).huey.enqueue(held[0])  # what a worker does
    assert len(outbox) == 1 and outbox[0]["To"] == user.email


# --- Analysts see compilations ------------------------------------------------------------------


def _analyst(session):
    analyst = UserFactory()
    RoleGrantFactory(user=analyst, role=Role.ANALYST)
    session.flush()
    return analyst


def test_compilation_page_shows_progress_and_refreshes_while_running(app, client, session) -> None:
    marker = Compilation(status="queued", trigger="web")
    session.add(marker)
    session.flush()
    with app.test_request_context("/"):
        record = JobRecord(
            kind=tasks.COMPILE,
            label="Compilation des synthèses",
            ref=f"{tasks.REF_PREFIX}{marker.id}",
            status="running",
            started_at=utcnow(),
        )
        session.add(record)
        session.commit()
    huey = jobs.queue(app).huey
    huey.put(jobs._beat_key(record.id), time.time())
    huey.put(jobs._progress_key(record.id), (7, 56, "academie 16"))
    try:
        client.login(_analyst(session).email)
        html = client.get("/syntheses/compilation").get_data(as_text=True)
        assert 'http-equiv="refresh"' in html
        assert '<progress max="56" value="7">' in html
        assert "academie 16" in html
        national = client.get("/syntheses/").get_data(as_text=True)
        assert '<progress max="56" value="7">' in national
        assert "/syntheses/compilation" in national
    finally:
        huey.delete(jobs._beat_key(record.id))
        huey.delete(jobs._progress_key(record.id))
    # The worker dies: the next look records it failed, frees the marker, stops refreshing.
    session.get(JobRecord, record.id).started_at = utcnow() - timedelta(minutes=10)
    session.commit()
    html = client.get("/syntheses/compilation").get_data(as_text=True)
    assert 'http-equiv="refresh"' not in html
    assert "Tâche interrompue" in html
    session.expire_all()
    assert session.get(Compilation, marker.id).status == "failed"


def test_compilation_page_is_for_analysts_only(client, session) -> None:
    assert client.get("/syntheses/compilation").status_code in (302, 401, 403)
    client.login(UserFactory().email)
    assert client.get("/syntheses/compilation").status_code == 403


# --- A real worker killed mid-way ---------------------------------------------------------------


# The production backend when the suite runs with Redis (CI), the embedded one otherwise.
KILL_BACKEND = "redis" if os.environ.get("REDIS_URL") else "sqlite"


def _worker_env(database_url: str, tmp_path: Path, queue_name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CONSULT_ENV="testing",
        DATABASE_URL=database_url,
        CONSULT_INSTANCE_PATH=str(tmp_path),
        JOBS_BACKEND=KILL_BACKEND,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"),
        JOBS_QUEUE_NAME=queue_name,
        JOBS_HEARTBEAT_SECONDS="0.5",
        JOBS_LEASE_SECONDS="3",
        # The test hook: every progress step of the compilation lasts a second.
        JOBS_STEP_DELAY="1",
    )
    return env


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_compilation_killed_mid_way_is_not_left_running(
    committing, database_url, tmp_path
) -> None:
    queue_name = f"consult-test-{RUN_ID}"
    other = make_test_app(
        database_url,
        JOBS_BACKEND=KILL_BACKEND,
        JOBS_SQLITE_PATH=str(tmp_path / "jobs.db"),
        JOBS_QUEUE_NAME=queue_name,
        JOBS_HEARTBEAT_SECONDS=0.5,
        JOBS_LEASE_SECONDS=3,
    )
    with other.test_request_context("/syntheses/recompiler"):
        session = db.session
        before = set(session.scalars(select(Compilation.id)))
        marker = store.start(session, trigger="web")
        marker.status = "queued"
        session.flush()
        record = tasks.submit_compilation(session, marker)
        session.commit()
        marker_id, record_id = marker.id, record.id
        db.session.remove()
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "jobs", "worker"],
        cwd=ROOT,
        env=_worker_env(database_url, tmp_path, queue_name),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:

        def mid_way():
            with other.app_context():
                found = db.session.get(JobRecord, record_id)
                done = jobs.progress(found, other).done if found.status == "running" else 0
                db.session.remove()
                return done >= 3

        _wait_for(mid_way, 120, "the compilation to be under way")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        with other.test_request_context("/syntheses/"):
            assert db.session.get(JobRecord, record_id).status == "running"  # killed mid-way
            db.session.remove()
        time.sleep(3.5)  # the lease runs out
        with other.test_request_context("/syntheses/"):
            session = db.session
            # Reading the state, as the analysts' pages do, records the loss.
            assert views._running(session) is None
            found = session.get(JobRecord, record_id)
            assert found.status == "failed"
            assert found.error.startswith("Tâche interrompue")
            assert session.get(Compilation, marker_id).status == "failed"
            # The killed transaction left no compilation behind, running or otherwise.
            assert set(session.scalars(select(Compilation.id))) == before | {marker_id}
            db.session.remove()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=10)
        log.close()
        jobs.queue(other).huey.storage.flush_all()
        with other.app_context():
            db.session.execute(delete(JobRecord).where(JobRecord.id == record_id))
            db.session.execute(delete(Compilation).where(Compilation.id == marker_id))
            db.session.commit()
            db.session.remove()


def test_cli_compile_background_queues_one_compilation(app, session, monkeypatch) -> None:
    held: list = []
    monkeypatch.setattr(jobs.queue(app).huey, "enqueue", held.append)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["synthesis", "compile", "--background"])
    assert result.exit_code == 0, result.output
    assert [m.name for m in held] == [tasks.COMPILE]
    record = session.scalars(select(JobRecord)).one()
    assert record.status == "queued" and record.kind == tasks.COMPILE
    again = runner.invoke(args=["synthesis", "compile", "--background"])
    assert again.exit_code != 0
    assert "déjà en attente" in again.output
    assert len(held) == 1


def test_a_compilation_job_reports_every_step(app, session, monkeypatch) -> None:
    """The real engine through the queue: progress counts every step it announced; the
    pages and the national archive are prepared, then the topics by a follow-up job (which
    prepares them again, with the topics), then every territory's archive by a last one."""
    from synthesis import exports

    pages: list = []
    archives: list = []
    monkeypatch.setattr(views, "warm_cache", lambda app: pages.append(app) or 0)
    monkeypatch.setattr(exports, "warm", lambda session, scopes=None: archives.append(scopes) or 0)
    with app.test_request_context("/syntheses/recompiler"):
        marker = store.start(session, trigger="web")
        marker.status = "queued"
        session.flush()
        record = tasks.submit_compilation(session, marker)
        session.commit()
        marker_id, record_id = marker.id, record.id
    session.expire_all()
    record = session.get(JobRecord, record_id)
    assert record.status == "done", record.error
    assert record.progress_total == record.progress_done > tasks.WARM_STEPS
    assert session.get(Compilation, marker_id) is None
    assert store.latest(session).trigger == "web"
    assert store.latest(session).topics_at is not None
    assert len(pages) == 2
    national = [exports.resolve_scope("national")]
    assert archives == [national, national, None]


def test_a_long_compilation_blocks_a_second_one_while_its_worker_beats(app, session) -> None:
    """One rule, the job lease: a compilation still beating after 45 minutes (the gd dataset
    on a small machine) is running; there used to be a second, fixed 30-minute timeout that
    declared it dead and let a second compilation start beside it."""
    long_ago = utcnow() - timedelta(minutes=45)
    with app.test_request_context("/syntheses/"):
        marker = store.start(session, trigger="web")
        marker.status = "queued"
        marker.started_at = long_ago
        record = JobRecord(
            kind=tasks.COMPILE,
            label="Compilation des synthèses",
            ref=f"{tasks.REF_PREFIX}{marker.id}",
            status="running",
            created_at=long_ago,
            started_at=long_ago,
        )
        session.add(record)
        session.flush()
        jobs.queue(app).huey.put(f"consult-job:{record.id}:beat", time.time())
        try:
            assert views._running(session) is marker
            # Its job gone (finished, failed or lost), the marker no longer blocks.
            record.status = "failed"
            record.error = "Tâche interrompue"
            session.flush()
            assert views._running(session) is None
            assert marker.status == "failed"
        finally:
            jobs.queue(app).huey.get(f"consult-job:{record.id}:beat")
