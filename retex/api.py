"""Read-only open-data API: /api/v1/retex (published versions only, no author identity)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from consult.api import (
    MAX_ID,
    DateTime,
    PageQuery,
    Text,
    api_error,
    operation,
)
from consult.db import db
from retex import forms, models, queries
from retex.models import PERIODS, SCHOOL_LEVELS, THEMES
from retex.views import _revision, export_row

bp = Blueprint("retex_api", __name__, url_prefix="/api/v1")

_MARKDOWN = {"description": "Markdown"}


class RetexSheet(Schema):
    id = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "Version publiée"})
    published_at = DateTime(required=True)
    title = fields.String(required=True)
    territory_level = fields.String(
        required=True, validate=validate.OneOf(["region", "academie", "departement"])
    )
    territory_code = fields.String(required=True)
    academie_code = fields.String(required=True, allow_none=True)
    region_code = fields.String(required=True)
    establishment = fields.String(required=True)
    school_level = fields.String(required=True)
    period = fields.String(required=True, validate=validate.OneOf(list(PERIODS)))
    themes = fields.List(fields.String(validate=validate.OneOf(list(THEMES))), required=True)
    audiences = fields.List(fields.String(), required=True)
    contact_role = fields.String(required=True)
    context = fields.String(required=True, metadata=_MARKDOWN)
    actions = fields.String(required=True, metadata=_MARKDOWN)
    tools = fields.String(required=True, metadata=_MARKDOWN)
    results = fields.String(required=True, metadata=_MARKDOWN)
    difficulties = fields.String(required=True, metadata=_MARKDOWN)
    lessons = fields.String(required=True, metadata=_MARKDOWN)
    transferability = fields.String(required=True, metadata=_MARKDOWN)
    url = fields.Url(required=True)


class RetexPage(Schema):
    data = fields.List(fields.Nested(RetexSheet), required=True)
    next = fields.Url(required=True, allow_none=True)


class RetexQuery(PageQuery):
    q = Text(max_length=forms.QUERY_MAX, metadata={"description": "Recherche plein texte"})
    territory = Text(
        max_length=16,
        pattern=r"^((region|academie):[0-9]{2}|departement:([0-9]{2,3}|2[AB]))$",
        metadata={"description": "region:<code>, academie:<code> ou departement:<code>"},
    )
    theme = fields.String(validate=validate.OneOf(list(THEMES)))
    audience = fields.String(validate=validate.OneOf(list(forms.AUDIENCE_CHOICES)))
    level = fields.String(validate=validate.OneOf(list(SCHOOL_LEVELS)))
    period = fields.String(validate=validate.OneOf(list(PERIODS)))


@bp.route("/retex")
@operation(
    "Fiches Retex publiées (version en vigueur)",
    RetexPage,
    query=RetexQuery,
    errors={404: "Territoire inconnu"},
)
def index(args: dict[str, Any]):
    territory = args.get("territory", "")
    if territory and territory not in {c.value for c in forms.territory_choices("")}:
        return api_error(404, detail=_("Territoire inconnu."))
    filters = queries.Filters(
        q=args.get("q", ""),
        territory=territory,
        theme=args.get("theme", ""),
        audience=args.get("audience", ""),
        level=args.get("level", ""),
        period=args.get("period", ""),
    )
    rows, next_cursor = queries.api_page(
        db.session, filters, args.get("cursor", 0), args.get("limit", 20)
    )
    params = {k: v for k, v in request.args.items() if k != "cursor"}
    return {
        "data": [export_row(r) for r in rows],
        "next": url_for("retex_api.index", cursor=next_cursor, **params, _external=True)
        if next_cursor
        else None,
    }


@bp.route("/retex/<int:sheet_id>")
@operation(
    "Une fiche Retex publiée",
    RetexSheet,
    path={"sheet_id": {"maximum": MAX_ID}},
    errors={404: "Fiche inconnue ou non publiée"},
)
def show(sheet_id: int):
    sheet = db.session.get(models.RetexSheet, sheet_id)
    if sheet is None or not sheet.is_public:
        return api_error(404, detail=_("Fiche inconnue ou non publiée."))
    return export_row(_revision(sheet.id, sheet.published_version))
