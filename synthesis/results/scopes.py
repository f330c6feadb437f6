"""The territories a synthesis is written for: the core's one :class:`Scope` type, looked up
from the results space's URLs (an unknown territory is a 404)."""

from __future__ import annotations

from flask_babel import gettext as _

from consult import territories
from consult.models import Role, User
from consult.territories import Scope
from synthesis.results.base import ResultsError
from synthesis.results_models import SynthesisPublication


def _unknown() -> ResultsError:
    return ResultsError(_("Territoire inconnu."), 404)


def scope(kind: str, code: str = "") -> Scope:
    """A known scope or ResultsError 404 (unknown territory)."""
    found = territories.scope_of(kind, code or "")
    if found is None:
        raise _unknown()
    return found


def scope_from_key(key: str) -> Scope:
    """``nationale``, ``academie-13``, ``region-75`` (:attr:`Scope.url_key`) → the scope."""
    if key == "nationale":
        return scope("national", "")
    kind, _sep, code = key.partition("-")
    if kind not in ("region", "academie") or not code:
        raise _unknown()
    return scope(kind, code)


def scope_from_slug(kind: str, slug: str) -> Scope:
    if kind == "national":
        return scope("national", "")
    found = territories.scope_by_slug(kind, slug)
    if found is None:
        raise _unknown()
    return found


def all_scopes() -> list[Scope]:
    return territories.all_scopes()


def composable_scopes(user: User | None) -> list[Scope]:
    from synthesis.permissions import may_compose

    return [s for s in all_scopes() if may_compose(user, s.kind, s.code)]


def publisher_label(publication: SynthesisPublication) -> str:
    """The publisher by role and territory, never by name (see the model)."""
    if publication.scope_kind == "national" or publication.publisher_role != Role.COORDINATOR:
        if publication.publisher_role == Role.ADMIN:
            return _("Administration de la plateforme")
        return _("Analyste")
    info = scope(publication.scope_kind, publication.scope_code)
    if info.kind == "region":
        return _("Coordination de la région académique %(name)s", name=info.name)
    return _("Coordination académique : %(name)s", name=info.label)
