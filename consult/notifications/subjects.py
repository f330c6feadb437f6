"""What can be followed and what a notification can be about.

A subject kind knows how to load its object, link to it, title it and whether anyone may read it.
Moderated kinds (contributions, comments, ideas) take all of this from the moderation registry,
so the visibility rule and the links keep one home; the others (themes, académies, Retex sheets,
events, news) are declared here. Packages that are not installed simply declare nothing.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from consult import moderation


@dataclass(frozen=True)
class Subject:
    kind: str
    label: Any
    load: Callable[[Session, str], object | None]
    url: Callable[[object], str]
    title: Callable[[object], str]
    public: Callable[[object], bool]
    # May people follow it with the button? (Retex sheets are followed by their author only.)
    followable: bool = True
    # The model loaded by ``load`` when it is one row by id: a page of notifications loads
    # its subjects in one query per kind (services.describe_all).
    model: type | None = None


_SUBJECTS: dict[str, Subject] = {}


def get(kind: str) -> Subject | None:
    return _SUBJECTS.get(kind)


def all_subjects() -> dict[str, Subject]:
    return _SUBJECTS


def _int_key(key: str) -> int | None:
    # Keys come from forms: anything but a plain small positive integer is no object.
    if not key.isdigit() or len(key) > 10:
        return None
    return int(key)


def _from_moderation(kind: str, label: Any, followable: bool) -> None:
    def load(session: Session, key: str) -> object | None:
        ident = _int_key(key)
        if ident is None:
            return None
        found = moderation.load_target(session, kind, ident)
        return found[1] if found else None

    registered = moderation.get_kind(kind)
    if registered is None:
        return
    _SUBJECTS[kind] = Subject(
        kind,
        label,
        load,
        registered.url,
        registered.title,
        moderation.is_public,
        followable,
        registered.model,
    )


def _by_id(model: type) -> Callable[[Session, str], object | None]:
    def load(session: Session, key: str) -> object | None:
        ident = _int_key(key)
        return session.get(model, ident) if ident is not None else None

    return load


def register_all(app: Any) -> None:
    """Called by init_app, after the feature packages registered their moderation kinds."""
    if importlib.util.find_spec("forums") is not None and moderation.get_kind("contribution"):
        from forums.models import Theme

        _from_moderation("contribution", _l("contribution"), True)
        _from_moderation("comment", _l("commentaire"), False)
        _SUBJECTS["theme"] = Subject(
            "theme",
            _l("thème"),
            _by_id(Theme),
            lambda t: url_for("forums.theme", slug=t.slug),
            lambda t: t.title,
            lambda t: True,
            model=Theme,
        )
    if moderation.get_kind("idea"):
        _from_moderation("idea", _l("idée"), True)
    if "territories" in app.blueprints:
        from consult.territorial import territory
        from consult.territorial.models import Event, NewsItem

        _SUBJECTS["academie"] = Subject(
            "academie",
            _l("académie"),
            lambda session, code: territory.academie(code) if len(code) <= 3 else None,
            lambda t: url_for("territories.academie", slug=t.slug),
            lambda t: t.label,
            lambda t: True,
        )
        _SUBJECTS["event"] = Subject(
            "event",
            _l("rencontre"),
            _by_id(Event),
            lambda e: url_for("territories.event", event_id=e.id),
            lambda e: e.title,
            moderation.is_public,
            followable=False,
            model=Event,
        )
        _SUBJECTS["news"] = Subject(
            "news",
            _l("actualité"),
            _by_id(NewsItem),
            lambda n: url_for("territories.news_item", news_id=n.id),
            lambda n: n.title,
            moderation.is_public,
            followable=False,
            model=NewsItem,
        )
    if importlib.util.find_spec("retex") is not None:
        from retex.models import RetexSheet

        _SUBJECTS["retex"] = Subject(
            "retex",
            _l("fiche Retex"),
            _by_id(RetexSheet),
            lambda s: url_for("retex.show", sheet_id=s.id),
            lambda s: s.title,
            moderation.is_public,
            followable=False,
            model=RetexSheet,
        )
