"""The domain map: land, the domain outline, events and stations (ipyleaflet).

The map is built with ``layers=`` so ipyleaflet adds no tile layer: it works offline
with the shipped Natural Earth land outlines. Stations are coloured by the change of
their misfit between the first and the latest accepted model (blue: it fell, red: it
rose); a click on a station selects it for every view of the project.
"""
from __future__ import annotations

import math

import ipyleaflet as L
import numpy as np

from ..state import InversionState, Selection
from ._basemap import land_geojson

__all__ = ["domain_map", "misfit_change_colour"]

_LOW, _MID, _HIGH = (0x21, 0x66, 0xAC), (0xF7, 0xF7, 0xF7), (0xB2, 0x18, 0x2B)
_NO_DATA = "#8c8c8c"
_STATION_STYLE = {"radius": 6, "weight": 1, "color": "#333333", "fill_opacity": 0.9}
_SELECTED_STYLE = {"radius": 9, "weight": 3, "color": "#000000"}
_LEGEND = {"misfit halved or better": "#2166ac", "unchanged": "#f7f7f7", "misfit doubled or worse": "#b2182b",
           "no misfit yet": _NO_DATA, "event": "#ff9f1c"}


def misfit_change_colour(first: float | None, latest: float | None) -> str:
    """A CSS colour for a station whose misfit went from ``first`` to ``latest``.

    The change is measured as log2(latest / first), clipped to [-1, 1]: a halved misfit
    is full blue, a doubled one full red, no change white; no (or zero) misfit is grey.
    """
    if first is None or latest is None or not first > 0 or not latest >= 0:
        return _NO_DATA
    t = -1.0 if latest == 0 else max(-1.0, min(1.0, math.log2(latest / first)))
    end = _LOW if t < 0 else _HIGH
    rgb = [round(m + abs(t) * (e - m)) for m, e in zip(_MID, end)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _zoom(width_in_meters: float) -> int:
    # A web-mercator tile spans 40,075 km / 2**zoom at the equator; fit the domain
    # into about three tiles (a ~770 px wide map).
    return int(np.clip(math.floor(math.log2(3 * 40_075_000.0 / width_in_meters)), 1, 12))


def domain_map(project, state: InversionState | None = None, selection: Selection | None = None,
               tiles: bool = False) -> L.Map:
    """An ipyleaflet map of the project's domain.

    Parameters
    ----------
    project : fwi_widgets.project.Project
        A project with a map-view domain.
    state : InversionState or None
        When given, stations are coloured by its ``station_misfits`` (kept up to date),
        its problem's events are highlighted, and clicks set its ``selected_station``.
    selection : Selection or None
        Where clicks go without a state (and what is highlighted).
    tiles : bool
        Put OpenStreetMap tiles under the land layer (needs the internet in the browser).

    Returns
    -------
    ipyleaflet.Map
        Layers named "land", "domain outline", "stations" (one CircleMarker per station,
        named after it) and "events".
    """
    domain = project.domain
    if not hasattr(domain, "to_latlon"):
        raise TypeError(
            f"The domain map needs a project with a sn.MapViewDomain, but this project has a {type(domain).__name__}."
        )
    selection = selection if selection is not None else Selection()
    target = state if state is not None else selection

    land = L.GeoJSON(data=land_geojson(), name="land",
                     style={"color": "#8c8c8c", "weight": 0.6, "fillColor": "#f2efe9", "fillOpacity": 1.0})
    lats, lons = domain.outline()
    outline = L.Polygon(locations=[(float(a), float(b)) for a, b in zip(lats, lons)], name="domain outline",
                        color="#c0392b", weight=2, fill_color="#c0392b", fill_opacity=0.05)

    markers = {}
    for station in project.events.stations():
        marker = L.CircleMarker(location=(float(station.latitude), float(station.longitude)), name=station.name,
                                fill_color=_NO_DATA, **_STATION_STYLE)
        marker.on_click(_selector(target, station.name))
        markers[station.name] = marker
    stations = L.LayerGroup(layers=tuple(markers.values()), name="stations")

    in_problem = set(state.events) if state is not None else None
    event_markers = []
    for name in project.events.list():
        event = project.events.get(name)
        active = in_problem is None or name in in_problem
        event_markers.append(L.CircleMarker(
            location=(float(event.latitude), float(event.longitude)), name=name, radius=9, weight=2,
            color="#000000", fill_color="#ff9f1c" if active else "#ffffff", fill_opacity=0.95 if active else 0.4,
        ))
    events = L.LayerGroup(layers=tuple(event_markers), name="events")

    base = (L.basemap_to_tiles(L.basemaps.OpenStreetMap.Mapnik),) if tiles else ()
    m = L.Map(layers=(*base, land, outline, stations, events),
              center=(float(domain.center_latitude), float(domain.center_longitude)),
              zoom=_zoom(float(domain.width_in_meters)), scroll_wheel_zoom=True)
    m.add(L.LegendControl(_LEGEND if state is not None else {"event": "#ff9f1c"}, title="", position="bottomleft"))
    m.add_class("domain-map")

    def colour(change=None) -> None:
        values = state.station_misfits
        for name, marker in markers.items():
            marker.fill_color = misfit_change_colour(*values.get(name, (None, None)))

    def highlight(change=None) -> None:
        chosen = target.selected_station
        for name, marker in markers.items():
            style = _SELECTED_STYLE if name == chosen else _STATION_STYLE
            marker.radius, marker.weight, marker.color = style["radius"], style["weight"], style["color"]

    if state is not None:
        state.observe(colour, names="station_misfits")
        colour()
    target.observe(highlight, names="selected_station")
    highlight()
    return m


def _selector(target, name: str):
    def select(**event) -> None:
        target.selected_station = name

    return select
