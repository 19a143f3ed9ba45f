"""The band-pass that processes data and synthetics alike, and its exact transpose.

Observed data are band-passed in processing (obspy's ``Stream.filter("bandpass",
freqmin, freqmax, corners=4, zerophase=False)``: a causal Butterworth band-pass of 4
corners, designed at the traces' sampling rate). When the synthetics are band-passed the
same way before they are measured, the misfit is ``chi(F s)`` with ``F`` that linear
filter, and its adjoint source is ``F^T`` applied to ``d chi / d(F s)``. A causal filter
from rest is a lower-triangular Toeplitz matrix; its transpose is the same filter run
backwards in time (reverse, filter, reverse), so the adjoint source is exact to rounding,
which the tests check against the matrix and finite differences.
"""
from __future__ import annotations

import numpy as np

from ._validate import number

__all__ = ["bandpass", "bandpass_transpose", "bandpass_sos"]


def bandpass_sos(dt: float, min_period: float, max_period: float, corners: int = 4) -> np.ndarray:
    """Second-order sections of the causal Butterworth band-pass [1/max_period, 1/min_period]
    at sampling interval ``dt`` (obspy's design: ``iirfilter(corners, [f1, f2] / Nyquist)``)."""
    from scipy.signal import iirfilter

    dt = number("dt", dt, "positive")
    lo, hi = number("min_period", min_period, "positive"), number("max_period", max_period, "positive")
    if not hi > lo:
        raise ValueError(f"The 'max_period' parameter must exceed 'min_period' ({lo!r}), but {hi!r} was given.")
    nyquist = 0.5 / dt
    if 1.0 / lo >= nyquist:
        raise ValueError(f"The band-pass up to {1.0 / lo:.4g} Hz (min_period {lo} s) needs a sampling interval below "
                         f"{lo / 2:.4g} s, but the traces are sampled every {dt} s.")
    if isinstance(corners, bool) or not isinstance(corners, (int, np.integer)) or corners < 1:
        raise ValueError(f"The 'corners' parameter must be a positive integer, but {corners!r} was given.")
    return iirfilter(int(corners), [1.0 / hi / nyquist, 1.0 / lo / nyquist], btype="band", ftype="butter", output="sos")


def bandpass(traces, dt: float, min_period: float, max_period: float, corners: int = 4) -> np.ndarray:
    """Causal band-pass of ``traces`` (any shape, time last) from rest at t[0]."""
    from scipy.signal import sosfilt

    return sosfilt(bandpass_sos(dt, min_period, max_period, corners), np.asarray(traces, dtype=float), axis=-1)


def bandpass_transpose(traces, dt: float, min_period: float, max_period: float, corners: int = 4) -> np.ndarray:
    """``F^T x`` for ``F`` = :func:`bandpass`: the filter run backwards in time."""
    x = np.asarray(traces, dtype=float)[..., ::-1]
    return bandpass(x, dt, min_period, max_period, corners)[..., ::-1].copy()
