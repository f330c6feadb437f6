"""Locale selection: French by default, English on request, remembered in a cookie."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, g, request
from flask_login import current_user

LOCALE_COOKIE = "consult_lang"


def visitor_locale(wanted: str | None, cookie: str | None, config: Mapping[str, Any]) -> str:
    """The language of a visitor who is not logged in: ``?lang=``, then the cookie, then French
    (the consultation's language: the browser's preference does not override it). The page
    cache keys visitors' pages on it."""
    languages = config["LANGUAGES"]
    if wanted in languages:
        return wanted  # type: ignore[return-value]
    if cookie in languages:
        return cookie  # type: ignore[return-value]
    return config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> str:
    config = current_app.config
    languages = config["LANGUAGES"]
    if getattr(g, "forced_locale", None) in languages:
        return g.forced_locale
    wanted = request.args.get("lang") if request else None
    cookie = request.cookies.get(LOCALE_COOKIE) if request else None
    if (
        wanted not in languages
        and cookie not in languages
        and current_user
        and current_user.is_authenticated
        and current_user.locale in languages
    ):
        return current_user.locale
    return visitor_locale(wanted, cookie, config)
