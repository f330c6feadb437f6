"""Full-text search over contributions behind one interface: PostgreSQL's French configuration
(an expression GIN index on ``to_tsvector('french', title || ' ' || body)``) or SQLite FTS5
(an external-content table kept in sync by triggers). Both are created by the migrations."""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from consult.moderation import public_sql

WORD_RE = re.compile(r"[^\W_]{2,}", re.UNICODE)
MAX_WORDS = 12
CANDIDATES = 500
# What the PostgreSQL GIN index is built on; queries repeat it verbatim so the planner uses it.
PG_DOCUMENT = "to_tsvector('french', c.title || ' ' || c.body)"


def _public(session: Session) -> str:
    # The contribution's one visibility rule (forums.models.Contribution.is_public) as SQL.
    from forums.models import Contribution

    return public_sql(Contribution, "c", session.get_bind().dialect)


def words(query: str) -> list[str]:
    return WORD_RE.findall(query or "")[:MAX_WORDS]


class SearchBackend(Protocol):
    def search(
        self, session: Session, query: str, theme_id: int | None, limit: int, offset: int
    ) -> list[int]:
        """Ids of visible contributions matching every word, best first."""

    def similar(self, session: Session, title: str, theme_id: int, limit: int) -> list[int]:
        """Ids of visible contributions sharing words with ``title``, best first."""


class PostgresSearch:
    def _run(
        self, session: Session, tsquery: str, q: str, theme_id: int | None, limit: int, offset: int
    ) -> list[int]:
        theme = "AND c.theme_id = :theme" if theme_id else ""
        # Ranking recomputes each match's tsvector: rank only the first CANDIDATES matches
        # the GIN index yields, so a very common word costs the same at any table size.
        sql = text(
            "SELECT id FROM ("  # noqa: S608 - fixed fragments
            f"SELECT c.id, ts_rank({PG_DOCUMENT}, q) AS rank FROM forum_contribution c, "
            f"{tsquery} AS q WHERE {PG_DOCUMENT} @@ q AND {_public(session)} {theme} "
            f"LIMIT {CANDIDATES}) AS m ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset"
        )
        params = {"q": q, "theme": theme_id, "limit": limit, "offset": offset}
        return list(session.scalars(sql, params))

    def search(
        self, session: Session, query: str, theme_id: int | None, limit: int, offset: int
    ) -> list[int]:
        terms = words(query)
        if not terms:
            return []
        return self._run(
            session, "plainto_tsquery('french', :q)", " ".join(terms), theme_id, limit, offset
        )

    def similar(self, session: Session, title: str, theme_id: int, limit: int) -> list[int]:
        terms = words(title)
        if not terms:
            return []
        # Any shared (stemmed, stop-word-free) word counts; ts_rank favours several.
        return self._run(
            session,
            "to_tsquery('french', :q)",
            " | ".join(terms),
            theme_id,
            limit,
            0,
        )


class SqliteSearch:
    def _run(
        self, session: Session, match: str, theme_id: int | None, limit: int, offset: int
    ) -> list[int]:
        theme = "AND c.theme_id = :theme" if theme_id else ""
        sql = text(
            "SELECT c.id FROM forum_contribution_fts f "  # noqa: S608 - fixed fragments
            "JOIN forum_contribution c ON c.id = f.rowid "
            f"WHERE forum_contribution_fts MATCH :match AND {_public(session)} {theme} "
            "ORDER BY f.rank, c.id DESC LIMIT :limit OFFSET :offset"
        )
        params = {"match": match, "theme": theme_id, "limit": limit, "offset": offset}
        return list(session.scalars(sql, params))

    @staticmethod
    def _quoted(terms: list[str]) -> list[str]:
        # Quoted terms: FTS5 operators typed by people (NEAR, AND, *, ^) stay plain words.
        return ['"' + t.replace('"', "") + '"' for t in terms]

    def search(
        self, session: Session, query: str, theme_id: int | None, limit: int, offset: int
    ) -> list[int]:
        terms = words(query)
        if not terms:
            return []
        return self._run(session, " ".join(self._quoted(terms)), theme_id, limit, offset)

    def similar(self, session: Session, title: str, theme_id: int, limit: int) -> list[int]:
        terms = [t for t in words(title) if len(t) > 3]
        if not terms:
            return []
        return self._run(session, " OR ".join(self._quoted(terms)), theme_id, limit, 0)


def backend(session: Session) -> SearchBackend:
    if session.get_bind().dialect.name == "postgresql":
        return PostgresSearch()
    return SqliteSearch()
