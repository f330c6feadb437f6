"""Long work on a job queue (Huey): compilations, export archives, emails.

Why Huey: it is maintained, small (one dependency-free package), and ships the two backends this
project needs — SQLite for the embedded default (a file in ``instance/``, no server to run) and
Redis for production (the Redis that already holds rate limits and caches) — plus an
``immediate`` mode that runs each job inline, which the test suite uses so it needs no worker.
RQ and Dramatiq need Redis (or RabbitMQ) even on a laptop; Celery is far heavier than three
kinds of job.

One home for the queue:

- :func:`task` registers a job kind (packages call it at import time);
- :func:`enqueue` queues a fire-and-forget job (emails: retried by Huey on failure, no record);
- :func:`submit` queues a *recorded* job: a :class:`JobRecord` row (kind, status, progress,
  error) that analysts see, created in the caller's unit of work and sent to the queue only
  once that unit of work commits (a worker never picks up a job whose row it cannot see);
- :func:`expire_lost` marks failed, with a French message, every recorded job whose worker is
  gone: a running job beats a heartbeat every few seconds into the queue's own storage (Redis,
  the SQLite queue file, or memory), and a beat older than the lease means the process died.
  Workers call it when they start and pages call it before they show a job's state, so a job
  killed mid-way is never left "running".

Live progress and heartbeats go to the queue's storage rather than the database: a compilation
holds the database's write lock for its whole transaction on SQLite, so another connection could
not update a progress row while it runs. The record gets its final progress when the job ends.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from huey import Huey, MemoryHuey, RedisHuey, SqliteHuey, crontab
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from consult.db import Base, db, utcnow

log = logging.getLogger(__name__)

QUEUED = "queued"
RUNNING = "running"
DONE = "done"
FAILED = "failed"
ACTIVE = (QUEUED, RUNNING)

EXTENSION = "consult_jobs"
SWEEP = "consult.jobs.sweep"
PENDING_KEY = "consult_jobs_pending"

# Stored on the record, shown as is to analysts (French, no exception text from a dead process).
LOST_MESSAGE = (
    "Tâche interrompue : le processus qui l’exécutait s’est arrêté avant la fin "
    "(aucun signe de vie depuis plus de {seconds} s). Relancez-la."
)
UNQUEUED_MESSAGE = "La file d’attente des tâches est injoignable : la tâche n’a pas été lancée."


class JobRecord(Base):
    """One recorded job: what analysts see of long work (never its arguments: they may hold
    personal data)."""

    __tablename__ = "job_record"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    label: Mapped[str] = mapped_column(String(200))
    # What the job works on, for the kind's clean-up when it is lost ("synthesis_compilation:12").
    ref: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=QUEUED, index=True)
    task_id: Mapped[str | None] = mapped_column(String(64))
    worker: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


# --- Registration --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskSpec:
    name: str
    func: Callable[..., Any]
    record: bool
    retries: int
    retry_delay: int
    # Called (session, record) when a recorded job of this kind is found lost, so the kind can
    # release what it holds (e.g. the compilation queue marker).
    on_lost: Callable[[Session, JobRecord], None] | None
    # (hour, minute) UTC: a periodic job, run every day by the workers (never in immediate mode).
    periodic: tuple[int, int] | None = None


_TASKS: dict[str, TaskSpec] = {}


def task(
    name: str,
    *,
    record: bool = False,
    retries: int = 0,
    retry_delay: int = 0,
    on_lost: Callable[[Session, JobRecord], None] | None = None,
    periodic: tuple[int, int] | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job kind. A recorded job's function receives ``job`` (a :class:`Job`) to
    report progress; it owns its unit of work (commits what it produces). Recorded jobs are
    not retried (a half-done compilation is not safely re-runnable; the analyst relaunches)."""
    if record and retries:
        raise ValueError("recorded jobs are not retried: relaunching is the analyst's call")
    if record and periodic:
        raise ValueError("periodic jobs are not recorded: nobody asked for them")

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        _TASKS[name] = TaskSpec(name, func, record, retries, retry_delay, on_lost, periodic)
        return func

    return decorator


# Periodic kinds: name -> (crontab keyword arguments, function). Each run is an unrecorded job
# of that kind (app context, its own unit of work), scheduled by the workers' consumer.
_PERIODIC: dict[str, dict[str, str]] = {}


def periodic(name: str, **cron: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a job kind run on a schedule (``crontab`` fields: ``minute="5"`` = hourly at
    :05). The function must be idempotent: two workers or a late run may overlap."""

    def decorator(func: Callable[..., Any]) -> Callable[..., Any]:
        task(name)(func)
        _PERIODIC[name] = cron
        return func

    return decorator


# --- The queue of one application ---------------------------------------------------------------


@dataclass
class Queue:
    app: Flask
    huey: Huey
    wrappers: dict[str, Any] = field(default_factory=dict)

    def wrapper(self, name: str) -> Any:
        """The Huey task of a kind, created on first use (packages register their kinds when
        they are imported, after this queue is built)."""
        if name not in self.wrappers:
            spec = _TASKS[name]
            app = self.app

            def run(record_id: int | None, args: tuple, kwargs: dict) -> None:
                _execute(app, spec, record_id, args, kwargs)

            run.__name__ = name.replace(".", "_")
            if spec.periodic is not None:
                hour, minute = spec.periodic

                def run_periodic() -> None:
                    _execute(app, spec, None, (), {})

                run_periodic.__name__ = run.__name__
                self.wrappers[name] = self.huey.periodic_task(
                    crontab(minute=str(minute), hour=str(hour)), name=name
                )(run_periodic)
                return self.wrappers[name]
            self.wrappers[name] = self.huey.task(
                name=name, retries=spec.retries, retry_delay=spec.retry_delay
            )(run)
        return self.wrappers[name]

    def register_all(self) -> None:
        for name in _TASKS:
            self.wrapper(name)
        if SWEEP not in self.wrappers:
            app = self.app

            # Every minute in each worker: a job lost by another worker (or host) is recorded
            # even when nobody looks at it.
            def sweep() -> None:
                with app.app_context():
                    try:
                        if expire_lost(db.session, app):
                            db.session.commit()
                    finally:
                        db.session.remove()

            self.wrappers[SWEEP] = self.huey.periodic_task(crontab(), name=SWEEP)(sweep)
        for name, cron in _PERIODIC.items():
            key = f"periodic:{name}"
            if key in self.wrappers:
                continue
            spec = _TASKS[name]

            def scheduled(spec: TaskSpec = spec, app: Flask = self.app) -> None:
                _execute(app, spec, None, (), {})

            self.wrappers[key] = self.huey.periodic_task(crontab(**cron), name=key)(scheduled)


def build_huey(app: Flask) -> Huey:
    config = app.config
    name = config["JOBS_QUEUE_NAME"]
    backend = config["JOBS_BACKEND"]
    # No result store: outcomes live on the records, and Huey would otherwise keep every
    # failed email's error (and its recipient) in Redis for ever.
    if backend == "immediate":
        return MemoryHuey(name, immediate=True, results=False)
    if backend == "redis":
        if not config.get("REDIS_URL"):
            raise RuntimeError("JOBS_BACKEND=redis needs REDIS_URL")
        return RedisHuey(name, url=config["REDIS_URL"], results=False)
    if backend == "sqlite":
        path = Path(config["JOBS_SQLITE_PATH"])
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=str(path), results=False)
    raise RuntimeError(f"JOBS_BACKEND must be immediate, sqlite or redis, got {backend!r}")


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


def init_app(app: Flask) -> None:
    env = app.config.get("ENV_NAME", "development")
    default_backend = (
        "immediate" if env == "testing" else ("redis" if app.config.get("REDIS_URL") else "sqlite")
    )
    app.config.setdefault("JOBS_BACKEND", os.environ.get("JOBS_BACKEND") or default_backend)
    app.config.setdefault(
        "JOBS_SQLITE_PATH",
        os.environ.get("JOBS_SQLITE_PATH") or str(Path(app.config["INSTANCE_PATH"]) / "jobs.db"),
    )
    app.config.setdefault("JOBS_QUEUE_NAME", os.environ.get("JOBS_QUEUE_NAME") or "consult")
    # A running job beats every JOBS_HEARTBEAT_SECONDS; silent for JOBS_LEASE_SECONDS = dead.
    app.config.setdefault("JOBS_HEARTBEAT_SECONDS", _env_float("JOBS_HEARTBEAT_SECONDS", 5))
    app.config.setdefault("JOBS_LEASE_SECONDS", _env_float("JOBS_LEASE_SECONDS", 60))
    # Test hook: a pause after each progress step, so a test can kill a job mid-way. Honoured
    # only when testing.
    step_delay = _env_float("JOBS_STEP_DELAY", 0) if env == "testing" else 0
    app.config.setdefault("JOBS_STEP_DELAY", step_delay)
    app.extensions[EXTENSION] = Queue(app, build_huey(app))
    app.cli.add_command(jobs_group)


def queue(app: Flask | None = None) -> Queue:
    return (app or current_app).extensions[EXTENSION]


# --- Sending jobs --------------------------------------------------------------------------------


def enqueue(name: str, *args: Any, **kwargs: Any) -> None:
    """Queue an unrecorded job now (in tests: run it now)."""
    _send(queue(), name, None, args, kwargs)


def submit(
    session: Session,
    name: str,
    *args: Any,
    label: str,
    ref: str | None = None,
    user_id: int | None = None,
    **kwargs: Any,
) -> JobRecord:
    """Record a job in the caller's unit of work; it is queued when that commits (and
    forgotten if it rolls back)."""
    if not _TASKS[name].record:
        raise ValueError(f"{name} is not a recorded job kind")
    record = JobRecord(kind=name, label=label, ref=ref, status=QUEUED, requested_by_id=user_id)
    session.add(record)
    session.flush()
    app = current_app._get_current_object()
    # The task (and its id) exists before the commit, so the record can name it: a queued
    # record whose task is no longer in the queue was lost by a worker.
    message = queue(app).wrapper(name).s(record.id, args, kwargs)
    record.task_id = message.id
    session.flush()
    session.info.setdefault(PENDING_KEY, []).append((app, record.id, message))
    return record


def _send(q: Queue, name: str, record_id: int | None, args: tuple, kwargs: dict) -> None:
    q.wrapper(name)(record_id, args, kwargs)


@event.listens_for(Session, "after_commit")
def _dispatch_after_commit(session: Session) -> None:
    pending = session.info.pop(PENDING_KEY, None)
    for app, record_id, message in pending or ():
        try:
            queue(app).huey.enqueue(message)
        except Exception:  # Redis down, queue file unwritable: the record says so
            log.exception("could not queue job %s (%s)", record_id, message.name)
            _finish(app, record_id, FAILED, error=UNQUEUED_MESSAGE)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)


# --- Running jobs (in the worker) ---------------------------------------------------------------


def _beat_key(record_id: int) -> str:
    return f"consult-job:{record_id}:beat"


def _progress_key(record_id: int) -> str:
    return f"consult-job:{record_id}:progress"


class Job:
    """What a recorded job's function gets: progress reporting, and the record id."""

    def __init__(self, app: Flask, record_id: int) -> None:
        self.app = app
        self.record_id = record_id
        self.done = 0
        self.total: int | None = None
        self.label = ""
        self._delay = float(app.config.get("JOBS_STEP_DELAY") or 0)

    def set_total(self, total: int) -> None:
        self.total = total
        self._publish()

    def step(self, label: str, n: int = 1) -> None:
        """A progress callback with the engine's signature: ``step(label, n)``."""
        self.done += n
        self.label = label[:200]
        self._publish()
        if self._delay:
            time.sleep(self._delay)

    def _publish(self) -> None:
        try:
            queue(self.app).huey.put(
                _progress_key(self.record_id), (self.done, self.total, self.label)
            )
        except Exception:  # progress is best effort: never fail the job for it
            log.warning("could not publish progress of job %s", self.record_id, exc_info=True)


class _Heartbeat:
    def __init__(self, app: Flask, record_id: int) -> None:
        self.huey = queue(app).huey
        self.key = _beat_key(record_id)
        self.interval = float(app.config["JOBS_HEARTBEAT_SECONDS"])
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"job-{record_id}-beat", daemon=True)

    def _beat(self) -> None:
        try:
            self.huey.put(self.key, time.time())
        except Exception:
            log.warning("heartbeat %s failed", self.key, exc_info=True)

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            self._beat()

    def __enter__(self) -> _Heartbeat:
        self._beat()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 1)
        try:
            self.huey.delete(self.key)
        except Exception:
            log.warning("could not clear heartbeat %s", self.key, exc_info=True)


def _worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:120]


def _claim(session: Session, record_id: int) -> bool:
    """queued → running, atomically: a job swept as lost, or claimed twice, is not run."""
    claimed = session.execute(
        update(JobRecord)
        .where(JobRecord.id == record_id, JobRecord.status == QUEUED)
        .values(
            status=RUNNING,
            started_at=utcnow(),
            worker=_worker_identity(),
            attempts=JobRecord.attempts + 1,
        )
    ).rowcount
    session.commit()
    return bool(claimed)


def _finish(
    app: Flask,
    record_id: int,
    status: str,
    *,
    error: str | None = None,
    job: Job | None = None,
) -> None:
    """Record the end of a job in its own short transaction."""
    with app.app_context():
        session = db.session
        try:
            record = session.get(JobRecord, record_id)
            if record is None:
                return
            record.status = status
            record.finished_at = utcnow()
            if error is not None:
                record.error = error[:2000]
            if job is not None:
                record.progress_done = job.done
                record.progress_total = job.total if job.total is not None else job.done
                record.progress_label = job.label or None
            session.commit()
        finally:
            db.session.remove()
    try:
        queue(app).huey.delete(_progress_key(record_id))
    except Exception:
        log.warning("could not clear progress of job %s", record_id, exc_info=True)


def _execute(app: Flask, spec: TaskSpec, record_id: int | None, args: tuple, kwargs: dict) -> None:
    if record_id is None:
        with app.app_context():
            try:
                spec.func(*args, **kwargs)
            finally:
                db.session.remove()
        return
    with app.app_context():
        try:
            if not _claim(db.session, record_id):
                log.warning("job %s (%s) is no longer queued: not run", record_id, spec.name)
                return
        finally:
            db.session.remove()
    job = Job(app, record_id)
    with _Heartbeat(app, record_id), app.app_context():
        try:
            spec.func(*args, job=job, **kwargs)
        except Exception as exc:
            db.session.rollback()
            log.exception("job %s (%s) failed", record_id, spec.name)
            _finish(app, record_id, FAILED, error=str(exc) or exc.__class__.__name__, job=job)
            raise
        finally:
            db.session.remove()
    _finish(app, record_id, DONE, job=job)


# --- Reading jobs (web, CLI) --------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    done: int
    total: int | None
    label: str

    @property
    def percent(self) -> int | None:
        if not self.total:
            return None
        return max(0, min(100, round(100 * self.done / self.total)))


def progress(record: JobRecord, app: Flask | None = None) -> Progress:
    """Live progress of a running job (from the queue's storage), else what the record kept."""
    if record.status == RUNNING:
        try:
            live = queue(app).huey.get(_progress_key(record.id), peek=True)
        except Exception:
            live = None
        if live:
            done, total, label = live
            return Progress(int(done), total, label or "")
    return Progress(record.progress_done or 0, record.progress_total, record.progress_label or "")


def last_beat(record_id: int, app: Flask | None = None) -> float | None:
    """When the job last beat (epoch seconds), None if never; raises when the queue's storage
    cannot be read (then nobody can tell whether the worker lives)."""
    value = queue(app).huey.get(_beat_key(record_id), peek=True)
    return float(value) if value is not None else None


def _pending_ids(q: Queue) -> set[str] | None:
    try:
        q.register_all()
        return {t.id for t in q.huey.pending()}
    except Exception:
        return None


def expire_lost(session: Session, app: Flask | None = None) -> list[JobRecord]:
    """Mark failed every recorded job whose worker is gone; returns them (flushed, not
    committed: the caller's unit of work commits).

    - running with no heartbeat for longer than the lease (a worker beats every few seconds);
    - queued for longer than the lease, no longer in the queue and never claimed (dequeued by
      a worker that died before claiming it).
    """
    app = app or current_app._get_current_object()
    q = queue(app)
    lease = float(app.config["JOBS_LEASE_SECONDS"])
    now = time.time()
    horizon = utcnow() - timedelta(seconds=lease)
    active = list(session.scalars(select(JobRecord).where(JobRecord.status.in_(ACTIVE))))
    if not active:
        return []
    pending: set[str] | None = None
    lost: list[JobRecord] = []
    for record in active:
        try:
            beat = last_beat(record.id, app)
        except Exception:
            log.warning("queue storage unreadable: lost jobs not checked", exc_info=True)
            return lost
        if record.status == RUNNING:
            if beat is not None:
                if now - beat <= lease:
                    continue
            elif record.started_at is not None and record.started_at > horizon:
                continue
        else:
            if record.created_at > horizon or q.huey.immediate:
                continue
            if pending is None:
                pending = _pending_ids(q)
            # Unknown queue state (storage down), a known task id still waiting, or any task
            # when ids are not kept: still queued, not lost.
            if pending is None or record.task_id is None or record.task_id in pending:
                continue
        record.status = FAILED
        record.finished_at = utcnow()
        record.error = LOST_MESSAGE.format(seconds=int(lease))
        spec = _TASKS.get(record.kind)
        if spec is not None and spec.on_lost is not None:
            spec.on_lost(session, record)
        lost.append(record)
    session.flush()
    return lost


def recent(session: Session, kind: str | None = None, limit: int = 5) -> list[JobRecord]:
    query = select(JobRecord).order_by(JobRecord.id.desc()).limit(limit)
    if kind is not None:
        query = query.where(JobRecord.kind == kind)
    return list(session.scalars(query))


# --- CLI ----------------------------------------------------------------------------------------

jobs_group = AppGroup("jobs", help="File d’attente des tâches longues (Huey).")


@jobs_group.command("worker", help="Lance un worker qui exécute les tâches en attente.")
@click.option("--workers", "-w", default=1, show_default=True, help="Tâches en parallèle.")
def worker_command(workers: int) -> None:
    app = current_app._get_current_object()
    q = queue(app)
    if q.huey.immediate:
        raise click.ClickException(
            "JOBS_BACKEND=immediate : les tâches s’exécutent déjà dans le processus web."
        )
    q.register_all()
    # Huey logs each job it runs and each failure: to stderr, with the app's level.
    logging.basicConfig(
        level=app.config.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
    )
    lost = expire_lost(db.session, app)
    db.session.commit()
    if lost:
        click.echo(f"{len(lost)} tâche(s) interrompue(s) marquée(s) en échec.")
    click.echo(f"Worker {app.config['JOBS_BACKEND']} prêt ({workers} en parallèle).")
    consumer = q.huey.create_consumer(workers=workers, worker_type="thread", periodic=True)
    consumer.run()


@jobs_group.command("status", help="Les dernières tâches enregistrées.")
@click.option("--limit", default=10, show_default=True)
def status_command(limit: int) -> None:
    lost = expire_lost(db.session)
    db.session.commit()
    if lost:
        click.echo(f"{len(lost)} tâche(s) interrompue(s) marquée(s) en échec.")
    records = recent(db.session, limit=limit)
    if not records:
        click.echo("Aucune tâche enregistrée.")
    for record in records:
        p = progress(record)
        total = f"/{p.total}" if p.total else ""
        click.echo(
            f"{record.id}\t{record.kind}\t{record.status}\t{p.done}{total}\t"
            f"{record.created_at:%d/%m/%Y %H:%M}\t{record.error or ''}"
        )
