"""Questionnaire benchmark: streaming exports (time, peak memory), the analyst results page,
and responses submitted per second through the web form.

    .venv/bin/python -m bench.surveys_bench --scale egn \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_surveys

The database is migrated and filled with the questionnaire's demo responses (surveys.demo) up
to the scale's count, or ``--responses N``; a second run reuses what is there. Figures are
printed next to the hello-world baseline measured by the same gunicorn in the same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from bench.harness import VENV_BIN, load, run_measured, serve

SESSION_RE = re.compile(r"consult_session=([^;]+)")
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
ANALYST_EMAIL = "bench-analyste@consult.test"
PASSWORD = "bench-analyse-2020"  # noqa: S105 - a local benchmark account


def _env(url: str) -> dict[str, str]:
    return {"DATABASE_URL": url, "CONSULT_ENV": "development", "RATELIMIT_ENABLED": "false"}


@contextmanager
def _app(url: str):
    os.environ.update(_env(url))
    from consult import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        yield app


def prepare(url: str, target: int, codes: int) -> int:
    """Migrate, fill responses up to ``target``, create the analyst and the codes with full
    drafts used by the submission benchmark. Returns the number of responses."""
    from sqlalchemy import func, insert, select

    from consult import migrate
    from consult.accounts import services as accounts
    from consult.db import db, utcnow
    from consult.territories import load_territories
    from surveys import demo, services
    from surveys.models import AccessCode, AccessCodeBatch, SurveyDraft, SurveyResponse

    with _app(url):
        migrate.upgrade("heads", url=url)
        session = db.session
        load_territories(session)
        session.commit()
        questionnaire = services.current_questionnaire(session)
        have = session.scalar(select(func.count()).select_from(SurveyResponse))
        if have < target:
            demo.TARGETS["bench"] = target - have

            @contextmanager
            def progress(label, length):
                began = time.perf_counter()

                class Bar:
                    done = 0

                    def update(self, n):
                        Bar.done += n
                        if Bar.done % 50_000 < n:
                            rate = Bar.done / (time.perf_counter() - began)
                            print(f"  {label}: {Bar.done}/{length} ({rate:.0f}/s)", flush=True)

                yield Bar()

            began = time.perf_counter()
            demo.generate(session, "bench", random.Random(have), progress)
            print(f"generated {target - have} responses in {time.perf_counter() - began:.0f} s")
        if not accounts.pseudonym_taken(session, "BenchAnalyste"):
            analyst = accounts.register(
                session,
                accounts.ProfileData(
                    pseudonym="BenchAnalyste", audience="autre", academie_code="13"
                ),
                ANALYST_EMAIL,
                PASSWORD,
            )
            accounts.grant_role(session, analyst, "analyst")
        # Fresh codes with complete drafts, so each web submission is: code → review → send.
        batch = AccessCodeBatch(
            questionnaire_id=questionnaire.id,
            label="bench",
            audience="eleve",
            academie_code="13",
            size=codes,
            expires_at=questionnaire.closes_at,
            created_at=utcnow(),
        )
        session.add(batch)
        session.flush()
        rng = random.Random(7)
        answerer = demo.Answerer(questionnaire.definition, "eleve")
        code_rows = [{"batch_id": batch.id, "code": services._new_code()} for _ in range(codes)]
        session.execute(insert(AccessCode), code_rows)
        ids = session.scalars(select(AccessCode.id).where(AccessCode.batch_id == batch.id)).all()
        session.execute(
            insert(SurveyDraft),
            [
                {
                    "questionnaire_id": questionnaire.id,
                    "access_code_id": code_id,
                    "answers": answerer.answer(rng),
                    "page": 0,
                    "updated_at": utcnow(),
                }
                for code_id in ids
            ],
        )
        session.commit()
        total = session.scalar(select(func.count()).select_from(SurveyResponse))
        global BENCH_CODES
        BENCH_CODES = [r["code"] for r in code_rows]
        results_query_seconds(session, questionnaire)
        return total


BENCH_CODES: list[str] = []


def results_query_seconds(session, questionnaire) -> None:
    from surveys import queries

    question = questionnaire.definition.question("C08")
    began = time.perf_counter()
    results = queries.question_results(session, questionnaire, question)
    seconds = time.perf_counter() - began
    print(
        f"results computation, C08 by audience × académie ({results.overall.respondents} "
        f"answers): {seconds:.2f} s in-process"
    )


def _session_cookie(response, previous: str | None = None) -> str:
    """The session cookie among the Set-Cookie headers (others come and go)."""
    match = SESSION_RE.search(response.getheader("Set-Cookie") or "")
    if match is None:
        assert previous is not None, "no session cookie"
        return previous
    return f"consult_session={match.group(1)}"


def _login(base: str) -> str:
    host = urlsplit(base).netloc
    conn = http.client.HTTPConnection(host, timeout=60)
    conn.request("GET", "/compte/connexion")
    response = conn.getresponse()
    page = response.read().decode()
    cookie = _session_cookie(response)
    token = CSRF_RE.search(page).group(1)
    body = urlencode({"csrf_token": token, "email": ANALYST_EMAIL, "password": PASSWORD})
    conn.request(
        "POST",
        "/compte/connexion",
        body=body,
        headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
    )
    response = conn.getresponse()
    response.read()
    assert response.status == 302, response.status
    return _session_cookie(response, cookie)


def submissions(base: str, codes: list[str], duration: float, concurrency: int) -> str:
    """Each submission, as a browser does it: GET the code page (session + CSRF token), POST
    the code, POST the review page. Returns a summary line."""
    host = urlsplit(base).netloc
    lock = threading.Lock()
    pool = list(codes)
    accepted = 0
    refused = 0
    latencies: list[float] = []
    stop = time.monotonic() + duration

    def worker() -> None:
        nonlocal accepted, refused
        conn = http.client.HTTPConnection(host, timeout=60)
        while time.monotonic() < stop:
            with lock:
                if not pool:
                    return
                code = pool.pop()
            began = time.perf_counter()
            conn.request("GET", "/questionnaire/code")
            response = conn.getresponse()
            page = response.read().decode()
            cookie = _session_cookie(response)
            token = CSRF_RE.search(page).group(1)
            headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
            conn.request(
                "POST",
                "/questionnaire/code",
                body=urlencode({"csrf_token": token, "code": code}),
                headers=headers,
            )
            response = conn.getresponse()
            response.read()
            headers["Cookie"] = _session_cookie(response, cookie)
            conn.request(
                "POST",
                "/questionnaire/relecture",
                body=urlencode({"csrf_token": token}),
                headers=headers,
            )
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                if response.status == 302 and response.getheader("Location", "").endswith("/merci"):
                    accepted += 1
                else:
                    refused += 1
                latencies.append(elapsed)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) > 20 else float("nan")
    return (
        f"web submissions (3 requests each): {accepted / elapsed:.1f} submissions/s, "
        f"{accepted} accepted, {refused} refused, p95 {p95:.0f} ms per submission"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["egn", "gd"], default="egn")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--responses", type=int, help="override the scale's response count")
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument(
        "--formats", default="csv,xlsx,ods", help="exports to time, comma-separated"
    )
    args = parser.parse_args()
    from surveys.demo import TARGETS

    target = args.responses or TARGETS[args.scale]
    from consult.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    codes = 4000
    total = prepare(url, target, codes)
    print(f"responses in the database: {total}")

    env = _env(url)
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in args.formats.split(","):
            out = Path(tmp) / f"export.{fmt}"
            seconds, peak = run_measured(
                [
                    str(VENV_BIN / "flask"),
                    "--app",
                    "app",
                    "surveys",
                    "export",
                    "--format",
                    fmt,
                    "-o",
                    str(out),
                ],
                env,
            )
            size = out.stat().st_size / 1e6
            print(
                f"export {fmt}: {seconds:.1f} s, peak {peak:.0f} MB, {size:.0f} MB written, "
                f"{total / seconds:.0f} rows/s"
            )

    serve_env = {"DATABASE_URL": url}
    with serve(app="bench.hello_app:app") as hello, serve(env=serve_env) as base:
        print(load(hello + "/", duration=args.duration, concurrency=4).line("hello-world"))
        cookie = _login(base)

        def results_page(_w: int, _i: int):
            return ("GET", "/questionnaire/resultats/C08", None, {"Cookie": cookie})

        print(
            load(
                results_page,
                duration=args.duration,
                concurrency=2,
                base=base,
                label="results page C08 (analyst, audience + académie tables)",
            ).line()
        )
        print(submissions(base, BENCH_CODES, args.duration, concurrency=4))


if __name__ == "__main__":
    sys.exit(main())
