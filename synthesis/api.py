"""Open-data API of the syntheses: /api/v1/syntheses/... — always the public, suppressed tables,
whoever calls (analysts download detailed files from the export pages, never from the API).

Answers are cached per compilation: a new compilation changes the key, so nothing goes stale.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, url_for
from flask_babel import force_locale
from marshmallow import Schema, fields, validate

from consult.api import TERRITORY_CODE, DateTime, api_error, operation
from consult.cache import cached_json
from consult.db import db
from consult.moderation import visibility_generation
from consult.territories import Scope

# Imported here, before ``init_app`` registers the shared ``synthesis`` blueprint, so the
# download routes it declares on that blueprint exist by then.
from synthesis import export_views, exports

bp = Blueprint("synthesis_api", __name__, url_prefix="/api/v1")

CACHE_SECONDS = 3600


class Compilation(Schema):
    id = fields.Integer(required=True)
    compiled_at = DateTime(required=True)


class SynthesisScopeRef(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(exports.SCOPE_KINDS))
    code = fields.String(required=True)
    name = fields.String(required=True)
    url = fields.Url(required=True)
    downloads = fields.Url(required=True)
    zip = fields.Url(required=True)


class _Common(Schema):
    compilation = fields.Nested(Compilation, required=True, allow_none=True)
    suppression_threshold = fields.Integer(required=True)
    licence = fields.String(required=True)
    licence_url = fields.Url(required=True)


class SynthesisIndex(_Common):
    scopes = fields.List(fields.Nested(SynthesisScopeRef), required=True)


class SynthesisColumn(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    description = fields.String(required=True)


class SynthesisTableRef(Schema):
    name = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    rows = fields.Integer(required=True)
    columns = fields.List(fields.Nested(SynthesisColumn), required=True)
    url = fields.Url(required=True)
    files = fields.Dict(keys=fields.String(), values=fields.Url(), required=True)


class SynthesisScope(_Common):
    scope = fields.Nested(SynthesisScopeRef, required=True)
    tables = fields.List(fields.Nested(SynthesisTableRef), required=True)


class SynthesisTable(_Common):
    scope = fields.Nested(SynthesisScopeRef, required=True)
    table = fields.String(required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    columns = fields.List(fields.Nested(SynthesisColumn), required=True)
    data = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "Une ligne par objet. Les chiffres d'une ligne masquée "
            "(suppressed = true) sont null."
        },
    )


def _compilation_info(compilation: Any) -> dict[str, Any] | None:
    if compilation is None:
        return None
    return {
        "id": compilation.id,
        "compiled_at": exports._iso(compilation.finished_at or compilation.started_at),
    }


def _scope_info(scope: Scope) -> dict[str, Any]:
    if scope.kind == "national":
        api = url_for("synthesis_api.national", _external=True)
    else:
        api = url_for(f"synthesis_api.{scope.kind}", code=scope.code, _external=True)
    return {
        "kind": scope.kind,
        "code": scope.code,
        "name": scope.label,
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
    # Absolute links in the answers are built on SITE_URL (consult.web), never on the Host
    # header: one entry serves every client and a forged host cannot multiply entries. The
    # visibility generation: answers list items, which moderation may hide at any time.
    generation = visibility_generation()
    return ":".join(["synthesis-api", exports.compilation_key(compilation), generation, *parts])


@bp.route("/syntheses")
@operation("Synthèses : date de la dernière compilation et liste des territoires", SynthesisIndex)
def index():
    compilation = exports.latest_compilation(db.session)

    def compute() -> dict[str, Any]:
        with force_locale("fr"):
            return {
                **_common(compilation),
                "scopes": [_scope_info(s) for s in exports.all_scopes()],
            }

    if compilation is None:
        return compute()
    return cached_json(_cache_key(compilation, "index"), CACHE_SECONDS, compute)


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
    return document


def _columns(doc: exports.TableDoc, keys: list[str]) -> list[dict[str, str]]:
    return [
        {"key": key, "label": doc.column(key).label, "description": doc.column(key).description}
        for key in keys
    ]


def _table_url(scope: Scope, name: str) -> str:
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
    return document


_CODE = {"pattern": TERRITORY_CODE, "description": "Code du territoire (voir /territories)"}
_NOT_FOUND = {404: "Territoire ou table inconnus, ou aucune synthèse compilée"}
_TABLE_SUMMARY = "Une table de la synthèse %s (figures masquées sous 10 personnes)"


def _table_path() -> dict[str, Any]:
    from synthesis import catalog

    return {"enum": list(catalog.TABLE_NAMES)}


@bp.route("/syntheses/national")
@operation(
    "Synthèse nationale : tables disponibles et leurs colonnes", SynthesisScope, errors=_NOT_FOUND
)
def national():
    return _scope_document("national", "")


@bp.route("/syntheses/academie/<code>")
@operation(
    "Synthèse d'une académie : tables disponibles et leurs colonnes",
    SynthesisScope,
    path={"code": _CODE},
    errors=_NOT_FOUND,
)
def academie(code: str):
    return _scope_document("academie", code)


@bp.route("/syntheses/region/<code>")
@operation(
    "Synthèse d'une région académique : tables disponibles et leurs colonnes",
    SynthesisScope,
    path={"code": _CODE},
    errors=_NOT_FOUND,
)
def region(code: str):
    return _scope_document("region", code)


@bp.route("/syntheses/national/<table>")
@operation(
    _TABLE_SUMMARY % "nationale",
    SynthesisTable,
    path={"table": _table_path()},
    errors=_NOT_FOUND,
)
def national_table(table: str):
    return _table_document("national", "", table)


@bp.route("/syntheses/academie/<code>/<table>")
@operation(
    _TABLE_SUMMARY % "d'une académie",
    SynthesisTable,
    path={"code": _CODE, "table": _table_path()},
    errors=_NOT_FOUND,
)
def academie_table(code: str, table: str):
    return _table_document("academie", code, table)


@bp.route("/syntheses/region/<code>/<table>")
@operation(
    _TABLE_SUMMARY % "d'une région académique",
    SynthesisTable,
    path={"code": _CODE, "table": _table_path()},
    errors=_NOT_FOUND,
)
def region_table(code: str, table: str):
    return _table_document("region", code, table)


def setup(app: Flask) -> None:
    app.add_template_global(export_views.download_links, "synthesis_download_links")
