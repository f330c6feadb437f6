"""Read-only open-data API: ideas and events (/api/v1/ideas, /api/v1/events). Pseudonyms
only, cursor pagination by id."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request, url_for

from consult.db import db
from consult.territorial import queries, territory
from consult.territorial.models import Event, Idea
from consult.territorial.territory import Territory

bp = Blueprint("territories_api", __name__, url_prefix="/api/v1")

PAGE_MAX = 100


def _iso(value: datetime | None) -> str | None:
    return value.replace(tzinfo=UTC).isoformat() if value else None


def _limit() -> int:
    try:
        return min(max(int(request.args.get("limit", 50)), 1), PAGE_MAX)
    except ValueError:
        abort(400)


def _cursor() -> int | None:
    raw = request.args.get("cursor")
    if raw is None:
        return None
    if not raw.isdigit() or len(raw) > 12:
        abort(400)
    return int(raw)


def _territory_arg() -> Territory | None:
    """?academie=16 or ?region=76 (codes); unknown codes are a 404."""
    if "academie" in request.args:
        found = territory.academie(request.args["academie"])
    elif "region" in request.args:
        found = territory.region(request.args["region"])
    else:
        return None
    if found is None:
        abort(404)
    return found


def idea_json(idea: Idea) -> dict[str, Any]:
    return {
        "id": idea.id,
        "academie": idea.academie_code,
        "title": idea.title,
        "body": idea.body,
        "author": idea.author.public_name,
        "author_audience": idea.author_audience,
        "created_at": _iso(idea.created_at),
        "support_count": idea.support_count,
        "status": idea.status,
        "answer": idea.answer,
        "answered_at": _iso(idea.answered_at),
        "url": url_for("territories.idea", idea_id=idea.id, _external=True),
    }


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "scope": {"kind": event.scope_kind, "code": event.scope_code or None},
        "title": event.title,
        "description": event.description,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "place": event.place,
        "online_url": event.online_url,
        "audiences": list(event.audiences),
        "registration_url": event.registration_url,
        "capacity": event.capacity,
        "places_left": event.places_left,
        "url": url_for("territories.event", event_id=event.id, _external=True),
    }


def _page(stmt, model, serialise, endpoint: str):
    limit = _limit()
    cursor = _cursor()
    stmt = stmt.order_by(None).order_by(model.id)
    if cursor is not None:
        stmt = stmt.where(model.id > cursor)
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    args = {k: v for k, v in request.args.items() if k != "cursor"}
    return jsonify(
        {
            "data": [serialise(r) for r in rows[:limit]],
            "next": url_for(endpoint, cursor=next_cursor, _external=True, **args)
            if next_cursor
            else None,
        }
    )


@bp.route("/ideas")
def ideas():
    found = _territory_arg()
    codes = found.academie_codes if found else tuple(territory.catalog().academies)
    stmt = queries.visible_ideas_query(codes)
    status = request.args.get("status")
    if status:
        stmt = stmt.where(Idea.status == status[:20])
    return _page(stmt, Idea, idea_json, "territories_api.ideas")


@bp.route("/ideas/<int:idea_id>")
def idea(idea_id: int):
    item = db.session.get(Idea, idea_id)
    if item is None or not item.is_public:
        abort(404)
    return jsonify(idea_json(item))


@bp.route("/events")
def events():
    found = _territory_arg() or territory.NATIONAL
    upcoming = request.args.get("upcoming", "0") in {"1", "true"}
    stmt = queries.events_query(found, upcoming=upcoming)
    return _page(stmt, Event, event_json, "territories_api.events")


@bp.route("/events/<int:event_id>")
def event(event_id: int):
    item = db.session.get(Event, event_id)
    if item is None or not item.is_public:
        abort(404)
    return jsonify(event_json(item))


def _paged(summary: str, op: str, schema: str, params: list[dict]) -> dict:
    return {
        "get": {
            "summary": summary,
            "operationId": op,
            "parameters": [
                *params,
                {"name": "cursor", "in": "query", "schema": {"type": "integer"}},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
            ],
            "responses": {
                "200": {
                    "description": summary,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "data": {
                                        "type": "array",
                                        "items": {"$ref": f"#/components/schemas/{schema}"},
                                    },
                                    "next": {"type": ["string", "null"]},
                                },
                            }
                        }
                    },
                },
                "404": {"description": "Territoire inconnu"},
            },
        }
    }


def _single(summary: str, op: str, schema: str, name: str) -> dict:
    return {
        "get": {
            "summary": summary,
            "operationId": op,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "integer"}}
            ],
            "responses": {
                "200": {
                    "description": summary,
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}
                    },
                },
                "404": {"description": "Introuvable"},
            },
        }
    }


TERRITORY_PARAMS = [
    {"name": "academie", "in": "query", "schema": {"type": "string"}},
    {"name": "region", "in": "query", "schema": {"type": "string"}},
]

OPENAPI_PATHS = {
    "/ideas": _paged(
        "Idées des boîtes à idées territoriales",
        "listIdeas",
        "Idea",
        [*TERRITORY_PARAMS, {"name": "status", "in": "query", "schema": {"type": "string"}}],
    ),
    "/ideas/{idea_id}": _single("Une idée", "getIdea", "Idea", "idea_id"),
    "/events": _paged(
        "Événements (nationaux et territoriaux)",
        "listEvents",
        "Event",
        [*TERRITORY_PARAMS, {"name": "upcoming", "in": "query", "schema": {"type": "boolean"}}],
    ),
    "/events/{event_id}": _single("Un événement", "getEvent", "Event", "event_id"),
}
OPENAPI_SCHEMAS = {
    "Idea": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "academie": {"type": "string"},
            "title": {"type": "string"},
            "body": {"type": "string"},
            "author": {"type": "string", "description": "pseudonyme"},
            "author_audience": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "support_count": {"type": "integer"},
            "status": {
                "type": ["string", "null"],
                "enum": ["a_l_etude", "retenue", "non_retenue", "realisee", None],
            },
            "answer": {"type": ["string", "null"]},
            "answered_at": {"type": ["string", "null"], "format": "date-time"},
            "url": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "scope": {"type": "object"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "place": {"type": ["string", "null"]},
            "online_url": {"type": ["string", "null"]},
            "audiences": {"type": "array", "items": {"type": "string"}},
            "registration_url": {"type": ["string", "null"]},
            "capacity": {"type": ["integer", "null"]},
            "places_left": {"type": ["integer", "null"]},
            "url": {"type": "string"},
        },
    },
}
