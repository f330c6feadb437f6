"""Retex: experience sheets (retours d'expérience) filed by territories, reviewed by their
coordinators, published with every version kept."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from consult.api import register_api_blueprint
from consult.hooks import hooks


def init_app(app: Flask) -> None:
    from retex import api, demo, permissions, queries, search, services, views  # noqa: F401

    app.config.setdefault("RATELIMIT_RETEX_WRITE", "60 per minute")
    app.config.setdefault("RATELIMIT_RETEX_UPLOAD", "20 per minute")
    app.config.setdefault("RETEX_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
    app.config.setdefault("RETEX_MAX_ATTACHMENTS", 10)
    # Outside the web root: files are only ever served by the permission-checked view.
    app.config.setdefault("RETEX_UPLOAD_DIR", None)

    app.register_blueprint(views.bp)
    register_api_blueprint(app, api.bp)
    search.register()

    registered = hooks(app)
    registered.counters.append(_counters)
    registered.counter_labels["retex_sheets"] = _l("fiches Retex publiées")
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.erase_account)
    registered.account_panels.append("retex/_account_panel.html")
    registered.territory_panels.append("retex/_territory_panel.html")
    registered.demo_steps.append(("retex", demo.generate))

    @app.template_global()
    def retex_territory_panel(kind: str, code: str, academie_codes: list[str]) -> list:
        from consult.db import db

        return queries.for_territory(db.session, kind, code, list(academie_codes or []))

    from retex import filters

    filters.register(app)


def _counters() -> dict[str, int]:
    from consult.db import db
    from retex import queries

    return {"retex_sheets": queries.count_published(db.session)}
