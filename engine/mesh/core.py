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

from ..gll import GLL, lagrange_basis, lagrange_basis_derivative

__all__ = ["Mesh", "FACE_NAMES_2D", "build_mesh"]

# Local face numbering of a quadrilateral: which reference axis is fixed, and where.
FACE_NAMES_2D = ("xi_min", "xi_max", "eta_min", "eta_max")


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
        """Local index tuple selecting the GLL points of a local face (2D)."""
        if self.ndim != 2:
            raise NotImplementedError("Faces of hexahedra come with the 3D meshes.")
        n = self.gll.n_points
        idx = np.arange(n)
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
        (n, 2) outward unit normals.
        """
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


def build_mesh(coordinates: np.ndarray, rule: GLL, side_sets: dict, absorbing=(), axis_names=("x", "z")) -> Mesh:
    """Derive numbering and geometry from per-element GLL coordinates."""
    coordinates = np.ascontiguousarray(coordinates, dtype=np.float64)
    det, inv = _geometry(coordinates, rule)
    ibool, global_coords = _global_numbering(coordinates)
    unknown = [name for name in absorbing if name not in side_sets]
    if unknown:
        raise ValueError(
            f"Unknown absorbing side set(s) {unknown}; valid names are {sorted(side_sets)}."
        )
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
    )
