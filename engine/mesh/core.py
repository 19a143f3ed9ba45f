"""The dimension-generic spectral-element mesh.

A mesh is a list of elements, each carrying its own GLL points (a tensor-product grid of
``order + 1`` points per dimension), plus a global numbering that merges the points that
neighbouring elements share. Everything else (geometry factors, side sets) is derived
here once, so the physics kernels see plain arrays (how threads split the elements
without write conflicts is ``engine.physics._blocks``). 2D elements are quadrilaterals indexed ``[e, j, i]`` (i along the first
reference axis xi, j along eta); hexahedra (3D) follow as ``[e, k, j, i]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from .._validate import names
from ..geographic import Geographic
from ..gll import GLL, lagrange_basis, lagrange_basis_derivative

__all__ = ["Mesh", "Faces", "FACE_NAMES_2D", "FACE_NAMES_3D", "build_mesh", "point_dims", "structured_side_sets"]

# Local face numbering of a quadrilateral: which reference axis is fixed, and where.
FACE_NAMES_2D = ("xi_min", "xi_max", "eta_min", "eta_max")
# ... and of a hexahedron (zeta the third reference axis, index k).
FACE_NAMES_3D = ("xi_min", "xi_max", "eta_min", "eta_max", "zeta_min", "zeta_max")


@dataclass(frozen=True, eq=False)
class Faces:
    """Boundary integration data of one side set, for any dimension (see `Mesh.faces`).

    Attributes
    ----------
    elements : (n_faces,) int64, the element of each face.
    local_faces : (n_faces,) int64, its local face number (`FACE_NAMES_2D` / `FACE_NAMES_3D`).
    local_indices : ndim arrays (n_faces, n_fp) int64: the point indices ``(j, i)`` in 2D,
        ``(k, j, i)`` in 3D, so ``u[elements[:, None], *local_indices]`` is (n_faces, n_fp);
        n_fp = N+1 in 2D, (N+1)^2 in 3D.
    global_nodes : (n_faces, n_fp) int64, global index of every face point.
    weights : (n_faces, n_fp) float64, surface quadrature weights (``w_k |dx/ds|`` in 2D,
        m; ``w_a w_b |J_s|`` in 3D, m^2), so ``sum(f * weights)`` integrates f over the side.
    normals : (n_faces, n_fp, ndim) float64, outward unit normals.
    """

    elements: np.ndarray
    local_faces: np.ndarray
    local_indices: tuple
    global_nodes: np.ndarray
    weights: np.ndarray
    normals: np.ndarray

    @property
    def n_faces(self) -> int:
        return len(self.elements)

    @property
    def area(self) -> float:
        """Total measure of the side (m in 2D, m^2 in 3D)."""
        return float(self.weights.sum())


@dataclass(frozen=True, eq=False)
class Mesh:
    """A conforming spectral-element mesh (2D quadrilaterals or 3D hexahedra).

    Attributes
    ----------
    ndim : 2 or 3.
    gll : the GLL rule (order N, N + 1 points per dimension).
    coordinates : (n_elements, N+1, N+1[, N+1], ndim) float64, metres. Point ``[e, j, i]``.
    ibool : (n_elements, N+1, N+1[, N+1]) int32, global index of every element point.
    global_coordinates : (n_global, ndim) float64, metres.
    inverse_jacobian : (n_elements, ..., ndim, ndim) float64, ``[..., a, b] = d xi_a / d x_b``.
    jacobian : (n_elements, ...) float64, determinant of ``d x / d xi`` (positive).
    side_sets : name -> (n_faces, 2) int64 array of (element, local face).
    absorbing : names of the side sets that carry absorbing boundaries.
    axis_names : names of the coordinates, e.g. ("x", "z") or ("x", "y") for map view.
    element_layers : (n_elements,) int64 or None: for meshes built from a 1D Earth model
        (`spherical_chunk`), the model layer index of each element (-1 where an element
        spans several model layers, e.g. a merged crust), for ``EarthModel1D.evaluate(...,
        layer=...)``.
    chunk : None, or the `ChunkGeometry` of a spherical chunk (then the coordinates are
        Earth-centred Cartesian and `position` accepts `engine.Geographic`).
    """

    ndim: int
    gll: GLL
    coordinates: np.ndarray
    ibool: np.ndarray
    global_coordinates: np.ndarray
    inverse_jacobian: np.ndarray
    jacobian: np.ndarray
    side_sets: dict
    absorbing: tuple
    axis_names: tuple = ("x", "z")
    _tree: object = field(default=None, repr=False)
    element_layers: np.ndarray | None = field(default=None, repr=False)
    chunk: object = field(default=None, repr=False)
    _faces: dict = field(default_factory=dict, repr=False)

    # --- sizes -----------------------------------------------------------------------
    @property
    def order(self) -> int:
        return self.gll.order

    @property
    def n_elements(self) -> int:
        return self.ibool.shape[0]

    @property
    def n_global(self) -> int:
        return self.global_coordinates.shape[0]

    @property
    def point_shape(self) -> tuple:
        """Shape of a per-point field: ``(n_elements, N+1, N+1[, N+1])``."""
        return self.ibool.shape

    @property
    def point_dims(self) -> tuple[str, ...]:
        """Names of the axes of a per-point field, the one layout stored arrays use:
        ``("element", "j", "i")`` in 2D, ``("element", "k", "j", "i")`` in 3D (i along
        the first reference axis, k along the third)."""
        return point_dims(self.ndim)

    @property
    def bounds(self) -> np.ndarray:
        """(ndim, 2) array of the coordinate range."""
        return np.stack([self.global_coordinates.min(0), self.global_coordinates.max(0)], axis=1)

    def min_point_spacing(self) -> np.ndarray:
        """(n_elements,) smallest distance between neighbouring GLL points of each element."""
        c = self.coordinates
        spacing = np.full(self.n_elements, np.inf)
        for axis in range(1, self.ndim + 1):
            d = np.linalg.norm(np.diff(c, axis=axis), axis=-1)
            spacing = np.minimum(spacing, d.reshape(self.n_elements, -1).min(axis=1))
        return spacing

    def element_size(self) -> np.ndarray:
        """(n_elements,) largest edge length of each element (corner to corner), metres."""
        c = self.coordinates
        sizes = np.zeros(self.n_elements)
        for axis in range(1, self.ndim + 1):
            first = np.take(c, 0, axis=axis)
            last = np.take(c, -1, axis=axis)
            d = np.linalg.norm(last - first, axis=-1).reshape(self.n_elements, -1).max(axis=1)
            sizes = np.maximum(sizes, d)
        return sizes

    # --- quadrature -----------------------------------------------------------------
    def quadrature_weights(self) -> np.ndarray:
        """Per-point volume weights ``w_i w_j |J|`` (so ``sum(f * weights)`` integrates f)."""
        w = self.gll.weights
        if self.ndim == 2:
            tensor = w[:, None] * w[None, :]
        else:
            tensor = w[:, None, None] * w[None, :, None] * w[None, None, :]
        return self.jacobian * tensor

    def assemble(self, values: np.ndarray) -> np.ndarray:
        """Sum a per-point field into the global points, (n_global,) or (n_global, k)."""
        flat = self.ibool.reshape(-1)
        extra = values.shape[self.ibool.ndim:]
        out = np.zeros((self.n_global,) + extra, dtype=np.result_type(values, np.float64))
        np.add.at(out, flat, values.reshape((flat.size,) + extra))
        return out

    def face_points(self, face: int) -> tuple:
        """Local index tuple selecting the GLL points of a local face.

        2D: ``(j, i)``, each (N+1,). 3D: ``(k, j, i)``, each ((N+1)^2,), the two varying
        indices in array order (the slower one first).
        """
        n = self.gll.n_points
        idx = np.arange(n)
        if self.ndim == 3:
            fixed_axis, end = divmod(int(face), 2)  # reference axis 0 = xi (i), 1 = eta (j), 2 = zeta (k)
            if not 0 <= fixed_axis <= 2:
                raise ValueError(f"A hexahedron has local faces 0..5 {FACE_NAMES_3D}, but {face!r} was given.")
            a, b = np.meshgrid(idx, idx, indexing="ij")
            fixed = np.full(n * n, 0 if end == 0 else n - 1)
            a, b = a.ravel(), b.ravel()
            # Array order is (k, j, i) = (zeta, eta, xi).
            return {0: (a, b, fixed), 1: (a, fixed, b), 2: (fixed, a, b)}[fixed_axis]
        return {
            0: (idx, np.zeros(n, int)),
            1: (idx, np.full(n, n - 1)),
            2: (np.zeros(n, int), idx),
            3: (np.full(n, n - 1), idx),
        }[face]

    def face_geometry(self, element: int, face: int) -> tuple:
        """Boundary integration data of one face of one element (2D).

        Returns ``(points, weights, normals)``: the (n,) global indices of the face's GLL
        points, the (n,) line-integration weights ``w_k |dx/ds|`` in metres, and the
        (n, 2) outward unit normals. For hexahedra use :meth:`faces` (any dimension).
        """
        if self.ndim != 2:
            raise NotImplementedError("face_geometry is 2D only; use Mesh.faces(side) for hexahedra (any dimension).")
        j, i = self.face_points(face)
        c = self.coordinates[element]
        d = self.gll.derivative
        w = self.gll.weights
        # Tangent along the face: derivative along the reference axis that varies.
        if face in (0, 1):
            tangent = np.einsum("jk,kd->jd", d, c[:, i[0], :])
            outward_sign = -1.0 if face == 0 else 1.0
        else:
            tangent = np.einsum("ik,kd->id", d, c[j[0], :, :])
            outward_sign = -1.0 if face == 2 else 1.0
        length = np.linalg.norm(tangent, axis=1)
        t = tangent / length[:, None]
        # Rotate the tangent by -90 degrees; fix the sign with the reference direction.
        normal = np.stack([t[:, 1], -t[:, 0]], axis=1)
        inv = self.inverse_jacobian[element][j, i]  # (n, a, b) = d xi_a / d x_b
        ref_axis = 0 if face in (0, 1) else 1
        grad_ref = inv[:, ref_axis, :]  # gradient of the fixed reference coordinate
        flip = np.sign(np.einsum("nd,nd->n", normal, grad_ref)) * outward_sign
        normal = normal * flip[:, None]
        return self.ibool[element][j, i], w * length, normal

    def faces(self, side: str) -> Faces:
        """Boundary integration data of a side set, any dimension, computed once and cached.

        Parameters
        ----------
        side : a key of `side_sets` ("bottom", "z1", "r1", "absorbing", ...).

        Returns
        -------
        Faces: elements, local faces, local point indices, global nodes, surface weights
        and outward unit normals (shapes in `Faces`).

        Notes
        -----
        2D faces are exactly :meth:`face_geometry`'s (bit for bit). In 3D, on the face
        where reference coordinate xi_a is fixed, the area vector is
        ``n dS = +-|J| grad(xi_a) dxi_b dxi_c`` (Nanson's formula), so ``|J_s| = |J|
        |grad xi_a|`` and ``n = +-grad xi_a / |grad xi_a|`` (+ on the xi_a = +1 face), from
        the same inverse Jacobian the stiffness operator uses.
        """
        if side in self._faces:
            return self._faces[side]
        if side not in self.side_sets:
            raise ValueError(f"Unknown side set {side!r}; valid side sets are {sorted(self.side_sets)}.")
        pairs = np.asarray(self.side_sets[side], dtype=np.int64).reshape(-1, 2)
        elements, local = pairs[:, 0], pairs[:, 1]
        n = self.gll.n_points
        n_fp = n if self.ndim == 2 else n * n
        idx = [np.zeros((len(pairs), n_fp), np.int64) for _ in range(self.ndim)]
        nodes = np.zeros((len(pairs), n_fp), np.int64)
        weights = np.zeros((len(pairs), n_fp))
        normals = np.zeros((len(pairs), n_fp, self.ndim))
        w = self.gll.weights
        for face in np.unique(local):
            rows = np.flatnonzero(local == face)
            pts = self.face_points(int(face))
            for a in range(self.ndim):
                idx[a][rows] = pts[a]
            if self.ndim == 2:
                for r in rows:
                    nodes[r], weights[r], normals[r] = self.face_geometry(int(elements[r]), int(face))
                continue
            fixed_axis, end = divmod(int(face), 2)
            e = elements[rows][:, None]
            grad = self.inverse_jacobian[(e,) + tuple(pts)][..., fixed_axis, :]  # (m, n_fp, 3)
            norm = np.linalg.norm(grad, axis=-1)
            free = [ax for ax in range(3) if ax != fixed_axis]  # reference axes spanning the face
            # Array index of reference axis ax is 2 - ax ((k, j, i) = (zeta, eta, xi)).
            w_face = w[pts[2 - free[0]]] * w[pts[2 - free[1]]]
            weights[rows] = w_face * self.jacobian[(e,) + tuple(pts)] * norm
            normals[rows] = (1.0 if end == 1 else -1.0) * grad / norm[..., None]
            nodes[rows] = self.ibool[(e,) + tuple(pts)]
        for arr in (elements, local, nodes, weights, normals, *idx):
            arr.setflags(write=False)
        out = Faces(elements=elements, local_faces=local, local_indices=tuple(idx),
                    global_nodes=nodes, weights=weights, normals=normals)
        self._faces[side] = out
        return out

    def position(self, location) -> np.ndarray:
        """(ndim,) mesh coordinates of a location: a coordinate sequence in the mesh's
        axes (m), or, in a spherical chunk, an `engine.Geographic` (converted to
        Earth-centred Cartesian coordinates, see `engine.geographic`)."""
        if isinstance(location, Geographic):
            if self.chunk is None:
                raise ValueError(
                    f"A Geographic location needs a spherical mesh (engine.mesh.spherical_chunk), but this mesh has "
                    f"Cartesian axes {self.axis_names}; give the location as {len(self.axis_names)} coordinates in m."
                )
            return location.to_cartesian()
        p = np.asarray(location, dtype=float)
        if p.shape != (self.ndim,) or not np.all(np.isfinite(p)):
            raise ValueError(f"A location must have {self.ndim} finite coordinates {self.axis_names}, but {location!r} was given.")
        return p

    # --- point location and interpolation ----------------------------------------
    def locate(self, point) -> tuple:
        """Find the element and reference coordinates of a physical point.

        Returns ``(element, xi)`` with ``xi`` of shape (ndim,) in [-1, 1]. Raises
        ValueError when the point lies outside the mesh.
        """
        p = np.asarray(point, dtype=float)
        if p.shape != (self.ndim,):
            raise ValueError(
                f"A location must have {self.ndim} coordinates {self.axis_names}, but {tuple(p.tolist())} was given."
            )
        tree = self._tree
        if tree is None:
            tree = cKDTree(self.global_coordinates)
            object.__setattr__(self, "_tree", tree)
        # Candidate elements: those owning the nearest global points.
        _, nearest = tree.query(p, k=min(8, self.n_global))
        nearest = np.atleast_1d(nearest)
        flat = self.ibool.reshape(self.n_elements, -1)
        candidates = np.unique(np.nonzero(np.isin(flat, nearest))[0])
        best = None
        for e in candidates:
            xi, ok = self._reference_coordinates(e, p)
            excess = np.max(np.abs(xi)) - 1.0
            if ok and excess <= 1e-9:
                return int(e), np.clip(xi, -1.0, 1.0)
            if ok and (best is None or excess < best[0]):
                best = (excess, int(e), xi)
        if best is not None and best[0] < 1e-6:
            return best[1], np.clip(best[2], -1.0, 1.0)
        lo, hi = self.bounds.T
        raise ValueError(
            f"The location {tuple(p.tolist())} lies outside the mesh "
            f"(which spans {tuple(lo.tolist())} to {tuple(hi.tolist())}); move it inside."
        )

    def _reference_coordinates(self, element: int, p: np.ndarray) -> tuple:
        """Newton iteration for x(xi) = p inside one element."""
        nodes = self.gll.nodes
        c = self.coordinates[element].reshape(-1, self.ndim)
        xi = np.zeros(self.ndim)
        for _ in range(50):
            phi, dphi = self._basis(nodes, xi)
            x = phi @ c
            jac = np.stack([dp @ c for dp in dphi], axis=1)  # (ndim x, ndim xi)
            try:
                delta = np.linalg.solve(jac, p - x)
            except np.linalg.LinAlgError:
                return xi, False
            xi = xi + delta
            if np.max(np.abs(xi)) > 3.0:
                return xi, False
            if np.max(np.abs(delta)) < 1e-13:
                break
        return xi, True

    def _basis(self, nodes, xi):
        """Tensor-product basis values (n,) and reference derivatives [(n,)] at xi."""
        vals = [lagrange_basis(nodes, x) for x in xi]
        ders = [lagrange_basis_derivative(nodes, x) for x in xi]
        if self.ndim == 2:
            phi = np.outer(vals[1], vals[0]).ravel()
            dphi = [np.outer(vals[1], ders[0]).ravel(), np.outer(ders[1], vals[0]).ravel()]
        else:
            phi = np.einsum("k,j,i->kji", vals[2], vals[1], vals[0]).ravel()
            dphi = [
                np.einsum("k,j,i->kji", vals[2], vals[1], ders[0]).ravel(),
                np.einsum("k,j,i->kji", vals[2], ders[1], vals[0]).ravel(),
                np.einsum("k,j,i->kji", ders[2], vals[1], vals[0]).ravel(),
            ]
        return phi, dphi

    def locate_many(self, points: np.ndarray) -> tuple:
        """Vectorised :meth:`locate` for many points (used to sample fields on grids).

        Returns ``(elements, xi)`` shaped (n,) and (n, ndim); points outside the mesh get
        element -1.
        """
        pts = np.asarray(points, dtype=float).reshape(-1, self.ndim)
        flat = self.coordinates.reshape(-1, self.ndim)
        tree = cKDTree(flat)
        k = min(4 * 2 ** self.ndim, len(flat))
        _, nearest = tree.query(pts, k=k)
        owners = nearest // (self.gll.n_points ** self.ndim)
        elements = np.full(len(pts), -1, dtype=np.int64)
        xi_out = np.zeros((len(pts), self.ndim))
        todo = np.arange(len(pts))
        for column in range(k):
            if todo.size == 0:
                break
            cand = owners[todo, column]
            xi, ok = self._newton_many(cand, pts[todo])
            inside = ok & (np.max(np.abs(xi), axis=1) <= 1.0 + 1e-8)
            elements[todo[inside]] = cand[inside]
            xi_out[todo[inside]] = np.clip(xi[inside], -1.0, 1.0)
            todo = todo[~inside]
        return elements, xi_out

    def _newton_many(self, elements: np.ndarray, pts: np.ndarray) -> tuple:
        nodes = self.gll.nodes
        c = self.coordinates[elements].reshape(len(elements), -1, self.ndim)
        xi = np.zeros_like(pts)
        for _ in range(30):
            vals = [lagrange_basis(nodes, xi[:, a]) for a in range(self.ndim)]
            ders = [lagrange_basis_derivative(nodes, xi[:, a]) for a in range(self.ndim)]
            phi, dphi = _tensor_basis(vals, ders)
            x = np.einsum("pn,pnd->pd", phi, c)
            jac = np.stack([np.einsum("pn,pnd->pd", dp, c) for dp in dphi], axis=2)
            delta = np.linalg.solve(jac, (pts - x)[..., None])[..., 0]
            xi = np.clip(xi + delta, -3.0, 3.0)
            if np.max(np.abs(delta)) < 1e-13:
                break
        return xi, np.all(np.isfinite(xi), axis=1)

    def interpolation_matrix(self, points: np.ndarray) -> tuple:
        """Exact interpolation of per-point fields at many points.

        Returns ``(elements, weights)`` with weights shaped (n, N+1, N+1[, N+1]) so that
        ``einsum('p...,p...->p', weights, field[elements])`` samples ``field``. Points
        outside the mesh get element -1 and zero weights.
        """
        elements, xi = self.locate_many(points)
        vals = [lagrange_basis(self.gll.nodes, xi[:, a]) for a in range(self.ndim)]
        phi, _ = _tensor_basis(vals, vals)
        phi[elements < 0] = 0.0
        return elements, phi.reshape((len(elements),) + self.ibool.shape[1:])

    def elements_containing(self, point) -> list[tuple[int, np.ndarray]]:
        """Every (element, xi) containing the point: more than one on element edges and
        corners (where basis gradients differ from one element to the next)."""
        element, xi = self.locate(point)
        if np.max(np.abs(xi)) < 1.0 - 1e-9:
            return [(element, xi)]
        p = np.asarray(point, dtype=float)
        _, nearest = self._tree.query(p, k=min(8, self.n_global))
        flat = self.ibool.reshape(self.n_elements, -1)
        found = []
        for e in np.unique(np.nonzero(np.isin(flat, np.atleast_1d(nearest)))[0]):
            xi_e, ok = self._reference_coordinates(int(e), p)
            if ok and np.max(np.abs(xi_e)) <= 1.0 + 1e-9:
                found.append((int(e), np.clip(xi_e, -1.0, 1.0)))
        return found or [(element, xi)]

    def gradient_weights(self, point) -> list[tuple[int, np.ndarray]]:
        """[(element, d phi / d x (..., ndim))] for every element containing the point."""
        out = []
        for element, xi in self.elements_containing(point):
            _, dphi = self._basis(self.gll.nodes, xi)
            c = self.coordinates[element].reshape(-1, self.ndim)
            jac = np.stack([dp @ c for dp in dphi], axis=1)
            grad = np.stack(dphi, axis=1) @ np.linalg.inv(jac)
            out.append((element, grad.reshape(self.ibool.shape[1:] + (self.ndim,))))
        return out

    def interpolation(self, point) -> tuple:
        """Exact Lagrange interpolation at a point.

        Returns ``(element, weights, gradient_weights)``: ``weights`` shaped like one
        element's points, so ``sum(weights * f[element])`` is the field at the point;
        ``gradient_weights`` (..., ndim) gives its physical gradient the same way.
        """
        element, xi = self.locate(point)
        phi, dphi = self._basis(self.gll.nodes, xi)
        c = self.coordinates[element].reshape(-1, self.ndim)
        jac = np.stack([dp @ c for dp in dphi], axis=1)  # d x_d / d xi_a
        inv = np.linalg.inv(jac)  # d xi_a / d x_d
        grad = np.stack(dphi, axis=1) @ inv  # (n, ndim): d phi / d x_d
        shape = self.ibool.shape[1:]
        return element, phi.reshape(shape), grad.reshape(shape + (self.ndim,))


def _tensor_basis(vals: list, ders: list) -> tuple:
    """Tensor-product basis (p, n) and its reference derivatives for batches of points."""
    if len(vals) == 2:
        phi = np.einsum("pj,pi->pji", vals[1], vals[0]).reshape(len(vals[0]), -1)
        dphi = [
            np.einsum("pj,pi->pji", vals[1], ders[0]).reshape(len(vals[0]), -1),
            np.einsum("pj,pi->pji", ders[1], vals[0]).reshape(len(vals[0]), -1),
        ]
    else:
        p = len(vals[0])
        phi = np.einsum("pk,pj,pi->pkji", vals[2], vals[1], vals[0]).reshape(p, -1)
        dphi = [
            np.einsum("pk,pj,pi->pkji", vals[2], vals[1], ders[0]).reshape(p, -1),
            np.einsum("pk,pj,pi->pkji", vals[2], ders[1], vals[0]).reshape(p, -1),
            np.einsum("pk,pj,pi->pkji", ders[2], vals[1], vals[0]).reshape(p, -1),
        ]
    return phi, dphi


def _geometry(coordinates: np.ndarray, rule: GLL) -> tuple:
    """Jacobian determinant and inverse at every GLL point from the point coordinates."""
    d = rule.derivative
    ndim = coordinates.shape[-1]
    if ndim == 2:
        dx_dxi = np.einsum("ik,ejkd->ejid", d, coordinates)
        dx_deta = np.einsum("jk,ekid->ejid", d, coordinates)
        jac = np.stack([dx_dxi, dx_deta], axis=-1)  # [..., d, a] = d x_d / d xi_a
    else:
        dx_dxi = np.einsum("il,ekjld->ekjid", d, coordinates)
        dx_deta = np.einsum("jl,eklid->ekjid", d, coordinates)
        dx_dzeta = np.einsum("kl,eljid->ekjid", d, coordinates)
        jac = np.stack([dx_dxi, dx_deta, dx_dzeta], axis=-1)
    det = np.linalg.det(jac)
    if np.any(det <= 0):
        bad = np.unique(np.nonzero(det <= 0)[0])[:5]
        raise ValueError(
            f"The mesh has inverted or degenerate elements (for example {bad.tolist()}): "
            "check the topography, which must stay above the bottom of the domain."
        )
    inv = np.linalg.inv(jac)  # [..., a, d] = d xi_a / d x_d
    return det, inv


def _global_numbering(coordinates: np.ndarray) -> tuple:
    """Merge coincident element points into global points (any conforming mesh)."""
    ndim = coordinates.shape[-1]
    pts = coordinates.reshape(-1, ndim)
    extent = np.ptp(pts, axis=0).max()
    tol = 1e-9 * max(extent, 1.0)
    pairs = cKDTree(pts).query_pairs(r=tol, output_type="ndarray")
    n = len(pts)
    graph = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    # Renumber in order of first appearance so element-local points stay close in memory.
    _, first = np.unique(labels, return_index=True)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    ibool = rank[labels].astype(np.int32).reshape(coordinates.shape[:-1])
    global_coords = np.zeros((len(order), ndim))
    global_coords[ibool.reshape(-1)] = pts
    return ibool, global_coords


def point_dims(ndim: int) -> tuple[str, ...]:
    """The per-point axis names of a ``ndim``-dimensional mesh (see ``Mesh.point_dims``)."""
    return ("element",) + ("k", "j", "i")[3 - int(ndim):]


def structured_side_sets(elements_on_side: dict, local_face: dict, absorbing) -> dict:
    """Side sets of a structured mesh: ``name -> (n_faces, 2)`` (element, local face) for each
    side, plus ``"free_surface"`` (the sides that do not absorb) and ``"absorbing"``.

    ``elements_on_side[name]`` holds the elements along that side (any shape), whose local
    face ``local_face[name]`` lies on it.
    """
    sets = {name: np.stack([np.ravel(elements_on_side[name]), np.full(np.size(elements_on_side[name]), face)],
                           axis=1).astype(np.int64) for name, face in local_face.items()}
    empty = np.zeros((0, 2), np.int64)
    free = [sets[s] for s in local_face if s not in absorbing]
    sets["free_surface"] = np.concatenate(free) if free else empty
    sets["absorbing"] = np.concatenate([sets[s] for s in absorbing]) if absorbing else empty
    return sets


def build_mesh(coordinates: np.ndarray, rule: GLL, side_sets: dict, absorbing=(), axis_names=("x", "z"),
               element_layers: np.ndarray | None = None, chunk=None) -> Mesh:
    """Derive numbering and geometry from per-element GLL coordinates.

    ``element_layers`` and ``chunk`` are passed through to the `Mesh` (see its attributes).
    """
    # Before the geometry: a bare string would be read as single-letter side sets.
    absorbing = names("absorbing", absorbing, sorted(side_sets), what="side sets")
    coordinates = np.ascontiguousarray(coordinates, dtype=np.float64)
    if not np.all(np.isfinite(coordinates)):
        raise ValueError(f"The 'coordinates' must be finite, but {int((~np.isfinite(coordinates)).sum())} are NaN or infinite.")
    det, inv = _geometry(coordinates, rule)
    ibool, global_coords = _global_numbering(coordinates)
    for arr in (coordinates, ibool, global_coords, det, inv):
        arr.setflags(write=False)
    return Mesh(
        ndim=coordinates.shape[-1],
        gll=rule,
        coordinates=coordinates,
        ibool=ibool,
        global_coordinates=global_coords,
        inverse_jacobian=inv,
        jacobian=det,
        side_sets=dict(side_sets),
        absorbing=tuple(absorbing),
        axis_names=tuple(axis_names),
        element_layers=element_layers,
        chunk=chunk,
    )
