"""Cutouts: a per-point factor that removes the gradient near sources and receivers.

Why. A misfit gradient (a sensitivity kernel) is singular at the source and at each
receiver: the forward or the adjoint wavefield is a point-source field there, so the
kernel grows without bound towards those points, and on the mesh it shows as a few huge
values next to each source and station that say nothing about the structure between
them. Left in, they dominate the gradient's norm and a model update puts spurious
features right under the stations. The usual cure (Salvus's
``source_cutout_radius_in_meters`` and ``receiver_cutout_radius_in_meters``, see
NUMERICS.md "Cutouts") multiplies the gradient by a factor that is 0 near every source
and receiver and 1 far away, before smoothing.

Formula. With d the distance from a point to the nearest centre, R the radius and W the
taper width (default R),

    taper(d) = 0                                      for d <= R,
    taper(d) = (1 - cos(pi (d - R) / W)) / 2          for R < d < R + W,
    taper(d) = 1                                      for d >= R + W,

a half cosine that is continuous with a continuous first derivative at both ends
(0 slope at d = R and d = R + W), so the tapered gradient has no new edges for the
smoothing to spread. It is evaluated at every GLL point of every element from that
point's own coordinates, so copies of a node shared by neighbouring elements get the
same value and the factor is continuous across elements.

Distance. The straight-line (Euclidean) distance between the points in the mesh frame,
in 2D and 3D alike. On a spherical chunk the frame is Earth-centred Cartesian, so this
is the chord through the Earth between a GLL point and the centre, not a distance along
the surface nor an angle: a source at 100 km depth cuts out a ball of radius R around
itself, whose zero region reaches the surface only when R > 100 km. A centre may be
given as an `engine.Geographic` on a chunk; it is converted by `Mesh.position`
(geocentric latitude, ``r = EARTH_RADIUS - depth``), the conversion sources and
receivers use, so a cutout sits exactly on its source. (Between two points at the same
radius r the chord d is shorter than the arc by about ``d^3 / (24 r^2)``: 1 m at
d = 100 km near the surface, so a radius means the same either way at cutout sizes.)

>>> import engine
>>> mesh = engine.mesh.rectangle(x=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(8, 4))
>>> mask = cutout_mask(mesh, sources=[(1000.0, -500.0)], receivers=[(500.0, 0.0), (1500.0, 0.0)],
...                    source_radius=200.0, receiver_radius=100.0)
>>> mask.shape == mesh.point_shape, float(mask.min()), float(mask.max())
(True, 0.0, 1.0)
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validate import positive_float
from .geographic import Geographic
from .mesh import Mesh

__all__ = ["cutout_taper", "cutout_mask"]


def _geographic_centres(mesh: Mesh, centres, name: str) -> np.ndarray | None:
    """(n, 3) mesh coordinates of Geographic centres (one, or a sequence of them), or
    None when ``centres`` holds no Geographic (then it is read as coordinates)."""
    if isinstance(centres, Geographic):
        items = [centres]
    elif isinstance(centres, (str, bytes)) or not isinstance(centres, Sequence):
        return None  # an array, or something np.asarray refuses below
    else:
        items = list(centres)
        flags = [isinstance(c, Geographic) for c in items]
        if not any(flags):
            return None
        if not all(flags):
            raise ValueError(
                f"The '{name}' parameter must be all engine.Geographic positions or all mesh coordinates, "
                f"but a mix was given ({sum(flags)} Geographic of {len(items)})."
            )
    if mesh.chunk is None:
        raise ValueError(
            f"The '{name}' parameter holds engine.Geographic positions, which need a spherical mesh "
            f"(engine.mesh.spherical_chunk), but this mesh has Cartesian axes {mesh.axis_names}; give the "
            f"centres as positions shaped (n, {mesh.ndim}) in m instead."
        )
    # Mesh.position is the conversion sources and receivers use: the cutout sits on them.
    return np.stack([mesh.position(c) for c in items])


def _centres(mesh: Mesh, centres, name: str = "centres") -> np.ndarray:
    """(n, ndim) float64 finite centres in the mesh frame (n may be 0)."""
    geographic = _geographic_centres(mesh, centres, name)
    if geographic is not None:
        return geographic
    try:
        c = np.asarray(centres, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be positions shaped (n, {mesh.ndim}), but {centres!r} was given.") from None
    if c.size == 0:
        return np.zeros((0, mesh.ndim))
    c = c.reshape(-1, mesh.ndim) if c.ndim == 1 and c.shape == (mesh.ndim,) else c
    if c.ndim != 2 or c.shape[1] != mesh.ndim or not np.all(np.isfinite(c)):
        raise ValueError(
            f"The '{name}' parameter must be finite positions shaped (n, {mesh.ndim}), "
            f"but an array shaped {c.shape} was given."
        )
    return c


def cutout_taper(
    mesh: Mesh,
    centres: np.ndarray | Sequence[Sequence[float]] | Geographic | Sequence[Geographic],
    radius: float,
    taper_width: float | None = None,
) -> np.ndarray:
    """Per-point factor that removes the gradient near sources or receivers.

    The factor is 0 within ``radius`` of any centre, rises as a half cosine
    ``(1 - cos(pi (d - radius) / taper_width)) / 2`` over the next ``taper_width``
    metres, and is 1 beyond; d is the straight-line distance in the mesh frame to the
    nearest centre (on a spherical chunk: the chord through the Earth). Multiply a
    gradient (or a kernel) by it before smoothing.

    Parameters
    ----------
    mesh : the mesh, 2D or 3D.
    centres : (n, ndim) or (ndim,) positions in metres in the mesh frame (may be empty:
        no cutout); or, on a spherical chunk, an `engine.Geographic` or a sequence of
        them (converted by `Mesh.position`, as sources and receivers are).
    radius : metres, positive.
    taper_width : metres, positive; default ``radius``.

    Returns
    -------
    ``mesh.point_shape`` float64 in [0, 1] ((n_elements, ngll, ngll) in 2D,
    (n_elements, ngll, ngll, ngll) in 3D), continuous across elements.

    >>> import engine
    >>> mesh = engine.mesh.box(x=(0.0, 400.0), y=(0.0, 400.0), z=(-400.0, 0.0), elements=(2, 2, 2), order=2)
    >>> taper = cutout_taper(mesh, (200.0, 200.0, -200.0), radius=50.0, taper_width=100.0)
    >>> d = np.linalg.norm(mesh.coordinates - (200.0, 200.0, -200.0), axis=-1)
    >>> bool(np.all(taper[d <= 50.0] == 0.0)), bool(np.all(taper[d >= 150.0] == 1.0))
    (True, True)
    """
    radius = positive_float("radius", radius)
    width = radius if taper_width is None else positive_float("taper_width", taper_width)
    return _taper(mesh, _centres(mesh, centres, "centres"), radius, width)


def _taper(mesh: Mesh, c: np.ndarray, radius: float, width: float) -> np.ndarray:
    """The factor of :func:`cutout_taper` for checked centres c (n, ndim) and numbers."""
    if len(c) == 0:
        return np.ones(mesh.point_shape)
    from scipy.spatial import cKDTree

    points = mesh.coordinates.reshape(-1, mesh.ndim)
    # Points farther than radius + width get d = inf (factor exactly 1) without a full
    # search: in a 3D mesh with a few centres that is most of them.
    distance, _ = cKDTree(c).query(points, distance_upper_bound=radius + width)
    s = np.clip((distance - radius) / width, 0.0, 1.0)
    return (0.5 * (1.0 - np.cos(np.pi * s))).reshape(mesh.point_shape)


def cutout_mask(
    mesh: Mesh,
    sources=(),
    receivers=(),
    source_radius: float | None = None,
    receiver_radius: float | None = None,
    taper_width: float | None = None,
) -> np.ndarray:
    """The factor a gradient is multiplied by: the source taper times the receiver taper.

    ``cutout_taper(mesh, sources, source_radius, taper_width) *
    cutout_taper(mesh, receivers, receiver_radius, taper_width)``, where a kind with no
    positions or a radius of None contributes 1 (no cutout). This is the mask a gradient
    view shows next to the gradient: 0 where the gradient is removed, 1 where it is kept.

    Parameters
    ----------
    mesh : the mesh, 2D or 3D.
    sources, receivers : positions as :func:`cutout_taper` takes them: (n, ndim) metres in
        the mesh frame, or `engine.Geographic` positions on a spherical chunk (e.g.
        ``[s.location for s in sources]``, ``receivers.geographic``); empty by default.
    source_radius, receiver_radius : metres, positive; None (default): no cutout of that kind.
    taper_width : metres, positive, the same for both kinds; default each kind's radius.

    Returns
    -------
    ``mesh.point_shape`` float64 in [0, 1], continuous across elements.

    Examples
    --------
    The mask of one event on a spherical chunk, on a depth slice next to the gradient
    it multiplies: an `xarray.Dataset` with variables "mask" and "gradient" on a
    (latitude, longitude) grid, NaN outside the chunk (a bare array instead of the dict
    comes back as the variable "value")::

        import engine
        from engine import sampling
        from engine.cutouts import cutout_mask

        prem = engine.earth.prem()
        mesh = engine.mesh.spherical_chunk(38.0, 24.0, 14.0, 14.0, 400e3, prem, min_period_in_seconds=150.0)
        source = engine.Geographic(latitude=35.03, longitude=26.85, depth_in_meters=24e3)
        stations = [engine.Geographic(40.6, 22.9, 0.0), engine.Geographic(37.9, 23.7, 0.0)]
        mask = cutout_mask(mesh, sources=[source], receivers=stations,
                           source_radius=100e3, receiver_radius=50e3)
        # gradient: a per-point array of this mesh, e.g. engine.gradient(sim, adjoint_source)["vsv"]
        view = sampling.depth_slice(mesh, {"mask": mask, "gradient": gradient * mask}, 24e3)
        view["mask"].plot()   # dims (latitude, longitude), geocentric degrees

    ``sampling.chunk_grid(mesh, {"mask": mask})`` gives the whole (depth, latitude,
    longitude) volume, ``sampling.great_circle_section`` a vertical section through
    the source. The slice interpolates the mask's polynomial in each element, exact at
    the GLL points but not between them: where the taper is short against the element
    size it overshoots (in the example above, 150 km elements and a 50 km receiver
    radius, the slice spans -0.27 to 1.16). That is what the gradient is multiplied by,
    too; show it as it is, or ``.clip(0, 1)`` it for a colour scale, and prefer a
    ``taper_width`` of a few GLL spacings.
    """
    # Everything is checked before anything is computed, and named as the caller named it.
    width = None if taper_width is None else positive_float("taper_width", taper_width)
    kinds = []
    for kind, positions, radius in (("sources", sources, source_radius), ("receivers", receivers, receiver_radius)):
        c = _centres(mesh, positions, kind)
        if radius is not None:
            r = positive_float(f"{kind[:-1]}_radius", radius)
            kinds.append((c, r, r if width is None else width))
    mask = np.ones(mesh.point_shape)
    for c, r, w in kinds:
        mask *= _taper(mesh, c, r, w)
    return mask
