"""The five thematic forums: contributions, adopt/refuse votes, pour/contre comments, search."""

from __future__ import annotations

import os

from flask import Flask, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

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
    from consult import tallies
    from forums.models import THEME_TALLY

    # Public contributions only, and the votes and comments shown on them (the same figures
    # as /forums/'s per-theme totals): a vote on a held, hidden or withdrawn contribution is not
    # a public fact. Kept at write time (consult/tallies.py): reading them costs no scan.
    totals = tallies.totals(db.session, THEME_TALLY)
    return {
        "forum_contributions": totals["items"],
        "forum_votes": totals["adopt_count"] + totals["refuse_count"],
        "forum_comments": totals["comment_count"],
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
            "forums.contribution",
            contribution_id=c.contribution_id,
            commentaire=c.id,
            _anchor=f"commentaire-{c.id}",
        ),
        title=lambda c: str(_l("Commentaire sur « %(title)s »", title=c.contribution.title)),
        excerpt=lambda c: c.body[:280],
        model=Comment,
        scope=lambda c: None,
        on_change=services.comment_visibility_changed,
    )


def _register_synthesis() -> None:
    """What the forums offer to the syntheses: three participation indicators and the
    contributions as citable sources (the forums are national: any territory may cite them)."""
    import re

    from consult import synthesis_registry as registry
    from consult.moderation import public_sql
    from forums.models import Comment, Contribution

    def visible(model: type, alias: str):
        return lambda session: public_sql(model, alias, session.get_bind().dialect)

    contribution, comment = visible(Contribution, "c"), visible(Comment, "m")
    registry.register_activity(
        registry.Activity(
            "contributions",
            lambda s: (
                "SELECT c.author_id AS user_id, c.author_academie_code AS academie_code, c.id, "  # noqa: S608 - fixed fragments
                "c.theme_id AS theme, c.subtheme_id AS subtheme, c.author_audience AS audience, "
                "c.created_at AS at FROM forum_contribution c "
                f"WHERE {contribution(s)} AND c.meeting_event_id IS NULL"
            ),
            _l("contributions"),
            position=10,
            extra=("id", "theme", "subtheme"),
        )
    )
    # Contributions collected in the room of a meeting: their account is the organiser who
    # typed them in, not the speaker, so they never make anyone a participant; each stands for
    # one speaker of the audience declared (counted like questionnaire responses).
    registry.register_activity(
        registry.Activity(
            "meeting_contributions",
            lambda s: (
                "SELECT c.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "c.author_audience AS audience, c.created_at AS at FROM forum_contribution c "
                f"WHERE {contribution(s)} AND c.meeting_event_id IS NOT NULL"
            ),
            _l("contributions recueillies en rencontre"),
            accounts=False,
            position=15,
        )
    )
    registry.register_activity(
        registry.Activity(
            "votes",
            lambda s: (
                "SELECT v.user_id, v.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "v.author_audience AS audience, v.created_at AS at, v.contribution_id, "
                "CASE WHEN v.value = 'adopt' THEN 1 ELSE 0 END AS adopt FROM forum_vote v "
                f"JOIN forum_contribution c ON c.id = v.contribution_id WHERE {contribution(s)}"
            ),
            _l("votes"),
            position=20,
            extra=("contribution_id", "adopt"),
        )
    )
    registry.register_activity(
        registry.Activity(
            "comments",
            lambda s: (
                "SELECT m.author_id AS user_id, m.author_academie_code AS academie_code, "  # noqa: S608 - fixed fragments
                "m.author_audience AS audience, m.created_at AS at, m.contribution_id, "
                "CASE WHEN m.polarity = 'pour' THEN 1 ELSE 0 END AS pour FROM forum_comment m "
                f"WHERE {comment(s)}"
            ),
            _l("commentaires"),
            position=30,
            extra=("contribution_id", "pour"),
        )
    )
    registry.register_citable(
        registry.Citable(
            "contribution",
            _l("Contribution"),
            Contribution,
            load=lambda session, i: session.get(Contribution, i),
            title=_citation_title,
            url=lambda c: f"/forums/contributions/{c.id}",
            path=re.compile(r"^/forums/contributions/(\d+)/?$"),
            missing=_l("La contribution n°%(id)s n'existe pas ou n'est pas publique."),
            named=_l("La contribution n°%(id)s"),
        )
    )


def _citation_title(session, contribution) -> str:
    """A contribution collected in a meeting's room says so where a synthesis cites it."""
    if contribution.meeting_event_id is None:
        return contribution.title
    from consult.territorial.models import Event

    event = session.get(Event, contribution.meeting_event_id)
    if event is None:
        return contribution.title
    return str(
        _l(
            "%(title)s (recueillie lors de la rencontre « %(event)s »)",
            title=contribution.title,
            event=event.title,
        )
    )


def _register_skeleton() -> None:
    """The forums' index, theme lists and contribution pages are served to logged-in
    participants from shared skeletons (consult/skeleton.py); the reader's vote on each card is
    a hole."""
    from consult import skeleton
    from forums.models import Comment, Vote

    def my_votes(sql: skeleton.Sql, person: str, keys: list[str]) -> str:
        return (
            "SELECT 'forums.vote', CAST(contribution_id AS VARCHAR(12)), value "  # noqa: S608 - table name from the model
            f"FROM {Vote.__tablename__} WHERE user_id = {person} "
            f"AND contribution_id {sql.among(int(k) for k in keys)}"
        )

    choices = {None: 0, "adopt": 1, "refuse": 2}  # the variants' order, below

    def choose(value: str | None, _locale: str) -> tuple[int, None] | None:
        index = choices.get(value)
        return None if index is None else (index, None)

    skeleton.register_hole("forums.vote", (None, "adopt", "refuse"), my_votes, choose)

    # Whoever commented a contribution gets its full render: they also read their own held or
    # hidden comments (which change its pages), and have no report link on their own.
    def commented(sql: skeleton.Sql, person: str, keys: list[str]) -> str:
        return (
            "SELECT 'forums.commented', '', '1' WHERE EXISTS (SELECT 1 FROM "  # noqa: S608 - table name from the model
            f"{Comment.__tablename__} WHERE author_id = {person} "
            f"AND contribution_id {sql.among(int(k) for k in keys)})"
        )

    skeleton.register_guard("forums.commented", commented)
    skeleton.register_page("forums.index")
    skeleton.register_page("forums.theme")
    skeleton.register_page("forums.contribution")


def init_app(app: Flask) -> None:
    from consult import pagecache
    from consult.api import register_api_blueprint
    from consult.hooks import hooks
    from consult.permissions import register_policy
    from consult.text import render_markdown
    from forums import demo, search, services
    from forums.api import bp as api_bp
    from forums.models import Vote
    from forums.permissions import Permission, policy
    from forums.views import bp

    # A vote moves two counters: cached visitors' pages may show them PAGE_CACHE_SECONDS late
    # rather than every vote emptying the page cache.
    pagecache.quiet(Vote)

    for key, default in (
        ("RATELIMIT_VOTE", "120 per minute"),
        ("RATELIMIT_CONTRIBUTE", "10 per minute;30 per hour"),
        ("RATELIMIT_COMMENT", "10 per minute;60 per hour"),
    ):
        app.config.setdefault(key, os.environ.get(key, default))
    # Votes commit without waiting for the disk flush on PostgreSQL (consult.db's
    # without_waiting_for_disk says what a crash could cost); VOTE_ASYNC_COMMIT=false to wait.
    app.config.setdefault(
        "VOTE_ASYNC_COMMIT",
        os.environ.get("VOTE_ASYNC_COMMIT", "true").strip().lower() not in ("0", "false", "no"),
    )
    register_policy(Permission, policy)
    app.register_blueprint(bp)
    register_api_blueprint(app, api_bp)
    _register_moderation()
    _register_synthesis()
    search.register()
    _register_skeleton()
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
