"""Search benchmark: 200 stemmed French queries on the gd dataset, in-process and over HTTP.

    python -m bench.search_bench --database-url postgresql://postgres@127.0.0.1:5432/bench_gd

``--prepare`` builds what the search reads when the database was filled without the search
migrations (bench/gd_fill.py writes the rows directly): the ``consult_french`` configuration
and each source's ``<table>_search`` side table with its GIN index — a copy of the vectors,
without triggers or foreign keys, so nothing changes in how the shared rows are written.

Queries are words of the data's own titles, inflected the other way (plural ↔ singular) and
with their accents dropped half the time, so each one only matches through stemming and
accent folding; a fifth are two words, a few match nothing. Budget: p50 ≤ 20 ms, p99 ≤ 60 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import time
from urllib.parse import quote, urlsplit

from sqlalchemy import create_engine, text

from bench.harness import load, serve
from consult.search.stems import STOP_WORDS, WORD_RE, fold

QUERIES = 200
SEED = 11


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def prepare(url: str) -> None:
    from consult.search import ddl

    engine = create_engine(_psycopg(url))
    with engine.begin() as conn:
        for indexed in ddl.ALL:
            exists = conn.exec_driver_sql(
                "SELECT to_regclass(%(name)s) IS NOT NULL", {"name": indexed.fts}
            ).scalar()
            if exists:
                print(f"{indexed.fts}: already there")
                continue
            began = time.perf_counter()
            ddl.pg_create(conn, indexed, triggers=False)
            print(f"{indexed.fts}: built in {time.perf_counter() - began:.1f} s")
    # Freshly written rows: set their hint bits and visibility map now, as autovacuum would,
    # or the first reads of each page pay for it.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for indexed in ddl.ALL:
            conn.exec_driver_sql(f"VACUUM ANALYZE {indexed.fts}")
    engine.dispose()


def _inflect(word: str, rng: random.Random) -> str:
    other = word[:-1] if word.endswith("s") else word + "s"
    return fold(other) if rng.random() < 0.5 else other


def queries(url: str, count: int = QUERIES) -> list[str]:
    rng = random.Random(SEED)
    engine = create_engine(_psycopg(url))
    with engine.connect() as conn:
        titles = list(
            conn.scalars(
                text(
                    "SELECT title FROM forum_contribution TABLESAMPLE SYSTEM (1) REPEATABLE (11) "
                    "LIMIT 2000"
                )
            )
        )
        titles += list(conn.scalars(text("SELECT title FROM territorial_idea LIMIT 500")))
        titles += list(conn.scalars(text("SELECT title FROM retex_revision LIMIT 200")))
    engine.dispose()
    vocabulary = sorted(
        {
            w.lower()
            for t in titles
            for w in WORD_RE.findall(t)
            if len(w) > 4 and fold(w) not in STOP_WORDS
        }
    )
    found: list[str] = []
    while len(found) < count:
        roll = rng.random()
        if roll < 0.05:
            found.append("hippopotame " + rng.choice(vocabulary))  # no match
        elif roll < 0.25:
            title = [w for w in WORD_RE.findall(rng.choice(titles)) if len(w) > 4]
            if len(title) >= 2:
                first, second = rng.sample(title, 2)
                found.append(f"{_inflect(first.lower(), rng)} {_inflect(second.lower(), rng)}")
        else:
            found.append(_inflect(rng.choice(vocabulary), rng))
    return found


def _stats(label: str, ms: list[float]) -> dict:
    ordered = sorted(ms)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    figures = {
        "label": label,
        "n": len(ms),
        "p50_ms": round(pct(50), 2),
        "p95_ms": round(pct(95), 2),
        "p99_ms": round(pct(99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }
    print(
        f"{label:<44} n={len(ms):>4}  p50 {figures['p50_ms']:6.1f} ms  "
        f"p95 {figures['p95_ms']:6.1f} ms  p99 {figures['p99_ms']:6.1f} ms  "
        f"max {figures['max_ms']:6.1f} ms"
    )
    return figures


def in_process(url: str, found: list[str]) -> list[dict]:
    from consult import create_app
    from consult.db import db
    from consult.search import engine

    app = create_app({"SQLALCHEMY_DATABASE_URL": url, "RATELIMIT_ENABLED": False})
    engine_ms, page_ms, totals = [], [], []
    with app.test_request_context():
        for q in found[:10]:  # warm the caches and the connection pool
            engine.search(db.session, q)
        for q in found:
            began = time.perf_counter()
            results = engine.search(db.session, q)
            engine_ms.append((time.perf_counter() - began) * 1000)
            totals.append(results.total)
        db.session.remove()
    client = app.test_client()
    for q in found[:10]:
        client.get("/recherche?q=" + quote(q))
    for q in found:
        began = time.perf_counter()
        response = client.get("/recherche?q=" + quote(q))
        page_ms.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.status_code
    print(
        f"matches per query: median {statistics.median(totals):.0f}, "
        f"max {max(totals)}, none for {sum(1 for t in totals if not t)}"
    )
    return [
        _stats("in-process: engine.search (SQL + excerpts)", engine_ms),
        _stats("in-process: GET /recherche (test client)", page_ms),
    ]


def over_http(url: str, found: list[str], duration: float, redis_url: str) -> list[dict]:
    figures = []
    env = {"DATABASE_URL": url, "SITE_URL": "http://127.0.0.1"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    with serve(app="bench.hello_app:app") as hello, serve(env=env) as base:
        host, port = urlsplit(base).netloc.split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        for q in found[:10]:
            conn.request("GET", "/recherche?q=" + quote(q))
            conn.getresponse().read()
        ms = []
        for q in found:
            began = time.perf_counter()
            conn.request("GET", "/recherche?q=" + quote(q))
            response = conn.getresponse()
            response.read()
            ms.append((time.perf_counter() - began) * 1000)
            assert response.status == 200, response.status
        conn.close()
        figures.append(_stats("HTTP, one client: GET /recherche", ms))
        print(load(hello + "/", duration=duration, concurrency=4).line("hello-world"))

        def search(_w: int, i: int):
            return ("GET", "/recherche?q=" + quote(found[i % len(found)]), None, {})

        result = load(
            search, duration=duration, concurrency=4, base=base, label="search, 4 clients"
        )
        print(result.line())
        figures.append(result.as_dict())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--prepare", action="store_true", help="build the search side tables")
    parser.add_argument("--queries", type=int, default=QUERIES)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--redis-url", default="", help="REDIS_URL of the served app")
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    from consult.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    if args.prepare:
        prepare(url)
    found = queries(url, args.queries)
    print("sample queries:", ", ".join(found[:8]))
    figures = in_process(url, found)
    if not args.no_http:
        figures += over_http(url, found, args.duration, args.redis_url)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    sys.exit(main())
