"""Anisotropic diffusion smoothing on the mesh (2D and 3D): the gradient preconditioner.

(Source and receiver cutouts are in :mod:`engine.cutouts`.)

The smoothing operator is the solution at t = 1 of the diffusion equation

    m0 du/dt - div(D grad u) = 0,    D = R^T diag(sigma_1^2, ..., sigma_n^2) R / 2,    m0 = 1,

with natural (zero-flux) boundaries, started from the field to smooth. The rows of R are
the principal directions at the point (:func:`principal_frame`): x and z in 2D; in 3D
the vertical (radial) direction first, then two lateral ones: x and y in a box, north
and east on a spherical chunk, so that D follows each point's radial frame on the
sphere. On an unbounded domain with constant D it convolves with a Gaussian of standard
deviation ``sigma_a`` along direction a (variance 2 D t). ``sigma`` may vary from point
to point (:func:`model_dependent_sigma`: a fixed number of wavelengths of a reference
model).

Discretisation. With the assembled diagonal mass M (``w_i w_j |J|``) and the stiffness K
of ``-div(D grad u)`` (the engine's own scalar stiffness kernels through
:class:`~engine.stiffness.StiffnessOperator`, D as their coefficient), ``n_steps`` implicit Euler steps of size ``tau = 1 / n_steps`` give

    S = ((M + tau K)^-1 M)^n_steps.

Why implicit Euler: each step is unconditionally stable, ``(M + tau K)`` is symmetric
positive definite (solved by Jacobi-preconditioned conjugate gradients, a short loop
here rather than scipy's, see ``_dot``), S is
self-adjoint in the M inner product, ``K 1 = 0`` keeps constants constant and the
integral ``1^T M u`` unchanged, and the second moment grows by exactly ``2 D tau`` per
step (``K x^2 = -2 D_xx M 1`` away from the boundary for constant D, exact for GLL quadrature), so the
variance of a smoothed delta is ``sigma^2`` for *any* number of steps. The number of
steps only sets the shape: each step is the Green's function of ``1 - tau div(D grad)``,
so the result is the n-fold convolution of those, whose excess kurtosis along each axis
is 3 / n_steps (Gaussian in the limit).

Cost: each CG iteration is one stiffness product. The iteration count depends on
sigma / (GLL spacing) and n_steps, not on the mesh size: sigma = 5 and 2.5 elements,
16 steps, rtol 1e-11 takes about 1,900 iterations (1,350 at rtol 1e-8), i.e. about
as many stiffness products as a forward simulation of that many time steps.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._validate import positive_float
from .geographic import local_frame
from .mesh import Mesh
from .physics._kernels import reference_metric, scalar_stiffness
from .physics._kernels3d import reference_metric_3d, scalar_stiffness_3d
from .stiffness import StiffnessOperator

__all__ = ["Smoothing", "model_dependent_sigma", "principal_frame", "diffusion_tensor", "scalar_stiffness_diagonal"]


def _direction_names(mesh: Mesh) -> str:
    """The principal directions in the order the lengths are given, for messages."""
    return "(x, z)" if mesh.ndim == 2 else "(radial, lateral, lateral)"


def _per_direction(name: str, value, mesh: Mesh) -> np.ndarray:
    """Expand a scalar, one value per direction, a per-point array or one per-point array
    per direction into a (ndim, *mesh.point_shape) float64 array, in the order of
    :func:`principal_frame`."""
    shape, ndim = mesh.point_shape, mesh.ndim
    kinds = f"a number, {'a pair' if ndim == 2 else 'a triple'} {_direction_names(mesh)} or arrays shaped {shape}"
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be {kinds}, but {value!r} was given.") from None
    if arr.ndim == 0 or arr.shape == shape:  # one value for every direction
        out = np.broadcast_to(arr, (ndim,) + shape)
    elif arr.shape[0] == ndim and arr.shape[1:] in ((), shape):
        out = np.broadcast_to(arr.reshape((ndim,) + (1,) * len(shape)) if arr.ndim == 1 else arr, (ndim,) + shape)
    else:
        raise ValueError(f"The '{name}' parameter must be {kinds}, but an array shaped {arr.shape} was given.")
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        bad = out[~(np.isfinite(out) & (out >= 0))].flat[0]
        raise ValueError(f"The '{name}' parameter must be non-negative and finite everywhere, but {float(bad)!r} was given.")
    return np.ascontiguousarray(out)


def principal_frame(mesh: Mesh) -> np.ndarray:
    """(*mesh.point_shape, ndim, ndim) unit vectors of the smoothing directions at every
    point: ``frame[..., a, :]`` is direction a in the mesh's Cartesian components.

    2D: x then z (the mesh axes). 3D box: z (vertical) first, then x and y. 3D spherical
    chunk: radial (up) first, then north and east at the point (``engine.geographic``'s
    Z, N, E), so lateral lengths follow the sphere and the radial one the Earth's radius.
    """
    ndim, x = mesh.ndim, mesh.coordinates
    if ndim == 2:
        return np.broadcast_to(np.eye(2), x.shape[:-1] + (2, 2))
    if getattr(mesh, "chunk", None) is None:
        return np.broadcast_to(np.eye(3)[[2, 0, 1]], x.shape[:-1] + (3, 3))
    flat = x.reshape(-1, 3)
    radius = np.linalg.norm(flat, axis=1)
    latitude = np.degrees(np.arcsin(flat[:, 2] / radius))
    longitude = np.degrees(np.arctan2(flat[:, 1], flat[:, 0]))
    q = local_frame(latitude, longitude)  # columns e_r, e_theta (south), e_phi (east)
    frame = np.stack([q[..., 0], -q[..., 1], q[..., 2]], axis=1)  # rows up, north, east
    return frame.reshape(x.shape[:-1] + (3, 3))


def diffusion_tensor(sigma: np.ndarray, frame: np.ndarray) -> np.ndarray:
    """D = R^T diag(sigma^2 / 2) R per point, as the scalar kernels' coefficient rows.

    sigma : (ndim, *point_shape) principal standard deviations (m); frame : the
    matching :func:`principal_frame`. Returns (n_elem, 3, ...) rows (xx, xz, zz) in 2D,
    (n_elem, 6, ...) rows (xx, xy, xz, yy, yz, zz) in 3D, in m^2 (per unit time).
    """
    half_var = 0.5 * np.moveaxis(sigma, 0, -1) ** 2  # (*point_shape, ndim)
    d = np.einsum("...a,...ai,...aj->...ij", half_var, frame, frame)
    rows = ((0, 0), (0, 1), (1, 1)) if sigma.shape[0] == 2 else VOIGT_ROWS
    return np.stack([d[..., i, j] for i, j in rows], axis=1)


# Row order of a symmetric 3 x 3 coefficient in ``scalar_stiffness_3d``'s input.
VOIGT_ROWS = ((0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2))


def scalar_stiffness_diagonal(metric: np.ndarray, dmat: np.ndarray, mesh: Mesh) -> np.ndarray:
    """(n_global,) diagonal of the scalar stiffness K with reference metric ``metric``.

    ``metric`` is what the scalar kernels take (2D rows G00 G01 G11, 3D rows G00 G01
    G02 G11 G12 G22, G = w |J| J^-1 D J^-T, reference axis a = 0 along the point arrays'
    last index). K_nn = sum over points of ``grad_ref(phi_n)^T G grad_ref(phi_n)``; the
    reference derivative a of the basis function of node n is nonzero only on the line
    of points through n along axis a (``dmat[p, n_a]``), so the diagonal G_aa terms are
    one contraction per axis and each cross term G_ab lives at the node itself.
    """
    ndim = mesh.ndim
    pairs = ((0, 0), (0, 1), (1, 1)) if ndim == 2 else VOIGT_ROWS
    g = {pair: metric[:, r] for r, pair in enumerate(pairs)}
    d2, dd = dmat ** 2, np.diag(dmat)
    diag = np.zeros(mesh.point_shape)
    for a in range(ndim):
        axis = ndim - a  # reference axis a runs along point-array axis ndim - a
        diag += np.moveaxis(np.moveaxis(g[(a, a)], axis, -1) @ d2, -1, axis)
    for (a, b) in pairs:
        if a != b:
            shape_a = [1] * (ndim + 1)
            shape_a[ndim - a] = -1
            shape_b = [1] * (ndim + 1)
            shape_b[ndim - b] = -1
            diag += 2.0 * g[(a, b)] * dd.reshape(shape_a) * dd.reshape(shape_b)
    return mesh.assemble(diag)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # numpy's own reduction, not BLAS: BLAS threads spin against Numba's OpenMP workers
    # for the same cores between stiffness calls (measured on 2 busy cores, 60 x 60
    # elements: 57-65 ms per CG iteration with scipy.sparse.linalg.cg, 1.4 ms with this
    # loop, same iterates to 5e-16).
    return float(np.einsum("i,i->", a, b))


def _conjugate_gradients(apply, inv_diag, rhs, x, rtol, maxiter) -> tuple:
    """Jacobi-preconditioned conjugate gradients for ``apply(x) = rhs`` (SPD).

    Stops when ``|r| <= rtol |rhs|`` (Euclidean norms, scipy's criterion). Returns
    ``(x, iterations)``; raises RuntimeError when ``maxiter`` is reached.
    """
    r = rhs - apply(x)
    target = (rtol * np.sqrt(_dot(rhs, rhs))) ** 2
    if _dot(r, r) <= target:
        return x, 0
    z = inv_diag * r
    p = z.copy()
    rz = _dot(r, z)
    for iteration in range(1, maxiter + 1):
        ap = apply(p)
        alpha = rz / _dot(p, ap)
        x = x + alpha * p
        r -= alpha * ap
        if _dot(r, r) <= target:
            return x, iteration
        z = inv_diag * r
        rz, rz_old = _dot(r, z), rz
        p = z + (rz / rz_old) * p
    raise RuntimeError(
        f"The smoothing solve did not converge to rtol={rtol} in {maxiter} iterations; "
        f"raise 'maxiter' or 'n_steps', or loosen 'rtol'."
    )


class Smoothing:
    """Anisotropic diffusion smoothing on a 2D or 3D spectral-element mesh.

    Parameters
    ----------
    mesh : the mesh (2D quadrilaterals, a 3D box or a spherical chunk).
    sigma : standard deviation of the equivalent Gaussian in metres along each principal
        direction of :func:`principal_frame` (2D: x, z; 3D: radial (vertical) first,
        then the two lateral directions, north and east on a chunk): a number (every
        direction), one value per direction, an array shaped ``mesh.point_shape`` (every
        direction), or one such array per direction (for example from
        :func:`model_dependent_sigma`). Zero means no smoothing in that direction.
    n_steps : number of implicit Euler steps to t = 1 (default 16). The variance is
        exact for any value; more steps make the kernel closer to a Gaussian (excess
        kurtosis 3 / n_steps) at a cost growing about as sqrt(n_steps).
    rtol : relative residual at which each conjugate-gradient solve stops (default
        1e-11). It bounds how far the computed operator is from exactly linear and
        symmetric: the dot test of :meth:`apply_to_gradient` is at this level.
    maxiter : iteration cap of each solve; a solve that does not converge raises
        RuntimeError rather than return a silently wrong preconditioner.

    Examples
    --------
    >>> import engine, numpy as np
    >>> from engine.smoothing import Smoothing
    >>> mesh = engine.mesh.rectangle(x=(0.0, 1000.0), z=(-1000.0, 0.0), elements=(10, 10))
    >>> smooth = Smoothing(mesh, sigma=(100.0, 50.0))
    >>> out = smooth.smooth_field(np.ones(mesh.point_shape))
    >>> bool(np.allclose(out, 1.0))
    True
    """

    def __init__(self, mesh: Mesh, sigma, *, n_steps: int = 16, rtol: float = 1e-11, maxiter: int = 5000):
        if not isinstance(mesh, Mesh) or mesh.ndim not in (2, 3):
            raise TypeError(f"The 'mesh' parameter must be an engine.mesh.Mesh, but {mesh!r} was given.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"The 'n_steps' parameter must be a positive integer, but {n_steps!r} was given.")
        self.mesh = mesh
        self.sigma = _per_direction("sigma", sigma, mesh)  # (ndim, n_elem, *point axes)
        self.n_steps = int(n_steps)
        self.rtol = positive_float("rtol", rtol)
        self.maxiter = int(positive_float("maxiter", maxiter))
        self.tau = 1.0 / self.n_steps
        self.weights = mesh.quadrature_weights()  # (n_elem, *point axes), m^ndim
        self.mass = mesh.assemble(self.weights)  # (n_global,) diagonal M (m0 = 1)
        # The diffusion tensor rotated to the mesh frame, pre-multiplied by tau so the
        # kernel returns tau K u directly.
        diffusion = diffusion_tensor(self.sigma, principal_frame(mesh))
        kernel, material_of = (scalar_stiffness, reference_metric) if mesh.ndim == 2 else (
            scalar_stiffness_3d, reference_metric_3d)
        self._stiffness_operator = op = StiffnessOperator.build(
            mesh, self.tau * diffusion, kernel, material_of, 1, np.float64)
        self._u = np.empty((mesh.n_global, 1))
        self._ku = np.empty((mesh.n_global, 1))
        self.smooths = bool(np.any(self.sigma > 0))
        # Jacobi preconditioner: the exact diagonal of M + tau K.
        metric = op.blocks.from_blocks(op.material, mesh.n_elements) / self.tau
        self._diagonal = scalar_stiffness_diagonal(metric, mesh.gll.derivative, mesh)
        self._inv_diag = 1.0 / (self.mass + self.tau * self._diagonal)
        self.iterations = 0  # CG iterations of the last call (a cost figure for benchmarks)

    # --- operators ------------------------------------------------------------------
    def _stiffness(self, u: np.ndarray) -> np.ndarray:
        """tau K u for a (n_global,) field (a new array)."""
        self._u[:, 0] = u
        self._stiffness_operator.apply(self._u, self._ku)
        return self._ku[:, 0].copy()

    def _apply_system(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, dtype=np.float64).ravel()
        return self.mass * u + self._stiffness(u)

    def stiffness_diagonal(self) -> np.ndarray:
        """(n_global,) diagonal of K (without tau), the Jacobi preconditioner's part."""
        return self._diagonal.copy()

    def _smooth_global(self, rhs: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """u_n from ``(M + tau K) u_1 = rhs`` then ``(M + tau K) u_{k+1} = M u_k``.

        ``guess`` is the warm start of the first solve. After every solve a constant is
        added so that ``1^T M u_{k+1} = 1^T rhs`` holds to rounding whatever the CG
        tolerance (K 1 = 0, so the constant changes nothing else); the correction is of
        the size of the CG residual (so a smoothed positive delta may show a uniform
        offset of that size, about 1e-13 of its peak at rtol 1e-8).
        """
        self.iterations = 0
        if not self.smooths:
            return rhs / self.mass
        total_mass = self.mass.sum()

        u = guess
        for _ in range(self.n_steps):
            u, iterations = _conjugate_gradients(self._apply_system, self._inv_diag, rhs, u, self.rtol, self.maxiter)
            self.iterations += iterations
            u = u + (rhs.sum() - _dot(self.mass, u)) / total_mass
            rhs = self.mass * u
        return u

    # --- public -------------------------------------------------------------------------
    def _to_global_average(self, field: np.ndarray) -> np.ndarray:
        """Continuous (n_global,) field from per-point or global values."""
        f = np.asarray(field, dtype=np.float64)
        if f.shape == (self.mesh.n_global,):
            return f.copy()
        if f.shape != self.mesh.point_shape:
            raise ValueError(
                f"The 'field' parameter must be shaped {self.mesh.point_shape} (per element point) or "
                f"({self.mesh.n_global},) (global), but an array shaped {f.shape} was given."
            )
        # Mass-weighted average of the copies of a shared node: the lumped L2 projection
        # onto continuous fields, which keeps the integral sum(w |J| f) exactly.
        return self.mesh.assemble(self.weights * f) / self.mass

    def smooth_field(self, field: np.ndarray) -> np.ndarray:
        """Smooth a field (a primal quantity: a model, a kernel density).

        Parameters
        ----------
        field : ``mesh.point_shape`` per element point, or (n_global,) global values.
            Copies of a shared node are first replaced by their mass-weighted average
            (so the field is continuous and its integral is kept).

        Returns
        -------
        ``mesh.point_shape`` float64, the smoothed field per element point. Its
        integral ``sum(mesh.quadrature_weights() * out)`` equals that of the input,
        and a constant field is returned unchanged.
        """
        u0 = self._to_global_average(field)
        u = self._smooth_global(self.mass * u0, u0)
        return u[self.mesh.ibool]

    def apply_to_gradient(self, gradient: np.ndarray) -> np.ndarray:
        """The symmetric positive (semi-)definite preconditioner ``P g = A S M^-1 A^T g``.

        A gradient is a dual quantity: ``g[e, j, i] = dJ/dm[e, j, i]``, which scales with
        the quadrature weight of the point. ``A^T`` is assembly (sum the copies of each
        global node, :meth:`Mesh.assemble`), ``M^-1`` turns the assembled gradient into a
        density (the kernel, per m^2), S smooths it, and ``A`` reads the global result at
        every element point. ``S M^-1 = (M + tau K)^-1 (M (M + tau K)^-1)^(n-1)`` is a
        product of symmetric factors arranged as a palindrome, hence symmetric, and
        positive definite; so ``sum(a * P b) == sum(P a * b)`` for all per-point a, b,
        to the CG tolerance, and ``a . P a = (A^T a)^T S M^-1 (A^T a) >= 0`` (zero only
        when the assembled a vanishes). ``smooth_field(f) == apply_to_gradient(w |J| f)``.

        Parameters
        ----------
        gradient : ``mesh.point_shape`` per-point derivative of the misfit
            (misfit units per model unit).

        Returns
        -------
        ``mesh.point_shape`` float64, the preconditioned gradient, per unit volume (m^-ndim): a model
        update direction. ``sum(w |J| * P g) == sum(g)`` (the integral is kept).
        """
        g = np.asarray(gradient, dtype=np.float64)
        if g.shape != self.mesh.point_shape:
            raise ValueError(
                f"The 'gradient' parameter must be shaped {self.mesh.point_shape} (per element point), "
                f"but an array shaped {g.shape} was given."
            )
        assembled = self.mesh.assemble(g)
        u = self._smooth_global(assembled, assembled / self.mass)
        return u[self.mesh.ibool]


def model_dependent_sigma(
    mesh: Mesh,
    lengths_in_wavelengths: float | Sequence[float],
    reference_velocity: np.ndarray | float,
    reference_frequency: float,
) -> tuple[np.ndarray, ...]:
    """Smoothing lengths of a fixed number of local wavelengths: ``sigma = L v_ref / f_ref``.

    Parameters
    ----------
    mesh : the mesh (defines the per-point shape and the dimension).
    lengths_in_wavelengths : L, a number (every direction) or one per principal direction
        in :func:`principal_frame`'s order: 2D ``(L_x, L_z)``; 3D ``(L_radial,
        L_lateral, L_lateral)``, radial (vertical) first as Salvus users give them
        (the seed's ``[0.2, 0.5, 0.5]``); non-negative.
    reference_velocity : v_ref in m/s, per element point (``mesh.point_shape``) or a
        number; usually a velocity of the prior model.
    reference_frequency : f_ref in Hz, positive (usually the highest frequency inverted).

    Returns
    -------
    One float64 array shaped ``mesh.point_shape`` per direction (metres), ready for
    :class:`Smoothing`.
    """
    f_ref = positive_float("reference_frequency", reference_frequency)
    ndim = mesh.ndim
    lengths = np.asarray(lengths_in_wavelengths, dtype=np.float64)
    if lengths.shape not in ((), (ndim,)) or not np.all(np.isfinite(lengths)) or np.any(lengths < 0):
        raise ValueError(
            f"The 'lengths_in_wavelengths' parameter must be a non-negative number or one per direction "
            f"{_direction_names(mesh)}, but {lengths_in_wavelengths!r} was given."
        )
    v = np.asarray(reference_velocity, dtype=np.float64)
    if v.shape not in ((), mesh.point_shape):
        raise ValueError(
            f"The 'reference_velocity' parameter must be a number or an array shaped {mesh.point_shape}, "
            f"but an array shaped {v.shape} was given."
        )
    if not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(
            f"The 'reference_velocity' parameter must be positive everywhere, but {float(np.min(v))!r} was given."
        )
    wavelength = np.broadcast_to(v / f_ref, mesh.point_shape)
    return tuple(length * wavelength for length in np.broadcast_to(lengths, (ndim,)))
