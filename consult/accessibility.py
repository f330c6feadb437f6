"""The RGAA 4.1 self-assessment: the audit grid kept in the repository, read once, and what the
accessibility statement and the footer say from it.

The grid (``docs/rgaa/grille-rgaa-4.1.csv``) has one row per criterion (106) and one column per
page of the audited sample (``docs/rgaa/echantillon.csv``), each cell C (conformant), NC (not
conformant) or NA (not applicable), with a justification and, for a non-conformity, its
workaround. As the RGAA defines them:

- a criterion is non-conformant if it is NC on one page at least, conformant if it is C on one
  page at least and NC on none, not applicable if it is NA on every page;
- the conformity rate is conformant criteria / applicable (C + NC) criteria;
- the site is « totalement conforme » at 100 %, « partiellement conforme » from 50 %,
  « non conforme » below (or without an audit).

``python scripts/rgaa_rate.py`` prints the same figures from the same function.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

GRID_DIR = Path(__file__).resolve().parent.parent / "docs" / "rgaa"
GRID = GRID_DIR / "grille-rgaa-4.1.csv"
SAMPLE = GRID_DIR / "echantillon.csv"
RESULTS = ("C", "NC", "NA")
CRITERIA = 106
THEMES = 13


class GridError(ValueError):
    """The grid is malformed: the statement must not be built from it."""


@dataclass(frozen=True)
class SamplePage:
    code: str
    title: str
    url: str


@dataclass(frozen=True)
class Criterion:
    number: str
    theme: str
    title: str
    results: dict[str, str]  # page code -> C / NC / NA
    justification: str
    workaround: str

    @property
    def result(self) -> str:
        values = set(self.results.values())
        if "NC" in values:
            return "NC"
        if "C" in values:
            return "C"
        return "NA"

    @property
    def failing_pages(self) -> list[str]:
        return [code for code, value in self.results.items() if value == "NC"]


@dataclass(frozen=True)
class Audit:
    audited_on: date
    pages: tuple[SamplePage, ...]
    criteria: tuple[Criterion, ...]

    @property
    def conformant(self) -> int:
        return sum(1 for c in self.criteria if c.result == "C")

    @property
    def non_conformant(self) -> int:
        return sum(1 for c in self.criteria if c.result == "NC")

    @property
    def not_applicable(self) -> int:
        return sum(1 for c in self.criteria if c.result == "NA")

    @property
    def applicable(self) -> int:
        return self.conformant + self.non_conformant

    @property
    def rate(self) -> float:
        """Conformant / applicable criteria, in percent to one decimal."""
        return round(100 * self.conformant / self.applicable, 1) if self.applicable else 0.0

    @property
    def status(self) -> str:
        """« totalement », « partiellement » or « non » (conforme)."""
        if self.applicable and self.conformant == self.applicable:
            return "totalement"
        return "partiellement" if self.rate >= 50 else "non"

    @property
    def non_conformities(self) -> list[Criterion]:
        return [c for c in self.criteria if c.result == "NC"]

    def page_title(self, code: str) -> str:
        return next(p.title for p in self.pages if p.code == code)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {k: (v or "").strip() for k, v in row.items()}
            for row in csv.DictReader(line for line in handle if not line.startswith("#"))
        ]


def _audit_date(path: Path) -> date:
    # The grid's first line: « # audit du AAAA-MM-JJ … ».
    first = path.read_text(encoding="utf-8").splitlines()[0]
    for word in first.split():
        try:
            return date.fromisoformat(word)
        except ValueError:
            continue
    raise GridError(f"{path.name}: no audit date on its first line")


def read(grid: Path = GRID, sample: Path = SAMPLE) -> Audit:
    """The audit from its two CSV files; GridError if a criterion, page or value is wrong."""
    pages = tuple(SamplePage(r["code"], r["page"], r["url"]) for r in _rows(sample))
    codes = [p.code for p in pages]
    criteria = []
    for row in _rows(grid):
        results = {code: row.get(code, "").upper() for code in codes}
        wrong = {c: v for c, v in results.items() if v not in RESULTS}
        if wrong:
            raise GridError(f"criterion {row.get('critere')}: bad results {wrong}")
        criterion = Criterion(
            row["critere"],
            row["thematique"],
            row["intitule"],
            results,
            row["justification"],
            row.get("contournement", ""),
        )
        if not criterion.justification:
            raise GridError(f"criterion {criterion.number}: no justification")
        if criterion.result == "NC" and not criterion.workaround:
            raise GridError(f"criterion {criterion.number}: a non-conformity needs a workaround")
        criteria.append(criterion)
    numbers = [c.number for c in criteria]
    if len(numbers) != CRITERIA or len(set(numbers)) != CRITERIA:
        raise GridError(f"{len(set(numbers))} distinct criteria, the RGAA 4.1 has {CRITERIA}")
    if len({n.split(".")[0] for n in numbers}) != THEMES:
        raise GridError(f"the RGAA 4.1 has {THEMES} themes")
    return Audit(_audit_date(grid), pages, tuple(criteria))


@lru_cache(maxsize=1)
def current() -> Audit:
    """The repository's audit, read once per process."""
    return read()
