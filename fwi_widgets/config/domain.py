"""Domains: where the simulations live and how geographic positions map onto the mesh.

Two-dimensional: :class:`MapViewDomain` (map view) and :class:`BoxDomain` (a vertical
box); three-dimensional: :class:`SphericalChunkDomain` (a chunk of the spherical Earth).
Every domain says how many dimensions it has (``dimensions``, the length of
``axis_names``), where an event or station goes in its simulations (``position``) and
whether that lies inside it (``locate``, which the project asks before anything is written).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.earth import EARTH_RADIUS
from engine.geographic import geocentric_to_geographic_latitude, geographic_to_geocentric_latitude

from ._base import Configuration, integer, number, positive, register
from .events import Event, Station

__all__ = ["MapViewDomain", "BoxDomain", "SphericalChunkDomain", "EARTH_RADIUS_M"]

EARTH_RADIUS_M = 6_371_000.0


class _Domain(Configuration):
    """What every domain answers: its dimension, and where an item goes (or that it does not fit)."""

    axis_names = ()  # one name per axis of the domain's simulations (a class attribute, not a field)

    @property
    def dimensions(self) -> int:
        """2 or 3: the number of axes of the domain's simulations (``len(axis_names)``)."""
        return len(self.axis_names)

    def locate(self, item) -> tuple[float, ...]:
        """:meth:`position` of an event or station, or a ValueError naming it if it lies outside."""
        where = self.position(item)
        if not self.contains(*where):
            shown = ", ".join(f"{v:.0f}" for v in where)
            raise ValueError(
                f"{getattr(item, 'name', item)!r} at ({shown}) m lies outside the project's domain {self.extent}."
            )
        return where

    def map_longitude(self, longitude):
        """The longitude (degrees) at which a map draws an item next to :meth:`outline`."""
        return longitude


@register
@dataclass(frozen=True)
class MapViewDomain(_Domain):
    """A horizontal 2D domain around a geographic centre (map view, for membrane waves).

    Positions are projected with the azimuthal equidistant projection on a sphere of
    radius 6371 km centred on (``center_latitude``, ``center_longitude``): x points
    east, y north, distances from the centre are exact great-circle distances.
    The rectangle spans ``width_in_meters`` (x) by ``height_in_meters`` (y), centred.
    """

    center_latitude: float
    center_longitude: float
    width_in_meters: float
    height_in_meters: float

    axis_names = ("x", "y")

    def __post_init__(self):
        lat = number("center_latitude", self.center_latitude)
        if not -90 < lat < 90:
            raise ValueError(f"The 'center_latitude' parameter must be in (-90, 90), but {self.center_latitude!r} was given.")
        number("center_longitude", self.center_longitude, minimum=-180.0, maximum=360.0)
        # The projection is one-to-one within pi R of the centre; a side of at most pi R
        # keeps every corner (half a diagonal, <= pi R / sqrt(2)) well inside that.
        for name in ("width_in_meters", "height_in_meters"):
            if positive(name, getattr(self, name)) > np.pi * EARTH_RADIUS_M:
                raise ValueError(
                    f"The '{name}' parameter must be at most {np.pi * EARTH_RADIUS_M:.0f} m (half the Earth's "
                    f"circumference, where the map projection stops being one-to-one), but {getattr(self, name)!r} was given."
                )

    @property
    def extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        w, h = self.width_in_meters / 2, self.height_in_meters / 2
        return (-w, w), (-h, h)

    def to_xy(self, latitude, longitude) -> tuple[np.ndarray, np.ndarray]:
        """Project geographic degrees to (x east, y north) metres."""
        lat0, lon0 = np.radians(self.center_latitude), np.radians(self.center_longitude)
        lat, lon = np.radians(np.asarray(latitude, float)), np.radians(np.asarray(longitude, float))
        cos_c = np.sin(lat0) * np.sin(lat) + np.cos(lat0) * np.cos(lat) * np.cos(lon - lon0)
        c = np.arccos(np.clip(cos_c, -1.0, 1.0))
        k = np.where(c > 1e-12, c / np.sin(np.where(c > 1e-12, c, 1.0)), 1.0)
        x = EARTH_RADIUS_M * k * np.cos(lat) * np.sin(lon - lon0)
        y = EARTH_RADIUS_M * k * (np.cos(lat0) * np.sin(lat) - np.sin(lat0) * np.cos(lat) * np.cos(lon - lon0))
        return x, y

    def to_latlon(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`to_xy` (degrees)."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        lat0, lon0 = np.radians(self.center_latitude), np.radians(self.center_longitude)
        rho = np.hypot(x, y)
        c = rho / EARTH_RADIUS_M
        safe = np.where(rho > 0, rho, 1.0)
        lat = np.arcsin(np.cos(c) * np.sin(lat0) + np.where(rho > 0, y * np.sin(c) * np.cos(lat0) / safe, 0.0))
        lon = lon0 + np.arctan2(x * np.sin(c), rho * np.cos(lat0) * np.cos(c) - y * np.sin(lat0) * np.sin(c))
        return np.degrees(lat), (np.degrees(lon) + 180.0) % 360.0 - 180.0

    def outline(self, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
        """(latitudes, longitudes) of the domain's boundary, for maps."""
        (x0, x1), (y0, y1) = self.extent
        t = np.linspace(0, 1, n)
        xs = np.concatenate([x0 + (x1 - x0) * t, np.full(n, x1), x1 - (x1 - x0) * t, np.full(n, x0)])
        ys = np.concatenate([np.full(n, y0), y0 + (y1 - y0) * t, np.full(n, y1), y1 - (y1 - y0) * t])
        return self.to_latlon(xs, ys)

    def position(self, item) -> tuple[float, float]:
        """(x, y) of an event or station (anything with latitude/longitude)."""
        if item.latitude is None or item.longitude is None:
            raise ValueError(f"{item.name!r} needs 'latitude' and 'longitude' for a map-view domain.")
        x, y = self.to_xy(item.latitude, item.longitude)
        return float(x), float(y)

    def contains(self, x, y, margin: float = 0.0) -> bool:
        (x0, x1), (y0, y1) = self.extent
        return x0 + margin <= x <= x1 - margin and y0 + margin <= y <= y1 - margin


@register
@dataclass(frozen=True)
class BoxDomain(_Domain):
    """A vertical 2D box (x horizontal, z up, free surface at ``z_max``), metres."""

    x_min: float
    x_max: float
    z_min: float
    z_max: float = 0.0

    axis_names = ("x", "z")

    def __post_init__(self):
        for name in ("x_min", "x_max", "z_min", "z_max"):
            number(name, getattr(self, name))
        if not (float(self.x_max) > float(self.x_min) and float(self.z_max) > float(self.z_min)):
            raise ValueError(
                f"The box must have x_min < x_max and z_min < z_max, but x=({self.x_min}, {self.x_max}), "
                f"z=({self.z_min}, {self.z_max}) was given."
            )

    @property
    def extent(self):
        return (float(self.x_min), float(self.x_max)), (float(self.z_min), float(self.z_max))

    def position(self, item) -> tuple[float, float]:
        if item.position is None:
            raise ValueError(f"{item.name!r} has no 'position' (x, z) in metres, which a box domain needs.")
        return float(item.position[0]), float(item.position[1])

    def contains(self, x, z, margin: float = 0.0) -> bool:
        (x0, x1), (z0, z1) = self.extent
        return x0 + margin <= x <= x1 - margin and z0 + margin <= z <= z1


@register
@dataclass(frozen=True)
class SphericalChunkDomain(_Domain):
    """A chunk of the spherical Earth (3D), as ``sn.domain.dim3.SphericalChunkDomain`` in Salvus.

    The chunk is the one :func:`engine.mesh.spherical_chunk` meshes: ``lat_extent`` and
    ``lon_extent`` are its angular widths along the two great circles through its
    centre (north-south and east-west), and its four sides are great circles (planes
    through the Earth's centre; SPECFEM3D_GLOBE's one-chunk mesh), not lines of constant
    latitude or longitude. On a map a chunk north of the equator has bowed northern and
    southern edges and its corners lie south of ``lat_center +- lat_extent / 2``. How
    deep it reaches is the simulation's ``max_depth_in_meters``, not the domain's.

    Parameters
    ----------
    lat_center : float
        Latitude of the centre, degrees in [-90, 90]: a *geographic* (geodetic) latitude,
        like the events' and stations' (QuakeML, StationXML) and a web map's.
    lat_extent : float
        Angular width north-south, degrees, 0 < width <= 90.
    lon_center : float
        Longitude of the centre, degrees east in [-180, 360].
    lon_extent : float
        Angular width east-west, degrees, 0 < width <= 90.
    radius_in_meter : float
        Radius of the sphere, m (default 6371 km, the engine's Earth models' radius).

    Notes
    -----
    Frames. Everything this class takes from or gives to a user or a map (``lat_center``,
    :meth:`contains`, :meth:`outline`, :attr:`extent`) is in geographic latitude and
    longitude, degrees. The engine's sphere has *geocentric* latitudes: the centre, and
    every event and station (:meth:`position`), is converted with
    :func:`engine.geographic.geographic_to_geocentric_latitude` (as SPECFEM3D_GLOBE does;
    at most 0.19 degrees of difference, at 45 degrees). The chunk is defined on that
    sphere around the geocentric centre, so the outline and ``contains`` are exactly
    where the mesh ends, and an item inside is inside the mesh.

    Examples
    --------
    The domain of the continental tutorial (Europe):

    >>> d = SphericalChunkDomain(lat_center=50.0, lat_extent=45.0, lon_center=5.0, lon_extent=60.0)
    >>> d.contains(41.9, 12.5), d.contains(35.7, 139.7)  # Rome, Tokyo
    (True, False)
    >>> round(d.mesh_arguments()["lat_center"], 3)  # geocentric
    49.811
    """

    lat_center: float
    lat_extent: float
    lon_center: float
    lon_extent: float
    radius_in_meter: float = EARTH_RADIUS_M

    #: Radial axis first, as the tutorial's smoothing lengths ``[0.2, 0.5, 0.5]`` are given.
    axis_names = ("depth", "latitude", "longitude")

    def __post_init__(self):
        number("lat_center", self.lat_center, minimum=-90.0, maximum=90.0)
        number("lon_center", self.lon_center, minimum=-180.0, maximum=360.0)
        for name in ("lat_extent", "lon_extent"):
            if positive(name, getattr(self, name)) > 90.0:
                raise ValueError(
                    f"The '{name}' parameter must be an angular width in degrees, 0 < width <= 90 (the engine's "
                    f"spherical chunk is at most one face of a cubed sphere), but {getattr(self, name)!r} was given."
                )
        positive("radius_in_meter", self.radius_in_meter)

    # --- the geometry of engine.mesh.spherical_chunk ----------------------------------------
    @property
    def _half_widths(self) -> tuple[float, float]:
        """(W_xi / 2, W_eta / 2) in radians: east-west, north-south."""
        return np.radians(float(self.lon_extent)) / 2.0, np.radians(float(self.lat_extent)) / 2.0

    @property
    def _rotation(self) -> np.ndarray:
        """(3, 3) columns east, north, up at the geocentric centre (engine.mesh.spherical_chunk's ``Q``)."""
        la = np.radians(float(geographic_to_geocentric_latitude(self.lat_center)))
        lo = np.radians(float(self.lon_center))
        up = [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
        east = [-np.sin(lo), np.cos(lo), 0.0]
        north = [-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)]
        return np.array([east, north, up]).T

    def _local(self, latitude, longitude) -> np.ndarray:
        """(..., 3) unit vectors of geographic positions in the centre's (east, north, up) frame."""
        lat = np.radians(geographic_to_geocentric_latitude(latitude))
        lon = np.radians(np.asarray(longitude, dtype=float))
        lat, lon = np.broadcast_arrays(lat, lon)
        u = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
        return u @ self._rotation

    def to_reference(self, latitude, longitude) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's reference coordinates (xi east-west, eta north-south) of geographic positions.

        As ``engine.mesh.ChunkGeometry.cartesian_to_reference``: ``xi = atan(p_east / p_up) /
        (lon_extent / 2)``, ``eta = atan(p_north / p_up) / (lat_extent / 2)``, with ``p`` the
        position in the (east, north, up) frame at the centre; ``|xi|, |eta| <= 1`` inside the
        chunk, NaN for points on the far side of the Earth. Latitudes are geographic (degrees).
        """
        p = self._local(latitude, longitude)
        a, b = self._half_widths
        with np.errstate(divide="ignore", invalid="ignore"):
            front = p[..., 2] > 0.0
            xi = np.where(front, np.arctan(p[..., 0] / p[..., 2]) / a, np.nan)
            eta = np.where(front, np.arctan(p[..., 1] / p[..., 2]) / b, np.nan)
        return xi, eta

    def from_reference(self, xi, eta) -> tuple[np.ndarray, np.ndarray]:
        """(geographic latitude, longitude) in degrees at reference (xi, eta): the inverse of :meth:`to_reference`.

        Longitudes are given near the centre (:meth:`map_longitude`).
        """
        a, b = self._half_widths
        x, y = np.broadcast_arrays(np.tan(a * np.asarray(xi, dtype=float)), np.tan(b * np.asarray(eta, dtype=float)))
        d = np.stack([x, y, np.ones_like(x)], axis=-1) @ self._rotation.T
        lat = np.degrees(np.arctan2(d[..., 2], np.hypot(d[..., 0], d[..., 1])))
        lon = np.degrees(np.arctan2(d[..., 1], d[..., 0]))
        return geocentric_to_geographic_latitude(lat), self.map_longitude(lon)

    def _pole(self) -> float | None:
        """90 or -90 when that pole lies inside the chunk, else None."""
        for pole in (90.0, -90.0):
            if self.contains(pole, 0.0):
                return pole
        return None

    # --- for maps and checks -----------------------------------------------------------------
    def map_longitude(self, longitude):
        """``longitude`` (degrees) shifted by a multiple of 360 to within 180 degrees of the centre.

        The centre is taken in [-180, 180), where catalogues' longitudes and the map's land
        lie, so a map draws events and stations next to the :meth:`outline`. Works on arrays.
        """
        c = (float(self.lon_center) + 180.0) % 360.0 - 180.0
        lon = c + (np.asarray(longitude, dtype=float) - c + 180.0) % 360.0 - 180.0
        return float(lon) if lon.ndim == 0 else lon

    def outline(self, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
        """(latitudes, longitudes) in degrees of the chunk's boundary at the surface, for maps.

        ``4 n`` points (geographic latitudes, longitudes near the centre, see
        :meth:`map_longitude`): the southern, eastern, northern and western side in turn,
        counter-clockwise seen from above, each side ``n`` points evenly spaced in the
        reference coordinate along it, as the mesh's elements are; the sides are great
        circles, drawn as polylines through those points. The first point (the south-west
        corner) is repeated at the end. Where a pole lies inside the chunk the ring goes
        round it, with longitudes running on through 360 degrees, and two points at the
        pole close it along the pole (so a map fills the cap).
        """
        n = integer("n", n, minimum=2)
        t = np.linspace(-1.0, 1.0, n)
        one = np.ones(n)
        xi = np.concatenate([t, one, -t, -one])
        eta = np.concatenate([-one, t, one, -t])
        lat, lon = self.from_reference(xi, eta)
        pole = self._pole()
        if pole is not None:
            lon = np.degrees(np.unwrap(np.radians(lon)))
            lat, lon = np.append(lat, [pole, pole]), np.append(lon, [lon[-1], lon[0]])
        return lat, lon

    @property
    def extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """((latitude min, max), (longitude min, max)) in degrees: the bounding box of the chunk's surface.

        Geographic latitudes, longitudes near the centre (:meth:`map_longitude`), taken from
        a dense :meth:`outline` (to about 1e-4 degrees); with a pole inside, the latitudes
        reach it and the longitudes span 360 degrees.
        """
        lat, lon = self.outline(n=721)
        pole = self._pole()
        if pole is not None:
            c = self.map_longitude(self.lon_center)
            lon = np.array([c - 180.0, c + 180.0])
        return (float(lat.min()), float(lat.max())), (float(lon.min()), float(lon.max()))

    def contains(self, latitude, longitude, margin: float = 0.0):
        """Whether geographic positions lie in the chunk, at least ``margin`` inside each side.

        Parameters
        ----------
        latitude, longitude : float or array_like
            Geographic latitude and longitude, degrees (arrays broadcast).
        margin : float
            Least angular distance from each side's great circle, degrees on the sphere
            (>= 0; 0: the side itself counts as inside, as :meth:`outline` draws it).

        Returns
        -------
        bool, or an array of bool for array input.
        """
        m = number("margin", margin, minimum=0.0, maximum=90.0, exclusive_maximum=True)
        p = self._local(latitude, longitude)
        a, b = self._half_widths
        s = np.sin(np.radians(m))
        # The sine of the angular distance inside the sides xi = +-1 and eta = +-1 (planes
        # through the centre with normals (+-cos a, 0, -sin a), (0, +-cos b, -sin b)).
        # With widths <= 90 degrees, being inside all four puts p in front (p_up > 0).
        inside = ((p[..., 2] * np.sin(a) - np.abs(p[..., 0]) * np.cos(a) >= s)
                  & (p[..., 2] * np.sin(b) - np.abs(p[..., 1]) * np.cos(b) >= s))
        return bool(inside) if inside.ndim == 0 else inside

    def describe(self) -> str:
        """The chunk in words, with its bounds (for messages)."""
        (la0, la1), (lo0, lo1) = self.extent
        return (f"the spherical chunk centred at latitude {float(self.lat_center):g}, longitude "
                f"{float(self.lon_center):g}, {float(self.lat_extent):g} degrees north-south by "
                f"{float(self.lon_extent):g} degrees east-west (sides along great circles; latitudes "
                f"{la0:.2f} to {la1:.2f}, longitudes {lo0:.2f} to {lo1:.2f})")

    # --- events and stations -------------------------------------------------------------------
    def position(self, item) -> tuple[float, float, float]:
        """Where the engine puts an event or station: (geocentric latitude, longitude, depth).

        The 3D analogue of :meth:`MapViewDomain.position` (the simulation's coordinates):
        the arguments of :class:`engine.Geographic`. Latitude: the item's geographic latitude
        converted to geocentric degrees; longitude as the item gives it, degrees east;
        depth in m below the sphere's surface: an event's ``depth_in_m``, and 0 for a
        station (the mesh has no topography, so a station sits on the free surface
        whatever its elevation, as in SPECFEM3D_GLOBE without topography).
        """
        if not isinstance(item, (Event, Station)):
            raise TypeError(f"The 'item' parameter must be a sn.Event or sn.Station, but {item!r} was given.")
        if item.latitude is None or item.longitude is None:
            raise ValueError(f"{item.name!r} needs 'latitude' and 'longitude' for a spherical-chunk domain.")
        depth = float(item.depth_in_m) if isinstance(item, Event) else 0.0
        return float(geographic_to_geocentric_latitude(item.latitude)), float(item.longitude), depth

    def locate(self, item) -> tuple[float, float, float]:
        """:meth:`position` of an event or station, or a ValueError naming it and the chunk's bounds."""
        where = self.position(item)
        if not self.contains(item.latitude, item.longitude):
            raise ValueError(
                f"{item.name!r} at latitude {float(item.latitude):g}, longitude {float(item.longitude):g} lies outside "
                f"the project's domain, {self.describe()}. Leave it out, or make the chunk larger."
            )
        return where

    def mesh_arguments(self) -> dict[str, float]:
        """The chunk's arguments of :func:`engine.mesh.spherical_chunk` (not the mesh itself).

        Returns
        -------
        dict
            ``lat_center`` (geocentric degrees), ``lon_center``, ``lat_extent``,
            ``lon_extent`` (degrees); the simulation adds ``max_depth_in_meters``, the
            model and the periods.

        Raises
        ------
        ValueError
            ``radius_in_meter`` is not the radius of the engine's Earth models (6371 km).
        """
        if abs(float(self.radius_in_meter) - EARTH_RADIUS) > 1.0:
            raise ValueError(
                f"The 'radius_in_meter' parameter must be {EARTH_RADIUS:.0f} (m) to be meshed: the engine's Earth "
                f"models are spheres of that radius, but {self.radius_in_meter!r} was given."
            )
        return {"lat_center": float(geographic_to_geocentric_latitude(self.lat_center)),
                "lon_center": float(self.lon_center), "lat_extent": float(self.lat_extent),
                "lon_extent": float(self.lon_extent)}
