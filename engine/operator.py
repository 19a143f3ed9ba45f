"""The discrete wave operator of one (mesh, model, physics, precision): M, C and K.

Built once per simulation; the time loop, the CFL estimate and (later) the adjoint all
use it. Absorbing boundaries enter as the damping C (Clayton-Engquist / Stacey on the
absorbing side sets, plus an optional mass-proportional sponge), precomputed into
per-point ``n_comp x n_comp`` blocks for the implicit-in-C, explicit-in-K update.

The boundary terms (the Dirichlet points, the Stacey damping, the sponge's distance to
the absorbing sides) come from ``Mesh.faces(side)``, vectorised over every face of a side,
so they are the same code for quadrilaterals (2D) and hexahedra (3D).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from ._validate import describe, number, optional_number
from .mesh import Faces, Mesh
from .model import Model
from .physics import Physics
from .stiffness import StiffnessOperator

__all__ = ["WaveOperator", "face_values", "stacey_damping", "dirichlet_points", "distance_to_sides", "sponge_width"]

SPONGE_STRENGTH = 1.0

_PRECISIONS = {"float64": np.float64, "float32": np.float32}


def face_values(faces: Faces, per_point: np.ndarray, component_axis: int | None = None) -> np.ndarray:
    """A per-point field at every point of a side's faces, flattened face by face.

    Parameters
    ----------
    faces : a `Faces` of the mesh (``mesh.faces(side)``).
    per_point : (n_elements, *point_shape) field, or (n_elements, n_c, *point_shape) when
        ``component_axis=1`` (the layout of ``physics.coefficients``).

    Returns
    -------
    (n_faces * n_fp,) or (n_faces * n_fp, n_c) array, in the order of
    ``faces.global_nodes.ravel()``.
    """
    if component_axis is not None:
        per_point = np.moveaxis(per_point, component_axis, -1)
    values = per_point[(faces.elements[:, None],) + tuple(faces.local_indices)]  # (n_faces, n_fp[, n_c])
    return values.reshape((-1,) + values.shape[2:])


def stacey_damping(mesh: Mesh, physics: Physics, coefficients: np.ndarray, mass_density: np.ndarray,
                   sides=None) -> np.ndarray:
    """Assembled Clayton-Engquist / Stacey damping ``C = sum_faces w |J_s| Z(n)``, any dimension.

    Parameters
    ----------
    mesh : the mesh (2D or 3D).
    physics : gives ``impedance(coefficients (n, n_coeff), mass_density (n,), normals (n, ndim))
        -> (n, n_comp, n_comp)``.
    coefficients : (n_elements, n_coeff, *point_shape) float64, ``physics.coefficients(model)``.
    mass_density : (n_elements, *point_shape) float64, ``physics.mass_density(model)``.
    sides : side-set names to damp; default ``mesh.absorbing``.

    Returns
    -------
    (n_global, n_comp, n_comp) float64, n_comp as the impedance gives it (ndim for elastic);
    rows of points without damping are zero.
    """
    dense = None
    for side in mesh.absorbing if sides is None else sides:
        faces = mesh.faces(side)
        coeff = face_values(faces, coefficients, component_axis=1)  # (n, n_coeff)
        z = physics.impedance(coeff, face_values(faces, mass_density), faces.normals.reshape(-1, mesh.ndim))
        if dense is None:
            dense = np.zeros((mesh.n_global,) + z.shape[1:])
        # np.add.at adds in index order: the faces' order, so 2D sums match the per-face loop bit for bit.
        np.add.at(dense, faces.global_nodes.reshape(-1), faces.weights.reshape(-1)[:, None, None] * z)
    if dense is None:
        dense = np.zeros((mesh.n_global, physics.n_components, physics.n_components))
    return dense


def dirichlet_points(mesh: Mesh, side: str = "free_surface") -> np.ndarray:
    """(n_global,) bool, True on the points of a side set (none if the mesh has no such set)."""
    held = np.zeros(mesh.n_global, dtype=bool)
    if side in mesh.side_sets:
        held[mesh.faces(side).global_nodes.reshape(-1)] = True
    return held


def distance_to_sides(mesh: Mesh, sides) -> np.ndarray | None:
    """(n_global,) distance (m) of every global point to the nearest GLL point on the given
    side sets, any dimension; None if they have no faces. This is the distance to the
    boundary's points, not to its surface: exact where a point lies on a grid line that
    meets the side (structured meshes), otherwise larger by less than the face's point
    spacing."""
    boundary = [mesh.faces(side).global_nodes.reshape(-1) for side in sides]
    if not boundary or not sum(b.size for b in boundary):
        return None
    pts = mesh.global_coordinates[np.unique(np.concatenate(boundary))]
    dist, _ = cKDTree(pts).query(mesh.global_coordinates)
    return dist


def sponge_width(number_of_wavelengths: float, reference_velocity: float, reference_frequency: float) -> float:
    """Width (m) of a sponge layer given as Salvus users give it: a number of wavelengths
    of a reference velocity (m/s) at a reference frequency (Hz),
    ``number_of_wavelengths * reference_velocity / reference_frequency``. Pass it as
    ``engine.simulate(..., sponge_width=...)``; the layer lies inside the absorbing sides.

    >>> sponge_width(3.5, 4500.0, 1 / 70.0)  # 3.5 S wavelengths at 70 s in the mantle
    1102500.0
    """
    n = number("number_of_wavelengths", number_of_wavelengths, "positive")
    v = number("reference_velocity", reference_velocity, "positive")
    f = number("reference_frequency", reference_frequency, "positive")
    return n * v / f


def resolve_precision(precision) -> type:
    try:
        return _PRECISIONS[str(np.dtype(precision))] if not isinstance(precision, str) else _PRECISIONS[precision]
    except (KeyError, TypeError):
        raise ValueError(f"The 'precision' parameter must be one of {list(_PRECISIONS)}, but {precision!r} was given.") from None


@dataclass(eq=False)
class WaveOperator:
    """Everything the time loop needs, as arrays in the simulation precision.

    Attributes
    ----------
    mass : (n_global,) float64 assembled diagonal mass (its density is rho or 1/kappa).
    damping_nodes, damping_blocks : (n,) points with damping and their (n, n_comp, n_comp)
        float64 blocks of C (Stacey faces plus the sponge).
    dirichlet : (n_global,) bool, points held at zero (acoustic free surface).
    stiffness_operator : the `StiffnessOperator` K (blocks, geometry, material).
    """

    mesh: Mesh
    model: Model
    physics: Physics
    dtype: type
    sponge_width: float | None = None
    stiffness_operator: StiffnessOperator = field(init=False)

    def __post_init__(self):
        mesh, model, physics, dtype = self.mesh, self.model, self.physics, self.dtype
        if not isinstance(mesh, Mesh):
            raise TypeError(f"The 'mesh' parameter must be an engine mesh (engine.mesh.*), but {describe(mesh)} was given.")
        if not isinstance(model, Model):
            raise TypeError(f"The 'model' parameter must be an engine.Model, but {describe(model)} was given.")
        self.sponge_width = optional_number("sponge_width", self.sponge_width, "positive")
        if model.mesh is not mesh:
            raise ValueError("The model was built on a different mesh; build it with engine.Model.*(mesh, ...).")
        if getattr(physics, "ndim", None) != mesh.ndim:
            raise ValueError(f"The {getattr(physics, 'name', physics)!r} physics given is for {getattr(physics, 'ndim', '?')}D "
                             f"meshes, but the mesh is {mesh.ndim}D; use engine.physics.get(name, {mesh.ndim}).")
        physics.check_model(model)
        self.coefficients = physics.coefficients(model)  # (n_elem, n_coeff, *point_axes) float64
        self.mass_density = physics.mass_density(model)
        n_coeff = self.coefficients.shape[1]
        kernel, material_of = physics.stiffness_kernel(n_coeff)
        sensitivity = (physics.sensitivity_kernels or {}).get(n_coeff)
        self.stiffness_operator = StiffnessOperator.build(
            mesh, self.coefficients, kernel, material_of, physics.n_components, dtype,
            sensitivity_mode=physics.sensitivity_mode(model), sensitivity=sensitivity)
        self.mass = mesh.assemble(self.mass_density * mesh.quadrature_weights())
        if physics.dirichlet_free_surface:
            self.dirichlet = dirichlet_points(mesh, "free_surface")
        else:
            self.dirichlet = np.zeros(mesh.n_global, dtype=bool)
        self.sponge = np.zeros(mesh.n_global)  # mass-proportional damping rate d(x), 1/s
        self.damping_nodes, self.damping_blocks = self._damping_blocks()
        self._stepping_cache: dict = {}
        self._stable_dt = None

    @property
    def n_components(self) -> int:
        return self.physics.n_components

    @property
    def blocks(self):
        """The `ElementBlocks` of the stiffness operator (layout and schedule)."""
        return self.stiffness_operator.blocks

    # --- operators ------------------------------------------------------------------
    def stiffness(self, u: np.ndarray, ku: np.ndarray) -> None:
        """ku = K u for (n_global, n_comp) arrays in the operator's precision."""
        self.stiffness_operator.apply(u, ku)

    def stiffness_and_sensitivity(self, u: np.ndarray, ku: np.ndarray, fwd: np.ndarray, sens: np.ndarray) -> None:
        """ku = K u, and sens += d(u^T K fwd)/d(coefficients) per point (blocked layout,
        shaped like ``new_sensitivity()``). For isotropic P-SV models only the c13 and c55
        slots are used, as d/d lambda and d/d mu (see ``physics._kernels``): the chain rule
        through the coefficients gives the same gradient."""
        self.stiffness_operator.apply_with_sensitivity(u, ku, fwd, sens)

    def new_sensitivity(self) -> np.ndarray:
        """Accumulator of the sensitivities, in the run's precision (float32 accumulation
        keeps the adjoint loop vectorised; float64 runs stay exact)."""
        return self.stiffness_operator.new_sensitivity()

    def _damping_blocks(self) -> tuple[np.ndarray, np.ndarray]:
        """(nodes (n,), blocks (n, n_comp, n_comp)): the damping C at the points that have it."""
        dense = stacey_damping(self.mesh, self.physics, self.coefficients, self.mass_density)
        if self.sponge_width:
            self._add_sponge(dense)
        dense[self.dirichlet] = 0.0
        nodes = np.nonzero(np.any(dense != 0.0, axis=(1, 2)))[0].astype(np.int64)
        return nodes, dense[nodes]

    def _add_sponge(self, dense: np.ndarray) -> None:
        """Mass-proportional damping 2 d(x) M, d = d0 ((W - dist) / W)^2 inside the layer,
        d0 = SPONGE_STRENGTH v_max / W (a gentle profile: a strong one reflects itself)."""
        mesh, width = self.mesh, float(self.sponge_width)
        if not width > 0:
            raise ValueError(f"The 'sponge_width' parameter must be positive, but {width!r} was given.")
        dist = distance_to_sides(mesh, mesh.absorbing)
        if dist is None:
            return
        inside = np.nonzero(dist < width)[0]
        d0 = SPONGE_STRENGTH * self.physics.max_velocity(self.model) / width
        self.sponge[inside] = d0 * ((width - dist[inside]) / width) ** 2
        dense[inside] += (2.0 * self.sponge[inside] * self.mass[inside])[:, None, None] * np.eye(self.n_components)

    # --- time stepping data ---------------------------------------------------------
    def stepping_arrays(self, dt: float) -> dict:
        """Arrays for the kernels of ``_stepping_kernels`` at time step ``dt`` (cached)."""
        if dt in self._stepping_cache:
            return self._stepping_cache[dt]
        nc, dtype = self.n_components, self.dtype
        minv_dt = np.where(self.dirichlet, 0.0, dt / self.mass)
        minv_dt = np.ascontiguousarray(np.repeat(minv_dt[:, None], nc, axis=1), dtype=dtype)
        m = self.mass[self.damping_nodes][:, None, None] * np.eye(nc)
        half_c = 0.5 * dt * self.damping_blocks
        inv = np.linalg.inv(m + half_c) if len(m) else np.zeros((0, nc, nc))
        arrays = {
            "minv_dt": minv_dt,
            "damp_idx": self.damping_nodes,
            "damp_p": np.ascontiguousarray(inv @ (m - half_c), dtype=dtype),
            "damp_q": np.ascontiguousarray(dt * inv, dtype=dtype),
        }
        self._stepping_cache = {dt: arrays}
        return arrays

    # --- stability -----------------------------------------------------------------
    def max_eigenvalue(self, rtol: float = 1e-3) -> float:
        """Largest eigenvalue of M^-1 K, by Lanczos on the symmetric M^-1/2 K M^-1/2
        (points held at zero excluded). About 20-60 stiffness applications; Lanczos
        approaches the top eigenvalue from below, so callers keep a margin."""
        from scipy.sparse.linalg import LinearOperator, eigsh

        nc, ng = self.n_components, self.mesh.n_global
        scale = np.where(self.dirichlet, 0.0, 1.0 / np.sqrt(self.mass))[:, None]
        ku = np.empty((ng, nc), dtype=self.dtype)

        def matvec(x):
            u = np.ascontiguousarray(x.reshape(ng, nc) * scale, dtype=self.dtype)
            self.stiffness(u, ku)
            return (ku * scale).ravel()

        op = LinearOperator((ng * nc, ng * nc), matvec=matvec, dtype=np.float64)
        v0 = np.random.default_rng(0).standard_normal(ng * nc)
        lam = eigsh(op, k=1, which="LA", tol=rtol, ncv=20, v0=v0, return_eigenvectors=False)
        return float(lam[0])

    def stable_dt(self) -> float:
        """The CFL bound 2 / sqrt(lambda_max) of the central-difference scheme, with a 2 %
        margin on lambda for the estimate's underestimate. Computed once per operator."""
        if self._stable_dt is None:
            self._stable_dt = 2.0 / np.sqrt(1.02 * self.max_eigenvalue())
        return self._stable_dt
