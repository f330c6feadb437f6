"""Territorial reference data (2020): 18 régions académiques, 30 académies, 101 départements.

The CSV files in ``data/territories/`` are the source of truth. They are read once per process
into an immutable catalogue used for form choices and lookups (no query per request), and
copied into the database by :func:`load_territories` so other tables can reference them.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.config import ROOT
from consult.models import Academie, Departement, RegionAcademique

DATA_DIR = ROOT / "data" / "territories"


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    slug: str
    academie_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Acad:
    code: str
    name: str
    slug: str
    region_code: str
    departement_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dept:
    code: str
    name: str
    academie_code: str


@dataclass(frozen=True)
class Catalog:
    regions: dict[str, Region] = field(default_factory=dict)
    academies: dict[str, Acad] = field(default_factory=dict)
    departements: dict[str, Dept] = field(default_factory=dict)

    def academie_by_slug(self, slug: str) -> Acad | None:
        return next((a for a in self.academies.values() if a.slug == slug), None)

    def region_by_slug(self, slug: str) -> Region | None:
        return next((r for r in self.regions.values() if r.slug == slug), None)

    def region_of(self, academie_code: str | None) -> str | None:
        acad = self.academies.get(academie_code or "")
        return acad.region_code if acad else None

    def academies_sorted(self) -> list[Acad]:
        return sorted(self.academies.values(), key=lambda a: _sort_key(a.name))

    def regions_sorted(self) -> list[Region]:
        return sorted(self.regions.values(), key=lambda r: _sort_key(r.name))


def academie_label(name: str, capital: bool = True) -> str:
    """« Académie de Toulouse », but « Académie d’Amiens » before a vowel (French elision)."""
    from flask_babel import gettext as _

    elided = _sort_key(name)[:1] in "aeiouy"
    if capital:
        if elided:
            return _("Académie d’%(name)s", name=name)
        return _("Académie de %(name)s", name=name)
    if elided:
        return _("académie d’%(name)s", name=name)
    return _("académie de %(name)s", name=name)


def _sort_key(name: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)
        ]


@lru_cache(maxsize=4)
def catalog(data_dir: Path = DATA_DIR) -> Catalog:
    region_rows = _read(data_dir / "regions_academiques.csv")
    acad_rows = _read(data_dir / "academies.csv")
    dept_rows = _read(data_dir / "departements.csv")
    depts = {r["code"]: Dept(r["code"], r["name"], r["academie_code"]) for r in dept_rows}
    academies = {
        r["code"]: Acad(
            r["code"],
            r["name"],
            r["slug"],
            r["region_code"],
            tuple(sorted(d.code for d in depts.values() if d.academie_code == r["code"])),
        )
        for r in acad_rows
    }
    regions = {
        r["code"]: Region(
            r["code"],
            r["name"],
            r["slug"],
            tuple(sorted(a.code for a in academies.values() if a.region_code == r["code"])),
        )
        for r in region_rows
    }
    return Catalog(regions=regions, academies=academies, departements=depts)


def load_territories(session: Session, data_dir: Path = DATA_DIR) -> dict[str, int]:
    """Insert or update the reference data; running it twice changes nothing.

    Returns how many rows were created or updated per table.
    """
    cat = catalog(data_dir)
    changed = {"regions": 0, "academies": 0, "departements": 0}
    plan = (
        ("regions", RegionAcademique, cat.regions.values(), ("name", "slug")),
        ("academies", Academie, cat.academies.values(), ("name", "slug", "region_code")),
        ("departements", Departement, cat.departements.values(), ("name", "academie_code")),
    )
    for key, model, items, fields in plan:
        existing = {row.code: row for row in session.scalars(select(model))}
        for item in items:
            row = existing.get(item.code)
            values = {f: getattr(item, f) for f in fields}
            if row is None:
                session.add(model(code=item.code, **values))
                changed[key] += 1
            elif any(getattr(row, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(row, f, v)
                changed[key] += 1
        # Parents must exist before children reference them (foreign keys are enforced).
        session.flush()
    return changed


# --- Scopes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The one territory type: what a page, a feed, an event, a grant or a synthesis is about —
    the nation, a région académique or an académie. Equal (and hashed) by ``(kind, code)``;
    ``name`` is the reference name (« Poitiers »), ``academie_codes`` the académies it covers
    (all of them for the nation). Build it with :func:`scope_of`, :func:`scope_by_slug`,
    :func:`resolve_scope` or :data:`NATIONAL`, never by hand."""

    kind: str  # ScopeKind value: "national" | "region" | "academie"
    code: str = ""
    name: str = field(default="", compare=False)
    slug: str = field(default="", compare=False)
    academie_codes: tuple[str, ...] = field(default=(), compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind, self.code)

    @property
    def form_key(self) -> str:
        """« academie:16 », « region:76 », « national: » (form values, query strings)."""
        return f"{self.kind}:{self.code}"

    @property
    def url_key(self) -> str:
        """« nationale », « academie-13 », « region-75 » (composer URLs, file names)."""
        return "nationale" if self.kind == "national" else f"{self.kind}-{self.code}"

    @property
    def label(self) -> str:
        """« France entière », « Académie de Poitiers », « Région académique Grand Est » in the
        current locale."""
        from flask_babel import gettext as _

        if self.kind == "academie":
            return academie_label(self.name)
        if self.kind == "region":
            return _("Région académique %(name)s", name=self.name)
        return _("France entière")

    @property
    def title(self) -> str:
        """The title of this scope's synthesis."""
        from flask_babel import gettext as _

        if self.kind == "national":
            return _("Synthèse nationale")
        return _("Synthèse : %(territory)s", territory=self.label)

    @property
    def synthesis_path(self) -> str:
        """This scope's compiled figures on /syntheses/."""
        if self.kind == "region":
            return f"/syntheses/region/{self.slug}/"
        if self.kind == "academie":
            return f"/syntheses/{self.slug}/"
        # The national charts; /syntheses/ itself is the index of every synthesis.
        return "/syntheses/france/"

    def related(self) -> list[tuple[str, str]]:
        """(kind, code) pairs whose events and news belong on this territory's pages: an
        académie shows its own and its région's; a région, its own and all of its académies';
        the nation shows everything (empty list: no filter)."""
        if self.kind == "national":
            return []
        if self.kind == "academie":
            return [("academie", self.code), ("region", catalog().region_of(self.code) or "")]
        return [("region", self.code)] + [("academie", c) for c in self.academie_codes]

    def __getitem__(self, item: str) -> object:
        # Panels written against a dict (territory["code"]) work as well as attribute access.
        return getattr(self, item)


def _national() -> Scope:
    return Scope("national", "", "France", "", tuple(sorted(catalog().academies)))


def scope_of(kind: str | None, code: str | None = "") -> Scope | None:
    """The scope of this kind and code, or None when there is none."""
    cat = catalog()
    if kind == "national":
        return _national() if not code else None
    if kind == "academie":
        acad = cat.academies.get(code or "")
        return Scope("academie", acad.code, acad.name, acad.slug, (acad.code,)) if acad else None
    if kind == "region":
        reg = cat.regions.get(code or "")
        return Scope("region", reg.code, reg.name, reg.slug, reg.academie_codes) if reg else None
    return None


def scope_by_slug(kind: str, slug: str) -> Scope | None:
    """By URL slug (seven régions share their only académie's slug: the kind disambiguates)."""
    cat = catalog()
    if kind == "academie":
        found = cat.academie_by_slug(slug)
    elif kind == "region":
        found = cat.region_by_slug(slug)
    else:
        return scope_of(kind, slug)
    return scope_of(kind, found.code) if found else None


def resolve_scope(kind: str, ident: str = "") -> Scope | None:
    """By code or slug (both accepted)."""
    return scope_of(kind, ident) or (scope_by_slug(kind, ident) if ident else None)


def scope_from_key(key: str | None) -> Scope | None:
    """Parse « academie:16 » / « region:76 » / « national: » (form values, query strings)."""
    if not key or ":" not in key or len(key) > 20:
        return None
    kind, _sep, code = key.partition(":")
    return scope_of(kind, code)


def all_scopes() -> list[Scope]:
    """The nation, then the 18 régions académiques, then the 30 académies, each by code."""
    cat = catalog()
    scopes = [_national()]
    scopes += [scope_of("region", code) for code in sorted(cat.regions)]
    scopes += [scope_of("academie", code) for code in sorted(cat.academies)]
    return [s for s in scopes if s is not None]
