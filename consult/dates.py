"""Times people read: stored naive UTC, shown in the territory's own time zone.

One home for the rule: forum, moderation and account times are shown in Paris time (the
consultation's reference time, ``BABEL_DEFAULT_TIMEZONE``); an overseas académie's event is
shown, and typed by its organiser, in that académie's time, with the zone named.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

PARIS = ZoneInfo("Europe/Paris")

# Académie code → (zone, its name). Every other académie (and the nation) is on Paris time.
OVERSEAS_ZONES = {
    "28": (ZoneInfo("Indian/Reunion"), _l("heure de La Réunion")),
    "31": (ZoneInfo("America/Martinique"), _l("heure de la Martinique")),
    "32": (ZoneInfo("America/Guadeloupe"), _l("heure de la Guadeloupe")),
    "33": (ZoneInfo("America/Cayenne"), _l("heure de la Guyane")),
    "43": (ZoneInfo("Indian/Mayotte"), _l("heure de Mayotte")),
}
PARIS_NAME = _l("heure de Paris")

DATETIME_FORMAT = "EEEE d MMMM y 'à' HH'h'mm"
SHORT_FORMAT = "dd/MM/y HH'h'mm"


def zone_for(scope_kind: str | None, scope_code: str | None) -> tuple[ZoneInfo, object]:
    """The time zone of a territory (an académie, or a région académique whose académies
    share one zone: the overseas régions have a single académie)."""
    if scope_kind == "region" and scope_code:
        from consult.territories import catalog

        region = catalog().regions.get(scope_code)
        codes = set(region.academie_codes) if region else set()
        if len(codes) == 1:
            scope_code, scope_kind = codes.pop(), "academie"
    if scope_kind == "academie" and scope_code in OVERSEAS_ZONES:
        return OVERSEAS_ZONES[scope_code]
    return PARIS, PARIS_NAME


def to_local(value: datetime, zone: ZoneInfo = PARIS) -> datetime:
    """Stored naive UTC → naive wall-clock time in ``zone`` (form fields)."""
    return value.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def to_utc(value: datetime, zone: ZoneInfo = PARIS) -> datetime:
    """Wall-clock time typed in ``zone`` → stored naive UTC."""
    return value.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _locale() -> str:
    return str(get_locale() or "fr")


def local_datetime(
    value: datetime | None, fmt: str = DATETIME_FORMAT, zone: ZoneInfo = PARIS
) -> str:
    if value is None:
        return ""
    return format_datetime(value.replace(tzinfo=UTC), fmt, tzinfo=zone, locale=_locale())


def local_date_long(value: datetime | date | None, zone: ZoneInfo = PARIS) -> str:
    """« 1er juin 2020 »: the day as it was in ``zone`` (a timestamp of 23:30 UTC is the
    next day in Paris)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.replace(tzinfo=UTC).astimezone(zone).date()
    text = format_date(value, "long", locale=_locale())
    # French writes the first day of a month as an ordinal: « 1er juin ».
    if value.day == 1 and _locale() == "fr" and text.startswith("1 "):
        text = "1er " + text[2:]
    return text


def scoped_datetime(value: datetime | None, scope_kind: str | None, scope_code: str | None) -> str:
    """An event's time in its territory's zone, the zone named: « … à 14h00 (heure de La
    Réunion) »."""
    if value is None:
        return ""
    zone, name = zone_for(scope_kind, scope_code)
    return f"{local_datetime(value, DATETIME_FORMAT, zone)} ({name})"


def iso_utc(value: datetime | None) -> str:
    """For ``<time datetime>``: UTC to the second (the HTML checker refuses microseconds)."""
    if value is None:
        return ""
    return value.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def init_app(app) -> None:
    app.add_template_filter(local_datetime, "paris")
    app.add_template_filter(lambda v: local_datetime(v, SHORT_FORMAT), "paris_short")
    app.add_template_filter(local_date_long, "paris_date")
    app.add_template_filter(iso_utc, "iso_utc")
    app.add_template_global(scoped_datetime)
