"""Domains: where the simulations live and how geographic positions map onto the mesh."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._base import Configuration, number, positive, register

__all__ = ["MapViewDomain", "BoxDomain", "EARTH_RADIUS_M"]

EARTH_RADIUS_M = 6_371_000.0


@register
@dataclass(frozen=True)
class MapViewDomain(Configuration):
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
class BoxDomain(Configuration):
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
