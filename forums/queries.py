"""Reads: theme listings with keyset pagination, theme counts, a contribution's comments, an
author's activity."""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import BigInteger, cast, func, or_, select, tuple_
from sqlalchemy.orm import Session, defaultload

from consult.inputs import MAX_ID, bounded_int
from consult.models import User
from forums import search
from forums.models import Comment, Contribution, Polarity, Theme, Vote

PAGE_SIZE = 20
SORTS = ("adoption", "debat", "recent", "hasard")


class BadCursor(ValueError):
    pass


@dataclass
class Filters:
    """What a theme list may be narrowed by: public content only. The author's audience and
    académie are protected figures (synthesis/README.md, "What is public content and what is
    protected"): a list filtered by them would recount, item by item, the cells the syntheses
    perturb or hide, so there is no such filter (here or in the API)."""

    subtheme_id: int | None = None

    @classmethod
    def clean(cls, subtheme: str | None) -> Filters:
        """Unknown values are ignored, as a select box would never send them."""
        return cls(subtheme_id=bounded_int(subtheme, 0) or None)


def _without_grants(entity):
    # Authors are shown by pseudonym only: their role grants (loaded eagerly for the
    # logged-in user) would cost one more query per page.
    return defaultload(entity.author).lazyload(User.grants)


def _filtered(theme_id: int | None, filters: Filters):
    query = (
        select(Contribution).where(Contribution.is_public).options(_without_grants(Contribution))
    )
    if theme_id is not None:
        query = query.where(Contribution.theme_id == theme_id)
    if filters.subtheme_id:
        query = query.where(Contribution.subtheme_id == filters.subtheme_id)
    return query


def _parse(cursor: str, parts: int, kinds: tuple) -> list:
    pieces = cursor.split("_")
    if len(pieces) != parts:
        raise BadCursor(cursor)
    try:
        values = [kind(piece) for kind, piece in zip(kinds, pieces, strict=True)]
    except ValueError as exc:
        raise BadCursor(cursor) from exc
    # Beyond the INTEGER columns' range or not finite, a value names no row and would make the
    # driver or the database fail.
    numbers = [v for v in values if isinstance(v, int | float)]
    if any(not math.isfinite(v) or abs(v) > MAX_ID for v in numbers):
        raise BadCursor(cursor)
    return values


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
        # The number the cards show: every comment, replies included.
        keys = (Contribution.comment_count, Contribution.id)
        parse = (int, int)
    else:
        # By the date people see on the cards, not by id (imports and contributions collected
        # at meetings are recorded after the fact).
        keys = (Contribution.created_at, Contribution.id)
        parse = (datetime.fromisoformat, int)
    query = base
    if cursor:
        values = _parse(cursor, len(keys), parse)
        query = query.where(tuple_(*keys) < tuple_(*values))
    rows = session.scalars(query.order_by(*(k.desc() for k in keys)).limit(limit + 1)).all()
    page = Page(list(rows[:limit]))
    if len(rows) > limit:
        last = page.items[-1]
        page.next_cursor = "_".join(_cursor_part(getattr(last, k.key)) for k in keys)
    return page


def _cursor_part(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else repr(value)


# A prime above any id: position = (id × a + b) mod P is a permutation of the ids, a different
# one for every (a, b), so each visitor gets a shuffle of their own, not one shared sequence
# started at a different place. The products stay under 2**62 (64-bit integers on both
# databases).
SHUFFLE_PRIME = 2**31 - 1


def shuffle_coefficients(seed: int) -> tuple[int, int]:
    digest = hashlib.sha256(f"forum-shuffle:{seed}".encode()).digest()
    a = 1 + int.from_bytes(digest[:8], "big") % (SHUFFLE_PRIME - 1)
    b = int.from_bytes(digest[8:16], "big") % SHUFFLE_PRIME
    return a, b


def _shuffled(session: Session, base, cursor: str | None, seed: int, limit: int) -> Page:
    """The visitor's own order: ids permuted by their seed; the cursor is the last position
    (positions are distinct, so it alone says where the next page starts)."""
    a, b = shuffle_coefficients(seed)
    position = (cast(Contribution.id, BigInteger) * a + b) % SHUFFLE_PRIME
    query = base
    if cursor:
        (after,) = _parse(cursor, 1, (int,))
        query = query.where(position > after)
    rows = session.scalars(query.order_by(position).limit(limit + 1)).all()
    page = Page(list(rows[:limit]))
    if len(rows) > limit:
        page.next_cursor = str((page.items[-1].id * a + b) % SHUFFLE_PRIME)
    return page


def similar_contributions(
    session: Session, theme_id: int, title: str, limit: int = 5
) -> list[Contribution]:
    return _in_order(session, search.similar(session, title, theme_id, limit))


def _in_order(session: Session, ids: list[int]) -> list[Contribution]:
    if not ids:
        return []
    found = {
        c.id: c
        for c in session.scalars(
            select(Contribution).where(Contribution.id.in_(ids), Contribution.is_public)
        )
    }
    return [found[i] for i in ids if i in found]


def theme_counts(session: Session) -> dict[int, dict[str, int]]:
    """Public contributions per theme and the votes and comments they show, from the tally
    kept at write time (consult/tallies.py)."""
    from consult import tallies
    from forums.models import THEME_TALLY

    return {
        theme_id: {
            "contributions": figures["items"],
            "votes": figures["adopt_count"] + figures["refuse_count"],
            "comments": figures["comment_count"],
        }
        for theme_id, figures in tallies.by_group(session, THEME_TALLY).items()
    }


def themes(session: Session) -> list[Theme]:
    return list(session.scalars(select(Theme).order_by(Theme.position)))


def theme_by_slug(session: Session, slug: str) -> Theme | None:
    return session.scalar(select(Theme).where(Theme.slug == slug))


@dataclass
class Thread:
    comment: Comment
    replies: list[Comment] = field(default_factory=list)


# Threads (a top-level comment and its replies) per page of a contribution: 49 threads and
# their replies on one page made the heaviest pages of the site.
THREADS_PER_PAGE = 20


@dataclass
class CommentPage:
    threads: dict[str, list[Thread]]  # by polarity, as comment_threads
    page: int
    pages: int


def _readable(contribution: Contribution, viewer_id: int | None) -> tuple:
    """Comments of the contribution this viewer reads: the visible ones, and their own (hidden
    and held ones show only to their author, who sees why). The contribution itself was checked
    by the caller (``visible_to``), so the comments' own moderation state decides."""
    return (
        Comment.contribution_id == contribution.id,
        or_(Comment.is_visible, Comment.author_id == (viewer_id or -1)),
    )


def _columns(rows: list[Comment]) -> dict[str, list[Thread]]:
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


def comment_threads(
    session: Session, contribution: Contribution, viewer_id: int | None = None
) -> dict[str, list[Thread]]:
    """Every top-level comment by polarity, each with its replies (see comment_page)."""
    rows = session.scalars(
        select(Comment)
        .options(_without_grants(Comment))
        .where(*_readable(contribution, viewer_id))
        .order_by(Comment.id)
    ).all()
    return _columns(list(rows))


def comment_page_of(
    session: Session, contribution: Contribution, comment_id: int, viewer_id: int | None = None
) -> int | None:
    """The page of the contribution that shows this comment (a reply is on its thread's page),
    or None when the viewer does not read it."""
    root = session.scalar(
        select(func.coalesce(Comment.parent_id, Comment.id)).where(
            Comment.id == comment_id, *_readable(contribution, viewer_id)
        )
    )
    if root is None:
        return None
    before = session.scalar(
        select(func.count())
        .select_from(Comment)
        .where(*_readable(contribution, viewer_id), Comment.parent_id.is_(None), Comment.id < root)
    )
    return int(before or 0) // THREADS_PER_PAGE + 1


def comment_page(
    session: Session,
    contribution: Contribution,
    viewer_id: int | None = None,
    page: int = 1,
    focus: int | None = None,
) -> CommentPage:
    """One page of threads, oldest first, replies with their thread; ``focus`` (a comment id)
    picks the page that shows that comment. A page beyond the last shows the last."""
    readable = _readable(contribution, viewer_id)
    total = session.scalar(
        select(func.count()).select_from(Comment).where(*readable, Comment.parent_id.is_(None))
    )
    pages = max(1, math.ceil((total or 0) / THREADS_PER_PAGE))
    if focus is not None:
        page = comment_page_of(session, contribution, focus, viewer_id) or page
    page = min(max(1, page), pages)
    roots = (
        select(Comment.id)
        .where(*readable, Comment.parent_id.is_(None))
        .order_by(Comment.id)
        .limit(THREADS_PER_PAGE)
        .offset((page - 1) * THREADS_PER_PAGE)
    ).scalar_subquery()
    rows = session.scalars(
        select(Comment)
        .options(_without_grants(Comment))
        .where(*readable, or_(Comment.id.in_(roots), Comment.parent_id.in_(roots)))
        .order_by(Comment.id)
    ).all()
    return CommentPage(_columns(list(rows)), page, pages)


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
            Comment.is_public,
        )
        .order_by(Comment.id.desc())
        .limit(limit)
    ).all()
    return {"contributions": mine, "votes": votes, "comments": comments}
