"""What each space offers to the syntheses, registered with the core the way
``consult.moderation`` registers moderatable kinds: the synthesis package reads this registry,
so a new space feeds the syntheses and can be cited by a published synthesis without an edit in
``synthesis/``.

- an **activity** is a participation indicator (« votes », « idea_supports »…): the SQL of its
  rows at person grain, only what counts (the space's own visibility rule), one row per act with
  the author snapshot (``user_id``, ``academie_code``, ``audience``) and its moment (``at``);
- a **citable** kind is an item a synthesis proposal may cite as a source (« contribution:123 »
  or the item's page URL): how to load it, whether it is public, which territory it belongs to,
  its title and its URL.

Each space registers in its ``init_app`` (idempotent: apps built again re-register).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class Activity:
    indicator: str
    # (session) → SELECT user_id, academie_code, audience, at FROM … WHERE <visible>
    sql: Callable[[Session], str]
    label: Any = None
    # False: each row is a person of its own, detached from any account (questionnaire
    # responses): counted apart, never merged into « participants ».
    accounts: bool = True
    position: int = 100  # order of the indicator in the tables
    # Further columns the SQL returns for the space's own synthesis tables (the forums'
    # contribution_id and adopt of a vote…): read in the same pass as the participation rows.
    extra: tuple[str, ...] = ()
    # True when no returned value ever holds a comma or a newline (codes, numbers, dates): the
    # engine then reads the rows as server-built blocks of lines, several times faster.
    plain: bool = True


@dataclass(frozen=True)
class Citable:
    kind: str  # stored in synthesis_source.kind and written « kind:123 »
    label: Any  # badge of a cited source (« Contribution »)
    model: type  # with ``id`` and the ``is_public`` hybrid (one query per kind, SQL side)
    load: Callable[[Session, int], Any]
    title: Callable[[Session, Any], str]
    url: Callable[[Any], str]
    # The académie an item belongs to, or None for items any territory may cite (the national
    # forums). ``in_scope`` overrides it when the rule is not « its académie is in the scope ».
    academie: Callable[[Session, Any], str | None] | None = None
    in_scope: Callable[[Session, Any, Any], bool] | None = None
    aliases: tuple[str, ...] = ()
    path: re.Pattern[str] | None = None  # this site's page of an item, group 1 = its id
    missing: Any = None  # French message, %(id)s: « … n'existe pas ou n'est pas publique. »
    named: Any = None  # « L'idée n°%(id)s » in the territory refusal


_ACTIVITIES: dict[str, Activity] = {}
_CITABLES: dict[str, Citable] = {}


def register_activity(activity: Activity) -> None:
    _ACTIVITIES[activity.indicator] = activity


def register_citable(citable: Citable) -> None:
    _CITABLES[citable.kind] = citable


def unregister(name: str) -> None:
    """Tests only: remove an activity or citable kind registered by a test."""
    _ACTIVITIES.pop(name, None)
    _CITABLES.pop(name, None)


def activities() -> list[Activity]:
    return sorted(_ACTIVITIES.values(), key=lambda a: (a.position, a.indicator))


def citables() -> dict[str, Citable]:
    return dict(_CITABLES)


def citable(kind: str) -> Citable | None:
    found = _CITABLES.get(kind)
    if found is not None:
        return found
    return next((c for c in _CITABLES.values() if kind in c.aliases), None)


def citable_by_path(path: str) -> tuple[Citable, str] | None:
    for item in _CITABLES.values():
        if item.path is not None and (match := item.path.match(path)):
            return item, match.group(1)
    return None
