"""The domain map: land, the domain outline, events and stations (ipyleaflet).

The map is built with ``layers=`` so ipyleaflet adds no tile layer: it works offline
with the shipped Natural Earth land outlines. The domain (a map view or a spherical
chunk) computes its outline and where items sit beside it; the map only draws them.
Stations are coloured by the change of their misfit between the first and the latest
accepted model (blue: it fell, red: it rose); a click on a station selects it for every
view of the project.
"""
from __future__ import annotations

import html
import math

import ipyleaflet as L
import ipywidgets as widgets
import numpy as np

from ..state import InversionState, Selection
from ._basemap import land_geojson

__all__ = ["domain_map", "fit_view", "legend_html", "misfit_change_colour"]

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


#: The map's height (px), the narrowest width it is expected to get (px; it fills the
#: output area: about 700 px in JupyterLab, 1250 px in Voila) and the least distance
#: (px) from the domain outline and every event and station to the map's edge when it opens.
MAP_HEIGHT_PX, MAP_MIN_WIDTH_PX, MAP_PADDING_PX = 460, 640, 40
#: Zoom steps: quarter levels let the first view fit tightly (the land is vector data,
#: so fractional zooms draw sharply).
ZOOM_SNAP = 0.25
_TILE_PX = 256  # a web-mercator tile; the world is _TILE_PX * 2**zoom px wide


def _mercator_y(latitude: np.ndarray) -> np.ndarray:
    """Web-mercator ordinate (radians) of latitudes in degrees."""
    return np.log(np.tan(np.pi / 4 + np.radians(latitude) / 2))


def fit_view(latitudes, longitudes, width_px: float = MAP_MIN_WIDTH_PX, height_px: float = MAP_HEIGHT_PX,
             padding_px: float = MAP_PADDING_PX) -> tuple[tuple[float, float], float]:
    """Centre and zoom of a web-mercator map that shows every point with a margin.

    Parameters
    ----------
    latitudes, longitudes : array_like of float
        The points (degrees); longitudes are used as given (no wrap at 180 degrees).
    width_px, height_px : float
        Size of the map (px).
    padding_px : float
        Least distance of each point from the map's edge (px).

    Returns
    -------
    center : (float, float)
        (latitude, longitude) in degrees: the middle of the points' bounding box in
        map coordinates.
    zoom : float
        The largest multiple of :data:`ZOOM_SNAP` (between 1 and 12) at which the
        points fit.
    """
    x = np.radians(np.asarray(longitudes, dtype=float))
    y = _mercator_y(np.asarray(latitudes, dtype=float))
    if x.size == 0 or x.size != y.size:
        raise ValueError(f"The points must be non-empty and paired, but {y.size} latitudes and {x.size} longitudes "
                         "were given.")
    # Pixels per radian of map coordinates at zoom z: _TILE_PX * 2**z / (2 pi).
    spans = (float(np.ptp(x)), float(np.ptp(y)))
    room = (width_px - 2 * padding_px, height_px - 2 * padding_px)
    scale = min(r / s for r, s in zip(room, spans) if s > 0) if any(s > 0 for s in spans) else np.inf
    zoom = math.log2(scale * 2 * math.pi / _TILE_PX) if np.isfinite(scale) else 12.0
    zoom = float(np.clip(math.floor(zoom / ZOOM_SNAP) * ZOOM_SNAP, 1.0, 12.0))
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    return (math.degrees(math.atan(math.sinh(cy))), math.degrees(cx)), zoom


def domain_map(project, state: InversionState | None = None, selection: Selection | None = None,
               tiles: bool = False) -> L.Map:
    """An ipyleaflet map of the project's domain.

    Parameters
    ----------
    project : fwi_widgets.project.Project
        A project with a map-view or spherical-chunk domain (one with an ``outline``).
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
    if not hasattr(domain, "outline"):
        raise TypeError(
            "The domain map needs a project with a sn.MapViewDomain or a sn.domain.dim3.SphericalChunkDomain, but "
            f"this project has a {type(domain).__name__}."
        )
    selection = selection if selection is not None else Selection()
    target = state if state is not None else selection

    land = L.GeoJSON(data=land_geojson(), name="land",
                     style={"color": "#8c8c8c", "weight": 0.6, "fillColor": "#f2efe9", "fillOpacity": 1.0})
    # The domain computes its outline (for a chunk: its great-circle sides) and the
    # longitudes at which items sit next to it; the map only draws them.
    lats, lons = domain.outline()
    outline = L.Polygon(locations=[(float(a), float(b)) for a, b in zip(lats, lons)], name="domain outline",
                        color="#c0392b", weight=2, fill_color="#c0392b", fill_opacity=0.05)

    markers = {}
    for station in project.events.stations():
        location = (float(station.latitude), float(domain.map_longitude(station.longitude)))
        marker = L.CircleMarker(location=location, name=station.name, fill_color=_NO_DATA, **_STATION_STYLE)
        marker.on_click(_selector(target, station.name))
        markers[station.name] = marker
    stations = L.LayerGroup(layers=tuple(markers.values()), name="stations")

    in_problem = set(state.events) if state is not None else None
    event_markers = []
    for name in project.events.list():
        event = project.events.get(name)
        active = in_problem is None or name in in_problem
        event_markers.append(L.CircleMarker(
            location=(float(event.latitude), float(domain.map_longitude(event.longitude))), name=name, radius=9,
            weight=2, color="#000000", fill_color="#ff9f1c" if active else "#ffffff",
            fill_opacity=0.95 if active else 0.4,
        ))
    events = L.LayerGroup(layers=tuple(event_markers), name="events")

    base = (L.basemap_to_tiles(L.basemaps.OpenStreetMap.Mapnik),) if tiles else ()
    # Open on the whole domain outline and every event and station (the domain's own
    # centre left the northernmost event, Iceland, on the map's edge; the events and
    # stations alone cut the outline's corners off).
    points = [*outline.locations, *(marker.location for marker in (*markers.values(), *event_markers))]
    center, zoom = fit_view([p[0] for p in points], [p[1] for p in points])
    m = L.Map(layers=(*base, land, outline, stations, events), center=center, zoom=zoom, zoom_snap=ZOOM_SNAP,
              zoom_delta=0.5, scroll_wheel_zoom=True,
              layout=widgets.Layout(height=f"{MAP_HEIGHT_PX}px", align_self="stretch"))
    legend = widgets.HTML(legend_html(_LEGEND if state is not None else {"event": _LEGEND["event"]}))
    legend.add_class("map-legend")
    m.add(L.WidgetControl(widget=legend, position="bottomleft"))
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


def legend_html(entries: dict[str, str]) -> str:
    """The map's legend: one row per (label, CSS colour), a round swatch beside its label.

    Not ipyleaflet's LegendControl: its rows are a floated ``<i>`` and a ``<p>`` whose
    margins (from the notebook's stylesheet) put each label below its swatch.
    """
    rows = "".join(
        "<div class='legend-row' style='display:flex; align-items:center; gap:6px; margin:3px 0'>"
        f"<span class='legend-swatch' style='flex:none; width:12px; height:12px; border-radius:50%; "
        f"background:{colour}; border:1px solid #333333'></span>"
        f"<span class='legend-label'>{html.escape(label)}</span></div>"
        for label, colour in entries.items()
    )
    return f"<div style='font-size:12px; line-height:16px; padding:2px 6px'>{rows}</div>"


def _selector(target, name: str):
    def select(**event) -> None:
        target.selected_station = name

    return select
