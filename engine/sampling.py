"""One sampler for per-point fields (models, gradients) at arbitrary points, for plots.

A field lives on the GLL points of each element (``mesh.point_shape``), or on the
global points (``(mesh.n_global,)``). :class:`Sampler` locates a set of points once and
then evaluates any number of fields there by exact Lagrange interpolation in the element
that holds each point (the field's own polynomial, so a sampled model keeps its
discontinuities at element boundaries: a point on a boundary takes the value of one of
the two elements). Points outside the mesh give NaN.

In a spherical chunk the location is analytic (the chunk's mapping is inverted exactly:
gnomonic laterally, linear in radius within each shell of elements), so a depth slice of
the continental mesh costs milliseconds; elsewhere it is a KD-tree and Newton search
(``Mesh.locate_many``).

Plot grids, with coordinates named as the model's grids are (``GEOGRAPHIC_DIMS``:
depth in m below the 6371 km sphere, geocentric latitude and longitude in degrees):

* :func:`depth_slice`: (latitude, longitude) at one depth;
* :func:`great_circle_section`: (depth, distance) along the great circle between two
  geographic points, with the latitude and longitude of each column;
* :func:`chunk_grid`: (depth, latitude, longitude) covering a chunk (``Model.to_xarray``).
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from .geographic import EARTH_RADIUS, cartesian_to_geographic, geographic_to_cartesian
from .mesh import Mesh
from .mesh.core import lagrange_basis

__all__ = ["Sampler", "sample", "depth_slice", "great_circle_section", "chunk_grid", "chunk_bounds"]


class Sampler:
    """Interpolation of per-point fields of one mesh at fixed points (n, ndim) in the mesh frame.

    >>> import engine, numpy as np
    >>> m = engine.mesh.box(x=(0.0, 2.0), y=(0.0, 2.0), z=(0.0, 2.0), elements=(2, 2, 2), order=3)
    >>> s = Sampler(m, [[0.3, 1.7, 0.9], [5.0, 0.0, 0.0]])
    >>> np.round(s(m.coordinates[..., 0] ** 3), 12)   # x^3 is exact at order 3; outside: NaN
    array([0.027,   nan])
    """

    def __init__(self, mesh: Mesh, points):
        if not isinstance(mesh, Mesh):
            raise TypeError(f"The 'mesh' parameter must be an engine mesh, but {type(mesh).__name__} was given.")
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] != mesh.ndim:
            raise ValueError(f"The 'points' parameter must be shaped (n, {mesh.ndim}), but an array shaped {pts.shape} was given.")
        self.mesh = mesh
        self.n_points = len(pts)
        if getattr(mesh, "chunk", None) is not None:
            elements, xi = _locate_in_chunk(mesh, pts)
            vals = [lagrange_basis(mesh.gll.nodes, xi[:, a]) for a in range(3)]
            weights = np.einsum("pk,pj,pi->pkji", vals[2], vals[1], vals[0])
            weights[elements < 0] = 0.0
        else:
            elements, weights = mesh.interpolation_matrix(pts)
        self.elements = elements
        self.weights = weights
        self.inside = elements >= 0

    def __call__(self, field) -> np.ndarray:
        """(n,) float64 values of ``field`` (per-point or global) at the points; NaN outside."""
        mesh = self.mesh
        f = np.asarray(field)
        if f.shape == (mesh.n_global,):
            f = f[mesh.ibool]
        elif f.shape != tuple(mesh.point_shape):
            raise ValueError(f"The field must be shaped {mesh.point_shape} (per element point) or "
                             f"({mesh.n_global},) (global), but an array shaped {f.shape} was given.")
        picked = f[np.maximum(self.elements, 0)].astype(float)
        values = np.einsum("pn,pn->p", self.weights.reshape(self.n_points, -1), picked.reshape(self.n_points, -1))
        values[~self.inside] = np.nan
        return values


def sample(mesh: Mesh, field, points) -> np.ndarray:
    """Values of one field at points (n, ndim): ``Sampler(mesh, points)(field)``."""
    return Sampler(mesh, points)(field)


def _locate_in_chunk(mesh: Mesh, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(elements (n,), local reference coordinates (n, 3)) of Cartesian points in a chunk,
    by inverting the chunk's mapping: element ``e = (kr * n_eta + ke) * n_xi + kx``."""
    chunk = mesh.chunk
    n_xi, n_eta = chunk.lateral_elements
    xi, eta, radius = chunk.cartesian_to_reference(pts)
    edges = [chunk.radial_layers[0].r_bottom]
    for layer in chunk.radial_layers:
        e = np.linspace(layer.r_bottom, layer.r_top, layer.n_elements + 1)
        edges.extend(e[1:-1].tolist() + [layer.r_top])
    edges = np.asarray(edges)
    tol = 1e-9
    inside = (np.abs(xi) <= 1.0 + tol) & (np.abs(eta) <= 1.0 + tol) & (radius >= edges[0] * (1 - tol)) & (
        radius <= edges[-1] * (1 + tol))
    inside &= np.isfinite(xi) & np.isfinite(eta)
    xi, eta = np.nan_to_num(xi), np.nan_to_num(eta)

    def split(u, n):
        s = np.clip((u + 1.0) / 2.0 * n, 0.0, n)
        k = np.minimum(np.floor(s).astype(np.int64), n - 1)
        return k, 2.0 * (s - k) - 1.0

    kx, lx = split(xi, n_xi)
    ke, le = split(eta, n_eta)
    kr = np.clip(np.searchsorted(edges, radius, side="right") - 1, 0, len(edges) - 2)
    lr = np.clip(2.0 * (radius - edges[kr]) / (edges[kr + 1] - edges[kr]) - 1.0, -1.0, 1.0)
    elements = np.where(inside, (kr * n_eta + ke) * n_xi + kx, -1)
    return elements, np.stack([lx, le, lr], axis=1)


def _fields(fields) -> dict:
    if isinstance(fields, Mapping):
        return dict(fields)
    return {"value": fields}


_UNITS = {**{v: "m/s" for v in ("vp", "vs", "vpv", "vph", "vsv", "vsh")}, "rho": "kg/m^3", "eta": "1"}


def _dataset(sampler: Sampler, fields: dict, shape: tuple, dims: tuple, coords: dict) -> xr.Dataset:
    data = {name: (dims, sampler(f).reshape(shape), {"units": _UNITS[name]} if name in _UNITS else {})
            for name, f in fields.items()}
    return xr.Dataset(data, coords=coords)


def chunk_bounds(mesh: Mesh) -> dict:
    """The chunk's extent in geographic terms: latitude and longitude ranges (degrees)
    of its surface outline (the corners bulge: the outline is not a lat/lon box) and the
    depth range (m)."""
    chunk = _require_chunk(mesh)
    s = np.linspace(-1.0, 1.0, 65)
    ring = np.concatenate([np.stack([s, -np.ones_like(s)], 1), np.stack([np.ones_like(s), s], 1),
                           np.stack([s[::-1], np.ones_like(s)], 1), np.stack([-np.ones_like(s), s[::-1]], 1)])
    lat, lon, _ = cartesian_to_geographic(chunk.reference_to_cartesian(ring[:, 0], ring[:, 1], chunk.r_top))
    lon = _unwrap(lon, chunk.lon_center)
    return {"latitude": (float(lat.min()), float(lat.max())), "longitude": (float(lon.min()), float(lon.max())),
            "depth": (float(EARTH_RADIUS - chunk.r_top), float(EARTH_RADIUS - chunk.r_bottom)),
            "outline_latitude": lat, "outline_longitude": lon}


def _unwrap(lon, center):
    return center + (np.asarray(lon) - center + 180.0) % 360.0 - 180.0


def _require_chunk(mesh: Mesh):
    if getattr(mesh, "chunk", None) is None:
        raise ValueError("Geographic sampling needs a spherical chunk (engine.mesh.spherical_chunk); "
                         "for other meshes use engine.sampling.Sampler with points in the mesh frame.")
    return mesh.chunk


def depth_slice(mesh: Mesh, fields, depth_in_meters: float, latitudes=None, longitudes=None,
                n_points: int = 121) -> xr.Dataset:
    """Fields on a (latitude, longitude) grid at one depth of a chunk; NaN outside it.

    ``fields``: a per-point array or a {name: array} mapping (a `Model` works). Default
    grid: ``n_points`` x ``n_points`` over :func:`chunk_bounds`.
    """
    bounds = chunk_bounds(mesh)
    lat = np.linspace(*bounds["latitude"], n_points) if latitudes is None else np.asarray(latitudes, float)
    lon = np.linspace(*bounds["longitude"], n_points) if longitudes is None else np.asarray(longitudes, float)
    depth = float(depth_in_meters)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    sampler = Sampler(mesh, geographic_to_cartesian(la.ravel(), lo.ravel(), depth))
    return _dataset(sampler, _fields(fields), la.shape, ("latitude", "longitude"),
                    {"latitude": ("latitude", lat, {"units": "degrees_north"}),
                     "longitude": ("longitude", lon, {"units": "degrees_east"}),
                     "depth": ((), depth, {"units": "m"})})


def great_circle_section(mesh: Mesh, fields, start, end, depths=None, n_points: int = 181,
                         n_depths: int = 81) -> xr.Dataset:
    """Fields on the vertical section under the great circle from ``start`` to ``end``
    ((latitude, longitude) in degrees, geocentric), dims (depth, distance).

    ``distance`` is the angle from ``start`` in degrees; each column's latitude and
    longitude are coordinates on ``distance``. Default depths: ``n_depths`` from the
    surface to the chunk's bottom.
    """
    bounds = chunk_bounds(mesh)
    depths = np.linspace(*bounds["depth"], n_depths) if depths is None else np.asarray(depths, float)
    a = geographic_to_cartesian(*start, 0.0) / EARTH_RADIUS
    b = geographic_to_cartesian(*end, 0.0) / EARTH_RADIUS
    angle = float(np.arccos(np.clip(a @ b, -1.0, 1.0)))
    if angle < 1e-12:
        raise ValueError("The 'start' and 'end' points of a great-circle section must differ.")
    s = np.linspace(0.0, 1.0, n_points)
    path = (np.sin((1 - s) * angle)[:, None] * a + np.sin(s * angle)[:, None] * b) / np.sin(angle)  # slerp
    lat, lon, _ = cartesian_to_geographic(path)
    radius = EARTH_RADIUS - depths
    pts = radius[:, None, None] * path[None, :, :]
    sampler = Sampler(mesh, pts.reshape(-1, 3))
    distance = np.degrees(s * angle)
    return _dataset(sampler, _fields(fields), (len(depths), n_points), ("depth", "distance"),
                    {"depth": ("depth", depths, {"units": "m"}),
                     "distance": ("distance", distance, {"units": "degrees"}),
                     "latitude": ("distance", lat, {"units": "degrees_north"}),
                     "longitude": ("distance", _unwrap(lon, mesh.chunk.lon_center), {"units": "degrees_east"})})


def chunk_grid(mesh: Mesh, fields, depths=None, latitudes=None, longitudes=None, shape=(41, 61, 61)) -> xr.Dataset:
    """Fields on a (depth, latitude, longitude) grid over a chunk (NaN outside its outline)."""
    bounds = chunk_bounds(mesh)
    axes = [np.linspace(*bounds[d], n) if given is None else np.asarray(given, float)
            for d, n, given in zip(("depth", "latitude", "longitude"), shape, (depths, latitudes, longitudes))]
    d, la, lo = np.meshgrid(*axes, indexing="ij")
    sampler = Sampler(mesh, geographic_to_cartesian(la.ravel(), lo.ravel(), d.ravel()))
    return _dataset(sampler, _fields(fields), d.shape, ("depth", "latitude", "longitude"),
                    {"depth": ("depth", axes[0], {"units": "m"}),
                     "latitude": ("latitude", axes[1], {"units": "degrees_north"}),
                     "longitude": ("longitude", axes[2], {"units": "degrees_east"})})
