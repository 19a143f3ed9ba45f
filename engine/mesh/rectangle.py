"""Structured 2D rectangle meshes (x horizontal, z up), optionally with topography."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .._validate import describe, extent, names, number, optional_number
from ..gll import gll
from .core import Mesh, build_mesh, structured_side_sets

__all__ = ["rectangle"]

_SIDES = ("left", "right", "bottom", "top")


def rectangle(
    x: tuple[float, float],
    z: tuple[float, float],
    elements: tuple[int, int] | None = None,
    *,
    element_size: float | None = None,
    order: int = 4,
    absorbing: Sequence[str] = ("left", "right", "bottom"),
    topography: Callable[[np.ndarray], np.ndarray] | None = None,
    axis_names: tuple[str, str] = ("x", "z"),
) -> Mesh:
    """A rectangle of ``nx x nz`` quadrilateral spectral elements.

    Parameters
    ----------
    x, z : (min, max) extent in metres; z points up and ``z[1]`` is the surface.
    elements : (nx, nz) element counts; or give ``element_size`` (metres) instead.
    order : polynomial order of the GLL basis (default 4, 25 points per element).
    absorbing : side sets that absorb, a list such as ["left", "right", "bottom"] (from
        "left", "right", "bottom", "top"; a bare string is refused); () for none. Sides that
        do not absorb are free surfaces (traction-free for elastic and SH, p = 0 for acoustic).
    topography : optional callable ``z_top(x)`` in metres giving the surface elevation;
        each column of elements is stretched between ``z[0]`` and ``z_top(x)``, and the
        GLL points follow the curve exactly.
    axis_names : coordinate names; ("x", "y") for a map-view (membrane) domain.

    Side sets: "left", "right", "bottom", "top", plus "free_surface" (the sides that do
    not absorb) and "absorbing" (those that do).
    """
    (x0, x1), (z0, z1) = extent("x", x), extent("z", z)
    if elements is None:
        element_size = optional_number("element_size", element_size, "positive")
        if element_size is None:
            raise ValueError("Give either 'elements' = (nx, nz) or a positive 'element_size', but neither was given.")
        elements = (int(np.ceil((x1 - x0) / element_size)), int(np.ceil((z1 - z0) / element_size)))
    nx, nz = _checked_counts("elements", elements)
    absorbing = names("absorbing", absorbing, _SIDES, what="sides")
    if topography is not None and not callable(topography):
        raise TypeError(f"The 'topography' parameter must be a callable z_top(x) or None, but {describe(topography)} was given.")
    if isinstance(axis_names, str) or len(tuple(axis_names)) != 2 or not all(isinstance(a, str) for a in axis_names):
        raise ValueError(f"The 'axis_names' parameter must be two names such as ('x', 'z'), but {describe(axis_names)} was given.")

    rule = gll(order)
    n = rule.n_points
    xi = (rule.nodes + 1.0) / 2.0
    # Reference coordinates of every element point on the unit square, [ez, ex, j, i].
    ex = np.arange(nx)
    ez = np.arange(nz)
    s = (ex[:, None] + xi[None, :]) / nx  # (nx, n) in [0, 1] along x
    t = (ez[:, None] + xi[None, :]) / nz  # (nz, n) in [0, 1] along z
    xs = x0 + s * (x1 - x0)
    xx = np.broadcast_to(xs[None, :, None, :], (nz, nx, n, n))
    if topography is None:
        top = np.full(xx.shape, z1)
    else:
        top = np.asarray(topography(np.array(xx)), dtype=float)
        if top.shape != xx.shape or not np.all(np.isfinite(top)):
            raise ValueError("The 'topography' callable must return finite elevations shaped like its input.")
    tt = np.broadcast_to(t[:, None, :, None], (nz, nx, n, n))
    zz = z0 + tt * (top - z0)
    coords = np.stack([xx, zz], axis=-1).reshape(nz * nx, n, n, 2)

    elem = np.arange(nz * nx).reshape(nz, nx)
    side_sets = structured_side_sets(
        {"left": elem[:, 0], "right": elem[:, -1], "bottom": elem[0, :], "top": elem[-1, :]},
        {side: face for face, side in enumerate(_SIDES)}, absorbing)
    return build_mesh(coords, rule, side_sets, absorbing=tuple(absorbing), axis_names=axis_names)



def _checked_counts(name: str, counts) -> tuple[int, int]:
    """Two positive integer counts; integral floats (8.0) pass, 2.5 or NaN do not."""
    message = f"The '{name}' parameter must be two positive integer counts (nx, nz), but {describe(counts)} was given."
    if isinstance(counts, (str, bytes)):
        raise ValueError(message)
    try:
        values = [number(name, n, "positive") for n in counts]
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if len(values) != 2 or not all(v.is_integer() for v in values):
        raise ValueError(message)
    return int(values[0]), int(values[1])
