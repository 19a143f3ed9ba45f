"""Receivers: named locations where the field is interpolated exactly at every step.

A receiver sits at a point in the mesh's frame ((x, z) or (x, y, z), m) or, in a
spherical chunk (`engine.mesh.spherical_chunk`), at an `engine.Geographic` position.
The time loop records the mesh-frame components of the field there (exact Lagrange
interpolation in the element that contains the point). The seismograms then carry:

* 2D: the physics' components ("X", "Z" for P-SV, "Y" for SH, "P" for acoustic) and
  the coordinates ``x``, ``z`` on the receiver dim (as always);
* a 3D box, (x, y, z) receivers: components "X", "Y", "Z" and coordinates ``x``, ``y``, ``z``;
* a chunk, Geographic receivers: components "Z" (up, e_r), "N" (north, -e_theta) and
  "E" (east, e_phi) at each receiver, ``(Z, N, E) = Geographic.zne() @ (u_x, u_y, u_z)``,
  and coordinates ``latitude``, ``longitude`` (degrees, geocentric) and ``depth`` (m).

A scalar field (pressure) is never rotated. The rotation is orthogonal, so the adjoint
source of a (Z, N, E) seismogram goes back to the mesh frame with the transpose
(:meth:`Receivers.to_mesh_frame`).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import describe, numbers
from .geographic import Geographic
from .gll import lagrange_basis
from .mesh import Mesh

__all__ = ["Receivers", "ReceiverTerms", "locate_in_chunk"]

ZNE = ("Z", "N", "E")
XYZ = ("X", "Y", "Z")


class Receivers:
    """A set of receivers.

    Parameters
    ----------
    locations : (n, ndim) coordinates in metres in the mesh's frame, [(x, z), ...] in 2D or
        [(x, y, z), ...] in 3D; or a list of `engine.Geographic` positions (a spherical
        chunk only; then every receiver records Z, N, E). Not a mix of the two.
    names : optional names; "NET.STA" names become the obspy network and station codes.
        Default "R000", "R001", ...

    Attributes
    ----------
    locations : (n, ndim) float64, mesh-frame coordinates in m (Earth-centred Cartesian
        ``Geographic.to_cartesian()`` for Geographic receivers).
    geographic : tuple of `engine.Geographic`, or None for Cartesian receivers.
    names : tuple of str.

    >>> import engine
    >>> rec = engine.Receivers([engine.Geographic(47.3, 7.7, 0.0)], names=["CH.BALST"])
    >>> rec.locations.shape, rec.geographic[0].latitude
    ((1, 3), 47.3)
    """

    def __init__(self, locations: Sequence[Sequence[float]] | Sequence[Geographic], names: Sequence[str] | None = None):
        geographic = _geographic_positions(locations)
        if geographic is not None:
            locs = np.stack([g.to_cartesian() for g in geographic])
        else:
            locs = np.atleast_2d(numbers("locations", locations))
        if locs.size == 0:
            raise ValueError("At least one receiver location is needed.")
        if locs.ndim != 2:
            raise ValueError(
                f"The 'locations' parameter must be a list of points [(x, z), ...], shaped (n, ndim), but an "
                f"array shaped {locs.shape} was given."
            )
        if names is None:
            names = [f"R{i:03d}" for i in range(len(locs))]
        if isinstance(names, (str, bytes)):
            raise ValueError(
                f"The 'names' parameter must be a list of names, one per location, such as [{names!r}], "
                f"but the string {names!r} was given."
            )
        try:
            names = [str(n) for n in names]
        except TypeError:
            raise ValueError(f"The 'names' parameter must be a list of names, but {describe(names)} was given.") from None
        if len(names) != len(locs):
            raise ValueError(f"{len(names)} receiver names were given for {len(locs)} locations; give one name each.")
        if len(set(names)) != len(names):
            raise ValueError("Receiver names must be unique.")
        self.locations = locs
        self.geographic = geographic
        self.names = tuple(names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Receivers({len(self)}: {', '.join(self.names[:4])}{', ...' if len(self) > 4 else ''})"

    # --- what the seismograms carry ---------------------------------------------
    def coordinates(self) -> dict:
        """The seismograms' coordinates on the receiver dim: name -> ("receiver", values[, attrs]).

        ``x``, ``z`` in 2D (whatever the mesh's axis names, as before); ``x``, ``y``, ``z``
        for 3D Cartesian receivers; ``latitude``, ``longitude`` (degrees) and ``depth`` (m)
        for Geographic ones.
        """
        if self.geographic is not None:
            g = self.geographic
            return {
                "latitude": ("receiver", np.array([p.latitude for p in g]), {"units": "degrees", "long_name": "geocentric latitude"}),
                "longitude": ("receiver", np.array([p.longitude for p in g]), {"units": "degrees"}),
                "depth": ("receiver", np.array([p.depth_in_meters for p in g]), {"units": "m"}),
            }
        if self.locations.shape[1] == 2:
            return {"x": ("receiver", self.locations[:, 0]), "z": ("receiver", self.locations[:, 1])}
        return {axis: ("receiver", self.locations[:, a]) for a, axis in enumerate(("x", "y", "z")[: self.locations.shape[1]])}

    def rotation(self) -> np.ndarray | None:
        """(n, 3, 3) matrices whose rows are the Z, N, E unit vectors at each receiver
        (`Geographic.zne`), or None for Cartesian receivers (no rotation)."""
        if self.geographic is None:
            return None
        return np.stack([g.zne() for g in self.geographic])

    def recorded(self, record: np.ndarray, components: Sequence[str]) -> tuple[np.ndarray, tuple]:
        """Mesh-frame recordings (n, n_comp, n_times) as the seismograms' (values, component names).

        A 3-component record of 3D receivers becomes (X, Y, Z), or (Z, N, E) rotated at each
        Geographic receiver; anything else (2D, or a scalar field) keeps ``components``
        unchanged (the physics' names), values untouched.
        """
        record = np.asarray(record, dtype=np.float64)
        if self.locations.shape[1] != 3 or record.ndim != 3 or record.shape[1] != 3:
            return record, tuple(components)
        rot = self.rotation()
        if rot is None:
            return record, XYZ
        return np.einsum("rij,rjt->rit", rot, record), ZNE

    def to_mesh_frame(self, values: np.ndarray) -> np.ndarray:
        """The transpose of the rotation in :meth:`recorded`: (n, 3, n_times) (Z, N, E)
        values (an adjoint source) to mesh-frame (x, y, z) components. Values of
        Cartesian receivers, or not shaped (n, 3, ...), pass unchanged."""
        values = np.asarray(values)
        rot = self.rotation()
        if rot is None or values.ndim < 2 or values.shape[1] != 3:
            return values
        return np.einsum("rji,rj...->ri...", rot, values)


def _geographic_positions(locations) -> tuple | None:
    """The Geographic receivers of ``locations`` (a Geographic or a list of them), or None
    when none is Geographic; a mix of Geographic and coordinates is refused."""
    if isinstance(locations, Geographic):
        return (locations,)
    if isinstance(locations, (str, bytes, np.ndarray)) or not hasattr(locations, "__iter__"):
        return None
    items = list(locations)
    flags = [isinstance(p, Geographic) for p in items]
    if not any(flags):
        return None
    if not all(flags):
        raise ValueError(
            "The 'locations' parameter must be all engine.Geographic positions or all mesh coordinates, "
            f"but a mix was given ({sum(flags)} Geographic of {len(items)})."
        )
    return tuple(items)


@dataclass(frozen=True)
class ReceiverTerms:
    """Discretised receivers: ``record[r, c] = sum_p weights[r, p] * u[nodes[r, p], c]``
    (mesh-frame components; the seismograms rotate them, see :meth:`Receivers.recorded`)."""

    nodes: np.ndarray  # (n_receivers, n_points) int64
    weights: np.ndarray  # (n_receivers, n_points)

    @classmethod
    def build(cls, receivers: Receivers, mesh: Mesh, dtype) -> "ReceiverTerms":
        if not isinstance(receivers, Receivers):
            raise TypeError(f"'receivers' must be an engine.Receivers object, but {type(receivers).__name__} was given.")
        if receivers.geographic is not None:
            mesh.position(receivers.geographic[0])  # refuses a Geographic receiver on a Cartesian mesh
        if receivers.locations.shape[1] != mesh.ndim:
            raise ValueError(
                f"Receiver locations need {mesh.ndim} coordinates {mesh.axis_names}, but {receivers.locations.shape[1]} were given."
            )
        elements, phi = mesh.interpolation_matrix(receivers.locations)
        if mesh.chunk is not None:
            # On the chunk's curved surface the discrete element (the degree-N interpolant of
            # the sphere) lies a hair inside the true one: clamp such receivers onto it.
            phi = np.array(phi)
            for r in np.nonzero(elements < 0)[0]:
                found = locate_in_chunk(mesh, receivers.locations[r])
                if found is not None:
                    elements[r], phi[r] = found[0], basis_values(mesh, found[1])
        outside = np.nonzero(elements < 0)[0]
        if len(outside):
            lo, hi = mesh.bounds.T
            raise ValueError(
                f"Receiver(s) {[receivers.names[i] for i in outside]} lie outside the mesh (which spans "
                f"{tuple(lo.tolist())} to {tuple(hi.tolist())}); move them inside."
            )
        nodes = mesh.ibool[elements].reshape(len(elements), -1).astype(np.int64)
        return cls(nodes, np.ascontiguousarray(phi.reshape(len(elements), -1), dtype=dtype))


def basis_values(mesh: Mesh, xi: np.ndarray) -> np.ndarray:
    """Lagrange basis of one element at reference point ``xi`` (ndim,), shaped like its points."""
    vals = [lagrange_basis(mesh.gll.nodes, float(x)) for x in xi]
    if mesh.ndim == 2:
        return np.einsum("j,i->ji", vals[1], vals[0])
    return np.einsum("k,j,i->kji", vals[2], vals[1], vals[0])


# Radial excess (in reference coordinates) above which a point is not "on the surface".
_SURFACE_EXCESS = 1e-2
_ROUNDOFF = 1e-12


def locate_in_chunk(mesh: Mesh, point) -> tuple[int, np.ndarray] | None:
    """(element, xi) of a point inside a spherical chunk but just outside its discrete
    top or bottom surface, with xi clamped onto that surface; None if there is none.

    The chunk's curved top and bottom are the degree-N interpolants of spheres through
    the GLL points, so between the points they lie slightly inside the true sphere
    (about 3e-9 of an element's thickness at order 4 for 5-degree elements, 1e-4 at
    order 2): a receiver at depth 0 is then outside every element by that much, and
    `Mesh.locate` refuses it. Here a point whose exact chunk coordinates
    (`ChunkGeometry.cartesian_to_reference`) are inside the chunk is looked for in the
    top and bottom shells of elements near it; if Newton's reference coordinates are
    inside laterally and only the radial one exceeds 1 (by at most 1e-2), the point is
    projected (radially, in reference coordinates) onto the discrete surface.
    Lateral sides are planes (exact), so they need no such care.
    """
    chunk = mesh.chunk
    p = np.asarray(point, dtype=float)
    xi_g, eta_g, r = (float(v) for v in chunk.cartesian_to_reference(p))
    inside = (np.isfinite(xi_g) and np.isfinite(eta_g) and abs(xi_g) <= 1.0 + _ROUNDOFF and abs(eta_g) <= 1.0 + _ROUNDOFF
              and chunk.r_bottom * (1.0 - _ROUNDOFF) <= r <= chunk.r_top * (1.0 + _ROUNDOFF))
    if not inside:
        return None
    n_xi, n_eta = chunk.lateral_elements
    n_r = mesh.n_elements // (n_xi * n_eta)
    kx = min(max(int(np.floor((xi_g + 1.0) / 2.0 * n_xi)), 0), n_xi - 1)
    ke = min(max(int(np.floor((eta_g + 1.0) / 2.0 * n_eta)), 0), n_eta - 1)
    best = None
    for kr in sorted({0, n_r - 1}):
        for dke in (-1, 0, 1):
            for dkx in (-1, 0, 1):
                if not (0 <= ke + dke < n_eta and 0 <= kx + dkx < n_xi):
                    continue
                e = (kr * n_eta + ke + dke) * n_xi + kx + dkx
                xi, ok = mesh._reference_coordinates(e, p)
                if not ok or np.max(np.abs(xi[:2])) > 1.0 + 1e-9:
                    continue
                excess = abs(xi[2]) - 1.0
                if excess <= _SURFACE_EXCESS and (best is None or excess < best[0]):
                    best = (excess, e, xi)
    if best is None:
        return None
    return best[1], np.clip(best[2], -1.0, 1.0)
