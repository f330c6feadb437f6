"""Compilations in and out of the database: every scope's tables as one JSON payload.

Payloads hold the raw aggregates; ``load(..., public=True)`` applies the disclosure control
(``privacy.protect``: cell-key perturbation, small rows hidden) on the way out, so a page, an
export or the API can never forget to. A finished compilation's public tables are computed once
per process and shared (``public_table``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session, object_session

from synthesis import catalog, privacy
from synthesis.models import Compilation, CompiledScope

FLOAT_DIGITS = 6
META_KEY = "_meta"


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else round(value, FLOAT_DIGITS)
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if not isinstance(value, str) else value


def to_payload(df: pd.DataFrame) -> dict[str, Any]:
    """{"columns": [...], "rows": [[...], ...]}: NaN and NA become null, floats keep six
    decimals. pandas' C JSON encoder does the cell-by-cell work (millions of cells per
    compilation); object cells it cannot encode (dates) are converted first."""
    columns = [str(c) for c in df.columns]
    if df.empty:
        return {"columns": columns, "rows": []}
    frame = df.copy()
    frame.columns = columns
    for name in columns:
        column = frame[name]
        if column.dtype == object and not all(
            v is None or isinstance(v, (str, int, float, bool)) for v in column.head(50)
        ):
            frame[name] = [_cell(v) for v in column.tolist()]
    rows = json.loads(frame.to_json(orient="values", double_precision=FLOAT_DIGITS))
    return {"columns": columns, "rows": rows}


def from_payload(name: str, data: dict[str, Any]) -> pd.DataFrame:
    columns = data.get("columns") or catalog.spec(name).column_names
    df = pd.DataFrame(data.get("rows") or [], columns=columns, dtype=object)
    for column in catalog.spec(name).columns:
        if column.name not in df.columns:
            continue
        if column.kind == "count":
            df[column.name] = pd.to_numeric(df[column.name]).astype("Int64")
        elif column.kind in ("share", "score"):
            df[column.name] = pd.to_numeric(df[column.name]).astype("Float64")
    return df


def start(session: Session, *, trigger: str = "cli", user_id: int | None = None) -> Compilation:
    compilation = Compilation(status="running", trigger=trigger, requested_by_id=user_id)
    session.add(compilation)
    session.flush()
    return compilation


def save(
    session: Session,
    compilation: Compilation,
    scope: catalog.Scope,
    tables: dict[str, pd.DataFrame],
    meta: dict[str, Any] | None = None,
) -> CompiledScope:
    """Store one scope's tables in the compilation (replacing what it had for that scope)."""
    payload: dict[str, Any] = {
        name: to_payload(df) for name, df in tables.items() if name in catalog.TABLES
    }
    if meta:
        payload[META_KEY] = meta
    existing = session.scalar(
        select(CompiledScope).where(
            CompiledScope.compilation_id == compilation.id,
            CompiledScope.scope_kind == scope.kind,
            CompiledScope.scope_code == scope.code,
        )
    )
    if existing is None:
        existing = CompiledScope(
            compilation_id=compilation.id, scope_kind=scope.kind, scope_code=scope.code
        )
        session.add(existing)
    existing.payload = payload
    session.flush()
    return existing


def save_many(
    session: Session,
    compilation: Compilation,
    items: list[tuple[catalog.Scope, dict[str, pd.DataFrame]]],
    meta: dict[str, Any] | None = None,
) -> None:
    """Insert several new scopes of a compilation in one statement (the engine's path: one
    round trip instead of one per scope)."""
    if not items:
        return
    rows = []
    for scope, tables in items:
        payload: dict[str, Any] = {
            name: to_payload(df) for name, df in tables.items() if name in catalog.TABLES
        }
        if meta:
            payload[META_KEY] = meta
        rows.append(
            {
                "compilation_id": compilation.id,
                "scope_kind": scope.kind,
                "scope_code": scope.code,
                "payload": payload,
            }
        )
    session.execute(insert(CompiledScope), rows)


TOPICS_KEY = "_topics_key"  # written as such in set_topics' SQL


def set_topics(session: Session, scope_id: int, topics: dict[str, Any], key: str) -> None:
    """Add a stored scope's topics table (and the key of the sample they come from) to its
    payload, without reading or rewriting its other tables."""
    if session.get_bind().dialect.name == "postgresql":
        sql = (
            "UPDATE synthesis_scope SET payload = payload || "
            "jsonb_build_object('topics', CAST(:topics AS jsonb), '_topics_key', "
            "CAST(:key AS text)) WHERE id = :id"
        )
    else:
        sql = (
            "UPDATE synthesis_scope SET payload = "
            "json_set(payload, '$.topics', json(:topics), '$._topics_key', :key) WHERE id = :id"
        )
    session.execute(
        text(sql),
        {"topics": json.dumps(topics), "key": key, "id": scope_id},
    )
    loaded = session.identity_map.get(session.identity_key(CompiledScope, scope_id))
    if loaded is not None:
        session.expire(loaded, ["payload"])


def latest(session: Session) -> Compilation | None:
    """The newest finished compilation (a running or failed one never replaces it)."""
    return session.scalar(
        select(Compilation)
        .where(Compilation.status == "done")
        .order_by(Compilation.finished_at.desc(), Compilation.id.desc())
        .limit(1)
    )


def scope_row(
    session: Session, kind: str, code: str = "", compilation: Compilation | None = None
) -> CompiledScope | None:
    compilation = compilation or latest(session)
    if compilation is None:
        return None
    return session.scalar(
        select(CompiledScope).where(
            CompiledScope.compilation_id == compilation.id,
            CompiledScope.scope_kind == kind,
            CompiledScope.scope_code == (code or ""),
        )
    )


def load(
    session: Session,
    kind: str,
    code: str = "",
    *,
    public: bool,
    compilation: Compilation | None = None,
    tables: Iterable[str] | None = None,
) -> dict[str, pd.DataFrame] | None:
    """Every table of one scope of the latest compilation (None when there is none): suppressed
    for the public, raw aggregates for analysts. Always every table of the catalogue (or of
    ``tables``, since suppressing what a caller never reads is most of the cost), empty when the
    compilation did not produce it (e.g. topics before any text exists)."""
    row = scope_row(session, kind, code, compilation)
    if row is None:
        return None
    wanted = (
        catalog.TABLE_NAMES
        if tables is None
        else [t for t in catalog.TABLE_NAMES if t in set(tables)]
    )
    loaded: dict[str, pd.DataFrame] = {}
    for name in wanted:
        loaded[name] = public_table(row, name) if public else raw_table(row, name)
    if public:
        _drop_what_is_no_longer_public(session, loaded)
    return loaded


def raw_table(row: CompiledScope, name: str) -> pd.DataFrame:
    data = row.payload.get(name) or {"columns": catalog.spec(name).column_names, "rows": []}
    return from_payload(name, data)


def version(compilation: Compilation) -> str:
    """What identifies a compilation's content for every cache of it (public tables, pages,
    export archives): its id, its finish time (a reset database reuses ids) and the arrival of
    its topics (``engine.compile_topics``, the one change a finished compilation gets)."""
    stamps = [compilation.finished_at, compilation.topics_at]
    return "|".join([str(compilation.id), *(s.isoformat() if s else "" for s in stamps)])


def _token(compilation: Compilation | None) -> tuple | None:
    """A finished compilation changes only when its topics arrive: its public tables can be
    computed once per version."""
    if compilation is None or compilation.status != "done" or not compilation.finished_at:
        return None
    return (version(compilation), privacy.key_fingerprint())


def cell_index(compilation: Compilation) -> dict[str, int]:
    """Every raw count of every scope of a compilation by cell identity (privacy.canonical
    names a cell by the coarsest one counting the same records). Built once per process for a
    finished compilation."""
    token = _token(compilation)
    if token is not None and token in _INDEXES:
        return _INDEXES[token]
    index: dict[str, int] = {}
    for scope in compilation.scopes:
        for name in INDEXED_TABLES:
            data = scope.payload.get(name)
            if data and data.get("rows"):
                index.update(
                    privacy.raw_cells(
                        name, from_payload(name, data), scope.scope_kind, scope.scope_code or ""
                    )
                )
    if token is not None:
        if len(_INDEXES) >= 4:
            _INDEXES.pop(next(iter(_INDEXES)))
        _INDEXES[token] = index
    return index


_INDEXES: dict[tuple, dict[str, int]] = {}
# The tables holding the totals a cell can be canonicalised to (a day, a topic, a Retex
# dimension is never anyone's total): the daily table alone is most of a compilation's rows.
INDEXED_TABLES = (
    "participation",
    "participation_territory",
    "forum_themes",
    "forum_top",
    "forum_consensus",
    "survey_distribution",
    "survey_territory",
)
COMPLETED_FROM_THE_NATION = ("participation", "participation_territory", "forum_themes")


def public_table(row: CompiledScope, name: str) -> pd.DataFrame:
    """One table of one compiled scope in its public form (the disclosure control applied),
    cached for a finished compilation: its payload never changes. Every public reader (pages,
    API, exports, territory pages, home counters, published result versions) comes here."""
    compilation = row.compilation
    token = _token(compilation)
    if token is not None:
        token = (*token, row.scope_kind, row.scope_code or "", name)

    def build() -> pd.DataFrame:
        scope = catalog.resolve_scope(row.scope_kind, row.scope_code or "")
        reference = None
        if name in COMPLETED_FROM_THE_NATION and row.scope_kind != "national":
            # Every scope lists the nation's indicators and themes (privacy._complete).
            session = object_session(row)
            national = (
                scope_row(session, "national", "", compilation)
                if session is not None and compilation is not None
                else None
            )
            reference = raw_table(national, name) if national is not None else None
        return privacy.protect(
            name,
            raw_table(row, name),
            row.scope_kind,
            row.scope_code or "",
            raw=lambda other: raw_table(row, other),
            academies=scope.academie_codes,
            reference=reference,
            index=cell_index(compilation) if compilation is not None else None,
        )

    return privacy.cached(token, build)


# Tables that name items people wrote: the column holding the item's id and its kind. Topic
# quotes carry "<kind>:<id>" references instead.
ITEM_COLUMNS = {
    "forum_top": ("contribution_id", "contribution"),
    "forum_consensus": ("contribution_id", "contribution"),
    "forum_consensus_matrix": ("contribution_id", "contribution"),
    "retex_recent": ("sheet_id", "retex"),
}
QUOTE_COLUMNS = tuple(f"quote_{i}" for i in range(1, 4))


def _item_models() -> dict[str, type]:
    from consult.territorial.models import Idea
    from forums.models import Comment, Contribution
    from retex.models import RetexSheet

    return {"contribution": Contribution, "comment": Comment, "idea": Idea, "retex": RetexSheet}


def _parse_ref(ref: Any) -> tuple[str, int] | None:
    kind, _sep, ident = str(ref or "").partition(":")
    return (kind, int(ident)) if ident.isdigit() else None


def _drop_what_is_no_longer_public(session: Session, tables: dict[str, pd.DataFrame]) -> None:
    """Moderation reaches what was already compiled: rows naming an item hidden, held or
    withdrawn since the compilation leave the top lists, and its quotes leave the topics, at
    once (one query of ids per kind, whatever the number of tables)."""
    cited: dict[str, set[int]] = {}
    for name, (column, kind) in ITEM_COLUMNS.items():
        df = tables.get(name)
        if df is not None and not df.empty and column in df.columns:
            cited.setdefault(kind, set()).update(int(v) for v in df[column].dropna())
    topics = tables.get("topics")
    if topics is not None and not topics.empty:
        for column in QUOTE_COLUMNS:
            if f"{column}_ref" in topics.columns:
                for ref in topics[f"{column}_ref"]:
                    parsed = _parse_ref(ref)
                    if parsed is not None:
                        cited.setdefault(parsed[0], set()).add(parsed[1])
    models = _item_models()
    # Ids that exist and are no longer public. An id the database does not hold is kept (hand
    # payloads and imports name items of other databases); the one way a compiled item is
    # erased (edited into held content, then its account deleted) shows its compiled, once
    # public, title again until the next compilation.
    gone: dict[str, set[int]] = {}
    for kind, ids in cited.items():
        model = models.get(kind)
        if model is None or not ids:
            continue
        gone[kind] = set(
            session.scalars(select(model.id).where(model.id.in_(sorted(ids)), ~model.is_public))
        )
    if not any(gone.values()):
        return
    for name, (column, kind) in ITEM_COLUMNS.items():
        df = tables.get(name)
        if df is not None and not df.empty and column in df.columns:
            drop = df[column].map(lambda v, k=kind: not pd.isna(v) and int(v) in gone.get(k, ()))
            tables[name] = df[~drop.astype(bool)].reset_index(drop=True)
    if topics is not None and not topics.empty:
        topics = topics.copy()
        for column in QUOTE_COLUMNS:
            ref_column = f"{column}_ref"
            if ref_column not in topics.columns:
                continue
            removed = topics[ref_column].map(
                lambda ref: (p := _parse_ref(ref)) is not None and p[1] in gone.get(p[0], ())
            )
            topics.loc[removed.astype(bool), [column, ref_column]] = None
        tables["topics"] = topics


def meta(
    session: Session, kind: str, code: str = "", compilation: Compilation | None = None
) -> dict[str, Any]:
    """Compilation notes of one scope (weighting method, cells without respondents...)."""
    row = scope_row(session, kind, code, compilation)
    return dict((row.payload or {}).get(META_KEY) or {}) if row is not None else {}
