"""Read-only open-data API: themes, contributions (filters, sorts, cursor pagination) and one
contribution with its comments. Pseudonyms only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for
from sqlalchemy import select

from consult.db import db
from forums import queries
from forums.models import Comment, Contribution, Theme

bp = Blueprint("forums_api", __name__, url_prefix="/api/v1")


def _theme(theme: Theme, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": theme.id,
        "slug": theme.slug,
        "title": theme.title,
        "opens_on": theme.opens_on.isoformat(),
        "closes_on": theme.closes_on.isoformat(),
        "open": theme.is_open(),
        "subthemes": [{"id": s.id, "slug": s.slug, "title": s.title} for s in theme.subthemes],
        "contribution_count": (counts or {}).get("contributions", 0),
        "url": url_for("forums.theme", slug=theme.slug, _external=True),
    }


def contribution_json(c: Contribution) -> dict[str, Any]:
    return {
        "id": c.id,
        "theme": c.theme.slug,
        "subtheme": c.subtheme.slug,
        "title": c.title,
        "excerpt": c.excerpt,
        "author": c.author.public_name,
        "author_audience": c.author_audience,
        "author_academie": c.author_academie_code,
        "created_at": c.created_at.isoformat(timespec="seconds"),
        "adopt_count": c.adopt_count,
        "refuse_count": c.refuse_count,
        "pour_count": c.pour_count,
        "contre_count": c.contre_count,
        "comment_count": c.comment_count,
        "url": url_for("forums.contribution", contribution_id=c.id, _external=True),
    }


def _comment_json(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "polarity": comment.polarity,
        "body": comment.body,
        "author": comment.author.public_name,
        "author_audience": comment.author_audience,
        "created_at": comment.created_at.isoformat(timespec="seconds"),
    }


@bp.route("/themes")
def themes():
    counts = queries.theme_counts(db.session)
    return jsonify({"data": [_theme(t, counts.get(t.id)) for t in queries.themes(db.session)]})


@bp.route("/contributions")
def contributions():
    args = request.args
    theme_id = None
    if args.get("theme"):
        theme = queries.theme_by_slug(db.session, args["theme"][:80])
        if theme is None:
            abort(404)
        theme_id = theme.id
    filters = queries.Filters.clean(
        args.get("subtheme", "")[:12], args.get("audience", "")[:20], args.get("academie", "")[:3]
    )
    sort = args.get("sort", "adoption")
    if sort not in queries.SORTS:
        abort(400)
    seed_arg = args.get("seed", "0")[:10]
    try:
        limit = min(max(int(args.get("limit", queries.PAGE_SIZE)), 1), 100)
        page = queries.list_contributions(
            db.session,
            theme_id,
            filters,
            sort,
            args.get("cursor", "")[:80] or None,
            seed=int(seed_arg) if seed_arg.isdigit() else 0,
            limit=limit,
        )
    except ValueError:  # BadCursor or a non-numeric limit
        abort(400)
    next_url = None
    if page.next_cursor:
        params = {k: v for k, v in args.items() if k != "cursor"} | {"cursor": page.next_cursor}
        next_url = url_for("forums_api.contributions", _external=True, **params)
    return jsonify(
        {
            "data": [contribution_json(c) for c in page.items],
            "next_cursor": page.next_cursor,
            "next": next_url,
        }
    )


@bp.route("/contributions/<int:contribution_id>")
def contribution(contribution_id: int):
    item = db.session.get(Contribution, contribution_id)
    if item is None or not item.is_public:
        abort(404)
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.contribution_id == item.id, Comment.is_visible)
        .order_by(Comment.id)
    ).all()
    data = contribution_json(item) | {
        "body": item.body,
        "withdrawn": item.is_withdrawn,
        "comments": [_comment_json(c) for c in comments],
    }
    return jsonify(data)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _param(name: str, description: str, schema: dict | None = None) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


OPENAPI_PATHS = {
    "/themes": {
        "get": {
            "summary": "Les cinq forums thématiques et leurs sous-thèmes",
            "operationId": "listThemes",
            "responses": {
                "200": _ok(
                    "Thèmes",
                    {
                        "type": "object",
                        "properties": {"data": {"type": "array", "items": _ref("ForumTheme")}},
                    },
                )
            },
        }
    },
    "/contributions": {
        "get": {
            "summary": "Contributions publiées, filtrées et triées, paginées par curseur",
            "operationId": "listContributions",
            "parameters": [
                _param("theme", "Identifiant (slug) du thème"),
                _param("subtheme", "Identifiant numérique du sous-thème"),
                _param("audience", "Public de l'auteur au moment de la contribution"),
                _param("academie", "Code de l'académie de l'auteur au moment de la contribution"),
                _param(
                    "sort",
                    "adoption (borne basse de Wilson), debat, recent, hasard",
                    {"type": "string", "enum": ["adoption", "debat", "recent", "hasard"]},
                ),
                _param("seed", "Graine de l'ordre « hasard »", {"type": "integer"}),
                _param("cursor", "Curseur renvoyé par la page précédente (next_cursor)"),
                _param("limit", "Taille de page (1 à 100, 20 par défaut)", {"type": "integer"}),
            ],
            "responses": {
                "200": _ok(
                    "Une page de contributions",
                    {
                        "type": "object",
                        "properties": {
                            "data": {"type": "array", "items": _ref("ForumContribution")},
                            "next_cursor": {"type": ["string", "null"]},
                            "next": {"type": ["string", "null"]},
                        },
                    },
                ),
                "400": _ok("Paramètre invalide", _ref("Error")),
                "404": _ok("Thème inconnu", _ref("Error")),
            },
        }
    },
    "/contributions/{id}": {
        "get": {
            "summary": "Une contribution avec ses commentaires pour et contre",
            "operationId": "getContribution",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": _ok("La contribution", _ref("ForumContributionDetail")),
                "404": _ok("Contribution inconnue ou non publiée", _ref("Error")),
            },
        }
    },
}

_CONTRIBUTION_PROPERTIES = {
    "id": {"type": "integer"},
    "theme": {"type": "string"},
    "subtheme": {"type": "string"},
    "title": {"type": "string"},
    "excerpt": {"type": "string"},
    "author": {"type": "string", "description": "Pseudonyme public"},
    "author_audience": {"type": "string"},
    "author_academie": {"type": ["string", "null"]},
    "created_at": {"type": "string", "format": "date-time"},
    "adopt_count": {"type": "integer"},
    "refuse_count": {"type": "integer"},
    "pour_count": {"type": "integer"},
    "contre_count": {"type": "integer"},
    "comment_count": {"type": "integer"},
    "url": {"type": "string"},
}

OPENAPI_SCHEMAS = {
    "ForumTheme": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "opens_on": {"type": "string", "format": "date"},
            "closes_on": {"type": "string", "format": "date"},
            "open": {"type": "boolean"},
            "contribution_count": {"type": "integer"},
            "subthemes": {"type": "array", "items": {"type": "object"}},
            "url": {"type": "string"},
        },
    },
    "ForumContribution": {"type": "object", "properties": _CONTRIBUTION_PROPERTIES},
    "ForumComment": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "parent_id": {"type": ["integer", "null"]},
            "polarity": {"type": "string", "enum": ["pour", "contre"]},
            "body": {"type": "string", "description": "Markdown limité"},
            "author": {"type": "string"},
            "author_audience": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
        },
    },
    "ForumContributionDetail": {
        "type": "object",
        "properties": _CONTRIBUTION_PROPERTIES
        | {
            "body": {"type": "string"},
            "withdrawn": {"type": "boolean"},
            "comments": {"type": "array", "items": _ref("ForumComment")},
        },
    },
}
