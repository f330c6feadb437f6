"""Retex pages, search, API and exports under gunicorn, next to the hello-world baseline of the
same run.

    .venv/bin/python -m bench.retex_bench --scale egn \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_retex

An empty database is prepared first (migrations, territories, the demo accounts of the scale and
the Retex demo step only, so the other packages' generators do not weigh on the figures); its
duration and peak memory are printed, then the full CSV export is consumed in a child process
whose duration and peak memory are printed too (it must stay bounded whatever the row count).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request

from bench.harness import VENV_BIN, load, run_measured, serve

PAGES = [
    ("/retex/", "retex list (page 1, 20 sheets)"),
    ("/retex/?page=20", "retex list (page 20)"),
    ("/retex/?territory=region:76&theme=2", "retex list, région + theme filters"),
    ("/retex/?q=tablettes+familles", "retex full-text search"),
    ("/retex/{id}", "retex sheet page"),
    ("/api/v1/retex?limit=50", "API retex (50 a page)"),
    ("/api/v1/retex?limit=50&q=confinement", "API retex search"),
]


def prepare(scale: str) -> None:
    from sqlalchemy import func, select

    from app import app
    from consult import demo, migrate
    from consult.db import db
    from consult.hooks import hooks
    from retex.models import RetexSheet

    with app.app_context():
        migrate.upgrade("heads")
        if db.session.scalar(select(func.count()).select_from(RetexSheet)):
            print("retex demo data already present")
            return
        steps = hooks().demo_steps
        steps[:] = [step for step in steps if step[0] == "retex"]
        for line in demo.generate(scale):
            print(line)


def export() -> None:
    """Consume the whole CSV export through the WSGI app, as a client would."""
    from app import app

    client = app.test_client()
    response = client.get("/retex/export.csv")
    rows = size = 0
    for chunk in response.response:
        size += len(chunk)
        rows += chunk.count(b"\n") if isinstance(chunk, bytes) else chunk.count("\n")
    response.close()
    print(f"export.csv: {size / 1e6:.1f} MB, ~{rows} lines")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", choices=["tiny", "egn", "gd"], default="egn")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--step", choices=["prepare", "export"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    if args.step == "prepare":
        prepare(args.scale)
        return
    if args.step == "export":
        export()
        return

    child = [str(VENV_BIN / "python"), "-m", "bench.retex_bench", "--scale", args.scale]
    child += ["--database-url", args.database_url]
    seconds, peak = run_measured(
        [*child, "--step", "prepare"], env=env | {"CONSULT_ENV": "development"}
    )
    print(f"prepare (scale {args.scale}): {seconds:.1f} s, peak {peak:.0f} MB")
    seconds, peak = run_measured(
        [*child, "--step", "export"], env=env | {"CONSULT_ENV": "development"}
    )
    print(f"full CSV export: {seconds:.1f} s, peak {peak:.0f} MB")
    sys.stdout.flush()

    results = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello:
        baseline = load(hello + "/", args.duration, args.concurrency, label="hello-world")
    results.append(baseline)
    with serve(env=env, workers=args.workers) as base:
        with urllib.request.urlopen(base + "/api/v1/retex?limit=1") as answer:  # noqa: S310
            sheet_id = json.load(answer)["data"][0]["id"]
        for path, label in PAGES:
            url = base + path.format(id=sheet_id)
            results.append(load(url, args.duration, args.concurrency, label=label))
    for result in results:
        ratio = result.rps / baseline.rps if baseline.rps else 0
        print(f"{result.line()}  ({ratio:.0%} of hello-world)")
    print(json.dumps([r.as_dict() for r in results]))


if __name__ == "__main__":
    main()
