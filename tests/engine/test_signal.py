"""The band-pass that processes data and synthetics alike (``engine.signal``), and the
adjoint source of a misfit measured on band-passed synthetics.

The band-pass must be obspy's (``Trace.filter("bandpass", corners=4, zerophase=False)``):
observed data are processed by obspy, synthetics by the engine, and any difference is a
systematic misfit. Its transpose must be exact: the adjoint source of ``chi(F s)`` is
``F^T dchi/d(Fs)``, checked against the matrix and against finite differences of the
misfit on noisy data.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from engine import misfit, signal

DT = 0.5
T = np.arange(0.0, 900.0, DT)


def _traces(data):
    return xr.DataArray(np.asarray(data, dtype=float)[None, None], dims=("receiver", "component", "time"),
                        coords={"receiver": ["R0"], "component": ["Z"], "time": T})


def _packet(delay=0.0):
    tt = T - 500.0 - delay
    return np.exp(-((tt / 80.0) ** 2)) * np.cos(2.0 * np.pi * tt / 90.0)


def test_bandpass_is_obspys_filter():
    """The same digital filter as obspy's bandpass at the same sampling: equal to rounding."""
    from obspy import Trace

    rng = np.random.default_rng(1)
    x = rng.standard_normal(T.size)
    tr = Trace(x.copy(), header={"delta": DT})
    tr.filter("bandpass", freqmin=1 / 120.0, freqmax=1 / 70.0, corners=4, zerophase=False)
    np.testing.assert_allclose(signal.bandpass(x, DT, 70.0, 120.0), tr.data, rtol=0, atol=1e-12 * np.abs(x).max())


def test_transpose_is_the_matrix_transpose():
    """<F x, y> = <x, F^T y> to rounding (1e-12 relative), and F^T equals the explicit matrix's."""
    n = 400
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal(n), rng.standard_normal(n)
    lhs = np.dot(signal.bandpass(x, 2.0, 70.0, 120.0), y)
    rhs = np.dot(x, signal.bandpass_transpose(y, 2.0, 70.0, 120.0))
    assert abs(lhs - rhs) <= 1e-12 * np.linalg.norm(x) * np.linalg.norm(y)
    matrix = signal.bandpass(np.eye(n), 2.0, 70.0, 120.0).T  # column j: F e_j
    np.testing.assert_allclose(signal.bandpass_transpose(y, 2.0, 70.0, 120.0), matrix.T @ y, atol=1e-12)


@pytest.mark.parametrize("name", ["l2", "tf_phase"])
def test_adjoint_source_through_the_bandpass_matches_finite_differences(name):
    """chi(s) = misfit(d, F s) on noisy data: <F^T dchi/d(Fs), ds> dt equals the central
    difference of chi within 1e-5 relative (the difference's own truncation and rounding
    error at h = 1e-4 of the signal is ~1e-7)."""
    rng = np.random.default_rng(3)
    noise = signal.bandpass(rng.standard_normal(T.size), DT, 60.0, 150.0)
    observed = _traces(_packet(delay=6.0) + 0.02 * noise / np.abs(noise).max())
    synthetic = _packet() + 0.3 * signal.bandpass(rng.standard_normal(T.size), DT, 70.0, 120.0)
    options = {"min_period": 70.0, "max_period": 120.0} if name == "tf_phase" else {}
    windows = {"R0": [(300.0, 700.0)]}
    f = misfit.by_name(name)

    def chi(s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(observed, _traces(signal.bandpass(s, DT, 70.0, 120.0)), windows=windows, **options)

    value, adjoint = chi(synthetic)
    gradient = signal.bandpass_transpose(adjoint.values[0, 0], DT, 70.0, 120.0)
    direction = signal.bandpass(rng.standard_normal(T.size), DT, 50.0, 200.0)
    h = 1e-4 * np.abs(synthetic).max() / np.abs(direction).max()
    fd = (chi(synthetic + h * direction)[0] - chi(synthetic - h * direction)[0]) / (2 * h)
    predicted = float(np.dot(gradient, direction)) * DT  # adjoint sources are densities in time
    assert value > 0
    assert predicted == pytest.approx(fd, rel=1e-5)


def test_bad_band_is_refused_with_the_sampling_it_needs():
    with pytest.raises(ValueError, match="sampling interval below 35"):
        signal.bandpass(np.zeros(10), 40.0, 70.0, 120.0)
    with pytest.raises(ValueError, match="max_period"):
        signal.bandpass(np.zeros(10), 1.0, 120.0, 70.0)
