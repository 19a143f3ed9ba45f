"""The offline base map: Natural Earth land outlines shipped with the package.

``data/land-110m.json`` is the 1:110m land TopoJSON of the npm package
``world-atlas@2.0.2`` (Natural Earth 4.1.0, public domain; package licence ISC, see
``data/LICENSE-world-atlas.txt``). Leaflet draws GeoJSON, so the topology is decoded
here once per process (about 55 kB; a few milliseconds).

TopoJSON in brief: every polygon ring is a list of *arc* indices into a shared table
of polylines (index ``~i``, i.e. ``-i - 1``, means arc ``i`` reversed). With a
``transform``, arcs are quantized: the first position of an arc is absolute, later ones
are deltas, and ``(x, y) * scale + translate`` gives longitude and latitude in degrees.
"""
from __future__ import annotations

import functools
import json
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


def _geometry(geometry: dict, arcs: list[list[list[float]]]) -> dict | None:
    kind = geometry.get("type")
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": [_ring(r, arcs) for r in geometry["arcs"]]}
    if kind == "MultiPolygon":
        return {"type": "MultiPolygon",
                "coordinates": [[_ring(r, arcs) for r in polygon] for polygon in geometry["arcs"]]}
    return None  # the land file holds polygons only; other kinds are not needed here


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
