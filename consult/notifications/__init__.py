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


def _register_skeleton() -> None:
    """The follow buttons and the bell are holes of the logged-in skeletons
    (consult/skeleton.py), filled with the reader's follows and unread count. Follows and
    notifications show on no shared page: writing them leaves the page cache alone."""
    from babel import Locale

    from consult import pagecache, skeleton
    from consult.notifications.models import Follow, Notification

    pagecache.quiet(Follow, Notification)

    def follows(sql: skeleton.Sql, person: str, keys: list[str]) -> str:
        pairs = []
        for value in keys:
            kind, _sep, key = value.partition(":")
            pairs.append(f'(f.kind = {sql.param(kind)} AND f."key" = {sql.param(key)})')
        return (
            "SELECT 'notifications.follow', f.kind || ':' || f.\"key\", '1' "  # noqa: S608 - table name from the model
            f"FROM {Follow.__tablename__} f WHERE f.user_id = {person} AND ({' OR '.join(pairs)})"
        )

    skeleton.register_hole(
        "notifications.follow",
        (False, True),
        follows,
        lambda value, _locale: (1 if value else 0, None),
    )

    def unread(_sql: skeleton.Sql, person: str, _keys: list[str]) -> str:
        return (
            "SELECT 'notifications.unread', '', CAST(COUNT(*) AS VARCHAR(12)) "  # noqa: S608 - table name from the model
            f"FROM {Notification.__tablename__} WHERE user_id = {person} AND read_at IS NULL"
        )

    def choose(value: str | None, locale: str) -> tuple[int, str | None] | None:
        count = int(value or 0)
        if count < 2:
            return count, None
        # The counts of one variant must share its plural form (« non lues »): true of every
        # count from 2 on in French and English; another language may need the full render.
        sample = 2 if count < 100 else 100
        plural = Locale.parse(locale).plural_form
        if plural(count) != plural(sample):
            return None
        return (2 if count < 100 else 3), str(count)

    skeleton.register_hole(
        "notifications.unread",
        (0, 1, skeleton.Number(2), skeleton.Number(100)),
        unread,
        choose,
    )


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

    _register_skeleton()
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
