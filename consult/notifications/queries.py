"""The public profile: what one person published that anyone may read (the one rule), newest
first, across the packages that are installed."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import datetime

from flask import url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from consult.models import User
from consult.security import fold

PROFILE_PAGE = 20


@dataclass(frozen=True)
class Item:
    kind: str  # shown as the item's type
    title: str
    url: str
    at: datetime
    excerpt: str = ""


def user_by_slug(session: Session, slug: str) -> User | None:
    if not slug or len(slug) > 64:
        return None
    return session.scalar(select(User).where(User.pseudonym_key == fold(slug)))


def profile_items(session: Session, user: User, page: int) -> tuple[list[Item], bool]:
    """One page of the person's public writing. Each kind contributes its newest
    ``page * PROFILE_PAGE + 1`` rows, so the merged page is exact without an SQL UNION across
    packages."""
    need = page * PROFILE_PAGE + 1
    items: list[Item] = []
    if importlib.util.find_spec("forums") is not None:
        from forums.models import Comment, Contribution

        for c in session.scalars(
            select(Contribution)
            .where(Contribution.author_id == user.id, Contribution.is_public)
            .order_by(Contribution.created_at.desc(), Contribution.id.desc())
            .limit(need)
        ):
            items.append(
                Item(
                    _("Contribution"),
                    c.title,
                    url_for("forums.contribution", contribution_id=c.id),
                    c.created_at,
                    c.excerpt,
                )
            )
        for m in session.scalars(
            select(Comment)
            .where(Comment.author_id == user.id, Comment.is_public)
            .order_by(Comment.created_at.desc(), Comment.id.desc())
            .limit(need)
        ):
            items.append(
                Item(
                    _("Commentaire"),
                    _("Sur « %(title)s »", title=m.contribution.title),
                    url_for(
                        "forums.contribution",
                        contribution_id=m.contribution_id,
                        _anchor=f"commentaire-{m.id}",
                    ),
                    m.created_at,
                    m.body[:280],
                )
            )
    from consult.territorial.models import Idea
    from consult.text import plain_text

    for idea in session.scalars(
        select(Idea)
        .where(Idea.author_id == user.id, Idea.is_public)
        .order_by(Idea.created_at.desc(), Idea.id.desc())
        .limit(need)
    ):
        items.append(
            Item(
                _("Idée"),
                idea.title,
                url_for("territories.idea", idea_id=idea.id),
                idea.created_at,
                plain_text(idea.body)[:280],
            )
        )
    if importlib.util.find_spec("retex") is not None:
        from retex.models import RetexRevision, RetexSheet

        # The published version's title: a draft in progress is not public.
        for revision in session.scalars(
            select(RetexRevision)
            .join(RetexSheet, RetexSheet.id == RetexRevision.sheet_id)
            .where(
                RetexSheet.author_id == user.id,
                RetexSheet.is_public,
                RetexRevision.version == RetexSheet.published_version,
            )
            .order_by(RetexRevision.published_at.desc(), RetexRevision.id.desc())
            .limit(need)
        ):
            items.append(
                Item(
                    _("Fiche Retex"),
                    revision.title,
                    url_for("retex.show", sheet_id=revision.sheet_id),
                    revision.published_at,
                )
            )
    items.sort(key=lambda i: i.at, reverse=True)
    start = (page - 1) * PROFILE_PAGE
    return items[start : start + PROFILE_PAGE], len(items) > start + PROFILE_PAGE
