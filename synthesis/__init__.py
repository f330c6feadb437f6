"""Syntheses: the pandas engine that turns the consultation into findings (participation,
forums with consensus across audiences, questionnaire with optional weighting, free-text
topics, Retex), its public pages and charts, exports, open-data API, and the results space
where analysts and coordinators publish frozen, versioned syntheses with traceable proposals."""

from __future__ import annotations

from flask import Flask

from consult.api import register_api_blueprint


def init_app(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from consult.hooks import StaffLink, hooks
    from synthesis import api, cli, demo, permissions, privacy, results_views, views
    from synthesis.blueprint import bp

    privacy.init_app(app)
    app.config.setdefault("RATELIMIT_SYNTHESIS_WRITE", "30 per minute")
    app.register_blueprint(bp)
    register_api_blueprint(app, api.bp)
    cli.register(app)
    # Synthesis comes last in consult.FEATURE_PACKAGES: it compiles what the others made.
    hooks(app).demo_steps.append(("synthesis", demo.generate))
    hooks(app).staff_nav.extend(
        [
            StaffLink(
                _l("Composer les résultats"),
                "synthesis.composer_index",
                permissions.Permission.COMPOSE_ANY,
                50,
            ),
            StaffLink(
                _l("Compilation des synthèses"),
                "synthesis.compilation_status",
                permissions.Permission.COMPILE,
                60,
            ),
        ]
    )
    for module in (views, results_views, api):
        setup = getattr(module, "setup", None)
        if setup is not None:
            setup(app)
