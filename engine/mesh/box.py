"""Structured 3D box meshes (x, y horizontal, z up), optionally with surface topography."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._validate import describe, extent, names, number, optional_number
from ..gll import gll
from .core import Mesh, build_mesh, structured_side_sets

__all__ = ["box"]

# Side set -> local face of the hexahedron (FACE_NAMES_3D order: xi, eta, zeta min/max).
_SIDES = {"x0": 0, "x1": 1, "y0": 2, "y1": 3, "z0": 4, "z1": 5}


def box(
    x: tuple[float, float],
    y: tuple[float, float],
    z: tuple[float, float],
    elements: tuple[int, int, int] | None = None,
    *,
    element_size: float | None = None,
    order: int = 4,
    absorbing: Sequence[str] = ("x0", "x1", "y0", "y1", "z0"),
    topography: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Mesh:
    """A box of ``nx x ny x nz`` hexahedral spectral elements.

    Parameters
    ----------
    x, y, z : (min, max) extent in metres; z points up and ``z[1]`` is the surface.
    elements : (nx, ny, nz) element counts; or give ``element_size`` (metres) instead
        (each count is then ``ceil(extent / element_size)``).
    order : polynomial order of the GLL basis (default 4, 125 points per element).
    absorbing : side sets that absorb, a list such as ["x0", "x1", "y0", "y1", "z0"]
        (from "x0", "x1", "y0", "y1", "z0", "z1"; a bare string is refused); () for none.
        Sides that do not absorb are free surfaces.
    topography : optional callable ``z_top(x, y)`` (arrays in, array of the same shape
        out, metres) giving the surface elevation; each column of elements is stretched
        linearly in z between ``z[0]`` and ``z_top(x, y)``, so the GLL points of the top
        face lie exactly on the surface. It must stay above ``z[0]``.

    Returns
    -------
    Mesh with ``axis_names = ("x", "y", "z")``; element ``e = (kz * ny + ky) * nx + kx``,
    points ``[e, k, j, i]`` with i along x, j along y, k along z. Side sets "x0", "x1",
    "y0", "y1", "z0" (bottom), "z1" (top), plus "free_surface" (the sides that do not
    absorb) and "absorbing" (those that do). Integrate over a side with
    ``mesh.faces("z1")``.

    >>> import engine
    >>> m = engine.mesh.box(x=(0.0, 3000.0), y=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(3, 2, 1), order=2)
    >>> m.n_elements, m.n_global, round(float(m.quadrature_weights().sum()) / 1e9, 12)
    (6, 105, 6.0)
    """
    (x0, x1), (y0, y1), (z0, z1) = (extent(n, v) for n, v in (("x", x), ("y", y), ("z", z)))
    if elements is None:
        element_size = optional_number("element_size", element_size, "positive")
        if element_size is None:
            raise ValueError("Give either 'elements' = (nx, ny, nz) or a positive 'element_size', but neither was given.")
        elements = tuple(int(np.ceil((hi - lo) / element_size)) for lo, hi in ((x0, x1), (y0, y1), (z0, z1)))
    nx, ny, nz = _checked_counts("elements", elements)
    absorbing = names("absorbing", absorbing, tuple(_SIDES), what="sides")
    if topography is not None and not callable(topography):
        raise TypeError(f"The 'topography' parameter must be a callable z_top(x, y) or None, but {describe(topography)} was given.")

    rule = gll(order)
    n = rule.n_points
    u = (rule.nodes + 1.0) / 2.0
    # Coordinates along each axis of every element point: (n_elements_along_axis, n).
    xs = x0 + (np.arange(nx)[:, None] + u[None, :]) / nx * (x1 - x0)
    ys = y0 + (np.arange(ny)[:, None] + u[None, :]) / ny * (y1 - y0)
    ts = (np.arange(nz)[:, None] + u[None, :]) / nz  # in [0, 1] along z
    shape = (nz, ny, nx, n, n, n)  # [kz, ky, kx, k, j, i]
    xx = np.broadcast_to(xs[None, None, :, None, None, :], shape)
    yy = np.broadcast_to(ys[None, :, None, None, :, None], shape)
    tt = np.broadcast_to(ts[:, None, None, :, None, None], shape)
    if topography is None:
        top = np.full(shape, z1)
    else:
        top = np.asarray(topography(np.array(xx), np.array(yy)), dtype=float)
        if top.shape != shape or not np.all(np.isfinite(top)):
            raise ValueError("The 'topography' callable must return finite elevations shaped like its inputs.")
        if np.any(top <= z0):
            raise ValueError(f"The 'topography' must stay above the bottom of the box, z = {z0!r}, but it reaches {float(top.min())!r}.")
    zz = z0 + tt * (top - z0)
    coords = np.stack([xx, yy, zz], axis=-1).reshape(nz * ny * nx, n, n, n, 3)

    elem = np.arange(nz * ny * nx).reshape(nz, ny, nx)
    pick = {
        "x0": elem[:, :, 0], "x1": elem[:, :, -1],
        "y0": elem[:, 0, :], "y1": elem[:, -1, :],
        "z0": elem[0, :, :], "z1": elem[-1, :, :],
    }
    side_sets = structured_side_sets(pick, _SIDES, absorbing)
    return build_mesh(coords, rule, side_sets, absorbing=tuple(absorbing), axis_names=("x", "y", "z"))



def _checked_counts(name: str, counts) -> tuple[int, int, int]:
    """Three positive integer counts; integral floats (8.0) pass, 2.5 or NaN do not."""
    message = f"The '{name}' parameter must be three positive integer counts (nx, ny, nz), but {describe(counts)} was given."
    if isinstance(counts, (str, bytes)):
        raise ValueError(message)
    try:
        values = [number(name, v, "positive") for v in counts]
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(values) != 3 or not all(v.is_integer() for v in values):
        raise ValueError(message)
    return int(values[0]), int(values[1]), int(values[2])
