"""Forum benchmark: the theme list sorted by adoption, a contribution page with ~200 comments,
search, the API list and vote POSTs, each next to a hello-world page served by the same
gunicorn configuration in the same run.

    .venv/bin/python -m bench.forums_bench --scale egn \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_forums

The database is migrated and filled on first use (accounts + forums demo steps only, timed and
with peak memory); later runs reuse it. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import threading
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.harness import VENV_BIN, load, run_measured, serve

DEMO_PASSWORD = "demo-consult-2020"  # noqa: S105 - the public demo password
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def generate(scale: str) -> None:
    """Subprocess entry: core accounts plus the forums step of the demo generator."""
    from consult import create_app, migrate
    from consult.demo import generate as demo_generate
    from consult.hooks import hooks

    app = create_app()
    with app.app_context():
        migrate.upgrade("heads")
        steps = hooks().demo_steps
        steps[:] = [step for step in steps if step[0] == "forums"]
        for line in demo_generate(scale):
            print(line)


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def _count(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            exists = conn.scalar(text("SELECT to_regclass('forum_contribution') IS NOT NULL"))
            return conn.scalar(text("SELECT count(*) FROM forum_contribution")) if exists else 0
    finally:
        engine.dispose()


def _pick(url: str) -> dict:
    engine = _engine(url)
    with engine.connect() as conn:
        page = conn.execute(
            text(
                "SELECT id, comment_count FROM forum_contribution "
                "ORDER BY abs(comment_count - 200), id LIMIT 1"
            )
        ).one()
        targets = list(
            conn.scalars(
                text(
                    "SELECT id FROM forum_contribution WHERE hidden_at IS NULL "
                    "ORDER BY shuffle_key LIMIT 500"
                )
            )
        )
        voters = list(
            conn.scalars(
                text(
                    "SELECT email FROM user_account WHERE is_demo AND email LIKE 'participant%' "
                    "ORDER BY id LIMIT 64"
                )
            )
        )
        counts = dict(
            conn.execute(
                text(
                    "SELECT 'contributions', count(*) FROM forum_contribution UNION ALL "
                    "SELECT 'votes', count(*) FROM forum_vote UNION ALL "
                    "SELECT 'comments', count(*) FROM forum_comment"
                )
            ).all()
        )
    engine.dispose()
    return {"page": page, "targets": targets, "voters": voters, "counts": counts}


def _sessions(base: str, emails: list[str]) -> list[tuple[str, str]]:
    """Log demo voters in; return (cookie header, CSRF token) pairs."""
    import http.cookiejar
    import urllib.request

    sessions = []
    for email in emails:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(base + "/compte/connexion").read().decode()
        token = CSRF_RE.search(page).group(1)
        body = urlencode({"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
        opener.open(base + "/compte/connexion", body.encode()).read()
        page = opener.open(base + "/forums/").read().decode()
        token = CSRF_RE.search(page).group(1) if CSRF_RE.search(page) else token
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        sessions.append((cookie, token))
    return sessions


def _check_counts(url: str, ids: list[int]) -> int:
    """Contributions whose stored counters differ from their vote rows (must be 0)."""
    engine = _engine(url)
    with engine.connect() as conn:
        wrong = conn.scalar(
            text(
                "SELECT count(*) FROM forum_contribution c WHERE c.id = ANY(:ids) AND ("
                "c.adopt_count <> (SELECT count(*) FROM forum_vote v "
                "WHERE v.contribution_id = c.id AND v.value = 'adopt') OR "
                "c.refuse_count <> (SELECT count(*) FROM forum_vote v "
                "WHERE v.contribution_id = c.id AND v.value = 'refuse'))"
            ),
            {"ids": ids},
        )
    engine.dispose()
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["tiny", "egn", "gd"], default="egn")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    if args.generate_only:
        generate(args.scale)
        return

    if _count(args.database_url) == 0:
        seconds, peak = run_measured(
            [
                str(VENV_BIN / "python"),
                "-m",
                "bench.forums_bench",
                "--scale",
                args.scale,
                "--database-url",
                args.database_url,
                "--generate-only",
            ],
            env | {"CONSULT_ENV": "development"},
        )
        print(f"dataset {args.scale}: generated in {seconds:.0f} s, peak {peak:.0f} MB")
    picked = _pick(args.database_url)
    print("dataset:", json.dumps(picked["counts"]))
    cid, comments = picked["page"]
    results = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello:
        baseline = load(hello + "/", args.duration, args.concurrency, label="hello-world")
    results.append(baseline)
    with serve(env=env, workers=args.workers) as base:
        for path, label in [
            ("/forums/enseigner-apprendre/?tri=adoption", "theme list, most adopted"),
            (
                "/forums/enseigner-apprendre/?tri=adoption&public=parent&academie=13",
                "theme list, filtered",
            ),
            (f"/forums/contributions/{cid}", f"contribution page ({comments} comments)"),
            ("/forums/recherche?q=ordinateur+familles", "search"),
            ("/api/v1/contributions?theme=enseigner-apprendre&sort=adoption", "API list"),
        ]:
            results.append(load(base + path, args.duration, args.concurrency, label=label))
        sessions = _sessions(base, picked["voters"])
        rng = random.Random(7)
        lock = threading.Lock()
        touched: set[int] = set()

        def vote(worker: int, iteration: int):
            cookie, token = sessions[(worker * 7919 + iteration) % len(sessions)]
            with lock:
                target = rng.choice(picked["targets"])
                value = rng.choice(["adopt", "refuse", "adopt", "retract"])
                touched.add(target)
            body = urlencode({"value": value, "csrf_token": token}).encode()
            return (
                "POST",
                f"/forums/contributions/{target}/vote",
                body,
                {
                    "Cookie": cookie,
                    "Accept": "application/json",
                    "Content-Type": "application/x-www-form-urlencoded",
                },
            )

        results.append(
            load(vote, args.duration, args.concurrency, base=base, label="vote POST (JSON)")
        )
    wrong = _check_counts(args.database_url, sorted(touched))
    for result in results:
        ratio = result.rps / baseline.rps if baseline.rps else 0
        print(f"{result.line()}  ({ratio:.0%} of hello-world)")
    print(f"vote counters checked on {len(touched)} contributions: {wrong} mismatches")
    print(json.dumps([r.as_dict() for r in results]))
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
