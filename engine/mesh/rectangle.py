"""Structured 2D rectangle meshes (x horizontal, z up), optionally with topography."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..gll import gll
from .core import Mesh, build_mesh

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
    absorbing : side sets that absorb ("left", "right", "bottom", "top"). Sides that do
        not absorb are free surfaces (traction-free for elastic and SH, p = 0 for acoustic).
    topography : optional callable ``z_top(x)`` in metres giving the surface elevation;
        each column of elements is stretched between ``z[0]`` and ``z_top(x)``, and the
        GLL points follow the curve exactly.
    axis_names : coordinate names; ("x", "y") for a map-view (membrane) domain.

    Side sets: "left", "right", "bottom", "top", plus "free_surface" (the sides that do
    not absorb) and "absorbing" (those that do).
    """
    (x0, x1), (z0, z1) = _checked_extent("x", x), _checked_extent("z", z)
    if elements is None:
        if element_size is None or not element_size > 0:
            raise ValueError(
                f"Give either 'elements' = (nx, nz) or a positive 'element_size', but elements={elements!r} "
                f"and element_size={element_size!r} were given."
            )
        elements = (int(np.ceil((x1 - x0) / element_size)), int(np.ceil((z1 - z0) / element_size)))
    nx, nz = (int(n) for n in elements)
    if nx < 1 or nz < 1:
        raise ValueError(f"The 'elements' parameter must be two positive counts, but {elements!r} was given.")
    unknown = [s for s in absorbing if s not in _SIDES]
    if unknown:
        raise ValueError(f"Unknown side(s) {unknown} in 'absorbing'; valid sides are {list(_SIDES)}.")

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
    side_sets = {
        "left": np.stack([elem[:, 0], np.full(nz, 0)], axis=1),
        "right": np.stack([elem[:, -1], np.full(nz, 1)], axis=1),
        "bottom": np.stack([elem[0, :], np.full(nx, 2)], axis=1),
        "top": np.stack([elem[-1, :], np.full(nx, 3)], axis=1),
    }
    free = [side_sets[s] for s in _SIDES if s not in absorbing]
    side_sets["free_surface"] = np.concatenate(free) if free else np.zeros((0, 2), int)
    side_sets["absorbing"] = (
        np.concatenate([side_sets[s] for s in absorbing]) if absorbing else np.zeros((0, 2), int)
    )
    return build_mesh(coords, rule, side_sets, absorbing=tuple(absorbing), axis_names=axis_names)


def _checked_extent(name: str, extent) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in extent)
    except (TypeError, ValueError):
        raise ValueError(f"The '{name}' parameter must be a (min, max) pair, but {extent!r} was given.") from None
    if not hi > lo:
        raise ValueError(f"The '{name}' parameter must satisfy min < max, but {extent!r} was given.")
    return lo, hi
