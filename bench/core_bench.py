"""Core pages under gunicorn next to the hello-world baseline of the same run.

    .venv/bin/python -m bench.core_bench \
        --database-url postgresql://postgres@127.0.0.1:5432/bench_core \
        --redis-url redis://127.0.0.1:6379/9 --duration 10

Prepare the database first:
    DATABASE_URL=... flask --app app init && DATABASE_URL=... flask --app app demo --scale egn
"""

from __future__ import annotations

import argparse
import json

from bench.harness import load, serve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    env = {"DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url}
    results = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello:
        baseline = load(hello + "/", args.duration, args.concurrency, label="hello-world")
    results.append(baseline)
    with serve(env=env, workers=args.workers) as base:
        for path, label in [
            ("/", "home (cached counters)"),
            ("/compte/connexion", "login page"),
            ("/api/v1/territories", "API territories"),
        ]:
            results.append(load(base + path, args.duration, args.concurrency, label=label))
    for result in results:
        ratio = result.rps / baseline.rps if baseline.rps else 0
        print(f"{result.line()}  ({ratio:.0%} of hello-world)")
    print(json.dumps([r.as_dict() for r in results]))


if __name__ == "__main__":
    main()
