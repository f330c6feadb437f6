"""Extension points the feature packages plug into from their ``init_app``.

The core stays ignorant of forums, surveys, Retex or syntheses, yet the home page counts their
items, the account page exports and erases their personal data, the demo generator fills them and
the navigation links to them. Each hook is a list of callables kept in ``app.extensions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app


@dataclass
class NavItem:
    label: Any  # lazy gettext string
    endpoint: str
    order: int = 100


@dataclass
class StaffLink:
    """A staff area in the header, shown to whoever the package's policy lets in: the link's
    ``permission`` (with no object) is the very check the area's view makes, so no role is
    shown a link that answers 403."""

    label: Any  # lazy gettext string
    endpoint: str
    permission: Any  # a package Permission enum member
    order: int = 100


@dataclass
class Hooks:
    # () -> dict[str, int]: public participation counters for the home page.
    counters: list[Callable[[], dict[str, int]]] = field(default_factory=list)
    # Label shown under each counter key.
    counter_labels: dict[str, Any] = field(default_factory=dict)
    # (session, user) -> dict: the user's personal data, merged into the JSON download.
    personal_data: list[Callable[[Any, Any], dict]] = field(default_factory=list)
    # (session, user) -> None: erase or anonymise what the package holds when an account goes.
    account_deletion: list[Callable[[Any, Any], None]] = field(default_factory=list)
    # (session, scale, rng, progress) -> None: demo content, run in registration order.
    demo_steps: list[tuple[str, Callable[..., None]]] = field(default_factory=list)
    # Templates included on the account page (/compte/), each rendered with ``user``:
    # notifications, my contributions, my ideas...
    account_panels: list[str] = field(default_factory=list)
    # Templates included on a territory page (/territoires/<académie>/ and région académique
    # pages), each rendered with ``territory`` (kind "academie" or "region", code, name) and
    # ``academie_codes`` (the académies it covers): Retex sheets, syntheses...
    territory_panels: list[str] = field(default_factory=list)
    # Templates included on an event page (/territoires/evenements/<id>), each rendered with
    # ``event``: the contributions collected at the meeting...
    event_panels: list[str] = field(default_factory=list)
    # Main navigation entries; only those whose endpoint exists are shown.
    nav: list[NavItem] = field(default_factory=list)
    # Staff areas (moderation, access codes, Retex review, composer...), per permission.
    staff_nav: list[StaffLink] = field(default_factory=list)


def init_app(app: Flask) -> None:
    app.extensions["consult_hooks"] = Hooks()


def hooks(app: Flask | None = None) -> Hooks:
    return (app or current_app).extensions["consult_hooks"]
