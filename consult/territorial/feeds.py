"""iCalendar (RFC 5545) and Atom 1.0 feeds, built from stored UTC times."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from flask import current_app
from icalendar import Calendar
from icalendar import Event as ICalEvent

from consult.models import AUDIENCE_PLURALS, Audience
from consult.territorial.models import Event, EventMinutes, NewsItem
from consult.territories import Scope
from consult.text import plain_text
from consult.web import absolute_url, site_host

ATOM_NS = "http://www.w3.org/2005/Atom"


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


def ical(territory: Scope, events: Iterable[Event]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Consult//Calendrier territorial//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Consult — {territory.label}")
    for event in events:
        item = ICalEvent()
        item.add("uid", f"event-{event.id}@{site_host()}")
        item.add("dtstamp", _utc(event.updated_at or event.created_at))
        item.add("dtstart", _utc(event.starts_at))
        item.add("dtend", _utc(event.ends_at))
        item.add("summary", event.title)
        known = {a.value: a for a in Audience}
        audiences = ", ".join(
            str(AUDIENCE_PLURALS[known[a]]) for a in event.audiences if a in known
        )
        description = plain_text(event.description)
        if audiences:
            description += f"\n\nPublics : {audiences}"
        item.add("description", description)
        if event.place:
            item.add("location", event.place)
        elif event.online_url:
            item.add("location", event.online_url)
        page = absolute_url("territories.event", event_id=event.id)
        item.add("url", event.online_url or page)
        cal.add_component(item)
    return cal.to_ical()


def atom(
    territory: Scope,
    items: list[NewsItem],
    self_url: str,
    page_url: str,
    minutes: list[EventMinutes] = (),  # type: ignore[assignment]
) -> bytes:
    """News and the minutes of the territory's meetings, newest first."""
    ET.register_namespace("", ATOM_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", self_url)
    sub(feed, "title", f"Actualités — {territory.label}")
    updated = max(
        [i.updated_at for i in items] + [m.updated_at for m in minutes], default=None
    ) or datetime(2020, 6, 1)
    sub(feed, "updated", _utc(updated).isoformat())
    sub(feed, "link", rel="self", href=self_url, type="application/atom+xml")
    sub(feed, "link", rel="alternate", href=page_url, type="text/html")
    author = sub(feed, "author")
    sub(author, "name", current_app.config.get("CONSULTATION_TITLE", "Consult"))
    from consult.text import render_markdown

    entries = [
        (
            item.published_at,
            absolute_url("territories.news_item", news_id=item.id),
            item.title,
            item,
        )
        for item in items
    ] + [
        (
            m.published_at,
            absolute_url("territories.event", event_id=m.event_id, _anchor="compte-rendu"),
            f"Compte rendu — {m.event.title}",
            m,
        )
        for m in minutes
    ]
    entries.sort(key=lambda e: e[0], reverse=True)
    for published, link, title, item in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", link)
        sub(entry, "title", title)
        sub(entry, "published", _utc(published).isoformat())
        sub(entry, "updated", _utc(item.updated_at or published).isoformat())
        sub(entry, "link", rel="alternate", href=link, type="text/html")
        entry_author = sub(entry, "author")
        sub(entry_author, "name", item.author.public_name if item.author else "Consult")
        sub(entry, "content", str(render_markdown(item.body)), type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)
