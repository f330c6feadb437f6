"""Reads: theme listings with keyset pagination, theme counts, a contribution's comments, an
author's activity."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, defaultload

from consult.inputs import bounded_int
from consult.models import Audience, User
from consult.territories import catalog
from forums.models import Comment, Contribution, Polarity, Theme, Vote
from forums.search import backend

PAGE_SIZE = 20
SORTS = ("adoption", "debat", "recent", "hasard")


class BadCursor(ValueError):
    pass


@dataclass
class Filters:
    subtheme_id: int | None = None
    audience: str | None = None
    academie: str | None = None

    @classmethod
    def clean(cls, subtheme: str | None, audience: str | None, academie: str | None) -> Filters:
        """Unknown values are ignored, as a select box would never send them."""
        values = {a.value for a in Audience}
        return cls(
            subtheme_id=bounded_int(subtheme, 0) or None,
            audience=audience if audience in values else None,
            academie=academie if academie in catalog().academies else None,
        )


def visible():
    return and_(
        Contribution.hidden_at.is_(None),
        Contribution.held_for_review.is_(False),
        Contribution.withdrawn_at.is_(None),
    )


def _without_grants(entity):
    # Authors are shown by pseudonym only: their role grants (loaded eagerly for the
    # logged-in user) would cost one more query per page.
    return defaultload(entity.author).lazyload(User.grants)


def _filtered(theme_id: int | None, filters: Filters):
    query = select(Contribution).where(visible()).options(_without_grants(Contribution))
    if theme_id is not None:
        query = query.where(Contribution.theme_id == theme_id)
    if filters.subtheme_id:
        query = query.where(Contribution.subtheme_id == filters.subtheme_id)
    if filters.audience:
        query = query.where(Contribution.author_audience == filters.audience)
    if filters.academie:
        query = query.where(Contribution.author_academie_code == filters.academie)
    return query


def _parse(cursor: str, parts: int, kinds: tuple) -> list:
    pieces = cursor.split("_")
    if len(pieces) != parts:
        raise BadCursor(cursor)
    try:
        return [kind(piece) for kind, piece in zip(kinds, pieces, strict=True)]
    except ValueError as exc:
        raise BadCursor(cursor) from exc


@dataclass
class Page:
    items: list[Contribution] = field(default_factory=list)
    next_cursor: str | None = None


def list_contributions(
    session: Session,
    theme_id: int | None,
    filters: Filters,
    sort: str = "adoption",
    cursor: str | None = None,
    seed: int = 0,
    limit: int = PAGE_SIZE,
) -> Page:
    """One page, by keyset: each sort has an index led by the theme, and the cursor carries the
    last row's sort key, so page 1,000 costs what page 1 costs."""
    if sort not in SORTS:
        sort = "adoption"
    base = _filtered(theme_id, filters)
    if sort == "hasard":
        return _shuffled(session, base, cursor, seed, limit)
    if sort == "adoption":
        keys = (Contribution.wilson, Contribution.id)
        parse = (float, int)
    elif sort == "debat":
        keys = (Contribution.comment_count, Contribution.id)
        parse = (int, int)
    else:
        keys = (Contribution.id,)
        parse = (int,)
    query = base
    if cursor:
        values = _parse(cursor, len(keys), parse)
        query = query.where(
            tuple_(*keys) < tuple_(*values) if len(keys) > 1 else keys[0] < values[0]
        )
    rows = session.scalars(query.order_by(*(k.desc() for k in keys)).limit(limit + 1)).all()
    page = Page(list(rows[:limit]))
    if len(rows) > limit:
        last = page.items[-1]
        page.next_cursor = "_".join(repr(getattr(last, k.key)) for k in keys)
    return page


def _shuffled(session: Session, base, cursor: str | None, seed: int, limit: int) -> Page:
    """A per-visitor order that reaches everything: walk the fixed random key from the
    visitor's seed to the end (phase 0), then from the start up to the seed (phase 1)."""
    keys = tuple_(Contribution.shuffle_key, Contribution.id)
    phase, after_key, after_id = 0, None, None
    if cursor:
        phase, after_key, after_id = _parse(cursor, 3, (int, int, int))
        if phase not in (0, 1):
            raise BadCursor(cursor)
    items: list[Contribution] = []
    while phase <= 1 and len(items) <= limit:
        query = base.where(
            Contribution.shuffle_key >= seed if phase == 0 else Contribution.shuffle_key < seed
        )
        if after_key is not None:
            query = query.where(keys > tuple_(after_key, after_id))
        wanted = limit + 1 - len(items)
        rows = session.scalars(
            query.order_by(Contribution.shuffle_key, Contribution.id).limit(wanted)
        ).all()
        items.extend((phase, row) for row in rows)
        if len(rows) < wanted:
            phase, after_key, after_id = phase + 1, None, None
    page = Page([row for _phase, row in items[:limit]])
    if len(items) > limit:
        last_phase, last = items[limit - 1]
        page.next_cursor = f"{last_phase}_{last.shuffle_key}_{last.id}"
    return page


def search_contributions(
    session: Session, query: str, theme_id: int | None, page: int, limit: int = PAGE_SIZE
) -> tuple[list[Contribution], bool]:
    ids = backend(session).search(session, query, theme_id, limit + 1, (page - 1) * limit)
    return _in_order(session, ids[:limit]), len(ids) > limit


def similar_contributions(
    session: Session, theme_id: int, title: str, limit: int = 5
) -> list[Contribution]:
    return _in_order(session, backend(session).similar(session, title, theme_id, limit))


def _in_order(session: Session, ids: list[int]) -> list[Contribution]:
    if not ids:
        return []
    found = {c.id: c for c in session.scalars(select(Contribution).where(Contribution.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def theme_counts(session: Session) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(
            Contribution.theme_id,
            func.count(),
            func.coalesce(func.sum(Contribution.adopt_count + Contribution.refuse_count), 0),
            func.coalesce(func.sum(Contribution.comment_count), 0),
        )
        .where(visible())
        .group_by(Contribution.theme_id)
    ).all()
    return {
        theme_id: {"contributions": n, "votes": int(votes), "comments": int(comments)}
        for theme_id, n, votes, comments in rows
    }


def themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position)))


def theme_by_slug(session: Session, slug: str) -> Theme | None:
    return session.scalar(select(Theme).where(Theme.slug == slug))


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


def comment_threads(
    session: Session, contribution: Contribution, viewer_id: int | None = None
) -> dict[str, list[Thread]]:
    """Top-level comments by polarity, each with its replies. Hidden and held comments show
    only to their author (who sees why)."""
    rows = session.scalars(
        select(Comment)
        .options(_without_grants(Comment))
        .where(Comment.contribution_id == contribution.id)
        .where(
            or_(
                and_(Comment.hidden_at.is_(None), Comment.held_for_review.is_(False)),
                Comment.author_id == (viewer_id or -1),
            )
        )
        .order_by(Comment.id)
    ).all()
    threads: dict[int, Thread] = {}
    replies: dict[int, list[Comment]] = defaultdict(list)
    for comment in rows:
        if comment.parent_id is None:
            threads[comment.id] = Thread(comment)
        else:
            replies[comment.parent_id].append(comment)
    columns: dict[str, list[Thread]] = {p.value: [] for p in Polarity}
    for thread in threads.values():
        thread.replies = replies.get(thread.comment.id, [])
        columns[thread.comment.polarity].append(thread)
    return columns


def author_activity(session: Session, user_id: int, limit: int = 10) -> dict:
    """What happened on the user's contributions: the in-app notifications of the account
    page, read from the data itself (no per-vote notification rows at millions of votes)."""
    mine = session.scalars(
        select(Contribution)
        .where(Contribution.author_id == user_id)
        .order_by(Contribution.id.desc())
        .limit(50)
    ).all()
    ids = [c.id for c in mine]
    if not ids:
        return {"contributions": [], "votes": [], "comments": []}
    votes = session.execute(
        select(Vote.value, Vote.updated_at, Contribution.id, Contribution.title)
        .join(Contribution, Contribution.id == Vote.contribution_id)
        .where(Vote.contribution_id.in_(ids))
        .order_by(Vote.updated_at.desc(), Vote.id.desc())
        .limit(limit)
    ).all()
    comments = session.scalars(
        select(Comment)
        .where(
            Comment.contribution_id.in_(ids),
            Comment.author_id != user_id,
            Comment.hidden_at.is_(None),
            Comment.held_for_review.is_(False),
        )
        .order_by(Comment.id.desc())
        .limit(limit)
    ).all()
    return {"contributions": mine, "votes": votes, "comments": comments}
