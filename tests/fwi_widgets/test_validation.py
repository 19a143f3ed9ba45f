"""Issue 11, items 4 and 7: every argument of every configuration is validated when the
configuration is created (or, where only the project knows, when it is added), with the
parameter named; and a configuration no iteration has used yet can be replaced by name.

Wrong types raise TypeError, wrong values ValueError, and a refused configuration leaves
the project's directory exactly as it was.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from fwi_widgets import namespace as sn
from fwi_widgets.config._base import MAX_NAME_BYTES
from fwi_widgets.project import store

from ._part4 import MIN_PERIOD, PERIOD_BAND, PROBLEM, SELECTED_EVENTS

NAN, INF = float("nan"), float("inf")
EVENT = "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07"
LONG = "x" * (MAX_NAME_BYTES + 1)
# Under the limit in characters, over it in bytes: names are checked as file names are.
LONG_UTF8 = "é" * (MAX_NAME_BYTES // 2 + 1)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def assert_refused(p: sn.Project, configuration, error: type[Exception], *fragments: str, **add) -> str:
    """``p.add(configuration, **add)`` raises ``error`` with every fragment; nothing on disk changes."""
    before = snapshot(p.paths.root)
    with pytest.raises(error) as info:
        p.add(configuration, **add)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    assert snapshot(p.paths.root) == before, "a refused configuration changed the project"
    return message


# --- valid arguments for each class, changed one at a time -------------------------------

def _mapping(**c):
    return sn.Mapping(**{"inversion_parameters": ["VS"], **c})


def _smoothing(**c):
    return sn.ModelDependentSmoothing(**{"smoothing_lengths_in_wavelengths": {"VS": [0.5, 0.5]},
                                         "reference_frequency_in_hertz": 1 / 70, "reference_velocities": {"VS": "VS"},
                                         **c})


def _ipc(**c):
    return sn.InverseProblemConfiguration(**{
        "name": "inv", "events": [EVENT], "misfit_configuration": "misfit", "prior_model": "sim",
        "mapping": _mapping(), "method": sn.TrustRegion(), "preconditioner": _smoothing(),
        "job_submission": sn.SiteConfig(site_name="inline"), **c})


def _sim(**c):
    return sn.SimulationConfiguration(**{"name": "sim", "model": "prior", "min_period_in_seconds": 70.0,
                                         "max_period_in_seconds": 120.0, "end_time_in_seconds": 1200.0, **c})


def _misfit(**c):
    return sn.MisfitConfiguration(**{"name": "misfit", "simulation_configuration": "sim",
                                     "min_period_in_seconds": 70.0, "max_period_in_seconds": 120.0, **c})


def _event(**c):
    return sn.Event(**{"name": "ev", "origin_time": "2020-01-01T00:00:00", "latitude": 40.0, "longitude": 10.0, **c})


def _station(**c):
    return sn.Station(**{"network": "XX", "station": "A", "latitude": 41.0, "longitude": 11.0, **c})


def _map(**c):
    return sn.MapViewDomain(**{"center_latitude": 49.0, "center_longitude": 8.0, "width_in_meters": 4e6,
                               "height_in_meters": 3e6, **c})


def _box(**c):
    return sn.BoxDomain(**{"x_min": 0.0, "x_max": 2000.0, "z_min": -1000.0, **c})


GRID = xr.Dataset({"VS": (("x", "y"), np.full((2, 2), 4000.0))})

# (builder, changes, error, parameter named in the message)
BAD = {
    # sn.SiteConfig
    "site-ranks-2.0": (sn.SiteConfig, dict(site_name="inline", ranks_per_job=2.0), TypeError, "ranks_per_job"),
    "site-ranks-None": (sn.SiteConfig, dict(site_name="inline", ranks_per_job=None), TypeError, "ranks_per_job"),
    "site-ranks-nan": (sn.SiteConfig, dict(site_name="inline", ranks_per_job=NAN), TypeError, "ranks_per_job"),
    "site-ranks-str": (sn.SiteConfig, dict(site_name="inline", ranks_per_job="4"), TypeError, "ranks_per_job"),
    "site-ranks-0": (sn.SiteConfig, dict(site_name="inline", ranks_per_job=0), ValueError, "ranks_per_job"),
    "site-name-None": (sn.SiteConfig, dict(site_name=None), TypeError, "site_name"),
    # sn.Mapping
    "mapping-scaling-None": (_mapping, dict(scaling=None), TypeError, "scaling"),
    "mapping-params-None": (_mapping, dict(inversion_parameters=None), TypeError, "inversion_parameters"),
    "mapping-params-twice": (_mapping, dict(inversion_parameters=["VS", "VS"]), ValueError, "inversion_parameters"),
    "mapping-map-None": (_mapping, dict(map_to_physical_parameters=None), TypeError, "map_to_physical_parameters"),
    "mapping-map-clash": (lambda **c: sn.Mapping(inversion_parameters=["VS", "RHO"], **c),
                          dict(map_to_physical_parameters={"VS": "RHO"}), ValueError, "map_to_physical_parameters"),
    "mapping-cutout-str": (_mapping, dict(source_cutout_radius_in_meters="300 km"), TypeError,
                           "source_cutout_radius_in_meters"),
    "mapping-cutout-inf": (_mapping, dict(receiver_cutout_radius_in_meters=INF), ValueError,
                           "receiver_cutout_radius_in_meters"),
    "mapping-cutout-bool": (_mapping, dict(receiver_cutout_radius_in_meters=True), TypeError,
                            "receiver_cutout_radius_in_meters"),
    # sn.TrustRegion
    "tr-linf-inf": (sn.TrustRegion, dict(initial_trust_region_linf=INF), ValueError, "initial_trust_region_linf"),
    "tr-linf-nan": (sn.TrustRegion, dict(initial_trust_region_linf=NAN), ValueError, "initial_trust_region_linf"),
    "tr-linf-str": (sn.TrustRegion, dict(initial_trust_region_linf="0.02"), TypeError, "initial_trust_region_linf"),
    "tr-radius-inf": (sn.TrustRegion, dict(max_trust_region_radius=INF), ValueError, "max_trust_region_radius"),
    "tr-radius-0": (sn.TrustRegion, dict(max_trust_region_radius=0.0), ValueError, "max_trust_region_radius"),
    "tr-pairs-2.0": (sn.TrustRegion, dict(max_pairs=2.0), TypeError, "max_pairs"),
    "tr-pairs-0": (sn.TrustRegion, dict(max_pairs=0), ValueError, "max_pairs"),
    # sn.ModelDependentSmoothing
    "smoothing-lengths-None": (_smoothing, dict(smoothing_lengths_in_wavelengths=None), TypeError,
                               "smoothing_lengths_in_wavelengths"),
    "smoothing-length-str": (_smoothing, dict(smoothing_lengths_in_wavelengths={"VS": "0.5"}), TypeError,
                             "smoothing_lengths_in_wavelengths['VS']"),
    "smoothing-length-inf": (_smoothing, dict(smoothing_lengths_in_wavelengths={"VS": [0.5, INF]}), ValueError,
                             "smoothing_lengths_in_wavelengths['VS']"),
    "smoothing-lengths-4": (_smoothing, dict(smoothing_lengths_in_wavelengths={"VS": [0.5] * 4}), ValueError,
                            "smoothing_lengths_in_wavelengths['VS']"),
    "smoothing-lengths-empty": (_smoothing, dict(smoothing_lengths_in_wavelengths={"VS": []}), ValueError,
                                "smoothing_lengths_in_wavelengths['VS']"),
    "smoothing-frequency-inf": (_smoothing, dict(reference_frequency_in_hertz=INF), ValueError,
                                "reference_frequency_in_hertz"),
    "smoothing-frequency-str": (_smoothing, dict(reference_frequency_in_hertz="1/70"), TypeError,
                                "reference_frequency_in_hertz"),
    "smoothing-refs-None": (_smoothing, dict(reference_velocities=None), TypeError, "reference_velocities"),
    "smoothing-model-None": (_smoothing, dict(reference_model=None), TypeError, "reference_model"),
    # sn.InverseProblemConfiguration
    "ipc-events-None": (_ipc, dict(events=None), TypeError, "events"),
    "ipc-events-int": (_ipc, dict(events=[EVENT, 3]), TypeError, "events[1]"),
    "ipc-name-long": (_ipc, dict(name=LONG), ValueError, "name"),
    "ipc-name-long-utf8": (_ipc, dict(name=LONG_UTF8), ValueError, "name"),
    "ipc-name-nul": (_ipc, dict(name="inv\0"), ValueError, "name"),
    "ipc-name-None": (_ipc, dict(name=None), TypeError, "name"),
    "ipc-misfit-None": (_ipc, dict(misfit_configuration=None), TypeError, "misfit_configuration"),
    "ipc-prior-slash": (_ipc, dict(prior_model="a/b"), ValueError, "prior_model"),
    "ipc-linf-50": (_ipc, dict(method=sn.TrustRegion(initial_trust_region_linf=50)), ValueError,
                    "initial_trust_region_linf"),
    "ipc-linf-1": (_ipc, dict(method=sn.TrustRegion(initial_trust_region_linf=1.0)), ValueError,
                   "initial_trust_region_linf"),
    "ipc-smoothing-extra-key": (_ipc, dict(preconditioner=_smoothing(smoothing_lengths_in_wavelengths={
        "VS": 0.5, "RHO": 0.5})), ValueError, "smoothing_lengths_in_wavelengths"),
    "ipc-refs-extra-key": (_ipc, dict(preconditioner=_smoothing(reference_velocities={"VS": "VS", "RHO": "VS"})),
                           ValueError, "reference_velocities"),
    "ipc-preconditioner-dict": (_ipc, dict(preconditioner={"VS": 0.5}), TypeError, "preconditioner"),
    # sn.SimulationConfiguration
    "sim-name-long": (_sim, dict(name=LONG), ValueError, "name"),
    "sim-model-None": (_sim, dict(model=None), TypeError, "model"),
    "sim-min-period-str": (_sim, dict(min_period_in_seconds="70"), TypeError, "min_period_in_seconds"),
    "sim-max-period-inf": (_sim, dict(max_period_in_seconds=INF), ValueError, "max_period_in_seconds"),
    "sim-end-time-nan": (_sim, dict(end_time_in_seconds=NAN), ValueError, "end_time_in_seconds"),
    "sim-physics-None": (_sim, dict(physics=None), TypeError, "physics"),
    "sim-epw-inf": (_sim, dict(elements_per_wavelength=INF), ValueError, "elements_per_wavelength"),
    "sim-order-4.0": (_sim, dict(tensor_order=4.0), TypeError, "tensor_order"),
    "sim-order-9": (_sim, dict(tensor_order=9), ValueError, "tensor_order"),
    "sim-sides-str": (_sim, dict(absorbing_sides="left"), TypeError, "absorbing_sides"),
    "sim-sides-twice": (_sim, dict(absorbing_sides=["left", "left"]), ValueError, "absorbing_sides"),
    "sim-sponge-inf": (_sim, dict(sponge_width_in_wavelengths=INF), ValueError, "sponge_width_in_wavelengths"),
    "sim-precision-None": (_sim, dict(precision=None), TypeError, "precision"),
    "sim-interval-2.0": (_sim, dict(forward_wavefield_sampling_interval=2.0), TypeError,
                         "forward_wavefield_sampling_interval"),
    # sn.MisfitConfiguration and sn.WindowPicking
    "misfit-name-long": (_misfit, dict(name=LONG), ValueError, "name"),
    "misfit-sim-None": (_misfit, dict(simulation_configuration=None), TypeError, "simulation_configuration"),
    "misfit-observed-slash": (_misfit, dict(observed_data="../raw"), ValueError, "observed_data"),
    "misfit-max-period-nan": (_misfit, dict(max_period_in_seconds=NAN), ValueError, "max_period_in_seconds"),
    "misfit-function-None": (_misfit, dict(misfit_function=None), TypeError, "misfit_function"),
    "misfit-windows-dict": (_misfit, dict(windows={"padding_in_seconds": 60.0}), TypeError, "windows"),
    "misfit-options-None": (_misfit, dict(misfit_options=None), TypeError, "misfit_options"),
    "misfit-options-unknown": (_misfit, dict(misfit_options={"taper": 0.1}), ValueError, "misfit_options"),
    "window-min-inf": (sn.WindowPicking, dict(min_velocity_in_m_per_s=INF), ValueError, "min_velocity_in_m_per_s"),
    "window-max-str": (sn.WindowPicking, dict(max_velocity_in_m_per_s="5 km/s"), TypeError, "max_velocity_in_m_per_s"),
    "window-padding-nan": (sn.WindowPicking, dict(padding_in_seconds=NAN), ValueError, "padding_in_seconds"),
    # models
    "constant-name-long": (sn.ConstantModel, dict(name=LONG, values={"VS": 1.0}), ValueError, "name"),
    "constant-values-None": (sn.ConstantModel, dict(name="m", values=None), TypeError, "values"),
    "constant-values-empty": (sn.ConstantModel, dict(name="m", values={}), ValueError, "values"),
    "constant-value-inf": (sn.ConstantModel, dict(name="m", values={"VS": INF}), ValueError, "values['VS']"),
    "constant-value-str": (sn.ConstantModel, dict(name="m", values={"VS": "4000"}), TypeError, "values['VS']"),
    "grid-name-long": (sn.GridModel, dict(name=LONG, data=GRID), ValueError, "name"),
    "grid-data-array": (sn.GridModel, dict(name="g", data=GRID["VS"]), TypeError, "data"),
    "grid-data-empty": (sn.GridModel, dict(name="g", data=xr.Dataset()), ValueError, "data"),
    # events and stations
    "event-name-long": (_event, dict(name=LONG), ValueError, "name"),
    "event-name-long-utf8": (_event, dict(name=LONG_UTF8), ValueError, "name"),
    "event-name-slash": (_event, dict(name="a/b"), ValueError, "name"),
    "event-name-None": (_event, dict(name=None), TypeError, "name"),
    "event-time-None": (_event, dict(origin_time=None), TypeError, "origin_time"),
    "event-time-bad": (_event, dict(origin_time="yesterday"), ValueError, "origin_time"),
    "event-latitude-91": (_event, dict(latitude=91.0), ValueError, "latitude"),
    "event-longitude-str": (_event, dict(longitude="10E"), TypeError, "longitude"),
    "event-depth-inf": (_event, dict(depth_in_m=INF), ValueError, "depth_in_m"),
    "event-magnitude-nan": (_event, dict(magnitude=NAN), ValueError, "magnitude"),
    "event-magnitude-300": (_event, dict(magnitude=300.0), ValueError, "magnitude"),
    "event-tensor-keys": (_event, dict(moment_tensor={"mrr": 1e17}), ValueError, "moment_tensor"),
    "event-tensor-inf": (_event, dict(moment_tensor={k: INF for k in ("mrr", "mtt", "mpp", "mrt", "mrp", "mtp")}),
                         ValueError, "moment_tensor['mrr']"),
    "event-half-duration-neg": (_event, dict(half_duration_in_seconds=-1.0), ValueError, "half_duration_in_seconds"),
    "event-region-None": (_event, dict(region=None), TypeError, "region"),
    "event-position-3": (_event, dict(position=(1.0, 2.0, 3.0)), ValueError, "position"),
    "event-position-nan": (_event, dict(position=(1.0, NAN)), ValueError, "position[1]"),
    "station-network-None": (_station, dict(network=None), TypeError, "network"),
    "station-station-long": (_station, dict(station=LONG), ValueError, "station"),
    "station-network-dot": (_station, dict(network="X.Y"), ValueError, "network"),
    "station-elevation-inf": (_station, dict(elevation_in_m=INF), ValueError, "elevation_in_m"),
    "station-latitude-nan": (_station, dict(latitude=NAN), ValueError, "latitude"),
    "collection-events-None": (sn.EventCollection, dict(events=None), TypeError, "events"),
    "collection-stations-str": (sn.EventCollection, dict(stations=["XX.A"]), TypeError, "stations"),
    # domains
    "map-latitude-str": (_map, dict(center_latitude="49N"), TypeError, "center_latitude"),
    "map-latitude-nan": (_map, dict(center_latitude=NAN), ValueError, "center_latitude"),
    "map-longitude-inf": (_map, dict(center_longitude=INF), ValueError, "center_longitude"),
    "map-width-inf": (_map, dict(width_in_meters=INF), ValueError, "width_in_meters"),
    "map-height-too-big": (_map, dict(height_in_meters=3e7), ValueError, "height_in_meters"),
    "box-x-min-str": (_box, dict(x_min="0"), TypeError, "x_min"),
    "box-z-max-nan": (_box, dict(z_max=NAN), ValueError, "z_max"),
}


@pytest.mark.parametrize("build, changes, error, parameter", BAD.values(), ids=BAD.keys())
def test_bad_argument_is_refused_at_construction_with_the_parameter_named(build, changes, error, parameter):
    with pytest.raises(error) as info:
        build(**changes)
    message = str(info.value)
    assert f"'{parameter}'" in message, message
    assert type(info.value) is error  # TypeError for the wrong type, ValueError for the wrong value


@pytest.mark.parametrize("build", [sn.SiteConfig, sn.Mapping, sn.TrustRegion, sn.ModelDependentSmoothing, _ipc, _sim,
                                   _misfit, sn.WindowPicking, _event, _station, _map, _box, sn.EventCollection],
                         ids=lambda b: getattr(b, "__name__", "?"))
def test_the_valid_defaults_still_build(build):
    build()


def test_valid_edge_values_are_accepted():
    assert sn.SiteConfig(site_name="inline", ranks_per_job=np.int64(2)).ranks_per_job == 2
    assert type(sn.SiteConfig(site_name="inline", ranks_per_job=np.int64(2)).ranks_per_job) is int
    # An absolute scaling measures the step in the parameters' own units, so 50 (m/s) is fine there.
    _ipc(mapping=_mapping(scaling="absolute"), method=sn.TrustRegion(initial_trust_region_linf=50.0))
    _ipc(method=sn.TrustRegion(initial_trust_region_linf=0.99))
    assert _event(name="e" * MAX_NAME_BYTES).name == "e" * MAX_NAME_BYTES
    assert _event(position=[1.0, 2]).position == (1.0, 2.0)
    assert sn.ConstantModel("m", {"VS": 4000}).values == {"VS": 4000.0}


def test_name_limit_leaves_room_for_the_store_suffixes(tmp_path):
    """The longest name the configurations take still makes every file the store writes."""
    name = "n" * MAX_NAME_BYTES
    store.write_bytes(tmp_path / f"{name}.mseed", b"1")
    store.write_bytes(tmp_path / f"{name}.mseed", b"2")  # keeps .prev (and its sidecar)
    store.write_json(tmp_path / f"{name}.json", {"a": 1})
    store.write_json(tmp_path / f"{name}.json", {"a": 2})
    assert store.read_bytes(tmp_path / f"{name}.mseed.prev") == b"1"
    assert max(len(p.name.encode()) for p in tmp_path.iterdir()) <= 255


def test_unified_positive_validators():
    """One rule everywhere: TypeError names the type problem, ValueError the value problem."""
    for value, error in ((True, TypeError), ("1", TypeError), (None, TypeError), (NAN, ValueError), (-INF, ValueError),
                         (0, ValueError)):
        with pytest.raises(error, match=r"The 'width_in_meters' parameter must be"):
            _map(width_in_meters=value)


# --- checked when the configuration is added -------------------------------------------------

@pytest.fixture
def opened(workshop_copy):
    p = sn.Project(path=workshop_copy)
    yield p
    p.close()


def _problem(**changes):
    """The inverse problem ``_part4.add_problem(p, site="inline")`` adds, with changes."""
    kwargs = dict(
        name=PROBLEM, events=SELECTED_EVENTS, misfit_configuration=f"tf_phase_misfit_{PERIOD_BAND}",
        prior_model=f"initial_model_{PERIOD_BAND}",
        mapping=sn.Mapping(inversion_parameters=["VS"], source_cutout_radius_in_meters=300000,
                           receiver_cutout_radius_in_meters=50000),
        method=sn.TrustRegion(initial_trust_region_linf=0.02),
        preconditioner=sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": [0.5, 0.5]},
                                                  reference_frequency_in_hertz=1.0 / MIN_PERIOD,
                                                  reference_velocities={"VS": "VS"}),
        job_submission=sn.SiteConfig(site_name="inline"),
    )
    kwargs.update(changes)
    return sn.InverseProblemConfiguration(**kwargs)


def test_smoothing_lengths_of_the_wrong_length_are_refused_when_added(opened):
    """The domain is 2D: three lengths were accepted and failed in the preconditioner job."""
    smoothing = sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": [0.2, 0.5, 0.5]},
                                           reference_frequency_in_hertz=1.0 / MIN_PERIOD)
    assert_refused(opened, _problem(preconditioner=smoothing), ValueError,
                   "'smoothing_lengths_in_wavelengths['VS']'", "[0.2, 0.5, 0.5]", "['x', 'y']")
    assert not opened.paths.inversion(PROBLEM).exists()


def test_default_reference_velocity_the_prior_lacks_is_refused_when_added(tmp_path):
    """RHO smooths with VS unless told otherwise; an acoustic prior has no VS, which only the
    preconditioner job found out, after the simulations ran."""
    p = sn.Project.from_domain(tmp_path / "box", _box())
    try:
        p += sn.EventCollection(events=[sn.Event(name="ev0", origin_time="2020-01-01", position=(1000.0, -500.0))],
                                stations=[sn.Station(network="XX", station="R0", position=(500.0, 0.0))])
        p += sn.ConstantModel("prior", {"VP": 3000.0, "RHO": 2200.0})
        p += _sim(min_period_in_seconds=0.1, max_period_in_seconds=1.0, end_time_in_seconds=1.0, physics="acoustic")
        p += _misfit(min_period_in_seconds=0.1, max_period_in_seconds=1.0, misfit_function="l2", windows=None)
        trace = obspy.Trace(np.sin(np.linspace(0.0, 6.0, 128)))
        trace.stats.network, trace.stats.station, trace.stats.channel, trace.stats.delta = "XX", "R0", "BXP", 0.01
        trace.stats.starttime = obspy.UTCDateTime("2020-01-01")
        p.add_observed_data("ev0", obspy.Stream([trace]))
        rho = dict(mapping=sn.Mapping(inversion_parameters=["RHO"]), events=["ev0"])
        assert_refused(p, _ipc(**rho, preconditioner=sn.ModelDependentSmoothing(
            smoothing_lengths_in_wavelengths={"RHO": 0.5})), ValueError, "{'RHO': 'VS'}", "'reference_velocities'")
        p += _ipc(**rho, preconditioner=sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"RHO": 0.5},
                                                                   reference_velocities={"RHO": "VP"}))
    finally:
        p.close()


# --- replacing a configuration by name -------------------------------------------------------

def test_a_changed_inverse_problem_is_refused_without_overwrite_and_says_how(project):
    message = assert_refused(project, _problem(method=sn.TrustRegion(initial_trust_region_linf=0.05)), ValueError,
                             f"An inverse problem configuration named {PROBLEM!r} already exists",
                             "overwrite=True")
    assert "no iteration uses it yet" in message


def test_replacing_an_inverse_problem_that_has_not_started(project):
    old = project.inverse_problem_configuration(PROBLEM)
    fixed = _problem(method=sn.TrustRegion(initial_trust_region_linf=0.05))
    project.add(fixed, overwrite=True)
    assert project.inverse_problem_configuration(PROBLEM) == fixed
    path = project.paths.configuration("inverse_problem", PROBLEM)
    previous = path.with_name(path.name + ".prev")
    assert store.read_json(previous) == store.read_json(path) | {"method": old.method.to_dict()}
    # the replaced one runs
    assert project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert project.inversions.get_iteration(PROBLEM).config == fixed
    assert project.inversions.get_iteration(PROBLEM).config.method.initial_trust_region_linf == 0.05


def test_replacing_a_started_inverse_problem_is_refused_naming_its_iterations(project):
    assert project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    changed = _problem(method=sn.TrustRegion(initial_trust_region_linf=0.05))
    for add in ({}, {"overwrite": True}):
        message = assert_refused(project, changed, ValueError, f"iteration(s) [0] of inverse problem {PROBLEM!r}",
                                 "new name", **add)
        assert "overwrite=True" not in message
    # and what it runs with, through the configurations it names
    misfit = project.misfit_configuration(f"tf_phase_misfit_{PERIOD_BAND}")
    assert_refused(project, sn.MisfitConfiguration(**{**_fields(misfit), "max_period_in_seconds": 130.0}),
                   ValueError, f"iteration(s) [0] of inverse problem {PROBLEM!r}", overwrite=True)
    sim = project.simulation_configuration(f"initial_model_{PERIOD_BAND}")
    assert_refused(project, sn.SimulationConfiguration(**{**_fields(sim), "end_time_in_seconds": 900.0}),
                   ValueError, f"iteration(s) [0] of inverse problem {PROBLEM!r}", overwrite=True)
    assert_refused(project, sn.ConstantModel("prior", {"VS": 3000.0, "RHO": 3000.0}), ValueError,
                   f"iteration(s) [0] of inverse problem {PROBLEM!r}", overwrite=True)
    # an identical re-add is still a no-op
    before = snapshot(project.paths.root)
    project += _problem()
    assert snapshot(project.paths.root) == before


def _fields(config) -> dict:
    import dataclasses

    return {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}


def test_replacing_what_an_unstarted_problem_uses_rechecks_its_users(project):
    sim_name = f"initial_model_{PERIOD_BAND}"
    sim = project.simulation_configuration(sim_name)
    # A mesh that resolves 80 s only would break the misfit, which measures from 70 s: refused, nothing written.
    assert_refused(project, sn.SimulationConfiguration(**{**_fields(sim), "min_period_in_seconds": 80.0}), ValueError,
                   f"would break the misfit configuration 'tf_phase_misfit_{PERIOD_BAND}'", overwrite=True)
    # A harmless change is written, with the previous version kept, and the problem still starts.
    longer = sn.SimulationConfiguration(**{**_fields(sim), "end_time_in_seconds": sim.end_time_in_seconds + 100.0})
    project.add(longer, overwrite=True)
    assert project.simulation_configuration(sim_name) == longer
    path = project.paths.configuration("simulation", sim_name)
    assert store.read_json(path.with_name(path.name + ".prev"))["end_time_in_seconds"] == sim.end_time_in_seconds
    assert project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)


def test_replacing_a_model_a_user_cannot_run_with_is_refused(project):
    # The membrane simulation needs VS and RHO.
    assert_refused(project, sn.ConstantModel("prior", {"VP": 6000.0, "RHO": 3300.0}), ValueError,
                   "would break the simulation configuration", "'membrane' physics", overwrite=True)


def test_a_grid_model_is_replaced_only_with_overwrite(opened):
    data = xr.Dataset({"VS": (("x", "y"), np.full((2, 2), 4000.0)), "RHO": (("x", "y"), np.full((2, 2), 3300.0))},
                      coords={"x": [-4e6, 4e6], "y": [-4e6, 4e6]})
    opened += sn.GridModel("grid", data)
    assert_refused(opened, sn.GridModel("grid", data * 1.01), ValueError, "'grid' already exists", "overwrite=True")
    opened.add(sn.GridModel("grid", data * 1.01), overwrite=True)
    xr.testing.assert_allclose(opened.model_dataset("grid"), data * 1.01)


def test_overwrite_must_be_a_bool(project):
    assert_refused(project, _problem(), TypeError, "'overwrite'", overwrite="yes")


def test_late_failure_of_the_issue_is_now_a_construction_error():
    """The three reports of item 4, each at construction now."""
    with pytest.raises(TypeError, match=r"The 'ranks_per_job' parameter must be an int, but 2\.0 was given\."):
        sn.SiteConfig(site_name="inline", ranks_per_job=2.0)
    with pytest.raises(ValueError, match=r"'initial_trust_region_linf' parameter must be below 1 .* 50 was given"):
        _ipc(method=sn.TrustRegion(initial_trust_region_linf=50))
    with pytest.raises(ValueError, match=r"'initial_trust_region_linf' parameter must be positive, but inf was given"):
        sn.TrustRegion(initial_trust_region_linf=math.inf)
