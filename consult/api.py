"""Read-only open-data API under /api/v1/, described by /api/v1/openapi.json.

One marshmallow schema per query and per answer: the ``operation`` decorator parses the query
string with the first (a value the schema refuses is a 400 with a French message) and writes
the answer with the second, and ``openapi_document`` hands both to apispec. The document is
therefore written from the code that parses and serialises, never by hand: it cannot promise a
parameter the view ignores or a field the view does not send. (apispec + marshmallow rather than
pydantic or spectree: apispec was already a dependency, and marshmallow's dump/load pair fits
views that serialise ORM objects.) Feature packages declare their views with ``operation`` on
a blueprint registered through ``register_api_blueprint``; this module owns the document, the
error format and the shared response headers.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, Response, current_app, jsonify, request, url_for
from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from consult.extensions import csrf
from consult.inputs import MAX_ID
from consult.territories import catalog

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PREFIX = "/api/v1"

# Public aggregates built on fewer people than this are suppressed (API, pages, exports).
SUPPRESSION_THRESHOLD = 10
# Territory codes of the 2020 reference (académies and régions académiques: two digits).
TERRITORY_CODE = r"^[0-9]{2}$"


def api_error(
    code: int, message: str | None = None, *, detail: str | None = None, allow: str = ""
) -> Any:
    """The JSON error of every API answer: {"error": {"status", "message"}} in French.
    ``detail`` (already French) replaces the generic message; ``message`` (Werkzeug's English
    description) is only a last resort."""
    messages = {
        400: _("Requête incorrecte."),
        404: _("Ressource introuvable."),
        405: _("Méthode non autorisée : l'API est en lecture seule."),
        429: _("Trop de requêtes."),
        500: _("Erreur du serveur."),
    }
    text = detail or messages.get(code) or message or _("Erreur.")
    response = jsonify({"error": {"status": code, "message": text}})
    response.status_code = code
    if allow:
        response.headers["Allow"] = allow
    return response


# --- Fields shared by the packages' schemas ------------------------------------------------------


class DateTime(fields.DateTime):
    """ISO 8601 with its offset, always UTC: the database stores naive UTC datetimes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _serialize(self, value: Any, attr: Any, obj: Any, **kwargs: Any) -> str | None:
        from consult import csvout

        if value is None or isinstance(value, str):  # None, or already written by csvout.iso
            return value
        return csvout.iso(value)


class Integer(fields.Integer):
    """A query-string integer written in ASCII digits only (``int()`` would take « ٣ » or
    « 1_000 »), within ``MAX_ID`` unless the field narrows it."""

    _DIGITS = re.compile(r"-?[0-9]{1,30}")

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_ID, **kwargs: Any) -> None:
        super().__init__(strict=False, validate=validate.Range(minimum, maximum), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if not isinstance(value, str) or not self._DIGITS.fullmatch(value):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class Text(fields.String):
    """Free text in a query string: bounded, never a NUL byte (PostgreSQL refuses them)."""

    def __init__(self, *, max_length: int = 200, pattern: str | None = None, **kwargs: Any):
        rules: list[Any] = [validate.Length(max=max_length)]
        rules.append(validate.Regexp(pattern or r"^[^\x00]*$"))
        super().__init__(validate=rules, **kwargs)


class Boolean(fields.Boolean):
    """« true » or « false », as the document says; nothing else is guessed."""

    truthy = frozenset({"true"})
    falsy = frozenset({"false"})


class QuerySchema(Schema):
    class Meta:
        # A cache-busting or tracking parameter the API does not know is ignored, not refused.
        unknown = EXCLUDE


class PageQuery(QuerySchema):
    limit = Integer(minimum=1, maximum=100, metadata={"description": "Taille de page (1 à 100)"})
    cursor = Integer(
        minimum=0, metadata={"description": "Curseur renvoyé par la page précédente (next)"}
    )


class ErrorBody(Schema):
    status = fields.Integer(required=True)
    message = fields.String(required=True)


class Error(Schema):
    error = fields.Nested(ErrorBody, required=True)


# --- Operations -----------------------------------------------------------------------------------


@dataclass
class Operation:
    summary: str
    response: type[Schema]
    query: type[Schema] | None = None
    many: bool = False
    # Path parameter name → extra JSON-schema keywords (pattern, enum…).
    path: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # Error statuses this operation answers besides 400, 405 and 429, with their meaning.
    errors: Mapping[int, str] = field(default_factory=dict)
    description: str = ""


def _first_error(messages: Any) -> tuple[str, str]:
    name, problem = next(iter(messages.items()))
    while isinstance(problem, dict):
        problem = next(iter(problem.values()))
    if isinstance(problem, list):
        problem = problem[0]
    return str(name), str(problem)


def operation(
    summary: str,
    response: type[Schema],
    *,
    query: type[Schema] | None = None,
    path: Mapping[str, dict[str, Any]] | None = None,
    errors: Mapping[int, str] | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view: its query is parsed by ``query`` (the view receives ``args``), its
    return value (unless already a Response) written by ``response``; both document it."""
    spec = Operation(
        summary, response, query, path=path or {}, errors=errors or {}, description=description
    )

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(**kwargs: Any) -> Any:
            for value in kwargs.values():
                # A path id beyond the column's range cannot name a row (and would make the
                # driver or the database fail).
                if isinstance(value, int) and not 0 <= value <= MAX_ID:
                    return api_error(404)
            if any("\x00" in k or "\x00" in v for k, v in request.args.items(multi=True)):
                return api_error(400, detail=_("Caractère nul interdit dans la requête."))
            if spec.query is not None:
                try:
                    kwargs["args"] = spec.query().load(request.args.to_dict(flat=True))
                except ValidationError as exc:
                    name, _problem = _first_error(exc.messages)
                    return api_error(
                        400, detail=_("Paramètre « %(name)s » invalide.", name=name[:40])
                    )
            result = view(**kwargs)
            if isinstance(result, Response):
                return result
            return jsonify(spec.response().dump(result))

        wrapper.api_operation = spec  # type: ignore[attr-defined]
        return wrapper

    return decorate


# --- Core endpoints -------------------------------------------------------------------------------


class TerritoryRegion(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    academies = fields.List(fields.String(), required=True)


class TerritoryAcademie(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    slug = fields.String(required=True)
    region_academique = fields.String(required=True)
    departements = fields.List(fields.String(), required=True)


class TerritoryDepartement(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    academie = fields.String(required=True)


class Territories(Schema):
    regions_academiques = fields.List(fields.Nested(TerritoryRegion), required=True)
    academies = fields.List(fields.Nested(TerritoryAcademie), required=True)
    departements = fields.List(fields.Nested(TerritoryDepartement), required=True)


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
@operation("Régions académiques, académies et départements (référentiel 2020)", Territories)
def territories():
    cat = catalog()
    return {
        "regions_academiques": [
            {"code": r.code, "name": r.name, "slug": r.slug, "academies": list(r.academie_codes)}
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


@bp.route("/openapi.json")
def openapi():
    return jsonify(openapi_document())


# --- The document ---------------------------------------------------------------------------------

_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTER_SCHEMAS = {
    "int": {"type": "integer", "minimum": 0},
    "default": {"type": "string"},
}
_STANDARD_ERRORS = {
    400: "Paramètre invalide (type, bornes, caractère nul) : message en français",
    405: "Méthode non autorisée : l'API est en lecture seule (en-tête Allow)",
    429: "Trop de requêtes",
}


def _schema_name(schema: type[Schema] | Schema) -> str:
    # One component per schema class, named after it (instances come from Nested fields).
    return (schema if isinstance(schema, type) else type(schema)).__name__


def _path_and_parameters(rule: str, spec: Operation) -> tuple[str, list[dict[str, Any]]]:
    params: list[dict[str, Any]] = []

    def replace(match: re.Match) -> str:
        converter, name = match.group(1) or "default", match.group(2)
        schema = dict(_CONVERTER_SCHEMAS.get(converter, _CONVERTER_SCHEMAS["default"]))
        schema.update(spec.path.get(name, {}))
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _RULE_ARG.sub(replace, rule)[len(PREFIX) :] or "/", params


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": Error}}}


def openapi_document() -> dict[str, Any]:
    spec = APISpec(
        title="Consult — API open data",
        version="1",
        openapi_version="3.1.0",
        plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        info={
            "description": (
                "API en lecture seule. Pseudonymes uniquement, jamais d'adresse électronique ; "
                f"les agrégats de moins de {SUPPRESSION_THRESHOLD} personnes sont masqués. "
                "Dates ISO 8601 en UTC avec leur décalage (+00:00)."
            ),
            "license": {"name": "Licence Ouverte 2.0", "identifier": "etalab-2.0"},
        },
        servers=[{"url": current_app.config.get("APPLICATION_ROOT", "/").rstrip("/") + PREFIX}],
    )
    spec.components.schema("Error", schema=Error)
    rules = sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        view = current_app.view_functions.get(rule.endpoint)
        declared: Operation | None = getattr(view, "api_operation", None)
        if declared is None or not rule.rule.startswith(PREFIX):
            continue
        path, path_params = _path_and_parameters(rule.rule, declared)
        parameters: list[dict[str, Any]] = list(path_params)
        if declared.query is not None:
            parameters.append({"in": "query", "schema": declared.query})
        responses: dict[str, Any] = {
            "200": {
                "description": declared.summary,
                "content": {"application/json": {"schema": declared.response}},
            }
        }
        for status, text in sorted({**_STANDARD_ERRORS, **declared.errors}.items()):
            responses[str(status)] = _error_response(text)
        responses["405"]["headers"] = {
            "Allow": {"description": "Méthodes acceptées", "schema": {"type": "string"}}
        }
        operation_doc: dict[str, Any] = {
            "summary": declared.summary,
            "operationId": rule.endpoint.replace(".", "_"),
            "parameters": parameters,
            "responses": responses,
        }
        if declared.description:
            operation_doc["description"] = declared.description
        spec.path(path=path, operations={"get": operation_doc})
    return spec.to_dict()


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
            # RFC 9110: a 405 names the methods the resource accepts.
            routing = getattr(request, "routing_exception", None)
            methods = getattr(routing, "valid_methods", None)
            if response.status_code == 405 and methods and "Allow" not in response.headers:
                response.headers["Allow"] = ", ".join(sorted(methods))
        return response
