"""Disclosure control of the coordinators' questionnaire results (cells, row and column totals,
shares and means of one question, and the responses per audience).

Hiding the cells under 10 people is not enough when totals are printed: a column total minus
the shown cells gives the hidden one back (18 cells were recovered that way). So the results are
protected as a set of additive relations (total = sum of parts), the way τ-ARGUS does it for one
linked table:

1. primary suppression: a count of 1 to 9 people is hidden;
2. secondary suppression: any relation left with a single hidden cell takes the smallest shown
   non-zero cell with it;
3. an audit solves, for every primary cell, the linear programme an attacker would write (every
   relation; every hidden cell at least 1, since zeros are printed) and, while one is pinned to a
   single whole value, hides one more cell of its relations. Only relations that hold in the data
   are written (a multiple-choice question's options do not add up to its respondents), so the
   attacker is never weaker than the audit.

Every hidden cell wears the same neutral marker, « secret statistique »: « < 10 » on the small
ones only would tell the attacker that the others are 10 or more, and that is enough to pin a
small cell beside a printed total (11 respondents = a protecting cell of 10 or more + a small
one: the small one is 1). τ-ARGUS publishes all suppressed cells with one symbol for that reason.

This is the surveys-only, single-table form of the rule; the synthesis compilation has its own
compile-wide layer (synthesis/privacy.py). The threshold is that one (synthesis.privacy.THRESHOLD).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

SHOWN, SMALL, SECRET = "shown", "small", "secret"
# A figure the page does not print (respondents without a known académie): the attacker only
# knows it is 0 or more. Always a fixed status.
UNPRINTED = "unprinted"
MAX_ROUNDS = 500


def threshold() -> int:
    from synthesis.privacy import THRESHOLD

    return THRESHOLD


@dataclass
class Protection:
    """The status of every cell: shown, small (« < 10 ») or secret (hidden to protect another)."""

    status: dict[Hashable, str] = field(default_factory=dict)

    def of(self, key: Hashable) -> str:
        return self.status.get(key, SHOWN)

    def hidden(self, key: Hashable) -> bool:
        return self.of(key) != SHOWN

    @property
    def hidden_count(self) -> int:
        return sum(1 for s in self.status.values() if s != SHOWN)


Relation = tuple[Hashable, Sequence[Hashable]]  # (total, parts)


def _holding(values: dict[Hashable, int], relations: Iterable[Relation]) -> list[list[Hashable]]:
    """Relations true in the data, as cell lists with the total first."""
    kept = []
    for total, parts in relations:
        parts = [p for p in parts if p in values]
        if total in values and len(parts) >= 1 and values[total] == sum(values[p] for p in parts):
            kept.append([total, *parts])
    return kept


def _components(hidden: set[Hashable], equations: list[list[Hashable]]) -> dict[Hashable, int]:
    parent: dict[Hashable, Hashable] = {k: k for k in hidden}

    def find(k: Hashable) -> Hashable:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for eq in equations:
        members = [k for k in eq if k in hidden]
        for other in members[1:]:
            parent[find(other)] = find(members[0])
    roots: dict[Hashable, int] = {}
    return {k: roots.setdefault(find(k), len(roots)) for k in hidden}


def pinned(
    values: dict[Hashable, int],
    status: dict[Hashable, str],
    equations: list[list[Hashable]],
    cache: dict[frozenset, list[Hashable]] | None = None,
) -> list[Hashable]:
    """The small cells an attacker pins to one whole value (LP min and max over the relations).

    Only the connected components of relations holding hidden cells are solved, and a component
    whose hidden cells did not change since the last round is not solved again (``cache``)."""
    hidden = {k for k, s in status.items() if s != SHOWN}
    if not hidden:
        return []
    cache = {} if cache is None else cache
    component = _components(hidden, equations)
    members: dict[int, list[Hashable]] = {}
    for key, comp in component.items():
        members.setdefault(comp, []).append(key)
    found = []
    for cells in members.values():
        signature = frozenset(cells)
        if signature not in cache:
            cache[signature] = _pinned_in(values, status, equations, sorted(cells, key=repr))
        found.extend(cache[signature])
    return found


def _pinned_in(
    values: dict[Hashable, int],
    status: dict[Hashable, str],
    equations: list[list[Hashable]],
    cells: list[Hashable],
) -> list[Hashable]:
    import numpy as np
    from scipy.optimize import linprog

    index = {k: i for i, k in enumerate(cells)}
    rows, rhs = [], []
    for eq in equations:
        if not any(k in index for k in eq):
            continue
        row = np.zeros(len(cells))
        constant = 0.0
        for position, key in enumerate(eq):
            sign = 1.0 if position == 0 else -1.0  # total - sum(parts) = 0
            if key in index:
                row[index[key]] += sign
            else:
                constant -= sign * values[key]
        rows.append(row)
        rhs.append(constant)
    # Every hidden cell wears the same marker, so the attacker only knows it is not zero
    # (zeros are printed): small and protecting cells alike lie in [1, +inf).
    bounds = [(0, None) if status[k] == UNPRINTED else (1, None) for k in cells]
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(rhs) if rows else None
    found = []
    limit = threshold()
    for key in cells:
        value = values[key]
        # Small cells, printed hidden or not printed at all (the respondents without an
        # académie: total minus the académies would give them).
        if not (status[key] == SMALL or (status[key] == UNPRINTED and 0 < value < limit)):
            continue
        objective = np.zeros(len(cells))
        objective[index[key]] = 1.0
        # The true value is feasible: the cell is free as soon as value + 1 or value - 1 is.
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if high.status == 3 or (high.success and -high.fun >= value + 1 - 1e-6):
            continue
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if low.success and low.fun <= value - 1 + 1e-6:
            continue
        found.append(key)
    return found


def protect(
    values: dict[Hashable, int],
    relations: Iterable[Relation],
    fixed: dict[Hashable, str] | None = None,
) -> Protection:
    """``fixed`` cells are published elsewhere with a status this table cannot change (they
    take part in the relations and the audit, never in the choice of a companion).

    Stable (same figures, same cells hidden) and memoised: a sparse question costs up to a
    couple of seconds of linear programmes, and its results page is read again and again
    between two new responses."""
    frozen = (
        tuple(values.items()),
        tuple((total, tuple(parts)) for total, parts in relations),
        tuple((fixed or {}).items()),
    )
    return Protection(dict(_protect(frozen)))


@lru_cache(maxsize=256)
def _protect(frozen) -> tuple[tuple[Hashable, str], ...]:
    values = dict(frozen[0])
    relations = list(frozen[1])
    fixed = dict(frozen[2])
    limit = threshold()
    status = {k: (SMALL if 0 < v < limit else SHOWN) for k, v in values.items()}
    status.update(fixed)
    equations = _holding(values, relations)

    def companion(eq_cells: Iterable[list[Hashable]]) -> Hashable | None:
        """The smallest shown non-zero cell of these relations (parts before totals)."""
        best = None
        for eq in eq_cells:
            for position, key in enumerate(eq):
                if status[key] == SHOWN and values[key] > 0 and key not in fixed:
                    rank = (position == 0, values[key], repr(key))
                    if best is None or rank < best[0]:
                        best = (rank, key)
        return best[1] if best else None

    cache: dict[frozenset, list[Hashable]] = {}
    for _round in range(MAX_ROUNDS):
        changed = False
        for eq in equations:
            hidden = [k for k in eq if status[k] != SHOWN]
            # One hidden cell is the total minus the others; hidden cells that are all 1 are
            # each 1 (a hidden cell is never 0): both need one more hidden cell.
            if len(hidden) == 1 or (hidden and all(values[k] == 1 for k in hidden)):
                key = companion([eq])
                if key is not None:
                    status[key] = SECRET
                    changed = True
        if changed:
            continue
        exposed = pinned(values, status, equations, cache)
        if not exposed:
            break
        for cell in exposed:
            key = companion(eq for eq in equations if cell in eq)
            if key is not None:
                status[key] = SECRET
                changed = True
        if not changed:
            # Nothing left to hide beside them: hide the relations' totals as a last resort.
            break
    return tuple((k, s) for k, s in status.items() if s != SHOWN and k not in fixed)


def question(
    results, unsuppressed: bool, responses: dict[str, int] | None = None, audiences=()
) -> Protection:
    """Every count printed for one question (surveys/question_results.html), protected together
    and with the responses per audience of the results home page (``responses``, protected
    there by ``response_counts``): a required question's respondents are those responses."""
    if unsuppressed:
        return Protection()
    values: dict[Hashable, int] = {}
    relations: list[Relation] = []
    fixed: dict[Hashable, str] = {}
    if responses is not None:
        published = response_counts(responses, audiences, False)
        for aud in audiences:
            values[("resp", aud)] = responses.get(aud, 0)
            fixed[("resp", aud)] = published.of(("r", aud))
            relations.append((("r", aud), [("resp", aud)]))
        values[("resp", "*")] = sum(responses.values())
        fixed[("resp", "*")] = published.of(("r", "*"))
        relations.append((("r", "*"), [("resp", "*")]))
    keys = [key for key, _label in results.keys]
    audiences = sorted(results.by_audience)
    from consult.territories import catalog

    known = catalog().academies
    # The page prints the académies of the reference data; the others (respondents without an
    # académie) still count in the totals, so they stay in the relations as unknowns.
    academies = sorted(a for a in results.by_academie if a in known)
    unprinted = sorted((a for a in results.by_academie if a not in known), key=repr)
    values[("r", "*")] = results.overall.respondents
    for aud in audiences:
        values[("r", aud)] = results.by_audience[aud].respondents
    relations.append((("r", "*"), [("r", a) for a in audiences]))
    if results.question.type == "number":
        return protect(values, relations, fixed)
    for acad in unprinted:
        fixed[("ar", acad)] = UNPRINTED
        for key in keys:
            fixed[("a", acad, key)] = UNPRINTED
    academies = academies + unprinted
    for acad in academies:
        values[("ar", acad)] = results.by_academie[acad].respondents
    relations.append((("r", "*"), [("ar", a) for a in academies]))
    for key in keys:
        values[("c", key, "*")] = results.overall.counts[key]
        for aud in audiences:
            values[("c", key, aud)] = results.by_audience[aud].counts[key]
        for acad in academies:
            values[("a", acad, key)] = results.by_academie[acad].counts[key]
        relations.append((("c", key, "*"), [("c", key, a) for a in audiences]))
        relations.append((("c", key, "*"), [("a", a, key) for a in academies]))
    # Options add up to the respondents for single choices and scales (kept only where true).
    relations.append((("r", "*"), [("c", k, "*") for k in keys]))
    for aud in audiences:
        relations.append((("r", aud), [("c", k, aud) for k in keys]))
    for acad in academies:
        relations.append((("ar", acad), [("a", acad, k) for k in keys]))
    if results.question.type == "ranking":
        for key in keys:
            values[("f", key, "*")] = results.overall.first[key]
            for aud in audiences:
                values[("f", key, aud)] = results.by_audience[aud].first[key]
            relations.append((("f", key, "*"), [("f", key, a) for a in audiences]))
        relations.append((("r", "*"), [("f", k, "*") for k in keys]))
        for aud in audiences:
            relations.append((("r", aud), [("f", k, aud) for k in keys]))
    return protect(values, relations, fixed)


def response_counts(counts: dict[str, int], audiences: Sequence[str], unsuppressed: bool):
    """The responses per audience and their total (surveys/results.html)."""
    if unsuppressed:
        return Protection()
    values = {("r", a): counts.get(a, 0) for a in audiences}
    values[("r", "*")] = sum(counts.values())
    return protect(values, [(("r", "*"), [("r", a) for a in audiences])])
