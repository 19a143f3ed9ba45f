"""The offline base map: Natural Earth land outlines shipped with the package.

``data/land-110m.json`` is the 1:110m land TopoJSON of the npm package
``world-atlas@2.0.2`` (Natural Earth 4.1.0, public domain; package licence ISC, see
``data/LICENSE-world-atlas.txt``). Leaflet draws GeoJSON, so the topology is decoded
here once per process (about 55 kB; a few milliseconds).

TopoJSON in brief: every polygon ring is a list of *arc* indices into a shared table
of polylines (index ``~i``, i.e. ``-i - 1``, means arc ``i`` reversed). With a
``transform``, arcs are quantized: the first position of an arc is absolute, later ones
are deltas, and ``(x, y) * scale + translate`` gives longitude and latitude in degrees.

world-atlas stitched its rings on the sphere (d3's ``geoStitch``): a ring may cross the
antimeridian (Fiji, Chukotka; Wrangel Island has a point at -180 for +180) and
Antarctica's ring goes round the South Pole without reaching it. Leaflet draws rings
flat, in longitude and latitude, and fills a layer's polygons as one even-odd path:
such rings drew bands across the whole map at 65-72 N and the sea came out in the
land's colour. :func:`topojson_to_geojson` therefore cuts rings at the antimeridian and
closes a ring round a pole along that pole, giving flat polygons within [-180, 180].
"""
from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["land_geojson", "topojson_to_geojson", "LAND_FILE"]

LAND_FILE = Path(__file__).with_name("data") / "land-110m.json"


def _decode_arcs(topology: dict) -> list[list[list[float]]]:
    """Absolute [longitude, latitude] positions (degrees) of every arc."""
    transform = topology.get("transform")
    if transform is None:  # an unquantized topology stores absolute positions already
        return [[[float(x), float(y)] for x, y, *_ in arc] for arc in topology["arcs"]]
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy, *_ in arc:
            # Delta decoding is done on the integers, so no rounding error accumulates.
            x, y = x + dx, y + dy
            points.append([x * sx + tx, y * sy + ty])
        arcs.append(points)
    return arcs


def _ring(indices: list[int], arcs: list[list[list[float]]]) -> list[list[float]]:
    """Stitch arcs into one closed ring of [longitude, latitude] positions."""
    ring: list[list[float]] = []
    for index in indices:
        points = arcs[index] if index >= 0 else arcs[~index][::-1]
        # Consecutive arcs share their end/start position: keep it once.
        ring.extend(points if not ring else points[1:])
    if ring and ring[0] != ring[-1]:
        ring.append(list(ring[0]))
    return ring


Ring = list[list[float]]


def _unwrap(ring: Ring) -> Ring:
    """The ring with each longitude shifted by whole turns to lie within 180 degrees of
    the one before: its edges no longer jump across the map at the antimeridian."""
    out = [list(ring[0])]
    for lon, lat, *_ in ring[1:]:
        previous = out[-1][0]
        out.append([lon + 360.0 * round((previous - lon) / 360.0), lat])
    return out


def _clip(ring: Ring, lon: float, keep_east: bool) -> Ring:
    """Sutherland-Hodgman: the part of a closed ring east (or west) of a meridian.

    A concave ring cut into several parts stays one ring whose parts are joined by
    edges along the meridian; they enclose no area, so the fill is unchanged.
    """
    def inside(p):
        return p[0] >= lon if keep_east else p[0] <= lon

    out: Ring = []
    for a, b in zip(ring, ring[1:]):
        if inside(a) != inside(b):
            t = (lon - a[0]) / (b[0] - a[0])
            out.append([lon, a[1] + t * (b[1] - a[1])])
        if inside(b):
            out.append(list(b))
    if out and out[0] != out[-1]:
        out.append(list(out[0]))
    return out


def _signed_area(ring: Ring) -> float:
    """Shoelace area (square degrees); positive for a counter-clockwise ring."""
    return 0.5 * sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:]))


def _oriented(ring: Ring, counter_clockwise: bool) -> Ring:
    return ring if (_signed_area(ring) > 0) == counter_clockwise else ring[::-1]


def _flat_polygons(rings: list[Ring]) -> list[list[Ring]]:
    """A polygon of the sphere as polygons of the plane within [-180, 180] degrees.

    Parameters
    ----------
    rings : list of rings
        The exterior ring, then its holes; closed lists of [longitude, latitude].

    Returns
    -------
    list of polygons
        Each an exterior ring (counter-clockwise, as RFC 7946 asks) then the holes
        inside it (clockwise). One polygon, unless the exterior crossed the antimeridian.
    """
    exterior = _unwrap(rings[0])
    turns = round((exterior[-1][0] - exterior[0][0]) / 360.0)
    if turns:
        # The ring goes round a pole (the one on its side of the equator): close it by
        # going along the pole, as Natural Earth's flat files do for Antarctica.
        pole = math.copysign(90.0, sum(p[1] for p in exterior) / len(exterior))
        exterior += [[exterior[-1][0], pole], [exterior[0][0], pole], list(exterior[0])]
    west, east = min(p[0] for p in exterior), max(p[0] for p in exterior)
    middle = (west + east) / 2
    holes = []
    for hole in map(_unwrap, rings[1:]):
        # The copy of the hole among the exterior's unwrapped longitudes.
        shift = 360.0 * round((middle - hole[0][0]) / 360.0)
        holes.append([[lon + shift, lat] for lon, lat in hole])
    polygons = []
    # Each whole-turn copy of the rings that reaches into [-180, 180], clipped to it.
    for k in range(math.floor((west + 180.0) / 360.0), math.ceil((east - 180.0) / 360.0) + 1):
        shifted = [[[lon - 360.0 * k, lat] for lon, lat in ring] for ring in (exterior, *holes)]
        pieces = [_clip(_clip(ring, -180.0, True), 180.0, False) for ring in shifted]
        if len(pieces[0]) < 4 or abs(_signed_area(pieces[0])) == 0:
            continue
        polygons.append([_oriented(pieces[0], True),
                         *(_oriented(piece, False) for piece in pieces[1:] if len(piece) >= 4 and _signed_area(piece))])
    return polygons


def _geometry(geometry: dict, arcs: list[list[list[float]]]) -> dict | None:
    kind = geometry.get("type")
    if kind == "Polygon":
        polygons = [geometry["arcs"]]
    elif kind == "MultiPolygon":
        polygons = geometry["arcs"]
    else:
        return None  # the land file holds polygons only; other kinds are not needed here
    flat = [piece for polygon in polygons for piece in _flat_polygons([_ring(r, arcs) for r in polygon])]
    if kind == "Polygon" and len(flat) == 1:
        return {"type": "Polygon", "coordinates": flat[0]}
    return {"type": "MultiPolygon", "coordinates": flat}


def topojson_to_geojson(topology: dict, object_name: str) -> dict[str, Any]:
    """One object of a TopoJSON topology as a GeoJSON ``FeatureCollection``.

    Parameters
    ----------
    topology : dict
        A parsed TopoJSON ``Topology``.
    object_name : str
        A key of ``topology["objects"]``.

    Returns
    -------
    dict
        A FeatureCollection whose coordinates are [longitude, latitude] in degrees.
    """
    objects = topology.get("objects", {})
    if object_name not in objects:
        raise ValueError(f"Unknown TopoJSON object {object_name!r}; valid names are {sorted(objects)}.")
    arcs = _decode_arcs(topology)
    obj = objects[object_name]
    members = obj["geometries"] if obj.get("type") == "GeometryCollection" else [obj]
    features = []
    for member in members:
        geometry = _geometry(member, arcs)
        if geometry is not None:
            features.append({"type": "Feature", "properties": dict(member.get("properties", {})), "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


@functools.lru_cache(maxsize=1)
def _land() -> str:
    # Cached as text, so every caller gets its own fresh dict (widgets may keep it).
    with open(LAND_FILE, encoding="utf-8") as f:
        return json.dumps(topojson_to_geojson(json.load(f), "land"))


def land_geojson() -> dict[str, Any]:
    """Natural Earth 1:110m land polygons as a GeoJSON FeatureCollection (degrees)."""
    return json.loads(_land())
