"""Accounts: registration, authentication, profile, personal data, deletion."""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask, Response, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login.utils import _create_identifier
from sqlalchemy import bindparam, select
from sqlalchemy.orm import lazyload

from consult.db import db
from consult.extensions import login_manager
from consult.models import User

# What a visitor's brand-new session may hold and still be dropped: the CSRF token, and what
# Flask-Login's strong protection writes when a token was created before the user was loaded
# (its identifier, and the order to clear a remember cookie the visitor does not have).
UNUSED_SESSION_KEYS = frozenset({"csrf_token", "_id", "_remember", "_fresh"})


def parse_session_identifier(identifier: str) -> tuple[int, int] | None:
    """(account id, session version) from the ``_user_id`` a session holds, None if malformed."""
    user_id, _sep, version = identifier.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return int(user_id), int(version)


def session_still_valid(user: User | None, version: int) -> bool:
    """A session opened for ``user`` still logs them in: the account exists, is not deleted,
    and its password has not changed since (which bumps the version). The user loader and the
    logged-in fast path (consult.skeleton) both ask this."""
    return user is not None and user.is_active and user.session_version == version


@functools.cache
def _user_by_id() -> Any:
    """The logged-in person, on every request: one statement built once. Role grants load
    when a page asks for them (the header's staff links do), not up front: a vote, a support,
    a JSON call never reads them."""
    return select(User).options(lazyload(User.grants)).where(User.id == bindparam("user_id"))


def init_app(app: Flask) -> None:
    from consult.accounts.views import bp

    app.register_blueprint(bp)
    login_manager.login_view = "account.login"
    login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    login_manager.login_message_category = "info"
    login_manager.needs_refresh_message = _l("Confirmez votre identité pour continuer.")
    # "strong" drops the session when the client's address or browser changes.
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(identifier: str) -> User | None:
        parsed = parse_session_identifier(identifier)
        if parsed is None:
            return None
        user = db.session.execute(_user_by_id(), {"user_id": parsed[0]}).scalar_one_or_none()
        return user if session_still_valid(user, parsed[1]) else None

    @app.before_request
    def _bind_anonymous_session() -> None:
        # Strong session protection treats a session without an identifier as tampered and
        # clears it (plus a remember-cookie deletion) on every request; a visitor's session
        # that only holds a CSRF token gets its identifier once instead.
        if session and "_id" not in session:
            session["_id"] = _create_identifier()

    @app.after_request
    def _drop_unused_session(response: Response) -> Response:
        # A visitor's session is opened only when a page hands them a form: a session created
        # during this request that holds nothing but a CSRF token no form on the page carries
        # (a form object built for a button the visitor does not see) is not sent. Visitors
        # thus get no cookie on the pages they read, and those pages can be shared from the
        # page cache. Runs before compression (registered after it), on the plain body.
        if (
            not session.modified
            or set(session) - UNUSED_SESSION_KEYS
            or app.config["SESSION_COOKIE_NAME"] in request.cookies
            or app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
            or response.is_streamed
            or response.direct_passthrough
            or b'name="csrf_token"' in response.get_data()
        ):
            return response
        session.clear()
        session.modified = False
        return response

    @login_manager.unauthorized_handler
    def unauthorized():
        # No flash (it would open a session for a visitor who only followed a link): the login
        # page says why when it is given ``next``.
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
