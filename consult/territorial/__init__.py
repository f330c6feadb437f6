"""Territorial expression space: territorial pages, ideas box per académie, calendar of
events (iCalendar feeds) and news (Atom feeds) per territory."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def _counters() -> dict[str, int]:
    from sqlalchemy import func, select

    from consult import tallies
    from consult.db import db
    from consult.territorial.models import IDEA_TALLY, Event

    return {
        # Kept at write time (consult/tallies.py); events are a calendar's few hundred rows.
        "territorial_ideas": tallies.totals(db.session, IDEA_TALLY)["items"],
        "territorial_events": db.session.scalar(
            select(func.count()).select_from(Event).where(Event.is_public)
        )
        or 0,
    }


def _register_moderation() -> None:
    """Ideas are reported and moderated with the shared tools (coordinators moderate their
    académie's ideas: the kind's default scope is the idea's académie)."""
    from flask import url_for

    from consult.moderation import register_kind
    from consult.territorial.models import Idea
    from consult.text import plain_text

    register_kind(
        "idea",
        label=_l("Idée (boîte à idées territoriale)"),
        load=lambda session, ident: session.get(Idea, ident),
        url=lambda idea: url_for("territories.idea", idea_id=idea.id),
        title=lambda idea: idea.title,
        excerpt=lambda idea: plain_text(idea.body)[:300],
        model=Idea,
    )


def _register_synthesis() -> None:
    """What the ideas box offers to the syntheses: ideas and their supports as participation,
    ideas as citable sources of their académie's (and région's, and the nation's) syntheses."""
    import re

    from consult import synthesis_registry as registry
    from consult.moderation import public_sql
    from consult.territorial.models import Event, Idea

    def visible(session) -> str:
        return public_sql(Idea, "i", session.get_bind().dialect)

    registry.register_activity(
        registry.Activity(
            "ideas",
            lambda s: (
                "SELECT i.author_id AS user_id, i.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "i.author_audience AS audience, i.created_at AS at FROM territorial_idea i "
                f"WHERE {visible(s)}"
            ),
            _l("idées"),
            position=40,
        )
    )
    registry.register_activity(
        registry.Activity(
            "idea_supports",
            lambda s: (
                "SELECT p.user_id, p.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "p.author_audience AS audience, p.created_at AS at FROM territorial_idea_support p "
                f"JOIN territorial_idea i ON i.id = p.idea_id WHERE {visible(s)}"
            ),
            _l("soutiens d'idées"),
            position=50,
        )
    )
    registry.register_citable(
        registry.Citable(
            "idee",
            _l("Idée"),
            Idea,
            load=lambda session, i: session.get(Idea, i),
            title=lambda session, idea: idea.title,
            url=lambda idea: f"/territoires/idees/{idea.id}",
            academie=lambda session, idea: idea.academie_code,
            aliases=("idée", "idea"),
            path=re.compile(r"^/territoires/idees/(\d+)/?$"),
            missing=_l("L'idée n°%(id)s n'existe pas ou n'est pas publique."),
            named=_l("L'idée n°%(id)s"),
        )
    )
    # A meeting's minutes, cited by its event's number (one compte rendu per event).
    registry.register_citable(
        registry.Citable(
            "compte_rendu",
            _l("Compte rendu de rencontre"),
            Event,
            load=_event_with_minutes,
            title=lambda session, event: str(_l("Compte rendu — %(title)s", title=event.title)),
            url=lambda event: f"/territoires/evenements/{event.id}#compte-rendu",
            in_scope=lambda session, event, scope: bool(
                set(_event_academies(event)) & set(scope.academie_codes)
            ),
            aliases=("rencontre", "minutes"),
            path=re.compile(r"^/territoires/evenements/(\d+)/?$"),
            missing=_l("La rencontre n°%(id)s n'existe pas ou n'a pas de compte rendu publié."),
            named=_l("La rencontre n°%(id)s"),
        )
    )


def _event_with_minutes(session, event_id: int):
    """The event, when its minutes are published: citing a meeting cites what was said there."""
    from sqlalchemy import select

    from consult.territorial.models import Event, EventMinutes

    published = session.scalar(
        select(EventMinutes.id).where(EventMinutes.event_id == event_id, EventMinutes.is_public)
    )
    return session.get(Event, event_id) if published is not None else None


def _event_academies(event) -> tuple[str, ...]:
    from consult.territories import catalog

    if event.scope_kind == "academie":
        return (event.scope_code,)
    if event.scope_kind == "region":
        region = catalog().regions.get(event.scope_code)
        return tuple(region.academie_codes) if region else ()
    return ()  # a national meeting: only the national synthesis cites it


def init_app(app: Flask) -> None:
    from consult.api import register_api_blueprint
    from consult.hooks import hooks
    from consult.territorial import (
        api,
        demo,
        permissions,
        search,
        services,
        tasks,  # noqa: F401 - registers the reminder job kind
        views,
    )

    app.config.setdefault("RATELIMIT_IDEA", "10 per hour")
    app.config.setdefault("RATELIMIT_SUPPORT", "120 per minute")
    app.config.setdefault("RATELIMIT_REGISTRATION", "30 per minute")
    app.config.setdefault("RATELIMIT_TERRITORIAL_WRITE", "60 per minute")
    # Files of meeting minutes (consult.uploads rules): under the instance folder by default.
    app.config.setdefault("TERRITORIAL_UPLOAD_DIR", None)
    app.config.setdefault("TERRITORIAL_MAX_ATTACHMENT_BYTES", 5 * 1024 * 1024)
    app.config.setdefault("TERRITORIAL_MAX_ATTACHMENTS", 5)
    # Feeds are cached a minute; the test configuration builds them afresh so every test sees
    # its own data.
    app.config.setdefault("TERRITORIAL_FEED_CACHE_SECONDS", 0 if app.testing else 60)

    app.register_blueprint(views.bp)
    _register_moderation()
    _register_synthesis()
    search.register()
    register_api_blueprint(app, api.bp)

    registered = hooks(app)
    registered.counters.append(_counters)
    registered.counter_labels["territorial_ideas"] = _l("idées dans les boîtes à idées")
    registered.counter_labels["territorial_events"] = _l("rencontres au calendrier")
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.delete_account)
    registered.account_panels.append("territorial/_account_panel.html")
    registered.demo_steps.append(("territoires", demo.generate))

    @app.context_processor
    def _territorial_context() -> dict:
        from consult.db import utcnow
        from consult.models import Audience
        from consult.text import render_markdown

        return {
            "TerritorialPermission": permissions.Permission,
            "render_markdown": render_markdown,
            "audience_labels": {a.value: a.label for a in Audience},
            "audience_plurals": {a.value: a.plural_label for a in Audience},
            "report_form_available": "moderation" in app.blueprints,
            "territorial_account_summary": services.account_summary,
            "now_utc": utcnow,
        }
