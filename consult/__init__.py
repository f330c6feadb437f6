"""Consult: the participatory platform of the États généraux du numérique pour l'éducation."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from consult import config as config_module
from consult.config import ROOT

__all__ = ["FEATURE_PACKAGES", "create_app"]

# Feature packages, each exposing init_app(app) and, when it has tables, a models module.
# consult.moderation (reports, queue) and consult.territorial (territorial pages, ideas box,
# calendar, news) live inside the core.
FEATURE_PACKAGES = (
    "consult.moderation",
    "consult.territorial",
    "forums",
    "surveys",
    "retex",
    "synthesis",
    # Last: it follows and announces the content the packages above register.
    "consult.notifications",
)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``config`` overrides what the environment says."""
    settings = config_module.from_environment()
    if config:
        settings.update(config)
        if "SQLALCHEMY_DATABASE_URL" in config:
            settings["SQLALCHEMY_DATABASE_URL"] = config_module.normalise_database_url(
                config["SQLALCHEMY_DATABASE_URL"]
            )
    _ensure_secret_key(settings)
    config_module.validate(settings)
    settings["TRUSTED_HOSTS"] = config_module.trusted_hosts(settings)

    from consult.web import ConsultFlask

    app = ConsultFlask(
        "consult",
        root_path=str(ROOT),
        template_folder="templates",
        static_folder="static",
        instance_path=settings["INSTANCE_PATH"],
    )
    app.config.update(settings)
    from consult import inputs

    inputs.init_app(app)  # first: its URL converter and checks apply to every route
    app.testing = settings["ENV_NAME"] == "testing"
    _configure_logging(app)

    if app.config["PROXY_FIX_HOPS"]:
        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )

    from consult import hooks, web

    hooks.init_app(app)
    web.init_app(app)
    _register_extensions(app)
    from consult import cache, fragments, jobs, static_assets

    cache.init_app(app)
    fragments.init_app(app)
    jobs.init_app(app)
    static_assets.init_app(app)

    from consult import accounts, admin, api, cli, search, views

    views.init_app(app)
    search.init_app(app)
    accounts.init_app(app)
    admin.init_app(app)
    api.init_app(app)
    cli.init_app(app)
    for package in FEATURE_PACKAGES:
        # A package that is not there yet is skipped; one that is there but fails to import
        # raises, so a broken package never goes unnoticed.
        if importlib.util.find_spec(package) is not None:
            importlib.import_module(package).init_app(app)
    from consult import pagecache, skeleton
    from consult.jobs import JobRecord
    from consult.models import AuditEvent, RoleGrant, User
    from consult.territorial.models import IdeaSupport

    pagecache.init_app(app)
    skeleton.init_app(app)
    # Writes that must not empty every visitor's cached page: the audit trail, jobs' progress
    # and role grants are on no public page; logins write the account (its last login), and
    # supports move a counter. A pseudonym changed or a support given shows within
    # PAGE_CACHE_SECONDS instead of at once.
    pagecache.quiet(AuditEvent, JobRecord, RoleGrant, User, IdeaSupport)
    return app


def _ensure_secret_key(settings: dict[str, Any]) -> None:
    """Development and tests get a key; production must bring its own (validate() refuses)."""
    if settings.get("SECRET_KEY") or settings["ENV_NAME"] == "production":
        return
    if settings["ENV_NAME"] == "testing":
        # A fixed key for the test suite only; validate() never lets it reach production.
        settings["SECRET_KEY"] = "testing-secret-key-not-for-production-0123456789"  # noqa: S105
        return
    # Development: one random key kept in instance/ so sessions survive restarts.
    path = Path(settings["INSTANCE_PATH"]) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="ascii")
        os.chmod(path, 0o600)
    settings["SECRET_KEY"] = path.read_text(encoding="ascii").strip()


def _configure_logging(app: Flask) -> None:
    level = getattr(logging, app.config["LOG_LEVEL"], logging.INFO)
    app.logger.setLevel(level)
    if not app.logger.handlers or app.config["ENV_NAME"] == "production":
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s"))
        app.logger.handlers[:] = [handler]
    app.logger.propagate = False


def _register_extensions(app: Flask) -> None:
    from consult import csrf as consult_csrf
    from consult.db import db
    from consult.extensions import babel, csrf, limiter, login_manager
    from consult.i18n import install_template_gettext, install_wtforms_catalogue, select_locale

    db.init_app(app)
    csrf.init_app(app)
    consult_csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(ROOT / "translations"),
    )
    install_template_gettext(app)
    install_wtforms_catalogue(app)
    limiter.init_app(app)
    login_manager.init_app(app)
