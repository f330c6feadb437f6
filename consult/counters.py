"""Public participation counters for the home page and the territory pages.

Two kinds of figures, never mixed (synthesis/README.md draws the same line):
- facts about public content (contributions, ideas, Retex sheets, events, tallies summed over
  public items) are counted live by each package's ``hooks().counters``;
- figures about people (participants, questionnaire respondents) come ONLY from the latest
  compilation's public ``participation`` table, read through ``synthesis.store.load(public=True)``.
  That table is protected once over every scope, so the home page (nation), a région page and its
  académies' pages print figures that add up without giving a hidden cell back; a live count
  beside it (total minus the shown audiences) would undo that protection. Before the first
  compilation no people figure is shown at all.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app

from consult.cache import cached_json
from consult.db import db
from consult.hooks import hooks
from consult.models import Audience

CACHE_KEY = "counters:participation"
# People figures are read from one compilation, which never changes once finished: their keys
# carry it, so they are only superseded, never stale; the time only bounds the cache's memory.
PEOPLE_SECONDS = 30 * 24 * 3600

# Home counters that count people: never live, read from the compilation instead (a package's
# hook may still report them; they are dropped here).
PEOPLE_COUNTERS = ("participants", "survey_responses")
ALL = "*"


def _cell(row: dict[str, Any] | None) -> dict[str, Any]:
    """One published figure: its value (None when hidden) and whether it is hidden."""
    if row is None:
        # No row: nobody of that kind in the compilation (the compiled table has no zero rows).
        return {"value": 0, "hidden": False}
    hidden = bool(row.get("suppressed")) or row.get("value") is None
    return {"value": None if hidden else int(row["value"]), "hidden": hidden}


def compiled_people(kind: str, code: str = "") -> dict[str, Any] | None:
    """People figures of one scope (national, region, academie) from the latest compilation,
    in their protected public form; None before the first compilation. JSON-ready.

    ``detailed`` is False when the breakdown by audience would be (nearly) all hidden: pages
    then show the territory's total and one sentence instead of a wall of « < 10 ».

    Reading them means loading the scope's compiled payload and, once per process, indexing
    every cell of the compilation for the disclosure control (seconds at the Grand Débat
    scale): they are kept in the shared cache per compilation, and prepared by the compilation
    itself (:func:`warm_people`), so no visitor pays for that."""
    from synthesis import privacy, store

    compilation = store.latest(db.session)
    if compilation is None:
        return None
    # The finish time (a reset database may reuse ids) and the disclosure-control key.
    stamp = compilation.finished_at.isoformat() if compilation.finished_at else ""
    key = ":".join(
        ("counters:people", str(compilation.id), stamp, privacy.key_fingerprint(), kind, code)
    )
    return cached_json(key, PEOPLE_SECONDS, lambda: _compiled_people(compilation, kind, code))


def warm_people() -> int:
    """Prepare the people figures of every scope of the latest compilation (the home page's
    and every territory page's); called after a compilation. Returns how many were built."""
    from consult.territories import catalog

    cat = catalog()
    scopes = [("national", "")]
    scopes += [("region", code) for code in cat.regions]
    scopes += [("academie", code) for code in cat.academies]
    return sum(compiled_people(kind, code) is not None for kind, code in scopes)


def _compiled_people(compilation: Any, kind: str, code: str) -> dict[str, Any] | None:
    from synthesis import store

    session = db.session
    tables = store.load(
        session, kind, code, public=True, compilation=compilation, tables=["participation"]
    )
    if tables is None:
        return None
    df = tables["participation"]
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    if not df.empty:
        for record in df.to_dict("records"):
            rows[(str(record["indicator"]), str(record["audience"]))] = record
    by_audience = [
        {"audience": a.value, **_cell(rows.get(("participants", a.value)))} for a in Audience
    ]
    present = [c for c in by_audience if c["hidden"] or c["value"]]
    shown = [c for c in present if not c["hidden"]]
    finished = compilation.finished_at
    return {
        "as_of": finished.date().isoformat() if finished else None,
        "participants": _cell(rows.get(("participants", ALL))),
        "survey_responses": _cell(rows.get(("survey_responses", ALL))),
        "by_audience": by_audience,
        # A breakdown is worth showing when at least two audiences can be read.
        "detailed": len(shown) >= 2,
    }


def compute() -> dict[str, Any]:
    totals: dict[str, int] = {}
    for contribute in hooks().counters:
        totals.update(contribute())
    for key in PEOPLE_COUNTERS:
        totals.pop(key, None)
    return {"totals": totals, "people": compiled_people("national")}


def with_dates(stats: dict[str, Any]) -> dict[str, Any]:
    """The cached form holds ISO dates; pages format a real date."""
    people = stats.get("people")
    if people and isinstance(people.get("as_of"), str):
        stats = {**stats, "people": {**people, "as_of": date.fromisoformat(people["as_of"])}}
    return stats


def participation() -> dict[str, Any]:
    ttl = current_app.config["COUNTERS_CACHE_SECONDS"]
    if ttl <= 0:
        return with_dates(compute())
    return with_dates(cached_json(CACHE_KEY, ttl, compute))
