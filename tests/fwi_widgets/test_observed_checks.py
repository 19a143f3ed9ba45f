"""Project.add_observed_data refuses data that make a measurement impossible (NaN, a
wrong sampling-rate header or start time, long gaps), naming the station, and writes
nothing; a channel in segments is merged, never reduced to its last segment; the job's
observed_as_dataarray does the same for data written past the check. On the small
workshop: dt = 4.5 s, 24 stations, component Y, periods 70-120 s, 1200 s record."""
from __future__ import annotations

import numpy as np
import obspy
import pytest
import xarray as xr

from fwi_widgets.workflow.jobs import observed_as_dataarray

from ._part4 import SELECTED_EVENTS

EVENT = SELECTED_EVENTS[0]


def _refused(p, stream, *fragments):
    """add_observed_data raises ValueError holding every fragment, and the stored file is unchanged."""
    path = p.paths.observed("observed", EVENT)
    before = path.read_bytes()
    with pytest.raises(ValueError) as info:
        p.add_observed_data(EVENT, stream)
    for fragment in fragments:
        assert fragment in str(info.value), f"{fragment!r} not in {info.value}"
    assert path.read_bytes() == before
    return str(info.value)


def _split(tr: obspy.Trace, first_missing: int, n_missing: int) -> obspy.Stream:
    """The trace in two segments, samples [first_missing, first_missing + n_missing) left out."""
    a, b = tr.copy(), tr.copy()
    a.data = tr.data[:first_missing].copy()
    b.data = tr.data[first_missing + n_missing:].copy()
    b.stats.starttime = tr.stats.starttime + (first_missing + n_missing) * tr.stats.delta
    return obspy.Stream([b, a])  # the later segment first: order must not matter


def test_nan_samples_are_refused_naming_the_trace(project):
    stream = project.observed_data(EVENT)
    for tr in stream:
        tr.data = np.full(tr.stats.npts, np.nan)
    _refused(project, stream, "must be finite", stream[0].id, f"{stream[0].stats.npts} of {stream[0].stats.npts} samples")
    stream = project.observed_data(EVENT)
    stream[3].data[10] = np.inf
    message = _refused(project, stream, stream[3].id, "(1 of ")
    assert stream[2].id not in message


def test_a_wrong_sampling_rate_header_is_refused_naming_the_station(project):
    stream = project.observed_data(EVENT)
    stream[5].stats.sampling_rate *= 2  # one header wrong: the traces disagree
    _refused(project, stream, "must share one sampling rate", stream[5].id, "wrong header")
    stream = project.observed_data(EVENT)
    for tr in stream:  # every header wrong by 10: each trace spans 120 s of the 1200 s record
        tr.stats.sampling_rate *= 10
    _refused(project, stream, f"{stream[0].stats.network}.{stream[0].stats.station}.Y", "covering 10% of the record",
             "sampling-rate header")
    stream = project.observed_data(EVENT)
    for tr in stream:  # sampled too coarsely for 70 s periods
        tr.stats.delta = 50.0
    _refused(project, stream, "too coarsely for periods of 70 s")


def test_a_wrong_start_time_is_refused_naming_the_station_and_the_offset(project):
    stream = project.observed_data(EVENT)
    stream[7].stats.starttime += 2 * 86400.0  # two days late
    name = f"{stream[7].stats.network}.{stream[7].stats.station}.Y"
    _refused(project, stream, name, "starts 172800.0 s (2.00 days) after", "tr.stats.starttime")
    stream = project.observed_data(EVENT)
    stream[0].stats.starttime -= 3 * 3600.0  # ends hours before the origin
    _refused(project, stream, "ends ", "before the origin")
    stream = project.observed_data(EVENT)
    stream[1].stats.starttime += 900.0  # starts late: covers 25 % of the record
    _refused(project, stream, "starts 900.0 s after", "covering 25% of the record")


def test_a_short_gap_is_interpolated_and_every_segment_kept(project):
    stream = project.observed_data(EVENT)
    original = stream[4].copy()
    n_missing = 2  # 9 s < a quarter of 70 s (MAX_GAP_FRACTION_OF_PERIOD)
    assert n_missing * original.stats.delta <= 0.25 * 70.0
    gapped = stream.copy()
    gapped.remove(gapped[4])
    gapped += _split(original, 100, n_missing)
    project.add_observed_data(EVENT, gapped)
    stored = project.observed_data(EVENT).select(network=original.stats.network, station=original.stats.station)
    assert len(stored) == 1
    tr = stored[0]
    assert tr.stats.starttime == original.stats.starttime and tr.stats.npts == original.stats.npts
    np.testing.assert_array_equal(tr.data[:100], original.data[:100])  # the first segment is kept
    np.testing.assert_array_equal(tr.data[102:], original.data[102:])
    expected = np.interp([100, 101], [99, 102], original.data[[99, 102]])
    np.testing.assert_allclose(tr.data[100:102], expected)  # linear across the gap


def test_a_long_gap_is_refused_naming_the_station_and_the_gap(project):
    stream = project.observed_data(EVENT)
    original = stream[4].copy()
    stream.remove(stream[4])
    stream += _split(original, 100, 20)  # a 90 s gap
    gap, at = 20 * original.stats.delta, 99 * original.stats.delta
    _refused(project, stream, f"{original.stats.network}.{original.stats.station}.Y", "gaps too long",
             f"{gap:.1f} s from {at:.1f} s after the origin", "(17.5 s)")


def test_observed_as_dataarray_keeps_every_segment_of_data_written_past_the_check():
    t = np.arange(0.0, 100.0, 1.0)
    synthetic = xr.DataArray(np.zeros((2, 1, t.size)), dims=("receiver", "component", "time"),
                             coords={"receiver": ["XX.A", "XX.B"], "component": ["Z"], "time": t})
    origin = obspy.UTCDateTime("2020-01-01T00:00:00")
    tr = obspy.Trace(np.arange(t.size, dtype=float))
    tr.stats.network, tr.stats.station, tr.stats.channel, tr.stats.starttime = "XX", "A", "BXZ", origin
    observed = observed_as_dataarray(_split(tr, 30, 10), synthetic, origin)
    a = observed.sel(receiver="XX.A", component="Z").values
    np.testing.assert_array_equal(a[:30], t[:30])  # the first segment, not zeros
    np.testing.assert_array_equal(a[40:], t[40:])
    assert np.isnan(a[31:39]).all()  # the gap: NaN, so the misfit skips windows over it and says why
    assert observed.attrs["missing"] == [("XX.B", "Z")]
    other = tr.copy()
    other.stats.location = "10"
    with pytest.raises(ValueError, match="several channels for XX.A component Z"):
        observed_as_dataarray(obspy.Stream([tr, other]), synthetic, origin)


def test_dead_data_and_unknown_stations_are_refused(project):
    stream = project.observed_data(EVENT)
    for tr in stream:
        tr.data = np.zeros(tr.stats.npts)
    _refused(project, stream, "is all zero, so nothing can be measured")
    stream = project.observed_data(EVENT)
    for tr in stream:
        tr.stats.network = "QQ"
    _refused(project, stream, "None of the observed traces", "belongs to a registered station", "QQ.")


def test_traces_without_observed_data_are_skipped_with_that_reason_not_measured_against_zeros():
    from fwi_widgets.workflow.jobs import NO_OBSERVED_TRACE, _measured_windows

    t = np.arange(0.0, 10.0, 1.0)
    synthetic = xr.DataArray(np.zeros((2, 2, t.size)), dims=("receiver", "component", "time"),
                             coords={"receiver": ["XX.A", "XX.B"], "component": ["X", "Z"], "time": t})
    windows, n, left_out = _measured_windows({"XX.A": [(1.0, 5.0)], "XX.B": [(2.0, 6.0)]}, synthetic, [("XX.B", "Z")])
    assert n == 4 and windows == {("XX.A", "X"): [(1.0, 5.0)], ("XX.A", "Z"): [(1.0, 5.0)], ("XX.B", "X"): [(2.0, 6.0)]}
    assert left_out == [{"receiver": "XX.B", "component": "Z", "window": [2.0, 6.0], "reason": NO_OBSERVED_TRACE}]
    assert _measured_windows(None, synthetic, []) == (None, 4, [])


def test_masked_gaps_of_a_merged_stream_are_refused(project):
    stream = project.observed_data(EVENT)
    original = stream[2].copy()
    stream.remove(stream[2])
    stream += _split(original, 50, 30).merge(method=1, fill_value=None)  # obspy masks the gap
    _refused(project, stream, original.id, "30 of", "masked")


def test_engine_seismograms_become_an_obspy_stream():
    """One trace per receiver and component, BX<component>, starting at starttime plus the
    first sample's time, the samples unchanged (the conversion lives outside the engine)."""
    import xarray as xr
    from obspy import UTCDateTime

    from fwi_widgets.project.observed import seismograms_to_stream

    t = -5.0 + 0.5 * np.arange(11)
    data = np.arange(2 * 3 * 11, dtype=float).reshape(2, 3, 11)
    seismograms = xr.DataArray(data, dims=("receiver", "component", "time"), attrs={"units": "m"},
                               coords={"receiver": ["GE.APEZ", "STA"], "component": ["Z", "N", "E"], "time": t})
    stream = seismograms_to_stream(seismograms, starttime="2015-04-16T18:07:48Z")
    assert len(stream) == 6
    assert sorted({tr.stats.channel for tr in stream}) == ["BXE", "BXN", "BXZ"]
    for tr in stream:
        assert tr.stats.delta == 0.5 and tr.stats.npts == 11
        assert tr.stats.starttime == UTCDateTime("2015-04-16T18:07:48Z") - 5.0
        name = "GE.APEZ" if tr.stats.station == "APEZ" else "STA"
        assert tr.stats.network == ("GE" if name == "GE.APEZ" else "XX")
        np.testing.assert_array_equal(tr.data, seismograms.sel(receiver=name, component=tr.stats.channel[-1]).values)

