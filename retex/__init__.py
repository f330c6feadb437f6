"""Retex: experience sheets (retours d'expérience) filed by territories, reviewed by their
coordinators, published with every version kept."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from consult.api import register_api_blueprint
from consult.hooks import StaffLink, hooks


def _register_synthesis() -> None:
    """What Retex offers to the syntheses: published sheets as participation (their current
    published version's day), and as citable sources of their territory's syntheses."""
    import re

    from sqlalchemy import select

    from consult import synthesis_registry as registry
    from consult.moderation import public_sql
    from retex.models import RetexRevision, RetexSheet

    def published(session, sheet: RetexSheet) -> RetexRevision | None:
        return session.scalar(
            select(RetexRevision).where(
                RetexRevision.sheet_id == sheet.id,
                RetexRevision.version == sheet.published_version,
            )
        )

    def in_scope(session, sheet: RetexSheet, scope) -> bool:
        # A région's sheet belongs to that région's synthesis; an académie's, to its own.
        revision = published(session, sheet)
        if scope.kind == "national":
            return True
        if scope.kind == "region":
            return revision is not None and revision.region_code == scope.code
        return revision is not None and revision.academie_code == scope.code

    registry.register_activity(
        registry.Activity(
            "retex_sheets",
            lambda s: (
                "SELECT x.author_id AS user_id, x.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "x.author_audience AS audience, r.published_at AS at, x.id, r.title, r.themes, "
                "r.audiences, r.school_level, r.published_at FROM retex_sheet x "
                "JOIN retex_revision r ON r.sheet_id = x.id AND r.version = x.published_version "
                f"WHERE {public_sql(RetexSheet, 'x', s.get_bind().dialect)}"
            ),
            _l("fiches Retex"),
            position=60,
            extra=("id", "title", "themes", "audiences", "school_level", "published_at"),
            plain=False,  # titles are free text
        )
    )
    registry.register_citable(
        registry.Citable(
            "retex",
            _l("Fiche Retex"),
            RetexSheet,
            load=lambda session, i: session.get(RetexSheet, i),
            title=lambda session, sheet: published(session, sheet).title,
            url=lambda sheet: f"/retex/{sheet.id}",
            in_scope=in_scope,
            path=re.compile(r"^/retex/(\d+)(?:/versions(?:/\d+)?)?/?$"),
            missing=_l("La fiche Retex n°%(id)s n'existe pas ou n'est pas publiée."),
            named=_l("La fiche Retex n°%(id)s"),
        )
    )


def init_app(app: Flask) -> None:
    from retex import api, demo, permissions, queries, search, services, views

    app.config.setdefault("RATELIMIT_RETEX_WRITE", "60 per minute")
    app.config.setdefault("RATELIMIT_RETEX_UPLOAD", "20 per minute")
    app.config.setdefault("RETEX_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
    app.config.setdefault("RETEX_MAX_ATTACHMENTS", 10)
    # Outside the web root: files are only ever served by the permission-checked view.
    app.config.setdefault("RETEX_UPLOAD_DIR", None)

    app.register_blueprint(views.bp)
    register_api_blueprint(app, api.bp)
    search.register()

    _register_synthesis()
    registered = hooks(app)
    registered.counters.append(_counters)
    registered.counter_labels["retex_sheets"] = _l("fiches Retex publiées")
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.erase_account)
    registered.account_panels.append("retex/_account_panel.html")
    registered.territory_panels.append("retex/_territory_panel.html")
    registered.demo_steps.append(("retex", demo.generate))
    # The review queue lives on « Mes fiches », above the reviewer's own sheets.
    registered.staff_nav.append(
        StaffLink(_l("Relecture Retex"), "retex.mine", permissions.Permission.REVIEW_QUEUE, 40)
    )

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
