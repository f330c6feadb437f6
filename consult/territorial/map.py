"""The clickable map of académies: metropolitan départements (SVG outlines shipped as data in
data/territorial/) grouped into their académie, drawn server-side as links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

from consult.config import ROOT
from consult.territories import catalog

MAP_FILE = ROOT / "data" / "territorial" / "france-departements.json"


@dataclass(frozen=True)
class MapArea:
    academie_code: str
    name: str
    slug: str
    region_code: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class FranceMap:
    view_box: str
    areas: tuple[MapArea, ...]
    # Académies without an outline on the metropolitan map (overseas).
    elsewhere: tuple[str, ...]


@lru_cache(maxsize=1)
def france_map() -> FranceMap:
    data = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    cat = catalog()
    paths: dict[str, list[str]] = {}
    for dept in data["departements"]:
        found = cat.departements.get(dept["code"].upper())
        if found is not None:
            paths.setdefault(found.academie_code, []).append(dept["path"])
    areas = tuple(
        MapArea(a.code, a.name, a.slug, a.region_code, tuple(paths[a.code]))
        for a in cat.academies_sorted()
        if a.code in paths
    )
    elsewhere = tuple(a.code for a in cat.academies_sorted() if a.code not in paths)
    return FranceMap(data["viewBox"], areas, elsewhere)
