"""Positions on a spherical Earth: geocentric latitude, longitude and depth.

The engine's spherical meshes live in an Earth-centred Cartesian frame (metres): z through
the north pole, x through latitude 0 / longitude 0 (Greenwich), y through latitude 0 /
longitude 90 E, so (x, y, z) is right-handed. The Earth is a sphere of radius
``engine.earth.EARTH_RADIUS`` (6371 km, PREM's), so latitudes here are *geocentric*.
A catalogue's (geographic, i.e. geodetic) latitude is converted with
:func:`geographic_to_geocentric_latitude`, as SPECFEM3D_GLOBE does; that is the
application's job, not the engine's.

The local frame at a point is (e_r up, e_theta south, e_phi east), theta the colatitude
and phi the longitude, as Global CMT gives moment tensors (Mrr, Mtt, Mpp, Mrt, Mrp, Mtp);
seismograms are recorded in Z = e_r, N = -e_theta, E = e_phi.

>>> import engine
>>> p = engine.Geographic(latitude=0.0, longitude=90.0, depth_in_meters=1000.0)
>>> [round(float(v)) for v in p.to_cartesian()]
[0, 6370000, 0]
>>> round(engine.Geographic.from_cartesian(p.to_cartesian()).longitude, 9)
90.0
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._validate import describe, number
from .earth import EARTH_RADIUS

__all__ = [
    "Geographic",
    "FLATTENING",
    "geographic_to_geocentric_latitude",
    "geocentric_to_geographic_latitude",
    "geographic_to_cartesian",
    "cartesian_to_geographic",
    "local_frame",
]

FLATTENING: float = 1.0 / 299.8
"""Flattening of the reference ellipsoid used for latitude conversion (SPECFEM3D_GLOBE's 1/299.8)."""


def geographic_to_geocentric_latitude(latitude):
    """Geocentric latitude (degrees) of a geographic (geodetic) latitude (degrees).

    ``lat_c = atan((1 - f)^2 tan(lat_g))`` with ``f = 1/299.8``, as SPECFEM3D_GLOBE
    (``lat_2_geocentric_colat_dble``: ``theta = pi/2 - atan((1 - f)^2 tan(lat))``) does
    unless ``ASSUME_PERFECT_SPHERE``. Station and event catalogues (FDSN, Global CMT) give
    geographic latitudes; the engine's :class:`Geographic` wants geocentric ones. The
    difference is at most 0.19 degrees (21 km), at 45 degrees. Written with ``arctan2`` so
    that the poles map to themselves. Works on arrays.

    >>> round(float(geographic_to_geocentric_latitude(45.0)), 4)
    44.8086
    >>> float(geographic_to_geocentric_latitude(90.0)), float(geographic_to_geocentric_latitude(0.0))
    (90.0, 0.0)
    """
    lat = np.radians(np.asarray(latitude, dtype=float))
    return np.degrees(np.arctan2((1.0 - FLATTENING) ** 2 * np.sin(lat), np.cos(lat)))


def geocentric_to_geographic_latitude(latitude):
    """The inverse of :func:`geographic_to_geocentric_latitude` (degrees in, degrees out)."""
    lat = np.radians(np.asarray(latitude, dtype=float))
    return np.degrees(np.arctan2(np.sin(lat), (1.0 - FLATTENING) ** 2 * np.cos(lat)))


def geographic_to_cartesian(latitude, longitude, depth_in_meters=0.0) -> np.ndarray:
    """Earth-centred Cartesian coordinates (..., 3) in m of geocentric positions (arrays broadcast).

    ``r = EARTH_RADIUS - depth``, ``(x, y, z) = r (cos lat cos lon, cos lat sin lon, sin lat)``.
    """
    lat = np.radians(np.asarray(latitude, dtype=float))
    lon = np.radians(np.asarray(longitude, dtype=float))
    r = EARTH_RADIUS - np.asarray(depth_in_meters, dtype=float)
    return np.stack(np.broadcast_arrays(r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)), axis=-1)


def cartesian_to_geographic(xyz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(latitude, longitude, depth_in_meters) of Earth-centred points (..., 3) in m.

    Longitudes in (-180, 180]; at the poles the longitude is 0 (any would do).
    """
    p = np.asarray(xyz, dtype=float)
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    r = np.sqrt(x * x + y * y + z * z)
    lat = np.degrees(np.arctan2(z, np.hypot(x, y)))
    lon = np.degrees(np.arctan2(y, x))
    return lat, lon, EARTH_RADIUS - r


def local_frame(latitude, longitude) -> np.ndarray:
    """(..., 3, 3) matrices whose columns are e_r, e_theta (south), e_phi (east).

    This is the ``Q`` of NUMERICS.md: ``M_cart = Q M_sph Q^T`` for a tensor given in
    (r, theta, phi) components, and ``u_sph = Q^T u_cart`` for a vector. Defined at the
    poles too (from the given longitude).
    """
    lat = np.radians(np.asarray(latitude, dtype=float))
    lon = np.radians(np.asarray(longitude, dtype=float))
    cl, sl, co, so = np.cos(lat), np.sin(lat), np.cos(lon), np.sin(lon)
    e_r = np.stack([cl * co, cl * so, sl], axis=-1)
    e_theta = np.stack([sl * co, sl * so, -cl], axis=-1)
    e_phi = np.stack([-so, co, np.zeros_like(co)], axis=-1)
    return np.stack([e_r, e_theta, e_phi], axis=-1)


@dataclass(frozen=True)
class Geographic:
    """A position on the spherical Earth: geocentric latitude and longitude, and depth.

    Parameters
    ----------
    latitude : float
        Geocentric latitude in degrees, -90..90 (convert a catalogue's geographic
        latitude with :func:`geographic_to_geocentric_latitude`).
    longitude : float
        Longitude in degrees, east positive (any finite value; kept as given).
    depth_in_meters : float
        Depth below the surface of the sphere of radius ``EARTH_RADIUS``, in m (0 at
        the surface, negative above it). Must leave a positive radius.
    """

    latitude: float
    longitude: float
    depth_in_meters: float = 0.0

    def __post_init__(self):
        lat = number("latitude", self.latitude)
        if not -90.0 <= lat <= 90.0:
            raise ValueError(f"The 'latitude' parameter must lie between -90 and 90 degrees, but {describe(self.latitude)} was given.")
        lon = number("longitude", self.longitude)
        depth = number("depth_in_meters", self.depth_in_meters)
        if not depth < EARTH_RADIUS:
            raise ValueError(
                f"The 'depth_in_meters' parameter must be less than the Earth's radius, {EARTH_RADIUS:.0f} m "
                f"(depths are in m, not km), but {describe(self.depth_in_meters)} was given."
            )
        object.__setattr__(self, "latitude", lat)
        object.__setattr__(self, "longitude", lon)
        object.__setattr__(self, "depth_in_meters", depth)

    @property
    def radius(self) -> float:
        """Distance from the Earth's centre in m."""
        return EARTH_RADIUS - self.depth_in_meters

    @property
    def colatitude(self) -> float:
        """90 - latitude, in degrees (the theta of the (r, theta, phi) frame)."""
        return 90.0 - self.latitude

    def to_cartesian(self) -> np.ndarray:
        """(3,) Earth-centred Cartesian position in m (z north pole, x lon 0)."""
        return geographic_to_cartesian(self.latitude, self.longitude, self.depth_in_meters)

    @classmethod
    def from_cartesian(cls, xyz) -> "Geographic":
        """The position of an Earth-centred Cartesian point (3,) in m."""
        p = np.asarray(xyz, dtype=float)
        if p.shape != (3,) or not np.all(np.isfinite(p)):
            raise ValueError(f"The 'xyz' parameter must be 3 finite Cartesian coordinates in m, but {describe(xyz)} was given.")
        lat, lon, depth = cartesian_to_geographic(p)
        return cls(float(lat), float(lon), float(depth))

    def local_frame(self) -> np.ndarray:
        """(3, 3) matrix Q with columns e_r, e_theta (south), e_phi (east), see :func:`local_frame`."""
        return local_frame(self.latitude, self.longitude)

    def zne(self) -> np.ndarray:
        """(3, 3) matrix whose rows are the Z (= e_r), N (= -e_theta), E (= e_phi) unit vectors.

        ``zne() @ u`` turns a Cartesian vector into its (Z, N, E) components.
        """
        q = self.local_frame()
        return np.stack([q[:, 0], -q[:, 1], q[:, 2]])
