"""The whole benchmark of issue 11 in one command: the gd dataset on PostgreSQL + Redis, every
measure of the budget table, one table of value / budget / met beside the hello-world baseline.

    make bench                                        # the same as: python -m bench
    .venv/bin/python -m bench --only pages,search     # some sections only
    .venv/bin/python -m bench --fraction 0.02         # a quick look on 2 % of gd
    .venv/bin/python -m bench --json out.json         # the figures as JSON too

Steps, in order (``--only`` picks sections; the dataset step always runs):

1. dataset — the database is created and filled by ``bench/gd_fill.py`` when absent or empty
   (about 15 minutes at full size), migrated to the code's heads otherwise, and the search side
   tables built if missing (``bench/search_bench.py --prepare``);
2. ``compile`` and ``duckdb`` — ``bench/synthesis_bench.py`` as a child: the engine's
   compile_all of the 49 scopes and DuckDB's best plan (Parquet exported once, then scanned)
   on the same data, each in its own process (its wall time and peak RSS its own), then the
   figure-by-figure cross-check of the two;
3. ``export`` — ``bench/export_bench.py`` as a child: the CSV of every questionnaire response;
4. under 2 gunicorn workers, wrk on loopback (``-t2 -c16``), each figure beside hello-world
   served by the same gunicorn (measured before and after, both shown): ``weight`` (first and
   repeat visit bytes of the main pages, ``bench/weight.py``), ``pages`` (``bench/web_bench.py``'s
   list), ``search`` (``/recherche`` and the forums' search it narrows to contributions, ~50
   stemmed queries rotated by ``bench/wrk/search.lua``, served from the page cache and not),
   ``votes`` (64 logged-in voters, counters checked against their rows afterwards).

``--profile N`` then profiles N requests of each page or search that missed its budget,
in-process with the served settings (a profile, not a guess, of where the time goes).

The search latency budget is measured with as many connections as workers (a request never
waits for another: its latency is its own); the pages keep wrk's 16 connections. Figures are
printed and written, never asserted; the exit status is 1 only when a part failed to run or
DuckDB and the engine disagree.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import text

from bench import web_bench
from bench.harness import ROOT, VENV_BIN, serve
from bench.weight import BUDGET_REPEAT, HttpFetcher, weigh

SECTIONS = ("compile", "duckdb", "export", "weight", "pages", "search", "votes")
DEFAULT_DATABASE = "postgresql://postgres@127.0.0.1:5432/bench_gd"
SEARCH_QUERIES = 50
# /forums/recherche redirects (301) to the site's search narrowed to contributions: the page a
# browser ends on is measured.
SEARCHES = [
    ("/recherche", "/recherche"),
    ("/forums/recherche (= /recherche?type=contribution)", "/recherche?type=contribution"),
]
SEARCH_P50_MS, SEARCH_P99_MS = 20.0, 60.0
VOTES_PER_SECOND = 500
COMPILE_SECONDS, COMPILE_MB = 10.0, 1024.0
EXPORT_SECONDS, EXPORT_MB = 90.0, 300.0
EXPORT_RE = re.compile(
    r"CSV export of (?P<rows>\d+) responses: (?P<wall>[\d.]+) s wall, (?P<cpu>[\d.]+) s CPU, "
    r"peak (?P<peak>[\d.]+) MB"
)


# --- The budget table ----------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    value: str
    budget: str
    met: bool | None  # None: no budget (a figure shown for context)

    @property
    def verdict(self) -> str:
        return {True: "met", False: "MISSED", None: "-"}[self.met]


def page_rows(figure: web_bench.Figure, hello_rps: float, p95_budget: float | None) -> list[Row]:
    """A page's throughput as a share of hello-world against its budget, and its p95 when the
    budget names one."""
    share = figure.rps / hello_rps if hello_rps else 0.0
    errors = figure.non2xx + figure.socket_errors
    value = f"{figure.rps:,.0f} req/s = {share:.1%}, p50 {figure.p50_ms:.1f} ms"
    value += f", p95 {figure.p95_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms"
    if errors:
        value += f", {errors} errors"
    if figure.status != 200:
        value += f", answers {figure.status}"
        errors += 1
    rows = [
        Row(
            figure.label,
            value,
            f"≥ {figure.budget:.0%} of hello-world" if figure.budget else "-",
            (share >= figure.budget and not errors) if figure.budget else None,
        )
    ]
    if p95_budget is not None:
        rows.append(
            Row(
                f"{figure.label}: p95",
                f"{figure.p95_ms:.1f} ms",
                f"≤ {p95_budget:.0f} ms",
                figure.p95_ms <= p95_budget,
            )
        )
    return rows


def search_row(figure: web_bench.Figure) -> Row:
    errors = figure.non2xx + figure.socket_errors
    value = f"p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms ({figure.rps:,.0f} req/s"
    value += f", {errors} errors)" if errors else ")"
    if figure.status != 200:
        value += f", answers {figure.status}"
        errors += 1
    met = figure.p50_ms <= SEARCH_P50_MS and figure.p99_ms <= SEARCH_P99_MS and not errors
    return Row(
        figure.label, value, f"p50 ≤ {SEARCH_P50_MS:.0f} ms, p99 ≤ {SEARCH_P99_MS:.0f} ms", met
    )


def vote_row(figure: web_bench.Figure, mismatches: int, targets: int) -> Row:
    accepted = (figure.requests - figure.non2xx - figure.socket_errors) / figure.seconds
    value = (
        f"{accepted:,.0f} accepted/s (p50 {figure.p50_ms:.1f} ms, p99 {figure.p99_ms:.1f} ms), "
        f"{mismatches} counter mismatches on {targets} contributions"
    )
    met = accepted >= VOTES_PER_SECOND and mismatches == 0
    return Row(figure.label, value, f"≥ {VOTES_PER_SECOND} accepted/s, 0 mismatches", met)


def weight_rows(weights: list[dict]) -> list[Row]:
    rows = []
    for w in weights:
        first, repeat = w["first_bytes"] / 1024, w["repeat_bytes"] / 1024
        value = (
            f"{first:,.1f} KB / {repeat:,.1f} KB (HTML {w['html_bytes'] / 1024:.1f}, "
            f"CSS+JS+images {w['assets_bytes'] / 1024:.1f}, CSS url() "
            f"{w['css_urls_bytes'] / 1024:.1f}; {w['repeat_requests']} request(s) again)"
        )
        if w["status"] != 200 or w["missing"]:
            value += f"; status {w['status']}, missing {len(w['missing'])}"
        budget = f"≤ {w['first_budget'] / 1024:,.0f} KB / ≤ {BUDGET_REPEAT / 1024:.0f} KB"
        met = (
            w["status"] == 200
            and not w["missing"]
            and w["first_bytes"] <= w["first_budget"]
            and w["repeat_bytes"] <= BUDGET_REPEAT
        )
        rows.append(Row(f"weight {w['path']} (first / repeat)", value, budget, met))
    return rows


def synthesis_rows(figures: dict[str, Any]) -> list[Row]:
    rows = []
    compiled = figures.get("compile")
    if compiled:
        seconds, peak = compiled["seconds"], compiled["peak_mb"]
        cpu = compiled.get("process_cpu_s")
        shown = f"{seconds:.1f} s" + (f" ({cpu:.1f} s CPU in its process)" if cpu else "")
        if compiled.get("topics_seconds") is not None:
            shown += f", then topics apart {compiled['topics_seconds']:.1f} s"
        rows.append(
            Row(
                "compile all 49 scopes",
                f"{shown}, peak {peak:,.0f} MB",
                f"≤ {COMPILE_SECONDS:.0f} s, ≤ {COMPILE_MB:,.0f} MB",
                seconds <= COMPILE_SECONDS and peak <= COMPILE_MB,
            )
        )
    for key, found in figures.items():
        if not key.startswith("duckdb_"):
            continue
        plan = key.removeprefix("duckdb_")
        if "timings" not in found:
            rows.append(
                Row(f"DuckDB ({plan})", "unavailable: " + found.get("unavailable", "?"), "-", None)
            )
            continue
        t = found["timings"]
        value = (
            f"load {t['load']:.1f} s + aggregate {t['aggregate']:.1f} s = "
            f"{t['load'] + t['aggregate']:.1f} s"
        )
        if found.get("process_cpu_s"):
            value += f" ({found['process_cpu_s']:.1f} s CPU in its process)"
        value += f", peak {found['peak_mb']:,.0f} MB"
        if compiled:
            value += f"; engine / DuckDB aggregate = {compiled['seconds'] / t['aggregate']:.2f}"
        rows.append(Row(f"DuckDB ({plan}) on the same data", value, "-", None))
    check = figures.get("check")
    if check:
        value = f"{check['mismatches']} mismatches in {check['figures_compared']:,} figures"
        if check.get("not_comparable"):
            value += f", {len(check['not_comparable'])} table(s) not comparable"
        rows.append(
            Row("engine vs DuckDB cross-check", value, "0 mismatches", check["mismatches"] == 0)
        )
    for label in ("analyst", "public"):
        e = figures.get(f"export_{label}")
        if e:
            rows.append(
                Row(
                    f"synthesis zip, national ({label})",
                    f"{e['seconds']:.1f} s, {e['bytes'] / 1e6:.1f} MB, peak {e['peak_mb']:,.0f} MB",
                    "-",
                    None,
                )
            )
    return rows


def export_row(found: dict[str, float]) -> Row:
    value = (
        f"{found['wall_s']:.1f} s wall ({found['cpu_s']:.1f} s CPU), peak "
        f"{found['peak_mb']:,.0f} MB, {found['rows']:,.0f} responses"
    )
    met = found["wall_s"] <= EXPORT_SECONDS and found["peak_mb"] <= EXPORT_MB
    return Row(
        "CSV export of the responses", value, f"≤ {EXPORT_SECONDS:.0f} s, ≤ {EXPORT_MB:.0f} MB", met
    )


def parse_export(output: str) -> dict[str, float] | None:
    """export_bench's summary line (bench/export_bench.py prints it; it writes no JSON)."""
    match = EXPORT_RE.search(output)
    if match is None:
        return None
    return {
        "rows": int(match["rows"]),
        "wall_s": float(match["wall"]),
        "cpu_s": float(match["cpu"]),
        "peak_mb": float(match["peak"]),
    }


def table(rows: list[Row]) -> str:
    lines = ["| measure | value | budget | |", "|---|---|---|---|"]
    lines += [f"| {r.measure} | {r.value} | {r.budget} | {r.verdict} |" for r in rows]
    return "\n".join(lines)


# --- The parts -----------------------------------------------------------------------------------


def default_database(fraction: float) -> str:
    """bench_gd at full size; a fraction gets its own database (bench_gd_0_02), filled once."""
    if fraction >= 1:
        return DEFAULT_DATABASE
    suffix = f"{fraction:g}".replace(".", "_")
    return f"{DEFAULT_DATABASE}_{suffix}"


def dataset_size(url: str, fraction: float) -> dict[str, int]:
    """What the database holds, and a warning when it is not the size ``--fraction`` asks for
    (a database filled earlier at another size is measured as it is, never refilled)."""
    from bench import gd_fill

    engine = web_bench._engine(url)
    with engine.connect() as conn:
        held = {
            "contributions": conn.scalar(text("SELECT count(*) FROM forum_contribution")),
            "votes": conn.scalar(text("SELECT count(*) FROM forum_vote")),
            "responses": conn.scalar(text("SELECT count(*) FROM survey_response")),
        }
    engine.dispose()
    expected = gd_fill.sizes_for(fraction)["contributions"]
    if abs(held["contributions"] - expected) > 0.05 * expected:
        print(
            f"warning: the database holds {held['contributions']:,} contributions, gd x"
            f"{fraction:g} has {expected:,}: the figures are for the data present",
            flush=True,
        )
    return held


def prepare_search(url: str) -> None:
    from bench import search_bench

    search_bench.prepare(url)


def run_synthesis(url: str, sections: set[str], work: Path) -> tuple[dict[str, Any], bool]:
    out = work / "synthesis.json"
    command = [str(VENV_BIN / "python"), "-m", "bench.synthesis_bench", "--database-url", url]
    command += ["--json", str(out), "--duckdb", "parquet" if "duckdb" in sections else ""]
    if "compile" not in sections:
        command.append("--skip-compile")
    if "export" not in sections:
        command.append("--skip-export")
    env = os.environ | {"CONSULT_ENV": "development", "DATABASE_URL": url}
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    figures = json.loads(out.read_text()) if out.exists() else {}
    # 1 with figures written: DuckDB and the engine disagree (shown in the table).
    return figures, status == 0 or (status == 1 and bool(figures))


def run_export(url: str) -> dict[str, float] | None:
    command = [str(VENV_BIN / "python"), "-m", "bench.export_bench", "--database-url", url]
    env = os.environ | {"CONSULT_ENV": "development", "DATABASE_URL": url}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr[-4000:])
    return parse_export(done.stdout) if done.returncode == 0 else None


def pick_pages(url: str, contribution_id: int) -> list[str]:
    """The main pages whose weight is measured: the theme list of the pages measure, the
    contribution with ~200 comments, the académie with most contributions (its territorial and
    synthesis pages)."""
    theme_list = web_bench.PAGES[0][1]
    engine = web_bench._engine(url)
    with engine.connect() as conn:
        academie = conn.scalar(
            text(
                "SELECT a.slug FROM academie a LEFT JOIN forum_contribution c "
                "ON c.author_academie_code = a.code GROUP BY a.slug "
                "ORDER BY count(c.id) DESC, a.slug LIMIT 1"
            )
        )
    engine.dispose()
    return [
        "/",
        "/forums/",
        theme_list,
        f"/forums/contributions/{contribution_id}",
        "/territoires/",
        f"/territoires/{academie}/",
        "/retex/",
        "/questionnaire/",
        "/syntheses/",
        f"/syntheses/{academie}/",
    ]


def search_queries(url: str) -> list[str]:
    from bench import search_bench

    return search_bench.queries(url, SEARCH_QUERIES)


def profile_misses(args, url: str, rows: list[Row], picked: dict) -> dict[str, str]:
    """Where a missed page spends its time: ``args.profile`` requests of it through the
    application in this process (same settings as the served one, the page cache included),
    under cProfile, the top functions by cumulative time."""
    import cProfile
    import io
    import pstats

    targets = picked.get("targets_by_label", {})
    missed = dict.fromkeys(r.measure.removesuffix(": p95") for r in rows if r.met is False)
    chosen = [(label, *targets[label]) for label in missed if label in targets]
    if not chosen:
        return {}
    os.environ.update(
        {
            "CONSULT_ENV": "production",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key-" + "x" * 32),
            "RATELIMIT_ENABLED": "false",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": url,
            "REDIS_URL": args.redis_url,
            "SITE_URL": "http://127.0.0.1",
            "TRUSTED_HOSTS": "127.0.0.1",
            "SESSION_COOKIE_SECURE": "false",
        }
    )
    from consult import create_app

    app = create_app()
    # Without its own cookie jar the client sends the Cookie header as given.
    client = app.test_client(use_cookies=False)
    profiles = {}
    for label, path, logged_in in chosen:
        headers = {"User-Agent": web_bench.USER_AGENT, "Accept-Encoding": "br, gzip"}
        if logged_in:
            headers["Cookie"] = picked["member_cookie"]

        sent = iter(range(1 << 30))

        def get(path=path, headers=headers, sent=sent) -> int:
            # "{n}": a fresh value per request (an uncached search stays uncached).
            target = path.replace("{n}", str(next(sent)))
            response = client.get(target, headers=headers, base_url="http://127.0.0.1")
            response.get_data()
            response.close()
            return response.status_code

        for _ in range(3):  # warm: connections, templates, caches
            get()
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        statuses = {get() for _ in range(args.profile)}
        profiler.disable()
        per_request = (time.perf_counter() - began) / args.profile * 1000
        out = io.StringIO()
        out.write(
            f"{label}: {path}, {args.profile} requests in-process, {per_request:.1f} ms each "
            f"under the profiler, statuses {sorted(statuses)}\n"
        )
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(25)
        profiles[label] = out.getvalue()
    return profiles


def measure_web(args, url: str, sections: set[str], picked: dict, figures: dict) -> list[Row]:
    """Hello-world, then the application under the same gunicorn: weight, pages, search, votes;
    hello-world again at the end (the machine is shared: both are shown)."""
    rows: list[Row] = []
    hello = []
    with serve(app="bench.hello_app:app", workers=args.workers) as hello_base:
        hello.append(
            web_bench.measure("hello-world (same gunicorn), before", hello_base + "/", args)
        )
    cid = picked["contribution"][0]
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "SITE_URL": "http://127.0.0.1",
        "TRUSTED_HOSTS": "127.0.0.1",
        "SESSION_COOKIE_SECURE": "false",  # plain-HTTP loopback: the cookie travels without TLS
    }
    page_figures: list[tuple[web_bench.Figure, float | None]] = []
    search_figures: list[web_bench.Figure] = []
    vote = mismatches = None
    with serve(env=env, workers=args.workers) as base:
        if "weight" in sections:
            fetcher = HttpFetcher(base, {"User-Agent": web_bench.USER_AGENT})
            weights = []
            for path in pick_pages(url, cid):
                weights.append(weigh(fetcher, path).as_dict())
                w = weights[-1]
                print(
                    f"  weight {path}: first {w['first_bytes'] / 1024:.1f} KB, "
                    f"repeat {w['repeat_bytes'] / 1024:.1f} KB",
                    flush=True,
                )
            fetcher.close()
            figures["weight"] = weights
        if "pages" in sections:
            member_cookie, _token = web_bench.login(base, picked["voters"][-1])
            picked["member_cookie"] = member_cookie  # for --profile; never written out
            for label, path, logged_in, budget in web_bench.PAGES:
                if path.startswith("/forums/recherche"):
                    continue  # the search section measures it, rotating queries
                path = path.format(contribution=f"/forums/contributions/{cid}")
                headers = [f"Cookie: {member_cookie}"] if logged_in else []
                figure = web_bench.measure(label, base + path, args, budget, headers=headers)
                p95 = (25.0 if logged_in else None) if "theme list" in label else None
                if "contribution" in label:
                    p95 = 30.0
                page_figures.append((figure, p95))
                picked.setdefault("targets_by_label", {})[label] = (path, logged_in)
        if "search" in sections:
            found = search_queries(url)
            with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
                listing.write("\n".join(quote(q) for q in found) + "\n")
            # As many connections as workers: each request's latency is its own, not a queue's.
            quiet = argparse.Namespace(
                **(vars(args) | {"connections": args.workers, "threads": args.workers})
            )
            try:
                for name, path in SEARCHES:
                    for mode in ("uncached", "cached"):
                        label = f"search {name}, {len(found)} queries, {mode}"
                        joiner = "&" if "?" in path else "?"
                        target = f"{path}{joiner}q={quote(found[0])}"
                        if mode == "uncached":
                            target += "&n=profile-{n}"
                        picked.setdefault("targets_by_label", {})[label] = (target, False)
                        search_figures.append(
                            web_bench.measure(
                                label,
                                base + path,
                                quiet,
                                probe_url=base + target.replace("{n}", "probe"),
                                script="search.lua",
                                extra=[listing.name, path, mode],
                            )
                        )
            finally:
                os.unlink(listing.name)
            figures["search_queries"] = found
        if "votes" in sections:
            vote = web_bench.vote_round(base, args, picked)
            mismatches = web_bench.counter_mismatches(url, picked["targets"])
    with serve(app="bench.hello_app:app", workers=args.workers) as hello_base:
        hello.append(
            web_bench.measure("hello-world (same gunicorn), after", hello_base + "/", args)
        )
    # Shares are taken against the mean of the two hello-world rounds.
    hello_rps = sum(h.rps for h in hello) / len(hello)
    figures["hello_world"] = [h.__dict__ | {"rps": h.rps} for h in hello]
    figures["hello_rps"] = hello_rps
    for figure, p95 in page_figures:
        rows += page_rows(figure, hello_rps, p95)
    rows += [search_row(f) for f in search_figures]
    if vote is not None:
        rows.append(vote_row(vote, mismatches, len(picked["targets"])))
    if "weight" in sections:
        rows += weight_rows(figures["weight"])
    figures["pages"] = [f.__dict__ | {"rps": f.rps} for f, _p in page_figures]
    figures["search"] = [f.__dict__ | {"rps": f.rps} for f in search_figures]
    if vote is not None:
        figures["votes"] = vote.__dict__ | {"rps": vote.rps, "counter_mismatches": mismatches}
    return rows


# --- The command ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument(
        "--redis-url", default=os.environ.get("BENCH_REDIS_URL", web_bench.DEFAULT_REDIS)
    )
    parser.add_argument("--fraction", type=float, default=1.0, help="share of gd (quick: 0.02)")
    parser.add_argument("--only", default="", help="comma-separated: " + ", ".join(SECTIONS))
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk measure")
    parser.add_argument("--warmup", type=int, default=2, help="unmeasured seconds before each")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--voters", type=int, default=64)
    parser.add_argument("--timeout", type=int, default=10, help="wrk: slower answers are errors")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", default="", help="also write every figure to this file")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="for each page or search that misses its budget, cProfile N requests in-process",
    )
    args = parser.parse_args(argv)
    args.sections = set(SECTIONS)
    if args.only:
        chosen = {s.strip() for s in args.only.split(",") if s.strip()}
        unknown = chosen - set(SECTIONS)
        if unknown:
            parser.error(f"unknown section(s) {', '.join(sorted(unknown))}: {', '.join(SECTIONS)}")
        args.sections = chosen
    args.database_url = args.database_url or default_database(args.fraction)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    sections: set[str] = args.sections
    web = sections & {"weight", "pages", "search", "votes"}
    if web and shutil.which("wrk") is None:
        sys.exit("wrk is missing: sh scripts/install-bench.sh (Debian's wrk package)")
    from consult.config import normalise_database_url

    url = normalise_database_url(args.database_url)
    began = time.perf_counter()
    figures: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "database": url.rsplit("/", 1)[1],
        "sections": sorted(sections),
    }
    failed: list[str] = []
    print(f"== dataset {figures['database']} (x{args.fraction:g} of gd)", flush=True)
    step = time.perf_counter()
    web_bench.ensure_dataset(url, args.fraction)
    figures["dataset"] = dataset_size(url, args.fraction)
    prepare_search(url)
    figures["dataset_seconds"] = time.perf_counter() - step
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        if sections & {"compile", "duckdb", "export"}:
            print("== compile / DuckDB / synthesis zips (bench/synthesis_bench.py)", flush=True)
            step = time.perf_counter()
            synthesis, ok = run_synthesis(url, sections, Path(scratch))
            figures["synthesis"] = synthesis
            figures["synthesis_seconds"] = time.perf_counter() - step
            rows += synthesis_rows(synthesis)
            if not ok:
                failed.append("synthesis_bench")
    if "export" in sections:
        print("== CSV export (bench/export_bench.py)", flush=True)
        step = time.perf_counter()
        exported = run_export(url)
        figures["export_seconds"] = time.perf_counter() - step
        if exported is None:
            failed.append("export_bench")
        else:
            figures["export"] = exported
            rows.append(export_row(exported))
    if web:
        print("== web: weight, pages, search, votes (gunicorn + wrk)", flush=True)
        step = time.perf_counter()
        picked = web_bench.pick(url)
        figures["contribution"] = list(picked["contribution"])
        rows = measure_web(args, url, sections, picked, figures) + rows
        if args.profile:
            figures["profiles"] = profile_misses(args, url, rows, picked)
        figures["web_seconds"] = time.perf_counter() - step
    figures["rows"] = [r.__dict__ for r in rows]
    figures["failed"] = failed
    figures["seconds"] = time.perf_counter() - began
    print()
    if "hello_world" in figures:
        before, after = (h["rps"] for h in figures["hello_world"])
        print(
            f"hello-world under the same gunicorn ({args.workers} workers, wrk -t{args.threads} "
            f"-c{args.connections}): {before:,.0f} req/s before, {after:,.0f} after; shares are "
            f"of their mean, {figures['hello_rps']:,.0f} req/s"
        )
    print(table(rows))
    met = sum(1 for r in rows if r.met)
    budgeted = sum(1 for r in rows if r.met is not None)
    print(f"\n{met} of {budgeted} budget rows met; run took {figures['seconds'] / 60:.1f} min")
    if failed:
        print("failed to run: " + ", ".join(failed))
    for text_ in figures.get("profiles", {}).values():
        print("\n" + text_)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    sys.exit(
        1 if failed or (figures.get("synthesis", {}).get("check", {}).get("mismatches")) else 0
    )


if __name__ == "__main__":
    main()
