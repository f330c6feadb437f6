"""DuckDB's side of the synthesis benchmark counts distinct people without COUNT(DISTINCT) for
everyone seen under a single académie and audience: on data where people moved or changed
audience, its figures must equal the plain distinct count at every level and audience split."""

from __future__ import annotations

import random

import pytest

from bench import synthesis_bench

duckdb = pytest.importorskip("duckdb")


@pytest.fixture
def con():
    rng = random.Random(5)
    academies = [("01", "R1"), ("02", "R1"), ("03", "R2")]
    rows = []
    for user in range(300):
        home = rng.choice(academies)[0]
        audience = rng.choice(["eleve", "parent"])
        for _ in range(rng.randint(1, 6)):
            academie, who = home, audience
            if user % 10 == 0:  # a tenth moved or changed audience between two activities
                academie = rng.choice([home, rng.choice(academies)[0], None])
                who = rng.choice(["eleve", "parent", "agent"])
            rows.append(
                (
                    rng.choice(["votes", "comments"]),
                    user,
                    academie,
                    who,
                    f"2026-01-0{rng.randint(1, 3)}",
                )
            )
    connection = duckdb.connect()
    connection.execute("CREATE TABLE academies (academie_code VARCHAR, region_code VARCHAR)")
    connection.executemany("INSERT INTO academies VALUES (?, ?)", academies)
    connection.execute(
        "CREATE TABLE raw (indicator VARCHAR, user_id BIGINT, academie_code VARCHAR, "
        "audience VARCHAR, day DATE)"
    )
    connection.executemany("INSERT INTO raw VALUES (?, ?, ?, ?, ?)", rows)
    connection.execute(
        "CREATE TABLE activity AS SELECT a.*, r.region_code FROM raw a "
        "LEFT JOIN academies r USING (academie_code)"
    )
    statements = synthesis_bench.aggregation_sql(10, [])
    connection.execute(statements["multi"])
    yield connection
    connection.close()


@pytest.mark.parametrize(
    ("select", "dims", "value", "plain"),
    [
        ("", ["indicator"], "rows", "count(*)"),
        ("'participants' AS indicator", [], "people", "count(DISTINCT user_id)"),
        ("", ["indicator", "day"], "rows", "count(*)"),
        ("'participants' AS indicator", ["day"], "people", "count(DISTINCT user_id)"),
    ],
)
def test_people_without_distinct_count_equal_the_plain_count(con, select, dims, value, plain):
    assert con.execute("SELECT count(*) FROM multi").fetchone()[0] > 0
    order = "ORDER BY ALL"
    fast = con.execute(
        synthesis_bench._people_levels(select, "activity", dims, value) + f" {order}"
    ).fetchall()
    reference = con.execute(
        synthesis_bench._levels(
            select, "activity", dims, f"{plain} AS value, count(DISTINCT user_id) AS people"
        )
        + f" {order}"
    ).fetchall()
    assert len(reference) > 20
    assert fast == reference
