"""The search itself, on PostgreSQL (stored tsvector, GIN, ``websearch_to_tsquery``,
``ts_rank_cd``) or SQLite (FTS5 over French stems, bm25).

At Grand-Débat scale a common word matches hundreds of thousands of rows: ranking them all, or
counting them exactly, would cost every query a pass over them. So each source ranks at most
CANDIDATES matches (the first the index yields) and counts up to COUNT_CAP (« plus de 1 000
résultats » beyond): both bounded, whatever the table size. Measured on the gd dataset
(bench/search_bench.py): reading a match costs ~1-3 µs when its page is in memory, ~10 µs
otherwise, so the caps, not the table size, set the price of a common word.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from consult.search import Hit, Source, ddl, sources
from consult.search.stems import fts5_match, highlight, parse

CANDIDATES = 200
COUNT_CAP = 1_000
PER_PAGE = 20
MAX_QUERY_CHARS = 200


@dataclass
class Results:
    query: str
    terms: list[str]
    kind: str | None
    page: int
    per_page: int
    hits: list[Hit] = field(default_factory=list)
    # Matches per kind (each capped at COUNT_CAP), for the filters and the count.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        if self.kind:
            return self.counts.get(self.kind, 0)
        return sum(self.counts.values())

    @property
    def capped(self) -> bool:
        wanted = [self.kind] if self.kind else list(self.counts)
        return any(self.counts.get(k, 0) >= COUNT_CAP for k in wanted)

    @property
    def pages(self) -> int:
        # Only the ranked candidates can be paged through.
        reachable = min(self.total, CANDIDATES * (1 if self.kind else max(1, len(self.counts))))
        return max(1, -(-reachable // self.per_page))


_PUBLIC: dict[tuple[str, str], str] = {}


def _public(source: Source, dialect) -> str:
    # Compiling the model's rule costs milliseconds: once per source and database kind.
    key = (source.kind, dialect.name)
    if key not in _PUBLIC:
        _PUBLIC[key] = source.public(dialect)
    return _PUBLIC[key]


def _where(source: Source, dialect, filters: dict[str, object]) -> tuple[str, dict]:
    clauses = [_public(source, dialect)]
    params: dict[str, object] = {}
    for name, narrowing in source.filters.items():
        if filters.get(name) is not None:
            clauses.append(narrowing.sql)
            params[name] = filters[name]
    return " AND ".join(clauses), params


def _pg(source: Source, dialect, filters) -> tuple[str, str, dict]:
    """One statement counts (up to COUNT_CAP) and ranks (the first CANDIDATES) from a single
    pass over the index: the matches are read once, into a materialised CTE."""
    where, params = _where(source, dialect, filters)
    fts, table = source.indexed.fts, source.indexed.table
    query = f"websearch_to_tsquery('{ddl.PG_CONFIG}', :q)"
    if source.indexed.model and not params:
        # The side table's copy of the rule: no visit to the content table per match (the
        # loader checks the rule again on the page's rows).
        base = f"FROM {fts} f WHERE f.search_vector @@ {query} AND f.public"
        select_id = "f.id"
    else:
        base = (
            f"FROM {fts} f JOIN {table} t ON t.id = f.id {source.join} "
            f"WHERE f.search_vector @@ {query} AND {where}"
        )
        select_id = "t.id"
    ranked = (
        f"WITH m AS MATERIALIZED (SELECT {select_id} AS id, f.search_vector {base} LIMIT :cap) "  # noqa: S608
        "SELECT (SELECT count(*) FROM m) AS total, r.id, r.rank FROM ("
        f"SELECT id, ts_rank_cd(search_vector, {query}) AS rank FROM m LIMIT :candidates) AS r "
        "ORDER BY r.rank DESC, r.id DESC LIMIT :n"
    )
    count = f"SELECT count(*) FROM (SELECT 1 {base} LIMIT :cap) AS m"  # noqa: S608
    return ranked, count, params


def _sqlite(source: Source, dialect, filters) -> tuple[str, str, dict]:
    where, params = _where(source, dialect, filters)
    fts, table = source.indexed.fts, source.indexed.table
    weights = ", ".join(["10.0", "1.0"][: len(source.indexed.columns)])
    base = (
        f"FROM {fts} JOIN {table} t ON t.id = {fts}.rowid {source.join} "
        f"WHERE {fts} MATCH :q AND {where}"
    )
    ranked = (
        f"SELECT t.id, -bm25({fts}, {weights}) AS rank {base} "
        "ORDER BY rank DESC, t.id DESC LIMIT min(:n, :candidates)"
    )
    count = f"SELECT count(*) FROM (SELECT 1 {base} LIMIT :cap) AS m"  # noqa: S608
    return ranked, count, params


def search(
    session: Session,
    query: str,
    kind: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
    filters: dict[str, object] | None = None,
) -> Results:
    """Public matches of ``query`` (every word, stemmed), best first, one page of them."""
    query = (query or "")[:MAX_QUERY_CHARS].strip()
    filters = filters or {}
    registered = sources()
    if kind not in registered:
        kind = None
    parsed = parse(query)
    wanted = parsed.wanted
    results = Results(query, wanted, kind, max(1, page), per_page)
    if not wanted:
        return results
    dialect = session.get_bind().dialect
    postgres = dialect.name == "postgresql"
    # The PostgreSQL side parses the query itself (phrases, OR, -word); SQLite gets the terms.
    q = query if postgres else fts5_match(parsed)
    need = results.page * per_page
    ranked: list[tuple[float, int, str, int]] = []
    order = {name: i for i, name in enumerate(registered)}
    active = {name for name, value in filters.items() if value is not None}
    for name, source in registered.items():
        # A filter only one source understands (a forum theme) narrows the search to it.
        if not active <= source.filters.keys():
            continue
        ranked_sql, count_sql, params = (_pg if postgres else _sqlite)(source, dialect, filters)
        params |= {"q": q, "cap": COUNT_CAP, "candidates": CANDIDATES, "n": need}
        if kind and name != kind:
            results.counts[name] = int(session.scalar(text(count_sql), params) or 0)
            continue
        if postgres:
            rows = session.execute(text(ranked_sql), params).all()
            # No row: no match (the count comes with each ranked row).
            results.counts[name] = int(rows[0][0]) if rows else 0
            found = [(row_id, rank) for _total, row_id, rank in rows]
        else:
            results.counts[name] = int(session.scalar(text(count_sql), params) or 0)
            found = list(session.execute(text(ranked_sql), params)) if results.counts[name] else []
        for row_id, rank in found:
            ranked.append((-float(rank or 0), order[name], -row_id, row_id))
    ranked.sort()
    start = (results.page - 1) * per_page
    chosen = [
        (order_kind, row_id) for _r, order_kind, _neg, row_id in ranked[start : start + per_page]
    ]
    names = list(registered)
    loaded: dict[str, dict[int, Hit]] = {}
    for name in {names[i] for i, _id in chosen}:
        ids = [row_id for i, row_id in chosen if names[i] == name]
        loaded[name] = registered[name].load(session, ids)
    for i, row_id in chosen:
        hit = loaded[names[i]].get(row_id)
        if hit is None:
            continue
        hit.title_html = highlight(hit.title, wanted, width=40)
        hit.excerpt_html = highlight(hit.text, wanted)
        results.hits.append(hit)
    return results


def match_ids(session: Session, kind: str, query: str):
    """A SQL condition ``id IN (matching rows)`` for one source, for pages that filter their own
    lists by words (the Retex list): the same terms and index as the search page."""
    source = sources()[kind]
    parsed = parse(query)
    if not parsed.groups:
        return None
    fts, table = source.indexed.fts, source.indexed.table
    if session.get_bind().dialect.name == "postgresql":
        return text(
            f"{table}.id IN (SELECT id FROM {fts} "  # noqa: S608 - fixed names
            f"WHERE search_vector @@ websearch_to_tsquery('{ddl.PG_CONFIG}', :search_q))"
        ).bindparams(search_q=query[:MAX_QUERY_CHARS])
    return text(
        f"{table}.id IN (SELECT rowid FROM {fts} WHERE {fts} MATCH :search_q)"  # noqa: S608
    ).bindparams(search_q=fts5_match(parsed))
