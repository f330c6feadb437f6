"""Accounts: registration, authentication, profile, personal data, deletion."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l

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

    @login_manager.unauthorized_handler
    def unauthorized():
        flash(login_manager.login_message, "info")
        return redirect(url_for("account.login", next=request.full_path.rstrip("?")))
