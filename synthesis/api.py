"""Open-data API of the syntheses: /api/v1/syntheses/... — always the public, suppressed tables,
whoever calls (analysts download detailed files from the export pages, never from the API).

Answers are cached per compilation: a new compilation changes the key, so nothing goes stale.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Flask, jsonify, request, url_for
from flask_babel import force_locale

from consult.api import api_error
from consult.cache import cached_json
from consult.db import db
from consult.hooks import hooks
from consult.moderation import visibility_generation

# Imported here, before ``init_app`` registers the shared ``synthesis`` blueprint, so the
# download routes it declares on that blueprint exist by then.
from synthesis import export_views, exports

bp = Blueprint("synthesis_api", __name__, url_prefix="/api/v1")

CACHE_SECONDS = 3600


def _compilation_info(compilation: Any) -> dict[str, Any] | None:
    if compilation is None:
        return None
    return {
        "id": compilation.id,
        "compiled_at": exports._iso(compilation.finished_at or compilation.started_at),
    }


def _scope_info(scope: exports.Scope) -> dict[str, Any]:
    if scope.kind == "national":
        api = url_for("synthesis_api.national", _external=True)
    else:
        api = url_for(f"synthesis_api.{scope.kind}", code=scope.code, _external=True)
    return {
        "kind": scope.kind,
        "code": scope.code,
        "name": scope.name,
        "url": api,
        "downloads": url_for(
            "synthesis.export_page", kind=scope.kind, ident=scope.slug, _external=True
        ),
        "zip": url_for("synthesis.export_zip", kind=scope.kind, ident=scope.slug, _external=True),
    }


def _common(compilation: Any) -> dict[str, Any]:
    return {
        "compilation": _compilation_info(compilation),
        "suppression_threshold": exports.SUPPRESSION_THRESHOLD,
        "licence": exports.LICENCE,
        "licence_url": exports.LICENCE_URL,
    }


def _cache_key(compilation: Any, *parts: str) -> str:
    # The answers hold absolute links built from the request's host: keyed by it, a forged
    # Host header can only ever poison its own entry.
    host = hashlib.sha256(request.host_url.encode()).hexdigest()[:8]
    # The visibility generation: answers list items, which moderation may hide at any time.
    generation = visibility_generation()
    return ":".join(
        ["synthesis-api", exports.compilation_key(compilation), host, generation, *parts]
    )


@bp.route("/syntheses")
def index():
    compilation = exports.latest_compilation(db.session)

    def compute() -> dict[str, Any]:
        with force_locale("fr"):
            return {
                **_common(compilation),
                "scopes": [_scope_info(s) for s in exports.all_scopes()],
            }

    if compilation is None:
        return jsonify(compute())
    return jsonify(cached_json(_cache_key(compilation, "index"), CACHE_SECONDS, compute))


def _scope_document(kind: str, code: str) -> Any:
    scope = exports.resolve_scope(kind, code)
    # Codes only in the API (slugs are for pages): a slug must not alias a code.
    if scope is None or scope.code != code:
        return api_error(404, None)
    compilation = exports.latest_compilation(db.session)
    if compilation is None:
        return api_error(404, None)

    def compute() -> dict[str, Any] | None:
        counts = exports.row_counts(db.session, scope, compilation)
        if counts is None:
            return None
        with force_locale("fr"):
            tables = []
            for name, doc in exports.table_docs().items():
                keys = [c.key for c in doc.columns] + [exports.SUPPRESSED_COLUMN]
                tables.append(
                    {
                        "name": name,
                        "title": doc.title,
                        "description": doc.description,
                        "rows": counts[name],
                        "columns": _columns(doc, keys),
                        "url": _table_url(scope, name),
                        "files": {
                            fmt: url_for(
                                "synthesis.export_table",
                                kind=scope.kind,
                                ident=scope.slug,
                                table=name,
                                fmt=fmt,
                                _external=True,
                            )
                            for fmt in exports.FORMATS
                        },
                    }
                )
            return {**_common(compilation), "scope": _scope_info(scope), "tables": tables}

    document = cached_json(_cache_key(compilation, kind, code), CACHE_SECONDS, compute)
    if document is None:
        return api_error(404, None)
    return jsonify(document)


def _columns(doc: exports.TableDoc, keys: list[str]) -> list[dict[str, str]]:
    return [
        {"key": key, "label": doc.column(key).label, "description": doc.column(key).description}
        for key in keys
    ]


def _table_url(scope: exports.Scope, name: str) -> str:
    if scope.kind == "national":
        return url_for("synthesis_api.national_table", table=name, _external=True)
    return url_for(f"synthesis_api.{scope.kind}_table", code=scope.code, table=name, _external=True)


def _table_document(kind: str, code: str, table: str) -> Any:
    scope = exports.resolve_scope(kind, code)
    if scope is None or scope.code != code or table not in exports.table_docs():
        return api_error(404, None)
    compilation = exports.latest_compilation(db.session)
    if compilation is None:
        return api_error(404, None)

    def compute() -> dict[str, Any] | None:
        bundle = exports.load_bundle(
            db.session, scope, public=True, compilation=compilation, only=table
        )
        if bundle is None or table not in bundle.tables:
            return None
        with force_locale("fr"):
            doc = exports.table_doc(table)
            return {
                **_common(compilation),
                "scope": _scope_info(scope),
                "table": table,
                "title": doc.title,
                "description": doc.description,
                "columns": _columns(doc, exports.columns_of(bundle, table)),
                "data": list(exports.records(bundle, table)),
            }

    document = cached_json(_cache_key(compilation, kind, code, table), CACHE_SECONDS, compute)
    if document is None:
        return api_error(404, None)
    return jsonify(document)


@bp.route("/syntheses/national")
def national():
    return _scope_document("national", "")


@bp.route("/syntheses/academie/<code>")
def academie(code: str):
    return _scope_document("academie", code)


@bp.route("/syntheses/region/<code>")
def region(code: str):
    return _scope_document("region", code)


@bp.route("/syntheses/national/<table>")
def national_table(table: str):
    return _table_document("national", "", table)


@bp.route("/syntheses/academie/<code>/<table>")
def academie_table(code: str, table: str):
    return _table_document("academie", code, table)


@bp.route("/syntheses/region/<code>/<table>")
def region_table(code: str, table: str):
    return _table_document("region", code, table)


# --- OpenAPI ------------------------------------------------------------------------------------


def _ok(description: str, ref: str) -> dict[str, Any]:
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        },
        "404": {
            "description": "Territoire ou table inconnus, ou aucune synthèse compilée",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        },
    }


_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string"},
    "description": "Code du territoire (voir /territories)",
}


def _table_param() -> dict[str, Any]:
    from synthesis import catalog

    return {
        "name": "table",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(catalog.TABLE_NAMES)},
    }


def openapi_paths() -> dict[str, Any]:
    table = _table_param()
    paths: dict[str, Any] = {
        "/syntheses": {
            "get": {
                "summary": "Synthèses : date de la dernière compilation et liste des territoires",
                "operationId": "listSyntheses",
                "responses": {
                    "200": {
                        "description": "La compilation en vigueur et les périmètres",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SynthesisIndex"}
                            }
                        },
                    }
                },
            }
        },
        "/syntheses/national": {
            "get": {
                "summary": "Synthèse nationale : tables disponibles et leurs colonnes",
                "operationId": "getNationalSynthesis",
                "responses": _ok("Les tables de la synthèse", "SynthesisScope"),
            }
        },
        "/syntheses/national/{table}": {
            "get": {
                "summary": "Une table de la synthèse nationale (masquée sous 10 personnes)",
                "operationId": "getNationalSynthesisTable",
                "parameters": [table],
                "responses": _ok("Les lignes de la table", "SynthesisTable"),
            }
        },
    }
    for kind, label in (("academie", "d'une académie"), ("region", "d'une région académique")):
        suffix = kind.capitalize()
        paths[f"/syntheses/{kind}/{{code}}"] = {
            "get": {
                "summary": f"Synthèse {label} : tables disponibles et leurs colonnes",
                "operationId": f"get{suffix}Synthesis",
                "parameters": [_CODE],
                "responses": _ok("Les tables de la synthèse", "SynthesisScope"),
            }
        }
        paths[f"/syntheses/{kind}/{{code}}/{{table}}"] = {
            "get": {
                "summary": f"Une table de la synthèse {label} (masquée sous 10 personnes)",
                "operationId": f"get{suffix}SynthesisTable",
                "parameters": [_CODE, table],
                "responses": _ok("Les lignes de la table", "SynthesisTable"),
            }
        }
    return paths


_NULLABLE_STRING = {"type": ["string", "null"]}
_COMPILATION = {
    "type": ["object", "null"],
    "properties": {
        "id": {"type": "integer"},
        "compiled_at": {"type": "string", "format": "date-time"},
    },
}
_COMMON = {
    "compilation": _COMPILATION,
    "suppression_threshold": {"type": "integer"},
    "licence": {"type": "string"},
    "licence_url": {"type": "string", "format": "uri"},
}
_COLUMN = {
    "type": "object",
    "properties": {
        "key": {"type": "string"},
        "label": {"type": "string"},
        "description": {"type": "string"},
    },
}
OPENAPI_SCHEMAS: dict[str, Any] = {
    "SynthesisScopeRef": {
        "type": "object",
        "required": ["kind", "code", "name", "url"],
        "properties": {
            "kind": {"type": "string", "enum": list(exports.SCOPE_KINDS)},
            "code": {"type": "string"},
            "name": {"type": "string"},
            "url": {"type": "string", "format": "uri"},
            "downloads": {"type": "string", "format": "uri"},
            "zip": {"type": "string", "format": "uri"},
        },
    },
    "SynthesisIndex": {
        "type": "object",
        "properties": {
            **_COMMON,
            "scopes": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/SynthesisScopeRef"},
            },
        },
    },
    "SynthesisScope": {
        "type": "object",
        "properties": {
            **_COMMON,
            "scope": {"$ref": "#/components/schemas/SynthesisScopeRef"},
            "tables": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "title": {"type": "string"},
                        "description": {"type": "string"},
                        "rows": {"type": "integer"},
                        "columns": {"type": "array", "items": _COLUMN},
                        "url": {"type": "string", "format": "uri"},
                        "files": {
                            "type": "object",
                            "additionalProperties": {"type": "string", "format": "uri"},
                        },
                    },
                },
            },
        },
    },
    "SynthesisTable": {
        "type": "object",
        "properties": {
            **_COMMON,
            "scope": {"$ref": "#/components/schemas/SynthesisScopeRef"},
            "table": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "columns": {"type": "array", "items": _COLUMN},
            "data": {
                "type": "array",
                "description": (
                    "Une ligne par objet. Les chiffres d'une ligne masquée (suppressed = true) "
                    "sont null."
                ),
                "items": {"type": "object", "additionalProperties": True},
            },
        },
    },
}


def setup(app: Flask) -> None:
    registered = hooks(app)
    registered.openapi_paths.update(openapi_paths())
    registered.openapi_schemas.update(OPENAPI_SCHEMAS)
    app.add_template_global(export_views.download_links, "synthesis_download_links")
