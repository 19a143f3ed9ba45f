r"""Cross-correlation traveltime misfit (Luo & Schuster 1991; Dahlen et al. 2000).

For each window, with :math:`w` the taper, the time shift :math:`T` maximises the
discrete cross-correlation

.. math::

    C_j = \sum_n (w s)_{n+j} \, (w o)_n , \qquad |j| \Delta t \le T_{\max},

refined below one sample by fitting a parabola through the peak and its two
neighbours: :math:`T = (k + p) \Delta t`,
:math:`p = \tfrac12 (C_{k-1} - C_{k+1}) / (C_{k-1} - 2 C_k + C_{k+1})`.
**Sign:** :math:`T > 0` when the synthetic arrives later than the observed,
:math:`s(t) \approx o(t - T)`. The misfit is :math:`J = \tfrac12 \sum T^2` over all
traces and windows.

Adjoint source (option ``derivative``):

``"continuous"`` (default, the standard one)
    From the derivative of the continuous traveltime, treating the tapered
    synthetic as the observed shifted by :math:`T`,
    :math:`\delta T = -\int w\,\dot{(ws)}\,\delta s\,dt / \int \dot{(ws)}^2 dt`, so

    .. math:: f(t) = -T \, w(t) \, \dot{(ws)}(t) / N, \qquad N = \int \dot{(ws)}^2 dt

    (time derivative by central differences). It is not the derivative of the discrete
    measurement: it agrees with finite differences to about 1 % at 100 samples per
    period when the synthetic is a shifted copy of the observed and the signal lies
    inside the flat part of the taper, and to O(T) relative when the waveforms differ.
``"discrete"``
    The exact derivative of the discrete measurement above (through the parabolic
    refinement): finite differences agree to rounding, so gradient Taylor tests
    pass tightly. Its waveform is a weighted sum of three shifted copies of the
    tapered observed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy import signal

from ._common import data_skip_reason, finish, parse_options, positive, prepare, skip_record
from ._windows import Segment, resolve_segments

NAME = "cc_traveltime"
DEFAULTS = {"taper_fraction": 0.1, "taper_width": None, "max_time_shift": None, "derivative": "continuous"}


def _continuous_derivative(
    seg: Segment, o: np.ndarray, s: np.ndarray, shift: float, peak: dict, dt: float
) -> np.ndarray | None:
    """Standard traveltime adjoint source ``T * dT/ds`` on the window samples."""
    velocity = np.gradient(seg.taper * s, dt)
    norm = np.dot(velocity, velocity) * dt
    if norm == 0.0:
        return None
    return -shift * seg.taper * velocity / norm


def _discrete_derivative(
    seg: Segment, o: np.ndarray, s: np.ndarray, shift: float, peak: dict, dt: float
) -> np.ndarray | None:
    """Exact ``T * dT/ds / dt`` of the parabolic peak of the discrete correlation."""
    a, d, k = peak["a"], peak["d"], peak["lag"]
    # p = a / (2 d) with a = C[k-1] - C[k+1], d = C[k-1] - 2 C[k] + C[k+1].
    dp = {
        k - 1: 0.5 / d - 0.5 * a / d**2,
        k: a / d**2,
        k + 1: -0.5 / d - 0.5 * a / d**2,
    }
    ow = seg.taper * o
    n = ow.size
    grad = np.zeros(n)
    # dC[j]/ds[m] = w[m] * ow[m - j]
    for j, coef in dp.items():
        if j >= 0:
            grad[j:] += coef * ow[: n - j]
        else:
            grad[: n + j] += coef * ow[-j:]
    # dT/ds[m] = dt * grad * w; adjoint = T * dT/ds / dt.
    return shift * seg.taper * grad


_DERIVATIVES = {"continuous": _continuous_derivative, "discrete": _discrete_derivative}


def _measure(ow: np.ndarray, sw: np.ndarray, max_lag: int) -> tuple[dict | None, str | None]:
    """Peak of the cross-correlation of tapered traces within ``|lag| <= max_lag``."""
    full = signal.correlate(sw, ow, mode="full", method="auto")
    lags = signal.correlation_lags(sw.size, ow.size, mode="full")
    keep = np.abs(lags) <= max_lag
    corr, lags = full[keep], lags[keep]
    i = int(np.argmax(corr))
    if i == 0 or i == corr.size - 1:
        return None, (
            f"cross-correlation peak at the edge of the allowed lag range "
            f"(+-{max_lag} samples); raise 'max_time_shift' or check for cycle skips"
        )
    c_minus, c0, c_plus = corr[i - 1], corr[i], corr[i + 1]
    d = c_minus - 2.0 * c0 + c_plus
    if c0 <= 0.0 or d >= 0.0:
        return None, "cross-correlation has no positive, curved maximum"
    a = c_minus - c_plus
    return {"lag": int(lags[i]), "a": a, "d": d, "p": 0.5 * a / d}, None


def cc_traveltime(
    observed: xr.DataArray,
    synthetic: xr.DataArray,
    windows: Any = None,
    **options: Any,
) -> tuple[float, xr.DataArray]:
    """Cross-correlation traveltime misfit ``1/2 sum T^2`` and its adjoint source.

    Parameters
    ----------
    observed, synthetic : xarray.DataArray
        Dims ``("receiver", "component", "time")``, same coordinates, ``time`` in
        seconds, uniformly sampled.
    windows : None, list of (float, float) or dict, optional
        Measurement windows in seconds (see :mod:`engine.misfit`); ``None`` is the
        whole trace.
    **options
        ``taper_fraction`` (float, default 0.1): cosine ramp on each side of a window.
        ``taper_width`` (float s, default None): the ramp in seconds instead (at most half the window).
        ``max_time_shift`` (float, seconds, default half the window length): largest
        lag searched; a peak at that lag is skipped as unreliable.
        ``derivative`` (``"continuous"`` (default) or ``"discrete"``): which adjoint
        source, see the module docstring.

    Returns
    -------
    value : float
        ``J = 1/2 sum T^2`` in s^2.
    adjoint_source : xarray.DataArray
        ``(1/dt) dJ/ds``, shaped like ``synthetic``. Besides the common attrs,
        ``attrs["time_shifts"]`` is ``{receiver: {component: [T per window, s]}}``
        (skipped windows omitted), positive when the synthetic is late.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 10.0, 0.01)
    >>> def pulse(t0):
    ...     x = np.exp(-((t - t0) / 0.3) ** 2) * np.cos(2 * np.pi * (t - t0))
    ...     return xr.DataArray(x[None, None], dims=("receiver", "component", "time"),
    ...                         coords={"receiver": ["R0"], "component": ["Z"], "time": t})
    >>> value, adj = cc_traveltime(pulse(5.0), pulse(5.2))
    >>> round(adj.attrs["time_shifts"]["R0"]["Z"][0], 3)
    0.2
    """
    opts = parse_options(NAME, options, DEFAULTS)
    if opts["derivative"] not in _DERIVATIVES:
        raise ValueError(
            f"The 'derivative' parameter must be one of {list(_DERIVATIVES)}, but "
            f"{opts['derivative']!r} was given."
        )
    derivative = _DERIVATIVES[opts["derivative"]]
    max_shift = None if opts["max_time_shift"] is None else positive(
        "max_time_shift", opts["max_time_shift"]
    )
    traces = prepare(observed, synthetic)
    dt = traces.dt
    if max_shift is not None and max_shift < 2.0 * dt:
        raise ValueError(
            f"The 'max_time_shift' parameter must be at least two samples ({2 * dt} s), "
            f"but {max_shift!r} was given."
        )
    segments = resolve_segments(windows, traces, opts["taper_fraction"], opts["taper_width"])
    per_trace = np.zeros(traces.synthetic.shape[:2])
    adjoint = np.zeros_like(traces.synthetic)
    shifts: dict = {rec: {comp: [] for comp in traces.components} for rec in traces.receivers}
    skipped = []
    for seg in segments:
        r, c = seg.receiver, seg.component
        o = traces.observed[r, c, seg.start : seg.stop]
        s = traces.synthetic[r, c, seg.start : seg.stop]
        reason = data_skip_reason(o, s)
        peak = None
        if reason is None:
            n = seg.stop - seg.start
            # The parabola needs a neighbour on each side of the peak, so at most n - 2.
            max_lag = n // 2 if max_shift is None else int(np.floor(max_shift / dt + 1e-9))
            max_lag = min(max_lag, n - 2)
            peak, reason = _measure(seg.taper * o, seg.taper * s, max_lag)
        if reason is None:
            shift = (peak["lag"] + peak["p"]) * dt
            f = derivative(seg, o, s, shift, peak, dt)
            if f is None:
                reason = "synthetic has no time derivative in the window"
        if reason is not None:
            skipped.append(skip_record(traces, r, c, seg.window, reason))
            continue
        per_trace[r, c] += 0.5 * shift**2
        adjoint[r, c, seg.start : seg.stop] += f
        shifts[traces.receivers[r]][traces.components[c]].append(float(shift))
    return finish(NAME, traces, per_trace, adjoint, skipped, {"time_shifts": shifts})
