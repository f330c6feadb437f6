"""The offline map of académies: the GeoJSON shipped in ``data/synthesis/`` (built by
``scripts/build_academies_geojson.py``) and which académies it cannot show (overseas)."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from consult.territories import catalog

GEOJSON_PATH = Path(__file__).resolve().parent.parent / "data" / "synthesis" / "academies.geojson"


@functools.cache
def geojson_bytes() -> bytes:
    return GEOJSON_PATH.read_bytes()


@functools.cache
def academies_geojson() -> dict:
    return json.loads(geojson_bytes())


@functools.cache
def mapped_codes() -> frozenset[str]:
    return frozenset(feature["id"] for feature in academies_geojson()["features"])


def overseas_codes() -> list[str]:
    """Académies with no outline on the map (overseas), listed beside it instead."""
    mapped = mapped_codes()
    return [a.code for a in catalog().academies_sorted() if a.code not in mapped]
