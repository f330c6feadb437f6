"""The synthesis engine: reads the consultation once and compiles every scope's tables.

How it stays fast at Grand Débat scale: each source table is read once, only the columns needed,
already grouped by the database down to the grain the tables need (one row per person × académie
× audience × day × ...), never one query per scope. pandas then rolls those frames up to the three
levels (académies, régions, nation) in a few vectorised group-bys per level; the number of
distinct people is counted on the small person-level frames, so a région's participants are the
distinct persons of its académies, not the sum of their counts.

What counts (the README says it too): contributions, comments and ideas that are visible (not
hidden by a moderator, not held for review, contributions not withdrawn); votes and comments on
such contributions; supports of such ideas; published Retex sheets (their current published
version); every submitted questionnaire response (a response is one person, detached from any
account, so respondents are never merged with account holders in "participants").
"""

from __future__ import annotations

import hashlib
import io
import logging
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from flask import current_app, has_app_context
from pandas.api.types import union_categoricals
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from consult.db import utcnow
from consult.models import Audience
from consult.territories import catalog as territory_catalog
from consult.text import mask_personal_data
from forums.models import wilson_lower_bound
from synthesis import catalog, store, weighting
from synthesis.catalog import ALL, Scope
from synthesis.models import Compilation, ReferencePopulation

log = logging.getLogger(__name__)

MIN_AUDIENCE_VOTES = 10
TOP_N = 10  # forum_top: per theme and ranking
CONSENSUS_TOP_N = 10  # forum_consensus: per theme and label, by votes
RECENT_RETEX = 10
# Texts handed to topic extraction per corpus and scope: enough for stable topics, bounded so
# the Grand Débat compile stays fast.
# Measured on this 2-core machine: about 0.8 s for 1,000 texts per corpus, 0.15 s for 250.
TOPIC_SAMPLE = {"national": 1_000, "region": 400, "academie": 250}
TOPIC_MIN_TEXTS = 30
CHUNK = 200_000
PLAIN_BLOCK = 200_000  # rows per block of CSV lines built by PostgreSQL
SAVE_BATCH = 10  # scopes per INSERT: few round trips, bounded payloads in memory
LEVELS = ("national", "region", "academie")

Progress = Callable[[str, int], Any]


# --- Reading ---------------------------------------------------------------------------------


def _day(dialect: str, column: str) -> str:
    if dialect == "postgresql":
        return f"to_char({column}, 'YYYY-MM-DD')"
    return f"substr({column}, 1, 10)"


def _visible(session: Session, kind: str, alias: str) -> str:
    """The kind's one visibility rule (its model's ``is_public``) as SQL on ``alias``."""
    from consult.moderation import public_sql
    from consult.territorial.models import Idea
    from forums.models import Comment, Contribution
    from retex.models import RetexSheet

    models = {"contribution": Contribution, "comment": Comment, "idea": Idea, "retex": RetexSheet}
    return public_sql(models[kind], alias, session.get_bind().dialect)


def _read(
    session: Session,
    sql: str,
    params: dict | None = None,
    *,
    plain: bool = False,
    **categories: Any,
) -> pd.DataFrame:
    """One query into a DataFrame; low-cardinality text columns (``categories``) become
    categoricals. On PostgreSQL the rows travel through ``COPY ... TO STDOUT`` as CSV parsed by
    pyarrow (multi-threaded, no Python object per cell): the big tables (millions of votes)
    read several times faster than through a cursor. Elsewhere, chunked cursor reads."""
    params = {"false": False, **(params or {})}
    if session.get_bind().dialect.name == "postgresql":
        return _read_copy(session, sql, params, categories, plain)
    result = session.execute(text(sql), params)
    columns = list(result.keys())
    parts = []
    while True:
        rows = result.fetchmany(CHUNK)
        if not rows:
            break
        parts.append(pd.DataFrame.from_records(rows, columns=columns, coerce_float=False))
    if not parts:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    else:
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    for name in categories:
        df[name] = df[name].astype(object).astype("category")
    return df


INTEGER_COLUMNS = frozenset(
    {"id", "user_id", "contribution_id", "theme", "subtheme", "adopt", "pour", "n"}
)


def _literal(value: Any) -> str:
    """Only the engine's own parameters (booleans, integers) are inlined into a COPY."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(int(value))
    raise TypeError(f"unsupported COPY parameter {value!r}")


def _read_copy(
    session: Session, sql: str, params: dict, categories: dict, plain: bool = False
) -> pd.DataFrame:
    import pyarrow as pa
    from pyarrow import csv as pacsv

    for name, value in params.items():
        sql = sql.replace(f":{name}", _literal(value))
    raw = session.connection().connection.driver_connection
    buffer = io.BytesIO()
    if plain:
        # libpq hands COPY data over one row per call, which costs microseconds of Python per
        # row: millions of votes are fetched as a few dozen blocks of CSV lines instead, built
        # by the server (values of these queries never hold a comma or a newline).
        with raw.cursor() as cursor:
            cursor.execute(f"SELECT * FROM ({sql}) q LIMIT 0")  # noqa: S608 - the engine's SQL
            columns = [d.name for d in cursor.description]
            fields = ", ".join(f"coalesce(q.{c}::text, '')" for c in columns)
            cursor.execute(
                f"SELECT string_agg(line, E'\\n') FROM (SELECT concat_ws(',', {fields}) AS line, "  # noqa: S608 - the engine's SQL
                f"(row_number() OVER ()) / {PLAIN_BLOCK} AS block FROM ({sql}) q) x GROUP BY block"
            )
            for (block,) in cursor:
                buffer.write(block.encode())
                buffer.write(b"\n")
        buffer.seek(0)
    else:
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER true)") as copy,
        ):
            for data in copy:
                buffer.write(data)
        buffer.seek(0)
        header = buffer.readline().decode().strip()
        columns = header.split(",") if header else []
    if buffer.tell() == buffer.getbuffer().nbytes:
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
        for name in categories:
            df[name] = df[name].astype("category")
        return df
    # Explicit types: inference would read académie codes such as "01" as numbers.
    types = {
        name: pa.dictionary(pa.int32(), pa.string())
        if name in categories
        else pa.int64()
        if name in INTEGER_COLUMNS
        else pa.string()
        for name in columns
    }
    table = pacsv.read_csv(
        buffer,
        read_options=pacsv.ReadOptions(column_names=columns),
        convert_options=pacsv.ConvertOptions(column_types=types, strings_can_be_null=True),
    )
    return table.to_pandas()


@dataclass
class Sources:
    """Everything the engine reads, at person grain (user_id) where people must be counted."""

    # id, user_id, theme, subtheme, academie_code, audience, day (online contributions: those
    # collected in a meeting's room are the counted indicator meeting_contributions)
    contributions: pd.DataFrame
    votes: pd.DataFrame  # user_id, contribution_id, academie_code, audience, adopt, day
    comments: pd.DataFrame  # user_id, contribution_id, academie_code, audience, pour, day
    sheets: pd.DataFrame  # id, user_id, academie_code, audience, day, themes, ...
    # Participation, from the activities the spaces registered (consult.synthesis_registry):
    # rows of accounts (user_id, academie_code, audience, day) per indicator, and activities
    # whose every row is a person of its own (academie_code, audience, day, n).
    activity: list[tuple[str, pd.DataFrame]]
    counted: list[tuple[str, pd.DataFrame]]
    survey: SurveyData | None
    themes: dict[int, str] = field(default_factory=dict)
    subthemes: dict[int, str] = field(default_factory=dict)


@dataclass
class SurveyData:
    definition: Any  # surveys.engine.Definition
    bases: pd.DataFrame  # question_key, academie_code, audience, base
    values: pd.DataFrame  # question_key, option_key, academie_code, audience, count
    respondents: pd.DataFrame  # academie_code, audience, n


def read_sources(session: Session) -> Sources:
    themes = dict(session.execute(text("SELECT id, slug FROM forum_theme")).all())
    subthemes = dict(session.execute(text("SELECT id, slug FROM forum_subtheme")).all())
    activity, counted = read_activity(session)
    frames = dict(activity)
    for df in frames.values():
        df["user_id"] = pd.to_numeric(df["user_id"]).astype("float64")

    def frame(indicator: str, extra: list[str]) -> pd.DataFrame:
        # The forums' and Retex's own tables read their registered activity's rows.
        found = frames.get(indicator)
        if found is not None:
            return found
        columns = ["user_id", "academie_code", "audience", "day", *extra]
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})

    contributions = frame("contributions", ["id", "theme", "subtheme"])
    votes = frame("votes", ["contribution_id", "adopt"])
    comments = frame("comments", ["contribution_id", "pour"])
    sheets = frame(
        "retex_sheets", ["id", "title", "themes", "audiences", "school_level", "published_at"]
    )
    # A few thousand sheets, grouped by their own values: plain columns, not categoricals.
    sheets = sheets.astype(
        {c: object for c in sheets.columns if isinstance(sheets[c].dtype, pd.CategoricalDtype)}
    )
    return Sources(
        contributions=contributions,
        votes=votes,
        comments=comments,
        sheets=sheets,
        activity=activity,
        counted=counted,
        survey=read_survey(session),
        themes={int(k): v for k, v in themes.items()},
        subthemes={int(k): v for k, v in subthemes.items()},
    )


def read_activity(
    session: Session,
) -> tuple[list[tuple[str, pd.DataFrame]], list[tuple[str, pd.DataFrame]]]:
    """Every participation indicator a space registered, read through its own SQL (which
    carries its visibility rule): account rows at person grain, person-less rows counted."""
    from consult import synthesis_registry

    dialect = session.get_bind().dialect.name
    cats = {"academie_code": True, "audience": True, "day": True}
    activity, counted = [], []
    for item in synthesis_registry.activities():
        inner = item.sql(session)
        if item.accounts:
            extra = "".join(f", a.{column}" for column in item.extra)
            frame = _read(
                session,
                f"SELECT a.user_id, a.academie_code, a.audience, {_day(dialect, 'a.at')} AS day"  # noqa: S608 - registered SQL, no input
                f"{extra} FROM ({inner}) a",
                plain=item.plain,
                **cats,
            )
            activity.append((item.indicator, frame))
        else:
            frame = _read(
                session,
                f"SELECT a.academie_code, a.audience, {_day(dialect, 'a.at')} AS day, "  # noqa: S608 - registered SQL, no input
                f"count(*) AS n FROM ({inner}) a GROUP BY 1, 2, 3",
            )
            counted.append((item.indicator, frame))
    return activity, counted


# --- Questionnaire reading -------------------------------------------------------------------


def current_questionnaire(session: Session) -> Any:
    """The consultation's questionnaire (the one the questionnaire pages serve)."""
    from surveys import services

    if has_app_context():
        return services.current_questionnaire(
            session, current_app.config.get("SURVEY_SLUG", services.DEFAULT_SLUG)
        )
    return services.current_questionnaire(session)


def read_survey(session: Session) -> SurveyData | None:
    """The questionnaire's counts from the answers tally the database keeps at write time
    (``surveys/tally.py``: a few thousand rows, whatever the number of responses)."""
    from surveys import tally

    questionnaire = current_questionnaire(session)
    if questionnaire is None:
        return None
    definition = questionnaire.definition
    counted = {q.code: q.type for q in definition.questions if not q.is_free_text}
    listed = {code for code, kind in counted.items() if kind in tally.LIST_TYPES}
    rows = pd.DataFrame(
        tally.read(session, questionnaire.id, ("n", "b", "v")),
        columns=["kind", "question_key", "option_key", "academie_code", "audience", "count"],
    ).astype({"count": "int64"})
    respondents = rows[rows["kind"] == "n"].rename(columns={"count": "n"})
    rows = rows[rows["question_key"].isin(counted)]
    values = rows[rows["kind"] == "v"]
    # Multiple choice and ranking: the base is who answered at all (their « b » rows); single
    # choice, scale and number: the sum of the option counts.
    scalar = values[~values["question_key"].isin(listed)]
    keys = ["question_key", "academie_code", "audience"]
    bases = pd.concat(
        [
            scalar.groupby(keys, sort=False, dropna=False)["count"].sum().reset_index(),
            rows[(rows["kind"] == "b") & rows["question_key"].isin(listed)][[*keys, "count"]],
        ],
        ignore_index=True,
    ).rename(columns={"count": "base"})
    return SurveyData(
        definition,
        bases.reset_index(drop=True),
        values[["question_key", "option_key", "academie_code", "audience", "count"]].reset_index(
            drop=True
        ),
        respondents[["academie_code", "audience", "n"]].reset_index(drop=True),
    )


# --- Rolling up ------------------------------------------------------------------------------


def _region_map() -> dict[str, str]:
    return {code: a.region_code for code, a in territory_catalog().academies.items()}


def _academie_categorical(series: pd.Series) -> pd.Categorical:
    """Académie codes as a categorical over the 30 académies (anything else: missing)."""
    academies = sorted(territory_catalog().academies)
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Recoding the categories, not the millions of rows.
        categories = [str(c) for c in series.cat.categories]
        position = {code: i for i, code in enumerate(academies)}
        lookup = np.array([position.get(c, -1) for c in categories] + [-1], dtype=np.int64)
        return pd.Categorical.from_codes(lookup[series.cat.codes.to_numpy()], academies)
    return pd.Categorical(series.astype(object), categories=academies)


def _with_scope(df: pd.DataFrame, kind: str, regions: dict[str, str]) -> pd.DataFrame:
    """The frame with a categorical ``scope`` column: the code of the scope of that level each
    row is in; missing for rows without académie at the région and académie levels (they only
    count nationally). No row is copied: the roll-ups skip missing scopes."""
    if kind == "national":
        return df.assign(scope=pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), [""]))
    academies = _academie_categorical(df["academie_code"])
    if kind == "academie":
        return df.assign(scope=academies)
    region_codes = sorted(set(regions.values()))
    lookup = np.array(
        [region_codes.index(regions[code]) for code in academies.categories] + [-1],
        dtype=np.int16,
    )
    codes = lookup[np.asarray(academies.codes, dtype=np.int64)]  # -1 (missing) → last → -1
    return df.assign(scope=pd.Categorical.from_codes(codes, region_codes))


def _dense(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..k-1 (missing → -1) and their k values, for any column."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return series.cat.codes.to_numpy().astype(np.int64), np.asarray(
            series.cat.categories, dtype=object
        )
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return codes.astype(np.int64), np.asarray(uniques, dtype=object)


def _merge_indicators(
    decoded: dict[str, np.ndarray],
    counts: np.ndarray,
    person: np.ndarray,
    labels: dict[str, np.ndarray],
    merges: dict[str, tuple[str, ...]],
    span: int,
    academies: int,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Add indicators that unite others (votes = adopt + refuse) from the reduced rows, so the
    raw rows are never stacked twice: the united rows are reduced again, a person who both
    adopted and refused in one sub-theme being one voter."""
    old = labels["indicator"]
    labels["indicator"] = np.append(old, np.array(list(merges), dtype=object))
    indicator = decoded["indicator"]
    decoded["indicator"] = np.where(indicator == len(old), len(labels["indicator"]), indicator)
    sizes = {name: len(values) + 1 for name, values in labels.items()}
    sizes["academie"] = academies
    added: dict[str, list[np.ndarray]] = {name: [v] for name, v in decoded.items()}
    added_counts, added_person = [counts], [person]
    for offset, members in enumerate(merges.values()):
        codes = [i for i, v in enumerate(old) if v in members]
        mask = np.isin(indicator, codes)
        if not mask.any():
            continue
        part = {name: values[mask] for name, values in decoded.items()}
        part["indicator"] = np.full(int(mask.sum()), len(old) + offset, dtype=np.int64)
        combined = np.zeros(int(mask.sum()), dtype=np.int64)
        for name, values in part.items():
            combined = combined * sizes[name] + values
        slot, uniques = pd.factorize(combined * span + person[mask])
        first = np.full(len(uniques), len(slot), dtype=np.int64)
        np.minimum.at(first, slot, np.arange(len(slot)))
        for name, values in part.items():
            added[name].append(values[first])
        added_counts.append(np.bincount(slot, weights=counts[mask], minlength=len(uniques)))
        added_person.append(person[mask][first])
    return (
        {name: np.concatenate(values) for name, values in added.items()},
        np.concatenate(added_counts),
        np.concatenate(added_person),
    )


def _rollup_levels(
    df: pd.DataFrame,
    dims: list[str],
    regions: dict[str, str],
    *,
    value: str | None = None,
    merges: dict[str, tuple[str, ...]] | None = None,
) -> dict[str, pd.DataFrame]:
    """value and distinct people per scope × dims × audience (and "*") at the three levels.

    One hash pass reduces the rows to distinct (académie, audience, dims, person) with their
    counts; each level and audience split is then a bincount over those few codes, and the
    distinct people of a group are its distinct (group, person) pairs. At the académie level
    with audiences the reduced rows are already distinct pairs: no second pass."""
    columns = ["scope", *dims, "audience", "value", "people"]
    if df.empty:
        return {kind: pd.DataFrame(columns=columns) for kind in LEVELS}
    academies = sorted(territory_catalog().academies)
    acad = np.asarray(_academie_categorical(df["academie_code"]).codes, dtype=np.int64)
    acad = np.where(acad < 0, len(academies), acad)  # no académie: national only
    parts = [("academie", acad, len(academies) + 1)]
    labels: dict[str, np.ndarray] = {}
    for name in ["audience", *dims]:
        codes, uniques = _dense(df[name])
        labels[name] = uniques
        parts.append((name, np.where(codes < 0, len(uniques), codes), len(uniques) + 1))
    if "person" in df.columns:
        person_codes = df["person"].to_numpy(dtype=np.int64)
    else:
        person_codes, _persons = _dense(df["user_id"])
    # Rows without a person (a deleted account) count as one unknown person.
    span = int(person_codes.max(initial=-1)) + 2
    person_codes = np.where(person_codes < 0, span - 1, person_codes)
    finest = np.zeros(len(df), dtype=np.int64)
    for _name, codes, size in parts:
        finest = finest * size + codes
    weights = df[value].to_numpy(dtype="float64") if value else None
    finest = finest * span + person_codes
    # The row-sized arrays are released as soon as they are used: they are the peak.
    del person_codes, parts, acad, codes
    slot, keys = pd.factorize(finest)
    del finest
    counts = np.bincount(slot, weights=weights, minlength=len(keys))
    del slot, weights
    keys = np.asarray(keys, dtype=np.int64)
    person = keys % span
    rest = keys // span
    del keys
    decoded: dict[str, np.ndarray] = {}
    sizes_of = {"academie": len(academies) + 1, "audience": len(labels["audience"]) + 1}
    for name in reversed(["academie", "audience", *dims]):
        size = sizes_of[name] if name in sizes_of else len(labels[name]) + 1
        decoded[name] = rest % size
        rest //= size
    del rest
    if merges:
        decoded, counts, person = _merge_indicators(
            decoded, counts, person, labels, merges, span, len(academies) + 1
        )
    region_codes = sorted(set(regions.values()))
    region_of = np.array([region_codes.index(regions[a]) for a in academies] + [-1], dtype=np.int64)
    # Movers: persons found under more than one (académie, audience). Everybody else has one
    # row per dims value in the reduced rows, so in any coarser group their rows are distinct
    # persons already; only the movers' rows need a distinct count.
    cell = decoded["academie"] * (len(labels["audience"]) + 1) + decoded["audience"]
    cells = (len(academies) + 1) * (len(labels["audience"]) + 1)
    seen = pd.unique(person * cells + cell)
    mover = (np.bincount(seen // cells, minlength=span) > 1)[person]
    # One pass over the reduced rows: value, rows and non-movers' rows per académie × dims ×
    # audience cell. Every other level is a sum of those small arrays (a non-mover is one
    # person in one académie and one audience, so their counts add up); only the movers' rows
    # are counted again, as distinct (group, person) pairs.
    names = [*dims, "audience"]
    sizes = [len(labels[name]) + 1 for name in names]
    width = int(np.prod(sizes))
    n_acad = len(academies) + 1
    finest_group = decoded["academie"].copy()
    for name, size in zip(names, sizes, strict=True):
        finest_group = finest_group * size + decoded[name]
    total = n_acad * width
    summed_all = np.bincount(finest_group, weights=counts, minlength=total).reshape(n_acad, width)
    rows_all = np.bincount(finest_group, minlength=total).reshape(n_acad, width)
    staying_all = np.bincount(finest_group[~mover], minlength=total).reshape(n_acad, width)
    moving_rows = np.flatnonzero(mover)
    audience_size = sizes[-1]
    out: dict[str, pd.DataFrame] = {}
    for kind in LEVELS:
        if kind == "national":
            scope_labels = np.array([""], dtype=object)
            membership = np.ones((1, n_acad), dtype=np.int64)
            scope_of = np.zeros(n_acad, dtype=np.int64)
        elif kind == "region":
            scope_labels = np.array(region_codes, dtype=object)
            scope_of = region_of
            membership = (scope_of[None, :] == np.arange(len(region_codes))[:, None]).astype(
                np.int64
            )
        else:
            scope_labels = np.array(academies, dtype=object)
            scope_of = np.append(np.arange(len(academies)), -1)
            membership = np.eye(len(academies), n_acad, dtype=np.int64)
        summed_level = membership.astype(np.float64) @ summed_all
        rows_level = membership @ rows_all
        staying_level = membership @ staying_all
        mover_scope = scope_of[decoded["academie"][moving_rows]]
        mover_keep = moving_rows[mover_scope >= 0]
        mover_scope = mover_scope[mover_scope >= 0]
        frames = []
        for by_audience in (True, False):
            level_names = names if by_audience else list(dims)
            if by_audience:
                summed = summed_level.ravel()
                rows = rows_level.ravel()
                staying = staying_level.ravel()
            else:
                shape = (len(scope_labels), width // audience_size, audience_size)
                summed = summed_level.reshape(shape).sum(axis=2).ravel()
                rows = rows_level.reshape(shape).sum(axis=2).ravel()
                staying = staying_level.reshape(shape).sum(axis=2).ravel()
            if value is not None or (kind == "academie" and by_audience):
                people = rows
            else:
                group = mover_scope
                for name in level_names:
                    group = group * (len(labels[name]) + 1) + decoded[name][mover_keep]
                pairs = pd.unique(group * span + person[mover_keep])
                people = staying + np.bincount(pairs // span, minlength=len(staying))
            present = np.flatnonzero(people)
            if value is not None:
                people = np.rint(summed).astype(np.int64)
            frame: dict[str, Any] = {}
            rest = present.copy()
            for name in reversed(level_names):
                size = len(labels[name]) + 1
                code = rest % size
                rest //= size
                values = np.append(labels[name], None)
                frame[name] = values[code]
            frame["scope"] = scope_labels[rest]
            if not by_audience:
                frame["audience"] = np.full(len(present), ALL, dtype=object)
            frame["value"] = np.rint(summed[present]).astype(np.int64)
            frame["people"] = people[present].astype(np.int64)
            frames.append(pd.DataFrame(frame, columns=columns))
        out[kind] = pd.concat(frames, ignore_index=True)
    return out


@dataclass
class Levels:
    """Per-level results of one table, keyed by scope code, before splitting by scope."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, kind: str, df: pd.DataFrame) -> None:
        previous = self.frames.get(kind)
        self.frames[kind] = df if previous is None else pd.concat([previous, df], ignore_index=True)

    def for_scope(self, scope: Scope, columns: list[str]) -> pd.DataFrame:
        split = self.split(scope.kind)
        part = split.get(scope.code)
        if part is None:
            return pd.DataFrame(columns=columns)
        return part[columns].reset_index(drop=True)

    def split(self, kind: str) -> dict[str, pd.DataFrame]:
        """The level's frame split by scope code, once (49 scopes read it)."""
        cache = self.__dict__.setdefault("_split", {})
        if kind not in cache:
            df = self.frames.get(kind)
            cache[kind] = _split_by_scope(df) if df is not None else {}
        return cache[kind]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if f is not None and not f.empty]
    if not kept:
        return pd.DataFrame(columns=["scope"])
    return pd.concat(kept, ignore_index=True) if len(kept) > 1 else kept[0]


def _split_by_scope(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if df.empty:
        return {}
    return {str(code): part for code, part in df.groupby("scope", sort=False)}


def _stack(named: list[tuple[str, pd.DataFrame]], columns: list[str]) -> pd.DataFrame:
    """Several sources as one frame with an ``indicator`` column, so each level is rolled up in
    one group-by rather than one per indicator. Text columns stay categoricals (their
    categories are united) so millions of rows never become Python strings."""
    parts = [(name, df) for name, df in named if not df.empty]
    if not parts:
        return pd.DataFrame(columns=[*columns, "indicator"])
    data: dict[str, Any] = {}
    for column in columns:
        pieces = [df[column] for _name, df in parts]
        if any(isinstance(p.dtype, pd.CategoricalDtype) for p in pieces) or any(
            p.dtype == object or pd.api.types.is_string_dtype(p.dtype) for p in pieces
        ):
            data[column] = union_categoricals(
                [
                    p.astype(object).astype("category")
                    if not isinstance(p.dtype, pd.CategoricalDtype)
                    else p
                    for p in pieces
                ],
                ignore_order=True,
            )
        else:
            data[column] = np.concatenate([p.to_numpy() for p in pieces])
    if "user_id" in data:
        # Dense person codes, computed once for every roll-up of this frame.
        codes, _persons = pd.factorize(data["user_id"], use_na_sentinel=True)
        data["person"] = codes.astype(np.int64)
    names = [name for name, _df in parts]
    data["indicator"] = pd.Categorical.from_codes(
        np.repeat(np.arange(len(parts), dtype=np.int16), [len(df) for _n, df in parts]), names
    )
    return pd.DataFrame(data)


def participation(sources: Sources, regions: dict[str, str]) -> dict[str, Levels]:
    tables = {name: Levels() for name in catalog.TABLE_NAMES if name.startswith("participation")}
    columns = ["user_id", "academie_code", "audience", "day"]
    stacked = _stack(sources.activity, columns)
    # Responses are people on their own (no account): people = responses, not persons.
    responses = _concat(
        [
            df.assign(n=pd.to_numeric(df["n"]), indicator=name, user_id=np.nan)
            for name, df in sources.counted
        ]
    )
    dims_of: dict[str, list[str]] = {"participation": [], "participation_daily": ["day"]}
    for table, dims in dims_of.items():
        by_indicator = _rollup_levels(stacked, [*dims, "indicator"], regions)
        # Participants are people of any activity: the value is the number of persons.
        everyone = _rollup_levels(stacked, dims, regions)
        answers = _rollup_levels(responses, [*dims, "indicator"], regions, value="n")
        for kind in LEVELS:
            persons = everyone[kind].assign(indicator="participants")
            persons["value"] = persons["people"]
            tables[table].add(kind, _concat([by_indicator[kind], persons, answers[kind]]))
    # A territory's académie rows are the académie-level participation (split in scope_tables).
    tables["participation_territory"] = tables["participation"]
    return tables


def _forum_frames(sources: Sources) -> dict[str, pd.DataFrame]:
    """Votes and comments with the theme and sub-theme of their contribution."""
    themes = pd.CategoricalDtype(sorted(set(sources.themes.values())))
    subthemes = pd.CategoricalDtype(sorted(set(sources.subthemes.values())))
    contributions = sources.contributions.assign(
        theme_slug=sources.contributions["theme"].map(sources.themes).astype(themes),
        subtheme_slug=sources.contributions["subtheme"].map(sources.subthemes).astype(subthemes),
    )
    # Positional lookups (no join): each vote and comment takes its contribution's theme and
    # sub-theme codes; rows on contributions that do not count are dropped.
    index = pd.Index(contributions["id"].to_numpy())
    theme_codes = contributions["theme_slug"].cat.codes.to_numpy()
    subtheme_codes = contributions["subtheme_slug"].cat.codes.to_numpy()

    def attach(df: pd.DataFrame) -> pd.DataFrame:
        position = index.get_indexer(df["contribution_id"].to_numpy())
        kept = df[position >= 0] if (position < 0).any() else df
        position = position[position >= 0]
        return kept.assign(
            theme_slug=pd.Categorical.from_codes(theme_codes[position], dtype=themes),
            subtheme_slug=pd.Categorical.from_codes(subtheme_codes[position], dtype=subthemes),
        )

    votes = attach(sources.votes)
    comments = attach(sources.comments)
    return {"contributions": contributions, "votes": votes, "comments": comments}


def forum_themes(frames: dict[str, pd.DataFrame], regions: dict[str, str]) -> Levels:
    levels = Levels()
    votes, comments = frames["votes"], frames["comments"]
    sources = [
        ("contributions", frames["contributions"]),
        ("adopt", votes[votes["adopt"] == 1]),
        ("refuse", votes[votes["adopt"] == 0]),
        ("pour", comments[comments["pour"] == 1]),
        ("contre", comments[comments["pour"] == 0]),
    ]
    merges = {"votes": ("adopt", "refuse"), "comments": ("pour", "contre")}
    columns = ["user_id", "academie_code", "audience", "theme_slug", "subtheme_slug"]
    stacked = _stack(sources, columns)
    del sources  # the filtered copies: the stacked frame holds their rows
    by_sub = _rollup_levels(
        stacked, ["theme_slug", "subtheme_slug", "indicator"], regions, merges=merges
    )
    by_theme = _rollup_levels(stacked, ["theme_slug", "indicator"], regions, merges=merges)
    for kind in LEVELS:
        levels.add(kind, _concat([by_sub[kind], by_theme[kind].assign(subtheme_slug=ALL)]))
    return levels


def wilson_array(adopt: np.ndarray, refuse: np.ndarray, z: float = 1.96) -> np.ndarray:
    """``forums.models.wilson_lower_bound`` over arrays (ranking every contribution); the stored
    figure of each ranked row is then recomputed by the forums function itself."""
    n = adopt + refuse
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, adopt / np.maximum(n, 1), 0.0)
        nn = np.maximum(n, 1)
        centre = p + z * z / (2 * nn)
        margin = z * np.sqrt((p * (1 - p) + z * z / (4 * nn)) / nn)
        bound = (centre - margin) / (1 + z * z / nn)
    return np.where(n > 0, bound, 0.0)


def _top_k(theme: np.ndarray, order: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the first ``n`` of each theme in the given order (keys ascending; negate
    for descending), and their rank (1…n) within their theme."""
    if len(theme) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    index = np.lexsort([*reversed(order), theme])
    group = theme[index]
    starts = np.r_[True, group[1:] != group[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(group)), 0))
    rank = np.arange(len(group)) - first
    keep = rank < n
    return index[keep], rank[keep] + 1


@dataclass
class _Forum:
    """Votes and comments as integer arrays: the position of their contribution among the
    counted ones, the académie (last code: none), the audience (last code: none)."""

    ids: np.ndarray  # contribution id per position
    themes: np.ndarray  # theme code per position
    theme_labels: np.ndarray
    audience_labels: np.ndarray
    v_position: np.ndarray
    v_academie: np.ndarray
    v_audience: np.ndarray
    v_adopt: np.ndarray
    c_position: np.ndarray
    c_academie: np.ndarray
    c_pour: np.ndarray
    c_person: np.ndarray
    academies: list[str]


def _forum_arrays(frames: dict[str, pd.DataFrame]) -> _Forum:
    contributions, votes, comments = frames["contributions"], frames["votes"], frames["comments"]
    academies = sorted(territory_catalog().academies)
    theme = contributions["theme_slug"]
    theme_labels = np.append(np.asarray(theme.cat.categories, dtype=object), None)
    themes = theme.cat.codes.to_numpy().astype(np.int64)
    themes = np.where(themes < 0, len(theme_labels) - 1, themes)
    index = pd.Index(contributions["id"].to_numpy())

    def academie(df: pd.DataFrame) -> np.ndarray:
        codes = np.asarray(_academie_categorical(df["academie_code"]).codes, dtype=np.int64)
        return np.where(codes < 0, len(academies), codes)

    audience, audiences = _dense(votes["audience"])
    audience_labels = np.append(audiences, None)
    person, _persons = pd.factorize(comments["user_id"].to_numpy(), use_na_sentinel=True)
    # A comment without a person (a deleted account) is one unknown person.
    person = np.where(person < 0, int(person.max(initial=-1)) + 1, person)
    return _Forum(
        ids=contributions["id"].to_numpy(dtype=np.int64),
        themes=themes,
        theme_labels=theme_labels,
        audience_labels=audience_labels,
        v_position=index.get_indexer(votes["contribution_id"].to_numpy()),
        v_academie=academie(votes),
        v_audience=np.where(audience < 0, len(audiences), audience),
        v_adopt=votes["adopt"].to_numpy(dtype=np.int64),
        c_position=index.get_indexer(comments["contribution_id"].to_numpy()),
        c_academie=academie(comments),
        c_pour=comments["pour"].to_numpy(dtype=np.int64),
        c_person=person.astype(np.int64),
        academies=academies,
    )


@dataclass
class _Tally:
    """One scope's votes per contribution × audience and comments per contribution (dense
    arrays over the counted contributions), and the rows of its comments."""

    votes: np.ndarray  # (contributions × audiences) flattened
    adopt: np.ndarray
    comments: np.ndarray
    pour: np.ndarray
    comment_rows: list[np.ndarray]

    def __iadd__(self, other: _Tally) -> _Tally:
        self.votes += other.votes
        self.adopt += other.adopt
        self.comments += other.comments
        self.pour += other.pour
        self.comment_rows.extend(other.comment_rows)
        return self


def _tally(f: _Forum, votes: np.ndarray | None, comments: np.ndarray | None) -> _Tally:
    n, width = len(f.ids), len(f.audience_labels)
    if votes is None:
        return _Tally(
            np.zeros(n * width, dtype=np.int64),
            np.zeros(n * width, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            np.zeros(n, dtype=np.int64),
            [],
        )
    cells = f.v_position[votes] * width + f.v_audience[votes]
    position = f.c_position[comments]
    return _Tally(
        np.bincount(cells, minlength=n * width),
        np.bincount(cells, weights=f.v_adopt[votes], minlength=n * width).astype(np.int64),
        np.bincount(position, minlength=n),
        np.bincount(position, weights=f.c_pour[comments], minlength=n).astype(np.int64),
        [comments],
    )


def _rankings(f: _Forum, scope: str, t: _Tally) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """forum_top, forum_consensus and its matrix for one scope from its tallies."""
    width = len(f.audience_labels)
    per_audience = t.votes.reshape(-1, width)
    adopt_per_audience = t.adopt.reshape(-1, width)
    votes = per_audience.sum(axis=1)
    adopt = adopt_per_audience.sum(axis=1)
    parts = []
    voted = np.flatnonzero(votes > 0)
    wilson = wilson_array(adopt[voted], votes[voted] - adopt[voted])
    chosen, rank = _top_k(f.themes[voted], [-wilson, -votes[voted], f.ids[voted]], TOP_N)
    parts.append((voted[chosen], rank, "adopted"))
    debated = np.flatnonzero(t.comments > 0)
    chosen, rank = _top_k(f.themes[debated], [-t.comments[debated], f.ids[debated]], TOP_N)
    parts.append((debated[chosen], rank, "debated"))
    frames = []
    for positions, rank, ranking in parts:
        frame = pd.DataFrame(
            {
                "scope": scope,
                "theme_slug": f.theme_labels[f.themes[positions]],
                "ranking": ranking,
                "rank": rank.astype(np.int64),
                "contribution_id": f.ids[positions],
                "adopt": adopt[positions],
                "refuse": votes[positions] - adopt[positions],
                "pour": t.pour[positions],
                "contre": t.comments[positions] - t.pour[positions],
                "comments": t.comments[positions],
            }
        )
        if ranking == "adopted":
            frame["people"] = votes[positions]  # one vote per person and contribution
        else:
            frame["people"] = _commenters(f, t, positions)
        frames.append(frame)
    top = pd.concat(frames, ignore_index=True)
    top["wilson"] = [
        wilson_lower_bound(int(a), int(r)) for a, r in zip(top["adopt"], top["refuse"], strict=True)
    ]
    # Consensus needs two audiences of MIN_AUDIENCE_VOTES votes: only contributions with twice
    # that many votes in the scope can be one.
    candidates = np.flatnonzero(votes >= 2 * MIN_AUDIENCE_VOTES)
    rows, audience = np.nonzero(per_audience[candidates] > 0)
    positions = candidates[rows]
    cells = pd.DataFrame(
        {
            "pair": positions,
            "scope": scope,
            "contribution_id": f.ids[positions],
            "audience": f.audience_labels[audience],
            "adopt": adopt_per_audience[positions, audience],
            "refuse": per_audience[positions, audience] - adopt_per_audience[positions, audience],
            "theme_slug": f.theme_labels[f.themes[positions]],
        }
    )
    stats, matrix = _consensus_rows(cells) if not cells.empty else (pd.DataFrame(),) * 2
    return top, stats, matrix


def _commenters(f: _Forum, t: _Tally, positions: np.ndarray) -> np.ndarray:
    """Distinct commenters of the scope on each of these contributions."""
    if len(positions) == 0:
        return np.zeros(0, dtype=np.int64)
    rows = np.concatenate(t.comment_rows) if t.comment_rows else np.zeros(0, dtype=np.int64)
    rows = rows[np.isin(f.c_position[rows], positions)]
    span = int(f.c_person.max(initial=0)) + 1
    pairs = pd.unique(f.c_position[rows] * span + f.c_person[rows])
    counts = pd.Series(pairs // span).value_counts()
    return counts.reindex(positions, fill_value=0).to_numpy(dtype=np.int64)


def forum_rankings(
    frames: dict[str, pd.DataFrame], regions: dict[str, str]
) -> tuple[Levels, Levels, Levels]:
    """forum_top, forum_consensus and forum_consensus_matrix of every scope. Each académie's
    votes and comments are tallied once per contribution (and audience) into dense arrays;
    a région's tallies are the sum of its académies', the nation's the sum of every région's
    and of the rows without académie: millions of votes are grouped once, not per level."""
    f = _forum_arrays(frames)
    top, consensus, matrix = Levels(), Levels(), Levels()

    def add(kind: str, code: str, tally: _Tally) -> None:
        found, stats, cells = _rankings(f, code, tally)
        if not found.empty:
            top.add(kind, found)
        if not stats.empty:
            consensus.add(kind, stats)
            matrix.add(kind, cells)

    v_order = np.argsort(f.v_academie, kind="stable")
    c_order = np.argsort(f.c_academie, kind="stable")
    v_bounds = np.searchsorted(f.v_academie[v_order], np.arange(len(f.academies) + 2))
    c_bounds = np.searchsorted(f.c_academie[c_order], np.arange(len(f.academies) + 2))

    def rows_of(code: int) -> _Tally:
        return _tally(
            f,
            v_order[v_bounds[code] : v_bounds[code + 1]],
            c_order[c_bounds[code] : c_bounds[code + 1]],
        )

    national = _tally(f, None, None)
    for region in sorted(set(regions.values())):
        region_tally = _tally(f, None, None)
        for code, academie in enumerate(f.academies):
            if regions.get(academie) != region:
                continue
            tally = rows_of(code)
            add("academie", academie, tally)
            region_tally += tally
        add("region", region, region_tally)
        national += region_tally
    national += rows_of(len(f.academies))  # rows without académie count nationally
    add("national", "", national)
    return top, consensus, matrix


def _consensus_rows(per_audience: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """per_audience: pair (scope × contribution key), scope, contribution_id, audience, adopt,
    refuse. Only contributions with two audiences of enough votes are looked at closely."""
    df = per_audience
    votes = df["adopt"] + df["refuse"]
    enough = df[votes >= MIN_AUDIENCE_VOTES]
    counted = enough["pair"].value_counts()
    candidates = counted.index[counted >= 2]
    df = df[df["pair"].isin(candidates)].copy()
    df["votes"] = df["adopt"] + df["refuse"]
    df["share"] = df["adopt"] / df["votes"].where(df["votes"] > 0)
    if df.empty:
        return pd.DataFrame(), pd.DataFrame()
    keys = ["scope", "contribution_id"]
    enough = df[df["votes"] >= MIN_AUDIENCE_VOTES]
    stats = enough.groupby(keys, sort=False).agg(
        audiences=("audience", "size"),
        min_share=("share", "min"),
        max_share=("share", "max"),
    )
    consensual = stats["min_share"] > 0.5
    divisive = (stats["max_share"] > 0.5) & (stats["min_share"] < 0.5)
    stats = stats.assign(label=np.where(consensual, "consensuelle", "clivante"))
    stats = stats[consensual | divisive]
    totals = df.groupby(keys, sort=False).agg(
        votes=("votes", "sum"), theme_slug=("theme_slug", "first")
    )
    stats = stats.join(totals).reset_index()
    stats["people"] = stats["votes"]
    stats = (
        stats.sort_values(
            ["scope", "theme_slug", "label", "votes", "contribution_id"],
            ascending=[True, True, True, False, True],
        )
        .groupby(["scope", "theme_slug", "label"], sort=False)
        .head(CONSENSUS_TOP_N)
    )
    chosen = stats[keys]
    matrix = df.merge(chosen, on=keys, how="inner")
    matrix["people"] = matrix["votes"]
    return stats, matrix


# --- Questionnaire tables --------------------------------------------------------------------


def _survey_keys(question: Any) -> list[str]:
    if question.type == "scale":
        return [str(i) for i in question.scale_points]
    return [o.value for o in question.options]


def survey_tables(
    survey: SurveyData | None, regions: dict[str, str], weights: weighting.Weights | None
) -> tuple[Levels, pd.DataFrame]:
    distribution = Levels()
    if survey is None:
        return distribution, pd.DataFrame(columns=catalog.spec("survey_questions").column_names)
    definition = survey.definition
    questions = pd.DataFrame(
        [
            {
                "question_key": q.code,
                "label": q.text,
                "kind": q.type,
                "section": definition.section_of(q.code).code,
            }
            for q in definition.questions
        ]
    )
    order = {q.code: i for i, q in enumerate(definition.questions)}
    choice = {q.code for q in definition.questions if not q.is_free_text}
    values = survey.values[survey.values["question_key"].isin(choice)]
    bases = survey.bases[survey.bases["question_key"].isin(choice)]
    option_order = {
        (q.code, key): i for q in definition.questions for i, key in enumerate(_survey_keys(q))
    }
    for kind in LEVELS:
        v = _with_scope(values, kind, regions)
        b = _with_scope(bases, kind, regions)
        rows = []
        for by_audience in (True, False):
            keys = ["scope", "question_key"] + (["audience"] if by_audience else [])
            counts = v.groupby([*keys, "option_key"], sort=False)["count"].sum().reset_index()
            base = b.groupby(keys, sort=False)["base"].sum().rename("base").reset_index()
            frame = counts.merge(base, on=keys, how="left")
            if not by_audience:
                frame["audience"] = ALL
            rows.append(frame)
        frame = pd.concat(rows, ignore_index=True)
        frame["share"] = frame["count"] / frame["base"]
        frame["people"] = frame["count"]
        frame["weighted_share"] = np.nan
        frame["effective_n"] = np.nan
        if weights is not None:
            frame = _weighted(frame, v, b, weights)
        frame["_q"] = frame["question_key"].map(order)
        frame["_o"] = [
            option_order.get(k, 10_000)
            for k in zip(frame["question_key"], frame["option_key"], strict=True)
        ]
        frame = frame.sort_values(["scope", "_q", "_o", "option_key", "audience"]).drop(
            columns=["_q", "_o"]
        )
        distribution.add(kind, frame)
    return distribution, questions


def _weighted(
    frame: pd.DataFrame, v: pd.DataFrame, b: pd.DataFrame, weights: weighting.Weights
) -> pd.DataFrame:
    """Weighted share and Kish effective n of the all-audiences rows: every respondent of a cell
    (audience × académie) carries that cell's weight."""
    w = weights.cell_weights
    vw = v.merge(w, on=["audience", "academie_code"], how="inner")
    bw = b.merge(w, on=["audience", "academie_code"], how="inner")
    num = (
        vw.assign(wc=vw["count"] * vw["weight"])
        .groupby(["scope", "question_key", "option_key"], sort=False)["wc"]
        .sum()
    )
    den = (
        bw.assign(wb=bw["base"] * bw["weight"], wb2=bw["base"] * bw["weight"] ** 2)
        .groupby(["scope", "question_key"], sort=False)[["wb", "wb2"]]
        .sum()
    )
    stats = (
        num.rename("wc")
        .reset_index()
        .merge(den.reset_index(), on=["scope", "question_key"], how="left")
    )
    stats["weighted_share"] = stats["wc"] / stats["wb"]
    stats["effective_n"] = stats["wb"] ** 2 / stats["wb2"]
    stats["audience"] = ALL
    out = frame.drop(columns=["weighted_share", "effective_n"]).merge(
        stats[["scope", "question_key", "option_key", "audience", "weighted_share", "effective_n"]],
        on=["scope", "question_key", "option_key", "audience"],
        how="left",
    )
    return out


# --- Retex -----------------------------------------------------------------------------------


def _unpack(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str).str.strip(",").str.split(",")


def retex_tables(sources: Sources, regions: dict[str, str]) -> tuple[Levels, Levels]:
    counts, recent = Levels(), Levels()
    sheets = sources.sheets
    for kind in LEVELS:
        scoped = _with_scope(sheets, kind, regions)
        parts = []
        dims = {
            "theme": scoped.assign(value_key=_unpack(scoped["themes"])).explode("value_key"),
            "audience": scoped.assign(value_key=_unpack(scoped["audiences"])).explode("value_key"),
            "school_level": scoped.assign(value_key=scoped["school_level"]),
            "academie": scoped.assign(value_key=scoped["academie_code"]),
        }
        for dimension, frame in dims.items():
            frame = frame[frame["value_key"].notna() & (frame["value_key"] != "")]
            if frame.empty:
                continue
            grouped = frame.groupby(["scope", "value_key"], sort=False)
            table = grouped["id"].nunique().rename("sheets").to_frame()
            table["people"] = (
                frame[["scope", "value_key", "user_id"]]
                .drop_duplicates()
                .groupby(["scope", "value_key"], sort=False)
                .size()
            )
            parts.append(table.reset_index().assign(dimension=dimension))
        if parts:
            table = pd.concat(parts, ignore_index=True).sort_values(
                ["scope", "dimension", "value_key"]
            )
            counts.add(kind, table)
        latest = (
            scoped.sort_values(["scope", "published_at", "id"], ascending=[True, False, False])
            .groupby("scope", sort=False)
            .head(RECENT_RETEX)
        )
        recent.add(
            kind,
            latest.assign(
                sheet_id=latest["id"],
                published_at=pd.to_datetime(latest["published_at"]).dt.strftime(
                    "%Y-%m-%dT%H:%M:%S"
                ),
                themes=_unpack(latest["themes"]).str.join(","),
            ),
        )
    return counts, recent


# --- Topics ----------------------------------------------------------------------------------


def _topics_module():
    try:
        from synthesis import topics
    except ImportError:
        return None
    return topics if hasattr(topics, "extract") else None


def read_texts(session: Session, scope: Scope, limit: int) -> dict[str, pd.DataFrame]:
    """Up to ``limit`` texts per corpus of the scope's people (newest first), contact details
    masked. Only visible content; open answers are never public quotes."""
    dialect = session.get_bind().dialect.name
    codes = list(scope.academie_codes)
    where_acad = "" if scope.kind == "national" else " AND {a}.author_academie_code IN :codes"
    queries = {
        "contributions": (
            "SELECT c.id, c.author_id AS person, c.title || '. ' || c.body AS text "  # noqa: S608 - fixed fragments, values bound
            "FROM forum_contribution c "
            f"WHERE {_visible(session, 'contribution', 'c')}{where_acad.format(a='c')} "
            "ORDER BY c.id DESC LIMIT :limit",
            "contribution",
        ),
        "comments": (
            "SELECT m.id, m.author_id AS person, m.body AS text FROM forum_comment m "  # noqa: S608 - fixed fragments, values bound
            f"WHERE {_visible(session, 'comment', 'm')}{where_acad.format(a='m')} "
            "ORDER BY m.id DESC LIMIT :limit",
            "comment",
        ),
        "ideas": (
            "SELECT i.id, i.author_id AS person, i.title || '. ' || i.body AS text "  # noqa: S608 - fixed fragments, values bound
            "FROM territorial_idea i "
            f"WHERE {_visible(session, 'idea', 'i')}{where_acad.format(a='i')} "
            "ORDER BY i.id DESC LIMIT :limit",
            "idea",
        ),
    }
    out: dict[str, pd.DataFrame] = {}
    from sqlalchemy import bindparam

    for corpus, (sql, ref) in queries.items():
        statement = text(sql)
        params: dict[str, Any] = {"false": False, "limit": limit}
        if scope.kind != "national":
            statement = statement.bindparams(bindparam("codes", expanding=True))
            params["codes"] = codes
        rows = session.execute(statement, params).all()
        df = pd.DataFrame(rows, columns=["id", "person", "text"])
        df["ref"] = [f"{ref}:{i}" for i in df["id"]]
        df["text"] = df["text"].map(mask_personal_data)
        df["public"] = True
        out[corpus] = df
    out["open_answers"] = _open_answers(session, scope, limit, dialect)
    return out


def _open_answers(session: Session, scope: Scope, limit: int, dialect: str) -> pd.DataFrame:
    from surveys.models import SurveyResponse

    questionnaire = current_questionnaire(session)
    if questionnaire is None:
        return pd.DataFrame(columns=["id", "person", "ref", "text", "public"])
    codes = [q.code for q in questionnaire.definition.questions if q.is_free_text]
    query = (
        select(SurveyResponse.id, SurveyResponse.answers)
        .where(SurveyResponse.questionnaire_id == questionnaire.id)
        .order_by(SurveyResponse.id.desc())
        .limit(limit)
    )
    if scope.kind != "national":
        query = query.where(SurveyResponse.author_academie_code.in_(scope.academie_codes))
    rows = []
    for response_id, answers in session.execute(query):
        for code in codes:
            value = (answers or {}).get(code)
            if isinstance(value, str) and value.strip():
                rows.append(
                    {
                        "id": response_id,
                        "person": response_id,
                        "ref": f"response:{response_id}:{code}",
                        "text": mask_personal_data(value),
                        "public": False,
                    }
                )
    return pd.DataFrame(rows, columns=["id", "person", "ref", "text", "public"])


def topics_table(session: Session, scope: Scope, sample: int) -> pd.DataFrame | None:
    if _topics_module() is None:
        return None
    return _topics_of(read_texts(session, scope, sample))


def _topics_of(corpora: dict[str, pd.DataFrame]) -> pd.DataFrame | None:
    module = _topics_module()
    if module is None:
        return None
    columns = catalog.spec("topics").column_names
    parts = []
    for corpus, texts in corpora.items():
        if len(texts) < TOPIC_MIN_TEXTS:
            continue
        # ``person``: a topic's people are distinct authors (a response is one person).
        found = module.extract(texts[["id", "ref", "text", "public", "person"]], None)
        if found is None or found.empty:
            continue
        found = found.assign(corpus=corpus)
        for column in columns:
            if column not in found.columns:
                found[column] = None
        parts.append(found[columns])
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)


def _sample_key(corpora: dict[str, pd.DataFrame]) -> str:
    """What a scope's topics are computed from: the sampled texts (their references and masked
    words, so an edited text changes it too) and the extractor's version."""
    digest = hashlib.sha256(f"topics-v{getattr(_topics_module(), 'VERSION', 0)}".encode())
    for corpus in sorted(corpora):
        texts = corpora[corpus]
        digest.update(f"\x1e{corpus}".encode())
        for ref, body, person in zip(texts["ref"], texts["text"], texts["person"], strict=True):
            digest.update(f"\x1f{ref}\x1f{person}\x1f{body}".encode())
    return digest.hexdigest()


TOPICS_KEY = store.TOPICS_KEY


def compile_topics(
    session: Session, compilation: Compilation, *, progress: Progress | None = None
) -> tuple[int, int]:
    """The topics of every scope of a stored compilation: text analysis (TF-IDF + NMF per
    corpus) runs apart from the tables, which are usable without it. A scope whose sample is
    the same texts as in the previous compilation with topics takes that compilation's topics
    (no extraction). Stored in each scope's payload, then ``topics_at`` is set (the caches of
    the compilation follow: ``store.version``). Returns (scopes, scopes extracted). Never
    commits."""
    from synthesis.models import CompiledScope

    step = progress or (lambda _label, _n=1: None)
    if _topics_module() is None:
        return 0, 0
    rows = session.execute(
        select(CompiledScope.id, CompiledScope.scope_kind, CompiledScope.scope_code).where(
            CompiledScope.compilation_id == compilation.id
        )
    ).all()
    previous_id = session.scalar(
        select(Compilation.id)
        .where(Compilation.topics_at.is_not(None), Compilation.id != compilation.id)
        .order_by(Compilation.topics_at.desc(), Compilation.id.desc())
        .limit(1)
    )
    cached: dict[tuple[str, str], str] = {}
    if previous_id is not None:
        cached = {
            (kind, code or ""): key
            for kind, code, key in session.execute(
                select(
                    CompiledScope.scope_kind,
                    CompiledScope.scope_code,
                    CompiledScope.payload[TOPICS_KEY].as_string(),
                ).where(CompiledScope.compilation_id == previous_id)
            )
            if key
        }
    extracted = 0
    for row_id, kind, code in rows:
        scope = catalog.resolve_scope(kind, code or "")
        corpora = read_texts(session, scope, _sample_size(kind))
        key = _sample_key(corpora)
        payload = None
        if cached.get((kind, code or "")) == key:
            payload = session.scalar(
                select(CompiledScope.payload["topics"]).where(
                    CompiledScope.compilation_id == previous_id,
                    CompiledScope.scope_kind == kind,
                    CompiledScope.scope_code == code,
                )
            )
        if payload is None:
            found = _topics_of(corpora)
            if found is None:
                found = pd.DataFrame(columns=catalog.spec("topics").column_names)
            payload = store.to_payload(found)
            extracted += 1
        store.set_topics(session, row_id, payload, key)
        step(f"{kind} {code}".strip(), 1)
    compilation.topics_at = utcnow()
    session.flush()
    return len(rows), extracted


# --- Compiling -------------------------------------------------------------------------------


@dataclass
class Compiled:
    """Every table of every level, ready to be split by scope."""

    levels: dict[str, Levels]
    questions: pd.DataFrame
    meta: dict[str, Any]
    survey_territory: Levels | None = None


def compile_levels(
    sources: Sources, reference: ReferencePopulation | None = None, progress: Progress | None = None
) -> Compiled:
    regions = _region_map()
    step = progress or (lambda _label, _n=1: None)
    levels: dict[str, Levels] = {}
    levels.update(participation(sources, regions))
    step("participation", 1)
    frames = _forum_frames(sources)
    # The raw votes and comments are not needed any more (participation is done): only their
    # copies with themes stay in memory (the activity list held the raw frames too).
    sources.votes, sources.comments = frames["votes"], frames["comments"]
    sources.activity = []
    levels["forum_themes"] = forum_themes(frames, regions)
    levels["forum_top"], levels["forum_consensus"], levels["forum_consensus_matrix"] = (
        forum_rankings(frames, regions)
    )
    step("forums", 1)
    meta: dict[str, Any] = {}
    weights = None
    if reference is not None and sources.survey is not None:
        weights = weighting.weights_for(reference, sources.survey.respondents)
        meta["weighting"] = weights.describe()
    levels["survey_distribution"], questions = survey_tables(sources.survey, regions, weights)
    step("questionnaire", 1)
    levels["retex"], levels["retex_recent"] = retex_tables(sources, regions)
    step("retex", 1)
    for name, level in levels.items():
        # participation_territory shares participation's frames (already sorted with it).
        keys = _ORDER.get(name) if name != "participation_territory" else None
        if keys:
            for kind, frame in level.frames.items():
                if not frame.empty:
                    level.frames[kind] = frame.sort_values(
                        ["scope", *keys],
                        ascending=[True, *(k != "votes" for k in keys)],
                        kind="stable",
                    ).reset_index(drop=True)
    territory = None
    rows = levels["survey_distribution"].frames.get("academie")
    if rows is not None and not rows.empty:
        territory = Levels({"academie": rows[rows["audience"] == ALL]})
    return Compiled(levels, questions, meta, territory)


def scope_tables(compiled: Compiled, scope: Scope) -> dict[str, pd.DataFrame]:
    tables: dict[str, pd.DataFrame] = {}
    for name, levels in compiled.levels.items():
        columns = catalog.spec(name).column_names
        if name == "participation_territory":
            tables[name] = _academie_rows(name, levels, scope, columns)
        else:
            # Already in display order: compile_levels sorted each level once.
            tables[name] = levels.for_scope(scope, columns)
    # The split by académie of national and région scopes: the académies' all-audience rows.
    territory_columns = catalog.spec("survey_territory").column_names
    if scope.kind == "academie" or compiled.survey_territory is None:
        tables["survey_territory"] = pd.DataFrame(columns=territory_columns)
    else:
        tables["survey_territory"] = _academie_rows(
            "survey_territory", compiled.survey_territory, scope, territory_columns
        )
    tables["survey_questions"] = compiled.questions.copy()
    return tables


def _academie_rows(name: str, levels: Levels, scope: Scope, columns: list[str]) -> pd.DataFrame:
    split = levels.split("academie")
    parts = [split[code] for code in scope.academie_codes if code in split]
    if not parts:
        return pd.DataFrame(columns=columns)
    part = pd.concat(parts, ignore_index=True)
    part = part.assign(academie_code=part["scope"])
    if name == "participation_territory":
        # Académie by académie, each already in order.
        return part[columns]
    return _order(name, part[columns])


_ORDER = {
    "participation": ["indicator", "audience"],
    "participation_territory": ["academie_code", "indicator", "audience"],
    "participation_daily": ["day", "indicator", "audience"],
    "forum_themes": ["theme_slug", "subtheme_slug", "indicator", "audience"],
    "forum_top": ["theme_slug", "ranking", "rank"],
    "forum_consensus": ["theme_slug", "label", "votes", "contribution_id"],
    "forum_consensus_matrix": ["contribution_id", "audience"],
    "survey_territory": ["question_key", "option_key", "academie_code"],
    "retex": ["dimension", "value_key"],
}


def _order(name: str, df: pd.DataFrame) -> pd.DataFrame:
    keys = _ORDER.get(name)
    if not keys or df.empty:
        return df
    ascending = [k != "votes" for k in keys]
    return df.sort_values(keys, ascending=ascending, kind="stable").reset_index(drop=True)


def _titles(session: Session, compiled: Compiled) -> None:
    """Contribution titles of the ranked rows, fetched once for every scope."""
    ids: set[int] = set()
    for name in ("forum_top", "forum_consensus"):
        for df in compiled.levels[name].frames.values():
            ids.update(int(i) for i in df["contribution_id"])
    titles: dict[int, str] = {}
    from forums.models import Contribution

    ordered = sorted(ids)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        titles.update(
            session.execute(
                select(Contribution.id, Contribution.title).where(Contribution.id.in_(chunk))
            ).all()
        )
    for name in ("forum_top", "forum_consensus"):
        for df in compiled.levels[name].frames.values():
            df["title"] = df["contribution_id"].map(titles)


def peak_memory_mb() -> float:
    # Linux reports ru_maxrss in kilobytes.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sample_size(kind: str) -> int:
    """Texts per corpus handed to topic extraction for a scope of this kind (setting
    ``SYNTHESIS_TOPIC_SAMPLE``: one number, or one per kind)."""
    setting: Any = TOPIC_SAMPLE
    if has_app_context():
        setting = current_app.config.get("SYNTHESIS_TOPIC_SAMPLE", TOPIC_SAMPLE)
    if isinstance(setting, dict):
        return int(setting.get(kind, TOPIC_SAMPLE[kind]))
    return int(setting)


def active_reference(session: Session) -> ReferencePopulation | None:
    return session.scalar(
        select(ReferencePopulation)
        .where(ReferencePopulation.active.is_(True))
        .order_by(ReferencePopulation.id.desc())
        .limit(1)
    )


def compile_all(
    session: Session,
    *,
    scopes: Iterable[Scope] | None = None,
    progress: Progress | None = None,
    reference: ReferencePopulation | None = None,
    trigger: str = "cli",
    user_id: int | None = None,
    use_active_reference: bool = True,
    topics: bool = True,
) -> Compilation:
    """Compile every scope (national, 18 régions, 30 académies unless ``scopes`` narrows it)
    into one new compilation, stored and marked done, then its topics (``compile_topics``)
    unless ``topics`` is false. Never commits: the caller does."""
    started = time.perf_counter()
    scopes = list(scopes) if scopes is not None else catalog.all_scopes()
    if reference is None and use_active_reference:
        reference = active_reference(session)
    compilation = store.start(session, trigger=trigger, user_id=user_id)
    compilation.reference_id = reference.id if reference is not None else None
    sources = read_sources(session)
    step = progress or (lambda _label, _n=1: None)
    step("lecture", 1)
    compiled = compile_levels(sources, reference, step)
    _titles(session, compiled)
    batch: list[tuple[Scope, dict[str, pd.DataFrame]]] = []
    for scope in scopes:
        batch.append((scope, scope_tables(compiled, scope)))
        if len(batch) == SAVE_BATCH:
            store.save_many(session, compilation, batch, compiled.meta)
            batch = []
        step(f"{scope.kind} {scope.code}".strip(), 1)
    store.save_many(session, compilation, batch, compiled.meta)
    session.expire(compilation, ["scopes"])
    compilation.status = "done"
    compilation.finished_at = utcnow()
    compilation.duration_ms = int((time.perf_counter() - started) * 1000)
    compilation.peak_memory_mb = round(peak_memory_mb(), 1)
    session.flush()
    if topics:
        # Callers that want the tables sooner pass topics=False and run compile_topics apart
        # (the CLI after its report, the web compilation in its own job).
        compile_topics(session, compilation)
    return compilation


def compile_scope(
    session: Session,
    kind: str,
    code: str = "",
    *,
    reference: ReferencePopulation | None = None,
    topics: bool = True,
) -> dict[str, pd.DataFrame]:
    """One scope's raw tables, without storing anything (tests, previews)."""
    scope = catalog.resolve_scope(kind, code)
    compiled = compile_levels(read_sources(session), reference)
    _titles(session, compiled)
    tables = scope_tables(compiled, scope)
    found = topics_table(session, scope, _sample_size(scope.kind)) if topics else None
    if found is not None:
        tables["topics"] = found
    return tables


def steps_for(scopes: list[Scope]) -> int:
    """Progress steps of one compile_all: reading, four table families, then each scope."""
    return 5 + len(scopes)


AUDIENCES = tuple(a.value for a in Audience)
