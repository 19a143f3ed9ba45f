"""Analytical 2D solutions in homogeneous full spaces, for verifying the engine.

Every function here convolves an exact 2D (line-source) Green's function with a
source time function (STF) given as a callable, in the time domain. The engine
itself is never imported: these are the independent references the verification
tests compare seismograms against.

Conventions (the engine's): SI units, x horizontal, z up, positions ``(x, z)`` in m,
times in s. A simulation starts at rest at ``t = 0``, so the source acts from
``t = 0`` on: values of ``stf(t)`` for ``t < 0`` are ignored.

Method
------
All solutions reduce to three causal convolutions with the travel time
``T = r / c`` (r the distance, c a wave speed)::

    a(T, t) = int_T^t stf(t - tau) / sqrt(tau^2 - T^2) dtau
    b(T, t) = int_T^t stf(t - tau) * sqrt(tau^2 - T^2) dtau
    d(T, t) = -da/dT = int_T^t stf'(t - tau) (tau / T) / sqrt(tau^2 - T^2) dtau
              + stf(0) t / (T sqrt(t^2 - T^2))

The substitution ``tau = T cosh(sigma)`` turns the inverse-square-root singularity
into a smooth (entire) integrand, ``a = int_0^acosh(t/T) stf(t - T cosh sigma) dsigma``,
which composite 12-point Gauss-Legendre quadrature integrates to ~1e-14. Panels are
at most 1 wide in ``sigma`` next to the wavefront and at most one shortest STF period
wide in ``tau`` beyond (that period is estimated from the STF's spectrum), and they only
cover the lags where the STF is not negligible, so for a pulse-like STF the cost does
not grow with the record length. ``stf'`` is a central difference of ``stf``
unless given (4th order). Accuracy against an independent frequency-domain solution: ~1e-10
relative (see ``test_analytical.py``).

The 2D scalar Green's function ``g_c`` solves ``(1/c^2) g_tt - lap g = delta(x) delta(t)``::

    g_c(r, t) = H(t - r/c) / (2 pi sqrt(t^2 - r^2/c^2)),   so   g_c * stf = a / (2 pi).

The elastic (P-SV) Green's tensor for ``rho u_tt = div sigma + e_j delta(x) delta(t)`` is
``G_ij = delta_ij g_beta / mu + (1/rho) d_i d_j I^2[g_alpha - g_beta]`` (``I^2`` the
causal double time integral), which gives, with ``gamma = (x - x_s) / r``::

    (G * stf)_ij = (gamma_i gamma_j P + delta_ij Q) / (2 pi rho)
    P = a_alpha/alpha^2 - a_beta/beta^2 + 2 (b_alpha - b_beta) / r^2
    Q = a_beta/beta^2 + (b_beta - b_alpha) / r^2

and, for moment tensors, the radial derivatives follow from ``db/dr = -(r/c^2) a`` and
``da/dr = -d/c``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "acoustic_pressure",
    "elastic_displacement",
    "elastic_moment_tensor_displacement",
    "sh_anisotropic_displacement",
    "sh_displacement",
]

StfCallable = Callable[[np.ndarray], np.ndarray]

# Gauss-Legendre rule per panel. With panels no wider than the shortest period in
# the STF, 12 points reproduce 16- and 24-point results to ~1e-14 (measured; 8 points
# left ~1e-10, from the kernel weights that vary across a panel).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)

# An STF sample below this fraction of its peak is treated as zero when trimming the
# integration range to the STF's support; what is dropped is ~1e-13 of the signal.
_SUPPORT_THRESHOLD = 1e-13
# Spectral level (relative to the peak of the STF derivative's spectrum) that defines
# the highest frequency the quadrature must resolve.
_SPECTRUM_THRESHOLD = 1e-11
# Upper bound on the number of quadrature nodes held in memory at once.
_CHUNK_NODES = 1 << 19
# Central-difference weights (4th order) for the first derivative, offsets -2..2. With a
# step of 1/500 of the shortest period the truncation error, (2 pi f h)^4 / 30, is < 1e-9
# at every frequency present and ~1e-11 at the dominant ones, while roundoff, ~1e-16 /
# (2 pi f h), stays ~1e-13; a higher order would cost more STF evaluations.
_FD4 = {-2: 1 / 12, -1: -2 / 3, 1: 2 / 3, 2: -1 / 12}


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
def _positive(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be a float, but {value!r} was given.") from None
    if not (value > 0.0 and math.isfinite(value)):
        raise ValueError(f"The '{name}' parameter must be positive, but {value!r} was given.")
    return value


def _points(name: str, value: ArrayLike, shape: tuple[int, ...]) -> np.ndarray:
    """Coordinates as a float array of the given shape (-1: any length)."""
    arr = np.asarray(value, dtype=float)
    ok = arr.ndim == len(shape) and all(s in (-1, n) for s, n in zip(shape, arr.shape))
    if not ok or not np.all(np.isfinite(arr)):
        want = "(2,)" if shape == (2,) else "(n_receivers, 2)"
        given = repr(value) if arr.size <= 6 else f"an array of shape {arr.shape}"
        raise ValueError(
            f"The '{name}' parameter must be finite (x, z) coordinates of shape {want}, "
            f"but {given} was given."
        )
    return arr


def _times(t: ArrayLike) -> np.ndarray:
    arr = np.asarray(t, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"The 't' parameter must be a non-empty 1-D array of finite times, "
            f"but an array of shape {arr.shape} was given."
        )
    return arr


def _offsets(receivers: ArrayLike, source: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Return receiver-minus-source offsets (n_rec, 2) and distances (n_rec,)."""
    rec = _points("receivers", receivers, (-1, 2))
    src = _points("source", source, (2,))
    delta = rec - src
    dist = np.hypot(delta[:, 0], delta[:, 1])
    if np.any(dist == 0.0):
        raise ValueError(
            "The 'receivers' parameter must not contain the source location (the 2D Green's "
            f"function is singular there), but receiver(s) {np.flatnonzero(dist == 0.0).tolist()} "
            "coincide with it."
        )
    return delta, dist


def _check_stf(stf: StfCallable, name: str = "stf") -> None:
    if not callable(stf):
        raise TypeError(f"The '{name}' parameter must be a callable stf(t) -> array, but {stf!r} was given.")


# --------------------------------------------------------------------------------------
# Quadrature
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What the quadrature needs to know about one STF on one time axis.

    Attributes
    ----------
    support : (float, float)
        Lags (s) outside which the STF is negligible; ``support[0] >= 0``.
    panel : float
        Panel width in tau (s): about the shortest period present in the STF.
    fd_step : float
        Step (s) of the finite-difference STF derivative, when one is needed.
    stf0 : float
        ``stf(0)``, the jump of the truncated STF at the start of the simulation.
    """

    support: tuple[float, float]
    panel: float
    fd_step: float
    stf0: float


def _plan(stf: StfCallable, t: np.ndarray) -> _Plan | None:
    """Sample the STF once to find its support and bandwidth (None if it is zero)."""
    t_max = float(t.max())
    if t_max <= 0.0:
        return None
    steps = np.diff(np.unique(t))
    dt = float(steps.min()) if steps.size else t_max
    # Four samples per output step resolve any STF the output itself can represent.
    n = int(np.clip(4.0 * t_max / dt, 4096, 1 << 21))
    h = t_max / n
    # The grid extends beyond [0, t_max] so that the STF is seen as the smooth function
    # it is: the jump of the truncated STF at t = 0 (and any cut at t_max) sits at an
    # integration limit, which the quadrature never has to resolve.
    grid = h * np.arange(-(n // 2), n + n // 2 + 1)
    values = np.asarray(stf(grid), dtype=float)
    if values.shape != grid.shape:
        raise ValueError(
            f"The 'stf' parameter must return an array shaped like its input {grid.shape}, "
            f"but an array of shape {values.shape} was returned."
        )
    inside = (grid >= 0.0) & (grid <= t_max)
    magnitude = np.where(inside, np.abs(values), 0.0)
    peak = magnitude.max()
    if peak == 0.0:
        return None
    active = np.flatnonzero(magnitude > _SUPPORT_THRESHOLD * peak)
    lo = max(0.0, grid[active[0]] - 2 * h)
    hi = math.inf if grid[active[-1]] >= t_max - 2 * h else grid[active[-1]] + 2 * h
    # Bandwidth from the derivative's spectrum: a step-like STF (filtered Heaviside)
    # has a compact derivative, so its spectrum is not polluted by the ends of the grid.
    # An STF still varying at the ends of the grid looks broadband: the quadrature is
    # then finer (slower) than needed, never less accurate.
    spectrum = np.abs(np.fft.rfft(np.diff(values)))
    freqs = np.fft.rfftfreq(values.size - 1, h)
    if spectrum.max() == 0.0:  # a constant STF: any panel width integrates it exactly
        f_max = 1.0 / t_max
    else:
        above = np.flatnonzero(spectrum > _SPECTRUM_THRESHOLD * spectrum.max())
        f_max = max(freqs[above[-1]], 1.0 / t_max)
    return _Plan(support=(lo, hi), panel=1.0 / f_max, fd_step=0.002 / f_max, stf0=float(stf(np.zeros(1))[0]))


def _acosh1p(y: np.ndarray) -> np.ndarray:
    """acosh(1 + y) without the cancellation of forming 1 + y for small y."""
    return np.log1p(y + np.sqrt(y * (2.0 + y)))


# Weights of the three convolution kernels in the sigma variable (tau = T cosh sigma).
_KERNELS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "a": lambda sig, T: np.ones_like(sig),
    "b": lambda sig, T: (T * np.sinh(sig)) ** 2,
    "d": lambda sig, T: np.cosh(sig),
}


def _sigma_integrals(
    func: StfCallable, t: np.ndarray, T: float, plan: _Plan, kernels: tuple[str, ...]
) -> dict[str, np.ndarray]:
    """Integrate ``func(t - T cosh s) * kernel(s)`` over s in [0, acosh(t/T)].

    Parameters
    ----------
    func : callable
        The STF (or its derivative), vectorised.
    t : (n_t,) float64
        Output times (s).
    T : float
        Travel time (s), positive.
    plan : _Plan
        Support and panel width of the STF.
    kernels : tuple of str
        Names in ``_KERNELS``; all share the same STF evaluations.

    Returns
    -------
    dict of (n_t,) float64
        One array per kernel name, zero for ``t <= T``.
    """
    out = {k: np.zeros(t.shape) for k in kernels}
    lo_lag, hi_lag = plan.support
    # Lags tau run over [T, t]; keep those where stf(t - tau) is not negligible.
    x_lo = np.maximum(0.0, t - hi_lag - T)  # tau_lo - T
    x_hi = t - lo_lag - T  # tau_hi - T
    idx = np.flatnonzero(x_hi > x_lo)
    if idx.size == 0:
        return out
    # Two zones of panels. Near the wavefront (tau - T < P, P the panel width) the map
    # tau -> sigma is strongly nonlinear when T is small: panels there are equally wide
    # in sigma (at most 1). Beyond, panels are equally wide in tau (at most P, about the
    # STF's shortest period), which also keeps them narrower than log(2) in sigma.
    P = plan.panel
    xa_lo, xa_hi = x_lo[idx], np.minimum(x_hi[idx], P)
    xb_lo, xb_hi = np.maximum(x_lo[idx], P), x_hi[idx]
    sa_lo, sa_hi = _acosh1p(xa_lo / T), _acosh1p(np.maximum(xa_lo, xa_hi) / T)
    n_a = np.where(xa_hi > xa_lo, np.maximum(1, np.ceil(sa_hi - sa_lo)), 0).astype(int)
    n_b = np.where(xb_hi > xb_lo, np.maximum(1, np.ceil((xb_hi - xb_lo) / P)), 0).astype(int)
    m = _GL_X.size
    start = 0
    while start < idx.size:
        # Greedy chunks: as many consecutive times as fit the node budget.
        stop = start + 1
        na_max, nb_max = n_a[start], n_b[start]
        while stop < idx.size:
            ca, cb = max(na_max, n_a[stop]), max(nb_max, n_b[stop])
            if (stop + 1 - start) * (ca + cb) * m > _CHUNK_NODES:
                break
            na_max, nb_max = ca, cb
            stop += 1
        sel = idx[start:stop]
        part = slice(start, stop)
        edges = []
        if na_max:
            frac = np.linspace(0.0, 1.0, na_max + 1)
            edges.append(sa_lo[part, None] + frac * (sa_hi[part] - sa_lo[part])[:, None])
        if nb_max:
            frac = np.linspace(0.0, 1.0, nb_max + 1)
            width = np.maximum(xb_hi[part] - xb_lo[part], 0.0)
            edges.append(_acosh1p((xb_lo[part, None] + frac * width[:, None]) / T))
        # Empty zones give zero-width panels, which contribute nothing.
        lower = np.concatenate([e[:, :-1] for e in edges], axis=1)
        upper = np.concatenate([e[:, 1:] for e in edges], axis=1)
        half = 0.5 * (upper - lower)  # (c, n)
        sig = (0.5 * (upper + lower))[:, :, None] + half[:, :, None] * _GL_X  # (c, n, m)
        # t - T cosh(sig), written so that no precision is lost near the wavefront.
        lag = (t[sel] - T)[:, None, None] - 2.0 * T * np.sinh(0.5 * sig) ** 2
        vals = np.asarray(func(lag), dtype=float) * (half[:, :, None] * _GL_W)
        for k in kernels:
            out[k][sel] = np.einsum("cnm,cnm->c", vals, _KERNELS[k](sig, T))
        start = stop
    return out


def _convolutions(
    stf: StfCallable,
    t: np.ndarray,
    T: float,
    plan: _Plan | None,
    kernels: tuple[str, ...],
    stf_derivative: StfCallable | None = None,
) -> dict[str, np.ndarray]:
    """The convolutions a, b and d (see the module docstring) for one travel time."""
    if plan is None:
        return {k: np.zeros(t.shape) for k in kernels}
    plain = tuple(k for k in kernels if k != "d")
    out = _sigma_integrals(stf, t, T, plan, plain) if plain else {}
    if "d" in kernels:
        if stf_derivative is None:
            h = plan.fd_step

            def derivative(x: np.ndarray) -> np.ndarray:
                return sum(c * np.asarray(stf(x + j * h), dtype=float) for j, c in _FD4.items()) / h

        else:
            derivative = stf_derivative
        d = _sigma_integrals(derivative, t, T, plan, ("d",))["d"]
        # Boundary term of d/dT at sigma_max: the STF jumps from 0 to stf(0) at t = 0.
        after = t > T
        d[after] += plan.stf0 * t[after] / (T * np.sqrt((t[after] - T) * (t[after] + T)))
        out["d"] = d
    return out


# --------------------------------------------------------------------------------------
# Public solutions
# --------------------------------------------------------------------------------------
def acoustic_pressure(
    receivers: ArrayLike, source: ArrayLike, vp: float, rho: float, stf: StfCallable, t: ArrayLike
) -> np.ndarray:
    """Pressure of a point pressure source in a homogeneous acoustic full space (2D).

    Solves ``(1/kappa) p_tt - div((1/rho) grad p) = stf(t) delta(x - x_s)`` with
    ``kappa = rho vp^2``, at rest for ``t <= 0``: ``p = rho (g_vp * stf)`` with
    ``g_c = H(t - r/c) / (2 pi sqrt(t^2 - r^2/c^2))``.

    Parameters
    ----------
    receivers : (n_rec, 2) array_like
        Receiver positions (x, z) in m.
    source : (2,) array_like
        Source position (x, z) in m.
    vp : float
        Sound speed (m/s).
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised source time function ``stf(t) -> array`` (m^2/s^2, so that p is in
        Pa); ignored for ``t < 0``.
    t : (n_t,) array_like
        Output times (s).

    Returns
    -------
    (n_rec, n_t) float64
        Pressure (Pa).

    Examples
    --------
    >>> import numpy as np
    >>> pulse = lambda t: np.exp(-((t - 0.1) / 0.02) ** 2)
    >>> p = acoustic_pressure([(300.0, 0.0)], (0.0, 0.0), 3000.0, 1000.0, pulse, np.linspace(0, 0.5, 51))
    >>> p.shape, bool(np.all(p[0, :10] == 0.0))
    ((1, 51), True)
    """
    vp, rho = _positive("vp", vp), _positive("rho", rho)
    _check_stf(stf)
    t = _times(t)
    _, dist = _offsets(receivers, source)
    plan = _plan(stf, t)
    out = np.empty((dist.size, t.size))
    for i, r in enumerate(dist):
        out[i] = rho / (2 * np.pi) * _convolutions(stf, t, r / vp, plan, ("a",))["a"]
    return out


def sh_displacement(
    receivers: ArrayLike,
    source: ArrayLike,
    vs: float,
    rho: float,
    stf: StfCallable,
    t: ArrayLike,
    force: float = 1.0,
) -> np.ndarray:
    """Out-of-plane (SH) displacement of a point force in a homogeneous full space (2D).

    Solves ``rho u_tt = div(mu grad u) + force stf(t) delta(x - x_s)`` with
    ``mu = rho vs^2``, at rest for ``t <= 0``: ``u = (force / mu) (g_vs * stf)``.

    Parameters
    ----------
    receivers : (n_rec, 2) array_like
        Receiver positions (x, z) in m.
    source : (2,) array_like
        Source position (x, z) in m.
    vs : float
        Shear-wave speed (m/s).
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.
    t : (n_t,) array_like
        Output times (s).
    force : float
        Force per unit length of the line source (N/m), along y.

    Returns
    -------
    (n_rec, n_t) float64
        Displacement u_y (m).
    """
    vs = _positive("vs", vs)
    return sh_anisotropic_displacement(receivers, source, vs, vs, rho, stf, t, force)


def sh_anisotropic_displacement(
    receivers: ArrayLike,
    source: ArrayLike,
    vsh: float,
    vsv: float,
    rho: float,
    stf: StfCallable,
    t: ArrayLike,
    force: float = 1.0,
) -> np.ndarray:
    """SH displacement of a point force in a homogeneous, elliptically anisotropic space.

    Solves ``rho u_tt = d_x(mu_x d_x u) + d_z(mu_z d_z u) + force stf(t) delta(x - x_s)``
    with ``mu_x = rho vsh^2`` and ``mu_z = rho vsv^2``, at rest for ``t <= 0``. The
    stretch ``x' = x / vsh, z' = z / vsv`` turns the operator into a unit-speed
    Laplacian and the source into ``delta(x') delta(z') / (vsh vsv)``, so::

        u = force / (rho vsh vsv) * (g_1(r') * stf),   r' = sqrt((dx/vsh)^2 + (dz/vsv)^2),

    where ``g_1`` is the unit-speed 2D Green's function and ``r'`` (s) the travel time.
    With ``vsh = vsv = vs`` this is :func:`sh_displacement`.

    Parameters
    ----------
    receivers : (n_rec, 2) array_like
        Receiver positions (x, z) in m.
    source : (2,) array_like
        Source position (x, z) in m.
    vsh, vsv : float
        Shear speeds (m/s) of waves travelling along x and along z.
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.
    t : (n_t,) array_like
        Output times (s).
    force : float
        Force per unit length of the line source (N/m), along y.

    Returns
    -------
    (n_rec, n_t) float64
        Displacement u_y (m).
    """
    vsh, vsv, rho = _positive("vsh", vsh), _positive("vsv", vsv), _positive("rho", rho)
    force = float(force)
    _check_stf(stf)
    t = _times(t)
    delta, _ = _offsets(receivers, source)
    travel = np.hypot(delta[:, 0] / vsh, delta[:, 1] / vsv)
    plan = _plan(stf, t)
    scale = force / (2 * np.pi * rho * vsh * vsv)
    out = np.empty((travel.size, t.size))
    for i, T in enumerate(travel):
        out[i] = scale * _convolutions(stf, t, T, plan, ("a",))["a"]
    return out


def _elastic_parts(
    stf: StfCallable,
    t: np.ndarray,
    r: float,
    vp: float,
    vs: float,
    plan: _Plan | None,
    with_derivatives: bool,
    stf_derivative: StfCallable | None = None,
) -> dict[str, np.ndarray]:
    """P, Q (and dP/dr, dQ/dr) of ``(G * stf)_ij = (g_i g_j P + delta_ij Q) / (2 pi rho)``."""
    kernels = ("a", "b", "d") if with_derivatives else ("a", "b")
    ca = _convolutions(stf, t, r / vp, plan, kernels, stf_derivative)
    cb = _convolutions(stf, t, r / vs, plan, kernels, stf_derivative)
    a_diff = ca["a"] / vp**2 - cb["a"] / vs**2
    b_diff = ca["b"] - cb["b"]
    parts = {
        "P": a_diff + 2.0 * b_diff / r**2,
        "Q": cb["a"] / vs**2 - b_diff / r**2,
    }
    if with_derivatives:
        # d a_c / dr = -d_c / c and d b_c / dr = -(r / c^2) a_c.
        parts["P_r"] = -ca["d"] / vp**3 + cb["d"] / vs**3 - 2.0 * a_diff / r - 4.0 * b_diff / r**3
        parts["Q_r"] = -cb["d"] / vs**3 + a_diff / r + 2.0 * b_diff / r**3
    return parts


def _elastic_speeds(vp: float, vs: float, rho: float) -> tuple[float, float, float]:
    vp, vs, rho = _positive("vp", vp), _positive("vs", vs), _positive("rho", rho)
    if not vs < vp:
        raise ValueError(
            f"The 'vs' parameter must be smaller than vp={vp!r} (a positive bulk modulus), but {vs!r} was given."
        )
    return vp, vs, rho


def elastic_displacement(
    receivers: ArrayLike,
    source: ArrayLike,
    vp: float,
    vs: float,
    rho: float,
    stf: StfCallable,
    t: ArrayLike,
    force: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """P-SV displacement of a point force in a homogeneous isotropic full space (2D).

    Solves ``rho u_tt = div sigma + force stf(t) delta(x - x_s)``, with
    ``sigma = lambda tr(eps) I + 2 mu eps``, ``mu = rho vs^2``,
    ``lambda = rho (vp^2 - 2 vs^2)``, at rest for ``t <= 0``. The solution is
    ``u_i = (G_ij * stf) force_j`` with the 2D Green's tensor in the module docstring
    (near-field terms included).

    Parameters
    ----------
    receivers : (n_rec, 2) array_like
        Receiver positions (x, z) in m.
    source : (2,) array_like
        Source position (x, z) in m.
    vp, vs : float
        P and S speeds (m/s), ``0 < vs < vp``.
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.
    t : (n_t,) array_like
        Output times (s).
    force : (float, float)
        Force per unit length of the line source (N/m), components (f_x, f_z).

    Returns
    -------
    (n_rec, 2, n_t) float64
        Displacement (m), components (X, Z).
    """
    vp, vs, rho = _elastic_speeds(vp, vs, rho)
    _check_stf(stf)
    f = np.asarray(force, dtype=float)
    if f.shape != (2,) or not np.all(np.isfinite(f)):
        raise ValueError(f"The 'force' parameter must be finite (f_x, f_z), but {force!r} was given.")
    t = _times(t)
    delta, dist = _offsets(receivers, source)
    plan = _plan(stf, t)
    out = np.empty((dist.size, 2, t.size))
    for i, r in enumerate(dist):
        g = delta[i] / r
        parts = _elastic_parts(stf, t, r, vp, vs, plan, with_derivatives=False)
        out[i] = (np.outer(g * (g @ f), parts["P"]) + np.outer(f, parts["Q"])) / (2 * np.pi * rho)
    return out


def elastic_moment_tensor_displacement(
    receivers: ArrayLike,
    source: ArrayLike,
    vp: float,
    vs: float,
    rho: float,
    stf: StfCallable,
    t: ArrayLike,
    tensor: ArrayLike = ((1.0, 0.0), (0.0, 1.0)),
    stf_derivative: StfCallable | None = None,
) -> np.ndarray:
    """P-SV displacement of a moment-tensor source in a homogeneous isotropic space (2D).

    The source is the body force ``f = -M . grad delta(x - x_s) stf(t)``, i.e.
    ``f_k = -M_kj d_j delta``, so ``u_i = -M_kj d_j (G_ik * stf)`` with the derivative
    taken with respect to the receiver position (the usual ``u_i = M_kj G_ik,j`` with
    ``,j`` the derivative in the source position). With ``M = M0 I`` (an explosion)
    and a positive pulse, the first motion points away from the source. The equation,
    constitutive law and rest state are those of :func:`elastic_displacement`.

    Parameters
    ----------
    receivers : (n_rec, 2) array_like
        Receiver positions (x, z) in m.
    source : (2,) array_like
        Source position (x, z) in m.
    vp, vs : float
        P and S speeds (m/s), ``0 < vs < vp``.
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.
    t : (n_t,) array_like
        Output times (s).
    tensor : (2, 2) array_like
        Symmetric moment tensor ``((M_xx, M_xz), (M_xz, M_zz))`` per unit length of the
        line source (N m / m = N).
    stf_derivative : callable, optional
        ``d stf / dt`` (1/s). By default a 4th-order central difference of ``stf``
        with a step of 1/500 of the shortest period in the STF (relative error ~1e-11);
        passing the exact derivative saves 4 of the 5 STF evaluations per node.

    Returns
    -------
    (n_rec, 2, n_t) float64
        Displacement (m), components (X, Z).
    """
    vp, vs, rho = _elastic_speeds(vp, vs, rho)
    _check_stf(stf)
    if stf_derivative is not None:
        _check_stf(stf_derivative, "stf_derivative")
    M = np.asarray(tensor, dtype=float)
    if M.shape != (2, 2) or not np.all(np.isfinite(M)) or M[0, 1] != M[1, 0]:
        raise ValueError(
            "The 'tensor' parameter must be a finite symmetric 2x2 array ((mxx, mxz), (mxz, mzz)), "
            f"but {tensor!r} was given."
        )
    t = _times(t)
    delta, dist = _offsets(receivers, source)
    plan = _plan(stf, t)
    out = np.empty((dist.size, 2, t.size))
    trace = M[0, 0] + M[1, 1]
    for i, r in enumerate(dist):
        g = delta[i] / r
        Mg = M @ g
        gMg = g @ Mg
        p = _elastic_parts(stf, t, r, vp, vs, plan, with_derivatives=True, stf_derivative=stf_derivative)
        # -M_km d_m (g_i g_k P + delta_ik Q), using d_m g_i = (delta_im - g_i g_m) / r.
        out[i] = -(
            np.outer(Mg + trace * g - 2.0 * gMg * g, p["P"] / r)
            + np.outer(gMg * g, p["P_r"])
            + np.outer(Mg, p["Q_r"])
        ) / (2 * np.pi * rho)
    return out
