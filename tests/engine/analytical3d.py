"""Analytical 3D solutions in homogeneous full spaces, for verifying the engine.

Every function here evaluates an exact 3D Green's function convolved with a source time
function (STF) given as a callable, in the time domain. The engine itself is never
imported: these are the independent references the verification tests compare
seismograms against (the 2D counterparts are in ``analytical.py``).

Conventions (the engine's): SI units, Cartesian x, y, z with z up, positions ``(x, y, z)``
in m, times in s. A simulation starts at rest at ``t = 0``, so the source acts from
``t = 0`` on: values of ``stf(t)`` for ``t < 0`` are ignored (``s`` below is the STF
switched on at ``t = 0``). ``r = |x - x_s|``, ``gamma = (x - x_s) / r``, ``alpha`` and
``beta`` the P and S speeds, ``mu = rho beta^2``, ``lambda = rho (alpha^2 - 2 beta^2)``.

Equations and solutions
-----------------------
Acoustic, ``(1/kappa) p_tt - div((1/rho) grad p) = s(t) delta(x - x_s)``, ``kappa = rho c^2``::

    p = rho s(t - r/c) / (4 pi r)

Elastic point force, ``rho u_tt = div sigma + F delta(x - x_s) s(t)`` (Stokes' solution,
Aki & Richards 2002 eq. 4.23)::

    4 pi rho u = (3 gamma (gamma.F) - F) N  +  gamma (gamma.F) P  +  (F - gamma (gamma.F)) S

    N = r^-3 I(t),  I(t) = int_{r/alpha}^{r/beta} tau s(t - tau) dtau     (near field)
    P = s(t - r/alpha) / (alpha^2 r),   S = s(t - r/beta) / (beta^2 r)   (far field)

Elastic moment tensor, body force ``f_j = -M_jk d_k delta(x - x_s) s(t)`` (M symmetric).
Then ``u_n = M_pq d G_np / d xs_q`` (derivative in the source position, which equals
``-d/dx_q`` in a homogeneous medium). Differentiating the Stokes tensor, with
``Mg = M gamma``, ``gMg = gamma.M gamma`` and ``trM`` its trace, gives the general form
of Aki & Richards eqs. 4.29/4.33::

    4 pi rho u = A_N r^-4 I(t) + A_IP s(t - r/alpha) / (alpha^2 r^2) + A_IS s(t - r/beta) / (beta^2 r^2)
                 + A_FP s'(t - r/alpha) / (alpha^3 r) + A_FS s'(t - r/beta) / (beta^3 r)

    A_N  = 15 gMg gamma - 6 Mg - 3 trM gamma     A_IP = 6 gMg gamma - 2 Mg - trM gamma
    A_IS = -6 gMg gamma + 3 Mg + trM gamma       A_FP = gMg gamma
    A_FS = Mg - gMg gamma

For an explosion ``M = M0 I`` this reduces to the purely radial
``4 pi rho u = M0 gamma (s/(alpha^2 r^2) + s'/(alpha^3 r))``: outward for ``M0 s' > 0``
in the far field.

Method and accuracy
-------------------
The far-field and intermediate terms are the STF (or its derivative) at retarded times.
The near-field integral ``I`` is computed by composite 12-point Gauss-Legendre quadrature
in ``tau`` over ``[r/alpha, r/beta]`` intersected with the lags where the STF is not
negligible (and ``t - tau >= 0``, so the switch-on at ``t = 0`` sits at an integration
limit and needs no resolving). Panels are at most two shortest STF periods wide (that
period is estimated once per call from the STF's spectrum), which integrates the smooth
integrand to ~1e-14; all receivers and times are done together, grouped by panel count.
``s'`` is a 4th-order central difference of the STF unless given (step 1/500 of the
shortest period: ~1e-11 relative).

Measured in ``test_analytical3d.py`` (relative to each trace's maximum):

* the force solution matches a quadrature-free closed form for a Ricker wavelet to
  3e-15..4e-14, from 20 m to 9 km;
* the force and acoustic solutions satisfy their wave equations to 4e-12..1.5e-11, and
  the moment-tensor solution equals the source-position derivative of the force
  solution to 2e-13..2e-12 (both limited by the finite differences that check them);
* the default ``s'`` costs 8e-12.

Cost: ~0.2 s for 50 receivers x 2000 samples of a 1 Hz Ricker (up to 14 km, 10 s),
mostly STF evaluations in the near-field quadrature. The accuracy and cost assume a
smooth STF (a pulse or a smoothed step); a kink or jump inside the record makes the
spectrum look broadband, hence finer panels (slower), and the quadrature less accurate.

The solutions are singular at the source (``r = 0``), which is rejected. If ``stf(0)`` is
not negligible, the switched-on STF jumps at ``t = 0``: the displacement then jumps at the
wavefronts, and the delta in ``s'`` there (moment tensors) is left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "acoustic_pressure_3d",
    "elastic_force_displacement_3d",
    "elastic_moment_tensor_displacement_3d",
]

StfCallable = Callable[[np.ndarray], np.ndarray]

# Gauss-Legendre rule per panel. Its error for a component exp(i w tau) over a panel of
# width L is ~9e-39 (w L)^24: with L two shortest periods (below), that is < 3e-12 at
# the highest frequency present (whose amplitude is itself < 1e-11) and negligible
# below it. Measured on a Ricker wavelet: ~1e-13 (set by evaluating the STF at t - tau)
# for panels of 1 to 4 shortest periods, 4e-11 at 5 periods.
_GL_X, _GL_W = np.polynomial.legendre.leggauss(12)
_PANEL_PERIODS = 2.0
# An STF sample below this fraction of its peak is treated as zero when trimming the
# integration range to the STF's support (what is dropped is ~1e-13 of the signal).
_SUPPORT_THRESHOLD = 1e-13
# Spectral level (relative to the peak of the STF derivative's spectrum) that defines
# the highest frequency the quadrature must resolve.
_SPECTRUM_THRESHOLD = 1e-11
# STF samples used to find its support and bandwidth: start coarse, refine until the
# highest frequency present is below 1/8 of the sampling rate.
_PLAN_SAMPLES = (1 << 12, 1 << 21)
# Upper bound on the number of quadrature nodes held in memory at once.
_CHUNK_NODES = 1 << 20
# Central-difference weights (4th order) for the first derivative, offsets -2..2. With a
# step of 1/500 of the shortest period the truncation error, (2 pi f h)^4 / 30, is < 1e-9
# at every frequency present and ~1e-12 at the dominant ones; roundoff stays ~1e-13.
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
        want = "(3,)" if shape == (3,) else "(n_receivers, 3)"
        given = repr(value) if arr.size <= 9 else f"an array of shape {arr.shape}"
        raise ValueError(
            f"The '{name}' parameter must be finite (x, y, z) coordinates of shape {want}, "
            f"but {given} was given."
        )
    return arr


def _times(times: ArrayLike) -> np.ndarray:
    arr = np.asarray(times, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(
            "The 'times' parameter must be a non-empty 1-D array of finite times, "
            f"but an array of shape {arr.shape} was given."
        )
    return arr


def _offsets(receivers: ArrayLike, source: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors gamma (n_rec, 3) from the source to the receivers, and distances (n_rec,)."""
    rec = _points("receivers", receivers, (-1, 3))
    src = _points("source", source, (3,))
    delta = rec - src
    dist = np.sqrt(np.einsum("ij,ij->i", delta, delta))
    if np.any(dist == 0.0):
        raise ValueError(
            "The 'receivers' parameter must not contain the source location (the Green's "
            f"function is singular there), but receiver(s) {np.flatnonzero(dist == 0.0).tolist()} "
            "coincide with it."
        )
    return delta / dist[:, None], dist


def _check_stf(stf: StfCallable, name: str = "stf") -> None:
    if not callable(stf):
        raise TypeError(f"The '{name}' parameter must be a callable stf(t) -> array, but {stf!r} was given.")


def _elastic_speeds(vp: float, vs: float, rho: float) -> tuple[float, float, float]:
    vp, vs, rho = _positive("vp", vp), _positive("vs", vs), _positive("rho", rho)
    if not vs < vp:
        raise ValueError(
            f"The 'vs' parameter must be smaller than vp={vp!r} (a positive bulk modulus), but {vs!r} was given."
        )
    return vp, vs, rho


def _call(func: StfCallable, x: np.ndarray) -> np.ndarray:
    """Evaluate an STF on a 1-D array, insisting on an output of the same shape."""
    values = np.asarray(func(x), dtype=float)
    if values.shape != x.shape:
        raise ValueError(
            f"The 'stf' parameter must return an array shaped like its input {x.shape}, "
            f"but an array of shape {values.shape} was returned."
        )
    return values


# --------------------------------------------------------------------------------------
# STF plan, retarded values and the near-field integral
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """What the quadrature needs to know about one STF on one time axis.

    Attributes
    ----------
    support : (float, float)
        Lags (s) outside which the STF is negligible; ``0 <= support[0]``.
    panel : float
        Panel width (s): two of the shortest periods present in the STF.
    fd_step : float
        Step (s) of the finite-difference STF derivative, when one is needed.
    """

    support: tuple[float, float]
    panel: float
    fd_step: float


def _taper(x: np.ndarray, t_max: float) -> np.ndarray:
    """1 on [0, t_max], falling to 0 at -t_max/2 and 1.5 t_max, infinitely smooth."""
    y = np.clip(2.0 * np.maximum(-x, x - t_max) / t_max, 0.0, 1.0)  # 0 inside, 1 at the ends

    def bump(v: np.ndarray) -> np.ndarray:  # exp(-1/v): flat to all orders at v = 0
        return np.exp(-1.0 / np.maximum(v, 1e-300))

    return bump(1.0 - y) / (bump(1.0 - y) + bump(y))


def _plan(stf: StfCallable, t: np.ndarray) -> _Plan | None:
    """Sample the STF to find its support and bandwidth (None if it is zero on [0, t_max])."""
    t_max = float(t.max())
    if t_max <= 0.0:
        return None
    n = _PLAN_SAMPLES[0]
    while True:
        h = t_max / n
        # The grid extends beyond [0, t_max] so that the STF is seen as the smooth function
        # it is: its switch-on at t = 0 sits at an integration limit, never inside a panel.
        grid = h * np.arange(-(n // 2), n + n // 2 + 1)
        values = _call(stf, grid)
        # Bandwidth from the derivative's spectrum: a step-like STF has a compact
        # derivative, so its spectrum is not polluted by the ends of the grid. A smooth
        # taper over the extensions does the same for an STF still varying there (a
        # record that ends mid-pulse), without touching [0, t_max].
        slope = np.diff(values) * _taper(0.5 * (grid[1:] + grid[:-1]), t_max)
        spectrum = np.abs(np.fft.rfft(slope))
        freqs = np.fft.rfftfreq(values.size - 1, h)
        if spectrum.max() == 0.0:  # a constant STF: any panel integrates it exactly
            f_max = 1.0 / t_max
            break
        above = np.flatnonzero(spectrum > _SPECTRUM_THRESHOLD * spectrum.max())
        f_max = max(freqs[above[-1]], 1.0 / t_max)
        if f_max <= freqs[-1] / 4 or 4 * n > _PLAN_SAMPLES[1]:
            break
        n *= 4  # under-resolved (or non-smooth): sample finer
    inside = (grid >= 0.0) & (grid <= t_max)
    magnitude = np.where(inside, np.abs(values), 0.0)
    peak = magnitude.max()
    if peak == 0.0:
        return None
    active = np.flatnonzero(magnitude > _SUPPORT_THRESHOLD * peak)
    lo = max(0.0, grid[active[0]] - 2 * h)
    hi = math.inf if grid[active[-1]] >= t_max - 2 * h else grid[active[-1]] + 2 * h
    return _Plan(support=(lo, hi), panel=_PANEL_PERIODS / f_max, fd_step=0.002 / f_max)


def _derivative(stf: StfCallable, plan: _Plan, stf_derivative: StfCallable | None) -> StfCallable:
    """The exact derivative if given, else a 4th-order central difference of the STF."""
    if stf_derivative is not None:
        return stf_derivative
    h = plan.fd_step

    def derivative(x: np.ndarray) -> np.ndarray:
        return sum(c * _call(stf, x + j * h) for j, c in _FD4.items()) / h

    return derivative


def _retarded(func: StfCallable, t: np.ndarray, delay: np.ndarray) -> np.ndarray:
    """``func(t - delay)`` switched on at ``t = delay``: shape (n_rec, n_t)."""
    lag = t[None, :] - delay[:, None]
    out = np.zeros(lag.shape)
    on = lag >= 0.0
    out[on] = _call(func, lag[on])
    return out


def _near_field(stf: StfCallable, t: np.ndarray, Ta: np.ndarray, Tb: np.ndarray, plan: _Plan) -> np.ndarray:
    """``I = int_{Ta}^{Tb} tau s(t - tau) dtau`` for every receiver and time: (n_rec, n_t).

    The range is trimmed to lags ``t - tau`` in the STF's support (which starts at or
    after 0, the switch-on), then split into equal panels no wider than ``plan.panel``.
    Entries that need the same number of panels are integrated together.
    """
    lo_lag, hi_lag = plan.support
    tt = np.broadcast_to(t[None, :], (Ta.size, t.size))
    tau_a = np.maximum(Ta[:, None], tt - hi_lag)
    tau_b = np.minimum(Tb[:, None], tt - lo_lag)
    out = np.zeros(tt.shape)
    rows, cols = np.nonzero(tau_b > tau_a)
    if rows.size == 0:
        return out
    tau_a, tau_b, tt = tau_a[rows, cols], tau_b[rows, cols], tt[rows, cols]
    n_panels = np.maximum(1, np.ceil((tau_b - tau_a) / plan.panel)).astype(int)
    values = np.empty(rows.size)
    for n in np.unique(n_panels):
        # Nodes and weights of n equal panels on [0, 1]: tau = tau_a + (tau_b - tau_a) xi.
        xi = ((np.arange(n)[:, None] + 0.5 * (_GL_X + 1.0)) / n).ravel()
        w = np.tile(_GL_W, n) / (2 * n)
        group = np.flatnonzero(n_panels == n)
        step = max(1, _CHUNK_NODES // xi.size)
        for start in range(0, group.size, step):
            sel = group[start : start + step]
            width = tau_b[sel] - tau_a[sel]
            tau = tau_a[sel, None] + width[:, None] * xi  # (k, n * 12)
            s = _call(stf, (tt[sel, None] - tau).ravel()).reshape(tau.shape)
            values[sel] = width * ((s * tau) @ w)
    out[rows, cols] = values
    return out


# --------------------------------------------------------------------------------------
# Public solutions
# --------------------------------------------------------------------------------------
def acoustic_pressure_3d(
    receivers: ArrayLike, source: ArrayLike, times: ArrayLike, vp: float, rho: float, stf: StfCallable
) -> np.ndarray:
    """Pressure of a point source in a homogeneous acoustic full space (3D).

    Solves ``(1/kappa) p_tt - div((1/rho) grad p) = stf(t) delta(x - x_s)`` with
    ``kappa = rho vp^2``, at rest for ``t <= 0``: ``p = rho stf(t - r/vp) / (4 pi r)``.

    Parameters
    ----------
    receivers : (n_rec, 3) array_like
        Receiver positions (x, y, z) in m.
    source : (3,) array_like
        Source position (x, y, z) in m.
    times : (n_t,) array_like
        Output times (s).
    vp : float
        Sound speed (m/s).
    rho : float
        Density (kg/m^3).
    stf : callable
        Vectorised source time function ``stf(t) -> array`` (m^3/s^2, so that p is in
        Pa); ignored for ``t < 0``.

    Returns
    -------
    (n_rec, n_t) float64
        Pressure (Pa).

    Examples
    --------
    >>> import numpy as np
    >>> pulse = lambda t: np.exp(-((t - 0.1) / 0.02) ** 2)
    >>> p = acoustic_pressure_3d([(300.0, 0.0, 0.0)], (0.0, 0.0, 0.0), np.linspace(0, 0.5, 51), 3000.0, 1000.0, pulse)
    >>> p.shape, bool(np.all(p[0, :10] == 0.0))
    ((1, 51), True)
    """
    vp, rho = _positive("vp", vp), _positive("rho", rho)
    _check_stf(stf)
    t = _times(times)
    _, dist = _offsets(receivers, source)
    return rho * _retarded(stf, t, dist / vp) / (4 * np.pi * dist[:, None])


def elastic_force_displacement_3d(
    receivers: ArrayLike,
    source: ArrayLike,
    times: ArrayLike,
    vp: float,
    vs: float,
    rho: float,
    force: ArrayLike,
    stf: StfCallable,
) -> np.ndarray:
    """Displacement of a point force in a homogeneous isotropic elastic full space (3D).

    Solves ``rho u_tt = div sigma + force stf(t) delta(x - x_s)``, with
    ``sigma = lambda tr(eps) I + 2 mu eps``, at rest for ``t <= 0``: Stokes' solution
    (module docstring), near-field term included.

    Parameters
    ----------
    receivers : (n_rec, 3) array_like
        Receiver positions (x, y, z) in m.
    source : (3,) array_like
        Source position (x, y, z) in m.
    times : (n_t,) array_like
        Output times (s).
    vp, vs : float
        P and S speeds (m/s), ``0 < vs < vp``.
    rho : float
        Density (kg/m^3).
    force : (3,) array_like
        Force (f_x, f_y, f_z) in N.
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.

    Returns
    -------
    (n_rec, 3, n_t) float64
        Displacement (m), components (x, y, z).
    """
    vp, vs, rho = _elastic_speeds(vp, vs, rho)
    _check_stf(stf)
    f = np.asarray(force, dtype=float)
    if f.shape != (3,) or not np.all(np.isfinite(f)):
        raise ValueError(f"The 'force' parameter must be finite (f_x, f_y, f_z), but {force!r} was given.")
    t = _times(times)
    g, r = _offsets(receivers, source)
    out = np.zeros((r.size, 3, t.size))
    plan = _plan(stf, t)
    if plan is None:
        return out
    gf = (g @ f)[:, None] * g  # gamma (gamma . F), (n_rec, 3)
    near = _near_field(stf, t, r / vp, r / vs, plan) / r[:, None] ** 3
    p_far = _retarded(stf, t, r / vp) / (vp**2 * r[:, None])
    s_far = _retarded(stf, t, r / vs) / (vs**2 * r[:, None])
    out += (3.0 * gf - f)[:, :, None] * near[:, None, :]
    out += gf[:, :, None] * p_far[:, None, :]
    out += (f - gf)[:, :, None] * s_far[:, None, :]
    return out / (4 * np.pi * rho)


def elastic_moment_tensor_displacement_3d(
    receivers: ArrayLike,
    source: ArrayLike,
    times: ArrayLike,
    vp: float,
    vs: float,
    rho: float,
    moment_tensor: ArrayLike,
    stf: StfCallable,
    stf_derivative: StfCallable | None = None,
) -> np.ndarray:
    """Displacement of a moment-tensor point source in a homogeneous isotropic space (3D).

    The source is the body force ``f_j = -M_jk d_k delta(x - x_s) stf(t)``, so
    ``u_n = M_pq dG_np/dxs_q`` (Aki & Richards eq. 4.29 in its general form, module
    docstring). An explosion ``M = M0 I`` with ``M0 > 0`` pushes outward where
    ``stf' > 0``. The equation, constitutive law and rest state are those of
    :func:`elastic_force_displacement_3d`.

    Parameters
    ----------
    receivers : (n_rec, 3) array_like
        Receiver positions (x, y, z) in m.
    source : (3,) array_like
        Source position (x, y, z) in m.
    times : (n_t,) array_like
        Output times (s).
    vp, vs : float
        P and S speeds (m/s), ``0 < vs < vp``.
    rho : float
        Density (kg/m^3).
    moment_tensor : (3, 3) array_like
        Symmetric moment tensor (N m), rows and columns in the order x, y, z.
    stf : callable
        Vectorised, dimensionless source time function; ignored for ``t < 0``.
    stf_derivative : callable, optional
        ``d stf / dt`` (1/s). By default a 4th-order central difference of ``stf``
        with a step of 1/500 of the shortest period in the STF (relative error ~1e-11).

    Returns
    -------
    (n_rec, 3, n_t) float64
        Displacement (m), components (x, y, z).
    """
    vp, vs, rho = _elastic_speeds(vp, vs, rho)
    _check_stf(stf)
    if stf_derivative is not None:
        _check_stf(stf_derivative, "stf_derivative")
    M = np.asarray(moment_tensor, dtype=float)
    scale = np.abs(M).max() if M.size else 0.0
    if M.shape != (3, 3) or not np.all(np.isfinite(M)) or np.abs(M - M.T).max() > 1e-12 * scale:
        raise ValueError(
            f"The 'moment_tensor' parameter must be a finite symmetric 3x3 array, but {moment_tensor!r} was given."
        )
    M = 0.5 * (M + M.T)
    t = _times(times)
    g, r = _offsets(receivers, source)
    out = np.zeros((r.size, 3, t.size))
    plan = _plan(stf, t)
    if plan is None:
        return out
    ds = _derivative(stf, plan, stf_derivative)
    Mg = g @ M  # M gamma (M symmetric), (n_rec, 3)
    gMg = np.einsum("ij,ij->i", Mg, g)[:, None] * g  # (gamma . M gamma) gamma
    trg = np.trace(M) * g
    r2 = r[:, None] ** 2
    terms = [  # (radiation pattern (n_rec, 3), time function (n_rec, n_t))
        (15 * gMg - 6 * Mg - 3 * trg, _near_field(stf, t, r / vp, r / vs, plan) / r2**2),
        (6 * gMg - 2 * Mg - trg, _retarded(stf, t, r / vp) / (vp**2 * r2)),
        (-6 * gMg + 3 * Mg + trg, _retarded(stf, t, r / vs) / (vs**2 * r2)),
        (gMg, _retarded(ds, t, r / vp) / (vp**3 * r[:, None])),
        (Mg - gMg, _retarded(ds, t, r / vs) / (vs**3 * r[:, None])),
    ]
    for pattern, history in terms:
        out += pattern[:, :, None] * history[:, None, :]
    return out / (4 * np.pi * rho)
