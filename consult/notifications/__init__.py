"""Follow and be told: follows, in-app notifications, opt-in emails (immediate or daily digest)
with one-click unsubscribe, public profiles and the copy-link share button.

Services of other packages call :func:`dispatch` (one line) when they publish, answer or review
something; everything else happens here.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session


def dispatch(session: Session, kind: str, obj: Any) -> None:
    """``obj`` of ``kind`` ("contribution", "comment", "idea", "idea_answer", "retex",
    "retex_review", "event", "news") was published, answered or reviewed in this unit of work."""
    from consult.notifications import services

    services.dispatch(session, kind, obj)


def init_app(app: Flask) -> None:
    from sqlalchemy import event

    from consult.hooks import hooks
    from consult.notifications import permissions, services, subjects, views

    for listener, name in (
        (services._after_commit, "after_commit"),
        (services._after_rollback, "after_rollback"),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    app.config.setdefault("RATELIMIT_FOLLOW", "60 per minute")
    app.config.setdefault("RATELIMIT_UNSUBSCRIBE", "30 per minute")
    subjects.register_all(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(views.profiles)
    permissions.register()

    registered = hooks(app)
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.erase_account)
    registered.account_panels.append("notifications/_account_panel.html")

    # Globals rather than a context processor: macros imported without context (cards, rows)
    # link pseudonyms too.
    for helper in (
        views.unread_for_header,
        views.follow_state,
        views.author_link,
        views.share_url,
    ):
        app.add_template_global(helper)
