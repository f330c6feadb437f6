"""A territory as the pages, feeds and panels see it: national, a région académique or an
académie, with the académies it covers."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from consult.territories import academie_label, catalog


@dataclass(frozen=True)
class Territory:
    kind: str  # "national" | "region" | "academie"
    code: str
    name: str
    slug: str
    academie_codes: tuple[str, ...]

    @property
    def label(self) -> str:
        if self.kind == "academie":
            return academie_label(self.name)
        if self.kind == "region":
            return _("Région académique %(name)s", name=self.name)
        return _("National")

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.code}"

    def __getitem__(self, item: str) -> object:
        # Panels written against a dict (territory["code"]) work as well as attribute access.
        return getattr(self, item)

    def scopes(self) -> list[tuple[str, str]]:
        """(scope_kind, scope_code) pairs whose events and news belong on this territory's
        pages: an académie shows its own and its région's; a région, its own and all of its
        académies'; national shows everything (empty list means no filter)."""
        if self.kind == "national":
            return []
        if self.kind == "academie":
            region = catalog().region_of(self.code)
            return [("academie", self.code), ("region", region or "")]
        return [("region", self.code)] + [("academie", c) for c in self.academie_codes]


NATIONAL = Territory("national", "", "France", "national", ())


def academie(code: str) -> Territory | None:
    acad = catalog().academies.get(code)
    if acad is None:
        return None
    return Territory("academie", acad.code, acad.name, acad.slug, (acad.code,))


def region(code: str) -> Territory | None:
    reg = catalog().regions.get(code)
    if reg is None:
        return None
    return Territory("region", reg.code, reg.name, reg.slug, reg.academie_codes)


def by_slug(kind: str, slug: str) -> Territory | None:
    cat = catalog()
    if kind == "academie":
        acad = cat.academie_by_slug(slug)
        return academie(acad.code) if acad else None
    reg = cat.region_by_slug(slug)
    return region(reg.code) if reg else None


def from_scope(kind: str, code: str) -> Territory | None:
    if kind == "national":
        return NATIONAL
    if kind == "academie":
        return academie(code)
    if kind == "region":
        return region(code)
    return None


def from_key(key: str | None) -> Territory | None:
    """Parse "academie:16" / "region:76" / "national:" (form values, query strings)."""
    if not key or ":" not in key or len(key) > 20:
        return None
    kind, _sep, code = key.partition(":")
    return from_scope(kind, code)
