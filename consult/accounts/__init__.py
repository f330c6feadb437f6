"""Accounts: registration, authentication, profile, personal data, deletion."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login.utils import _create_identifier

from consult.db import db
from consult.extensions import login_manager
from consult.models import User


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
        user_id, _sep, version = identifier.partition(":")
        if not user_id.isdigit() or not version.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.is_active or user.session_version != int(version):
            return None
        return user

    @app.before_request
    def _bind_anonymous_session() -> None:
        # Strong session protection treats a session without an identifier as tampered and
        # clears it (plus a remember-cookie deletion) on every request; a visitor's session
        # that only holds a CSRF token gets its identifier once instead.
        if session and "_id" not in session:
            session["_id"] = _create_identifier()

    @login_manager.unauthorized_handler
    def unauthorized():
        flash(login_manager.login_message, "info")
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
