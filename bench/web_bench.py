"""The pages benchmark in one command: the gd dataset on PostgreSQL + Redis, 2 gunicorn workers,
wrk (a load generator written in C) on loopback, every page next to a hello-world page served by
the same gunicorn in the same run.

    .venv/bin/python -m bench.web_bench            # or: make bench
    .venv/bin/python -m bench.web_bench \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_gd \\
        --redis-url redis://127.0.0.1:6379/4 --duration 10 --json out.json

The database is created and filled by ``bench/gd_fill.py`` when it is absent or empty (about
15 minutes at full size; ``--fraction 0.05`` for a quick look), and migrated otherwise. wrk comes
from Debian (``apt-get install wrk``; ``scripts/install-bench.sh``). The vote round logs 64
voters in and has them adopt, refuse or retract on 500 contributions, then checks every touched
counter against its rows. Figures are printed (and written as JSON), never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import create_engine, text

from bench.harness import ROOT, VENV_BIN, serve

DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/bench_gd"
DEFAULT_REDIS = "redis://127.0.0.1:6379/4"
DEMO_PASSWORD = "demo-consult-2020"  # noqa: S105 - the public demo password (consult.demo)
USER_AGENT = "consult-web-bench"  # strong session protection: the login and the load agree
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
WRK_DIR = Path(__file__).resolve().parent / "wrk"

# (label, path, logged in?, budget as a share of hello-world)
PAGES = [
    ("theme list by adoption, anonymous", "/forums/enseigner-apprendre/?tri=adoption", False, 0.40),
    ("theme list by adoption, logged in", "/forums/enseigner-apprendre/?tri=adoption", True, 0.20),
    ("contribution ~200 comments, anonymous", "{contribution}", False, 0.30),
    ("contribution ~200 comments, logged in", "{contribution}", True, 0.15),
    ("home, anonymous", "/", False, 0.40),
    ("/forums/, anonymous", "/forums/", False, 0.40),
    ("/territoires/, anonymous", "/territoires/", False, 0.40),
    ("/syntheses/, anonymous", "/syntheses/", False, 0.40),
    ("search « enseignant », anonymous", "/forums/recherche?q=enseignant", False, None),
]


@dataclass
class Figure:
    label: str
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    budget: float | None = None
    status: int = 200  # of one request made before the load: a redirect is no page

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def row(self, hello: float) -> str:
        ratio = self.rps / hello if hello else 0.0
        budget = f"{self.budget:.0%}" if self.budget else "-"
        return (
            f"| {self.label} | {self.rps:,.0f} | {ratio:.1%} | {budget} | {self.p50_ms:.1f} | "
            f"{self.p95_ms:.1f} | {self.p99_ms:.1f} | {self.non2xx + self.socket_errors} |"
        )


def wrk(url: str, args: argparse.Namespace, *, script: str = "report.lua", extra=(), headers=()):
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections)]
    command += ["-d", f"{args.duration}s", "--timeout", f"{args.timeout}s", "--latency"]
    command += ["-s", str(WRK_DIR / script)]
    for header in (f"User-Agent: {USER_AGENT}", *headers):
        command += ["-H", header]
    command.append(url)
    if extra:
        command += ["--", *extra]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return data


def drain(url: str) -> None:
    """Wait until the server has answered what wrk left queued: when wrk stops, the requests
    its connections had sent are still in the listen backlog, and a slow page's backlog would
    otherwise be served during the next measure."""
    parts = urlsplit(url)
    with contextlib.suppress(OSError, http.client.HTTPException):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
        conn.request("GET", "/robots.txt", headers={"User-Agent": USER_AGENT})
        conn.getresponse().read()
        conn.close()


def probe(url: str, headers=()) -> int:
    """The status of one GET (redirects not followed)."""
    parts = urlsplit(url)
    sent = {"User-Agent": USER_AGENT} | dict(h.split(": ", 1) for h in headers)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""), headers=sent)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def measure(label: str, url: str, args, budget=None, probe_url: str = "", **kw) -> Figure:
    status = probe(probe_url or url, kw.get("headers", ()))
    if args.warmup:
        warm = argparse.Namespace(**(vars(args) | {"duration": args.warmup}))
        wrk(url, warm, **kw)
        drain(url)
    data = wrk(url, args, **kw)
    drain(url)
    figure = Figure(
        label,
        data["requests"],
        data["duration_us"] / 1e6,
        data["non2xx"],
        data["socket_errors"],
        data["p50_us"] / 1000,
        data["p95_us"] / 1000,
        data["p99_us"] / 1000,
        budget,
        status,
    )
    answered = "" if status == 200 else f" (answers {status}, not 200)"
    print(f"  {label}: {figure.rps:,.0f} req/s, p50 {figure.p50_ms:.1f} ms{answered}", flush=True)
    return figure


# --- The dataset ----------------------------------------------------------------------------------


def _engine(url: str, database: str | None = None):
    if database is not None:
        url = url.rsplit("/", 1)[0] + "/" + database
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def ensure_dataset(url: str, fraction: float) -> None:
    name = url.rsplit("/", 1)[1]
    admin = _engine(url, "postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    engine = _engine(url)
    with engine.connect() as conn:
        filled = conn.scalar(text("SELECT to_regclass('forum_contribution') IS NOT NULL")) and (
            conn.scalar(text("SELECT count(*) > 0 FROM forum_contribution"))
        )
    engine.dispose()
    python = str(VENV_BIN / "python")
    env = os.environ | {"CONSULT_ENV": "development", "DATABASE_URL": url}
    if not filled:
        print(f"filling {name} with the gd dataset (x{fraction})...", flush=True)
        subprocess.run(
            [python, "-m", "bench.gd_fill", "--database-url", url, "--fraction", str(fraction)],
            cwd=ROOT,
            env=env,
            check=True,
        )
    # The code under test may carry newer migrations than the filled database.
    subprocess.run(
        [
            python,
            "-c",
            "from consult import create_app, migrate\n"
            "app = create_app()\nwith app.app_context(): migrate.upgrade('heads')",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )


def pick(url: str) -> dict:
    engine = _engine(url)
    with engine.connect() as conn:
        contribution = conn.execute(
            text(
                "SELECT id, comment_count FROM forum_contribution WHERE hidden_at IS NULL "
                "AND withdrawn_at IS NULL AND NOT held_for_review "
                "ORDER BY abs(comment_count - 200), id LIMIT 1"
            )
        ).one()
        targets = list(
            conn.scalars(
                text(
                    "SELECT c.id FROM forum_contribution c JOIN forum_theme t ON t.id = c.theme_id "
                    "WHERE c.hidden_at IS NULL AND c.withdrawn_at IS NULL "
                    "AND NOT c.held_for_review ORDER BY c.id LIMIT 500"
                )
            )
        )
        # Voters who wrote none of the targets (one cannot vote for one's own contribution).
        voters = list(
            conn.scalars(
                text(
                    "SELECT u.email FROM user_account u WHERE u.is_demo AND u.blocked_at IS NULL "
                    "AND u.email LIKE 'participant%' AND NOT EXISTS (SELECT 1 FROM "
                    "forum_contribution c WHERE c.author_id = u.id AND c.id = ANY(:ids)) "
                    "ORDER BY u.id LIMIT 65"
                ),
                {"ids": targets},
            )
        )
    engine.dispose()
    return {"contribution": contribution, "targets": targets, "voters": voters}


def login(base: str, email: str) -> tuple[str, str]:
    """A logged-in session: (Cookie header, CSRF token)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(base + "/compte/connexion").read().decode()
    token = CSRF_RE.search(page).group(1)
    body = urlencode({"email": email, "password": DEMO_PASSWORD, "csrf_token": token})
    opener.open(base + "/compte/connexion", body.encode()).read()
    page = opener.open(base + "/forums/").read().decode()
    match = CSRF_RE.search(page)
    if match is None or "Se déconnecter" not in page:
        raise RuntimeError(f"could not log {email} in")
    return "; ".join(f"{c.name}={c.value}" for c in jar), match.group(1)


def vote_round(base: str, args: argparse.Namespace, picked: dict) -> Figure:
    """``args.voters`` logged-in voters adopt, refuse or retract on the picked contributions
    (bench/wrk/vote.lua), one connection each, for ``args.duration`` seconds."""
    sessions = [login(base, email) for email in picked["voters"][: args.voters]]
    with tempfile.NamedTemporaryFile("w", suffix=".tsv", delete=False) as data:
        data.write(f"U\t{USER_AGENT}\n")
        for cookie, token in sessions:
            data.write(f"S\t{cookie}\t{token}\n")
        for target in picked["targets"]:
            data.write(f"T\t{target}\n")
    voting = argparse.Namespace(**(vars(args) | {"connections": args.voters, "warmup": 0}))
    try:
        return measure(
            f"vote POSTs, {args.voters} voters",
            base + "/",
            voting,
            script="vote.lua",
            extra=[data.name],
        )
    finally:
        os.unlink(data.name)


def counter_mismatches(url: str, ids: list[int]) -> int:
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


# --- The run --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--fraction", type=float, default=1.0, help="gd share when filling")
    parser.add_argument("--duration", type=int, default=10, help="seconds per measure")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--voters", type=int, default=64)
    parser.add_argument("--timeout", type=int, default=10, help="wrk: slower answers are errors")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", default="", help="measure only labels containing this")
    parser.add_argument("--json", default="", help="also write the figures to this file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install wrk (scripts/install-bench.sh)")

    ensure_dataset(args.database_url, args.fraction)
    picked = pick(args.database_url)
    cid, comments = picked["contribution"]
    print(f"contribution page: #{cid} with {comments} comments", flush=True)
    figures: list[Figure] = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello_base:
        hello = measure("hello-world (same gunicorn)", hello_base + "/", args)
    env = {
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SITE_URL": "http://127.0.0.1",
        "TRUSTED_HOSTS": "127.0.0.1",
        # Plain-HTTP loopback: the session cookie must travel without TLS.
        "SESSION_COOKIE_SECURE": "false",
    }
    with serve(env=env, workers=args.workers) as base:
        member_cookie, _token = login(base, picked["voters"][-1])
        for label, path, logged_in, budget in PAGES:
            if args.only and args.only not in label:
                continue
            path = path.format(contribution=f"/forums/contributions/{cid}")
            headers = [f"Cookie: {member_cookie}"] if logged_in else []
            figures.append(measure(label, base + path, args, budget, headers=headers))
        if not args.only or args.only in "vote POST":
            figures.append(vote_round(base, args, picked))
    mismatches = None
    if any(f.label.startswith("vote") for f in figures):
        mismatches = counter_mismatches(args.database_url, picked["targets"])
    print()
    print(f"hello-world: {hello.rps:,.0f} req/s (p50 {hello.p50_ms:.2f} ms)")
    print("| measure | req/s | of hello-world | budget | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for figure in figures:
        print(figure.row(hello.rps))
    if mismatches is not None:
        vote = figures[-1]
        accepted = (vote.requests - vote.non2xx - vote.socket_errors) / vote.seconds
        print(
            f"vote POSTs accepted: {accepted:,.0f}/s; counter mismatches on "
            f"{len(picked['targets'])} contributions: {mismatches}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "hello_rps": hello.rps,
                    "figures": [f.__dict__ | {"rps": f.rps} for f in figures],
                    "vote_counter_mismatches": mismatches,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
