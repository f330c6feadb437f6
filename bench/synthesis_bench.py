"""Synthesis benchmark on the gd dataset: the engine's compile_all (national + 18 régions + 30
académies) next to DuckDB computing the same core aggregations on the same data, in the same
run, then the national export zip. Each measured part runs in its own child process, so its
wall time and peak memory (max RSS through wait4) are its own. Linux keeps the high-water mark
of the forked image across exec, so the parent stays small until every child has run: the
cross-check (which loads both sides' tables) comes last.

    .venv/bin/python -m bench.gd_fill --database-url postgresql://postgres@127.0.0.1:5432/bench_synthesis_gd
    .venv/bin/python -m bench.synthesis_bench \\
        --database-url postgresql://postgres@127.0.0.1:5432/bench_synthesis_gd --json out.json

DuckDB's side: the same columns the engine reads (same visibility filters), streamed out of
PostgreSQL with COPY ... TO STDOUT into Parquet files through pyarrow (constant memory; this
"load" is timed apart), then aggregated in SQL over the Parquet files: participation by
audience at national, région and académie level with exact distinct people, the daily series,
the forum per theme × sub-theme × audience, the per-contribution × audience vote matrix with
the consensus labels, and the questionnaire distributions per question × option × audience and
× académie (answers expanded from the JSON documents by DuckDB itself). The figures are then
compared with the engine's stored tables: they must agree. Figures are printed, never
asserted; the exit status is 1 only when the two disagree.

DuckDB plans (``--duckdb parquet,postgres,csv``; empty: DuckDB is not run): Parquet exported
once then scanned (its best plan here), the postgres scanner (needs the extension download:
unavailable offline, reported as such in two seconds), or CSV loaded into tables. Distinct
people are counted as the engine does (``_people_levels``): per académie × audience cell, then
summed, with COUNT(DISTINCT) only for the people seen under several académies or audiences.
DuckDB may use ``BENCH_DUCKDB_MEMORY`` (4GB by default) and spills to disk beyond. On this
shared 2-core machine DuckDB's times vary several-fold with the load of other processes:
compare within one run, and CPU times.
"""

# ruff: noqa: S608 - every statement is built from constants of this file, never from input

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.harness import VENV_BIN, run_usage

MIN_AUDIENCE_VOTES = 10  # synthesis.engine.MIN_AUDIENCE_VOTES, checked at run time


# --- Children --------------------------------------------------------------------------------


def _app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("CONSULT_ENV", "development")
    from consult import create_app

    return create_app()


def child_compile(url: str, out: Path, profile: bool) -> None:
    """compile_all on every scope, committed; stage times from its progress callback."""
    app = _app(url)
    from consult.db import db
    from synthesis import engine

    with app.app_context():
        stages: list[tuple[str, float]] = []
        last = [time.perf_counter()]

        def progress(label: str, _n: int = 1) -> None:
            now = time.perf_counter()
            stages.append((label, now - last[0]))
            last[0] = now

        profiler = cProfile.Profile() if profile else None
        began = time.perf_counter()
        if profiler:
            profiler.enable()
        # As the CLI and the job do: the tables, committed, then the topics of free texts apart
        # (the tables are usable without them); both timed, the budget is the tables'.
        compilation = engine.compile_all(db.session, progress=progress, trigger="cli", topics=False)
        db.session.commit()
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - began
        began = time.perf_counter()
        engine.compile_topics(db.session, compilation)
        db.session.commit()
        topics_seconds = time.perf_counter() - began
        result: dict[str, Any] = {
            "seconds": seconds,
            "topics_seconds": topics_seconds,
            "stages": stages,
            "compilation_id": compilation.id,
            "engine_duration_ms": compilation.duration_ms,
            "engine_peak_mb": compilation.peak_memory_mb,
            "min_audience_votes": engine.MIN_AUDIENCE_VOTES,
        }
        if profiler:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
            result["profile"] = text.getvalue()
        out.write_text(json.dumps(result))


def child_export(url: str, out: Path, public: bool) -> None:
    app = _app(url)
    from consult.db import db
    from synthesis import exports

    with app.app_context(), tempfile.TemporaryDirectory(prefix="synthesis-bench-") as scratch:
        path = Path(scratch) / "national.zip"
        began = time.perf_counter()
        bundle = exports.build_zip(db.session, "national", "", path, public=public)
        seconds = time.perf_counter() - began
        if bundle is None:
            raise RuntimeError("no compilation to export")
        out.write_text(json.dumps({"seconds": seconds, "bytes": path.stat().st_size}))


# Same columns and filters as synthesis.engine.read_sources: visible (not hidden, not held,
# contributions not withdrawn) items, votes and comments on visible contributions, supports of
# visible ideas, current published Retex versions.
VISIBLE = "{a}.hidden_at IS NULL AND NOT {a}.held_for_review"
VISIBLE_C = VISIBLE.format(a="c") + " AND c.withdrawn_at IS NULL"
SOURCES = {
    "contributions": f"""SELECT c.id, c.author_id AS user_id, t.slug AS theme_slug,
        s.slug AS subtheme_slug, c.author_academie_code AS academie_code,
        c.author_audience AS audience, c.created_at::date AS day
        FROM forum_contribution c JOIN forum_theme t ON t.id = c.theme_id
        JOIN forum_subtheme s ON s.id = c.subtheme_id WHERE {VISIBLE_C}""",
    "votes": f"""SELECT v.user_id, v.contribution_id, v.author_academie_code AS academie_code,
        v.author_audience AS audience, (v.value = 'adopt')::int AS adopt, v.created_at::date AS day
        FROM forum_vote v JOIN forum_contribution c ON c.id = v.contribution_id
        WHERE {VISIBLE_C}""",
    "comments": f"""SELECT m.author_id AS user_id, m.contribution_id,
        m.author_academie_code AS academie_code, m.author_audience AS audience,
        (m.polarity = 'pour')::int AS pour, m.created_at::date AS day
        FROM forum_comment m JOIN forum_contribution c ON c.id = m.contribution_id
        WHERE {VISIBLE.format(a="m")} AND {VISIBLE_C}""",
    "ideas": f"""SELECT i.author_id AS user_id, i.author_academie_code AS academie_code,
        i.author_audience AS audience, i.created_at::date AS day
        FROM territorial_idea i WHERE {VISIBLE.format(a="i")}""",
    "supports": f"""SELECT s.user_id, s.author_academie_code AS academie_code,
        s.author_audience AS audience, s.created_at::date AS day
        FROM territorial_idea_support s JOIN territorial_idea i ON i.id = s.idea_id
        WHERE {VISIBLE.format(a="i")}""",
    "sheets": """SELECT s.id, s.author_id AS user_id, s.author_academie_code AS academie_code,
        s.author_audience AS audience, r.published_at::date AS day
        FROM retex_sheet s JOIN retex_revision r
        ON r.sheet_id = s.id AND r.version = s.published_version
        WHERE s.published_version > 0""",
    "responses": """SELECT author_academie_code AS academie_code, author_audience AS audience,
        submitted_at::date AS day, answers::text AS answers FROM survey_response
        WHERE questionnaire_id = (SELECT min(id) FROM survey_questionnaire)""",
    "academies": "SELECT code AS academie_code, region_code FROM academie",
}
TYPES = {
    "id": "BIGINT",
    "user_id": "BIGINT",
    "contribution_id": "BIGINT",
    "adopt": "INTEGER",
    "pour": "INTEGER",
    "day": "DATE",
    "answers": "VARCHAR",  # parsed once, typed, by json_transform
}

# Activities counted in participation, with their DuckDB source table.
ACTIVITIES = {
    "contributions": "contributions",
    "votes": "votes",
    "comments": "comments",
    "ideas": "ideas",
    "idea_supports": "supports",
    "retex_sheets": "sheets",
}
# The three levels: the scope column each groups by ('' for the nation).
LEVEL_SCOPE = {"national": "''", "region": "region_code", "academie": "academie_code"}


def _levels(select: str, source: str, dims: list[str], aggregates: str) -> str:
    """Every level (nation, région, académie) and both audience splits ('*' = all audiences)
    in one scan: GROUPING SETS, each row labelled with its level and scope."""
    sets = []
    for scope in ("", "region_code", "academie_code"):
        for audience in (["audience"], []):
            keys = [k for k in (scope, *dims, *audience) if k]
            sets.append("(" + ", ".join(keys) + ")")
    columns = [
        "CASE WHEN grouping(academie_code) = 0 THEN 'academie' "
        "WHEN grouping(region_code) = 0 THEN 'region' ELSE 'national' END AS kind",
        "CASE WHEN grouping(academie_code) = 0 THEN academie_code "
        "WHEN grouping(region_code) = 0 THEN region_code ELSE '' END AS scope",
        *dims,
        "CASE WHEN grouping(audience) = 0 THEN audience ELSE '*' END AS audience",
    ]
    if select:
        columns.append(select)
    # A row without académie counts nationally only (its région and académie groups are NULL).
    return (
        f"SELECT * FROM (SELECT {', '.join(columns)}, {aggregates} FROM {source} "
        f"GROUP BY GROUPING SETS ({', '.join(sets)})) WHERE scope IS NOT NULL"
    )


# Distinct people without a distinct count over millions of rows: someone always seen under one
# académie and one audience (all but the few in ``multi``: they moved, or changed audience)
# falls in one (académie, audience) cell, so the people of a wider cell (a région, the nation,
# every audience) are the sum of its (académie, audience) cells' — counted once at that grain
# by grouping (cell, person) rows —, plus the movers counted distinctly at every level. The
# engine's trick; exact (tests/test_bench_duckdb.py checks it against the plain count).


def _people_levels(select: str, source: str, dims: list[str], value: str) -> str:
    """``_levels`` of a person-grain source: ``value`` is ``rows`` (how many rows) or
    ``people`` (how many distinct people); ``people`` is always given."""
    keys = ", ".join([*dims, "academie_code", "region_code", "audience"])
    fine = f"(SELECT {keys}, user_id, count(*) AS n FROM {source} GROUP BY ALL)"
    cells = (
        f"(SELECT {keys}, sum(n) AS n, count(*) FILTER (WHERE m.user_id IS NULL) AS p "
        f"FROM {fine} f LEFT JOIN multi m USING (user_id) GROUP BY ALL)"
    )
    movers = f"(SELECT s.* FROM {source} s SEMI JOIN multi USING (user_id))"
    parts = (
        _levels(select, cells, dims, "sum(n) AS n, sum(p) AS people")
        + "\nUNION ALL BY NAME\n"
        + _levels(select, movers, dims, "0 AS n, count(DISTINCT user_id) AS people")
    )
    counted = "sum(n)" if value == "rows" else "sum(people)"
    return (
        f"SELECT * EXCLUDE (n, people), {counted} AS value, sum(people) AS people "
        f"FROM ({parts}) GROUP BY ALL"
    )


def aggregation_sql(min_votes: int, questions: list[tuple[str, bool]]) -> dict[str, str]:
    activity = " UNION ALL ".join(
        f"SELECT '{name}' AS indicator, user_id, academie_code, audience, day FROM {table}"
        for name, table in ACTIVITIES.items()
    )
    with_region = "LEFT JOIN academies USING (academie_code)"
    forum_items = (
        "(SELECT f.*, r.region_code FROM forum_items f LEFT JOIN academies r USING (academie_code))"
    )
    sql = {
        "activity": f"""CREATE TABLE activity AS SELECT a.*, r.region_code
            FROM ({activity}) a {with_region.replace("USING", "r USING")}""",
        # Forum items are contributions, votes and comments, all in the activity: one set.
        "multi": """CREATE TABLE multi AS SELECT user_id FROM activity GROUP BY user_id
            HAVING min(coalesce(academie_code, '') || '|' || coalesce(audience, ''))
                <> max(coalesce(academie_code, '') || '|' || coalesce(audience, ''))""",
        "participation": "CREATE TABLE d_participation AS "
        + _people_levels("", "activity", ["indicator"], "rows")
        + "\nUNION ALL BY NAME\n"
        + _people_levels("'participants' AS indicator", "activity", [], "people")
        + "\nUNION ALL BY NAME\n"
        + _levels(
            "'survey_responses' AS indicator",
            f"(SELECT * FROM responses {with_region})",
            [],
            "count(*) AS value, count(*) AS people",
        ),
        "participation_daily": "CREATE TABLE d_daily AS "
        + _people_levels("", "activity", ["indicator", "day"], "rows")
        + "\nUNION ALL BY NAME\n"
        + _people_levels("'participants' AS indicator", "activity", ["day"], "people")
        + "\nUNION ALL BY NAME\n"
        + _levels(
            "'survey_responses' AS indicator",
            f"(SELECT * FROM responses {with_region})",
            ["day"],
            "count(*) AS value, count(*) AS people",
        ),
        "forum_items": """CREATE TABLE forum_items AS
            SELECT 'contributions' AS indicator, user_id, academie_code, audience, theme_slug,
                subtheme_slug FROM contributions
            UNION ALL SELECT CASE WHEN x.k = 0 THEN 'votes' WHEN v.adopt = 1 THEN 'adopt'
                ELSE 'refuse' END, v.user_id, v.academie_code, v.audience, c.theme_slug,
                c.subtheme_slug
            FROM votes v JOIN contributions c ON c.id = v.contribution_id,
                (VALUES (0), (1)) x(k)
            UNION ALL SELECT CASE WHEN x.k = 0 THEN 'comments' WHEN m.pour = 1 THEN 'pour'
                ELSE 'contre' END, m.user_id, m.academie_code, m.audience, c.theme_slug,
                c.subtheme_slug
            FROM comments m JOIN contributions c ON c.id = m.contribution_id,
                (VALUES (0), (1)) x(k)""",
        "forum_themes": "CREATE TABLE d_forum AS "
        + _people_levels("", forum_items, ["indicator", "theme_slug", "subtheme_slug"], "rows")
        + "\nUNION ALL BY NAME\n"
        + _people_levels("'*' AS subtheme_slug", forum_items, ["indicator", "theme_slug"], "rows"),
        "vote_matrix": f"""CREATE TABLE d_matrix AS
            WITH v AS (SELECT v.*, r.region_code FROM votes v
                       {with_region.replace("USING", "r USING")})
            SELECT 'national' AS kind, '' AS scope, contribution_id, audience,
                sum(adopt) AS adopt, count(*) - sum(adopt) AS refuse FROM v
                GROUP BY contribution_id, audience
            UNION ALL SELECT 'region', region_code, contribution_id, audience, sum(adopt),
                count(*) - sum(adopt) FROM v WHERE region_code IS NOT NULL
                GROUP BY region_code, contribution_id, audience
            UNION ALL SELECT 'academie', academie_code, contribution_id, audience, sum(adopt),
                count(*) - sum(adopt) FROM v WHERE academie_code IS NOT NULL
                GROUP BY academie_code, contribution_id, audience""",
        "consensus": f"""CREATE TABLE d_consensus AS
            WITH m AS (SELECT *, adopt + refuse AS votes, adopt / (adopt + refuse) AS share
                       FROM d_matrix),
            stats AS (SELECT kind, scope, contribution_id,
                    count(*) FILTER (WHERE votes >= {min_votes}) AS audiences,
                    min(share) FILTER (WHERE votes >= {min_votes}) AS min_share,
                    max(share) FILTER (WHERE votes >= {min_votes}) AS max_share,
                    sum(votes) AS votes
                FROM m GROUP BY kind, scope, contribution_id)
            SELECT *, CASE WHEN min_share > 0.5 THEN 'consensuelle' ELSE 'clivante' END AS label
            FROM stats
            WHERE audiences >= 2 AND (min_share > 0.5 OR (max_share > 0.5 AND min_share < 0.5))""",
    }
    sql.update(survey_sql(questions))
    return sql


def survey_sql(questions: list[tuple[str, bool]]) -> dict[str, str]:
    """Questionnaire distributions: each answer document parsed once into a typed struct (one
    field per choice question: a list for multiple choice and ranking, text otherwise), then
    one counting scan per question at académie × audience grain, rolled up to the levels.
    ``questions``: (code, is_list) of every question that is not free text."""
    schema = json.dumps(
        {code: "VARCHAR[]" if is_list else "VARCHAR" for code, is_list in questions}
    )
    counts = []
    for code, is_list in questions:
        if is_list:
            counts.append(
                f"SELECT academie_code, region_code, audience, '{code}' AS question_key, "
                f"option_key, count(*) AS n FROM (SELECT academie_code, region_code, audience, "
                f"unnest(a.{code}) AS option_key FROM survey_struct WHERE len(a.{code}) > 0) "
                "GROUP BY ALL"
            )
        else:
            counts.append(
                f"SELECT academie_code, region_code, audience, '{code}' AS question_key, "
                f"a.{code} AS option_key, count(*) AS n FROM survey_struct "
                f"WHERE a.{code} IS NOT NULL AND a.{code} <> '' GROUP BY ALL"
            )
    answered = ", ".join(
        f'count(*) FILTER (WHERE len(a.{code}) > 0) AS "{code}"'
        if is_list
        else f"count(*) FILTER (WHERE a.{code} IS NOT NULL AND a.{code} <> '') AS \"{code}\""
        for code, is_list in questions
    )
    return {
        "survey_parse": f"""CREATE TABLE survey_struct AS
            SELECT r.academie_code, a.region_code, r.audience,
                json_transform(r.answers, '{schema}') AS a
            FROM responses r LEFT JOIN academies a USING (academie_code)""",
        "survey_counts": "CREATE TABLE survey_counts AS " + " UNION ALL ".join(counts),
        "survey_bases": f"""CREATE TABLE survey_bases AS
            SELECT * FROM (UNPIVOT (SELECT academie_code, region_code, audience, {answered}
                                     FROM survey_struct GROUP BY ALL)
                           ON COLUMNS(* EXCLUDE (academie_code, region_code, audience))
                           INTO NAME question_key VALUE base)
            WHERE base > 0""",
        "survey_distribution": "CREATE TABLE d_survey AS WITH c AS ("
        + _levels("", "survey_counts", ["question_key", "option_key"], "sum(n) AS count")
        + "), b AS ("
        + _levels("", "survey_bases", ["question_key"], "sum(base) AS base")
        + ") SELECT c.*, b.base, c.count / b.base AS share FROM c "
        "JOIN b USING (kind, scope, question_key, audience)",
        "survey_territory": """CREATE TABLE d_survey_territory AS
            WITH c AS (SELECT academie_code, question_key, option_key, sum(n) AS count
                       FROM survey_counts WHERE academie_code IS NOT NULL GROUP BY ALL),
            b AS (SELECT academie_code, question_key, sum(base) AS base FROM survey_bases
                  WHERE academie_code IS NOT NULL GROUP BY ALL)
            SELECT c.*, b.base, c.count / b.base AS share FROM c
            JOIN b USING (academie_code, question_key)""",
    }


def child_duckdb(
    url: str, out: Path, results: Path, min_votes: int, source: str = "parquet"
) -> None:
    """DuckDB on the engine's columns, read one of three ways (its best plan is the first):

    - ``parquet``: the columns exported once from PostgreSQL to Parquet files (typed,
      columnar, compressed; the one-off export is timed apart as ``export``), then scanned by
      the aggregations directly: nothing is loaded into DuckDB's own tables;
    - ``postgres``: DuckDB's postgres scanner reads PostgreSQL itself (``ATTACH … (TYPE
      postgres)``, binary COPY under the hood); needs the extension, which DuckDB downloads
      on first use — reported as unavailable when the machine is offline;
    - ``csv``: COPY … TO STDOUT as CSV, loaded into in-memory tables (the former plan).
    """
    import duckdb
    import psycopg

    from surveys import engine as survey_engine

    timings: dict[str, float] = {}
    rows: dict[str, int] = {}
    con = duckdb.connect()
    # Tables are written whole, never read back in insertion order: let DuckDB stream them.
    con.execute("SET preserve_insertion_order = false")
    con.execute(f"SET threads = {os.cpu_count() or 2}")
    # A shared machine: DuckDB spills to disk past this instead of taking 80 % of the RAM.
    con.execute(f"SET memory_limit = '{os.environ.get('BENCH_DUCKDB_MEMORY', '4GB')}'")
    plain_url = url.replace("postgresql+psycopg://", "postgresql://")
    with tempfile.TemporaryDirectory(prefix="synthesis-duckdb-") as scratch:
        began = time.perf_counter()
        if source == "postgres":
            try:
                con.execute("INSTALL postgres")
                con.execute("LOAD postgres")
            except duckdb.Error as exc:
                out.write_text(json.dumps({"unavailable": str(exc).splitlines()[0]}))
                return
            con.execute(f"ATTACH '{plain_url}' AS pg (TYPE postgres, READ_ONLY)")
            for name, query in SOURCES.items():
                con.execute(
                    f"CREATE VIEW {name} AS SELECT * FROM postgres_query('pg', $q${query}$q$)"
                )
        with psycopg.connect(plain_url) as pg:
            for name, query in SOURCES.items() if source != "postgres" else ():
                step = time.perf_counter()
                if source == "parquet":
                    parquet = Path(scratch) / f"{name}.parquet"
                    rows[name] = copy_to_parquet(pg, query, parquet, name)
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{parquet}')")
                    timings[f"export {name}"] = time.perf_counter() - step
                    continue
                path = Path(scratch) / f"{name}.csv"
                with (
                    pg.cursor() as cursor,
                    cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER true)") as copy,
                    path.open("wb") as handle,
                ):
                    for chunk in copy:
                        handle.write(chunk)
                copied = time.perf_counter() - step
                reader = (
                    f"SELECT * FROM read_csv('{path}', header = true, types = {_duck_types(name)})"
                )
                con.execute(f"CREATE TABLE {name} AS {reader}")
                path.unlink()
                rows[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
                timings[f"load {name}"] = time.perf_counter() - step
                timings[f"load {name} (COPY)"] = copied
            definition = pg.execute(
                "SELECT definition_data FROM survey_questionnaire ORDER BY id LIMIT 1"
            ).fetchone()[0]
        timings["load"] = time.perf_counter() - began
        questions = [
            (q.code, q.type in ("multiple", "ranking"))
            for q in survey_engine.parse(definition).questions
            if not q.is_free_text
        ]
        # Inside the scratch directory: the parquet plan's files are read by the aggregations.
        began = time.perf_counter()
        for label, statement in aggregation_sql(min_votes, questions).items():
            step = time.perf_counter()
            con.execute(statement)
            timings[f"aggregate {label}"] = time.perf_counter() - step
        timings["aggregate"] = time.perf_counter() - began
        results.mkdir(parents=True, exist_ok=True)
        for table in (
            "d_participation",
            "d_daily",
            "d_forum",
            "d_matrix",
            "d_consensus",
            "d_survey",
            "d_survey_territory",
        ):
            rows[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            con.execute(f"COPY {table} TO '{results / (table + '.parquet')}' (FORMAT parquet)")
    out.write_text(json.dumps({"timings": timings, "rows": rows}))


class _CopyStream(io.RawIOBase):
    """A file-like view of a running ``COPY … TO STDOUT``, for pyarrow's streaming reader."""

    def __init__(self, copy) -> None:
        self._chunks = iter(copy)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = bytes(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


ARROW_TYPES = {"BIGINT": "int64", "INTEGER": "int32", "DATE": "date32", "VARCHAR": "string"}


def copy_to_parquet(pg, query: str, path: Path, name: str) -> int:
    """Stream one source from PostgreSQL into a Parquet file in constant memory: COPY as CSV
    into pyarrow's streaming CSV reader (typed columns, 8 MB blocks), each block written as a
    row group. Returns the row count."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    schema = {
        column: getattr(pa, ARROW_TYPES[TYPES.get(column, "VARCHAR")])()
        for column in _columns(name)
    }
    total = 0
    with (
        pg.cursor() as cursor,
        cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER true)") as copy,
    ):
        reader = pa_csv.open_csv(
            io.BufferedReader(_CopyStream(copy), buffer_size=1 << 20),
            read_options=pa_csv.ReadOptions(block_size=8 << 20),
            # Empty unquoted fields are NULL (COPY's CSV NULL), a quoted "" is an empty string.
            convert_options=pa_csv.ConvertOptions(
                column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
            ),
        )
        with pq.ParquetWriter(path, reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                total += batch.num_rows
    return total


def _duck_types(name: str) -> str:
    pairs = ", ".join(f"'{c}': '{TYPES.get(c, 'VARCHAR')}'" for c in _columns(name))
    return "{" + pairs + "}"


def _columns(name: str) -> list[str]:
    return {
        "contributions": [
            "id",
            "user_id",
            "theme_slug",
            "subtheme_slug",
            "academie_code",
            "audience",
            "day",
        ],
        "votes": ["user_id", "contribution_id", "academie_code", "audience", "adopt", "day"],
        "comments": ["user_id", "contribution_id", "academie_code", "audience", "pour", "day"],
        "ideas": ["user_id", "academie_code", "audience", "day"],
        "supports": ["user_id", "academie_code", "audience", "day"],
        "sheets": ["id", "user_id", "academie_code", "audience", "day"],
        "responses": ["academie_code", "audience", "day", "answers"],
        "academies": ["academie_code", "region_code"],
    }[name]


# --- Cross-check -------------------------------------------------------------------------------


def cross_check(url: str, results: Path) -> dict[str, Any]:
    """The engine's stored (unsuppressed) tables against DuckDB's, figure by figure."""
    import pandas as pd

    app = _app(url)
    from consult.db import db
    from consult.territories import catalog as territories
    from synthesis import store

    duck = {p.stem: pd.read_parquet(p) for p in results.glob("*.parquet")}
    cat = territories()
    academies = sorted(cat.academies)
    regions = sorted({a.region_code for a in cat.academies.values()})
    scopes = [("national", "")]
    scopes += [("region", code) for code in regions[:3]]
    scopes += [("academie", code) for code in academies[:: max(1, len(academies) // 4)]]
    compared, mismatches = 0, []
    by_table: dict[str, int] = {}

    # The engine's stored tables may change shape as its reading paths are rewritten; the
    # definitions compared here do not. A table that no longer has a compared column is
    # reported as not comparable rather than stopping the check.
    not_comparable: list[str] = []

    def same(label: str, engine_df, duck_df, keys: list[str], figures: list[str]) -> None:
        nonlocal compared
        try:
            e = engine_df[keys + figures].copy()
        except (KeyError, TypeError) as exc:
            not_comparable.append(f"{label}: {type(exc).__name__} {exc}")
            return
        d = duck_df[keys + figures].copy()
        for frame in (e, d):
            for key in keys:
                frame[key] = frame[key].astype(str)
        merged = e.merge(d, on=keys, how="outer", suffixes=("_engine", "_duckdb"), indicator=True)
        for _, row in merged.iterrows():
            for figure in figures:
                a, b = row.get(f"{figure}_engine"), row.get(f"{figure}_duckdb")
                compared += 1
                if pd.isna(a) or pd.isna(b) or abs(float(a) - float(b)) > 1e-6:
                    table = label.split()[0]
                    by_table[table] = by_table.get(table, 0) + 1
                    if len(mismatches) < 20:
                        mismatches.append(
                            f"{label} { {k: row[k] for k in keys} } {figure}: engine {a} duckdb {b}"
                        )
                    else:
                        mismatches.append("...")

    with app.app_context():
        session = db.session
        for kind, code in scopes:
            tables = store.load(session, kind, code, public=False)
            if tables is None:
                raise RuntimeError(f"no compiled scope {kind} {code}")

            def where(df, kind=kind, code=code):
                return df[(df["kind"] == kind) & (df["scope"].astype(str) == code)]

            label = f"{kind}:{code or 'FR'}"
            same(
                f"participation {label}",
                tables["participation"],
                where(duck["d_participation"]),
                ["indicator", "audience"],
                ["value", "people"],
            )
            same(
                f"forum_themes {label}",
                tables["forum_themes"],
                where(duck["d_forum"]),
                ["theme_slug", "subtheme_slug", "indicator", "audience"],
                ["value", "people"],
            )
            daily = tables["participation_daily"]
            days = sorted(daily["day"].astype(str).unique())[::30]
            d_daily = where(duck["d_daily"]).assign(day=lambda f: f["day"].astype(str))
            same(
                f"participation_daily {label}",
                daily[daily["day"].astype(str).isin(days)],
                d_daily[d_daily["day"].isin(days)],
                ["day", "indicator", "audience"],
                ["value", "people"],
            )
            # The engine keeps the top contributions per theme and label: each of them must
            # carry DuckDB's label and figures, and its matrix cells DuckDB's counts.
            consensus = tables["forum_consensus"]
            same(
                f"forum_consensus {label}",
                consensus,
                where(duck["d_consensus"])[
                    where(duck["d_consensus"])["contribution_id"]
                    .astype(str)
                    .isin(consensus["contribution_id"].astype(str))
                ],
                ["contribution_id", "label"],
                ["audiences", "votes", "min_share", "max_share"],
            )
            matrix = tables["forum_consensus_matrix"]
            d_matrix = where(duck["d_matrix"])
            same(
                f"forum_consensus_matrix {label}",
                matrix,
                d_matrix[
                    d_matrix["contribution_id"]
                    .astype(str)
                    .isin(matrix["contribution_id"].astype(str))
                ],
                ["contribution_id", "audience"],
                ["adopt", "refuse"],
            )
            survey = tables["survey_distribution"]
            d_survey = where(duck["d_survey"])
            d_survey = d_survey[d_survey["question_key"].isin(survey["question_key"])]
            same(
                f"survey_distribution {label}",
                survey,
                d_survey,
                ["question_key", "option_key", "audience"],
                ["count", "base"],
            )
            if kind != "academie":
                territory = tables["survey_territory"]
                members = (
                    academies
                    if kind == "national"
                    else [c for c, a in cat.academies.items() if a.region_code == code]
                )
                d_terr = duck["d_survey_territory"]
                d_terr = d_terr[
                    d_terr["academie_code"].isin(members)
                    & d_terr["question_key"].isin(territory["question_key"])
                ]
                same(
                    f"survey_territory {label}",
                    territory,
                    d_terr,
                    ["question_key", "option_key", "academie_code"],
                    ["count", "base"],
                )
        labels = (
            duck["d_consensus"][duck["d_consensus"]["kind"] == "national"]["label"]
            .value_counts()
            .to_dict()
        )
    return {
        "scopes": [f"{k}:{c}" for k, c in scopes],
        "figures_compared": compared,
        "mismatches": len([m for m in mismatches if m != "..."]) + mismatches.count("..."),
        "first_mismatches": mismatches[:20],
        "mismatches_by_table": by_table,
        "not_comparable": not_comparable,
        "national_consensus_labels": labels,
    }


# --- Parent ------------------------------------------------------------------------------------


def _child(args: list[str], url: str) -> tuple[float, float, float]:
    """(wall seconds, peak MB, CPU seconds) of one measured part in its own process."""
    usage = run_usage(
        [str(VENV_BIN / "python"), "-m", "bench.synthesis_bench", "--database-url", url, *args],
        {"CONSULT_ENV": "development", "DATABASE_URL": url},
    )
    return usage["seconds"], usage["peak_mb"], usage["cpu_s"]


def dataset(url: str) -> dict[str, int]:
    app = _app(url)
    from bench import gd_fill
    from consult import migrate
    from consult.db import db

    with app.app_context():
        migrate.upgrade("heads")
        counts = gd_fill.counts(db.session)
        db.session.commit()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--profile", action="store_true", help="cProfile the compile (slower)")
    parser.add_argument("--skip-export", action="store_true")
    parser.add_argument("--skip-compile", action="store_true", help="reuse the latest compilation")
    parser.add_argument("--child", choices=["compile", "duckdb", "export", "export-public"])
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--results", help=argparse.SUPPRESS)
    parser.add_argument("--min-votes", type=int, default=MIN_AUDIENCE_VOTES, help=argparse.SUPPRESS)
    parser.add_argument(
        "--duckdb",
        default="parquet,postgres",
        help="DuckDB plans to run, in order (parquet, postgres, csv); the first that runs is "
        "cross-checked; empty: DuckDB is not run",
    )
    args = parser.parse_args()
    url = args.database_url
    if args.child == "compile":
        return child_compile(url, Path(args.out), args.profile)
    if args.child == "duckdb":
        return child_duckdb(url, Path(args.out), Path(args.results), args.min_votes, args.duckdb)
    if args.child in ("export", "export-public"):
        return child_export(url, Path(args.out), public=args.child == "export-public")

    figures: dict[str, Any] = {"command": " ".join(sys.argv), "dataset": dataset(url)}
    print("dataset:", json.dumps(figures["dataset"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="synthesis-bench-") as scratch:
        work = Path(scratch)
        min_votes = MIN_AUDIENCE_VOTES
        if not args.skip_compile:
            out = work / "compile.json"
            seconds, peak, cpu = _child(
                ["--child", "compile", "--out", str(out), *(["--profile"] if args.profile else [])],
                url,
            )
            compiled = json.loads(out.read_text())
            min_votes = compiled["min_audience_votes"]
            figures["compile"] = {
                "process_seconds": seconds,
                "process_cpu_s": cpu,
                "peak_mb": peak,
                **compiled,
            }
            print(
                f"engine compile_all: {compiled['seconds']:.1f} s ({seconds:.1f} s process, "
                f"{cpu:.1f} s CPU), peak {peak:.0f} MB",
                flush=True,
            )
            for label, stage in compiled["stages"][:5]:
                print(f"  stage {label}: {stage:.2f} s")
            scope_time = sum(stage for _l, stage in compiled["stages"][5:])
            print(f"  stage 49 scopes (split, store): {scope_time:.2f} s", flush=True)
            print(f"  topics of free texts, apart: {compiled['topics_seconds']:.1f} s", flush=True)
            if args.profile:
                print(compiled["profile"])
        results = None
        plans = [p.strip() for p in args.duckdb.split(",") if p.strip()]
        for plan in plans:
            out = work / f"duckdb-{plan}.json"
            plan_results = work / f"duckdb-{plan}"
            seconds, peak, cpu = _child(
                [
                    "--child",
                    "duckdb",
                    "--out",
                    str(out),
                    "--results",
                    str(plan_results),
                    "--min-votes",
                    str(min_votes),
                    "--duckdb",
                    plan,
                ],
                url,
            )
            duck = json.loads(out.read_text())
            figures[f"duckdb_{plan}"] = {
                "process_seconds": seconds,
                "process_cpu_s": cpu,
                "peak_mb": peak,
                **duck,
            }
            if "unavailable" in duck:
                print(f"duckdb ({plan}): unavailable: {duck['unavailable']}", flush=True)
                continue
            results = results or plan_results
            t = duck["timings"]
            print(
                f"duckdb ({plan}): load {t['load']:.1f} s, aggregate {t['aggregate']:.1f} s "
                f"({seconds:.1f} s process, {cpu:.1f} s CPU), peak {peak:.0f} MB",
                flush=True,
            )
            for label, value in t.items():
                if label not in ("load", "aggregate") and "(COPY)" not in label:
                    print(f"  {label}: {value:.2f} s")
        if not args.skip_export:
            for child, label in (("export", "analyst"), ("export-public", "public")):
                out = work / f"{child}.json"
                seconds, peak, cpu = _child(["--child", child, "--out", str(out)], url)
                exported = json.loads(out.read_text())
                figures[f"export_{label}"] = {
                    "process_seconds": seconds,
                    "process_cpu_s": cpu,
                    "peak_mb": peak,
                    **exported,
                }
                print(
                    f"export zip national ({label}): {exported['seconds']:.1f} s, "
                    f"{exported['bytes'] / 1e6:.1f} MB, peak {peak:.0f} MB",
                    flush=True,
                )
        if results is not None:
            figures["check"] = cross_check(url, results)
            print(
                f"cross-check: {figures['check']['figures_compared']} figures compared, "
                f"{figures['check']['mismatches']} mismatches",
                flush=True,
            )
            for line in figures["check"]["first_mismatches"]:
                print("  ", line)
            for line in figures["check"]["not_comparable"]:
                print("   not comparable:", line)
        elif plans:
            print("no DuckDB plan ran: nothing to cross-check", flush=True)
    _summary(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2, default=str))
    sys.exit(1 if figures.get("check", {}).get("mismatches") else 0)


def _summary(figures: dict[str, Any]) -> None:
    rows = []
    if "compile" in figures:
        c = figures["compile"]
        rows.append(("engine compile_all (49 scopes)", c["seconds"], c["peak_mb"]))
    plans = {
        key.removeprefix("duckdb_"): value
        for key, value in figures.items()
        if key.startswith("duckdb_") and "timings" in value
    }
    for plan, found in plans.items():
        t = found["timings"]
        rows.append((f"duckdb ({plan}) load", t["load"], None))
        rows.append((f"duckdb ({plan}) aggregate", t["aggregate"], None))
        rows.append(
            (f"duckdb ({plan}) load + aggregate", t["load"] + t["aggregate"], found["peak_mb"])
        )
    for label in ("analyst", "public"):
        e = figures.get(f"export_{label}")
        if e:
            rows.append((f"export zip national ({label})", e["seconds"], e["peak_mb"]))
    print()
    print(f"{'measure':<40} {'seconds':>9} {'peak MB':>9}")
    for label, seconds, peak in rows:
        shown = "" if peak is None else f"{peak:.0f}"
        print(f"{label:<40} {seconds:>9.1f} {shown:>9}")
    if "compile" in figures:
        engine = figures["compile"]["seconds"]
        ratios = {}
        for plan, found in plans.items():
            t = found["timings"]
            ratios[f"engine / duckdb ({plan}) aggregate"] = engine / t["aggregate"]
            ratios[f"engine / duckdb ({plan}) load+aggregate"] = engine / (
                t["load"] + t["aggregate"]
            )
        figures["ratios"] = ratios
        for label, ratio in ratios.items():
            print(f"{label:<40} {ratio:>9.2f}")
        print(
            "budget (issue 11, DESIGN.md): compile <= 10 s, <= 1024 MB; DuckDB reported beside: "
            f"{engine:.1f} s, {figures['compile']['peak_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
