"""CSRF tokens masked per use, against BREACH.

Pages are compressed (``consult.static_assets``) and carry the CSRF token beside text an attacker
can make the page reflect (a search box, a ``next`` parameter): with enough requests, the
compressed length gives the token away a character at a time (BREACH). As Django does, every
token written into a page is the real one XORed with a fresh random pad, the pad sent alongside:
no two pages (no two forms of one page) carry the same bytes, so there is nothing stable to guess,
and the server takes the pad off before Flask-WTF checks the token as usual.

Flask-WTF generates and checks tokens through two functions of ``flask_wtf.csrf`` (the Jinja
global, the forms' hidden field and ``CSRFProtect`` all call them): they are wrapped once here.
A token without the mask's prefix is checked as it is (tests sign raw ones).
"""

from __future__ import annotations

import base64
import binascii
import os
import time
from typing import Any

import flask_wtf.csrf as wtf_csrf
from flask import Flask

PREFIX = "m."
_generate = wtf_csrf.generate_csrf
_validate = wtf_csrf.validate_csrf


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    # base64.urlsafe_b64encode's own steps, without its two Python-level calls (a page has
    # twenty-odd tokens).
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).decode("ascii").rstrip("=")


def _xor(data: bytes, pad: bytes) -> bytes:
    # One big-integer XOR instead of a generator over the bytes: a theme list carries twenty-odd
    # tokens, each masked on its own.
    size = len(data)
    return (int.from_bytes(data, "big") ^ int.from_bytes(pad, "big")).to_bytes(size, "big")


def mask(token: str) -> str:
    raw = token.encode("ascii")
    pad = os.urandom(len(raw))
    return PREFIX + _b64(pad + _xor(raw, pad))


def masks(token: str, count: int) -> list[str]:
    """``count`` masks of one token, each with its own pad, read from the system in one go
    (the logged-in fast path fills every form of a page at once)."""
    raw = token.encode("ascii")
    size = len(raw)
    value = int.from_bytes(raw, "big")
    pads = os.urandom(size * count)
    out = []
    for start in range(0, size * count, size):
        pad = pads[start : start + size]
        masked = (value ^ int.from_bytes(pad, "big")).to_bytes(size, "big")
        out.append(PREFIX + _b64(pad + masked))
    return out


def unmask(value: Any) -> Any:
    """The real token behind a masked one; anything else unchanged (Flask-WTF refuses it)."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return value
    body = value.removeprefix(PREFIX)
    try:
        data = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        return ""
    if not data or len(data) % 2:
        return ""
    half = len(data) // 2
    pad, masked = data[:half], data[half:]
    try:
        return _xor(masked, pad).decode("ascii")
    except UnicodeDecodeError:
        return ""


def generate_masked(secret_key: Any = None, token_key: Any = None) -> str:
    from consult import skeleton

    render = skeleton.current_render()
    if render is not None:
        # A shared skeleton holds no token: each reader's own is written into the hole.
        return render.csrf_hole()
    return mask(_generate(secret_key=secret_key, token_key=token_key))


_signed: dict[str, tuple[int, str]] = {}
_SIGNED_MAX = 4096


def signed_token() -> str:
    """The request's token as Flask-WTF signs it (unmasked): the logged-in fast path masks it
    into each hole of a skeleton. Signing costs as much as filling a page; itsdangerous stamps
    whole seconds, so the token signed for this session earlier in the same second is the very
    one Flask-WTF signs now, and each worker keeps it for that second."""
    from flask import current_app, session

    secret = session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"))
    before = int(time.time())
    kept = _signed.get(secret) if isinstance(secret, str) else None
    if kept is not None and kept[0] == before:
        return kept[1]
    token = _generate()
    if isinstance(secret, str) and int(time.time()) == before:
        if len(_signed) >= _SIGNED_MAX:
            _signed.clear()
        _signed[secret] = (before, token)
    return token


def validate_masked(
    data: Any, secret_key: Any = None, time_limit: Any = None, token_key: Any = None
) -> None:
    _validate(unmask(data), secret_key=secret_key, time_limit=time_limit, token_key=token_key)


def init_app(app: Flask) -> None:
    """After ``csrf.init_app``: pages, forms and the request check all go through the mask."""
    wtf_csrf.generate_csrf = generate_masked
    wtf_csrf.validate_csrf = validate_masked
    app.jinja_env.globals["csrf_token"] = generate_masked
