"""The web helpers every blueprint shares, each defined once: where ``?next=`` may send people,
the rate-limit decorator, the current user, refusals (one error base class carrying its HTTP
status, one way of rendering it), the audit trail, and absolute links built from the configured
``SITE_URL`` rather than from the request's Host header.

Before re-declaring one of these in a package, import it from here (tests/test_web_helpers.py
fails when a copy comes back).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import (
    Flask,
    current_app,
    flash,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask.globals import _cv_app, _cv_request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.exceptions import SecurityError

__all__ = [
    "ConsultError",
    "ConsultFlask",
    "absolute_url",
    "attach_error",
    "audit",
    "current_user_or_none",
    "limit",
    "me",
    "refuse",
    "safe_next",
    "safe_referrer",
    "site_host",
    "site_url",
    "wants_json",
]


# --- Errors and refusals ----------------------------------------------------------------------


class ConsultError(Exception):
    """A refusal from a service: a French message (already translated) shown to the person, the
    HTTP status the view answers with and, optionally, the form field it belongs to."""

    status = 409

    def __init__(self, message: str, status: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.field = field


def wants_json(accept: Any = None) -> bool:
    """Whether the client prefers JSON to HTML (``accept``: a parsed Accept header, the
    request's by default)."""
    accept = request.accept_mimetypes if accept is None else accept
    best = accept.best_match(["application/json", "text/html"])
    return best == "application/json" and accept[best] > 0


def attach_error(form: Any, error: ConsultError) -> bool:
    """Put the message under its form field; False when it has none (the caller flashes it)."""
    field = getattr(form, error.field, None) if form is not None and error.field else None
    if field is None:
        return False
    field.errors = [*field.errors, error.message]
    return True


def refuse(
    error: ConsultError, *, form: Any = None, template: str | None = None, **context: Any
) -> Any:
    """The response to a refusal: the session's pending writes are dropped, then JSON for
    scripts, the form page again with the message (under its field or flashed) when a template is
    given, the error page otherwise, always with the error's status."""
    from consult.db import db
    from consult.views import render_error

    db.session.rollback()
    if wants_json():
        return jsonify({"error": error.message}), error.status
    if template is not None:
        if not attach_error(form, error):
            flash(error.message, "error")
        return render_template(template, form=form, **context), error.status
    return render_error(error.status, error.message)


# --- Current user -----------------------------------------------------------------------------


def current_user_or_none() -> Any:
    """The logged-in User (the real object, not the proxy), or None for a visitor."""
    if not has_request_context() or not current_user.is_authenticated:
        return None
    return current_user._get_current_object()


me = current_user_or_none


# --- Rate limits ------------------------------------------------------------------------------

DEFAULT_LIMIT_MESSAGE = _l("Trop de demandes. Réessayez dans quelques minutes.")


def limit(key: str, message: Any = None, key_func: Any = None):
    """Rate-limit a view's POSTs with the limit configured under ``key``, per client address
    unless ``key_func`` names who is counted (a participant rather than the school's one
    address). Limits are counted in the shared store (Redis in production: config refuses to
    start without it unless told the site runs one process)."""
    from consult.extensions import limiter

    text = message if message is not None else DEFAULT_LIMIT_MESSAGE
    return limiter.limit(
        lambda: current_app.config[key],
        key_func=key_func,
        methods=["POST"],
        error_message=lambda: str(text),
    )


# Limits per target (an account, an email address) rather than per client address: a class of
# 35 pupils behind one school address shares one address, a password guesser rotates through
# many. ``limit`` above stays as a generous per-address ceiling; these count failures on the
# thing attacked, whichever address they come from, in the limiter's shared store.


def _target_limits(key: str) -> list:
    from limits import parse_many

    return parse_many(current_app.config[key])


def _target_id(scope: str, ident: str) -> tuple[str, str, str]:
    from hashlib import sha256

    from consult.extensions import limiter

    # The store (Redis) never holds an email address: a digest of it.
    digest = sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
    return limiter._key_prefix or "consult", f"target:{scope}", digest


def target_allowed(key: str, scope: str, ident: str) -> bool:
    """May one more attempt on this target be made under the limits configured at ``key``?
    Checked before the attempt, so once the failures are used up even the right answer waits."""
    from consult.extensions import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    ids = _target_id(scope, ident)
    return all(limiter.limiter.test(item, *ids) for item in _target_limits(key))


def target_failed(key: str, scope: str, ident: str) -> None:
    """Count one failed attempt on this target."""
    from consult.extensions import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    ids = _target_id(scope, ident)
    for item in _target_limits(key):
        limiter.limiter.hit(item, *ids)


def target_succeeded(key: str, scope: str, ident: str) -> None:
    """The rightful owner got in: their earlier typos no longer count."""
    from consult.extensions import limiter

    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    ids = _target_id(scope, ident)
    for item in _target_limits(key):
        limiter.limiter.clear(item, *ids)


# --- Redirect targets -------------------------------------------------------------------------

NEXT_MAX_LENGTH = 500
# Control characters, and the Unicode look-alikes of "/" and "\" (fullwidth solidus, division
# slash, fraction slash, big solidus…) that some browsers or proxies normalise into real ones.
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\\\u2044\u2215\u29f5\u29f8\u29f9\ufe68\uff0f\uff3c]")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site, None otherwise (callers fall back to a page of
    their own). A path starts with one "/" and has no scheme, no host, no backslash, no control
    or whitespace-like character, also once percent-decoded (``/%09/evil.example`` becomes
    ``//evil.example`` in browsers that drop the tab)."""
    if not target or len(target) > NEXT_MAX_LENGTH:
        return None
    decoded = target
    for _round in range(3):  # double or triple encoding must not hide a "//" or a control
        decoded = unquote(decoded)
    for candidate in (target, decoded):
        if _FORBIDDEN.search(candidate) or any(
            unicodedata.category(char) in {"Zs", "Zl", "Zp", "Cf", "Cc"} and char != " "
            for char in candidate
        ):
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        # Spaces are stripped by browsers before resolving: "/ /evil.example" is "//evil…".
        squeezed = candidate.replace(" ", "")
        if squeezed.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return target


def safe_referrer() -> str | None:
    """The page the visitor came from, as a safe same-site path, or None."""
    referrer = request.referrer
    if not referrer:
        return None
    try:
        parts = urlsplit(referrer)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return None
    if parts.netloc not in {request.host, urlsplit(site_url()).netloc}:
        return None
    path = parts.path or "/"
    return safe_next(f"{path}?{parts.query}" if parts.query else path)


# --- Absolute links ---------------------------------------------------------------------------


def site_url() -> str:
    """The public address of the site (scheme and host, no trailing slash), from SITE_URL."""
    return str(current_app.config["SITE_URL"]).rstrip("/")


def site_host() -> str:
    """The host name (without port) of SITE_URL: feed ids and calendar UIDs are built on it."""
    return urlsplit(site_url()).hostname or "consult"


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute link for mails, feeds and the API: always on SITE_URL, never on the Host
    header a client sent (see ConsultFlask.url_for, which every ``_external=True`` goes
    through)."""
    return url_for(endpoint, _external=True, **values)


class ConsultFlask(Flask):
    """Flask whose absolute URLs are always on SITE_URL: every ``url_for(..., _external=True)``
    (reset mails, Atom and iCalendar links, API links) comes through here, so a forged Host
    header can never end up in a link sent to someone else or stored in a cache."""

    def url_for(  # type: ignore[override]
        self,
        endpoint: str,
        *,
        _anchor: str | None = None,
        _method: str | None = None,
        _scheme: str | None = None,
        _external: bool | None = None,
        **values: Any,
    ) -> str:
        in_request = _cv_request.get(None) is not None
        external = _external if _external is not None else (_scheme is not None or not in_request)
        if not external:
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, **values)
        site = urlsplit(str(self.config["SITE_URL"]))
        app_ctx = _cv_app.get(None)
        if in_request or (app_ctx is not None and app_ctx.url_adapter is not None):
            path = super().url_for(
                endpoint, _anchor=_anchor, _method=_method, _external=False, **values
            )
            if not in_request:  # built on SERVER_NAME: keep only the path
                parts = urlsplit(path)
                path = parts.path + (f"?{parts.query}" if parts.query else "")
                path += f"#{parts.fragment}" if parts.fragment else ""
            return f"{site.scheme}://{site.netloc}{path}"
        # No request (CLI, background job): build on SITE_URL, its path being the mount point.
        adapter = self.url_map.bind(
            site.netloc, script_name=site.path or "/", url_scheme=site.scheme
        )
        self.inject_url_defaults(endpoint, values)
        url = adapter.build(endpoint, values, method=_method, force_external=True)
        return f"{url}#{_anchor}" if _anchor else url


def init_app(app: Flask) -> None:
    # Must run before every other hook: with TRUSTED_HOSTS set, an unknown Host header leaves
    # the request without a URL adapter and makes every later read of request.host raise.
    def refuse_unknown_host() -> Any:
        if not isinstance(request.routing_exception, SecurityError):
            return None
        ctx = _cv_request.get()
        site = urlsplit(str(app.config["SITE_URL"]))
        # The refusal page is drawn on the configured site, never on the forged host.
        request.host = site.netloc  # type: ignore[misc]
        ctx.url_adapter = app.url_map.bind(site.netloc, url_scheme=site.scheme)
        message = str(
            _l(
                "Cette adresse ne correspond pas au site de la consultation. Utilisez "
                "l'adresse officielle du site."
            )
        )
        if request.path.startswith("/api/"):
            from consult.api import api_error

            return api_error(400, message)
        from consult.views import render_error

        return render_error(400, message)

    app.before_request_funcs.setdefault(None, []).insert(0, refuse_unknown_host)
    # A service refusal a view forgot to catch is still a French message with its status, never
    # a 500.
    app.register_error_handler(ConsultError, lambda error: refuse(error))
    # Templates that print absolute links (printed results pages) use the same address.
    app.add_template_global(site_url, "site_url")
    app.extensions["consult_web_host_check"] = refuse_unknown_host


# --- Audit trail ------------------------------------------------------------------------------


def audit(
    session: Any, actor: Any, action: str, target: Any, target_id: Any = None, **detail: Any
) -> None:
    """Record who did what to whom. ``target`` is either an object (its class name and id are
    recorded) or a kind name such as "idea", followed by the target's id."""
    from consult.models import AuditEvent

    if isinstance(target, str):
        target_type = target
    else:
        target_type = type(target).__name__.lower()
        target_id = getattr(target, "id", None) or getattr(target, "code", "")
    session.add(
        AuditEvent(
            actor_id=actor.id if actor is not None else None,
            action=action,
            target_type=target_type,
            target_id=str(target_id if target_id is not None else ""),
            detail=detail,
        )
    )
