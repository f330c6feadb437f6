"""Read-only open-data API: themes, contributions (filters, sorts, cursor pagination) and one
contribution with its comments. Pseudonyms only, and no author audience or académie on an item:
they are facts about people, and a field per item would let anyone recount the small cells the
syntheses hide."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, url_for
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from consult.api import (
    MAX_ID,
    DateTime,
    Integer,
    QuerySchema,
    Text,
    api_error,
    operation,
)
from consult.db import db
from forums import queries
from forums.models import Comment, Contribution, Theme

bp = Blueprint("forums_api", __name__, url_prefix="/api/v1")


class Subtheme(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)


class ForumTheme(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    title = fields.String(required=True)
    opens_on = fields.Date(required=True)
    closes_on = fields.Date(required=True)
    open = fields.Boolean(required=True)
    subthemes = fields.List(fields.Nested(Subtheme), required=True)
    contribution_count = fields.Integer(required=True)
    url = fields.Url(required=True)


class ForumThemes(Schema):
    data = fields.List(fields.Nested(ForumTheme), required=True)


class ForumContribution(Schema):
    id = fields.Integer(required=True)
    theme = fields.String(required=True)
    subtheme = fields.String(required=True)
    title = fields.String(required=True)
    excerpt = fields.String(required=True)
    author = fields.String(required=True, metadata={"description": "Pseudonyme public"})
    created_at = DateTime(required=True)
    adopt_count = fields.Integer(required=True)
    refuse_count = fields.Integer(required=True)
    pour_count = fields.Integer(required=True)
    contre_count = fields.Integer(required=True)
    comment_count = fields.Integer(required=True)
    url = fields.Url(required=True)


class ForumContributionPage(Schema):
    data = fields.List(fields.Nested(ForumContribution), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
    next = fields.Url(required=True, allow_none=True)


class ForumComment(Schema):
    id = fields.Integer(required=True)
    parent_id = fields.Integer(required=True, allow_none=True)
    polarity = fields.String(required=True, validate=validate.OneOf(["pour", "contre"]))
    body = fields.String(required=True, metadata={"description": "Markdown limité"})
    author = fields.String(required=True, metadata={"description": "Pseudonyme public"})
    created_at = DateTime(required=True)


class ForumContributionDetail(ForumContribution):
    body = fields.String(required=True)
    withdrawn = fields.Boolean(required=True)
    comments = fields.List(fields.Nested(ForumComment), required=True)


class ContributionQuery(QuerySchema):
    theme = Text(
        max_length=80,
        pattern=r"^[a-z0-9-]{1,80}$",
        metadata={"description": "Identifiant (slug) du thème"},
    )
    subtheme = Integer(minimum=1, metadata={"description": "Identifiant du sous-thème"})
    sort = fields.String(
        validate=validate.OneOf(queries.SORTS),
        metadata={"description": "adoption (borne basse de Wilson), debat, recent, hasard"},
    )
    seed = Integer(minimum=0, maximum=2**31 - 1, metadata={"description": "Graine de « hasard »"})
    cursor = Text(
        max_length=80,
        pattern=r"^[0-9][0-9._e+:T-]{0,79}$",
        metadata={"description": "Curseur renvoyé par la page précédente (next_cursor)"},
    )
    limit = Integer(minimum=1, maximum=100, metadata={"description": "Taille de page (1 à 100)"})


def _theme(theme: Theme, counts: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": theme.id,
        "slug": theme.slug,
        "title": theme.title,
        "opens_on": theme.opens_on,
        "closes_on": theme.closes_on,
        "open": theme.is_open(),
        "subthemes": theme.subthemes,
        "contribution_count": (counts or {}).get("contributions", 0),
        "url": url_for("forums.theme", slug=theme.slug, _external=True),
    }


def _contribution(c: Contribution) -> dict[str, Any]:
    return {
        "id": c.id,
        "theme": c.theme.slug,
        "subtheme": c.subtheme.slug,
        "title": c.title,
        "excerpt": c.excerpt,
        "author": c.author.public_name,
        "created_at": c.created_at,
        "adopt_count": c.adopt_count,
        "refuse_count": c.refuse_count,
        "pour_count": c.pour_count,
        "contre_count": c.contre_count,
        "comment_count": c.comment_count,
        "url": url_for("forums.contribution", contribution_id=c.id, _external=True),
    }


def _comment(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "parent_id": comment.parent_id,
        "polarity": comment.polarity,
        "body": comment.body,
        "author": comment.author.public_name,
        "created_at": comment.created_at,
    }


@bp.route("/themes")
@operation("Les cinq forums thématiques et leurs sous-thèmes", ForumThemes)
def themes():
    counts = queries.theme_counts(db.session)
    return {"data": [_theme(t, counts.get(t.id)) for t in queries.themes(db.session)]}


@bp.route("/contributions")
@operation(
    "Contributions publiées, filtrées et triées, paginées par curseur",
    ForumContributionPage,
    query=ContributionQuery,
    errors={404: "Thème inconnu, ou curseur qui ne désigne aucune page de ce tri"},
)
def contributions(args: dict[str, Any]):
    theme_id = None
    if "theme" in args:
        theme = queries.theme_by_slug(db.session, args["theme"])
        if theme is None:
            return api_error(404, detail=_("Thème inconnu."))
        theme_id = theme.id
    filters = queries.Filters(subtheme_id=args.get("subtheme"))
    try:
        page = queries.list_contributions(
            db.session,
            theme_id,
            filters,
            args.get("sort", "adoption"),
            args.get("cursor"),
            seed=args.get("seed", 0),
            limit=args.get("limit", queries.PAGE_SIZE),
        )
    except queries.BadCursor:
        # Well-formed (the schema checked it) but naming no page of this sort.
        return api_error(404, detail=_("Ce curseur ne désigne aucune page de ce tri."))
    next_url = None
    if page.next_cursor:
        params = {k: v for k, v in args.items() if k != "cursor"} | {"cursor": page.next_cursor}
        next_url = url_for("forums_api.contributions", _external=True, **params)
    return {
        "data": [_contribution(c) for c in page.items],
        "next_cursor": page.next_cursor,
        "next": next_url,
    }


@bp.route("/contributions/<int:contribution_id>")
@operation(
    "Une contribution avec ses commentaires pour et contre",
    ForumContributionDetail,
    path={"contribution_id": {"maximum": MAX_ID}},
    errors={404: "Contribution inconnue ou non publiée"},
)
def contribution(contribution_id: int):
    item = db.session.get(Contribution, contribution_id)
    if item is None or not item.is_public:
        return api_error(404, detail=_("Contribution inconnue ou non publiée."))
    comments = db.session.scalars(
        select(Comment)
        .where(Comment.contribution_id == item.id, Comment.is_visible)
        .order_by(Comment.id)
    ).all()
    return _contribution(item) | {
        "body": item.body,
        "withdrawn": item.is_withdrawn,
        "comments": [_comment(c) for c in comments],
    }
