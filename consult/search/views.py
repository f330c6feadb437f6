"""The search page: every public text of the site, one query box."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from consult.db import db
from consult.inputs import bounded_int
from consult.search import engine, sources

bp = Blueprint("search", __name__)


@bp.route("/recherche")
def index():
    query = request.args.get("q", "")[: engine.MAX_QUERY_CHARS].strip()
    kind = request.args.get("type", "")[:40] or None
    registered = sources()
    if kind not in registered:
        kind = None
    page = bounded_int(request.args.get("page"), 1, maximum=engine.CANDIDATES)
    # A narrowing of one source (the forums' theme) searches that source alone.
    filters: dict[str, object] = {}
    chosen: dict[str, str] = {}
    for name, source in registered.items():
        for key, narrowing in source.filters.items():
            raw = request.args.get(key, "")[:80]
            value = narrowing.resolve(db.session, raw) if raw else None
            if value is not None:
                filters[key] = value
                chosen[key] = raw
                kind = name
    results = engine.search(db.session, query, kind, page, filters=filters)
    status = 200
    if page > results.pages:
        # A page past the end (an old link, a hand-typed number): said, not an empty 200.
        status = 404 if query and results.total else 200
    return render_template(
        "search/index.html",
        query=query,
        results=results,
        sources=registered,
        chosen=chosen,
        cap=engine.COUNT_CAP,
        db_session=db.session,
        suggestions=_suggestions(query, results),
    ), status


def _suggestions(query: str, results: engine.Results) -> list[dict[str, str]]:
    """For a query with no result: each of its words alone, and every kind when one was
    chosen — links that are likely to find something."""
    if results.total or not query:
        return []
    from consult.search.stems import WORD_RE, term

    words = [w for w in dict.fromkeys(WORD_RE.findall(query)) if term(w)]
    found: list[dict[str, str]] = []
    if len(words) > 1:
        found += [{"q": w} for w in words[:5]]
    if results.kind:
        found.append({"q": query, "type": ""})
    return found
