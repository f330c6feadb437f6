"""A territory as the pages, feeds and panels see it: the core's one :class:`Scope` type
(national, a région académique or an académie, with the académies it covers), by the names the
territorial pages use."""

from __future__ import annotations

from consult.territories import Scope, scope_by_slug, scope_from_key, scope_of


def academie(code: str) -> Scope | None:
    return scope_of("academie", code)


def region(code: str) -> Scope | None:
    return scope_of("region", code)


def by_slug(kind: str, slug: str) -> Scope | None:
    return scope_by_slug(kind, slug) if kind in ("academie", "region") else None


def from_scope(kind: str, code: str) -> Scope | None:
    return scope_of(kind, code)


def from_key(key: str | None) -> Scope | None:
    """Parse "academie:16" / "region:76" / "national:" (form values, query strings)."""
    return scope_from_key(key)


def __getattr__(name: str) -> Scope:
    # ``territory.NATIONAL``: built on first use, from the reference data.
    if name == "NATIONAL":
        found = scope_of("national", "")
        assert found is not None
        return found
    raise AttributeError(name)
