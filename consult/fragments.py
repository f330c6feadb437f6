"""Rendered template fragments kept in each worker's memory, keyed by what changes them.

A theme list renders twenty contribution cards; each card is the same HTML for every reader
until its content, its counters or the language change. ``{% call fragment(key...) %}`` in a
template returns the kept HTML for (language, key) or renders the block and keeps it. The key
must name everything the block shows; a fragment never holds anything personal to the reader
(votes pressed, CSRF tokens: those stay outside the call block). ``FRAGMENT_SECONDS`` bounds how
long a fragment lives, for what the key cannot see (a sub-theme renamed by an admin).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from markupsafe import Markup

from consult.cache import MemoryCache

DEFAULT_SECONDS = 300
MAX_ENTRIES = 4096


def fragment(*key: Any, caller: Any) -> Markup:
    from consult.i18n import locale_code

    seconds = int(current_app.config.get("FRAGMENT_SECONDS", DEFAULT_SECONDS))
    if not seconds:
        return Markup(caller())  # noqa: S704 - the template's own output, already escaped
    store: MemoryCache = current_app.extensions["consult_fragments"]
    name = repr((locale_code(), *key))
    html = store.get(name)
    if html is None:
        html = str(caller())
        if "\x00" not in html:  # a hole of a logged-in skeleton (consult.skeleton): not kept
            store.set(name, html, seconds)
    return Markup(html)  # noqa: S704 - the template's own output, already escaped


def init_app(app: Flask) -> None:
    app.extensions["consult_fragments"] = MemoryCache(MAX_ENTRIES)
    app.add_template_global(fragment, "fragment")
