"""Locale selection: French by default, English on request, remembered in a cookie."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, g, request
from flask.globals import _cv_app
from flask_babel import get_translations
from flask_login import current_user
from jinja2 import pass_eval_context
from markupsafe import Markup

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


def person_locale(
    wanted: str | None, cookie: str | None, account: str | None, config: Mapping[str, Any]
) -> str:
    """The language of a logged-in person: ``?lang=`` and the cookie first, as for a visitor,
    then the language saved on their account (``account``), then French. The logged-in fast
    path (consult.skeleton) picks the skeleton's language with it."""
    languages = config["LANGUAGES"]
    if wanted not in languages and cookie not in languages and account in languages:
        return account  # type: ignore[return-value]
    return visitor_locale(wanted, cookie, config)


def select_locale() -> str:
    config = current_app.config
    languages = config["LANGUAGES"]
    if getattr(g, "forced_locale", None) in languages:
        return g.forced_locale
    wanted = request.args.get("lang") if request else None
    cookie = request.cookies.get(LOCALE_COOKIE) if request else None
    account = None
    # The account is loaded only when neither the address nor the cookie decides.
    if wanted not in languages and cookie not in languages and current_user:
        account = current_user.locale if current_user.is_authenticated else None
    return person_locale(wanted, cookie, account, config)


# --- Template translations: one catalogue lookup per request ------------------------------------
#
# Flask-Babel's template callables walk its context (several ``g`` lookups, the locale, its
# cache keyed by str(locale)) for every string: hundreds of times on a list page, a third of
# its rendering time. These keep the request's catalogue beside Flask-Babel's own locale and
# find it again in one step; a new locale (``force_locale`` for a mail, ``refresh``) is a new
# Locale object, so the catalogue follows it.


def _translations() -> Any:
    ctx = _cv_app.get(None)
    namespace = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    if namespace is not None:
        cached = namespace.__dict__.get("consult_translations")
        if cached is not None and cached[0] is namespace.__dict__.get("babel_locale"):
            return cached[1]
    translations = get_translations()
    namespace = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    if namespace is not None and namespace.__dict__.get("babel_locale") is not None:
        namespace.consult_translations = (namespace.babel_locale, translations)
    return translations


def _format(eval_ctx: Any, rv: str, variables: dict) -> str:
    """Jinja's "new style" gettext, as jinja2.ext does it: the message is a format string
    (always, so "%%" means "%"), marked safe before formatting when autoescaping, so the
    variables are escaped and the catalogue's own text (the project's, never a visitor's) is
    not."""
    if eval_ctx.autoescape:
        rv = Markup(rv)  # noqa: S704 - catalogue text, written by the project
    return rv % variables


@pass_eval_context
def _gettext(eval_ctx: Any, string: str, /, **variables: Any) -> str:
    rv = _translations().ugettext(string)
    return _format(eval_ctx, rv, variables)


@pass_eval_context
def _ngettext(eval_ctx: Any, singular: str, plural: str, num: int, /, **variables: Any) -> str:
    # Positional-only, as Jinja's own: a template may pass num=<formatted number> for display.
    variables.setdefault("num", num)
    rv = _translations().ungettext(singular, plural, num)
    return _format(eval_ctx, rv, variables)


@pass_eval_context
def _pgettext(eval_ctx: Any, context: str, string: str, /, **variables: Any) -> str:
    variables.setdefault("context", context)
    rv = _translations().upgettext(context, string)
    return _format(eval_ctx, rv, variables)


@pass_eval_context
def _npgettext(
    eval_ctx: Any, context: str, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("context", context)
    variables.setdefault("num", num)
    rv = _translations().unpgettext(context, singular, plural, num)
    return _format(eval_ctx, rv, variables)


def install_template_gettext(app: Flask) -> None:
    """Replace Flask-Babel's template callables (installed by babel.init_app) with these."""
    app.jinja_env.newstyle_gettext = True  # type: ignore[attr-defined]
    app.jinja_env.globals.update(
        _=_gettext,
        gettext=_gettext,
        ngettext=_ngettext,
        pgettext=_pgettext,
        npgettext=_npgettext,
    )


# --- WTForms' own messages: one catalogue per language and process ------------------------------
# Flask-WTF reads WTForms' catalogue from disk (babel's Translations.load) on every request that
# builds a form: each logged-in page and each POST (a vote spent a tenth of its time there).


@functools.lru_cache(maxsize=8)
def _wtforms_catalogue(locale: str) -> Any:
    from babel import support
    from wtforms.i18n import messages_path

    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsTranslations:
    """What Flask-WTF looks for on the request: the language is resolved when a message is
    first translated (as Flask-WTF does), only the catalogue is shared."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalogue(locale_code()).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(locale_code()).ungettext(singular, plural, n)


_WTFORMS_TRANSLATIONS = _WTFormsTranslations()


def install_wtforms_catalogue(app: Flask) -> None:
    @app.before_request
    def _shared_wtforms_catalogue() -> None:
        request.wtforms_translations = _WTFORMS_TRANSLATIONS  # type: ignore[attr-defined]


def locale_code() -> str:
    """The request's language code, found like the catalogue (for cache keys)."""
    ctx = _cv_app.get(None)
    namespace = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    locale = namespace.__dict__.get("babel_locale") if namespace is not None else None
    if locale is None:
        from flask_babel import get_locale

        locale = get_locale()
    return str(locale or "fr")
