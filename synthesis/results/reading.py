"""Reading drafts, published versions and citations (no writes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from consult.models import User
from consult.territories import Scope
from synthesis.results.scopes import scope
from synthesis.results_models import (
    DRAFT,
    SynthesisProposal,
    SynthesisPublication,
    SynthesisSource,
)


def _versions_query(kind: str, code: str):
    return select(SynthesisPublication).where(
        SynthesisPublication.scope_kind == kind, SynthesisPublication.scope_code == code
    )


def draft_of(session: Session, info: Scope) -> SynthesisPublication | None:
    return session.scalar(
        _versions_query(info.kind, info.code).where(SynthesisPublication.version == DRAFT)
    )


def drafts_by_scope(session: Session) -> dict[tuple[str, str], SynthesisPublication]:
    rows = session.scalars(
        select(SynthesisPublication).where(SynthesisPublication.version == DRAFT)
    )
    return {(p.scope_kind, p.scope_code): p for p in rows}


def versions(session: Session, info: Scope) -> list[SynthesisPublication]:
    """Published versions, newest first."""
    return list(
        session.scalars(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.is_public)
            .order_by(SynthesisPublication.version.desc())
        )
    )


# A version's page shows every proposal with its sources: two queries, not one per proposal.
_WITH_PROPOSALS = selectinload(SynthesisPublication.proposals).selectinload(
    SynthesisProposal.sources
)


def latest(session: Session, info: Scope) -> SynthesisPublication | None:
    return mark_removed_sources(
        session,
        session.scalar(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.is_public)
            .order_by(SynthesisPublication.version.desc())
            .limit(1)
            .options(_WITH_PROPOSALS)
        ),
    )


def published(session: Session, info: Scope, version: int) -> SynthesisPublication | None:
    if version <= DRAFT:
        return None
    return mark_removed_sources(
        session,
        session.scalar(
            _versions_query(info.kind, info.code)
            .where(SynthesisPublication.version == version)
            .options(_WITH_PROPOSALS)
        ),
    )


def mark_removed_sources(
    session: Session, publication: SynthesisPublication | None
) -> SynthesisPublication | None:
    """Flag the sources whose item is no longer public (hidden, held, withdrawn since the
    version was published): pages show « contenu retiré par la modération » instead of their
    title and link. The version itself stays frozen: nothing is written. One query per kind."""
    if publication is None:
        return None
    from consult import synthesis_registry

    models = {kind: c.model for kind, c in synthesis_registry.citables().items()}
    sources = [
        s
        for p in publication.proposals
        for s in p.sources
        if s.kind in models and s.target_id is not None
    ]
    for kind, model in models.items():
        ids = {s.target_id for s in sources if s.kind == kind}
        if not ids:
            continue
        public = set(
            session.scalars(select(model.id).where(model.id.in_(sorted(ids)), model.is_public))
        )
        for source in sources:
            if source.kind == kind:
                source.removed = source.target_id not in public
    return publication


def latest_by_scope(session: Session) -> dict[tuple[str, str], SynthesisPublication]:
    """The newest published version of every scope, in one query."""
    newest = (
        select(
            SynthesisPublication.scope_kind,
            SynthesisPublication.scope_code,
            func.max(SynthesisPublication.version).label("version"),
        )
        .where(SynthesisPublication.is_public)
        .group_by(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
        .subquery()
    )
    rows = session.scalars(
        select(SynthesisPublication).join(
            newest,
            (SynthesisPublication.scope_kind == newest.c.scope_kind)
            & (SynthesisPublication.scope_code == newest.c.scope_code)
            & (SynthesisPublication.version == newest.c.version),
        )
    )
    return {(p.scope_kind, p.scope_code): p for p in rows}


def version_counts(session: Session) -> dict[tuple[str, str], int]:
    rows = session.execute(
        select(
            SynthesisPublication.scope_kind,
            SynthesisPublication.scope_code,
            func.count(),
        )
        .where(SynthesisPublication.is_public)
        .group_by(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
    )
    return {(k, c): n for k, c, n in rows}


def themes(session: Session) -> list[tuple[str, str]]:
    """(slug, title) of the forum themes, in their order."""
    from forums.models import Theme

    return [(t.slug, t.title) for t in session.scalars(select(Theme).order_by(Theme.position))]


def citations(session: Session, kind: str, target_id: int) -> list[SynthesisPublication]:
    """The published syntheses whose latest version cites this contribution, idea or Retex
    sheet: traceability from what people wrote to the proposals it fed."""
    rows = session.execute(
        select(SynthesisPublication.scope_kind, SynthesisPublication.scope_code)
        .join(SynthesisProposal, SynthesisProposal.publication_id == SynthesisPublication.id)
        .join(SynthesisSource, SynthesisSource.proposal_id == SynthesisProposal.id)
        .where(
            SynthesisSource.kind == kind,
            SynthesisSource.target_id == target_id,
            SynthesisPublication.is_public,
        )
        .distinct()
    ).all()
    found = []
    for scope_kind, scope_code in rows:
        current = latest(session, scope(scope_kind, scope_code))
        cited = current is not None and any(
            s.kind == kind and s.target_id == target_id
            for p in current.proposals
            for s in p.sources
        )
        if cited:
            found.append(current)
    order = {"national": 0, "region": 1, "academie": 2}
    return sorted(found, key=lambda p: (order.get(p.scope_kind, 3), p.scope_code))


def personal_data(session: Session, user: User) -> dict[str, Any]:
    """The account export: the versions this person published (the public pages name the
    role, not the person; the link is kept for the audit trail and shown only to them)."""
    rows = session.scalars(
        select(SynthesisPublication)
        .where(SynthesisPublication.published_by_id == user.id)
        .order_by(SynthesisPublication.published_at)
    )
    return {
        "synthesis_publications": [
            {
                "scope_kind": p.scope_kind,
                "scope_code": p.scope_code,
                "version": p.version,
                "title": p.title,
                "published_at": p.published_at.isoformat(timespec="seconds"),
            }
            for p in rows
        ]
    }
