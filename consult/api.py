"""Read-only open-data API under /api/v1/, described by /api/v1/openapi.json.

Feature packages add their paths through ``hooks().openapi_paths``; this module owns the
document, the error format and the shared response headers.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify, request, url_for
from flask_babel import gettext as _

from consult.extensions import csrf
from consult.hooks import hooks
from consult.territories import catalog

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Public aggregates built on fewer people than this are suppressed (API, pages, exports).
SUPPRESSION_THRESHOLD = 10


def api_error(code: int, message: str | None) -> Any:
    messages = {
        400: _("Requête incorrecte."),
        404: _("Ressource introuvable."),
        405: _("Méthode non autorisée : l'API est en lecture seule."),
        429: _("Trop de requêtes."),
        500: _("Erreur du serveur."),
    }
    text = messages.get(code) or message or _("Erreur.")
    response = jsonify({"error": {"status": code, "message": text}})
    response.status_code = code
    return response


@bp.after_request
def _api_headers(response):
    # Open data: readable from any origin, never with credentials.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers.setdefault("Cache-Control", "public, max-age=60")
    return response


@bp.route("/")
def index():
    return jsonify(
        {
            "name": "Consult open-data API",
            "version": "1",
            "openapi": url_for("api.openapi", _external=True),
            "paths": sorted(openapi_document()["paths"]),
        }
    )


@bp.route("/territories")
def territories():
    cat = catalog()
    return jsonify(
        {
            "regions_academiques": [
                {
                    "code": r.code,
                    "name": r.name,
                    "slug": r.slug,
                    "academies": list(r.academie_codes),
                }
                for r in cat.regions_sorted()
            ],
            "academies": [
                {
                    "code": a.code,
                    "name": a.name,
                    "slug": a.slug,
                    "region_academique": a.region_code,
                    "departements": list(a.departement_codes),
                }
                for a in cat.academies_sorted()
            ],
            "departements": [
                {"code": d.code, "name": d.name, "academie": d.academie_code}
                for d in sorted(cat.departements.values(), key=lambda d: d.code.zfill(3))
            ],
        }
    )


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document())


def openapi_document() -> dict[str, Any]:
    registered = hooks()
    territory_item = {
        "type": "object",
        "required": ["code", "name"],
        "properties": {
            "code": {"type": "string"},
            "name": {"type": "string"},
            "slug": {"type": "string"},
        },
    }
    paths: dict[str, Any] = {
        "/territories": {
            "get": {
                "summary": "Régions académiques, académies et départements (référentiel 2020)",
                "operationId": "listTerritories",
                "responses": {
                    "200": {
                        "description": "Le référentiel territorial",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Territories"}
                            }
                        },
                    }
                },
            }
        },
    }
    paths.update(registered.openapi_paths)
    schemas: dict[str, Any] = {
        "Territory": territory_item,
        "Territories": {
            "type": "object",
            "properties": {
                "regions_academiques": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Territory"},
                },
                "academies": {"type": "array", "items": {"$ref": "#/components/schemas/Territory"}},
                "departements": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Territory"},
                },
            },
        },
        "Error": {
            "type": "object",
            "properties": {
                "error": {
                    "type": "object",
                    "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
    }
    schemas.update(registered.openapi_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Consult — API open data",
            "version": "1",
            "description": (
                "API en lecture seule. Pseudonymes uniquement, jamais d'adresse électronique ; "
                f"les agrégats de moins de {SUPPRESSION_THRESHOLD} personnes sont masqués."
            ),
            "license": {"name": "Licence Ouverte 2.0", "identifier": "etalab-2.0"},
        },
        "servers": [
            {"url": current_app.config.get("APPLICATION_ROOT", "/").rstrip("/") + "/api/v1"}
        ],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def register_api_blueprint(app: Flask, blueprint: Blueprint) -> None:
    """Register a feature package's read-only API blueprint (url_prefix under /api/v1/): no
    CSRF (nothing to forge on GET); open-data headers and JSON errors apply to all /api/ paths."""
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)


def init_app(app: Flask) -> None:
    register_api_blueprint(app, bp)

    @app.after_request
    def _open_data_headers(response):
        if request.path.startswith("/api/"):
            # Open data: readable from any origin, never with credentials.
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers.setdefault("Cache-Control", "public, max-age=60")
        return response
