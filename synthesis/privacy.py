"""Disclosure control: the one rule for every published figure about people (cell-key
perturbation, as the ONS 2021 census and the ABS TableBuilder do).

What is protected and what is not is decided in synthesis/README.md ("What is public content and
what is protected"). For a protected count:

- a row built from fewer than ``THRESHOLD`` people is hidden: its figures are not published and
  read as the one neutral marker (``MARKER``);
- every other protected count is published with a small deterministic noise drawn from ``PTABLE``
  (at most ``D`` either way; zero stays zero; a positive count never becomes zero or negative; a
  count of ``THRESHOLD`` or more is never printed below it). The noise is a function of the
  **cell key**: an HMAC, keyed by a secret (``DISCLOSURE_KEY``, or one derived from
  ``SECRET_KEY``), of the cell's canonical identity and its true value. The identity names the
  population the figure counts, not the table it sits in (measure, territory as the finest code
  that describes the population, audience, theme, day, question, option, contribution…, "*" for
  a total), so the same cell printed in two tables, two scopes, a page and an export is the same
  figure everywhere, and differencing tables or territories gives noise, not a hidden cell;
- totals are cells of their own (perturbed, not summed from perturbed parts); shares are
  recomputed from the perturbed counts.

This replaces the complementary suppression per table that was here and the LP-audited secondary
suppression of the coordinators' questionnaire results (surveys/disclosure.py now asks this
module). Suppression alone could not hold across linked tables and territories (a région minus its
académies, the nation minus its régions, a day split against a theme split), and making it hold
(commit df6c709) cost 11× the compile time; a perturbation keyed by the cell's identity holds
by construction and costs one HMAC per published cell.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from itertools import product
from typing import Any

import numpy as np
import pandas as pd
from flask_babel import lazy_gettext as _l

from consult.api import SUPPRESSION_THRESHOLD as THRESHOLD
from consult.csvout import SUPPRESSED_TEXT
from synthesis import catalog

ALL = catalog.ALL
NATION = "FR"
# The one neutral marker of a hidden figure, whatever it counts (pages, files, PDF).
MARKER = SUPPRESSED_TEXT

# The one sentence printed near protected tables and in the exports' notes.
NOTE = _l(
    "Pour protéger les personnes, les effectifs publiés sont légèrement perturbés (de 3 au plus) "
    "et ceux de moins de 10 personnes sont masqués (« secret statistique ») : un total peut "
    "différer de la somme de ses parties."
)

# The published ptable: noise -> probability. Two attackers to weigh. A linear-programming
# attacker uses the bound D: national counts of public content are exact, so a chain of perturbed
# figures that all drew the extreme noise in the same direction can pin the cells between them.
# A statistical attacker uses the variance. Hence D = 3 with thin tails: the bound is wide (a
# count of 10 or more stays within 30 % of the truth) while 84 % of the draws are within ±1 and
# the variance (1.18) is that of a D = 2 table. Measured on the hostile datasets of
# tests/test_disclosure_attacker.py: with P(±3) = 0.04 one two-figure chain (Toulouse's votes and
# Montpellier's adoptions, both +3) pinned a hidden refusal; with P(±3) = 0.01 such a chain needs
# a 1-in-10,000 draw.
D = 3
PTABLE: tuple[tuple[int, float], ...] = (
    (-3, 0.01),
    (-2, 0.07),
    (-1, 0.22),
    (0, 0.40),
    (1, 0.22),
    (2, 0.07),
    (3, 0.01),
)
_CUMULATIVE = tuple(
    (noise, float(np.cumsum([p for _n, p in PTABLE])[i])) for i, (noise, _p) in enumerate(PTABLE)
)

# Counts of public content (items anyone can list and count): exact at the nation for all
# audiences together. Any split by audience, territory or day is about people and is protected.
PUBLIC_INDICATORS = frozenset(
    {
        "contributions",
        "votes",
        "adopt",
        "refuse",
        "comments",
        "pour",
        "contre",
        "ideas",
        "idea_supports",
        "retex_sheets",
    }
)

# --- The cell key --------------------------------------------------------------------------------

_DEVELOPMENT_KEY = b"consult: no application, development disclosure key"
# The key of the last application set up in this process: readers outside a request or an
# application context (the CLI's helpers, tests) use the same key as the pages.
_APP_KEY: bytes | None = None


def key_for(config: Mapping[str, Any]) -> bytes:
    """``DISCLOSURE_KEY`` when configured, else a key derived from ``SECRET_KEY`` (production
    refuses to start without one). Changing it changes every published figure."""
    dedicated = config.get("DISCLOSURE_KEY")
    if dedicated:
        return str(dedicated).encode()
    base = str(config.get("SECRET_KEY") or "").encode() or _DEVELOPMENT_KEY
    return hmac.digest(base, b"consult disclosure cell key v1", "sha256")


def init_app(app: Any) -> None:
    global _APP_KEY
    _APP_KEY = key_for(app.config)
    app.add_template_global(lambda: NOTE, "disclosure_note")


def secret() -> bytes:
    try:
        from flask import current_app

        return key_for(current_app.config)
    except RuntimeError:
        return _APP_KEY or _DEVELOPMENT_KEY


def territory(kind: str, code: str = "") -> str:
    """The finest code that describes a scope's population: the nation is FR, a région with a
    single académie is that académie (its figures are the académie's figures)."""
    if kind == "national":
        return NATION
    if kind == "region":
        from consult.territories import catalog as territories

        region = territories().regions.get(code)
        if region is not None and len(region.academie_codes) == 1:
            return academie(region.academie_codes[0])
        return f"R:{code}"
    return academie(code)


def academie(code: str) -> str:
    return f"A:{code}"


def identity(measure: str, where: str, **dims: Any) -> str:
    """The canonical name of a cell: measure, territory, then every other dimension that is not
    a total, in a fixed order (a dimension left out or "*" is a total)."""
    parts = [measure, where]
    for name in sorted(dims):
        value = dims[name]
        if value is None or value is pd.NA or str(value) == ALL:
            continue
        parts.append(f"{name}={value}")
    return "|".join(parts)


def noise(cell: str, value: int, key: bytes) -> int:
    digest = hmac.digest(key, f"{cell}#{value}".encode(), "sha256")
    u = int.from_bytes(digest[:8], "big") / 2**64
    for step, upto in _CUMULATIVE:
        if u < upto:
            return step
    return PTABLE[-1][0]


def perturb(cell: str, value: int, key: bytes | None = None) -> int:
    """The published form of a protected count (shown, i.e. not hidden)."""
    value = int(value)
    if value <= 0:
        return 0
    floor = THRESHOLD if value >= THRESHOLD else 1
    return max(floor, value + noise(cell, value, key or secret()))


def hidden(people: Any) -> bool:
    """A protected row built from fewer than THRESHOLD people is not published."""
    try:
        return int(people) < THRESHOLD
    except (TypeError, ValueError):
        return False


# --- Tables --------------------------------------------------------------------------------------

# Canonical dimension of each table column (the identity's vocabulary).
_DIMENSIONS = {
    "audience": "audience",
    "theme_slug": "theme",
    "subtheme_slug": "subtheme",
    "day": "day",
    "contribution_id": "contribution",
    "question_key": "question",
    "option_key": "option",
    "corpus": "corpus",
    "topic": "topic",
    "dimension": "dimension",
    "value_key": "value",
}
# Tables whose rows are one indicator each (the ``value`` column's measure is the indicator).
_INDICATOR_TABLES = ("participation", "participation_territory", "participation_daily")


def _audiences() -> list[str]:
    from consult.models import Audience

    return [a.value for a in Audience]


def _complete(
    name: str,
    df: pd.DataFrame,
    academies: Iterable[str],
    reference: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Zero rows for the missing parts of every breakdown (public tables only); ``reference``
    is the same table of the nation (its keys are listed in every scope).

    A breakdown lists every audience (or académie) of the scope, zeros included, so a hidden
    cell may be 0 and the absence of a row tells nothing. The participation tables also list
    every indicator of the nation, the forum table every theme of the nation: an exact national
    figure (public content) minus territories known to be empty because their row is missing
    would otherwise name the only author's territory. (Days are not exact anywhere, so the
    daily table lists the scope's own days.)"""
    everyone = [*_audiences(), ALL]
    if name in ("participation", "participation_territory"):
        frames = [k for k in (df, reference) if k is not None and not k.empty]
        indicators = dict.fromkeys(
            [*catalog.PARTICIPATION_INDICATORS, *(i for k in frames for i in k["indicator"])]
        )
        grid = pd.DataFrame(list(product(indicators, everyone)), columns=["indicator", "audience"])
        on = ["indicator", "audience"]
        if name == "participation_territory":
            grid = grid.merge(pd.DataFrame({"academie_code": list(academies)}), how="cross")
            on = ["indicator", "academie_code", "audience"]
        return _with_zeros(df, grid, on)
    if name == "participation_daily":
        # The scope's own days only (every day of the nation in every scope would be millions of
        # zero rows): each (day, indicator) lists every audience.
        if df.empty:
            return df
        grid = (
            df[["day", "indicator"]]
            .drop_duplicates()
            .merge(pd.DataFrame({"audience": everyone}), how="cross")
        )
        return _with_zeros(df, grid, ["day", "indicator", "audience"])
    if name == "forum_themes":
        on = ["theme_slug", "subtheme_slug", "indicator"]
        frames = [k[on] for k in (df, reference) if k is not None and not k.empty]
        if not frames:
            return df
        keys = pd.concat(frames)
        grid = keys.drop_duplicates().merge(pd.DataFrame({"audience": everyone}), how="cross")
        return _with_zeros(df, grid, [*on, "audience"])
    if name == "survey_territory":
        if df.empty:
            return df
        keys = df[["question_key", "option_key"]].drop_duplicates()
        full = keys.merge(pd.DataFrame({"academie_code": list(academies)}), how="cross")
        return _with_zeros(df, full, ["question_key", "option_key", "academie_code"])
    if name == "survey_distribution" and not df.empty:
        # Every option for every audience that saw the question (not the audiences of another
        # track: their absence is the questionnaire's design, not a figure).
        keys = df[["question_key", "option_key", "audience"]]
        grid = (
            keys[["question_key", "option_key"]]
            .drop_duplicates()
            .merge(keys[["question_key", "audience"]].drop_duplicates(), on="question_key")
        )
        return _with_zeros(df, grid, ["question_key", "option_key", "audience"])
    return df


def _with_zeros(df: pd.DataFrame, full: pd.DataFrame, on: list[str]) -> pd.DataFrame:
    key = pd.MultiIndex.from_frame(df[on].astype(str))
    wanted = full[on].astype(str).drop_duplicates()
    missing = wanted[~pd.MultiIndex.from_frame(wanted).isin(key)]
    if missing.empty:
        return df
    zeros = missing.copy()
    for column in df.columns:
        if column not in on:
            zeros[column] = 0 if column in _COUNT_COLUMNS else None
    for column in on:  # keep the dimension's type (day strings, integer ids)
        if df[column].dtype != object:
            zeros[column] = zeros[column].astype(df[column].dtype, errors="ignore")
    zeros = zeros[list(df.columns)]
    if df.empty:
        return zeros.reset_index(drop=True)
    return pd.concat([df, zeros], ignore_index=True)


_COUNT_COLUMNS = frozenset(
    c.name for spec in catalog.TABLES.values() for c in spec.columns if c.kind == "count"
)


class _Context:
    """What protecting one scope's tables needs beside the table itself."""

    def __init__(
        self,
        kind: str,
        code: str,
        raw: Callable[[str], pd.DataFrame | None] | None,
        key: bytes,
        index: Mapping[str, int] | None,
    ) -> None:
        self.kind = kind
        self.code = code
        self.where = territory(kind, code)
        self.raw = raw or (lambda _name: None)
        self.key = key
        self.index = index or {}


def _measure(name: str, column: str, row: Mapping[str, Any]) -> str:
    if name in _INDICATOR_TABLES or name == "forum_themes":
        indicator = str(row["indicator"])
        if column == "value" or indicator in ("participants", "survey_responses"):
            return indicator  # (these two count people: value and people are one figure)
        return f"people:{indicator}"
    if name == "forum_top":
        if column == "people":
            return "votes" if row.get("ranking") == "adopted" else "people:comments"
        return column
    if name in ("forum_consensus", "forum_consensus_matrix"):
        return "votes" if column in ("people", "votes") else column
    if name in ("survey_distribution", "survey_territory"):
        return {"count": "answers", "people": "answers", "base": "base"}.get(column, column)
    if name == "topics":
        return "texts" if column == "size" else "people:texts"
    if name == "retex":
        return "retex_sheets" if column == "sheets" else "people:retex_sheets"
    return column


def _public_cell(name: str, column: str, row: Mapping[str, Any], where: str) -> bool:
    """Figures about public content: exact (see README)."""
    if name == "retex":
        return column == "sheets"  # published sheets, each with its theme, level and académie
    if where != NATION:
        return False
    if name in ("participation", "forum_themes"):
        return (
            column == "value"
            and str(row.get("audience")) == ALL
            and str(row.get("indicator")) in PUBLIC_INDICATORS
        )
    # The nation's ranked contributions: the counters printed on each contribution's card.
    if name == "forum_top":
        return column != "wilson"
    if name == "forum_consensus":
        return column in ("votes", "people", "audiences")
    return False


def _dims(name: str, row: Mapping[str, Any]) -> dict[str, str]:
    dims = {
        dim: str(row[column])
        for column, dim in _DIMENSIONS.items()
        if column in row and row[column] is not None and str(row[column]) != ALL
    }
    if name == "survey_territory":
        dims.pop("audience", None)
    return dims


def _raw_cell(
    name: str, column: str, row: Mapping[str, Any], where: str
) -> tuple[str, str, dict[str, str]]:
    """(measure, territory, dimensions) of one figure, before canonicalisation."""
    if "academie_code" in row and name in ("participation_territory", "survey_territory"):
        where = academie(str(row["academie_code"]))
    dims = _dims(name, row)
    measure = _measure(name, column, row)
    if measure == "base":
        dims.pop("option", None)  # one base for all the options of a question
    return measure, where, dims


def raw_cells(name: str, df: pd.DataFrame, kind: str, code: str = ""):
    """Every count of one raw table of one scope as (identity, value): the compilation's cell
    index is made of them (``index_of``)."""
    spec = catalog.spec(name)
    if not spec.has_people or df.empty:
        return
    where = territory(kind, code)
    counts = [c.name for c in spec.columns if c.kind == "count" and c.name in df.columns]
    for row in df.to_dict("records"):
        for column in counts:
            value = row[column]
            if value is None or value is pd.NA:
                continue
            measure, place, dims = _raw_cell(name, column, row, where)
            yield identity(measure, place, **dims), int(value)


# Measures whose population contains another's: equal counts are then the same people.
_MEASURE_PARENTS = {"answers": ("base", "option"), "first": ("answers", None),
                    "base": ("survey_responses", "question")}  # fmt: skip
_DROPPABLE = ("subtheme", "theme", "day", "audience")


def _parent_territory(where: str) -> str | None:
    if where == NATION:
        return None
    if where.startswith("A:"):
        from consult.territories import catalog as territories

        cat = territories()
        found = cat.academies.get(where[2:])
        if found is not None:
            region = cat.regions.get(found.region_code)
            if region is not None and len(region.academie_codes) > 1:
                return f"R:{region.code}"
    return NATION


def canonical(
    index: Mapping[str, int], measure: str, where: str, dims: Mapping[str, str], value: int
) -> str:
    """The identity of the coarsest cell counting exactly the same records.

    A part whose total (over audiences, themes, days, académies of a région, régions of the
    nation, or a containing population: the options of a question, its respondents, all
    responses, all participants) has the same true value *is* that total: the other parts are
    all zero. Printed under two identities, the same records would get two independent noises,
    and an attacker could intersect them; under one they get one."""
    dims = dict(dims)
    changed = True
    while changed:
        changed = False
        for dim in _DROPPABLE:
            if dim in dims:
                coarser = {k: v for k, v in dims.items() if k != dim}
                if dim == "theme" and "subtheme" in coarser:
                    continue
                if index.get(identity(measure, where, **coarser)) == value:
                    dims, changed = coarser, True
        parent = _parent_territory(where)
        if parent is not None and index.get(identity(measure, parent, **dims)) == value:
            where, changed = parent, True
        if measure in _MEASURE_PARENTS:
            other, drop = _MEASURE_PARENTS[measure]
            coarser = {k: v for k, v in dims.items() if k != drop}
            if index.get(identity(other, where, **coarser)) == value:
                measure, dims, changed = other, coarser, True
        if measure.startswith("people:") and (
            index.get(identity("participants", where, **dims)) == value
        ):
            measure, changed = "participants", True
    return identity(measure, where, **dims)


def protect(
    name: str,
    df: pd.DataFrame,
    kind: str = "national",
    code: str = "",
    *,
    raw: Callable[[str], pd.DataFrame | None] | None = None,
    academies: Iterable[str] | None = None,
    key: bytes | None = None,
    reference: pd.DataFrame | None = None,
    index: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """The public form of one table of one scope: breakdowns completed with zero rows, protected
    counts perturbed by their cell key, rows under the threshold hidden (figures None,
    ``suppressed`` True), shares recomputed from the published counts. ``raw`` gives the scope's
    other raw tables (the consensus matrix); ``index`` the compilation's cells (every scope, raw
    values) for the canonical identities; ``reference`` the nation's table (its keys are listed
    in every scope)."""
    spec = catalog.spec(name)
    out = df.reset_index(drop=True).copy()
    if not spec.has_people or "people" not in out.columns:
        out["suppressed"] = False
        return out
    if academies is None:
        academies = catalog.resolve_scope(kind, code).academie_codes
    out = _complete(name, out, academies, reference)
    ctx = _Context(kind, code, raw, key or secret(), index)
    counts = [c.name for c in spec.columns if c.kind == "count" and c.name in out.columns]
    records = out.to_dict("records")
    published: dict[str, list[Any]] = {c: [] for c in counts}
    mask: list[bool] = []
    for row in records:
        row_hidden = hidden(row.get("people"))
        public_row = all(_public_cell(name, c, row, ctx.where) for c in counts if c != "people")
        mask.append(row_hidden and not public_row)
        first_of: dict[int, str] = {}
        for column in counts:
            value = row[column]
            if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
                published[column].append(None)
                continue
            value = int(value)
            if _public_cell(name, column, row, ctx.where):
                published[column].append(value)
                continue
            if row_hidden or (column == "people" and hidden(value)):
                published[column].append(None)
                continue
            if column == "audiences":  # a number of audiences, not of people
                published[column].append(value)
                continue
            # Equal figures of one row count the same people (participants, a response per
            # person, a voter per vote): one cell, one published figure.
            cell = first_of.get(value)
            if cell is None:
                cell = canonical(ctx.index, *_raw_cell(name, column, row, ctx.where), value)
                first_of[value] = cell
            published[column].append(perturb(cell, value, ctx.key))
    for column in counts:
        out[column] = pd.array(published[column], dtype="Int64")
    hide = pd.Series(mask, index=out.index, dtype=bool)
    _derived(name, out, hide, ctx)
    for column in spec.figure_columns:
        if column in out.columns and column not in counts:
            out[column] = out[column].astype("object")
            out.loc[hide, column] = None
    if name == "topics":
        # Open answers are never quoted in public; hidden topics lose their quotes too.
        quotes = [c for c in out.columns if c.startswith("quote_")]
        drop = hide | (out.get("corpus", pd.Series(dtype=object)) == "open_answers")
        if quotes:
            out = out.astype(dict.fromkeys(quotes, "object"))
            out.loc[drop, quotes] = None
        # A hidden topic's words go too: its title is made of its keywords.
        words = [c for c in ("label", "keywords") if c in out.columns]
        if words:
            out = out.astype(dict.fromkeys(words, "object"))
            out.loc[hide, words] = None
    out["suppressed"] = hide.to_numpy()
    return out


def _ratio(part: pd.Series, whole: pd.Series) -> pd.Series:
    part = pd.to_numeric(part, errors="coerce").astype("Float64")
    whole = pd.to_numeric(whole, errors="coerce").astype("Float64")
    return (part / whole.where(whole > 0)).round(6)


def _derived(name: str, out: pd.DataFrame, hide: pd.Series, ctx: _Context) -> None:
    """Shares and scores recomputed from the published counts."""
    if out.empty:
        return
    if name in ("survey_distribution", "survey_territory") and "share" in out.columns:
        out["share"] = _ratio(out["count"], out["base"])
    elif name == "forum_consensus_matrix":
        out["share"] = _ratio(out["adopt"], out["adopt"].astype("Float64") + out["refuse"])
    elif name == "forum_top" and ctx.where != NATION and "wilson" in out.columns:
        adopt = pd.to_numeric(out["adopt"], errors="coerce").fillna(0).to_numpy(dtype=float)
        refuse = pd.to_numeric(out["refuse"], errors="coerce").fillna(0).to_numpy(dtype=float)
        from synthesis.engine import wilson_array

        out["wilson"] = pd.array(np.round(wilson_array(adopt, refuse), 6), dtype="Float64")
    elif name == "forum_consensus":
        matrix = ctx.raw("forum_consensus_matrix")
        if matrix is None or matrix.empty or "min_share" not in out.columns:
            return
        public = protect(
            "forum_consensus_matrix",
            matrix,
            ctx.kind,
            ctx.code,
            key=ctx.key,
            academies=(),
            index=ctx.index,
        )
        from synthesis.engine import MIN_AUDIENCE_VOTES

        votes = public["adopt"].astype("Float64") + public["refuse"]
        enough = public[(votes >= MIN_AUDIENCE_VOTES).fillna(False).to_numpy(dtype=bool)]
        shares = enough.groupby("contribution_id")["share"].agg(["min", "max"])
        ids = out["contribution_id"]
        out["min_share"] = pd.array(ids.map(shares["min"]).astype("Float64"))
        out["max_share"] = pd.array(ids.map(shares["max"]).astype("Float64"))


# --- Cached public tables ------------------------------------------------------------------------


_CACHE: dict[tuple, pd.DataFrame] = {}
_CACHE_SIZE = 1024


def cached(token: tuple | None, build: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """One protected table per (compilation, scope, table, key) per process: a finished
    compilation never changes, so its public form is computed once and shared by pages, API,
    exports and published versions (a copy each time: callers may edit what they get)."""
    if token is None:
        return build()
    found = _CACHE.get(token)
    if found is None:
        found = build()
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[token] = found
    return found.copy()


def key_fingerprint(key: bytes | None = None) -> str:
    return hashlib.sha256(key or secret()).hexdigest()[:16]
