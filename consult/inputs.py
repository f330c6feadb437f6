"""Inputs that must never reach a view as a 500: ids beyond the INTEGER range, NUL characters,
oversized form bodies, malformed numbers in query strings.

Registered first in :func:`consult.create_app`, so the ``int`` URL converter applies to every
route and the checks run before any other ``before_request`` hook (CSRF included).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.routing import IntegerConverter, ValidationError

from consult.db import SAFE_METHODS

# The largest id or number a route can name: ids and version numbers are INTEGER columns, 32-bit
# signed in PostgreSQL (SQLite would take 64 bits, but the schema is the same on both). A bigger
# number names nothing; handed to the database it fails ("integer out of range", a 500).
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """The app's ``<int:...>`` URL converter: a number beyond :data:`MAX_ID` does not match the
    route, so ``/forums/contributions/99999999999999999999999`` is a plain 404."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if abs(number) > MAX_ID:
            raise ValidationError()
        return number


def bounded_int(value: str | None, default: int, minimum: int = 1, maximum: int = MAX_ID) -> int:
    """A whole number from a query string, or ``default`` when it is missing, malformed (signs
    aside, only ASCII digits: ``"²".isdigit()`` is true yet ``int("²")`` fails) or outside
    ``minimum..maximum`` (a page -5, an id beyond the INTEGER range)."""
    text = (value or "").strip()
    digits = text.removeprefix("-")
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        return default
    number = int(text)
    return number if minimum <= number <= maximum else default


FORM_MIMETYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refuse_nul_bytes() -> Any:
    """A NUL character (U+0000) in the path, the query string or a form field gets a French 400
    before any view runs: PostgreSQL refuses it in text (a 500 otherwise) and no legitimate text
    contains it."""

    def has_nul(pairs: Any) -> bool:
        return any("\x00" in key or "\x00" in value for key, value in pairs)

    found = "\x00" in request.path or has_nul(request.args.items(multi=True))
    if not found and request.method not in SAFE_METHODS and request.mimetype in FORM_MIMETYPES:
        found = has_nul(request.form.items(multi=True))
    if not found:
        return None
    from flask_babel import gettext

    message = gettext(
        "Le texte envoyé contient un caractère nul (invisible) qui n'est pas accepté. "
        "Retirez-le, par exemple en retapant le texte, puis recommencez."
    )
    if request.path.startswith("/api/"):
        from flask import jsonify

        return jsonify({"error": {"status": 400, "message": message}}), 400
    from consult.views import render_error

    return render_error(400, message)


# Form bodies without files (URL-encoded) are read into memory whole, so werkzeug's
# MAX_FORM_MEMORY_SIZE does not apply to them; this bound does. The largest legitimate one, the
# questionnaire definition (300,000 characters, accents encoded on 6 bytes), stays below it.
# Multipart bodies (Retex attachments) keep MAX_CONTENT_LENGTH.
MAX_URLENCODED_BYTES = 2 * 1024 * 1024


def limit_form_size() -> None:
    if request.mimetype == "application/x-www-form-urlencoded":
        limit = request.max_content_length
        request.max_content_length = min(limit or MAX_URLENCODED_BYTES, MAX_URLENCODED_BYTES)


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter  # before any route is added
    app.before_request(limit_form_size)
    app.before_request(refuse_nul_bytes)
