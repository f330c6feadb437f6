"""Public reads: the published versions, filtered and searched the same way on both databases."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from retex.models import RetexRevision, RetexSheet, SheetStatus, TerritoryLevel

WORD_RE = re.compile(r"\w+", re.UNICODE)


@dataclass
class Filters:
    q: str = ""
    territory: str = ""
    theme: str = ""
    audience: str = ""
    level: str = ""
    period: str = ""


def current_revisions() -> Select:
    """The current published version of every public sheet."""
    return (
        select(RetexRevision)
        .join(
            RetexSheet,
            and_(
                RetexSheet.id == RetexRevision.sheet_id,
                RetexSheet.published_version == RetexRevision.version,
            ),
        )
        .where(RetexSheet.is_public)
    )


def _territory_clause(value: str):
    level, _sep, code = value.partition(":")
    if level == TerritoryLevel.REGION:
        return RetexRevision.region_code == code
    if level == TerritoryLevel.ACADEMIE:
        return RetexRevision.academie_code == code
    if level == TerritoryLevel.DEPARTEMENT:
        return and_(
            RetexRevision.territory_level == TerritoryLevel.DEPARTEMENT.value,
            RetexRevision.territory_code == code,
        )
    return None


def search_clause(session: Session, query: str):
    """The words filter of the list: the site's search (consult/search), on this source."""
    from consult.search.engine import match_ids

    return match_ids(session, "retex", query)


def _has(column, value: str):
    return column.contains(f",{value},", autoescape=True)


def filtered(session: Session, filters: Filters) -> Select:
    stmt = current_revisions()
    if filters.territory:
        clause = _territory_clause(filters.territory)
        if clause is not None:
            stmt = stmt.where(clause)
    if filters.theme:
        stmt = stmt.where(_has(RetexRevision.themes, filters.theme))
    if filters.audience:
        stmt = stmt.where(
            RetexRevision.audiences.contains(f",{filters.audience},", autoescape=True)
        )
    if filters.level:
        stmt = stmt.where(RetexRevision.school_level == filters.level)
    if filters.period:
        stmt = stmt.where(RetexRevision.period == filters.period)
    if filters.q:
        clause = search_clause(session, filters.q)
        if clause is not None:
            stmt = stmt.where(clause)
    return stmt


def page_of(
    session: Session, filters: Filters, page: int, per_page: int = 20
) -> tuple[list[RetexRevision], int]:
    stmt = filtered(session, filters)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(RetexRevision.published_at.desc(), RetexRevision.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(rows), total


def for_territory(
    session: Session, kind: str, code: str, academie_codes: list[str], limit: int = 5
) -> list[RetexRevision]:
    stmt = current_revisions()
    if kind == "region":
        stmt = stmt.where(
            or_(RetexRevision.region_code == code, RetexRevision.academie_code.in_(academie_codes))
        )
    else:
        stmt = stmt.where(RetexRevision.academie_code.in_(academie_codes or [code]))
    return list(
        session.scalars(
            stmt.order_by(RetexRevision.published_at.desc(), RetexRevision.id.desc()).limit(limit)
        )
    )


def stream(session: Session, filters: Filters, chunk: int = 500) -> Iterator[RetexRevision]:
    """Every matching published version in keyset-paginated chunks: bounded memory for exports
    whatever the row count (no server-side cursor needed, so it works on SQLite too)."""
    last_id = 0
    while True:
        rows = session.scalars(
            filtered(session, filters)
            .where(RetexRevision.id > last_id)
            .order_by(RetexRevision.id)
            .limit(chunk)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


def api_page(
    session: Session, filters: Filters, after: int, limit: int
) -> tuple[list[RetexRevision], int | None]:
    rows = session.scalars(
        filtered(session, filters)
        .where(RetexRevision.sheet_id > after)
        .order_by(RetexRevision.sheet_id)
        .limit(limit + 1)
    ).all()
    next_cursor = rows[limit - 1].sheet_id if len(rows) > limit else None
    return list(rows[:limit]), next_cursor


def count_published(session: Session) -> int:
    return session.scalar(select(func.count()).where(RetexSheet.is_public)) or 0


def review_queue(session: Session, user, limit: int = 200) -> list[RetexSheet]:
    """Submitted sheets this user may review, oldest first; the territory rule is the policy's
    (retex.permissions.reviews_territory) written as SQL so the queue never truncates."""
    from consult.models import Role, ScopeKind

    stmt = select(RetexSheet).where(
        RetexSheet.status == SheetStatus.SUBMITTED.value, RetexSheet.author_id != user.id
    )
    if not user.has_role(Role.ADMIN):
        clauses = []
        for grant in user.grants:
            if grant.role != Role.COORDINATOR:
                continue
            if grant.scope_kind == ScopeKind.REGION:
                clauses.append(RetexSheet.region_code == grant.scope_code)
            elif grant.scope_kind == ScopeKind.ACADEMIE:
                clauses.append(
                    and_(
                        RetexSheet.academie_code == grant.scope_code,
                        RetexSheet.territory_level != TerritoryLevel.REGION.value,
                    )
                )
        if not clauses:
            return []
        stmt = stmt.where(or_(*clauses))
    return list(session.scalars(stmt.order_by(RetexSheet.submitted_at, RetexSheet.id).limit(limit)))
