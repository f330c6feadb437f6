"""Read-only open-data API: /api/v1/retex (published versions only, no author identity)."""

from __future__ import annotations

from flask import Blueprint, abort, jsonify, request, url_for

from consult.db import db
from retex import forms, queries
from retex.models import RetexSheet
from retex.views import _filters, _revision, export_row

bp = Blueprint("retex_api", __name__, url_prefix="/api/v1")

MAX_LIMIT = 100


@bp.route("/retex")
def index():
    after = request.args.get("cursor", 0, type=int) or 0
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), MAX_LIMIT)
    filters = _filters(forms.FilterForm(request.args))
    rows, next_cursor = queries.api_page(db.session, filters, after, limit)
    params = {k: v for k, v in request.args.items() if k != "cursor"}
    return jsonify(
        {
            "data": [export_row(r) for r in rows],
            "next": url_for("retex_api.index", cursor=next_cursor, **params, _external=True)
            if next_cursor
            else None,
        }
    )


@bp.route("/retex/<int:sheet_id>")
def show(sheet_id: int):
    sheet = db.session.get(RetexSheet, sheet_id)
    if sheet is None or not sheet.is_public:
        abort(404)
    return jsonify(export_row(_revision(sheet.id, sheet.published_version)))


SHEET_SCHEMA = {
    "type": "object",
    "required": ["id", "version", "title", "territory_level", "territory_code", "themes"],
    "properties": {
        "id": {"type": "integer"},
        "version": {"type": "integer", "description": "Numéro de la version publiée"},
        "published_at": {"type": "string", "format": "date-time"},
        "title": {"type": "string"},
        "territory_level": {"type": "string", "enum": ["region", "academie", "departement"]},
        "territory_code": {"type": "string"},
        "academie_code": {"type": ["string", "null"]},
        "region_code": {"type": "string"},
        "establishment": {"type": "string"},
        "school_level": {"type": "string"},
        "period": {"type": "string", "enum": ["confinement_2020", "apres"]},
        "themes": {"type": "array", "items": {"type": "string", "enum": ["1", "2", "3", "4", "5"]}},
        "audiences": {"type": "array", "items": {"type": "string"}},
        "contact_role": {"type": "string"},
        "context": {"type": "string", "description": "Markdown"},
        "actions": {"type": "string", "description": "Markdown"},
        "tools": {"type": "string", "description": "Markdown"},
        "results": {"type": "string", "description": "Markdown"},
        "difficulties": {"type": "string", "description": "Markdown"},
        "lessons": {"type": "string", "description": "Markdown"},
        "transferability": {"type": "string", "description": "Markdown"},
        "url": {"type": "string", "format": "uri"},
    },
}

_FILTER_PARAMS = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": d}
    for name, d in (
        ("q", "Recherche plein texte"),
        ("territory", "region:<code>, academie:<code> ou departement:<code>"),
        ("theme", "Numéro du thème (1 à 5)"),
        ("audience", "eleve, parent, professeur, encadrement, agent, autre"),
        ("level", "premier_degre, college, lycee, post_bac, tous"),
        ("period", "confinement_2020 ou apres"),
    )
]


def _ok(description: str, schema: dict) -> dict:
    return {
        "200": {"description": description, "content": {"application/json": {"schema": schema}}}
    }


SHEET_REF = {"$ref": "#/components/schemas/RetexSheet"}
OPENAPI_PATHS = {
    "/retex": {
        "get": {
            "summary": "Fiches Retex publiées (version en vigueur)",
            "operationId": "listRetex",
            "parameters": [
                *_FILTER_PARAMS,
                {"name": "cursor", "in": "query", "schema": {"type": "integer"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                },
            ],
            "responses": _ok(
                "Une page de fiches",
                {
                    "type": "object",
                    "properties": {
                        "data": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/RetexSheet"},
                        },
                        "next": {"type": ["string", "null"], "format": "uri"},
                    },
                },
            ),
        }
    },
    "/retex/{id}": {
        "get": {
            "summary": "Une fiche Retex publiée",
            "operationId": "getRetex",
            "parameters": [
                {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                **_ok("La fiche", {"$ref": "#/components/schemas/RetexSheet"}),
                "404": {
                    "description": "Fiche inconnue ou non publiée",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                    },
                },
            },
        }
    },
}
