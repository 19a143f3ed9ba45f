"""Tests of engine.misfit: values, adjoint sources against finite differences, windows,
skipped measurements and input errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.ndimage import gaussian_filter1d

from engine import misfit
from engine.misfit import MeasurementSkipped

TF_BAND = {"min_period": 70.0, "max_period": 120.0}


# --------------------------------------------------------------------------- helpers


def traces(data, t, receivers=None, components=None) -> xr.DataArray:
    """DataArray (receiver, component, time) from an array of 1, 2 or 3 dims."""
    data = np.asarray(data, dtype=float)
    while data.ndim < 3:
        data = data[None]
    receivers = receivers or [f"R{i}" for i in range(data.shape[0])]
    components = components or ["Z", "N", "E"][: data.shape[1]]
    return xr.DataArray(
        data,
        dims=("receiver", "component", "time"),
        coords={"receiver": receivers, "component": components, "time": t},
    )


def wavelet(t, t0, period, width):
    """Gaussian-modulated cosine centred at t0 (seconds)."""
    return np.exp(-(((t - t0) / width) ** 2)) * np.cos(2.0 * np.pi * (t - t0) / period)


def short_time():
    """1 s period signals at dt = 0.01 s (100 samples per period) for l2 and cc."""
    return np.arange(0.0, 10.0, 0.01)


def short_pair(t):
    """3 receivers x 2 components; synthetics late by 0.37, 0.2, -0.25 s."""
    delays = np.array([[0.37, 0.2], [0.2, -0.25], [-0.25, 0.37]])
    obs = np.array([[wavelet(t, 5.0, 1.0, 0.5) for _ in range(2)] for _ in range(3)])
    syn = np.array([[wavelet(t, 5.0 + d, 1.0, 0.5) for d in row] for row in delays])
    return traces(obs, t), traces(syn, t)


def long_time():
    """1200 s traces at dt = 4 s, as in the continental tutorial (70-120 s)."""
    return np.arange(0.0, 1200.0, 4.0)


def long_wave(t, delay=0.0, amplitude=1.0):
    """Two surface-wave-like packets at 90 s and 75 s period."""
    return amplitude * (
        wavelet(t, 400.0 + delay, 90.0, 150.0) + 0.7 * wavelet(t, 750.0 + delay, 75.0, 120.0)
    )


def long_pair(t):
    """3 receivers x 2 components with phase shifts and amplitude changes."""
    obs = np.array([[long_wave(t) for _ in range(2)] for _ in range(3)])
    syn = np.array(
        [
            [long_wave(t, 6.0, 1.3), long_wave(t, -4.0, 0.8)],
            [long_wave(t, 3.0) + 0.05 * wavelet(t, 600.0, 100.0, 100.0), long_wave(t, 8.0)],
            [long_wave(t, -2.0, 2.0), long_wave(t, 5.0, 0.5)],
        ]
    )
    return traces(obs, t), traces(syn, t)


def value(name, obs, syn, **kwargs):
    return misfit.by_name(name)(obs, syn, **kwargs)[0]


def directional_check(name, obs, syn, direction, h, **kwargs):
    """(finite difference, adjoint prediction) of dJ along ``direction``."""
    dt = float(syn.time[1] - syn.time[0])
    _, adj = misfit.by_name(name)(obs, syn, **kwargs)
    fd = (
        value(name, obs, syn + h * direction, **kwargs)
        - value(name, obs, syn - h * direction, **kwargs)
    ) / (2.0 * h)
    return fd, float((adj * direction).sum()) * dt, adj


def smooth_direction(rng, shape, smoothing_samples):
    """A random direction, low-passed so it lies in the signal band (unit max)."""
    v = gaussian_filter1d(rng.standard_normal(shape), smoothing_samples, axis=-1)
    return v / np.abs(v).max()


# ------------------------------------------------------------------------- registry


def test_registry_lists_and_returns_each_misfit():
    assert misfit.available() == ("l2", "cc_traveltime", "tf_phase")
    assert misfit.by_name("l2") is misfit.l2
    assert misfit.by_name("cc_traveltime") is misfit.cc_traveltime
    assert misfit.by_name("tf_phase") is misfit.tf_phase


def test_unknown_misfit_name_lists_valid_ones():
    with pytest.raises(ValueError, match="'l2', 'cc_traveltime', 'tf_phase'.*'waveform'"):
        misfit.by_name("waveform")


# ----------------------------------------------------------------- common behaviour

CASES = {
    "l2": (short_time, short_pair, {}),
    "cc_traveltime": (short_time, short_pair, {}),
    "tf_phase": (long_time, long_pair, TF_BAND),
}


@pytest.mark.parametrize("name", list(CASES))
def test_identical_traces_give_zero_misfit_and_adjoint(name):
    make_t, make_pair, opts = CASES[name]
    t = make_t()
    obs, _ = make_pair(t)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may be skipped here
        val, adj = misfit.by_name(name)(obs, obs.copy(), **opts)
    assert val == 0.0
    assert np.all(adj.values == 0.0)
    assert adj.dims == obs.dims
    assert adj.attrs["misfit"] == 0.0
    assert adj.attrs["misfit_function"] == name
    assert adj.attrs["skipped"] == []
    assert adj.attrs["per_trace"] == {
        r: {c: 0.0 for c in ("Z", "N")} for r in ("R0", "R1", "R2")
    }


@pytest.mark.parametrize("name", list(CASES))
def test_attrs_per_trace_sum_to_value_and_coords_are_kept(name):
    make_t, make_pair, opts = CASES[name]
    t = make_t()
    obs, syn = make_pair(t)
    val, adj = misfit.by_name(name)(obs, syn, **opts)
    assert val > 0.0
    assert adj.attrs["misfit"] == val
    per_trace = adj.attrs["per_trace"]
    assert list(per_trace) == ["R0", "R1", "R2"]
    assert all(list(v) == ["Z", "N"] for v in per_trace.values())
    total = sum(x for comp in per_trace.values() for x in comp.values())
    assert total == pytest.approx(val, rel=1e-12)  # the same numbers summed in another order
    xr.testing.assert_identical(adj.time, syn.time)
    assert list(adj.receiver.values) == ["R0", "R1", "R2"]
    # every trace is shifted, so each has its own non-zero adjoint source
    assert np.all(np.abs(adj.values).max(axis=-1) > 0.0)


# -------------------------------------------------------- finite-difference checks

# l2 is quadratic: the central difference is exact up to rounding (~1e-12 here).
L2_RTOL = 1e-8
# tf_phase's adjoint source is the exact derivative; the O(h^2) truncation and
# rounding of the central difference stay below 1e-8 (measured ~1e-9).
TF_RTOL = 1e-6
# cc "discrete" is the exact derivative of the parabolic peak (measured ~1e-9).
CC_DISCRETE_RTOL = 1e-6
# cc "continuous" (the standard adjoint) differentiates the continuous traveltime;
# at 100 samples per period, shifted copies and signal inside the flat taper it
# differs from the discrete measurement's derivative by ~0.1-0.5 % (measured).
CC_CONTINUOUS_RTOL = 0.02

WINDOW_FORMS = {
    "whole trace": {},
    "list": {"windows": [(2.0, 8.0)]},
    "list, long taper": {"windows": [(2.0, 8.0)], "taper_fraction": 0.3},
    "per receiver": {"windows": {"R0": [(2.0, 8.0)], "R1": [(1.5, 8.5)], "R2": [(2.5, 7.5)]}},
}
TF_WINDOW_FORMS = {
    "whole trace": {},
    "list": {"windows": [(150.0, 1050.0)]},
    "per trace, two windows": {
        "windows": {
            ("R0", "Z"): [(100.0, 580.0), (560.0, 1100.0)],
            ("R1", "N"): [(150.0, 1050.0)],
            "R2": [(0.0, 1196.0)],
        },
        "taper_fraction": 0.25,
    },
}


def _check_samples(name, obs, syn, adj, h, tol, rng, n_samples=5, **opts):
    """Central differences at random samples where the adjoint source is large."""
    dt = float(syn.time[1] - syn.time[0])
    a = adj.values
    scale = np.abs(a).max() * dt
    candidates = np.argwhere(np.abs(a) > 0.2 * np.abs(a).max())
    for r, c, n in candidates[rng.choice(len(candidates), n_samples, replace=False)]:
        e = xr.zeros_like(syn)
        e[r, c, n] = 1.0
        fd = (value(name, obs, syn + h * e, **opts) - value(name, obs, syn - h * e, **opts)) / (
            2.0 * h
        )
        assert abs(fd - a[r, c, n] * dt) <= tol * scale, (r, c, n, fd, a[r, c, n] * dt)


@pytest.mark.parametrize("form", list(WINDOW_FORMS))
def test_l2_adjoint_source_matches_finite_differences(form):
    rng = np.random.default_rng(1)
    t = short_time()
    obs, syn = short_pair(t)
    opts = WINDOW_FORMS[form]
    v = xr.DataArray(rng.standard_normal(syn.shape), dims=syn.dims, coords=syn.coords)
    fd, predicted, adj = directional_check("l2", obs, syn, v, 1e-3, **opts)
    assert fd == pytest.approx(predicted, rel=L2_RTOL)
    _check_samples("l2", obs, syn, adj, 1e-3, L2_RTOL, rng, **opts)


@pytest.mark.parametrize("form", list(WINDOW_FORMS))
@pytest.mark.parametrize(
    "derivative, rtol",
    [("continuous", CC_CONTINUOUS_RTOL), ("discrete", CC_DISCRETE_RTOL)],
)
def test_cc_adjoint_source_matches_finite_differences(form, derivative, rtol):
    rng = np.random.default_rng(2)
    t = short_time()
    obs, syn = short_pair(t)
    opts = dict(WINDOW_FORMS[form], derivative=derivative)
    # Smooth directions: the continuous adjoint is only meant for in-band perturbations.
    for _ in range(2):
        v = smooth_direction(rng, syn.shape, 10)
        v = xr.DataArray(v, dims=syn.dims, coords=syn.coords)
        fd, predicted, adj = directional_check("cc_traveltime", obs, syn, v, 1e-6, **opts)
        assert fd == pytest.approx(predicted, rel=rtol)
    # The time-shift direction -ds/dt: dJ = sum T * dT with dT = 1 per unit step.
    shift_dir = -syn.differentiate("time")
    fd, predicted, _ = directional_check("cc_traveltime", obs, syn, shift_dir, 1e-6, **opts)
    assert fd == pytest.approx(predicted, rel=rtol)
    shifts = [x for comp in adj.attrs["time_shifts"].values() for v in comp.values() for x in v]
    assert fd == pytest.approx(sum(shifts), rel=0.01)  # np.gradient vs the exact derivative
    _check_samples("cc_traveltime", obs, syn, adj, 1e-6, rtol, rng, **opts)


@pytest.mark.parametrize("form", list(TF_WINDOW_FORMS))
def test_tf_phase_adjoint_source_matches_finite_differences(form):
    rng = np.random.default_rng(3)
    t = long_time()
    obs, syn = long_pair(t)
    opts = dict(TF_WINDOW_FORMS[form], **TF_BAND)
    for _ in range(2):
        v = xr.DataArray(rng.standard_normal(syn.shape), dims=syn.dims, coords=syn.coords)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no window may be skipped in this case
            fd, predicted, adj = directional_check("tf_phase", obs, syn, v, 1e-6, **opts)
        assert fd == pytest.approx(predicted, rel=TF_RTOL)
    _check_samples("tf_phase", obs, syn, adj, 1e-6, TF_RTOL, rng, **opts)


def test_cc_adjoint_sign_reduces_the_misfit():
    # A small step against the adjoint source must lower the misfit: the sign check
    # that matters to the optimizer, independent of any convention.
    t = short_time()
    obs, syn = short_pair(t)
    for derivative in ("continuous", "discrete"):
        val, adj = misfit.cc_traveltime(obs, syn, derivative=derivative)
        step = 1e-3 / float(np.abs(adj).max())
        assert misfit.cc_traveltime(obs, syn - step * adj, derivative=derivative)[0] < val


# ----------------------------------------------------------------- misfit values


def test_l2_value_matches_the_formula():
    t = short_time()
    obs, syn = short_pair(t)
    val, _ = misfit.l2(obs, syn, windows=[(2.0, 8.0)], taper_fraction=0.25)
    inside = (t >= 2.0) & (t <= 8.0)
    x = np.clip(np.minimum(t - 2.0, 8.0 - t) / 1.5, 0.0, 1.0)
    w = np.where(inside, 0.5 * (1.0 - np.cos(np.pi * x)), 0.0)
    expected = 0.5 * np.sum((w * (syn.values - obs.values)) ** 2) * 0.01
    assert val == pytest.approx(expected, rel=1e-12)  # the same sum in another order


@pytest.mark.parametrize("dt, samples", [(0.01, "integer lag"), (0.03, "sub-sample lag")])
def test_cc_recovers_a_known_shift(dt, samples):
    t = np.arange(0.0, 10.0, dt)
    obs = traces(wavelet(t, 5.0, 1.0, 0.5), t)
    late = traces(wavelet(t, 5.37, 1.0, 0.5), t)
    early = traces(wavelet(t, 4.63, 1.0, 0.5), t)
    val, adj = misfit.cc_traveltime(obs, late)
    (shift,) = adj.attrs["time_shifts"]["R0"]["Z"]
    # 1 %: the requirement; parabolic refinement at 33 samples per period does ~0.1 %.
    assert shift == pytest.approx(0.37, rel=0.01)
    assert val == pytest.approx(0.5 * shift**2, rel=1e-12)
    _, adj = misfit.cc_traveltime(obs, early)
    assert adj.attrs["time_shifts"]["R0"]["Z"][0] == pytest.approx(-0.37, rel=0.01)


def test_tf_phase_grows_linearly_with_a_time_shift():
    t = long_time()
    obs = traces(long_wave(t), t)
    chis = np.array(
        [misfit.tf_phase(obs, traces(long_wave(t, d), t), **TF_BAND)[0] for d in (1, 2, 4, 8)]
    )
    # chi ~ omega * shift: doubling the shift doubles chi (dphi is nearly linear in
    # the shift while |dphi| << pi; measured ratios 2.000-2.001).
    np.testing.assert_allclose(chis[1:] / chis[:-1], 2.0, rtol=0.01)
    # and the slope is a typical angular frequency of the band (2 pi / 120 .. 2 pi / 70)
    assert 2 * np.pi / 120.0 < chis[0] / 1.0 < 2 * np.pi / 70.0


def test_tf_phase_is_blind_to_amplitude():
    t = long_time()
    obs = traces(long_wave(t), t)
    shifted = traces(long_wave(t, 3.0), t)
    reference = misfit.tf_phase(obs, shifted, **TF_BAND)[0]
    for factor in (2.0, 0.5):
        scaled = misfit.tf_phase(obs, factor * shifted, **TF_BAND)[0]
        assert abs(scaled - reference) <= 1e-6 * reference
        # no shift: zero misfit (to rounding) and a zero adjoint source at chi = 0
        val, adj = misfit.tf_phase(obs, factor * obs, **TF_BAND)
        assert val <= 1e-6 * reference
        assert np.abs(adj.values).max() <= 1e-6 * np.abs(
            misfit.tf_phase(obs, shifted, **TF_BAND)[1].values
        ).max()


# ------------------------------------------------------------------------- windows


def test_window_forms_agree():
    t = short_time()
    obs, syn = short_pair(t)
    win = [(2.0, 8.0)]
    as_list = misfit.l2(obs, syn, windows=win)
    assert misfit.l2(obs, syn, windows=np.array(win))[0] == as_list[0]
    per_receiver = misfit.l2(obs, syn, windows={r: win for r in ("R0", "R1", "R2")})
    per_trace = misfit.l2(
        obs, syn, windows={(r, c): win for r in ("R0", "R1", "R2") for c in ("Z", "N")}
    )
    for val, adj in (per_receiver, per_trace):
        assert val == as_list[0]
        xr.testing.assert_identical(adj, as_list[1])
    # The whole-trace default equals the window spanning the trace.
    whole = misfit.l2(obs, syn)
    assert whole[0] == misfit.l2(obs, syn, windows=[(t[0], t[-1])])[0]
    assert whole[0] > misfit.l2(obs, syn, windows=[(4.5, 5.5)])[0] > 0.0


def test_traces_without_a_window_contribute_nothing():
    t = short_time()
    obs, syn = short_pair(t)
    for name in ("l2", "cc_traveltime"):
        val, adj = misfit.by_name(name)(
            obs, syn, windows={"R1": [(2.0, 8.0)], ("R0", "N"): [(2.0, 8.0)]}
        )
        per_trace = adj.attrs["per_trace"]
        assert per_trace["R1"]["Z"] > 0 and per_trace["R1"]["N"] > 0 and per_trace["R0"]["N"] > 0
        assert per_trace["R0"]["Z"] == 0.0 and per_trace["R2"]["Z"] == per_trace["R2"]["N"] == 0.0
        assert np.all(adj.sel(receiver="R2").values == 0.0)
        assert np.all(adj.sel(receiver="R0", component="Z").values == 0.0)
        assert val == pytest.approx(
            per_trace["R1"]["Z"] + per_trace["R1"]["N"] + per_trace["R0"]["N"], rel=1e-12
        )
        # the adjoint source vanishes outside the window
        outside = (t < 2.0) | (t > 8.0)
        assert np.all(adj.sel(receiver="R1").values[:, outside] == 0.0)


def test_trace_key_overrides_receiver_key_and_windows_add_up():
    t = short_time()
    obs, syn = short_pair(t)
    mixed = misfit.l2(obs, syn, windows={"R0": [(2.0, 8.0)], ("R0", "N"): [(1.0, 9.0)]})
    separate = misfit.l2(obs, syn, windows={("R0", "Z"): [(2.0, 8.0)], ("R0", "N"): [(1.0, 9.0)]})
    assert mixed[0] == separate[0]
    two = misfit.l2(obs, syn, windows=[(1.0, 5.0), (5.0, 9.0)])
    one_each = [misfit.l2(obs, syn, windows=[w])[0] for w in ((1.0, 5.0), (5.0, 9.0))]
    assert two[0] == pytest.approx(sum(one_each), rel=1e-12)


# ---------------------------------------------------------------- skipped windows


@pytest.mark.parametrize("name", list(CASES))
def test_dead_observed_trace_is_skipped_with_a_warning(name):
    make_t, make_pair, opts = CASES[name]
    t = make_t()
    obs, syn = make_pair(t)
    obs = obs.copy()
    if name == "l2":
        obs[1, 0, 100] = np.nan  # zero data are valid for l2; missing data are not
    else:
        obs[1, 0] = 0.0
    full = misfit.by_name(name)(make_pair(t)[0], syn, **opts)
    with pytest.warns(MeasurementSkipped, match=rf"'{name}'.*R1\.Z"):
        val, adj = misfit.by_name(name)(obs, syn, **opts)
    (entry,) = adj.attrs["skipped"]
    assert set(entry) == {"receiver", "component", "window", "reason"}
    assert (entry["receiver"], entry["component"]) == ("R1", "Z")
    assert entry["window"] == (float(t[0]), float(t[-1]))
    assert "observed" in entry["reason"]
    assert adj.attrs["per_trace"]["R1"]["Z"] == 0.0
    assert np.all(adj.values[1, 0] == 0.0)
    assert np.all(np.isfinite(adj.values))
    # the other traces are untouched
    assert val == pytest.approx(full[0] - full[1].attrs["per_trace"]["R1"]["Z"], rel=1e-12)
    # To rounding, not bit for bit: the time-frequency transforms run batched over the
    # traces that count, and a different batch changes the FFT's vector paths (1 ulp seen).
    np.testing.assert_allclose(adj.values[0], full[1].values[0], rtol=1e-13, atol=1e-15 * np.abs(full[1].values).max())


def test_cc_peak_at_the_lag_limit_is_skipped():
    t = short_time()
    obs = traces(wavelet(t, 5.0, 1.0, 0.5), t)
    syn = traces(wavelet(t, 5.37, 1.0, 0.5), t)
    with pytest.warns(MeasurementSkipped, match="edge of the allowed lag"):
        val, adj = misfit.cc_traveltime(obs, syn, max_time_shift=0.2)
    assert val == 0.0 and np.all(adj.values == 0.0)
    assert "edge" in adj.attrs["skipped"][0]["reason"]
    # with room for the shift it is measured
    assert misfit.cc_traveltime(obs, syn, max_time_shift=0.5)[0] > 0.0


def test_tf_phase_cycle_skip_is_reported():
    t = long_time()
    obs = traces([[long_wave(t)], [long_wave(t)]], t, receivers=["A", "B"])
    syn = traces([[long_wave(t, 40.0)], [long_wave(t, 2.0)]], t, receivers=["A", "B"])
    with pytest.warns(MeasurementSkipped, match=r"A\.Z.*jumps"):
        val, adj = misfit.tf_phase(obs, syn, **TF_BAND)
    assert [s["receiver"] for s in adj.attrs["skipped"]] == ["A"]
    assert val == adj.attrs["per_trace"]["B"]["Z"] > 0.0
    assert np.all(adj.sel(receiver="A").values == 0.0)


def test_tf_phase_window_shorter_than_min_period_is_skipped():
    t = long_time()
    obs, syn = traces(long_wave(t), t), traces(long_wave(t, 3.0), t)
    with pytest.warns(MeasurementSkipped, match="shorter than min_period"):
        val, _ = misfit.tf_phase(obs, syn, windows=[(400.0, 460.0)], **TF_BAND)
    assert val == 0.0


# ------------------------------------------------------------------- bad input


def test_mismatched_coordinates_are_named():
    t = short_time()
    obs, syn = short_pair(t)
    with pytest.raises(ValueError, match="'time' coordinate"):
        misfit.l2(obs.assign_coords(time=t + 0.005), syn)
    with pytest.raises(ValueError, match="'receiver' coordinate"):
        misfit.l2(obs.assign_coords(receiver=["A", "B", "C"]), syn)
    with pytest.raises(ValueError, match="'component' coordinate"):
        misfit.l2(obs.assign_coords(component=["Z", "E"]), syn)
    with pytest.raises(ValueError, match="'time' coordinate: 999 versus 1000"):
        misfit.l2(obs.isel(time=slice(1, None)), syn)
    with pytest.raises(ValueError, match="dims"):
        misfit.l2(obs.transpose("time", "receiver", "component"), syn)
    with pytest.raises(TypeError, match="xarray.DataArray"):
        misfit.l2(obs.values, syn)
    dates = np.datetime64("2020-06-20T19:26") + (t * 1e3).astype("timedelta64[ms]")
    with pytest.raises(TypeError, match="numeric 'time' coordinate in seconds"):
        misfit.l2(obs.assign_coords(time=dates), syn.assign_coords(time=dates))
    uneven = np.concatenate([t[:500], t[500:] + 0.002])
    with pytest.raises(ValueError, match="uniformly sampled"):
        misfit.l2(obs.assign_coords(time=uneven), syn.assign_coords(time=uneven))


@pytest.mark.parametrize(
    "windows, message",
    [
        ([(-1.0, 5.0)], "must lie inside the trace"),
        ([(5.0, 12.0)], "must lie inside the trace"),
        ([(5.0, 5.0)], "positive length"),
        ([(6.0, 5.0)], "positive length"),
        ([(5.0, 5.015)], "at least 3 samples"),
        ({"R9": [(2.0, 8.0)]}, r"not a receiver; valid receivers are \['R0', 'R1', 'R2'\]"),
        ({("R0", "X"): [(2.0, 8.0)]}, "receiver name or a"),
        ([(2.0,)], "pair of numbers"),
        ("2-8", "list of"),
    ],
)
def test_bad_windows_raise(windows, message):
    t = short_time()
    obs, syn = short_pair(t)
    with pytest.raises((ValueError, TypeError), match=message):
        misfit.l2(obs, syn, windows=windows)


def test_bad_options_raise():
    t = short_time()
    obs, syn = short_pair(t)
    with pytest.raises(TypeError, match=r"unknown option.*\['taper'\].*'taper_fraction'"):
        misfit.l2(obs, syn, taper=0.1)
    with pytest.raises(ValueError, match="'taper_fraction' parameter must be between 0 and 0.5"):
        misfit.l2(obs, syn, taper_fraction=0.7)
    with pytest.raises(ValueError, match="'max_time_shift' parameter must be positive, but -1.0"):
        misfit.cc_traveltime(obs, syn, max_time_shift=-1.0)
    with pytest.raises(ValueError, match="'derivative' parameter must be one of"):
        misfit.cc_traveltime(obs, syn, derivative="exact")

    t = long_time()
    obs, syn = long_pair(t)
    with pytest.raises(TypeError, match=r"requires the option\(s\) \['min_period'\]"):
        misfit.tf_phase(obs, syn, max_period=120.0)
    with pytest.raises(ValueError, match="'max_period' parameter must be positive, but -1.0"):
        misfit.tf_phase(obs, syn, min_period=70.0, max_period=-1.0)
    with pytest.raises(ValueError, match="'min_period' parameter must be smaller"):
        misfit.tf_phase(obs, syn, min_period=130.0, max_period=120.0)
    coarse = np.arange(0.0, 1200.0, 20.0)
    o, s = traces(long_wave(coarse), coarse), traces(long_wave(coarse, 3.0), coarse)
    with pytest.raises(ValueError, match=r"too coarsely.*min_period / 4 = 17.5 s"):
        misfit.tf_phase(o, s, **TF_BAND)
    with pytest.raises(ValueError, match="'synthetic' traces must be finite"):
        misfit.tf_phase(obs, syn.where(syn.time != 400.0), **TF_BAND)


# ------------------------------------------------------------------- performance


@pytest.mark.parametrize("name", list(CASES))
def test_fifty_stations_at_continental_size(name):
    # The continental case: 50 stations x 1 component x 600 samples (dt = 2 s).
    t = np.arange(0.0, 1200.0, 2.0)
    rng = np.random.default_rng(4)
    shifts = rng.uniform(-5.0, 5.0, 50)
    obs = traces(np.array([[long_wave(t)] for _ in shifts]), t)
    syn = traces(np.array([[long_wave(t, d)] for d in shifts]), t)
    opts = TF_BAND if name == "tf_phase" else {}
    if name == "cc_traveltime":
        opts = {"max_time_shift": 30.0}
    value, adj = misfit.by_name(name)(obs, syn, **opts)
    # Works at the continental size (speed is measured in benchmarks, not asserted here).
    assert np.isfinite(value) and value > 0 and adj.shape == syn.shape


def test_taper_width_gives_ramps_of_that_many_seconds_on_every_window():
    """``taper_width`` (what a window picker gives): each ramp is that long in seconds on a
    short and on a long window, at most half a window; the L2 misfit is the tapered sum."""
    from engine.misfit._windows import hann_taper

    dt = 0.5
    t = np.arange(0.0, 1000.0, dt)
    rng = np.random.default_rng(7)
    obs, syn = rng.standard_normal(t.size), rng.standard_normal(t.size)
    traces = [xr.DataArray(x[None, None], dims=("receiver", "component", "time"),
                           coords={"receiver": ["R"], "component": ["Z"], "time": t}) for x in (obs, syn)]
    windows = {("R", "Z"): [(100.0, 180.0), (300.0, 700.0)]}
    value, _ = misfit.l2(*traces, windows=windows, taper_width=30.0)
    expected = 0.0
    for t0, t1 in windows[("R", "Z")]:
        inside = (t >= t0) & (t <= t1)
        w = hann_taper(t[inside], t0, t1, 0.1, taper_width=30.0)
        # The ramp is 30 s long on both windows: 1 from t0 + 30 s to t1 - 30 s, below 1 before.
        assert np.all(w[(t[inside] >= t0 + 30.0) & (t[inside] <= t1 - 30.0)] == 1.0)
        assert np.all(w[t[inside] < t0 + 29.0] < 1.0)
        expected += 0.5 * np.sum((w * (syn[inside] - obs[inside])) ** 2) * dt
    assert value == pytest.approx(expected, rel=1e-12)
    # Longer than half a window: the ramps meet in the middle.
    w = hann_taper(np.linspace(0.0, 10.0, 11), 0.0, 10.0, 0.1, taper_width=30.0)
    assert w.max() == pytest.approx(1.0) and w[0] == 0.0 and w[-1] == 0.0
    with pytest.raises(ValueError, match="taper_width"):
        misfit.l2(*traces, windows=windows, taper_width=-1.0)
