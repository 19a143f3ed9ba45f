"""Automatic selection of surface-wave measurement windows, inspired by FLEXWIN.

Our own, small picker (numpy/scipy only): one window per trace, around the fundamental
surface waves, kept only where observed and synthetic data can be compared without
fooling the misfit. For each (receiver, component):

1. Candidate interval ``[origin + d / max_velocity - T_max / 2,
   origin + d / min_velocity + T_max / 2]``, clipped to the record: the group
   velocities bracket where surface-wave energy can arrive; half a maximum period on
   each side leaves room for the packet's own length. A clipped interval shorter than
   one minimum period cannot hold a cycle of the data and is rejected.
   Non-finite samples in it are rejected too: no measurement is defined.
2. Trim to the first and last samples where the envelope of the synthetic (absolute
   value of its analytic signal) exceeds ``envelope_fraction`` of its maximum in the
   candidate interval: the misfit then sees where the model predicts energy, not
   noise around it. A trimmed window shorter than one minimum period is widened about
   its centre to one minimum period (inside the candidate interval). A synthetic
   without energy there predicts nothing to compare: rejected.
3. Measurements in the trimmed window: the maximum of the normalised
   cross-correlation of the Hann-tapered observed and synthetic data, with lags up to
   one maximum period and the peak refined by a parabola (sub-sample time shift);
   ``dlna = 0.5 ln(E_obs / E_syn)``; the signal-to-noise ratio, observed rms in the
   window over observed rms in the noise window from the record start to
   ``origin + d / 8000 m/s - T_max / 2`` (before the fastest P-ish energy; none when
   that is shorter than one maximum period, or holds fewer finite samples).
4. Rejected, first failing criterion given: ``snr < min_snr`` (the window would fit
   noise), ``cc < min_cc`` (the waveforms are not alike, a phase measurement is
   meaningless), ``|time_shift| > max_time_shift`` (default half the minimum period:
   beyond it the phase may be off by a whole cycle, cycle skipping),
   ``|dlna| > max_abs_dlna`` (an amplitude anomaly that large points to a wrong
   instrument response, site effect or source, not to the Earth model).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.signal import correlate, correlation_lags, hilbert
from scipy.signal.windows import hann

__all__ = ["PickedWindow", "PickingParameters", "pick_windows"]

NOISE_WINDOW_VELOCITY_IN_M_PER_S = 8000.0  # faster than any P energy reaching the surface first


@dataclass(frozen=True)
class PickedWindow:
    """A candidate window of one trace, accepted or rejected with the reason why."""

    receiver: str
    component: str
    start: float
    end: float
    accepted: bool
    reason: str | None
    cc: float | None
    time_shift: float | None
    dlna: float | None
    snr: float | None

    def to_dict(self) -> dict:
        """Plain strings, bools, floats and None: ready for ``json.dumps``."""
        d = asdict(self)
        for key in ("start", "end", "cc", "time_shift", "dlna", "snr"):
            if d[key] is not None:
                d[key] = float(d[key])
        d["accepted"] = bool(d["accepted"])
        return d

    @classmethod
    def from_dict(cls, d) -> PickedWindow:
        def optional(key):
            value = d.get(key)
            return None if value is None else float(value)

        return cls(receiver=str(d["receiver"]), component=str(d["component"]),
                   start=float(d["start"]), end=float(d["end"]), accepted=bool(d["accepted"]),
                   reason=None if d.get("reason") is None else str(d["reason"]),
                   cc=optional("cc"), time_shift=optional("time_shift"),
                   dlna=optional("dlna"), snr=optional("snr"))


def _require(condition: bool, name: str, given, allowed: str) -> None:
    if not condition:
        raise ValueError(f"PickingParameters: {name} = {given!r}; allowed: {allowed}")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


@dataclass(frozen=True)
class PickingParameters:
    """Thresholds of the picker; every value is checked on construction."""

    minimum_period_in_seconds: float
    maximum_period_in_seconds: float
    min_velocity_in_m_per_s: float = 3000.0
    max_velocity_in_m_per_s: float = 5000.0
    min_cc: float = 0.7
    max_time_shift_in_seconds: float | None = None
    max_abs_dlna: float = 1.0
    min_snr: float = 3.0
    envelope_fraction: float = 0.1

    def __post_init__(self):
        for name in ("minimum_period_in_seconds", "maximum_period_in_seconds",
                     "min_velocity_in_m_per_s", "max_velocity_in_m_per_s", "max_abs_dlna"):
            value = getattr(self, name)
            _require(_is_number(value) and value > 0, name, value, "a finite number > 0")
        _require(self.maximum_period_in_seconds > self.minimum_period_in_seconds,
                 "maximum_period_in_seconds", self.maximum_period_in_seconds,
                 f"greater than minimum_period_in_seconds ({self.minimum_period_in_seconds!r})")
        _require(self.max_velocity_in_m_per_s > self.min_velocity_in_m_per_s,
                 "max_velocity_in_m_per_s", self.max_velocity_in_m_per_s,
                 f"greater than min_velocity_in_m_per_s ({self.min_velocity_in_m_per_s!r})")
        _require(_is_number(self.min_cc) and 0 < self.min_cc <= 1, "min_cc", self.min_cc,
                 "a number with 0 < min_cc <= 1")
        shift = self.max_time_shift_in_seconds
        _require(shift is None or (_is_number(shift) and shift > 0), "max_time_shift_in_seconds",
                 shift, "None (half the minimum period) or a finite number > 0")
        _require(_is_number(self.min_snr) and self.min_snr >= 0, "min_snr", self.min_snr,
                 "a finite number >= 0")
        _require(_is_number(self.envelope_fraction) and 0 < self.envelope_fraction < 1,
                 "envelope_fraction", self.envelope_fraction, "a number with 0 < envelope_fraction < 1")

    @property
    def time_shift_limit_in_seconds(self) -> float:
        """The cycle-skip limit: given, or half the minimum period."""
        if self.max_time_shift_in_seconds is None:
            return 0.5 * self.minimum_period_in_seconds
        return float(self.max_time_shift_in_seconds)


def pick_windows(observed, synthetic, times, receivers, components, distances_in_m,
                 origin_time_on_axis, parameters: PickingParameters) -> list[PickedWindow]:
    """observed, synthetic: arrays (n_receivers, n_components, n_times) on the same uniform
    time axis `times` (s). distances_in_m: (n_receivers,) epicentral distances (along the
    surface). origin_time_on_axis: the time on the axis at which the event happened (the
    axis may start before or after it).

    Returns one PickedWindow per (receiver, component), accepted or rejected, in
    receiver-then-component order. A trace with NaN samples in the candidate interval is
    rejected with a reason saying so; so is a candidate interval shorter than one minimum
    period after clipping to the record (never silently dropped)."""
    if not isinstance(parameters, PickingParameters):
        raise TypeError(f"parameters must be a PickingParameters, not {type(parameters).__name__}")
    observed = np.asarray(observed, dtype=float)
    synthetic = np.asarray(synthetic, dtype=float)
    times = np.asarray(times, dtype=float)
    distances = np.asarray(distances_in_m, dtype=float)
    receivers, components = [str(r) for r in receivers], [str(c) for c in components]
    dt = _check_inputs(observed, synthetic, times, receivers, components, distances, origin_time_on_axis)
    origin = float(origin_time_on_axis)
    picks = []
    for i, receiver in enumerate(receivers):
        for j, component in enumerate(components):
            picks.append(_pick_trace(observed[i, j], synthetic[i, j], times, dt, receiver, component,
                                     float(distances[i]), origin, parameters))
    return picks


def _check_inputs(observed, synthetic, times, receivers, components, distances, origin) -> float:
    """The sampling interval, after checking shapes and the time axis."""
    if times.ndim != 1 or times.size < 3:
        raise ValueError(f"times must be a 1D axis of at least 3 samples, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise ValueError("times must be finite")
    steps = np.diff(times)
    dt = float((times[-1] - times[0]) / (times.size - 1))
    if dt <= 0 or np.max(np.abs(steps - dt)) > 1e-6 * dt:
        raise ValueError("times must be uniform and increasing")
    expected = (len(receivers), len(components), times.size)
    for name, array in (("observed", observed), ("synthetic", synthetic)):
        if array.shape != expected:
            raise ValueError(f"{name} has shape {array.shape}; expected (n_receivers, n_components, "
                             f"n_times) = {expected}")
    if distances.shape != (len(receivers),):
        raise ValueError(f"distances_in_m has shape {distances.shape}; expected ({len(receivers)},)")
    if not np.all(np.isfinite(distances)) or np.any(distances < 0):
        raise ValueError("distances_in_m must be finite and >= 0")
    if not _is_number(origin):
        raise ValueError(f"origin_time_on_axis = {origin!r}; allowed: a finite number")
    return dt


def _pick_trace(obs, syn, times, dt, receiver, component, distance, origin, p) -> PickedWindow:
    t_min, t_max = p.minimum_period_in_seconds, p.maximum_period_in_seconds

    def rejected(start, end, reason, **measurements):
        values = dict(cc=None, time_shift=None, dlna=None, snr=None) | measurements
        return PickedWindow(receiver, component, float(start), float(end), False, reason, **values)

    lo = origin + distance / p.max_velocity_in_m_per_s - t_max / 2
    hi = origin + distance / p.min_velocity_in_m_per_s + t_max / 2
    if hi < times[0] or lo > times[-1]:
        return rejected(lo, hi, f"the surface-wave window {lo:.1f}-{hi:.1f} s lies outside the record "
                                f"{times[0]:.1f}-{times[-1]:.1f} s, so it is shorter than one minimum "
                                f"period ({t_min:g} s)")
    i_lo = max(0, math.ceil((lo - times[0]) / dt - 1e-9))
    i_hi = min(times.size - 1, math.floor((hi - times[0]) / dt + 1e-9))
    start, end = times[i_lo], times[i_hi]
    if end - start < t_min:
        return rejected(start, end, f"the surface-wave window {start:.1f}-{end:.1f} s is {end - start:.1f} s "
                                    f"long after clipping to the record, shorter than one minimum period "
                                    f"({t_min:g} s)")
    for name, trace in (("observed", obs), ("synthetic", syn)):
        segment = trace[i_lo:i_hi + 1]
        if not np.all(np.isfinite(segment)):
            n_nan = int(np.count_nonzero(np.isnan(segment)))
            n_inf = int(np.count_nonzero(np.isinf(segment)))
            what = f"{n_nan} NaN samples" if n_nan else f"{n_inf} infinite samples"
            return rejected(start, end, f"the {name} data contain {what} in the surface-wave window "
                                        f"{start:.1f}-{end:.1f} s")
    if not np.any(syn[i_lo:i_hi + 1]):
        return rejected(start, end, "the synthetic has no energy in the surface-wave window")

    w_lo, w_hi = _trim_to_envelope(syn, i_lo, i_hi, p.envelope_fraction, max(2, math.ceil(t_min / dt)))
    start, end = times[w_lo], times[w_hi]
    obs_w, syn_w = obs[w_lo:w_hi + 1], syn[w_lo:w_hi + 1]
    snr = _signal_to_noise(obs, obs_w, times, distance, origin, t_max)
    e_obs, e_syn = float(np.sum(obs_w ** 2)), float(np.sum(syn_w ** 2))
    if e_obs == 0:
        return rejected(start, end, "the observed data have no energy in the window", snr=snr)
    cc, time_shift = _cross_correlation(obs_w, syn_w, dt, t_max)
    dlna = 0.5 * math.log(e_obs / e_syn)
    measured = dict(cc=cc, time_shift=time_shift, dlna=dlna, snr=snr)

    limit = p.time_shift_limit_in_seconds
    if snr is not None and snr < p.min_snr:
        return rejected(start, end, f"signal-to-noise ratio {snr:.2f} below {p.min_snr:.2f}", **measured)
    if cc < p.min_cc:
        return rejected(start, end, f"cross-correlation {cc:.2f} below {p.min_cc:.2f}", **measured)
    if abs(time_shift) > limit:
        why = " (half the minimum period: beyond it the phase may be a cycle off)" \
            if p.max_time_shift_in_seconds is None else ""
        return rejected(start, end, f"time shift {time_shift:+.1f} s exceeds +-{limit:.1f} s{why}",
                        **measured)
    if abs(dlna) > p.max_abs_dlna:
        return rejected(start, end, f"amplitude anomaly dlnA {dlna:+.2f} exceeds +-{p.max_abs_dlna:.2f} "
                                    f"(observed/synthetic amplitude ratio {math.exp(dlna):.2f})", **measured)
    return PickedWindow(receiver, component, float(start), float(end), True, None, **measured)


def _trim_to_envelope(syn, i_lo, i_hi, fraction, min_samples) -> tuple[int, int]:
    """First and last samples of [i_lo, i_hi] where the synthetic's envelope exceeds
    `fraction` of its maximum there, widened about the centre to `min_samples` if needed.
    The analytic signal is taken on the whole trace, so the interval's edges add no
    Hilbert-transform artefacts."""
    envelope = np.abs(hilbert(np.where(np.isfinite(syn), syn, 0.0)))[i_lo:i_hi + 1]
    above = np.flatnonzero(envelope > fraction * envelope.max())
    w_lo, w_hi = i_lo + int(above[0]), i_lo + int(above[-1])
    missing = min_samples - (w_hi - w_lo)
    if missing > 0:
        w_lo = max(i_lo, w_lo - missing // 2)
        w_hi = min(i_hi, w_lo + min_samples)
        w_lo = max(i_lo, w_hi - min_samples)
    return w_lo, w_hi


def _cross_correlation(obs_w, syn_w, dt, max_lag_in_seconds) -> tuple[float, float]:
    """Maximum of the normalised cross-correlation of the Hann-tapered windows and its lag
    (s, positive: observed later), refined by a parabola through the peak and its
    neighbours; lags limited to +- max_lag_in_seconds."""
    taper = hann(obs_w.size)
    a, b = obs_w * taper, syn_w * taper
    norm = math.sqrt(float(np.sum(a ** 2)) * float(np.sum(b ** 2)))
    if norm == 0:
        return 0.0, 0.0
    c = correlate(a, b, mode="full", method="auto") / norm
    lags = correlation_lags(a.size, b.size, mode="full")
    keep = np.abs(lags) * dt <= max_lag_in_seconds
    c, lags = c[keep], lags[keep]
    k = int(np.argmax(c))
    peak, offset = float(c[k]), 0.0
    if 0 < k < c.size - 1:
        left, right = float(c[k - 1]), float(c[k + 1])
        curvature = left - 2 * peak + right
        if curvature < 0:
            offset = 0.5 * (left - right) / curvature
            peak = peak - 0.25 * (left - right) * offset
    return min(peak, 1.0), float((lags[k] + offset) * dt)


def _signal_to_noise(obs, obs_w, times, distance, origin, t_max) -> float | None:
    """Observed rms in the window over the observed rms before the first arrival; None
    without a noise window of at least one maximum period (finite samples); inf for a
    noise window of zeros."""
    noise_end = origin + distance / NOISE_WINDOW_VELOCITY_IN_M_PER_S - t_max / 2
    noise = obs[times <= noise_end]
    noise = noise[np.isfinite(noise)]
    dt = times[1] - times[0]
    if noise.size < 2 or (noise.size - 1) * dt < t_max:
        return None
    noise_rms = math.sqrt(float(np.mean(noise ** 2)))
    signal_rms = math.sqrt(float(np.mean(obs_w ** 2)))
    return math.inf if noise_rms == 0 else signal_rms / noise_rms
