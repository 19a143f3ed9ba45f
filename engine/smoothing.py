"""Anisotropic diffusion smoothing on the mesh, and source/receiver cutouts.

The smoothing operator is the solution at t = 1 of the diffusion equation

    m0 du/dt - div(D grad u) = 0,    D = 1/2 diag(sigma_x^2, sigma_z^2),    m0 = 1,

with natural (zero-flux) boundaries, started from the field to smooth. On an unbounded
domain with constant D it convolves with a Gaussian of standard deviation ``sigma_x``
along x and ``sigma_z`` along z (variance 2 D t). ``sigma`` may vary from point to point
(:func:`model_dependent_sigma`: a fixed number of wavelengths of a reference model).

Discretisation. With the assembled diagonal mass M (``w_i w_j |J|``) and the stiffness K
of ``-div(D grad u)`` (the engine's own ``scalar_stiffness`` kernel, D as its
coefficient), ``n_steps`` implicit Euler steps of size ``tau = 1 / n_steps`` give

    S = ((M + tau K)^-1 M)^n_steps.

Why implicit Euler: each step is unconditionally stable, ``(M + tau K)`` is symmetric
positive definite (solved by Jacobi-preconditioned conjugate gradients, a short loop
here rather than scipy's, see ``_dot``), S is
self-adjoint in the M inner product, ``K 1 = 0`` keeps constants constant and the
integral ``1^T M u`` unchanged, and the second moment grows by exactly ``2 D tau`` per
step (``K x^2 = -2 D_xx M 1`` away from the boundary, exact for GLL quadrature), so the
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

from .mesh import Mesh
from .physics._kernels import reference_metric, scalar_stiffness
from .stiffness import StiffnessOperator

__all__ = ["Smoothing", "model_dependent_sigma", "cutout_taper"]


def _positive(name: str, value) -> float:
    """A finite positive float, or a ValueError in the traitlets wording."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be a number, but {value!r} was given.") from None
    if not (np.isfinite(number) and number > 0):
        raise ValueError(f"The '{name}' parameter must be positive, but {number!r} was given.")
    return number


def _per_direction(name: str, value, mesh: Mesh) -> np.ndarray:
    """Expand a scalar, a pair, a per-point array or a pair of per-point arrays into a
    (2, n_elements, ngll, ngll) float64 array (x then z)."""
    shape = mesh.point_shape
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' parameter must be a number, a pair (x, z) or arrays shaped {shape}, but {value!r} was given."
        ) from None
    if arr.ndim == 0 or arr.shape == shape:  # one value for both directions
        out = np.broadcast_to(arr, (2,) + shape)
    elif arr.shape[0] == 2 and arr.shape[1:] in ((), shape):
        out = np.broadcast_to(arr.reshape((2,) + (1,) * len(shape)) if arr.ndim == 1 else arr, (2,) + shape)
    else:
        raise ValueError(
            f"The '{name}' parameter must be a number, a pair (x, z) or arrays shaped {shape}, "
            f"but an array shaped {arr.shape} was given."
        )
    if not np.all(np.isfinite(out)) or np.any(out < 0):
        bad = out[~(np.isfinite(out) & (out >= 0))].flat[0]
        raise ValueError(f"The '{name}' parameter must be non-negative and finite everywhere, but {float(bad)!r} was given.")
    return np.ascontiguousarray(out)


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
    """Anisotropic diffusion smoothing on a 2D spectral-element mesh.

    Parameters
    ----------
    mesh : the mesh (2D).
    sigma : standard deviation of the equivalent Gaussian in metres: a number (both
        directions), a pair ``(sigma_x, sigma_z)``, an array shaped
        ``mesh.point_shape`` (both directions), or a pair of such arrays (for example
        from :func:`model_dependent_sigma`). Zero means no smoothing in that direction.
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
        if not isinstance(mesh, Mesh) or mesh.ndim != 2:
            raise TypeError(f"The 'mesh' parameter must be a 2D engine.mesh.Mesh, but {mesh!r} was given.")
        if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"The 'n_steps' parameter must be a positive integer, but {n_steps!r} was given.")
        self.mesh = mesh
        self.sigma = _per_direction("sigma", sigma, mesh)  # (2, n_elem, ngll, ngll)
        self.n_steps = int(n_steps)
        self.rtol = _positive("rtol", rtol)
        self.maxiter = int(_positive("maxiter", maxiter))
        self.tau = 1.0 / self.n_steps
        self.weights = mesh.quadrature_weights()  # (n_elem, ngll, ngll), m^2
        self.mass = mesh.assemble(self.weights)  # (n_global,) diagonal M (m0 = 1)
        # Diffusion tensor as the kernel's (cxx, cxz, czz), pre-multiplied by tau so the
        # kernel returns tau K u directly.
        diffusion = 0.5 * self.sigma ** 2
        coeff = np.stack([diffusion[0], np.zeros(mesh.point_shape), diffusion[1]], axis=1) * self.tau
        self._stiffness_operator = StiffnessOperator.build(mesh, coeff, scalar_stiffness, reference_metric, 1, np.float64)
        self._u = np.empty((mesh.n_global, 1))
        self._ku = np.empty((mesh.n_global, 1))
        self.smooths = bool(np.any(self.sigma > 0))
        # Jacobi preconditioner: the exact diagonal of M + tau K.
        self._inv_diag = 1.0 / (self.mass + self.tau * self.stiffness_diagonal(diffusion))
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

    def stiffness_diagonal(self, diffusion: np.ndarray) -> np.ndarray:
        """(n_global,) diagonal of K for the per-point diffusion (2, n_elem, ngll, ngll).

        K_ii = sum over element points of ``w w |J| grad(phi_i)^T D grad(phi_i)``; the
        reference gradient of the basis function of node (j, i) is nonzero only on row j
        (d/d xi = dmat[p, i]) and column i (d/d eta = dmat[q, j]), so the sum is two
        small contractions plus the cross term at the node itself.
        """
        inv = self.mesh.inverse_jacobian  # [e, q, p, a, d] = d xi_a / d x_d
        # Diffusion in reference coordinates, times the quadrature weight: A = J^-1 D J^-T.
        dxx, dzz = diffusion
        a = (inv[..., :, None, 0] * inv[..., None, :, 0] * dxx[..., None, None]
             + inv[..., :, None, 1] * inv[..., None, :, 1] * dzz[..., None, None])
        a = a * self.weights[..., None, None]
        d = self._stiffness_operator.dmat
        diag = (np.einsum("ejp,pi->eji", a[..., 0, 0], d ** 2)
                + np.einsum("eqi,qj->eji", a[..., 1, 1], d ** 2)
                + 2.0 * a[..., 0, 1] * (np.diag(d)[None, :, None] * np.diag(d)[None, None, :]))
        return self.mesh.assemble(diag)

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
        field : (n_elements, ngll, ngll) per element point, or (n_global,) global values.
            Copies of a shared node are first replaced by their mass-weighted average
            (so the field is continuous and its integral is kept).

        Returns
        -------
        (n_elements, ngll, ngll) float64, the smoothed field per element point. Its
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
        gradient : (n_elements, ngll, ngll) per-point derivative of the misfit
            (misfit units per model unit).

        Returns
        -------
        (n_elements, ngll, ngll) float64, the preconditioned gradient, per m^2: a model
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
) -> tuple[np.ndarray, np.ndarray]:
    """Smoothing lengths of a fixed number of local wavelengths: ``sigma = L v_ref / f_ref``.

    Parameters
    ----------
    mesh : the mesh (defines the per-point shape).
    lengths_in_wavelengths : L, a number (both directions) or a pair ``(L_x, L_z)``
        (mesh axis order: horizontal first, then vertical); non-negative.
    reference_velocity : v_ref in m/s, per element point (``mesh.point_shape``) or a
        number; usually a velocity of the prior model.
    reference_frequency : f_ref in Hz, positive (usually the highest frequency inverted).

    Returns
    -------
    (sigma_x, sigma_z) : two float64 arrays shaped ``mesh.point_shape``, metres, ready
    for :class:`Smoothing`.
    """
    f_ref = _positive("reference_frequency", reference_frequency)
    lengths = np.asarray(lengths_in_wavelengths, dtype=np.float64)
    if lengths.shape not in ((), (2,)) or not np.all(np.isfinite(lengths)) or np.any(lengths < 0):
        raise ValueError(
            "The 'lengths_in_wavelengths' parameter must be a non-negative number or a pair (L_x, L_z), "
            f"but {lengths_in_wavelengths!r} was given."
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
    lx, lz = np.broadcast_to(lengths, (2,))
    wavelength = np.broadcast_to(v / f_ref, mesh.point_shape)
    return lx * wavelength, lz * wavelength


def cutout_taper(
    mesh: Mesh,
    centres: np.ndarray | Sequence[Sequence[float]],
    radius: float,
    taper_width: float | None = None,
) -> np.ndarray:
    """Per-point factor that removes the gradient near sources or receivers.

    The factor is 0 within ``radius`` of any centre, rises as a half cosine
    ``(1 - cos(pi (d - radius) / taper_width)) / 2`` over the next ``taper_width``
    metres, and is 1 beyond; d is the distance to the nearest centre. Multiply a
    gradient (or a kernel) by it before smoothing.

    Parameters
    ----------
    mesh : the mesh.
    centres : (n, ndim) or (ndim,) positions in metres (may be empty: no cutout).
    radius : metres, positive.
    taper_width : metres, positive; default ``radius``.

    Returns
    -------
    (n_elements, ngll, ngll) float64 in [0, 1], continuous across elements.
    """
    radius = _positive("radius", radius)
    width = radius if taper_width is None else _positive("taper_width", taper_width)
    try:
        c = np.asarray(centres, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"The 'centres' parameter must be positions shaped (n, {mesh.ndim}), but {centres!r} was given.") from None
    if c.size == 0:
        return np.ones(mesh.point_shape)
    c = c.reshape(-1, mesh.ndim) if c.ndim == 1 and c.shape == (mesh.ndim,) else c
    if c.ndim != 2 or c.shape[1] != mesh.ndim or not np.all(np.isfinite(c)):
        raise ValueError(
            f"The 'centres' parameter must be finite positions shaped (n, {mesh.ndim}), "
            f"but an array shaped {c.shape} was given."
        )
    from scipy.spatial import cKDTree

    points = mesh.coordinates.reshape(-1, mesh.ndim)
    distance, _ = cKDTree(c).query(points)
    s = np.clip((distance - radius) / width, 0.0, 1.0)
    return (0.5 * (1.0 - np.cos(np.pi * s))).reshape(mesh.point_shape)
