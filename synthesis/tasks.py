"""Synthesis work on the job queue: the analysts' « Recompiler » (compile every scope, then
prepare the public pages and the national open-data archive)."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult import jobs
from consult.db import db, utcnow
from synthesis.models import QUEUED, Compilation

COMPILE = "synthesis.compile"
WARM_EXPORTS = "synthesis.warm_exports"
TOPICS = "synthesis.topics"
REF_PREFIX = "synthesis_compilation:"
# Steps after the engine's: the pages, then the national archive.
WARM_STEPS = 2


def _marker_id(record: jobs.JobRecord) -> int | None:
    ref = record.ref or ""
    if not ref.startswith(REF_PREFIX):
        return None
    try:
        return int(ref.removeprefix(REF_PREFIX))
    except ValueError:
        return None


def _release_marker(session: Session, record: jobs.JobRecord) -> None:
    """A lost compilation job frees the queue: its marker is recorded as failed too."""
    marker_id = _marker_id(record)
    marker = session.get(Compilation, marker_id) if marker_id is not None else None
    if marker is not None and marker.status == QUEUED:
        marker.status = "failed"
        marker.error = record.error
        marker.finished_at = utcnow()


def running_marker(session: Session) -> tuple[Compilation | None, bool]:
    """The queued web compilation, if its job is still alive, and whether any marker or job
    was released on the way (flushed: the caller commits). Liveness is the job lease's one
    rule (``jobs.expire_lost`` frees the marker of a lost job, through ``_release_marker``);
    a marker whose job record is finished, failed or gone has nothing left to wait for."""
    released = bool(jobs.expire_lost(session))
    for marker in session.scalars(
        select(Compilation).where(Compilation.status == QUEUED).order_by(Compilation.id.desc())
    ).all():
        record = session.scalar(
            select(jobs.JobRecord)
            .where(jobs.JobRecord.ref == f"{REF_PREFIX}{marker.id}")
            .order_by(jobs.JobRecord.id.desc())
            .limit(1)
        )
        if record is not None and record.status in jobs.ACTIVE:
            session.flush()
            return marker, released
        released = True
        marker.status = "failed"
        marker.error = (record.error if record is not None else None) or "tâche introuvable"
        marker.finished_at = utcnow()
    session.flush()
    return None, released


def submit_compilation(session: Session, marker: Compilation) -> jobs.JobRecord:
    """Queue the compilation of a web marker; sent to the queue when the caller commits."""
    return jobs.submit(
        session,
        COMPILE,
        marker.id,
        label="Compilation des synthèses",
        ref=f"{REF_PREFIX}{marker.id}",
        user_id=marker.requested_by_id,
    )


@jobs.task(COMPILE, record=True, on_lost=_release_marker)
def compile_job(marker_id: int, *, job: jobs.Job) -> None:
    """The engine stores a new compilation; the queued marker (what makes a second request
    wait) goes in the same transaction, or records the error."""
    from synthesis import catalog, engine, exports, views

    session = db.session
    marker = session.get(Compilation, marker_id)
    if marker is None or marker.status != QUEUED:
        return  # already compiled, or given up on while it waited
    user_id = marker.requested_by_id
    job.set_total(engine.steps_for(catalog.all_scopes()) + WARM_STEPS)
    try:
        # Tables only: the topics of free texts follow in their own job (below).
        compilation = engine.compile_all(
            session, trigger="web", user_id=user_id, progress=job.step, topics=False
        )
        compilation_id = compilation.id
        session.delete(marker)
        session.commit()
    except Exception as exc:
        session.rollback()
        failed = session.get(Compilation, marker_id)
        if failed is not None:
            failed.status = "failed"
            failed.error = str(exc)[:2000] or exc.__class__.__name__
            failed.finished_at = utcnow()
            session.commit()
        raise
    # Visitors must never pay for a build: pages and the national archive are prepared now.
    views.warm_cache(current_app._get_current_object())
    job.step("pages")
    exports.warm(session, scopes=[exports.resolve_scope("national")])
    session.commit()
    job.step("archive nationale")
    # The topics, then the territories' archives, follow in their own jobs: the compilation
    # is done for analysts now, and no visitor of a territory waits for its zip later.
    jobs.enqueue(TOPICS, compilation_id)


@jobs.task(TOPICS)
def topics_job(compilation_id: int) -> None:
    """The topics of a finished compilation's free texts (unchanged samples reuse the previous
    compilation's), then its pages and archives are prepared again with them."""
    from synthesis import engine, exports, views

    session = db.session
    compilation = session.get(Compilation, compilation_id)
    if compilation is None or compilation.status != "done" or compilation.topics_at is not None:
        jobs.enqueue(WARM_EXPORTS)
        return
    engine.compile_topics(session, compilation)
    session.commit()
    views.warm_cache(current_app._get_current_object())
    exports.warm(session, scopes=[exports.resolve_scope("national")])
    session.commit()
    jobs.enqueue(WARM_EXPORTS)


@jobs.task(WARM_EXPORTS)
def warm_exports_job() -> None:
    from synthesis import exports

    exports.warm(db.session)
    db.session.commit()
