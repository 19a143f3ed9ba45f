"""Checks of observed waveforms: where a measurement would be impossible, refuse the data.

Two places use these rules. :meth:`Project.add_observed_data` runs :func:`check_stream`
at the boundary, before anything is written; a job runs :func:`traces_by_channel` when
it reads the stored data again (data written past the check, straight to disk, get no
silent repair either).

Policies (the numbers are module constants, named in every message):

* **Samples** must be finite: a trace with NaN or inf is refused.
* **Sampling**: every trace of one event has one positive sampling rate (a different
  rate on one trace is nearly always a wrong header), and the sampling interval is at
  most half the shortest period the data are measured at (Nyquist).
* **Timing**: against the event's origin time. A trace that ends before the origin, or
  that covers less than :data:`MIN_RECORD_COVERAGE` of the simulated record (origin to
  origin + the simulation's end time), is refused with the station and the offset
  named: a start time off by hours or days, or a sampling-rate header off by a factor,
  shows up this way.
* **Gaps**: a channel in several segments is merged into one trace, never reduced to
  its last segment. Gaps up to :data:`MAX_GAP_FRACTION_OF_PERIOD` of the shortest period
  are interpolated linearly (their effect on a band-limited signal is small); longer
  gaps are refused at add time. When a job reads stored data (already checked, or
  written past the check), every gap becomes NaN instead, so the windows it touches are
  skipped with that reason and counted, and the other windows are measured.
  Overlapping segments are merged with obspy's method 1 (the later segment's samples
  win in the overlap).
* **Channels**: one trace per station and component (the misfit matches traces by
  NET.STA and the last letter of the channel); several location codes or band codes
  for one component are ambiguous and refused.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Expectations", "check_stream", "traces_by_channel", "seismograms_to_stream", "MIN_RECORD_COVERAGE",
           "MAX_GAP_FRACTION_OF_PERIOD"]

#: A trace must cover at least this fraction of the simulated record (origin to origin + end time).
MIN_RECORD_COVERAGE = 0.5
#: Gaps up to this fraction of the shortest period are interpolated linearly at add time; longer ones are refused.
MAX_GAP_FRACTION_OF_PERIOD = 0.25
#: Without a simulation configuration (no record length known), a trace may start at most this late.
MAX_START_WITHOUT_RECORD_IN_SECONDS = 86400.0
_RATE_RTOL = 1e-6
_LISTED = 6  # stations named in one message; the rest are counted


@dataclass(frozen=True)
class Expectations:
    """What the project knows about the data when they are added.

    Attributes
    ----------
    event : str
        The event's name.
    origin_time : obspy.UTCDateTime
        The event's origin time.
    record_length_in_seconds : float or None
        The simulated record after the origin (the longest end time of the simulation
        configurations that will use the data); None if none is registered yet.
    min_period_in_seconds : float or None
        The shortest period the data are measured at; None if unknown.
    max_period_in_seconds : float or None
        The longest ``min_period`` of the configurations that may use the data (the
        Nyquist check uses it, so data usable by one of them are accepted).
    stations : tuple of str or None
        Registered station names (NET.STA); None to skip the check.
    """

    event: str
    origin_time: object
    record_length_in_seconds: float | None = None
    min_period_in_seconds: float | None = None
    max_period_in_seconds: float | None = None
    stations: tuple | None = None


def _key(tr) -> tuple[str, str]:
    return f"{tr.stats.network}.{tr.stats.station}", tr.stats.channel[-1:]


def _offset(value: float) -> str:
    """``value`` seconds relative to the origin, in words: '12.0 s after', '3.0 s (2.00 days) before'."""
    days = abs(value) / 86400.0
    return f"{abs(value):.1f} s" + (f" ({days:.2f} days)" if days >= 1.0 else "") + (" before" if value < 0 else " after")


def _listed(items: list[str]) -> str:
    shown = "; ".join(items[:_LISTED])
    return shown + (f"; and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def check_stream(stream, expect: Expectations):
    """Check observed data of one event and return them ready to store.

    Parameters
    ----------
    stream : obspy.Stream
        The observed traces of ``expect.event``; not modified.
    expect : Expectations

    Returns
    -------
    (obspy.Stream, list of str)
        A copy with every channel in one trace (short gaps interpolated), and notes for
        the log (merged segments, ignored or all-zero traces).

    Raises
    ------
    TypeError
        If ``stream`` is not an obspy Stream.
    ValueError
        If the data make a measurement impossible (see the module docstring); the
        message names the stations and says how to fix it.
    """
    import obspy

    if not isinstance(stream, obspy.Stream):
        raise TypeError(f"The 'stream' parameter must be an obspy.Stream, but a {type(stream).__name__} was given.")
    ev = f"event {expect.event!r}"
    if len(stream) == 0:
        raise ValueError(f"The observed data of {ev} hold no trace; pass a Stream with one trace per station and component.")
    notes: list[str] = []
    stream = stream.copy()

    # Samples and sampling, trace by trace.
    bad_rate, bad_samples, empty = [], [], []
    for tr in stream:
        rate = float(tr.stats.sampling_rate)
        if not (math.isfinite(rate) and rate > 0.0):
            bad_rate.append(f"{tr.id} ({rate!r} Hz)")
        if tr.stats.npts == 0:
            empty.append(tr.id)
        elif np.ma.isMaskedArray(tr.data) and np.ma.count_masked(tr.data):
            # Stream.merge() without a fill value leaves its gaps masked.
            n = int(np.ma.count_masked(tr.data))
            bad_samples.append(f"{tr.id} ({n} of {tr.stats.npts} samples masked, e.g. gaps left by Stream.merge())")
        elif not np.all(np.isfinite(np.asarray(tr.data))):
            n = int(np.count_nonzero(~np.isfinite(tr.data)))
            bad_samples.append(f"{tr.id} ({n} of {tr.stats.npts} samples)")
    if bad_rate:
        raise ValueError(f"The observed data of {ev} must have a positive, finite sampling rate, but "
                         f"{_listed(bad_rate)} have not; set tr.stats.sampling_rate to the true rate.")
    if empty:
        raise ValueError(f"The observed data of {ev} hold traces without samples: {_listed(empty)}; remove them.")
    if bad_samples:
        raise ValueError(f"The observed data of {ev} must be finite, but these traces hold NaN or inf: "
                         f"{_listed(bad_samples)}. Remove those traces, or cut or fill the bad samples, and add the data again.")
    rates = np.array([float(tr.stats.sampling_rate) for tr in stream])
    values, counts = np.unique(np.round(rates, 9), return_counts=True)
    usual = float(values[np.argmax(counts)])
    odd = [f"{tr.id} ({tr.stats.sampling_rate:g} Hz)" for tr in stream
           if abs(tr.stats.sampling_rate - usual) > _RATE_RTOL * usual]
    if odd:
        raise ValueError(
            f"The traces of {ev} must share one sampling rate, but most have {usual:g} Hz and {_listed(odd)} "
            "differ. A different rate on a few traces is usually a wrong header: correct tr.stats.sampling_rate, "
            f"or resample them (tr.resample({usual:g})).")
    delta = 1.0 / usual
    if expect.max_period_in_seconds is not None and delta > 0.5 * expect.max_period_in_seconds:
        raise ValueError(
            f"The observed data of {ev} are sampled every {delta:g} s, too coarsely for periods of "
            f"{expect.max_period_in_seconds:g} s (at most {0.5 * expect.max_period_in_seconds:g} s is needed). "
            "Check the sampling-rate header (tr.stats.sampling_rate), or record the data more finely.")

    # One trace per station and component.
    groups: dict[tuple[str, str], list] = {}
    for tr in stream:
        groups.setdefault(_key(tr), []).append(tr)
    ambiguous = [f"{name}.{comp}: {sorted({t.id for t in trs})}" for (name, comp), trs in groups.items()
                 if len({t.id for t in trs}) > 1]
    if ambiguous:
        raise ValueError(
            f"The observed data of {ev} must hold one channel per station and component, but several location "
            f"or band codes share one: {_listed(ambiguous)}. Keep one, e.g. stream.select(location='00').")

    # Gaps: merge each channel, interpolating short gaps only.
    max_gap = None if expect.min_period_in_seconds is None else MAX_GAP_FRACTION_OF_PERIOD * expect.min_period_in_seconds
    long_gaps, merged = [], []
    out = obspy.Stream()
    for (name, comp), trs in groups.items():
        if len(trs) == 1:
            out += trs[0]
            continue
        trs = sorted(trs, key=lambda t: t.stats.starttime)
        gaps = []
        end = trs[0].stats.endtime
        for t in trs[1:]:
            gap = float(t.stats.starttime - end) - delta  # time without samples
            if gap > 0.5 * delta:
                gaps.append((float(end - expect.origin_time), gap))
            end = max(end, t.stats.endtime)
        too_long = [g for g in gaps if max_gap is None or g[1] > max_gap + 1e-9 * delta]
        if too_long:
            where = ", ".join(f"{g:.1f} s from {_offset(at)} the origin" for at, g in too_long[:3])
            long_gaps.append(f"{name}.{comp} ({where})")
            continue
        single = obspy.Stream(trs).merge(method=1, fill_value="interpolate")
        out += single[0]
        merged.append(f"{name}.{comp} ({len(trs)} segments" + (f", gaps up to {max(g for _, g in gaps):.1f} s" if gaps else ", overlapping") + ")")
    if long_gaps:
        limit = ("no gap can be interpolated until a simulation or misfit configuration states the shortest period"
                 if max_gap is None else
                 f"gaps up to {MAX_GAP_FRACTION_OF_PERIOD:g} of the shortest period ({max_gap:g} s) are interpolated")
        raise ValueError(
            f"The observed data of {ev} have gaps too long to fill ({limit}): {_listed(long_gaps)}. Cut those traces "
            "to one segment (tr.trim), drop them, or fill the gaps yourself (e.g. stream.merge(fill_value=0)) and add "
            "the data again.")
    if merged:
        notes.append(f"The observed data of {ev}: {len(merged)} channel(s) came in several segments and were merged "
                     f"into one trace each (gaps interpolated linearly): {_listed(merged)}.")

    # Timing against the event's origin time.
    record = expect.record_length_in_seconds
    mistimed = []
    for tr in out:
        start = float(tr.stats.starttime - expect.origin_time)
        end = float(tr.stats.endtime - expect.origin_time)
        name = f"{_key(tr)[0]}.{_key(tr)[1]}"
        if end < 0.0:
            mistimed.append(f"{name} ends {_offset(end)} the origin (it starts {_offset(start)})")
        elif record is not None:
            covered = (min(end, record) - max(start, 0.0)) / record
            if covered < MIN_RECORD_COVERAGE:
                mistimed.append(f"{name} starts {_offset(start)} and ends {_offset(end)} the origin, "
                                f"covering {max(covered, 0.0):.0%} of the record")
        elif start > MAX_START_WITHOUT_RECORD_IN_SECONDS:
            mistimed.append(f"{name} starts {_offset(start)} the origin")
    if mistimed:
        span = ("" if record is None else
                f" and cover at least {MIN_RECORD_COVERAGE:.0%} of the simulated record (0 to {record:g} s after it)")
        raise ValueError(
            f"The observed traces of {ev} must overlap the event's origin time {expect.origin_time}{span}, but "
            f"{_listed(mistimed)}. Check the traces' start times (tr.stats.starttime), their sampling-rate headers "
            "(a wrong rate stretches a trace) and the event's origin time.")

    # Stations the misfit can match, and traces without signal.
    if expect.stations is not None:
        known = set(expect.stations)
        unknown = sorted({_key(tr)[0] for tr in out if _key(tr)[0] not in known})
        if len(unknown) == len({_key(tr)[0] for tr in out}):
            raise ValueError(
                f"None of the observed traces of {ev} belongs to a registered station (traces of {_listed(unknown)}; "
                f"registered: {_listed(sorted(known))}). Check the network and station codes, or add the stations "
                "with an sn.EventCollection first.")
        if unknown:
            notes.append(f"The observed data of {ev}: traces of {len(unknown)} unregistered station(s) are stored but "
                         f"never measured: {_listed(unknown)}.")
    zero = [tr.id for tr in out if not np.any(tr.data)]
    if len(zero) == len(out):
        raise ValueError(f"Every observed trace of {ev} is all zero, so nothing can be measured; check the data.")
    if zero:
        notes.append(f"The observed data of {ev}: {len(zero)} trace(s) are all zero and will be skipped by the "
                     f"misfit: {_listed(zero)}.")
    return out, notes


def traces_by_channel(stream) -> dict[tuple[str, str], object]:
    """Observed traces keyed ``(NET.STA, component)``, each channel in one float64 trace.

    A channel in several segments is merged with its gaps as NaN (so the misfit skips
    the windows they touch, and says why) rather than reduced to one segment.

    Raises
    ------
    ValueError
        If several location or band codes share one station and component.
    """
    groups: dict[tuple[str, str], list] = {}
    for tr in stream:
        groups.setdefault(_key(tr), []).append(tr)
    out = {}
    for key, trs in groups.items():
        ids = sorted({t.id for t in trs})
        if len(ids) > 1:
            raise ValueError(
                f"The observed data hold several channels for {key[0]} component {key[1]}: {ids}; keep one, "
                "e.g. stream.select(location='00'), and add the data again.")
        if len(trs) == 1:
            out[key] = trs[0]
            continue
        import obspy

        segments = obspy.Stream([t.copy() for t in trs])
        for t in segments:
            t.data = t.data.astype(np.float64)
        single = segments.merge(method=1, fill_value=None)[0]
        if np.ma.isMaskedArray(single.data):
            single.data = single.data.filled(np.nan)
        out[key] = single
    return out


def seismograms_to_stream(seismograms, starttime=None):
    """(receiver, component, time) engine seismograms as an ``obspy.Stream``: one trace per
    receiver (``NET.STA``) and component, channel ``BX<component>``, starting at
    ``starttime`` plus the first sample's time (the engine has no obspy: conversions to
    obspy formats live here)."""
    from obspy import Stream, Trace, UTCDateTime

    start = UTCDateTime(0) if starttime is None else UTCDateTime(starttime)
    times = seismograms["time"].values
    dt = float(times[1] - times[0]) if len(times) > 1 else 1.0
    traces = []
    for name in seismograms["receiver"].values:
        net, _, sta = str(name).rpartition(".")
        for comp in seismograms["component"].values:
            data = np.ascontiguousarray(seismograms.sel(receiver=name, component=comp).values)
            tr = Trace(data=data)
            tr.stats.network = net[:2] if net else "XX"
            tr.stats.station = sta[:5]
            tr.stats.channel = f"BX{comp}"
            tr.stats.delta = dt
            tr.stats.starttime = start + float(times[0])
            tr.stats.units = seismograms.attrs.get("units", "")
            traces.append(tr)
    return Stream(traces)
