"""A chunk of the spherical Earth meshed with curved hexahedra (SPECFEM3D_GLOBE's mapping).

Frame and units
---------------
Coordinates are Earth-centred Cartesian, in metres: z through the north pole, x through
latitude 0 / longitude 0, y through latitude 0 / longitude 90 E (right-handed), on a
sphere of radius ``model.radius`` (6371 km for PREM). Positions given as
`engine.Geographic` (geocentric latitude, longitude, depth) map to it with
``Geographic.to_cartesian()`` or ``mesh.position(...)``.

Mapping
-------
As SPECFEM3D_GLOBE's one-chunk mesher (``compute_coordinates_grid``): reference
coordinates (xi, eta) in [-1, 1]^2 give ``X = tan(W_xi / 2 xi)``, ``Y = tan(W_eta / 2
eta)``, and the point at radius r is ``r Q (X, Y, 1) / sqrt(1 + X^2 + Y^2)``, where the
rotation ``Q`` has the columns (east, north, up) at the chunk's centre, so xi runs
east-west and eta north-south, and ``W_xi = lon_extent``, ``W_eta = lat_extent`` (in
radians) are the angular widths along the two great circles through the centre. The
sides of constant xi or eta are planes through the Earth's centre (great circles), and
element edges are radial lines. Within an element the radius is linear in the third
reference coordinate between the element's two bounding radii. Every GLL point is put
at its exact mapped position (no low-order shape functions); the Jacobian is that of the
degree-N interpolant through those points, as the solver uses it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._validate import describe, names, number
from ..earth import EarthModel1D
from ..gll import gll
from .core import Mesh, build_mesh, structured_side_sets

__all__ = ["spherical_chunk", "ChunkGeometry", "RadialLayer", "point_layers"]

# Side set -> local face of the hexahedron (FACE_NAMES_3D: xi, eta, zeta min/max).
# xi runs west -> east, eta south -> north, zeta (radius) bottom -> top. Salvus's names:
# t is the colatitude theta (t0 the northern side, smallest theta), p the longitude phi
# (p0 the western side).
_SIDES = {"r0": 4, "r1": 5, "t0": 3, "t1": 2, "p0": 0, "p1": 1}

# A discontinuity closer than this to the chunk's bottom is the bottom (m).
_SNAP = 1.0


@dataclass(frozen=True)
class RadialLayer:
    """One layer of elements in radius: its bounds, the model layer(s), its sizing.

    Attributes
    ----------
    r_bottom, r_top : radii in m.
    model_layer : index into ``model.layers``, or -1 where the element layer spans
        several model layers (a merged crust).
    name : the model layer's name ("+"-joined when merged).
    slowest_velocity : m/s, the slowest wave speed in the layer (vs; vp in a fluid).
    wavelength : ``slowest_velocity * min_period``, m.
    n_elements : number of elements across the layer in radius.
    """

    r_bottom: float
    r_top: float
    model_layer: int
    name: str
    slowest_velocity: float
    wavelength: float
    n_elements: int


@dataclass(frozen=True, eq=False)
class ChunkGeometry:
    """What defines a spherical chunk, and its exact mapping (see the module docstring).

    Angles in degrees, radii in m. ``rotation`` is (3, 3) with columns (east, north, up)
    at the centre. ``radial_layers`` lists the element layers from the bottom up;
    ``lateral_elements`` is (n_xi, n_eta) = (east-west, north-south).
    """

    lat_center: float
    lon_center: float
    lat_extent: float
    lon_extent: float
    r_bottom: float
    r_top: float
    rotation: np.ndarray
    radial_layers: tuple
    lateral_elements: tuple
    model_name: str
    model_discontinuities: tuple

    @property
    def half_widths(self) -> tuple[float, float]:
        """(W_xi / 2, W_eta / 2) in radians."""
        return np.radians(self.lon_extent) / 2.0, np.radians(self.lat_extent) / 2.0

    def reference_to_cartesian(self, xi, eta, radius) -> np.ndarray:
        """(..., 3) Cartesian points (m) at reference (xi, eta) in [-1, 1] and radius (m); arrays broadcast."""
        a, b = self.half_widths
        x = np.tan(a * np.asarray(xi, dtype=float))
        y = np.tan(b * np.asarray(eta, dtype=float))
        x, y, r = np.broadcast_arrays(x, y, np.asarray(radius, dtype=float))
        d = np.stack([x, y, np.ones_like(x)], axis=-1) / np.sqrt(1.0 + x * x + y * y)[..., None]
        return r[..., None] * (d @ self.rotation.T)

    def cartesian_to_reference(self, xyz) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(xi, eta, radius) of Cartesian points (..., 3); |xi|, |eta| <= 1 inside the chunk.

        Points on the far side of the Earth (behind the chunk's centre) get NaN.
        """
        p = np.asarray(xyz, dtype=float) @ self.rotation  # local (east, north, up) components
        a, b = self.half_widths
        with np.errstate(divide="ignore", invalid="ignore"):
            front = p[..., 2] > 0.0
            xi = np.where(front, np.arctan(p[..., 0] / p[..., 2]) / a, np.nan)
            eta = np.where(front, np.arctan(p[..., 1] / p[..., 2]) / b, np.nan)
        return xi, eta, np.linalg.norm(p, axis=-1)


def spherical_chunk(
    lat_center: float,
    lon_center: float,
    lat_extent: float,
    lon_extent: float,
    max_depth_in_meters: float,
    model: EarthModel1D,
    min_period_in_seconds: float,
    elements_per_wavelength: float = 2.0,
    order: int = 4,
    absorbing: Sequence[str] = ("r0", "t0", "t1", "p0", "p1"),
    merge_crust: bool | None = None,
) -> Mesh:
    """A chunk of the sphere from the surface to a maximum depth, sized by a 1D model.

    Parameters
    ----------
    lat_center, lon_center : geocentric latitude and longitude of the chunk's centre, degrees.
    lat_extent, lon_extent : angular widths in degrees (0 < w <= 90) along the great
        circles through the centre, north-south and east-west (SPECFEM3D_GLOBE's
        ``ANGULAR_WIDTH_ETA`` and ``ANGULAR_WIDTH_XI``).
    max_depth_in_meters : depth of the bottom, m (0 < depth <= the core-mantle boundary,
        2891 km in PREM: the mesher has no fluid outer core).
    model : an `engine.earth.EarthModel1D` (e.g. ``engine.earth.prem()``): its
        discontinuities and velocities set the element boundaries and sizes.
    min_period_in_seconds : the shortest period to resolve, s.
    elements_per_wavelength : elements per shortest wavelength (default 2; with order
        4 that is 8 GLL intervals per wavelength).
    order : polynomial order of the GLL basis (default 4; 2 is a cheap option).
    absorbing : side sets that absorb (default every side but the free surface "r1").
    merge_crust : whether the crust (the model layers whose names contain "crust", i.e.
        above the Moho) is meshed as one layer of elements. None (default): merged
        exactly when the model's crust is ``"one_layer"``, which has no mid-crust boundary
        anyway, so a two-layer crust is honoured by default. True: one element layer from
        the Moho to the surface even with PREM's two-layer crust, so the 6356 km boundary
        is *not* honoured (those elements get ``element_layers == -1``; sample them by
        radius, see `point_layers`), as SPECFEM3D_GLOBE's ``ONE_CRUST`` (which also gives
        the whole crust one set of values: that is ``prem(crust="one_layer")``).

    Returns
    -------
    Mesh with ``axis_names = ("x", "y", "z")`` (Earth-centred Cartesian, m),
    ``element_layers`` (the model layer of each element) and ``chunk`` (a
    `ChunkGeometry`). Elements ``e = (kr * n_eta + ke) * n_xi + kx``, points
    ``[e, k, j, i]`` with i along xi (west to east), j along eta (south to north), k
    along the radius (up). Side sets (Salvus's names; t = colatitude theta, p =
    longitude phi): "r1" the free surface, "r0" the bottom, "t0" the northern side and
    "t1" the southern side (constant eta = +1 / -1), "p0" the western side and "p1" the
    eastern side (constant xi = -1 / +1), plus "free_surface" and "absorbing".

    Element sizes
    -------------
    Radially, element boundaries sit at the chunk's bottom and at every discontinuity
    of the model between it and the surface (crust merged as above); within each
    element layer the thickness is at most ``wavelength / elements_per_wavelength``
    with ``wavelength = v_min * min_period`` and ``v_min`` the layer's slowest speed
    (``model.slowest_velocity``: min(vsv, vsh), vp in a fluid), elements of equal
    thickness. Laterally the elements are equal in reference coordinates, so along the
    central great circles each spans ``lon_extent / n_xi`` (``lat_extent / n_eta``), i.e.
    ``r * angle`` at radius r (less towards the chunk's corners, down to about 1/2 at 90
    degrees); ``n_xi`` is the largest count any layer needs with its lateral size at its
    top radius (where it is largest) at most its own ``wavelength / epw``. With PREM's
    crust this is set by the crust at the surface, as in the codes that size laterally
    by the top layer. There is no lateral coarsening with depth (no doubling bricks).

    Time step: the solver estimates it (CFL); roughly ``dt ~ C * h_min / v_max`` with
    C ~ 0.5 and ``h_min`` the smallest GLL point spacing of an element
    (``mesh.min_point_spacing()``, ~0.17 * the element thickness at order 4), so thin
    crustal elements set dt. For the 40 x 40 degree, 1750 km chunk at 70 s (order 4):
    min(h_min / v_max) is 0.24 s with PREM's two-layer crust honoured (9.4 km lower
    crust), so dt ~ 0.12 s, and 0.73 s with a one-layer crust (24.4 km), so dt ~ 0.36 s.

    >>> import engine
    >>> m = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 100e3, engine.earth.prem(crust="one_layer"),
    ...                                 min_period_in_seconds=200.0, order=2)
    >>> [(layer.name, layer.n_elements) for layer in m.chunk.radial_layers], m.chunk.lateral_elements
    ([('lvz', 1), ('lid', 1), ('crust', 1)], (4, 4))
    """
    lat_c = number("lat_center", lat_center)
    if not -90.0 <= lat_c <= 90.0:
        raise ValueError(f"The 'lat_center' parameter must lie between -90 and 90 degrees, but {describe(lat_center)} was given.")
    lon_c = number("lon_center", lon_center)
    widths = {}
    for name, value in (("lat_extent", lat_extent), ("lon_extent", lon_extent)):
        w = number(name, value)
        if not 0.0 < w <= 90.0:
            raise ValueError(
                f"The '{name}' parameter must be an angular width in degrees, 0 < width <= 90 "
                f"(a chunk is at most one face of SPECFEM's cubed sphere), but {describe(value)} was given."
            )
        widths[name] = w
    if not isinstance(model, EarthModel1D):
        raise TypeError(f"The 'model' parameter must be an engine.earth.EarthModel1D such as engine.earth.prem(), but {describe(model)} was given.")
    surface = model.radius
    fluid_tops = [top for (bottom, top), fluid in zip(model.layers, model.fluid_layers) if fluid]
    r_min = max(fluid_tops) if fluid_tops else 0.0
    try:
        depth = number("max_depth_in_meters", max_depth_in_meters, "positive")
    except ValueError:
        depth = None
    if depth is None or depth > surface - r_min + _SNAP:
        raise ValueError(
            f"The 'max_depth_in_meters' parameter must be a depth in m with 0 < depth <= {surface - r_min:.0f} "
            f"(the core-mantle boundary: the chunk has no fluid core), but {describe(max_depth_in_meters)} was given."
        )
    period = number("min_period_in_seconds", min_period_in_seconds, "positive")
    epw = number("elements_per_wavelength", elements_per_wavelength, "positive")
    absorbing = names("absorbing", absorbing, tuple(_SIDES), what="sides")
    if merge_crust is None:
        merge = model.crust == "one_layer"
    elif isinstance(merge_crust, (bool, np.bool_)):
        merge = bool(merge_crust)
    else:
        raise ValueError(f"The 'merge_crust' parameter must be True, False or None, but {describe(merge_crust)} was given.")
    rule = gll(order)

    r_bottom = max(surface - depth, r_min)
    layers = _radial_layers(model, r_bottom, surface, period, epw, merge)
    rotation = _rotation(lat_c, lon_c)
    a, b = np.radians(widths["lon_extent"]) / 2.0, np.radians(widths["lat_extent"]) / 2.0
    n_xi = max(1, max(int(np.ceil(epw * layer.r_top * 2 * a / layer.wavelength - 1e-9)) for layer in layers))
    n_eta = max(1, max(int(np.ceil(epw * layer.r_top * 2 * b / layer.wavelength - 1e-9)) for layer in layers))
    geometry = ChunkGeometry(
        lat_center=lat_c, lon_center=lon_c, lat_extent=widths["lat_extent"], lon_extent=widths["lon_extent"],
        r_bottom=r_bottom, r_top=surface, rotation=rotation, radial_layers=tuple(layers),
        lateral_elements=(n_xi, n_eta), model_name=model.name, model_discontinuities=model.discontinuities,
    )
    rotation.setflags(write=False)

    # Radial bounds of every shell of elements, bottom up, and its model layer.
    r_lo, r_hi, shell_layer = [], [], []
    for layer in layers:
        edges = np.linspace(layer.r_bottom, layer.r_top, layer.n_elements + 1)
        edges[0], edges[-1] = layer.r_bottom, layer.r_top  # exact bounds
        r_lo.extend(edges[:-1])
        r_hi.extend(edges[1:])
        shell_layer.extend([layer.model_layer] * layer.n_elements)
    r_lo, r_hi = np.array(r_lo), np.array(r_hi)
    n_r = len(r_lo)

    n = rule.n_points
    u = (rule.nodes + 1.0) / 2.0
    xi = -1.0 + 2.0 * (np.arange(n_xi)[:, None] + u[None, :]) / n_xi  # (n_xi, n)
    eta = -1.0 + 2.0 * (np.arange(n_eta)[:, None] + u[None, :]) / n_eta
    # Ends of the reference intervals exactly +-1, so the sides are exactly planar.
    xi[0, 0], xi[-1, -1], eta[0, 0], eta[-1, -1] = -1.0, 1.0, -1.0, 1.0
    radius = r_lo[:, None] + (r_hi - r_lo)[:, None] * u[None, :]  # (n_r, n)
    radius[:, 0], radius[:, -1] = r_lo, r_hi
    shape = (n_r, n_eta, n_xi, n, n, n)  # [kr, ke, kx, k, j, i]
    coords = geometry.reference_to_cartesian(
        xi[None, None, :, None, None, :], eta[None, :, None, None, :, None], radius[:, None, None, :, None, None]
    )
    coords = np.broadcast_to(coords, shape + (3,)).reshape(n_r * n_eta * n_xi, n, n, n, 3)

    elem = np.arange(n_r * n_eta * n_xi).reshape(n_r, n_eta, n_xi)
    pick = {
        "r0": elem[0], "r1": elem[-1],
        "t1": elem[:, 0, :], "t0": elem[:, -1, :],
        "p0": elem[:, :, 0], "p1": elem[:, :, -1],
    }
    side_sets = structured_side_sets(pick, _SIDES, absorbing)
    element_layers = np.repeat(np.array(shell_layer, dtype=np.int64), n_eta * n_xi)
    element_layers.setflags(write=False)
    return build_mesh(coords, rule, side_sets, absorbing=tuple(absorbing), axis_names=("x", "y", "z"),
                      element_layers=element_layers, chunk=geometry)


def point_layers(mesh: Mesh, model: EarthModel1D) -> np.ndarray:
    """The model layer index of every GLL point of a chunk, shaped like ``mesh.point_shape``.

    For ``model.evaluate(radius, ..., layer=point_layers(mesh, model))``. An element
    within one model layer gives all its points that layer (so the points on a
    discontinuity take their own element's side). In an element spanning several model
    layers (a merged crust) each point takes the layer its radius lies in, with points on
    an internal boundary in the lower half of the element taken from above it and in the
    upper half from below it (so the element's own bounding faces stay inside it).
    The model must have the layer boundaries of the one the mesh was built from.
    """
    if mesh.chunk is None or mesh.element_layers is None:
        raise ValueError("The 'mesh' parameter must be a spherical chunk (engine.mesh.spherical_chunk), but a Cartesian mesh was given.")
    same = (isinstance(model, EarthModel1D) and len(model.discontinuities) == len(mesh.chunk.model_discontinuities)
            and np.allclose(model.discontinuities, mesh.chunk.model_discontinuities, rtol=0, atol=_SNAP))
    if not same:
        raise ValueError(
            f"The 'model' parameter must have the layer boundaries of the mesh's model ({mesh.chunk.model_name}), "
            f"but {describe(model)} was given."
        )
    layers = np.broadcast_to(mesh.element_layers.reshape((-1,) + (1,) * mesh.ndim), mesh.point_shape).copy()
    mixed = np.flatnonzero(mesh.element_layers < 0)
    if mixed.size:
        r = np.linalg.norm(mesh.coordinates[mixed], axis=-1)
        r = np.clip(r, 0.0, model.radius)
        flat = r.reshape(len(mixed), -1)
        shape = (-1,) + (1,) * mesh.ndim
        lo, hi = flat.min(1), flat.max(1)
        lower = r < (0.5 * (lo + hi)).reshape(shape)
        found = np.where(lower, model.layer_index(r, side="above"), model.layer_index(r, side="below"))
        # Round-off can put a point on the element's own bounding face a hair outside it:
        # keep every point within the layers the element spans.
        first = model.layer_index(np.minimum(lo + _SNAP, hi), side="above").reshape(shape)
        last = model.layer_index(np.maximum(hi - _SNAP, lo), side="below").reshape(shape)
        layers[mixed] = np.clip(found, first, last)
    return layers


def _rotation(lat: float, lon: float) -> np.ndarray:
    """(3, 3) rotation with columns east, north, up at (lat, lon): local (X, Y, 1) -> Earth frame."""
    la, lo = np.radians(lat), np.radians(lon)
    up = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
    east = np.array([-np.sin(lo), np.cos(lo), 0.0])
    north = np.array([-np.sin(la) * np.cos(lo), -np.sin(la) * np.sin(lo), np.cos(la)])
    return np.stack([east, north, up], axis=1)


def _radial_layers(model: EarthModel1D, r_bottom: float, surface: float, period: float, epw: float,
                   merge_crust: bool) -> list[RadialLayer]:
    """Element layers from the bottom up: at every discontinuity in (r_bottom, surface)."""
    names_ = model.layer_names
    crust = [i for i, name in enumerate(names_) if "crust" in name]
    moho = min(model.layers[i][0] for i in crust) if crust else surface
    bounds = [r_bottom] + [r for r in model.discontinuities if r_bottom + _SNAP < r < surface - _SNAP]
    if merge_crust:
        bounds = [r for r in bounds if r <= moho + _SNAP or r == r_bottom]
    bounds.append(surface)
    out = []
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        inside = [i for i, (b, t) in enumerate(model.layers) if b < hi - _SNAP and t > lo + _SNAP]
        v_min = model.slowest_velocity(lo, hi)
        wavelength = v_min * period
        n_r = max(1, int(np.ceil(epw * (hi - lo) / wavelength - 1e-9)))
        out.append(RadialLayer(
            r_bottom=float(lo), r_top=float(hi), model_layer=inside[0] if len(inside) == 1 else -1,
            name="+".join(names_[i] for i in inside), slowest_velocity=float(v_min),
            wavelength=float(wavelength), n_elements=n_r,
        ))
    return out
