"""Locale selection: French by default, English on request, remembered in a cookie."""

from __future__ import annotations

from flask import current_app, g, request
from flask_login import current_user

LOCALE_COOKIE = "consult_lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if getattr(g, "forced_locale", None) in languages:
        return g.forced_locale
    wanted = request.args.get("lang") if request else None
    if wanted in languages:
        return wanted
    cookie = request.cookies.get(LOCALE_COOKIE) if request else None
    if cookie in languages:
        return cookie
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    # French is the consultation's language: the browser's preference does not override it.
    return current_app.config["BABEL_DEFAULT_LOCALE"]
