"""Territorial pages, feeds and API under gunicorn, next to the hello-world baseline of the
same run.

    .venv/bin/python -m bench.territorial_bench --scale egn \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_territorial

An empty database is prepared first (migrations, territories, the demo accounts of the scale and
the territorial demo step only, so the other packages' generators do not weigh on the figures);
its duration and peak memory are printed.
"""

from __future__ import annotations

import argparse
import json
import sys

from bench.harness import VENV_BIN, load, run_measured, serve

PAGES = [
    ("/territoires/", "territories index + map"),
    ("/territoires/toulouse/", "académie page (Toulouse)"),
    ("/territoires/region/occitanie/", "région page (Occitanie)"),
    ("/territoires/toulouse/idees/", "ideas list, by supports"),
    ("/territoires/region/auvergne-rhone-alpes/idees/?tri=recentes", "région ideas, recent"),
    ("/territoires/agenda.ics", "national iCalendar feed"),
    ("/territoires/region/occitanie/actualites.atom", "région Atom feed"),
    ("/api/v1/ideas?academie=16&limit=50", "API ideas (académie)"),
    ("/api/v1/events?upcoming=1", "API events (upcoming)"),
]


def prepare(scale: str) -> None:
    """Runs in a child process (measured): migrate, load territories, generate the demo with
    only the core and territorial steps."""
    from sqlalchemy import func, select

    from app import app
    from consult import demo, migrate
    from consult.db import db
    from consult.hooks import hooks
    from consult.territorial.models import Idea

    with app.app_context():
        migrate.upgrade("heads")
        if db.session.scalar(select(func.count()).select_from(Idea)):
            print("territorial demo data already present")
            return
        steps = hooks().demo_steps
        steps[:] = [step for step in steps if step[0] == "territoires"]
        for line in demo.generate(scale):
            print(line)
        if db.engine.dialect.name == "postgresql":
            # Fresh bulk inserts: give the planner statistics, as autovacuum soon would.
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["tiny", "egn", "gd"], default="egn")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    if args.prepare_only:
        prepare(args.scale)
        return

    seconds, peak = run_measured(
        [
            str(VENV_BIN / "python"),
            "-m",
            "bench.territorial_bench",
            "--prepare-only",
            "--scale",
            args.scale,
            "--database-url",
            args.database_url,
        ],
        env=env | {"CONSULT_ENV": "development"},
    )
    print(f"prepare (scale {args.scale}): {seconds:.1f} s, peak {peak:.0f} MB")
    sys.stdout.flush()

    results = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello:
        baseline = load(hello + "/", args.duration, args.concurrency, label="hello-world")
    results.append(baseline)
    with serve(env=env, workers=args.workers) as base:
        for path, label in PAGES:
            results.append(load(base + path, args.duration, args.concurrency, label=label))
    for result in results:
        ratio = result.rps / baseline.rps if baseline.rps else 0
        print(f"{result.line()}  ({ratio:.0%} of hello-world)")
    print(json.dumps([r.as_dict() for r in results]))


if __name__ == "__main__":
    main()
