"""Questionnaire answers counted at write time: the table ``survey_answer_tally``.

A submitted response is one person detached from any account, so every figure the questionnaire
tables need is a plain count per question × option × académie × audience: no distinct-people
count. The database keeps those counts itself: triggers on ``survey_response`` add a response's
cells when it is inserted and take them away when it is deleted or its answers or snapshot change,
in the same statement. So every path that writes responses (the web form, access codes, the demo
generator, the gd fill's set-based SQL, test factories, a cascade from a deleted questionnaire)
leaves the counts exact, with no Python hook to forget. The synthesis engine and the
coordinators' results pages read these rows (a few thousand) instead of the answer documents
(1.4 million at Grand Débat scale).

Rows (``kind``):

- ``n``: responses of an académie × audience cell (question and option empty);
- ``v``: answers of a question with one value: single choice, scale and number (their value, as
  text: ``"3"``), multiple choice and ranking (each option chosen or ranked);
- ``b``: respondents of a multiple choice or ranking question (at least one option); for the
  other questions the respondents are the sum of their ``v`` rows;
- ``f``: ranking, the times an option was ranked first.

Free text is never counted (the synthesis samples it apart, the results pages page through it).
A response without académie counts under académie ``""``. An answer whose JSON type does not fit
its question (only hand-made data can hold one) is left out, as the answer is by the readers.

The counting rule lives here only: one SQL expansion per dialect, run by the triggers on the
inserted or deleted rows and by :func:`rebuild` on the whole table (PostgreSQL: ``jsonb_each``
over statement-level transition tables, so a bulk insert is counted in one aggregate; SQLite:
``json_each`` in row triggers, which SQLite has instead).

Hot rows: concurrent submissions from one académie and audience increment the same rows, and a
row stays locked until its transaction commits. Each response counts in one of ``SHARDS`` copies
of its cells (its id modulo ``SHARDS``), and every statement writes its rows in key order (no
deadlock between two submissions); readers sum the shards.

Never rebuild ``survey_response`` through Alembic's batch mode on SQLite: it drops the triggers
(re-create them with :func:`create_triggers`, then :func:`rebuild`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

TABLE = "survey_answer_tally"
SHARDS = 4
KEY = ("questionnaire_id", "kind", "question_key", "option_key", "academie_code", "audience")
COLUMNS = (*KEY, "shard", "count")
SCALAR_TYPES = ("single", "scale", "number")
LIST_TYPES = ("multiple", "ranking")


def _types(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


# --- PostgreSQL ----------------------------------------------------------------------------------


def _pg_cells(source: str) -> str:
    """The tally rows of the responses ``source`` selects (id, questionnaire_id,
    author_academie_code, author_audience, answers, sign), summed by key and shard, in key order.
    Responses of a questionnaire being deleted (a cascade) are not counted: its rows go with it.
    Equal answers of one cell are summed first, so the expansion into rows runs over the distinct
    answers (a few per question and cell), not over every response."""
    shard = f"CAST(mod(s.id, {SHARDS}) AS smallint)"
    academie = "coalesce(s.author_academie_code, '')"
    return f"""
WITH q AS MATERIALIZED (
    -- Each questionnaire's counted questions as one object {{code: type}}: a lookup per answer
    -- instead of a join whose size the planner cannot guess.
    SELECT d.id AS questionnaire_id,
           jsonb_object_agg(x.question ->> 'code', x.question ->> 'type') AS types
    FROM survey_questionnaire d
    CROSS JOIN LATERAL json_array_elements(d.definition_data -> 'sections') AS s(section)
    CROSS JOIN LATERAL json_array_elements(s.section -> 'questions') AS x(question)
    WHERE x.question ->> 'type' IN ({_types(SCALAR_TYPES + LIST_TYPES)})
    GROUP BY d.id
), a AS (
    SELECT s.questionnaire_id, q.types ->> e.key AS type, e.key AS question_key, e.value,
           {academie} AS academie_code, s.author_audience AS audience, {shard} AS shard,
           sum(s.sign) AS sign
    FROM ({source}) s JOIN q ON q.questionnaire_id = s.questionnaire_id
    CROSS JOIN LATERAL jsonb_each(s.answers) AS e
    WHERE q.types ? e.key
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT {", ".join(KEY)}, shard, sum(sign) AS count FROM (
    SELECT s.questionnaire_id, 'n' AS kind, '' AS question_key, '' AS option_key,
           {academie} AS academie_code, s.author_audience AS audience, {shard} AS shard, s.sign
    FROM ({source}) s JOIN survey_questionnaire d ON d.id = s.questionnaire_id
    UNION ALL
    SELECT a.questionnaire_id, c.kind, a.question_key, c.option_key, a.academie_code,
           a.audience, a.shard, a.sign
    FROM a CROSS JOIN LATERAL (
        SELECT 'v', a.value #>> '{{}}'
        WHERE a.type IN ({_types(SCALAR_TYPES)}) AND jsonb_typeof(a.value) IN ('string', 'number')
        UNION ALL
        SELECT 'b', ''
        WHERE a.type IN ({_types(LIST_TYPES)}) AND jsonb_typeof(a.value) = 'array'
            AND jsonb_array_length(a.value) > 0
        UNION ALL
        SELECT 'v', o.option
        FROM jsonb_array_elements_text(
            CASE WHEN jsonb_typeof(a.value) = 'array' THEN a.value ELSE '[]' END) AS o(option)
        WHERE a.type IN ({_types(LIST_TYPES)}) AND o.option IS NOT NULL
        UNION ALL
        SELECT 'f', a.value ->> 0
        WHERE a.type = 'ranking' AND jsonb_typeof(a.value) = 'array' AND a.value ->> 0 IS NOT NULL
    ) AS c(kind, option_key)
) cells
GROUP BY {", ".join(KEY)}, shard HAVING sum(sign) <> 0
ORDER BY {", ".join(KEY)}, shard"""  # noqa: S608 - fixed fragments, no input


# The expansion's row estimates are guesses (PostgreSQL assumes 100 keys per document and cannot
# see into the definitions): on large inputs it would pick sorts spilling to disk where hashing
# the few distinct answers is far cheaper; and JIT compiling costs more than a submission.
PG_SETTINGS = {"enable_sort": "off", "work_mem": "128MB", "jit": "off"}


def _upsert(cells: str) -> str:
    keys = ", ".join((*KEY, "shard"))
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {cells}\n"
        f"ON CONFLICT ({keys}) DO UPDATE SET count = {TABLE}.count + excluded.count"
    )


def _pg_source(relation: str, sign: int) -> str:
    return (
        "SELECT id, questionnaire_id, author_academie_code, author_audience, answers, "  # noqa: S608 - fixed names
        f"{sign} AS sign FROM {relation}"
    )


# Statement-level triggers: one aggregate per INSERT/DELETE/UPDATE statement, whatever its size.
_PG_TRIGGERS = {
    "insert": ("INSERT", "REFERENCING NEW TABLE AS new_rows", _pg_source("new_rows", 1)),
    "delete": ("DELETE", "REFERENCING OLD TABLE AS old_rows", _pg_source("old_rows", -1)),
    "update": (
        "UPDATE",
        "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
        f"{_pg_source('old_rows', -1)} UNION ALL {_pg_source('new_rows', 1)}",
    ),
}


def _pg_create_triggers(bind: Connection) -> None:
    settings = " ".join(f"SET {name} = '{value}'" for name, value in PG_SETTINGS.items())
    # TRUNCATE fires no row or transition-table trigger: the responses are all gone, so are the
    # counts.
    bind.exec_driver_sql(
        f"CREATE OR REPLACE FUNCTION {TABLE}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\nDELETE FROM {TABLE};\nRETURN NULL;\nEND $$"
    )
    bind.exec_driver_sql(
        f"CREATE TRIGGER {TABLE}_truncate AFTER TRUNCATE ON survey_response "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_truncate()"
    )
    for name, (event, transition, source) in _PG_TRIGGERS.items():
        function = f"{TABLE}_{name}"
        bind.exec_driver_sql(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql {settings} "
            "AS $$\n"
            f"BEGIN\n{_upsert(_pg_cells(source))};\nRETURN NULL;\nEND $$"
        )
        bind.exec_driver_sql(
            f"CREATE TRIGGER {function} AFTER {event} ON survey_response {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


# --- SQLite --------------------------------------------------------------------------------------

# The questionnaires' counted questions, from their stored definitions (a subquery: SQLite allows
# no WITH clause inside a trigger).
_SQLITE_QUESTIONS = f"""(
    SELECT d.id AS questionnaire_id, json_extract(x.value, '$.code') AS code,
           json_extract(x.value, '$.type') AS type
    FROM survey_questionnaire d, json_each(d.definition_data, '$.sections') s,
         json_each(s.value, '$.questions') x
    WHERE json_extract(x.value, '$.type') IN ({_types(SCALAR_TYPES + LIST_TYPES)})
)"""  # noqa: S608 - fixed fragments, no input


# Which rows each type of question gives (« e »: each element of the answer, counted as « v »).
_SQLITE_KINDS = (
    "(SELECT 'single' AS type, 'v' AS kind UNION ALL SELECT 'scale', 'v' "
    "UNION ALL SELECT 'number', 'v' UNION ALL SELECT 'multiple', 'b' "
    "UNION ALL SELECT 'multiple', 'e' UNION ALL SELECT 'ranking', 'b' "
    "UNION ALL SELECT 'ranking', 'e' UNION ALL SELECT 'ranking', 'f')"
)


def _sqlite_cells(source: str, questions: str = _SQLITE_QUESTIONS) -> str:
    """The same rows as ``_pg_cells`` with SQLite's JSON functions; ``source`` selects one row per
    response (id, questionnaire_id, author_academie_code, author_audience, answers, sign).
    One pass: the definition's questions are walked once and each is looked up in the answers;
    every (answer, kind of row) gives its options as the elements of one JSON array."""
    r = (
        f"(SELECT s.questionnaire_id, coalesce(s.author_academie_code, '') AS academie_code, "  # noqa: S608 - fixed fragments
        f"s.author_audience AS audience, s.id % {SHARDS} AS shard, s.answers, s.sign "
        f"FROM ({source}) s JOIN survey_questionnaire d ON d.id = s.questionnaire_id)"
    )
    path = "'$.\"' || q.code || '\"'"
    return f"""
SELECT {", ".join(KEY)}, shard, sum(sign) AS count FROM (
    SELECT questionnaire_id, 'n' AS kind, '' AS question_key, '' AS option_key, academie_code,
           audience, shard, sign
    FROM {r}
    UNION ALL
    SELECT a.questionnaire_id, CASE k.kind WHEN 'e' THEN 'v' ELSE k.kind END, a.code,
           CAST(o.value AS TEXT), a.academie_code, a.audience, a.shard, a.sign
    FROM (
        SELECT r.questionnaire_id, r.academie_code, r.audience, r.shard, r.sign, q.code, q.type,
               json_extract(r.answers, {path}) AS value, json_type(r.answers, {path}) AS json_type
        FROM {questions} q JOIN {r} r ON r.questionnaire_id = q.questionnaire_id
    ) a
    JOIN {_SQLITE_KINDS} k ON k.type = a.type
    JOIN json_each(CASE
        WHEN k.kind = 'v' THEN
            CASE WHEN a.json_type IN ('text', 'integer', 'real') THEN json_array(a.value)
            ELSE '[]' END
        WHEN a.json_type IS NOT 'array' OR json_array_length(a.value) = 0 THEN '[]'
        WHEN k.kind = 'e' THEN a.value
        WHEN k.kind = 'b' THEN '[""]'
        ELSE json_array(json_extract(a.value, '$[0]'))
    END) o
    WHERE o.value IS NOT NULL
) cells
WHERE true
GROUP BY {", ".join(KEY)}, shard HAVING sum(sign) <> 0
ORDER BY {", ".join(KEY)}, shard"""  # noqa: S608 - fixed fragments, no input


def _sqlite_row(row: str, sign: int) -> str:
    return (
        f"SELECT {row}.id AS id, {row}.questionnaire_id AS questionnaire_id, "
        f"{row}.author_academie_code AS author_academie_code, "
        f"{row}.author_audience AS author_audience, {row}.answers AS answers, {sign} AS sign"
    )


# Row triggers (SQLite has no statement-level ones); an update takes the old cells away and
# adds the new ones, only when a counted column changed.
_SQLITE_TRIGGERS = {
    "insert": ("AFTER INSERT", [_sqlite_row("NEW", 1)]),
    "delete": ("AFTER DELETE", [_sqlite_row("OLD", -1)]),
    "update": (
        "AFTER UPDATE OF questionnaire_id, author_academie_code, author_audience, answers",
        [_sqlite_row("OLD", -1), _sqlite_row("NEW", 1)],
    ),
}


def _sqlite_create_triggers(bind: Connection) -> None:
    for name, (event, sources) in _SQLITE_TRIGGERS.items():
        body = "".join(f"{_upsert(_sqlite_cells(source))};\n" for source in sources)
        bind.exec_driver_sql(
            f"CREATE TRIGGER {TABLE}_{name} {event} ON survey_response BEGIN\n{body}END"
        )


# --- Schema (the migration and the repair command) -----------------------------------------------


def create_triggers(bind: Connection) -> None:
    if bind.dialect.name == "postgresql":
        _pg_create_triggers(bind)
    else:
        _sqlite_create_triggers(bind)


def drop_triggers(bind: Connection) -> None:
    for name in (*_PG_TRIGGERS, "truncate"):
        function = f"{TABLE}_{name}"
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {function} ON survey_response")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS {function}()")
        else:
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS {function}")


def _all_cells(dialect: str, questionnaire_id: int | None) -> str:
    where = "" if questionnaire_id is None else f" WHERE questionnaire_id = {int(questionnaire_id)}"
    source = (
        "SELECT id, questionnaire_id, author_academie_code, author_audience, answers, "  # noqa: S608 - an integer
        f"1 AS sign FROM survey_response{where}"
    )
    if dialect == "postgresql":
        return _pg_cells(source)
    # Whole-table pass: the definitions are read once (a materialised CTE), not per answer.
    return f"WITH q AS MATERIALIZED {_SQLITE_QUESTIONS}\n" + _sqlite_cells(source, "q")


def _connection(session: Session | Connection) -> Connection:
    # A Session, a scoped session (Flask's db.session) or a bare connection (a migration).
    return session if isinstance(session, Connection) else session.connection()


@contextmanager
def _planner(bind: Connection) -> Iterator[None]:
    """``PG_SETTINGS`` for the statements inside, the previous values restored afterwards (a
    migration runs in the caller's transaction)."""
    if bind.dialect.name != "postgresql":
        yield
        return
    previous = {
        name: bind.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar_one()
        for name in PG_SETTINGS
    }
    change = text("SELECT set_config(:name, :value, true)")
    for name, value in PG_SETTINGS.items():
        bind.execute(change, {"name": name, "value": value})
    try:
        yield
    finally:
        for name, value in previous.items():
            bind.execute(change, {"name": name, "value": value})


def rebuild(session: Session | Connection, questionnaire_id: int | None = None) -> int:
    """Recount every response (of one questionnaire, or all) from its answers, set-based; returns
    the number of tally rows. Submissions wait meanwhile (the responses are locked in share mode),
    so no response is counted twice or missed. The caller commits."""
    bind = _connection(session)
    dialect = bind.dialect.name
    if dialect == "postgresql":
        bind.exec_driver_sql("LOCK TABLE survey_response IN SHARE MODE")
    where = "" if questionnaire_id is None else f" WHERE questionnaire_id = {int(questionnaire_id)}"
    bind.exec_driver_sql(f"DELETE FROM {TABLE}{where}")  # noqa: S608 - an integer
    cells = _all_cells(dialect, questionnaire_id)
    with _planner(bind):
        bind.execute(text(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) {cells}"))
    return bind.execute(text(f"SELECT count(*) FROM {TABLE}{where}")).scalar_one()  # noqa: S608


def differences_sql(dialect: str, questionnaire_id: int | None = None) -> str:
    """SQL counting the cells whose stored total differs from a recount of the answers."""
    where = "" if questionnaire_id is None else f" WHERE questionnaire_id = {int(questionnaire_id)}"
    keys = ", ".join(KEY)
    stored = (
        f"SELECT {keys}, sum(count) AS count FROM {TABLE}{where} "  # noqa: S608 - an integer
        f"GROUP BY {keys} HAVING sum(count) <> 0"
    )
    recount = (
        f"SELECT {keys}, sum(count) AS count FROM ({_all_cells(dialect, questionnaire_id)}) c "  # noqa: S608 - fixed fragments
        f"GROUP BY {keys}"
    )
    on = " AND ".join(f"s.{k} = r.{k}" for k in KEY)
    # FULL OUTER JOIN: PostgreSQL, and SQLite since 3.39.
    return (
        f"SELECT count(*) FROM ({stored}) s FULL OUTER JOIN ({recount}) r ON {on} "  # noqa: S608 - fixed fragments
        "WHERE coalesce(s.count, 0) <> coalesce(r.count, 0)"
    )


def differences(session: Session | Connection, questionnaire_id: int | None = None) -> int:
    """Cells whose stored total differs from a recount of the answers (0 when exact); reads only."""
    bind = _connection(session)
    with _planner(bind):
        return bind.execute(text(differences_sql(bind.dialect.name, questionnaire_id))).scalar_one()


# --- Reading -------------------------------------------------------------------------------------


def read(
    session: Session,
    questionnaire_id: int,
    kinds: Iterable[str] = ("n", "b", "v", "f"),
    question_key: str | None = None,
) -> list[tuple[str, str, str, str | None, str, int]]:
    """The tally of one questionnaire, shards summed, empty cells left out, optionally of one
    question: rows (kind, question_key, option_key, academie_code or None, audience, count)."""
    kinds = tuple(kinds)
    params: dict[str, object] = {"qid": questionnaire_id}
    clauses = ["questionnaire_id = :qid"]
    clauses.append("kind IN (" + ", ".join(f":k{i}" for i in range(len(kinds))) + ")")
    params |= {f"k{i}": kind for i, kind in enumerate(kinds)}
    if question_key is not None:
        clauses.append("question_key = :question")
        params["question"] = question_key
    rows = session.execute(
        text(
            "SELECT kind, question_key, option_key, academie_code, audience, sum(count) "  # noqa: S608 - fixed fragments, values bound
            f"FROM {TABLE} WHERE {' AND '.join(clauses)} "
            "GROUP BY kind, question_key, option_key, academie_code, audience "
            "HAVING sum(count) <> 0"
        ),
        params,
    )
    return [
        (kind, question, option, academie or None, audience, int(count))
        for kind, question, option, academie, audience, count in rows
    ]
