"""Reads for the territorial pages, feeds and API."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session, joinedload

from consult import tallies
from consult.db import utcnow
from consult.models import User
from consult.territorial.models import IDEA_TALLY, Event, EventMinutes, Idea, NewsItem
from consult.territories import Scope

PAGE_SIZE = 20


def _scope_filter(model: type[Event] | type[NewsItem], territory: Scope):
    scopes = territory.related()
    if territory.kind == "national":
        return None
    if not scopes:
        return false()
    return or_(*(and_(model.scope_kind == k, model.scope_code == c) for k, c in scopes))


def events_query(territory: Scope, *, upcoming: bool = True) -> Select:
    stmt = select(Event).where(Event.is_public)
    where = _scope_filter(Event, territory)
    if where is not None:
        stmt = stmt.where(where)
    if upcoming:
        stmt = stmt.where(Event.ends_at >= utcnow()).order_by(Event.starts_at, Event.id)
    else:
        stmt = stmt.order_by(Event.starts_at.desc(), Event.id.desc())
    return stmt


def upcoming_events(session: Session, territory: Scope, limit: int = 5) -> list[Event]:
    return list(session.scalars(events_query(territory).limit(limit)))


def news_query(territory: Scope) -> Select:
    stmt = (
        select(NewsItem)
        .where(NewsItem.is_public)
        .options(joinedload(NewsItem.author).lazyload(User.grants))
    )
    where = _scope_filter(NewsItem, territory)
    if where is not None:
        stmt = stmt.where(where)
    return stmt.order_by(NewsItem.published_at.desc(), NewsItem.id.desc())


def latest_news(session: Session, territory: Scope, limit: int = 5) -> list[NewsItem]:
    return list(session.scalars(news_query(territory).limit(limit)))


def minutes_query(territory: Scope) -> Select:
    """Published minutes of the territory's meetings, newest first."""
    stmt = (
        select(EventMinutes)
        .join(Event, Event.id == EventMinutes.event_id)
        .where(EventMinutes.is_public, Event.is_public)
    )
    where = _scope_filter(Event, territory)
    if where is not None:
        stmt = stmt.where(where)
    return stmt.order_by(EventMinutes.published_at.desc(), EventMinutes.id.desc())


def latest_minutes(session: Session, territory: Scope, limit: int = 5) -> list[EventMinutes]:
    return list(session.scalars(minutes_query(territory).limit(limit)))


# Lists show authors' pseudonyms only: their role grants (loaded eagerly on User) stay unloaded.
AUTHOR_ONLY = joinedload(Idea.author).lazyload(User.grants)


def visible_ideas_query(academie_codes: tuple[str, ...]) -> Select:
    return (
        select(Idea)
        .options(AUTHOR_ONLY)
        .where(
            Idea.academie_code.in_(academie_codes),
            Idea.is_public,
        )
    )


IDEA_SORTS = {
    "soutiens": (Idea.support_count.desc(), Idea.id.desc()),
    "recentes": (Idea.created_at.desc(), Idea.id.desc()),
}


def ideas_page(
    session: Session,
    academie_codes: tuple[str, ...],
    *,
    sort: str = "soutiens",
    status: str | None = None,
    page: int = 1,
) -> tuple[list[Idea], int]:
    stmt = visible_ideas_query(academie_codes)
    if status == "sans_reponse":
        stmt = stmt.where(Idea.status.is_(None))
    elif status:
        stmt = stmt.where(Idea.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(*IDEA_SORTS.get(sort, IDEA_SORTS["soutiens"]))
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return list(rows), total


def cached_participation(session: Session, territory: Scope) -> dict[str, object]:
    """Kept as long as the home page's counters (COUNTERS_CACHE_SECONDS)."""
    from flask import current_app

    from consult.cache import cached_json
    from consult.counters import with_dates

    ttl = current_app.config["COUNTERS_CACHE_SECONDS"]
    if ttl <= 0:
        return with_dates(participation(session, territory))
    return with_dates(
        cached_json(
            f"territorial:participation:{territory.form_key}",
            ttl,
            lambda: participation(session, territory),
        )
    )


def participation(session: Session, territory: Scope) -> dict[str, object]:
    """Facts about public content (visible ideas and the supports they show, kept at write time
    by consult/tallies.py), and the territory's people figures from the latest compilation
    (``consult.counters``: never a live count of people, which differenced with the région's or
    the nation's would give back a hidden cell)."""
    from consult.counters import compiled_people

    figures = tallies.totals(session, IDEA_TALLY, territory.academie_codes)
    return {
        "ideas": figures["items"],
        "idea_supports": figures["support_count"],
        "people": compiled_people(territory.kind, territory.code),
    }


def idea_counts_by_academie(session: Session, codes: tuple[str, ...]) -> dict[str, int]:
    wanted = set(codes)
    return {
        code: figures["items"]
        for code, figures in tallies.by_group(session, IDEA_TALLY).items()
        if code in wanted and figures["items"]
    }


def events_between(session: Session, start: datetime, end: datetime) -> list[Event]:
    return list(
        session.scalars(
            select(Event)
            .where(Event.is_public, Event.starts_at < end, Event.ends_at >= start)
            .order_by(Event.starts_at)
        )
    )
