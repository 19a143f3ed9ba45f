"""Part 3 of the continental tutorial: processing the recordings, the data selection and
the misfit that measures its windows (the pieces that need no simulation).

The real-data path is tested on files the test builds: recordings in counts of an
STS-2-like seismometer with its StationXML response, which the processing function
removes with obspy, as a seismologist's own data would go through the same cells.
"""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.config.processing import DataSelectionConfiguration
from fwi_widgets.examples import continental
from fwi_widgets.workflow.data_selection import NoWindowWarning, warn_events_without_windows

MIN_PERIOD, MAX_PERIOD = 70.0, 120.0
DT = 0.5
N_SAMPLES = 2400  # 1200 s


def process(st, inv, receiver, sources):
    """The tutorial's processing of a user's recordings: response removed, then the band."""
    st.detrend("linear")
    st.detrend("demean")
    st.taper(max_percentage=0.02, type="hann")
    st.remove_response(inventory=inv, output="DISP", water_level=60.0)
    st.filter("bandpass", freqmin=1.0 / MAX_PERIOD, freqmax=1.0 / MIN_PERIOD, corners=4, zerophase=False)
    return st


def _sts2_like():
    """A broadband velocity seismometer (120 s corner, 1500 V/(m/s)) and a 4e5 counts/V digitiser."""
    from obspy.core.inventory.response import Response, ResponseStage

    response = Response.from_paz(zeros=[0j, 0j], poles=[-0.037 + 0.037j, -0.037 - 0.037j], stage_gain=1500.0,
                                 input_units="M/S", output_units="V")
    response.response_stages.append(ResponseStage(stage_sequence_number=2, stage_gain=4e5, stage_gain_frequency=1.0,
                                                  input_units="V", output_units="COUNTS"))
    response.recalculate_overall_sensitivity(1.0)
    return response


def _inventory(stations):
    from obspy.core.inventory import Channel, Inventory, Network, Station

    networks = {}
    for s in stations:
        net = networks.setdefault(s.network, Network(code=s.network, stations=[]))
        channels = [Channel(code=f"BH{c}", location_code="", latitude=s.latitude, longitude=s.longitude,
                            elevation=s.elevation_in_m, depth=0.0, azimuth=az, dip=dip, sample_rate=1 / DT,
                            response=_sts2_like())
                    for c, az, dip in (("Z", 0.0, -90.0), ("N", 0.0, 0.0), ("E", 90.0, 0.0))]
        net.stations.append(Station(code=s.station, latitude=s.latitude, longitude=s.longitude,
                                    elevation=s.elevation_in_m, channels=channels))
    return Inventory(networks=list(networks.values()), source="test")


def _displacement(rng):
    """A 90 s surface-wave packet in m plus 2 % band-limited noise over the whole record."""
    from engine import signal

    t = np.arange(N_SAMPLES) * DT
    packet = 1e-4 * np.exp(-(((t - 700.0) / 100.0) ** 2)) * np.cos(2 * np.pi * (t - 700.0) / 90.0)
    noise = signal.bandpass(rng.standard_normal(t.size), DT, 40.0, 300.0)
    return packet + 2e-6 * noise / noise.std()


def _counts(displacement, response):
    """Recorded counts: the displacement through the instrument (its DISP transfer function)."""
    freqs = np.fft.rfftfreq(displacement.size, DT)
    transfer = response.get_evalresp_response_for_frequencies(freqs, output="DISP")
    return np.fft.irfft(np.fft.rfft(displacement) * transfer, n=displacement.size)


def _written_again():
    def process(st, inv, receiver, sources):
        """The same code as the module's, written out again (in a notebook, say)."""
        st.detrend("linear")
        st.detrend("demean")
        st.taper(max_percentage=0.02, type="hann")
        st.remove_response(inventory=inv, output="DISP", water_level=60.0)  # counts -> m
        st.filter("bandpass", freqmin=1.0 / MAX_PERIOD, freqmax=1.0 / MIN_PERIOD, corners=4, zerophase=False)
        return st

    return process


@pytest.fixture
def project(tmp_path):
    p = sn.Project.from_domain(path=tmp_path / "p", domain=continental.DOMAIN)
    p += sn.EventCollection(events=continental._events(continental.SEED_EVENTS[:2]),
                            stations=continental._stations(continental.DOMAIN, 3))
    yield p
    p.close()


def _add_raw(p, rng):
    """Raw recordings in counts with their StationXML; returns the true displacements."""
    from obspy import Stream, Trace, UTCDateTime

    stations = p.events.stations()
    inventory = _inventory(stations)
    response = _sts2_like()
    truth = {}
    for event in p.events.list():
        stream = Stream()
        for s in stations:
            for c in "ZNE":
                u = _displacement(rng)
                truth[(event, s.name, c)] = u
                stream += Trace(_counts(u, response).astype(np.float64), header={
                    "network": s.network, "station": s.station, "channel": f"BH{c}", "delta": DT,
                    "starttime": UTCDateTime(p.events.get(event).origin_time)})
        p.add_observed_data(event, stream, data_name="EXTERNAL_DATA:raw_recording", inventory=inventory)
    return truth


def test_processing_removes_the_response_of_recordings_in_counts(project):
    """Counts -> displacement in the band: within 0.5 % (relative L2 over the packet's
    500-900 s; measured 1e-4 to 7e-4) of the true displacement band-passed alike; what
    is left is the water level and the taper at the ends, not the instrument (its gain
    alone is 6e8)."""
    from engine import signal

    truth = _add_raw(project, np.random.default_rng(0))
    project += sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="EXTERNAL_DATA:raw_recording", processing_function=process)
    event = project.events.list()[0]
    processed = project.observed_data(event, "PROCESSED_DATA:band")
    assert len(processed) == 3 * 3
    keep = slice(int(500 / DT), int(900 / DT))
    for tr in processed:
        u = truth[(event, f"{tr.stats.network}.{tr.stats.station}", tr.stats.channel[-1])]
        expected = signal.bandpass(u, DT, MIN_PERIOD, MAX_PERIOD)
        error = np.linalg.norm(tr.data[keep] - expected[keep]) / np.linalg.norm(expected[keep])
        assert error < 5e-3, (tr.id, error)
    # The configuration records the function's source and the constants it read.
    stored = json.loads(project.paths.configuration("processing", "band").read_text())["data"]
    assert "remove_response" in stored["processing_function"]["source"]
    assert stored["processing_function"]["constants"] == {"MAX_PERIOD": MAX_PERIOD, "MIN_PERIOD": MIN_PERIOD}
    # Re-adding the same configuration is a no-op; another function under the name is refused.
    project += sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="EXTERNAL_DATA:raw_recording", processing_function=process)

    project += sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="EXTERNAL_DATA:raw_recording", processing_function=_written_again())

    def other(st, inv, receiver, sources):
        return st

    with pytest.raises(ValueError, match="already exists with another function"):
        project += sn.processing.seismology.SeismologyProcessingConfiguration(
            name="band", data_source_name="EXTERNAL_DATA:raw_recording", processing_function=other)


def test_stored_function_runs_in_a_fresh_namespace():
    cfg = sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="raw_recording", processing_function=process)
    from fwi_widgets.config import configuration_from_dict

    again = configuration_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    rebuilt = again.function()
    assert rebuilt is not process and rebuilt.__name__ == "process"
    assert rebuilt.__globals__["MIN_PERIOD"] == MIN_PERIOD


ARRAY = np.ones(3)


def test_bad_processing_input_is_refused_when_given(project):
    def uses_array(st, inv, receiver, sources):
        return st * ARRAY

    def fails(st, inv, receiver, sources):
        raise RuntimeError("no response for this channel")

    def returns_none(st, inv, receiver, sources):
        return None

    scale = 2.0

    def closure(st, inv, receiver, sources):
        return st * scale

    config = sn.processing.seismology.SeismologyProcessingConfiguration
    with pytest.raises(ValueError, match="lambda"):
        config(name="x", data_source_name="raw_recording", processing_function=lambda st, inv, r, s: st)
    with pytest.raises(ValueError, match="uses \\['ARRAY'\\]"):
        config(name="x", data_source_name="raw_recording", processing_function=uses_array)
    with pytest.raises(ValueError, match="enclosing function"):
        config(name="x", data_source_name="raw_recording", processing_function=closure)
    with pytest.raises(ValueError, match="EXTERNAL_DATA"):
        config(name="x", data_source_name="SOMETHING:raw", processing_function=fails)
    with pytest.raises(ValueError, match="No event has the data"):
        project += config(name="x", data_source_name="raw_recording", processing_function=fails)
    _add_raw(project, np.random.default_rng(1))
    station = project.events.stations()[0].name
    with pytest.raises(ValueError, match=f"failed for event .* at station {station}: RuntimeError: no response"):
        project += config(name="x", data_source_name="raw_recording", processing_function=fails)
    with pytest.raises(TypeError, match="must return an obspy Stream"):
        project += config(name="x", data_source_name="raw_recording", processing_function=returns_none)
    assert not project.paths.configuration("processing", "x").exists()  # nothing recorded
    assert not project.paths.data_folder("PROCESSED_DATA:x").exists()


def _window(receiver, component, accepted, reason=None):
    return {"receiver": receiver, "component": component, "start": 300.0, "end": 600.0, "accepted": accepted,
            "reason": reason, "cc": 0.9 if accepted else 0.4, "time_shift": 1.0, "dlna": 0.1, "snr": 10.0}


def test_an_event_without_windows_is_loud_and_cannot_be_inverted(project):
    """A selection in which one event has only rejected windows: a NoWindowWarning naming
    it and the reasons when picked, and an inverse problem naming it is refused."""
    _add_raw(project, np.random.default_rng(2))
    project += sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="raw_recording", processing_function=process)
    good, empty = project.events.list()
    station = project.events.stations()[0].name
    selection = DataSelectionConfiguration(
        name="windows", observed_data="PROCESSED_DATA:band", synthetic_data="SYNTHETIC_DATA:initial",
        synthetic_processing="bandpass",
        windows={good: [_window(station, "Z", True)],
                 empty: [_window(station, "Z", False, "cross-correlation 0.40 below 0.70"),
                         _window(station, "N", False, "signal-to-noise ratio 1.20 below 3.00")]})
    project += selection
    with pytest.warns(NoWindowWarning, match=f"{empty}.*NO accepted window.*1 rejected for cross-correlation"):
        assert warn_events_without_windows(selection, [good, empty]) == [empty]
    assert selection.accepted(good) == {(station, "Z"): [(300.0, 600.0)]}
    project += continental.simulation_configuration("initial", continental.SIZES["small"])
    misfit = sn.MisfitConfiguration(
        name="tf", simulation_configuration="initial", observed_data="PROCESSED_DATA:band",
        misfit_function="time_frequency_phase", data_selection_configuration="windows", min_period_in_seconds=70.0,
        max_period_in_seconds=120.0, synthetic_processing="bandpass")
    assert misfit.misfit_function == "tf_phase" and misfit.windows is None
    project += misfit

    def problem(events):
        return sn.InverseProblemConfiguration(
            name="inv", events=events, misfit_configuration="tf", prior_model="initial",
            mapping=sn.Mapping(scaling="relative_deviation_from_prior", inversion_parameters=["VSV"]),
            method=sn.TrustRegion(initial_trust_region_linf=0.02))

    with pytest.raises(ValueError, match=f"\\['{empty}'\\] have no accepted window.*cross-correlation"):
        project += problem([good, empty])
    project += problem([good])


def test_a_misfit_measures_windows_on_the_data_they_were_picked_on(project):
    _add_raw(project, np.random.default_rng(3))
    project += sn.processing.seismology.SeismologyProcessingConfiguration(
        name="band", data_source_name="raw_recording", processing_function=process)
    project += DataSelectionConfiguration(name="windows", observed_data="PROCESSED_DATA:band",
                                          synthetic_data="SYNTHETIC_DATA:initial", synthetic_processing="bandpass")
    project += continental.simulation_configuration("initial", continental.SIZES["small"])
    kwargs = dict(name="tf", simulation_configuration="initial", data_selection_configuration="windows",
                  min_period_in_seconds=70.0, max_period_in_seconds=120.0)
    with pytest.raises(ValueError, match="picked with observed data 'PROCESSED_DATA:band'"):
        project += sn.MisfitConfiguration(observed_data="raw_recording", synthetic_processing="bandpass", **kwargs)
    with pytest.raises(ValueError, match="picked with synthetic processing 'bandpass'"):
        project += sn.MisfitConfiguration(observed_data="PROCESSED_DATA:band", **kwargs)
    with pytest.raises(ValueError, match="Unknown data selection configuration 'other'"):
        project += sn.MisfitConfiguration(**{**kwargs, "data_selection_configuration": "other"},
                                          observed_data="PROCESSED_DATA:band", synthetic_processing="bandpass")
    with pytest.raises(ValueError, match="either 'windows'"):
        sn.MisfitConfiguration(windows=sn.WindowPicking(padding_in_seconds=10.0), observed_data="PROCESSED_DATA:band",
                               **kwargs)
    with pytest.raises(ValueError, match="synthetic_processing"):
        sn.MisfitConfiguration(observed_data="PROCESSED_DATA:band", synthetic_processing="highpass", **kwargs)
    # Without Part 3's fields a misfit's JSON is what it was before they existed.
    plain = sn.MisfitConfiguration(name="m", simulation_configuration="initial", min_period_in_seconds=70.0,
                                   max_period_in_seconds=120.0)
    assert set(plain.to_dict()) == {"type", "name", "simulation_configuration", "min_period_in_seconds",
                                    "max_period_in_seconds", "misfit_function", "observed_data", "windows",
                                    "misfit_options"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        project += sn.MisfitConfiguration(observed_data="PROCESSED_DATA:band", synthetic_processing="bandpass",
                                          **kwargs)
