"""Logged-in pages from a shared skeleton with per-person holes ("hole punching", as ESI does).

A logged-in person reading a theme list or a contribution sees the page everyone of their kind
sees, except for a few spots: their pseudonym and bell in the header, the CSRF tokens of the
forms, the state of each vote box and follow button. Rendering the whole page for each of them
costs ~10 ms; this module renders it once per (path and query, language, content generation,
viewer class) with every such spot left as a hole, keeps that skeleton in the page cache's store
(Redis in production, memory in the embedded default) and, for each request, fills the holes
with the person's own values read in one SQL statement.

The rules, all in this module (packages register their holes, guards and pages):

- Only GET requests for a registered page (:func:`register_page`), carrying a session cookie that
  Flask's own session interface opens, whose strong-protection identifier is Flask-Login's for
  this client, and that holds nothing but the login and a CSRF token (a flash, an access code,
  a remember-cookie order: full render). A session Flask would rewrite is never served here.
- The account is read in the same statement as the holes, so a logout, a password change
  (session version), a deletion or a block takes effect on the very next request. Only the viewer
  class a skeleton is rendered for is served: a participant without any role who may
  participate (:func:`viewer_class`); staff, blocked and deleted accounts get the full render.
- A person who authored something on the page (the skeleton lists those persons,
  :func:`note_persons`) or whom a registered guard singles out (:func:`note_guard`, e.g. a
  commenter of the contribution, who also reads their own held comments) gets the full render.
- A hole is either the CSRF token (masked afresh for each form, as ``consult.csrf`` does), the
  pseudonym (escaped) or a switch (:func:`register_hole`): the block rendered once for each of
  the values it can take (vote: none/adopt/refuse), the person's value picking one. A value a
  switch cannot show exactly falls back to the full render.
- The filled page's headers (security headers, cache control) are those the application gave
  the skeleton render, plus what depends on the body and the reader as a full render adds it
  (``Vary: Cookie``, the validator, the negotiated compression); no cookie is set. It is
  marked ``X-Consult-Skeleton: hit``.
- A skeleton lives at most ``PAGE_CACHE_SECONDS`` and is not used once the content generation
  moved (``consult.pagecache``): counters may be that old, as on visitors' pages; the person's
  own vote, follows and unread count are always read at the request.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import Flask
from flask.globals import _cv_app
from markupsafe import Markup, escape

HIT_HEADER = "X-Consult-Skeleton"
# Fixed hole numbers; switch holes are numbered from FIRST_SWITCH on.
CSRF, PSEUDONYM, NUMBER, FIRST_SWITCH = 0, 1, 2, 3
# What a logged-in session may hold and still be served a skeleton: the login (Flask-Login's
# keys) and the CSRF token. Anything else (a flash, a survey access code, "_remember") changes
# the page or the response.
SESSION_KEYS = frozenset({"_user_id", "_fresh", "_id", "csrf_token"})
# Request headers a skeleton render never sees: it is everybody's page, and its body is kept
# uncompressed and unconditional.
_PERSONAL_ENVIRON = frozenset(
    {
        "HTTP_COOKIE",
        "HTTP_AUTHORIZATION",
        "HTTP_IF_NONE_MATCH",
        "HTTP_IF_MODIFIED_SINCE",
        "HTTP_ACCEPT_ENCODING",
        "HTTP_ACCEPT",
    }
)
MAX_TARGET_LENGTH = 1024
LOCAL_MAX_ENTRIES = 512
ACCOUNTS_MAX_ENTRIES = 4096
# How long a worker keeps a session cookie it opened (its signature and age were checked then).
SESSION_SECONDS = 5
# Requests whose answer depends on more than the page and the person: conditional on a date,
# partial, authenticated otherwise.
_BYPASS_HEADERS = ("HTTP_RANGE", "HTTP_AUTHORIZATION", "HTTP_IF_MODIFIED_SINCE")
# Headers of the skeleton render that describe its own transmission or body, not the page.
_NOT_KEPT = frozenset(
    {"content-length", "etag", "set-cookie", "date", "content-encoding", "x-consult-cache"}
)
_EPOCH = datetime(1970, 1, 1)


# --- What the packages register -----------------------------------------------------------------


class Sql:
    """One statement for both databases: placeholders in the driver's own style (the statement
    runs on the DBAPI cursor, one round trip)."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"
        self.params: dict[str, Any] = {}

    def param(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f"%({name})s" if self.pg else f":{name}"

    def among(self, values: Iterable[Any]) -> str:
        """``IN`` a list of values (at least one)."""
        values = list(values)
        if self.pg and all(type(v) is int for v in values):
            # One text parameter cast to an array: cheaper to send than a list psycopg adapts
            # element by element, and the same statement text whatever the count.
            return (
                "= ANY(CAST("
                + self.param("{" + ",".join(map(str, values)) + "}")
                + " AS INTEGER[]))"
            )
        if self.pg:
            return "= ANY(" + self.param(values) + ")"
        return "IN (" + ", ".join(self.param(v) for v in values) + ")"


# (sql, person placeholder, keys) -> one SELECT of rows (hole name, key, value), all text.
Loader = Callable[[Sql, str, list[str]], str]
# (value read or None, language) -> (variant index, number shown) or None: full render.
Chooser = Callable[[str | None, str], tuple[int, str | None] | None]


@dataclass(frozen=True)
class Hole:
    name: str
    variants: tuple[Any, ...]
    load: Loader
    choose: Chooser


@dataclass(frozen=True)
class Guard:
    name: str
    # A SELECT that yields a row (name, key, anything) when the person must get the full render.
    load: Loader


_holes: dict[str, Hole] = {}
_guards: dict[str, Guard] = {}
_pages: set[str] = set()


def register_hole(name: str, variants: tuple[Any, ...], load: Loader, choose: Chooser) -> None:
    """A switch hole: templates wrap the block in ``{% call(value) personal(name, key, value)
    %}``; a skeleton holds the block rendered with each of ``variants``."""
    _holes[name] = Hole(name, variants, load, choose)


def register_guard(name: str, load: Loader) -> None:
    _guards[name] = Guard(name, load)


def register_page(endpoint: str) -> None:
    """A page served from skeletons. Its view must return a rendered template (no headers of
    its own) and tell the skeleton who authored what it shows (:func:`note_persons`)."""
    _pages.add(endpoint)


def viewer_class(user: Any, has_role: bool) -> str | None:
    """The kind of reader a skeleton is rendered for, or None when this person gets the full
    render: staff see moderation and management controls, a blocked or deleted account sees
    why it may not act. Audience and académie change nothing on the registered pages."""
    from consult.permissions import may_participate

    if has_role or not may_participate(user):
        return None
    return "participant"


# --- Skeleton mode: the render that leaves holes -------------------------------------------------


class Render:
    """One skeleton render in progress (``g.consult_skeleton``)."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(12)
        self.holes: list[Any] = [None] * FIRST_SWITCH
        self.persons: set[int] = set()
        self.guards: set[tuple[str, str]] = set()

    def marker(self, number: int) -> str:
        # NUL bytes never come from content (consult.inputs refuses them) and the nonce is
        # drawn for this render: nothing a contributor writes can open a hole.
        return f"\x00{self.nonce}:{number}\x00"

    def csrf_hole(self) -> str:
        return self.marker(CSRF)

    def switch(self, name: str, key: str, variants: list[str]) -> str:
        self.holes.append((name, key, variants))
        return self.marker(len(self.holes) - 1)


def current_render() -> Render | None:
    ctx = _cv_app.get(None)
    return ctx.g.__dict__.get("consult_skeleton") if ctx is not None else None


class Number(int):
    """A count a switch variant is rendered with: printed as the number hole, filled with the
    person's count (``{{ unread }}`` in the bell)."""

    def __str__(self) -> str:
        render = current_render()
        return render.marker(NUMBER) if render is not None else int.__repr__(self)

    __html__ = __str__


def personal(name: str, key: Any, value: Any, caller: Any) -> Markup:
    """``{% call(v) personal('forums.vote', c.id, my_vote) %}...{% endcall %}``: the block with
    the reader's value; in a skeleton, a hole holding the block for each possible value."""
    render = current_render()
    if render is None:
        return caller(value)
    hole = _holes[name]
    variants = [str(caller(v)) for v in hole.variants]
    return Markup(render.switch(name, str(key), variants))  # noqa: S704 - a marker, no text


def note_persons(ids: Iterable[int | None]) -> None:
    """These accounts authored something the page shows (their page differs: edit links, no
    vote box on their own card...): they get the full render."""
    render = current_render()
    if render is not None:
        render.persons.update(i for i in ids if i is not None)


def note_guard(name: str, key: Any) -> None:
    """Ask the registered guard ``name`` about ``key`` for each reader of this skeleton."""
    render = current_render()
    if render is not None:
        render.guards.add((name, str(key)))


# --- The kept skeleton ---------------------------------------------------------------------------


@dataclass
class Skeleton:
    generation: str
    expires: float
    ok: bool  # False: not a 200 page for the viewer class; everyone gets the full render
    headers: list[tuple[str, str]] = field(default_factory=list)
    tagged: bool = False  # the full render gives it a validator (consult.static_assets)
    version: str = ""  # drawn for each render: names this skeleton in the pages' validators
    csrf_holes: int = 0
    parts: list[Any] = field(default_factory=list)
    holes: list[Any] = field(default_factory=list)
    persons: frozenset[int] = frozenset()
    guards: list[tuple[str, str]] = field(default_factory=list)

    @functools.cached_property
    def keys(self) -> dict[str, list[str]]:
        """The keys of each switch hole, for the person's read."""
        found: dict[str, dict[str, None]] = {}
        for hole in self.holes[FIRST_SWITCH:]:
            found.setdefault(hole[0], {})[hole[1]] = None
        return {name: list(keys) for name, keys in found.items()}

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "g": self.generation,
                "e": self.expires,
                "ok": self.ok,
                "hd": self.headers,
                "t": self.tagged,
                "v": self.version,
                "c": self.csrf_holes,
                "p": self.parts,
                "h": self.holes,
                "a": sorted(self.persons),
                "x": self.guards,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def loads(cls, raw: bytes) -> Skeleton:
        data = json.loads(raw)
        return cls(
            data["g"],
            data["e"],
            data["ok"],
            [tuple(h) for h in data["hd"]],
            data["t"],
            data["v"],
            data["c"],
            data["p"],
            [tuple(h) if h is not None else None for h in data["h"]],
            frozenset(data["a"]),
            [tuple(x) for x in data["x"]],
        )


def _split(text: str, pattern: re.Pattern) -> list[Any]:
    pieces = pattern.split(text)
    out: list[Any] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            out.append(int(piece))
        elif piece:
            out.append(piece)
    return out


class _FullRender(Exception):
    """A hole this person's value cannot fill exactly."""


@dataclass
class _Cookies:
    """What Flask's session interface reads of a request."""

    cookies: Any


# --- The WSGI middleware -------------------------------------------------------------------------


class SkeletonPages:
    """Inside the page cache (which serves visitors without a session): answers logged-in GETs
    of registered pages from skeletons, passes everything else to the application."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        from consult.cache import MemoryCache

        self.local = MemoryCache(LOCAL_MAX_ENTRIES)
        # The language saved on each account, learnt from the last read: the skeleton of the
        # right language is fetched first (a wrong guess costs one more read).
        self.account_locales = MemoryCache(ACCOUNTS_MAX_ENTRIES)
        # Session cookies already opened by Flask's session interface, and the account objects
        # built from identical rows: a reader's next pages skip the signature check and the
        # model constructor (both re-done when the cookie or the row changes).
        self.sessions = MemoryCache(ACCOUNTS_MAX_ENTRIES)
        self.accounts = MemoryCache(ACCOUNTS_MAX_ENTRIES)
        self._engine: Any = None
        self._engine_lock = threading.Lock()

    # The cheap checks first: most requests leave here.
    def _eligible(self, environ: dict) -> bool:
        config = self.app.config
        if not config.get("SKELETON_PAGES", True) or not config.get("PAGE_CACHE_SECONDS"):
            return False
        if environ.get("REQUEST_METHOD") != "GET":
            return False
        if any(h in environ for h in _BYPASS_HEADERS):
            return False
        if config["SESSION_COOKIE_NAME"] + "=" not in environ.get("HTTP_COOKIE", ""):
            return False
        if "json" in environ.get("HTTP_ACCEPT", ""):
            return False  # skeletons are the pages browsers get; scripts get the full answer
        path = environ.get("PATH_INFO", "")
        return len(path) + len(environ.get("QUERY_STRING", "")) <= MAX_TARGET_LENGTH

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not self._eligible(environ):
            return self.wsgi_app(environ, start_response)
        try:
            answer = self._serve(environ)
        except Exception:
            # Never worse than the full render: a store or database hiccup, or a bug here.
            self.app.logger.warning("logged-in fast path failed", exc_info=True)
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        return [body]

    def _session(self, environ: dict) -> Any:
        """The session Flask's own interface opens from this cookie (same secret, salt and
        age limit), opened once per cookie value and worker for ``SESSION_SECONDS``."""
        from flask.sessions import SecureCookieSessionInterface
        from werkzeug.http import parse_cookie

        interface = self.app.session_interface
        if type(interface) is not SecureCookieSessionInterface:
            return None  # another interface: let the request context open it
        cookies = parse_cookie(environ)
        value = cookies.get(interface.get_cookie_name(self.app))
        if not value:
            return None
        data = self.sessions.get(value)
        if data is None:
            opened = interface.open_session(self.app, _Cookies(cookies))
            data = dict(opened) if opened is not None else {}
            self.sessions.set(value, data, SESSION_SECONDS)
        return interface.session_class(data)

    def _serve(self, environ: dict) -> tuple[list, bytes] | None:
        from flask.ctx import RequestContext

        session = self._session(environ)
        ctx = RequestContext(self.app, environ, session=session)
        ctx.push()
        try:
            return self._serve_in(ctx)
        finally:
            ctx.pop()

    def _serve_in(self, ctx: Any) -> tuple[list, bytes] | None:
        from consult.accounts import parse_session_identifier, session_still_valid
        from consult.i18n import LOCALE_COOKIE, person_locale

        app, request, session = self.app, ctx.request, ctx.session
        if request.routing_exception is not None or request.url_rule is None:
            return None  # unknown path, forged host...: the application answers
        if request.url_rule.endpoint not in _pages:
            return None
        if not session or not SESSION_KEYS.issuperset(session.keys()):
            return None
        if "csrf_token" not in session or app.session_interface.should_set_cookie(app, session):
            return None  # Flask would write the session: its full render will
        if app.config.get("REMEMBER_COOKIE_REFRESH_EACH_REQUEST"):
            return None
        identifier = session.get("_user_id")
        parsed = parse_session_identifier(identifier) if isinstance(identifier, str) else None
        if parsed is None:
            return None
        # Flask-Login's strong protection: a session from another address or browser is
        # cleared by the full render.
        if session.get("_id") != app.login_manager._session_identifier_generator():
            return None
        user_id, version = parsed
        wanted = request.args.get("lang")
        cookie = request.cookies.get(LOCALE_COOKIE)
        locale = person_locale(wanted, cookie, self.account_locales.get(str(user_id)), app.config)
        for _attempt in range(2):
            skeleton = self._skeleton(request.environ, locale)
            if skeleton is None or not skeleton.ok or user_id in skeleton.persons:
                return None
            user, has_role, values, guarded = self._read(user_id, skeleton)
            if guarded or not session_still_valid(user, version):
                return None
            if viewer_class(user, has_role) is None:
                return None
            self.account_locales.set(str(user_id), user.locale or "", 3600)
            wanted_locale = person_locale(wanted, cookie, user.locale, app.config)
            if wanted_locale == locale:
                break
            locale = wanted_locale
        else:
            return None
        try:
            body, filled = self._fill(skeleton, values, locale, user)
        except _FullRender:
            return None
        return self._respond(request, skeleton, body, filled)

    def _respond(
        self, request: Any, skeleton: Skeleton, body: bytes, filled: list[str]
    ) -> tuple[list, bytes] | None:
        """The headers the full render's after-request processing would give this page: the
        skeleton render's (security headers, cache control: the same hooks made them), plus
        what depends on the body and the reader: Flask's ``Vary: Cookie`` for a page read from
        a session, the validator of consult.static_assets, the negotiated compression."""
        from werkzeug.http import dump_header, parse_set_header

        from consult import pagecache
        from consult.static_assets import encode_body, negotiate_encoding, page_digest

        headers = list(skeleton.headers)
        for index, (name, value) in enumerate(headers):
            if name.lower() == "vary":
                vary = parse_set_header(value)
                vary.add("Cookie")
                headers[index] = (name, vary.to_header())
                break
        else:
            headers.append(("Vary", dump_header(["Cookie"])))
        if skeleton.tagged:
            # The body is this skeleton with these holes: the tag names both (a digest of the
            # whole body, as consult.static_assets makes it, would name the same page; the
            # fresh masks make it unique to this response either way).
            digest = page_digest("\0".join(filled).encode())
            tag = f'W/"{digest}"'
            headers.append(("ETag", tag))
            if pagecache._revalidated(request.environ, headers):
                return None  # it would be a 304: the full render answers it
        encoding = negotiate_encoding(request.accept_encodings)
        encoded = encode_body(body, encoding)
        if encoded is not None:
            headers.append(("Content-Encoding", encoding))
            body = encoded
        headers.append(("Content-Length", str(len(body))))
        headers.append((HIT_HEADER, "hit"))
        return headers, body

    # --- Reading the person's holes ---

    def _read(
        self, user_id: int, skeleton: Skeleton
    ) -> tuple[Any, bool, dict[tuple[str, str], str], bool]:
        from consult.models import RoleGrant, User

        sql = Sql(self._dialect())
        person = sql.param(user_id)
        users, grants = User.__tablename__, RoleGrant.__tablename__
        branches = [
            "SELECT 'account' AS t, '' AS k, "  # noqa: S608 - table names from the models
            "CAST(u.session_version AS VARCHAR(12)) || '|' || "
            "CASE WHEN u.deleted_at IS NULL THEN '' ELSE 'd' END || '|' || "
            "CASE WHEN u.blocked_at IS NULL THEN '' ELSE 'b' END || '|' || "
            f"CASE WHEN EXISTS (SELECT 1 FROM {grants} r WHERE r.user_id = u.id) "
            "THEN 'r' ELSE '' END || '|' || COALESCE(u.locale, '') || '|' || u.audience || '|' "
            f"|| u.pseudonym AS v FROM {users} u WHERE u.id = {person}"
        ]
        for name, keys in skeleton.keys.items():
            branches.append(_holes[name].load(sql, person, keys))
        by_guard: dict[str, list[str]] = {}
        for name, key in skeleton.guards:
            by_guard.setdefault(name, []).append(key)
        for name, keys in by_guard.items():
            branches.append(_guards[name].load(sql, person, keys))
        rows = self._execute(" UNION ALL ".join(branches), sql.params)
        values: dict[tuple[str, str], str] = {}
        account = None
        for name, key, value in rows:
            if name == "account":
                account = value
            elif name in _guards:
                return None, False, {}, True
            else:
                values[(name, key)] = value
        if account is None:
            return None, False, values, False
        version, deleted, blocked, role, locale, audience, pseudonym = account.split("|", 6)
        cache_key = f"{user_id}|{account}"
        user = self.accounts.get(cache_key)
        if user is None:
            # Never added to a database session: a read-only picture of the row, for the
            # account rules (session_still_valid, may_participate) and the language.
            user = User(
                id=user_id,
                session_version=int(version),
                deleted_at=_EPOCH if deleted else None,
                blocked_at=_EPOCH if blocked else None,
                locale=locale or None,
                audience=audience,
                pseudonym=pseudonym,
                grants=[],
            )
            self.accounts.set(cache_key, user, 60)
        return user, bool(role), values, False

    def _dialect(self) -> str:
        return self.app.extensions["consult_engine"].dialect.name

    def _execute(self, statement: str, params: dict) -> list[tuple]:
        from consult.db import db, make_read_engine

        bind = db.session_factory.kw.get("bind")
        if bind is not None:
            # Sessions bound to one connection (the test suite's rolled-back transaction):
            # read there, as the application's own sessions do.
            cursor = bind.connection.dbapi_connection.cursor()
            try:
                cursor.execute(statement, params)
                return cursor.fetchall()
            finally:
                cursor.close()
        if self._engine is None:
            with self._engine_lock:
                if self._engine is None:
                    self._engine = make_read_engine(self.app)
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(statement, params)
            rows = cursor.fetchall()
            cursor.close()
            return rows
        finally:
            connection.close()

    # --- Filling ---

    def _fill(
        self, skeleton: Skeleton, values: dict[tuple[str, str], str], locale: str, user: Any
    ) -> tuple[bytes, list[str]]:
        from consult.csrf import masks, signed_token

        tokens = masks(signed_token(), skeleton.csrf_holes)
        pseudonym = str(escape(user.pseudonym))
        holes = skeleton.holes
        out: list[str] = []
        append = out.append
        # What the holes took, for the page's validator.
        filled = [skeleton.version, pseudonym, *tokens]
        tokens_left = iter(tokens)

        def walk(parts: list[Any], number: str | None) -> None:
            for item in parts:
                if type(item) is str:
                    append(item)
                elif item == CSRF:
                    append(next(tokens_left))
                elif item == PSEUDONYM:
                    append(pseudonym)
                elif item == NUMBER:
                    if number is None:
                        raise _FullRender
                    append(number)
                else:
                    name, key, variants = holes[item]
                    choice = _holes[name].choose(values.get((name, key)), locale)
                    if choice is None:
                        raise _FullRender
                    filled.append(f"{item}:{choice[0]}:{choice[1]}")
                    walk(variants[choice[0]], choice[1])

        walk(skeleton.parts, None)
        return "".join(out).encode("utf-8"), filled

    # --- Finding or rendering the skeleton ---

    def _key(self, environ: dict, locale: str, viewer: str) -> str:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        target = f"{locale}\0{viewer}\0{path}?{environ.get('QUERY_STRING', '')}"
        return "skeleton:" + hashlib.sha256(target.encode("utf-8", "surrogateescape")).hexdigest()

    def _skeleton(self, environ: dict, locale: str) -> Skeleton | None:
        """The kept skeleton of this page, rendered now if there is none for the current
        content generation; None when the store does not answer (nothing tells whether a kept
        skeleton is current: the full render is as cheap as a render kept for one request)."""
        from consult import pagecache

        page_cache = self.app.extensions["consult_page_cache"]
        store = pagecache._store(self.app)
        shared = page_cache.local is not None  # Redis behind: skeletons shared by workers
        key = self._key(environ, locale, "participant")
        try:
            generation = page_cache.current_generation(store).decode("ascii")
        except Exception:
            return None
        now = time.time()
        kept = self.local.get(key)
        if kept is not None and kept.generation == generation and kept.expires > now:
            return kept
        if shared:
            with contextlib.suppress(Exception):
                raw = store.get_raw([key])[0]
                if raw is not None:
                    kept = Skeleton.loads(raw)
                    if kept.generation == generation and kept.expires > now:
                        self.local.set(key, kept, max(1, int(kept.expires - now)))
                        return kept
        skeleton = self._render(environ, locale, generation)
        seconds = int(self.app.config.get("PAGE_CACHE_SECONDS", pagecache.DEFAULT_SECONDS))
        self.local.set(key, skeleton, seconds)
        if shared:
            with contextlib.suppress(Exception):
                store.set_raw(key, skeleton.dumps(), seconds)
        return skeleton

    def _render(self, environ: dict, locale: str, generation: str) -> Skeleton:
        """The page as the viewer class sees it, holes left as markers, rendered by the
        application itself in a context of its own (the reader's ``g`` and session stay theirs)."""
        from flask import g

        from consult import pagecache
        from consult.models import Audience, User

        seconds = int(self.app.config.get("PAGE_CACHE_SECONDS", pagecache.DEFAULT_SECONDS))
        expires = time.time() + seconds
        render = Render()
        viewer = User(
            id=0,
            pseudonym=render.marker(PSEUDONYM),
            audience=Audience.AUTRE.value,
            session_version=1,
            locale=locale,
            grants=[],
        )
        shared_environ = {
            k: v
            for k, v in environ.items()
            if k not in _PERSONAL_ENVIRON and not k.startswith("werkzeug.")
        }
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        with self.app.app_context():
            g.consult_skeleton = render
            g._login_user = viewer
            g.forced_locale = locale
            app_iter = self.wsgi_app(shared_environ, capture)
            try:
                body = b"".join(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        headers = {k.lower(): v for k, v in captured.get("headers", ())}
        if not captured.get("status", "").startswith("200") or not headers.get(
            "content-type", ""
        ).startswith("text/html"):
            return Skeleton(generation, expires, False)
        pattern = re.compile("\x00" + render.nonce + r":(\d+)\x00")
        text = body.decode("utf-8")
        parts = _split(text, pattern)
        holes: list[Any] = [None] * FIRST_SWITCH
        for name, key, variants in render.holes[FIRST_SWITCH:]:
            holes.append((name, key, [_split(v, pattern) for v in variants]))
        leftovers = [p for p in parts if isinstance(p, str) and render.nonce in p] + [
            p
            for h in holes[FIRST_SWITCH:]
            for v in h[2]
            for p in v
            if isinstance(p, str) and render.nonce in p
        ]
        if leftovers:
            # A hole escaped or encoded somewhere its marker cannot be found whole: never
            # serve this page from a skeleton.
            self.app.logger.warning("skeleton of %s has a mangled hole", environ.get("PATH_INFO"))
            return Skeleton(generation, expires, False)
        return Skeleton(
            generation,
            expires,
            True,
            [(k, v) for k, v in captured["headers"] if k.lower() not in _NOT_KEPT],
            "etag" in headers,
            secrets.token_hex(8),
            _csrf_count(parts, holes),
            parts,
            holes,
            frozenset(render.persons),
            sorted(render.guards),
        )


def _csrf_count(parts: list[Any], holes: list[Any]) -> int:
    """The most token holes a filled page can have (each switch counted at its widest)."""
    count = 0
    for item in parts:
        if item == CSRF and item.__class__ is int:
            count += 1
        elif item.__class__ is int and item >= FIRST_SWITCH:
            count += max(_csrf_count(variant, holes) for variant in holes[item][2])
    return count


def init_app(app: Flask) -> None:
    """After ``consult.pagecache.init_app``: installed inside the page cache."""
    app.config.setdefault("SKELETON_PAGES", True)
    app.add_template_global(personal, "personal")
    page_cache = app.extensions["consult_page_cache"]
    middleware = page_cache.wsgi_app = SkeletonPages(app, page_cache.wsgi_app)
    app.extensions["consult_skeleton_pages"] = middleware
