"""The forums in the shared search (consult/search): contributions as a source, and the
« similar contributions » suggestions shown while a title is typed, on the same index."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from consult.moderation import public_sql
from consult.search import Filter, Hit, Source, ddl, register_source
from consult.search.stems import MAX_QUERY_WORDS, WORD_RE, term


def _public(dialect) -> str:
    # The contribution's one visibility rule (Contribution.is_public) as SQL on alias t.
    from forums.models import Contribution

    return public_sql(Contribution, "t", dialect)


def _load(session: Session, ids: list[int]) -> dict[int, Hit]:
    from forums.models import Contribution, Theme

    # Columns, not entities: a contribution loads its theme, sub-theme and author eagerly.
    found = session.execute(
        select(
            Contribution.id,
            Contribution.title,
            Contribution.body,
            Contribution.created_at,
            Theme.title,
        )
        .join(Theme, Theme.id == Contribution.theme_id)
        .where(Contribution.id.in_(ids), Contribution.is_public)
    )
    return {
        row_id: Hit(
            kind="contribution",
            id=row_id,
            title=title,
            text=body,
            endpoint="forums.contribution",
            values={"contribution_id": row_id},
            context=theme,
            date=created_at,
        )
        for row_id, title, body, created_at, theme in found
    }


def _theme_id(session: Session, slug: str) -> int | None:
    from forums import queries

    theme = queries.theme_by_slug(session, slug[:80])
    return theme.id if theme else None


def _themes(session: Session) -> list[tuple[str, str]]:
    from forums import queries

    return [(t.slug, t.title) for t in queries.themes(session)]


def register() -> None:
    register_source(
        Source(
            kind="contribution",
            label=_l("Contributions"),
            indexed=ddl.CONTRIBUTIONS,
            public=_public,
            load=_load,
            filters={
                "theme": Filter(
                    label=_l("Thème"),
                    sql="t.theme_id = :theme",
                    resolve=_theme_id,
                    choices=_themes,
                )
            },
            position=10,
        )
    )


def similar(session: Session, title: str, theme_id: int, limit: int) -> list[int]:
    """Ids of public contributions of the theme sharing words with ``title``, best first."""
    # Stop words and very short words would match nearly everything.
    words = [w for w in WORD_RE.findall(title or "") if len(w) > 3 and term(w)]
    words = list(dict.fromkeys(words))[:MAX_QUERY_WORDS]
    if not words:
        return []
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        # Any shared (stemmed, stop-word-free) word counts; the rank favours several.
        sql = (
            "SELECT id FROM (SELECT t.id, ts_rank_cd(f.search_vector, q) AS rank "  # noqa: S608
            f"FROM {ddl.CONTRIBUTIONS.fts} f JOIN forum_contribution t ON t.id = f.id, "
            f"to_tsquery('{ddl.PG_CONFIG}', :q) AS q "
            f"WHERE f.search_vector @@ q AND {_public(dialect)} AND t.theme_id = :theme "
            "LIMIT 500) AS m ORDER BY rank DESC, id DESC LIMIT :limit"
        )
        # Words are letters and digits only (WORD_RE): nothing here is tsquery syntax.
        q = " | ".join(words)
    else:
        fts = ddl.CONTRIBUTIONS.fts
        sql = (
            f"SELECT t.id FROM {fts} JOIN forum_contribution t ON t.id = {fts}.rowid "  # noqa: S608
            f"WHERE {fts} MATCH :q AND {_public(dialect)} AND t.theme_id = :theme "
            f"ORDER BY bm25({fts}, 10.0, 1.0), t.id DESC LIMIT :limit"
        )
        q = " OR ".join(f'"{t}"' for t in dict.fromkeys(term(w) for w in words))
    return list(session.scalars(text(sql), {"q": q, "theme": theme_id, "limit": limit}))
