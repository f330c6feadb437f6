"""The five thematic forums: contributions, adopt/refuse votes, pour/contre comments, search."""

from __future__ import annotations

import os

from flask import Flask, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import func, select

from consult.db import db


def plain_paragraphs(text: str | None) -> Markup:
    """Comments are plain text: escaped, blank lines make paragraphs, newlines line breaks.
    Cheaper than Markdown on a page that shows hundreds of them."""
    blocks = [b.strip() for b in (text or "").replace("\r\n", "\n").split("\n\n")]
    return Markup("").join(
        Markup("<p>")
        + Markup("<br>").join(escape(line) for line in block.split("\n"))
        + Markup("</p>")
        for block in blocks
        if block
    )


def _counters() -> dict[str, int]:
    from forums.models import Comment, Contribution, Vote

    session = db.session
    return {
        "forum_contributions": session.scalar(
            select(func.count()).select_from(Contribution).where(Contribution.is_public)
        )
        or 0,
        "forum_votes": session.scalar(select(func.count()).select_from(Vote)) or 0,
        "forum_comments": session.scalar(
            select(func.count()).select_from(Comment).where(Comment.is_public)
        )
        or 0,
    }


def _register_moderation() -> None:
    from consult import moderation
    from forums import services
    from forums.models import Comment, Contribution

    moderation.register_kind(
        "contribution",
        label=_l("Contribution"),
        load=lambda session, i: session.get(Contribution, i),
        url=lambda c: url_for("forums.contribution", contribution_id=c.id),
        title=lambda c: c.title,
        excerpt=lambda c: c.excerpt,
        model=Contribution,
        scope=lambda c: None,  # national forums: moderators, not coordinators
    )
    moderation.register_kind(
        "comment",
        label=_l("Commentaire"),
        load=lambda session, i: session.get(Comment, i),
        url=lambda c: url_for(
            "forums.contribution", contribution_id=c.contribution_id, _anchor=f"commentaire-{c.id}"
        ),
        title=lambda c: str(_l("Commentaire sur « %(title)s »", title=c.contribution.title)),
        excerpt=lambda c: c.body[:280],
        model=Comment,
        scope=lambda c: None,
        on_change=services.comment_visibility_changed,
    )


def init_app(app: Flask) -> None:
    from consult.api import register_api_blueprint
    from consult.hooks import hooks
    from consult.permissions import register_policy
    from consult.text import render_markdown
    from forums import demo, services
    from forums.api import bp as api_bp
    from forums.permissions import Permission, policy
    from forums.views import bp

    for key, default in (
        ("RATELIMIT_VOTE", "120 per minute"),
        ("RATELIMIT_CONTRIBUTE", "10 per minute;30 per hour"),
        ("RATELIMIT_COMMENT", "10 per minute;60 per hour"),
    ):
        app.config.setdefault(key, os.environ.get(key, default))
    register_policy(Permission, policy)
    app.register_blueprint(bp)
    register_api_blueprint(app, api_bp)
    _register_moderation()
    app.add_template_filter(render_markdown, "markdown")
    app.add_template_filter(plain_paragraphs, "paragraphs")

    @app.context_processor
    def _forum_context() -> dict:
        return {"ForumPermission": Permission}

    @app.template_global()
    def forum_meeting_contributions(event_id: int) -> list:
        return services.meeting_contributions(db.session, event_id)

    @app.template_global()
    def forum_activity(user_id: int) -> dict:
        from forums.queries import author_activity

        return author_activity(db.session, user_id)

    registered = hooks(app)
    registered.counters.append(_counters)
    registered.counter_labels.update(
        {
            "forum_contributions": _l("contributions aux forums"),
            "forum_votes": _l("votes « j'adopte » ou « je refuse »"),
            "forum_comments": _l("commentaires pour ou contre"),
        }
    )
    registered.personal_data.append(services.personal_data)
    registered.account_deletion.append(services.erase_account)
    registered.demo_steps.append(("forums", demo.generate))
    registered.account_panels.append("forums/_account_panel.html")
    registered.event_panels.append("forums/_event_panel.html")
