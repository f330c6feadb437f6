"""The offline GeoJSON of académies shipped for the synthesis map."""

from __future__ import annotations

import itertools
import json

import shapely
from shapely.geometry import Polygon, shape

from consult.territories import catalog
from scripts import build_academies_geojson as builder
from synthesis import geo

OVERSEAS = {"28", "31", "32", "33", "43"}


def _points(feature: dict) -> list[list[float]]:
    return [p for polygon in feature["geometry"]["coordinates"] for ring in polygon for p in ring]


def _bbox(feature: dict) -> tuple[float, float, float, float]:
    points = _points(feature)
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)


def _inside(point: tuple[float, float], ring: list[list[float]]) -> bool:
    x, y = point
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            inside = not inside
    return inside


def _contains(feature: dict, point: tuple[float, float]) -> bool:
    return any(_inside(point, polygon[0]) for polygon in feature["geometry"]["coordinates"])


def test_every_metropolitan_academie_is_a_valid_multipolygon() -> None:
    data = geo.academies_geojson()
    assert data["type"] == "FeatureCollection"
    features = {f["id"]: f for f in data["features"]}
    # All académies of the reference data except the five overseas ones: 25 since Caen and
    # Rouen merged into Normandie (2020).
    assert set(features) == set(catalog().academies) - OVERSEAS
    assert len(features) == 25
    for code, feature in features.items():
        assert feature["type"] == "Feature"
        assert feature["properties"]["code"] == code
        assert feature["geometry"]["type"] == "MultiPolygon"
        assert feature["geometry"]["coordinates"], code
        for polygon in feature["geometry"]["coordinates"]:
            for ring in polygon:
                assert len(ring) >= 4
                assert ring[0] == ring[-1]
                assert all(len(p) == 2 for p in ring)


def test_every_shape_is_valid_and_no_two_academies_overlap() -> None:
    shapes = {f["id"]: shape(f["geometry"]) for f in geo.academies_geojson()["features"]}
    invalid = {code: shapely.is_valid_reason(g) for code, g in shapes.items() if not g.is_valid}
    assert invalid == {}
    overlaps = {
        (a, b): shapes[a].intersection(shapes[b]).area
        for a, b in itertools.combinations(sorted(shapes), 2)
        if shapes[a].intersection(shapes[b]).area > 0
    }
    assert overlaps == {}
    assert shapely.coverage_is_valid(list(shapes.values()))


def test_no_gap_inside_an_academie_but_the_real_enclave() -> None:
    shapes = {f["id"]: shape(f["geometry"]) for f in geo.academies_geojson()["features"]}
    holes = {
        code: [Polygon(ring).area for polygon in g.geoms for ring in polygon.interiors]
        for code, g in shapes.items()
    }
    # The Enclave des Papes (Valréas, Vaucluse: Aix-Marseille) inside the Drôme (Grenoble).
    assert {code: len(h) for code, h in holes.items() if h} == {"08": 1}
    valreas = shapely.Point(4.99, 44.38)
    assert shapes["02"].contains(valreas)
    assert not shapes["08"].contains(valreas)


def test_plausible_bounding_box() -> None:
    boxes = [_bbox(f) for f in geo.academies_geojson()["features"]]
    assert min(b[0] for b in boxes) >= -5.3
    assert max(b[2] for b in boxes) <= 10
    assert min(b[1] for b in boxes) >= 41
    assert max(b[3] for b in boxes) <= 51.5
    # France spans roughly −5.1…8.2 (mainland) and 41.4…51.1.
    assert min(b[0] for b in boxes) < -4.7
    assert max(b[2] for b in boxes) > 8.1
    assert min(b[1] for b in boxes) < 41.5
    assert max(b[3] for b in boxes) > 51


def test_known_places_fall_in_their_academie() -> None:
    features = {f["id"]: f for f in geo.academies_geojson()["features"]}
    places = [
        ("01", (2.35, 48.86)),  # Paris, Notre-Dame
        ("27", (9.15, 42.31)),  # Corte
        ("27", (8.97, 41.62)),  # Sartène
        ("09", (3.06, 50.63)),  # Lille
        ("16", (1.44, 43.60)),  # Toulouse
        ("15", (7.75, 48.58)),  # Strasbourg
        ("14", (-1.68, 48.11)),  # Rennes
        ("02", (5.45, 43.53)),  # Aix-en-Provence
        ("24", (2.47, 48.79)),  # Créteil
        ("25", (2.13, 48.80)),  # Versailles
        ("10", (4.84, 45.76)),  # Lyon
    ]
    for code, point in places:
        assert _contains(features[code], point), code
        others = [c for c, f in features.items() if c != code and _contains(f, point)]
        assert others == [], (code, others)


def test_corsica_and_paris_where_expected() -> None:
    features = {f["id"]: f for f in geo.academies_geojson()["features"]}
    west, south, east, north = _bbox(features["27"])
    assert 8.4 < west < 8.7 and 9.4 < east < 9.7
    assert 41.3 < south < 41.5 and 42.9 < north < 43.1
    west, south, east, north = _bbox(features["01"])
    assert 2.15 < west < 2.3 and 2.4 < east < 2.5
    assert 48.8 < south < 48.85 and 48.88 < north < 48.93


def test_the_georeferencing_fit_is_within_a_few_kilometres() -> None:
    _collection, residuals = builder.build()
    assert float(residuals.max()) < 5.0


def test_shipped_file_matches_the_script_and_stays_small() -> None:
    collection, _residuals = builder.build()
    shipped = geo.GEOJSON_PATH.read_text(encoding="utf-8")
    built = json.loads(json.dumps(collection))
    stored = json.loads(shipped)

    def without_geometry(document: dict) -> dict:
        return document | {
            "features": [
                {k: v for k, v in f.items() if k != "geometry"} for f in document["features"]
            ]
        }

    assert without_geometry(stored) == without_geometry(built)
    # The same shapes with the same vertices; GEOS releases may start a ring at another vertex,
    # which normalising removes.
    for ours, theirs in zip(stored["features"], built["features"], strict=True):
        assert shapely.normalize(shape(ours["geometry"])).equals_exact(
            shapely.normalize(shape(theirs["geometry"])), tolerance=0
        ), ours["id"]
    assert len(shipped.encode()) < 150_000


def test_overseas_academies_are_listed_beside_the_map() -> None:
    assert set(geo.overseas_codes()) == OVERSEAS
