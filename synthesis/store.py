"""Compilations in and out of the database: every scope's tables as one JSON payload.

Payloads hold the raw (unsuppressed) aggregates; ``load(..., public=True)`` suppresses on the
way out, so a page, an export or the API can never forget to.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

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
        data = row.payload.get(name) or {"columns": catalog.spec(name).column_names, "rows": []}
        df = from_payload(name, data)
        loaded[name] = privacy.suppress(name, df) if public else df
    return loaded


def meta(
    session: Session, kind: str, code: str = "", compilation: Compilation | None = None
) -> dict[str, Any]:
    """Compilation notes of one scope (weighting method, cells without respondents...)."""
    row = scope_row(session, kind, code, compilation)
    return dict((row.payload or {}).get(META_KEY) or {}) if row is not None else {}
