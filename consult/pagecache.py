"""The shared page cache for visitors who have not logged in.

During a consultation most requests are visitors reading: the same theme list, the same
contribution, in the same language. Their GET pages are kept a few seconds (``PAGE_CACHE_SECONDS``,
10 by default) in the shared store (Redis when ``REDIS_URL`` is set, a bounded in-process
dictionary otherwise) and served again without running the application.

The rules, all in this module:

- only requests without a session or remember cookie are served or stored (a logged-in person,
  or a visitor with a session — a survey access code, a CSRF token —, always gets their own
  page), only GET (HEAD is answered from the GET entry; a request holding the stored
  page's validator gets a 304), never a range request,
  and only on a trusted host;
- the key is the path, the query, the language (``consult.i18n.visitor_locale``), the
  negotiated content encoding and whether JSON was asked for — never the Host header;
- only a 200 with a known length (never a streamed export) under ``PAGE_CACHE_MAX_BYTES``, with
  no ``Set-Cookie`` and no ``private`` or ``no-store`` cache control is stored (a page with a
  flash or a form sets a cookie, so it is never shared);
- every database write of content moves the content generation (see ``_after_flush``); an
  entry built under an older generation is not served, so a new contribution or a moderator's
  decision shows at once. Votes and answers are "quiet" (:func:`quiet`): the counters they move
  are at most ``PAGE_CACHE_SECONDS`` old on a cached page.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_cookie
from werkzeug.sansio.utils import host_is_trusted
from werkzeug.wsgi import get_host

from consult.cache import MemoryCache, RedisCache

GENERATION_KEY = "page:generation"
GENERATION_SECONDS = 90 * 24 * 3600
DEFAULT_SECONDS = 10
DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_MAX_ENTRIES = 512
DEFAULT_LOCAL_SECONDS = 1
MAX_TARGET_LENGTH = 1024  # longer path + query: not worth a cache entry (and not attacker-sized)
HIT_HEADER = "X-Consult-Cache"
# Headers that describe one transmission, not the page.
_NOT_STORED = frozenset({"set-cookie", "date", "connection", "transfer-encoding", "keep-alive"})

# Requests whose answer depends on more than the URL: conditional, partial, authenticated.
_BYPASS_HEADERS = (
    "HTTP_IF_NONE_MATCH",
    "HTTP_IF_MODIFIED_SINCE",
    "HTTP_RANGE",
    "HTTP_AUTHORIZATION",
)

_quiet: set[type] = set()


def quiet(*models: type) -> None:
    """Writes of these models do not move the content generation: high-rate writes (votes,
    questionnaire answers) whose only trace on public pages is a counter, which may be a few
    seconds old there."""
    _quiet.update(models)


# --- The content generation ---------------------------------------------------------------------


def _store(app: Flask) -> Any:
    return app.extensions["consult_page_store"]


def content_generation(app: Flask) -> str:
    try:
        value = _store(app).get_raw([GENERATION_KEY])[0]
    except Exception:
        return "0"
    return value.decode("ascii") if value else "0"


def bump(app: Flask) -> None:
    value = str(time.time_ns()).encode()
    middleware = app.extensions.get("consult_page_cache")
    if middleware is not None:  # this worker sees its own writes at once
        middleware.generation = (value, time.monotonic())
    # A cache outage must never fail the write that caused the bump.
    with contextlib.suppress(Exception):
        _store(app).set_raw(GENERATION_KEY, value, GENERATION_SECONDS)


def _changes_content(session: Session) -> bool:
    return any(
        type(obj) not in _quiet
        for group in (session.new, session.dirty, session.deleted)
        for obj in group
    )


def _after_flush(session: Session, _context: Any) -> None:
    from flask import current_app

    if not has_app_context() or "consult_page_store" not in current_app.extensions:
        return
    if _changes_content(session):
        # Now (a page rendered by another request before the commit would otherwise be stored
        # under the new generation... with old content) and again after the commit.
        bump(current_app)
        session.info["consult_content_changed"] = True


def _after_commit(session: Session) -> None:
    from flask import current_app

    changed = session.info.pop("consult_content_changed", False)

    if changed and has_app_context() and "consult_page_store" in current_app.extensions:
        bump(current_app)


# --- The WSGI middleware ------------------------------------------------------------------------


class PageCache:
    """In front of the Flask application (inside ProxyFix, so hosts and schemes are the
    client's): answers cookie-less GETs from the store, stores what may be shared."""

    def __init__(self, app: Flask, wsgi_app: Callable, local_seconds: float = 0) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        # In front of Redis, each worker keeps the generation and the entries it served for
        # ``local_seconds``: a hit then costs no network round trip (which was most of its
        # cost). Other workers' writes reach it within that time; its own at once (bump).
        self.local_seconds = local_seconds
        self.local = MemoryCache(DEFAULT_MAX_ENTRIES) if local_seconds else None
        self.generation: tuple[bytes, float] = (b"0", float("-inf"))

    def current_generation(self, store: Any) -> bytes:
        """The content generation, read from the store at most every ``local_seconds`` (the
        logged-in skeletons of consult.skeleton follow it too)."""
        if self.local is not None:
            generation, fetched = self.generation
            if time.monotonic() - fetched < self.local_seconds:
                return generation
        generation = store.get_raw([GENERATION_KEY])[0] or b"0"
        if self.local is not None:
            self.generation = (generation, time.monotonic())
        return generation

    def _lookup(self, store: Any, key: str) -> tuple[bytes, bytes | None]:
        if self.local is not None:
            generation, fetched = self.generation
            if time.monotonic() - fetched < self.local_seconds:
                entry = self.local.get(key)
                if entry is None:  # another worker may have stored it
                    entry = store.get_raw([key])[0]
                    if entry is not None:
                        self.local.set(key, entry, int(self.local_seconds) or 1)
                return generation, entry
        generation, entry = store.get_raw([GENERATION_KEY, key])
        generation = generation or b"0"
        if self.local is not None:
            self.generation = (generation, time.monotonic())
            if entry is not None:
                self.local.set(key, entry, int(self.local_seconds) or 1)
        return generation, entry

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        key = self._key(environ)
        if key is None:
            return self.wsgi_app(environ, start_response)
        config = self.app.config
        store = _store(self.app)
        try:
            generation, entry = self._lookup(store, key)
        except Exception:
            return self.wsgi_app(environ, start_response)
        if entry is not None:
            head, _sep, body = entry.partition(b"\n")
            meta = json.loads(head)
            if meta["g"] == generation.decode("ascii"):
                headers = [(k, v) for k, v in meta["h"]] + [(HIT_HEADER, "hit")]
                if _revalidated(environ, headers):
                    # The visitor holds this very page: headers only (consult.static_assets
                    # tags every page with a weak validator).
                    kept = [(k, v) for k, v in headers if k.lower() in _REVALIDATION_HEADERS]
                    start_response("304 NOT MODIFIED", kept)
                    return []
                start_response(meta["s"], headers)
                return [] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        if environ["REQUEST_METHOD"] != "GET":
            return self.wsgi_app(environ, start_response)
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        app_iter = self.wsgi_app(environ, capture)
        if not self._storable(captured, int(config.get("PAGE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES))):
            return app_iter
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        meta = {
            "g": generation.decode("ascii"),
            "s": captured["status"],
            "h": [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_STORED],
        }
        # The local copy may outlive the shared one by local_seconds: the total stays the bound.
        seconds = max(
            1, int(config.get("PAGE_CACHE_SECONDS", DEFAULT_SECONDS) - self.local_seconds)
        )
        entry = json.dumps(meta).encode() + b"\n" + body
        with contextlib.suppress(Exception):
            store.set_raw(key, entry, seconds)
        if self.local is not None:
            self.local.set(key, entry, int(self.local_seconds) or 1)
        return [body]

    def _key(self, environ: dict) -> str | None:
        config = self.app.config
        if not config.get("PAGE_CACHE_SECONDS"):
            return None
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return None
        if any(
            h in environ
            for h in (
                "HTTP_IF_MODIFIED_SINCE",
                "HTTP_RANGE",
                "HTTP_AUTHORIZATION",
            )
        ):
            return None
        cookies = parse_cookie(environ)
        if (
            config["SESSION_COOKIE_NAME"] in cookies
            or config.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies
        ):
            return None
        trusted = config.get("TRUSTED_HOSTS")
        if trusted and not host_is_trusted(get_host(environ), trusted):
            return None  # the application answers a forged host with its refusal
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        if len(path) + len(query) > MAX_TARGET_LENGTH:
            return None
        from consult.i18n import LOCALE_COOKIE, visitor_locale
        from consult.static_assets import negotiate_encoding
        from consult.web import wants_json

        args_lang = None
        if "lang=" in query:
            from urllib.parse import parse_qs

            args_lang = (parse_qs(query).get("lang") or [None])[0]
        locale = visitor_locale(args_lang, cookies.get(LOCALE_COOKIE), config)
        encoding = negotiate_encoding(parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING")))
        json_wanted = wants_json(parse_accept_header(environ.get("HTTP_ACCEPT"), MIMEAccept))
        target = f"{locale}\0{encoding or ''}\0{int(json_wanted)}\0{path}?{query}"
        return "page:" + hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()

    @staticmethod
    def _storable(captured: dict, max_bytes: int) -> bool:
        if not captured.get("status", "").startswith("200"):
            return False
        headers = {k.lower(): v for k, v in captured["headers"]}
        if "set-cookie" in headers or "content-length" not in headers:
            return False
        cache_control = headers.get("cache-control", "").lower()
        if "no-store" in cache_control or "private" in cache_control:
            return False
        try:
            return int(headers["content-length"]) <= max_bytes
        except ValueError:
            return False


_REVALIDATION_HEADERS = frozenset({"etag", "cache-control", "vary", HIT_HEADER.lower()})


def _revalidated(environ: dict, headers: list[tuple[str, str]]) -> bool:
    wanted = environ.get("HTTP_IF_NONE_MATCH")
    if not wanted:
        return False
    etag = next((v for k, v in headers if k.lower() == "etag"), None)
    if etag is None:
        return False
    # Weak comparison (RFC 9110 §8.8.3.2): W/"x" and "x" name the same page.
    tags = {tag.strip().removeprefix("W/") for tag in wanted.split(",")}
    return etag.removeprefix("W/") in tags or "*" in tags


def init_app(app: Flask) -> None:

    app.config.setdefault("PAGE_CACHE_SECONDS", DEFAULT_SECONDS)
    app.config.setdefault("PAGE_CACHE_MAX_BYTES", DEFAULT_MAX_BYTES)
    url = app.config.get("REDIS_URL")
    prefix = app.config.get("CACHE_KEY_PREFIX", "consult:")
    # Its own bounded store in memory, so pages never push the hot counters out of the other.
    size = int(app.config.get("PAGE_CACHE_MAX_ENTRIES", DEFAULT_MAX_ENTRIES))
    app.extensions["consult_page_store"] = RedisCache(url, prefix) if url else MemoryCache(size)
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_commit", _after_commit)
    from werkzeug.middleware.proxy_fix import ProxyFix

    local = float(app.config.get("PAGE_CACHE_LOCAL_SECONDS", DEFAULT_LOCAL_SECONDS)) if url else 0
    if isinstance(app.wsgi_app, ProxyFix):
        middleware = app.wsgi_app.app = PageCache(app, app.wsgi_app.app, local)
    else:
        middleware = app.wsgi_app = PageCache(app, app.wsgi_app, local)  # type: ignore[method-assign]
    app.extensions["consult_page_cache"] = middleware
