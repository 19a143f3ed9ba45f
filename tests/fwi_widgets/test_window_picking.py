"""The built-in window picker on realistic traces: a dispersed 85-s surface-wave packet
travelling at 3.9 km/s, observed = synthetic shifted (and scaled) plus 70-120 s
band-limited noise throughout the record."""
from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from fwi_widgets.workflow.window_picking import PickedWindow, PickingParameters, pick_windows

TIMES = np.arange(1200.0)  # 1 s sampling
DISTANCES = np.array([1500e3, 2500e3, 3500e3])
RECEIVERS = ["XX.A15", "XX.B25", "XX.C35"]
GROUP_VELOCITY = 3900.0
NOISE_FRACTION = 0.02  # noise rms relative to the packet's peak: time-shift scatter 0.2 s (1 sigma)
PARAMETERS = PickingParameters(minimum_period_in_seconds=70.0, maximum_period_in_seconds=120.0)


def packet(distance, shift=0.0, amplitude=1.0, origin=0.0):
    """Gaussian-enveloped wave, 85 s period at its centre, frequency rising with time
    (normal dispersion) and a packet that broadens with distance."""
    t = TIMES - origin - distance / GROUP_VELOCITY - shift
    sigma = 60.0 + 10.0 * distance / 1e6
    phase = 2 * np.pi * (t / 85.0 + 0.5 * 1e-5 * t ** 2)
    return amplitude * np.exp(-0.5 * (t / sigma) ** 2) * np.cos(phase)


def band_limited_noise(seed, rms=NOISE_FRACTION, band=(70.0, 120.0)):
    """Noise filtered to `band` (periods in s), `rms` relative to the packet's peak."""
    rng = np.random.default_rng(seed)
    sos = butter(4, [1 / band[1], 1 / band[0]], btype="bandpass", fs=1.0, output="sos")
    noise = sosfilt(sos, rng.standard_normal(3 * TIMES.size))[-TIMES.size:]
    return rms * noise / np.sqrt(np.mean(noise ** 2))


def data(shift=0.0, amplitude=1.0, distances=DISTANCES, origin=0.0, seed=0):
    """(observed, synthetic) with one component, shape (n_receivers, 1, n_times)."""
    syn = np.stack([packet(d, origin=origin) for d in distances])[:, None, :]
    obs = np.stack([packet(d, shift, amplitude, origin) + band_limited_noise(seed + i)
                    for i, d in enumerate(distances)])[:, None, :]
    return obs, syn


def pick(obs, syn, receivers=RECEIVERS, distances=DISTANCES, origin=0.0, parameters=PARAMETERS,
         components=("Z",)):
    return pick_windows(obs, syn, TIMES, receivers, list(components), distances, origin, parameters)


def test_good_traces_are_accepted_with_the_imposed_shift_and_amplitude():
    obs, syn = data(shift=3.4, amplitude=1.2)
    picks = pick(obs, syn)
    assert [(w.receiver, w.component) for w in picks] == [(r, "Z") for r in RECEIVERS]
    for w in picks:
        assert w.accepted and w.reason is None, w
        assert abs(w.time_shift - 3.4) < 0.5
        assert abs(w.dlna - math.log(1.2)) < 0.05
        assert w.cc > 0.95
        assert w.snr is not None and w.snr > 5


def test_time_shift_is_refined_between_samples():
    syn = np.stack([packet(d) for d in DISTANCES])[:, None, :]
    obs = np.stack([packet(d, shift=3.5) for d in DISTANCES])[:, None, :]  # noise-free, half a sample off
    for w in pick(obs, syn):
        assert abs(w.time_shift - 3.5) < 0.1, w


def test_windows_lie_inside_the_candidate_interval_and_end_where_the_envelope_falls_to_10_percent():
    obs, syn = data(shift=2.0)
    for w, d in zip(pick(obs, syn), DISTANCES):
        lo = d / PARAMETERS.max_velocity_in_m_per_s - PARAMETERS.maximum_period_in_seconds / 2
        hi = d / PARAMETERS.min_velocity_in_m_per_s + PARAMETERS.maximum_period_in_seconds / 2
        lo, hi = max(lo, TIMES[0]), min(hi, TIMES[-1])
        assert lo <= w.start < d / GROUP_VELOCITY < w.end <= hi
        # Gaussian envelope exp(-t^2 / 2 sigma^2) is 10 % of its peak at 2.146 sigma
        half_width = (60.0 + 10.0 * d / 1e6) * math.sqrt(2 * math.log(10))
        assert abs(w.start - max(lo, d / GROUP_VELOCITY - half_width)) <= 3.0
        assert abs(w.end - min(hi, d / GROUP_VELOCITY + half_width)) <= 3.0
    assert pick(obs, syn)[2].start > 640.0 + 40  # the far station is trimmed well inside


def test_shift_beyond_half_the_minimum_period_is_rejected_as_cycle_skip_risk():
    parameters = PickingParameters(minimum_period_in_seconds=50.0, maximum_period_in_seconds=120.0)
    obs, syn = data(shift=30.0)
    for w in pick(obs, syn, parameters=parameters):
        assert not w.accepted
        expected = r"time shift \+(29|30)\.\d s exceeds \+-25\.0 s \(half the minimum period.*"
        assert re.fullmatch(expected, w.reason), w.reason
        assert abs(w.time_shift - 30.0) < 1.0


def test_an_explicit_time_shift_limit_is_used():
    parameters = PickingParameters(minimum_period_in_seconds=70.0, maximum_period_in_seconds=120.0,
                                   max_time_shift_in_seconds=2.0)
    obs, syn = data(shift=3.4)
    for w in pick(obs, syn, parameters=parameters):
        assert not w.accepted and "exceeds +-2.0 s" in w.reason, w.reason


def test_pure_noise_is_rejected_on_signal_to_noise():
    # in-band noise resembles the 85 s packet at some lag within one maximum period (cc up
    # to 0.97 here): only the signal-to-noise ratio tells it from a signal
    _, syn = data()
    obs = np.stack([band_limited_noise(10 + i) for i in range(len(DISTANCES))])[:, None, :]
    for w in pick(obs, syn):
        assert not w.accepted and w.snr < 3.0
        assert w.reason == f"signal-to-noise ratio {w.snr:.2f} below 3.00", w.reason


def test_out_of_band_noise_fails_cc_and_snr_and_snr_is_reported_first():
    _, syn = data()
    obs = np.stack([band_limited_noise(20 + i, band=(15.0, 30.0)) for i in range(len(DISTANCES))])[:, None, :]
    for w in pick(obs, syn):
        assert not w.accepted
        assert w.cc < 0.7 and w.snr < 3.0
        assert w.reason.startswith("signal-to-noise ratio"), w.reason


def test_low_signal_to_noise_reason_gives_the_numbers():
    obs, syn = data(amplitude=0.03)  # packet as strong as the noise
    w = pick(obs, syn)[1]
    assert not w.accepted
    assert w.reason == f"signal-to-noise ratio {w.snr:.2f} below 3.00"


def test_five_times_too_large_observed_amplitude_is_rejected_on_dlna():
    obs, syn = data(shift=2.0, amplitude=5.0)
    for w in pick(obs, syn):
        assert not w.accepted
        assert w.reason.startswith("amplitude anomaly dlnA +1.6"), w.reason
        assert "exceeds +-1.00" in w.reason
        assert abs(w.dlna - math.log(5.0)) < 0.05


def test_nan_in_the_window_is_rejected_with_its_reason():
    obs, syn = data(shift=2.0)
    centre = int(DISTANCES[1] / GROUP_VELOCITY)
    obs[1, 0, centre:centre + 3] = np.nan
    picks = pick(obs, syn)
    assert picks[0].accepted and picks[2].accepted
    assert not picks[1].accepted
    assert picks[1].reason.startswith("the observed data contain 3 NaN samples in the surface-wave window")
    assert picks[1].cc is None


def test_station_whose_window_is_clipped_below_one_minimum_period_is_rejected():
    # the record starts 50 s after the event: a 100 km station's window ends at 43 s on the axis
    distances = np.array([100e3, 2500e3])
    obs, syn = data(shift=2.0, distances=distances, origin=-50.0)
    picks = pick(obs, syn, receivers=["XX.NEAR", "XX.FAR"], distances=distances, origin=-50.0)
    assert len(picks) == 2
    near, far = picks
    assert not near.accepted
    assert "shorter than one minimum period (70 s)" in near.reason
    assert near.reason.startswith("the surface-wave window 0.0-43.0 s is 43.0 s long after clipping")
    assert far.accepted


def test_synthetic_without_energy_is_rejected():
    obs, syn = data()
    syn[0] = 0.0
    w = pick(obs, syn)[0]
    assert not w.accepted and w.reason == "the synthetic has no energy in the surface-wave window"


def test_one_pick_per_receiver_and_component_in_order():
    obs, syn = data(shift=2.0)
    obs3, syn3 = np.repeat(obs, 3, axis=1), np.repeat(syn, 3, axis=1)
    obs3[0, 1] *= 5.0
    picks = pick(obs3, syn3, components=("Z", "N", "E"))
    assert [(w.receiver, w.component) for w in picks] == [(r, c) for r in RECEIVERS for c in "ZNE"]
    assert [w.accepted for w in picks[:3]] == [True, False, True]


def test_to_dict_round_trip_is_json_serialisable():
    obs, syn = data(shift=2.0)
    obs[2, 0, int(DISTANCES[2] / GROUP_VELOCITY)] = np.nan
    for w in pick(obs, syn):
        d = w.to_dict()
        text = json.dumps(d, allow_nan=False)
        assert PickedWindow.from_dict(json.loads(text)) == w
        for key in ("start", "end", "cc", "time_shift", "dlna", "snr"):
            assert type(d[key]) in (float, type(None)), key


@pytest.mark.parametrize("changes, name", [
    (dict(minimum_period_in_seconds=-1.0), "minimum_period_in_seconds"),
    (dict(maximum_period_in_seconds=50.0), "maximum_period_in_seconds"),
    (dict(min_velocity_in_m_per_s=0.0), "min_velocity_in_m_per_s"),
    (dict(max_velocity_in_m_per_s=2000.0), "max_velocity_in_m_per_s"),
    (dict(min_cc=0.0), "min_cc"),
    (dict(min_cc=1.5), "min_cc"),
    (dict(max_time_shift_in_seconds=-3.0), "max_time_shift_in_seconds"),
    (dict(max_abs_dlna=0.0), "max_abs_dlna"),
    (dict(min_snr=-1.0), "min_snr"),
    (dict(envelope_fraction=1.0), "envelope_fraction"),
    (dict(minimum_period_in_seconds=float("nan")), "minimum_period_in_seconds"),
])
def test_bad_parameters_name_the_parameter(changes, name):
    values = dict(minimum_period_in_seconds=70.0, maximum_period_in_seconds=120.0) | changes
    with pytest.raises(ValueError, match=name):
        PickingParameters(**values)


def test_mismatched_shapes_are_refused():
    obs, syn = data()
    with pytest.raises(ValueError, match="observed has shape"):
        pick(obs[:2], syn)


def test_noise_free_record_has_infinite_snr_and_still_round_trips():
    # engine-made data without noise: exact zeros before the first arrival
    syn = np.stack([packet(d) * (TIMES > 400.0) for d in DISTANCES[1:]])[:, None, :]
    obs = np.zeros_like(syn)
    obs[..., 2:] = syn[..., :-2]  # 2 s later
    picks = pick(obs, syn, receivers=RECEIVERS[1:], distances=DISTANCES[1:])
    for w in picks:
        assert w.accepted and w.snr == math.inf
        assert PickedWindow.from_dict(json.loads(json.dumps(w.to_dict()))) == w


def test_window_entirely_outside_the_record_is_rejected_not_dropped():
    distances = np.array([2500e3, 9000e3])  # the far one arrives after the 1200 s record ends
    obs, syn = data(shift=2.0, distances=distances)
    picks = pick(obs, syn, receivers=["XX.IN", "XX.OUT"], distances=distances)
    assert picks[0].accepted
    assert not picks[1].accepted and "lies outside the record 0.0-1199.0 s" in picks[1].reason
