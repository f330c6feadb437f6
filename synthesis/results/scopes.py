"""The territories a synthesis is written for, as the results space names them in URLs and
titles."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from consult.models import Role, User
from consult.territories import academie_label, catalog
from synthesis import catalog as tables
from synthesis.results.base import ResultsError
from synthesis.results_models import (
    SynthesisPublication,
)


@dataclass(frozen=True)
class ScopeInfo:
    kind: str
    code: str

    @property
    def key(self) -> str:
        """The scope in composer URLs: ``nationale``, ``academie-13``, ``region-75``."""
        return "nationale" if self.kind == "national" else f"{self.kind}-{self.code}"

    @property
    def name(self) -> str:
        cat = catalog()
        if self.kind == "region":
            return _("Région académique %(name)s", name=cat.regions[self.code].name)
        if self.kind == "academie":
            return academie_label(cat.academies[self.code].name)
        return _("France entière")

    @property
    def title(self) -> str:
        if self.kind == "national":
            return _("Synthèse nationale")
        return _("Synthèse : %(territory)s", territory=self.name)

    @property
    def slug(self) -> str:
        cat = catalog()
        if self.kind == "region":
            return cat.regions[self.code].slug
        if self.kind == "academie":
            return cat.academies[self.code].slug
        return ""

    @property
    def synthesis_path(self) -> str:
        """The compiled figures of this scope on /syntheses/ (pages helper's URLs)."""
        if self.kind == "region":
            return f"/syntheses/region/{self.slug}/"
        if self.kind == "academie":
            return f"/syntheses/{self.slug}/"
        return "/syntheses/"

    def academie_codes(self) -> set[str]:
        cat = catalog()
        if self.kind == "region":
            return set(cat.regions[self.code].academie_codes)
        if self.kind == "academie":
            return {self.code}
        return set(cat.academies)


def scope(kind: str, code: str = "") -> ScopeInfo:
    """A known scope or ResultsError 404 (unknown territory)."""
    try:
        found = tables.resolve_scope(kind, code or "")
    except tables.UnknownScope:
        raise ResultsError(_("Territoire inconnu."), 404) from None
    return ScopeInfo(found.kind, found.code)


def scope_from_key(key: str) -> ScopeInfo:
    if key == "nationale":
        return scope("national", "")
    kind, _sep, code = key.partition("-")
    if kind not in ("region", "academie") or not code:
        raise ResultsError(_("Territoire inconnu."), 404)
    return scope(kind, code)


def scope_from_slug(kind: str, slug: str) -> ScopeInfo:
    cat = catalog()
    if kind == "national":
        return ScopeInfo("national", "")
    found = cat.region_by_slug(slug) if kind == "region" else cat.academie_by_slug(slug)
    if found is None:
        raise ResultsError(_("Territoire inconnu."), 404)
    return ScopeInfo(kind, found.code)


def all_scopes() -> list[ScopeInfo]:
    return [ScopeInfo(s.kind, s.code) for s in tables.all_scopes()]


def composable_scopes(user: User | None) -> list[ScopeInfo]:
    from synthesis.permissions import may_compose

    return [s for s in all_scopes() if may_compose(user, s.kind, s.code)]


def publisher_label(publication: SynthesisPublication) -> str:
    """The publisher by role and territory, never by name (see the model)."""
    if publication.scope_kind == "national" or publication.publisher_role != Role.COORDINATOR:
        if publication.publisher_role == Role.ADMIN:
            return _("Administration de la plateforme")
        return _("Analyste")
    info = ScopeInfo(publication.scope_kind, publication.scope_code)
    if info.kind == "region":
        return _(
            "Coordination de la région académique %(name)s", name=catalog().regions[info.code].name
        )
    return _("Coordination académique : %(name)s", name=info.name)
