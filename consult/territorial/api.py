"""Read-only open-data API: ideas and events (/api/v1/ideas, /api/v1/events). Pseudonyms
only, cursor pagination by id. An idea keeps its académie (the ideas box it was posted in: the
content's territory) but not its author's audience, a fact about a person that, item by item,
would recount the small cells the syntheses hide."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate

from consult.api import (
    MAX_ID,
    TERRITORY_CODE,
    Boolean,
    DateTime,
    PageQuery,
    Text,
    api_error,
    operation,
)
from consult.db import db
from consult.territorial import queries, territory
from consult.territorial.models import Event as EventModel
from consult.territorial.models import Idea as IdeaModel
from consult.territorial.models import IdeaStatus
from consult.territories import Scope, catalog

bp = Blueprint("territories_api", __name__, url_prefix="/api/v1")


class Idea(Schema):
    id = fields.Integer(required=True)
    academie = fields.String(
        required=True, metadata={"description": "Académie de la boîte à idées"}
    )
    title = fields.String(required=True)
    body = fields.String(required=True)
    author = fields.String(required=True, metadata={"description": "Pseudonyme public"})
    created_at = DateTime(required=True)
    support_count = fields.Integer(required=True)
    status = fields.String(
        required=True, allow_none=True, validate=validate.OneOf([s.value for s in IdeaStatus])
    )
    answer = fields.String(required=True, allow_none=True)
    answered_at = DateTime(required=True, allow_none=True)
    url = fields.Url(required=True)


class EventScope(Schema):
    kind = fields.String(required=True)
    code = fields.String(required=True, allow_none=True)


class Event(Schema):
    id = fields.Integer(required=True)
    scope = fields.Nested(EventScope, required=True)
    title = fields.String(required=True)
    description = fields.String(required=True)
    starts_at = DateTime(required=True)
    ends_at = DateTime(required=True, allow_none=True)
    place = fields.String(required=True, allow_none=True)
    online_url = fields.String(required=True, allow_none=True)
    audiences = fields.List(fields.String(), required=True)
    registration_url = fields.String(required=True, allow_none=True)
    capacity = fields.Integer(required=True, allow_none=True)
    places_left = fields.Integer(required=True, allow_none=True)
    url = fields.Url(required=True)


class IdeaPage(Schema):
    data = fields.List(fields.Nested(Idea), required=True)
    next = fields.Url(required=True, allow_none=True)


class EventPage(Schema):
    data = fields.List(fields.Nested(Event), required=True)
    next = fields.Url(required=True, allow_none=True)


class TerritoryQuery(PageQuery):
    academie = Text(
        max_length=2, pattern=TERRITORY_CODE, metadata={"description": "Code d'académie"}
    )
    region = Text(
        max_length=2,
        pattern=TERRITORY_CODE,
        metadata={"description": "Code de région académique (ignoré avec academie)"},
    )


class IdeaQuery(TerritoryQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in IdeaStatus]))


class EventQuery(TerritoryQuery):
    upcoming = Boolean(metadata={"description": "Seulement les événements à venir"})


def _territory_arg(args: dict[str, Any]) -> Scope | bool | None:
    """?academie=16 or ?region=76 (codes); False for an unknown code."""
    if "academie" in args:
        return territory.academie(args["academie"]) or False
    if "region" in args:
        return territory.region(args["region"]) or False
    return None


def _idea(idea: IdeaModel) -> dict[str, Any]:
    return {
        "id": idea.id,
        "academie": idea.academie_code,
        "title": idea.title,
        "body": idea.body,
        "author": idea.author.public_name,
        "created_at": idea.created_at,
        "support_count": idea.support_count,
        "status": idea.status,
        "answer": idea.answer,
        "answered_at": idea.answered_at,
        "url": url_for("territories.idea", idea_id=idea.id, _external=True),
    }


def _event(event: EventModel) -> dict[str, Any]:
    return {
        "id": event.id,
        "scope": {"kind": event.scope_kind, "code": event.scope_code or None},
        "title": event.title,
        "description": event.description,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "place": event.place,
        "online_url": event.online_url,
        "audiences": list(event.audiences),
        "registration_url": event.registration_url,
        "capacity": event.capacity,
        "places_left": event.places_left,
        "url": url_for("territories.event", event_id=event.id, _external=True),
    }


def _page(stmt, model, serialise, endpoint: str, args: dict[str, Any]) -> dict[str, Any]:
    limit = args.get("limit", 50)
    stmt = stmt.order_by(None).order_by(model.id)
    if "cursor" in args:
        stmt = stmt.where(model.id > args["cursor"])
    rows = list(db.session.scalars(stmt.limit(limit + 1)))
    next_cursor = rows[limit - 1].id if len(rows) > limit else None
    params = {k: v for k, v in request.args.items() if k != "cursor"}
    return {
        "data": [serialise(r) for r in rows[:limit]],
        "next": url_for(endpoint, cursor=next_cursor, _external=True, **params)
        if next_cursor
        else None,
    }


def _unknown_territory() -> Any:
    return api_error(404, detail=_("Territoire inconnu."))


@bp.route("/ideas")
@operation(
    "Idées des boîtes à idées territoriales",
    IdeaPage,
    query=IdeaQuery,
    errors={404: "Territoire inconnu"},
)
def ideas(args: dict[str, Any]):
    found = _territory_arg(args)
    if found is False:
        return _unknown_territory()
    codes = found.academie_codes if found else tuple(catalog().academies)
    stmt = queries.visible_ideas_query(codes)
    if "status" in args:
        stmt = stmt.where(IdeaModel.status == args["status"])
    return _page(stmt, IdeaModel, _idea, "territories_api.ideas", args)


@bp.route("/ideas/<int:idea_id>")
@operation(
    "Une idée",
    Idea,
    path={"idea_id": {"maximum": MAX_ID}},
    errors={404: "Idée inconnue ou non publiée"},
)
def idea(idea_id: int):
    item = db.session.get(IdeaModel, idea_id)
    if item is None or not item.is_public:
        return api_error(404, detail=_("Idée inconnue ou non publiée."))
    return _idea(item)


@bp.route("/events")
@operation(
    "Événements (nationaux et territoriaux)",
    EventPage,
    query=EventQuery,
    errors={404: "Territoire inconnu"},
)
def events(args: dict[str, Any]):
    found = _territory_arg(args)
    if found is False:
        return _unknown_territory()
    stmt = queries.events_query(found or territory.NATIONAL, upcoming=args.get("upcoming", False))
    return _page(stmt, EventModel, _event, "territories_api.events", args)


@bp.route("/events/<int:event_id>")
@operation(
    "Un événement",
    Event,
    path={"event_id": {"maximum": MAX_ID}},
    errors={404: "Événement inconnu"},
)
def event(event_id: int):
    item = db.session.get(EventModel, event_id)
    if item is None or not item.is_public:
        return api_error(404, detail=_("Événement inconnu."))
    return _event(item)
