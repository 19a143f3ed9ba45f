"""fwi_widgets.config: validation of every configuration (bad input refused with a message
that names the valid choices), JSON round trips, the map-view projection, and events and
stations in and out of obspy.

Nothing here touches a project on disk; ``test_project.py`` checks that refused
configurations leave the project untouched.
"""
from __future__ import annotations

import dataclasses
import io
import json
import re
import math

import numpy as np
import obspy
import pytest
import xarray as xr
from obspy.core.event import Catalog, Event as ObsEvent, EventDescription, FocalMechanism, Magnitude, MomentTensor, Origin, Tensor
from obspy.core.inventory import Inventory, Network, Station as ObsStation

from engine.misfit import available as available_misfits
from fwi_widgets import namespace as sn
from fwi_widgets.config import PARAMETER_NAMES, configuration_from_dict, engine_name, event_name
from fwi_widgets.config.domain import EARTH_RADIUS_M
from fwi_widgets.execution import available_sites

UPPER_CASE_HINT = "Parameter names are upper case"
CRETE = "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07"


def _ipc(**changes) -> sn.InverseProblemConfiguration:
    """A valid inverse-problem configuration (the seed's shape), with ``changes`` applied."""
    kwargs = dict(
        name="inv_70_120_seconds", events=[CRETE], misfit_configuration="tf_phase_misfit_70_120_seconds",
        prior_model="initial_model_70_120_seconds",
        mapping=sn.Mapping(scaling="relative_deviation_from_prior", inversion_parameters=["VS"],
                           source_cutout_radius_in_meters=600e3, receiver_cutout_radius_in_meters=50e3),
        method=sn.TrustRegion(initial_trust_region_linf=0.02),
        preconditioner=sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": [0.6, 0.6]},
                                                  reference_frequency_in_hertz=1 / 70, reference_model="prior",
                                                  reference_velocities={"VS": "VS"}),
        job_submission={"forward": sn.SiteConfig(site_name="inline", ranks_per_job=2),
                        "adjoint": sn.SiteConfig(site_name="inline", ranks_per_job=2),
                        "preconditioner": sn.SiteConfig(site_name="local", ranks_per_job=1)},
    )
    kwargs.update(changes)
    return sn.InverseProblemConfiguration(**kwargs)


# --- parameter names ---------------------------------------------------------------------

LOWER_CASE_PARAMETERS = {
    "Mapping.inversion_parameters": lambda: sn.Mapping(inversion_parameters=["vs"]),
    "Mapping.map_to_physical_parameters key": lambda: sn.Mapping(inversion_parameters=["VS"],
                                                                 map_to_physical_parameters={"vsh": "VS"}),
    "Mapping.map_to_physical_parameters value": lambda: sn.Mapping(inversion_parameters=["VS"],
                                                                   map_to_physical_parameters={"VSH": "vs"}),
    "ConstantModel.values": lambda: sn.ConstantModel("prior", {"vs": 3900.0, "RHO": 3300.0}),
    "GridModel.data": lambda: sn.GridModel("m", xr.Dataset({"vs": (("x", "y"), np.ones((2, 2)))})),
    "ModelDependentSmoothing.lengths": lambda: sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"vs": 0.5}),
    "ModelDependentSmoothing.reference_velocities": lambda: sn.ModelDependentSmoothing(
        smoothing_lengths_in_wavelengths={"VS": 0.5}, reference_velocities={"VS": "vs"}),
    "engine_name": lambda: engine_name("vs"),
}


@pytest.mark.parametrize("build", LOWER_CASE_PARAMETERS.values(), ids=LOWER_CASE_PARAMETERS.keys())
def test_lower_case_parameter_name_is_refused_with_upper_case_hint(build):
    with pytest.raises(ValueError) as error:
        build()
    message = str(error.value)
    assert UPPER_CASE_HINT in message
    assert "'VS'" in message  # the valid names are listed


@pytest.mark.parametrize("build", [
    lambda: sn.Mapping(inversion_parameters=["QMU"]),
    lambda: sn.ConstantModel("prior", {"QMU": 100.0}),
    lambda: sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"QMU": 0.5}),
], ids=["Mapping", "ConstantModel", "ModelDependentSmoothing"])
def test_unknown_parameter_name_lists_valid_names_without_case_hint(build):
    with pytest.raises(ValueError) as error:
        build()
    message = str(error.value)
    assert "'QMU'" in message and all(f"'{name}'" in message for name in PARAMETER_NAMES)
    assert UPPER_CASE_HINT not in message  # 'QMU' is no case slip of a valid name


def test_engine_name_maps_every_application_parameter_to_lower_case():
    assert {name: engine_name(name) for name in PARAMETER_NAMES} == {name: name.lower() for name in PARAMETER_NAMES}


def test_bare_string_inversion_parameter_is_accepted_or_explained():
    try:
        mapping = sn.Mapping(inversion_parameters="VS")
    except (TypeError, ValueError) as error:
        assert "list" in str(error)
    else:
        assert mapping.inversion_parameters == ["VS"]


# --- positive numbers --------------------------------------------------------------------

@pytest.mark.parametrize("radius", ["source_cutout_radius_in_meters", "receiver_cutout_radius_in_meters"])
@pytest.mark.parametrize("value", [0.0, -50_000.0, float("nan"), float("inf")])
def test_non_positive_cutout_radius_is_refused(radius, value):
    with pytest.raises(ValueError, match=rf"The '{radius}' parameter must be positive, but {value!r} was given\."):
        sn.Mapping(inversion_parameters=["VS"], **{radius: value})


def test_cutout_radius_none_means_no_cutout_and_numbers_become_floats():
    mapping = sn.Mapping(source_cutout_radius_in_meters=600_000, receiver_cutout_radius_in_meters=None)
    assert mapping.source_cutout_radius_in_meters == 600_000.0 and isinstance(mapping.source_cutout_radius_in_meters, float)
    assert mapping.receiver_cutout_radius_in_meters is None


@pytest.mark.parametrize("value", [0.0, -0.02, float("nan")])
def test_non_positive_initial_trust_region_linf_is_refused(value):
    with pytest.raises(ValueError, match=rf"The 'initial_trust_region_linf' parameter must be positive, but {value!r} was given"):
        sn.TrustRegion(initial_trust_region_linf=value)


@pytest.mark.parametrize("build, parameter", [
    (lambda: sn.SimulationConfiguration(name="s", model="m", min_period_in_seconds=-70.0, max_period_in_seconds=120.0,
                                         end_time_in_seconds=1200.0), "min_period_in_seconds"),
    (lambda: sn.SimulationConfiguration(name="s", model="m", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                         end_time_in_seconds=0.0), "end_time_in_seconds"),
    (lambda: sn.MisfitConfiguration(name="f", simulation_configuration="s", min_period_in_seconds=0.0,
                                    max_period_in_seconds=120.0), "min_period_in_seconds"),
    (lambda: sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": [0.6, -0.1]}),
     "smoothing_lengths_in_wavelengths['VS']"),
    (lambda: sn.ModelDependentSmoothing(reference_frequency_in_hertz=0.0), "reference_frequency_in_hertz"),
    (lambda: sn.WindowPicking(min_velocity_in_m_per_s=-3000.0), "min_velocity_in_m_per_s"),
], ids=["sim-min-period", "sim-end-time", "misfit-min-period", "smoothing-length", "reference-frequency", "window"])
def test_non_positive_numbers_are_refused_in_traitlets_wording(build, parameter):
    with pytest.raises(ValueError, match=rf"The '{re.escape(parameter)}' parameter must be positive, but .* was given\."):
        build()


@pytest.mark.parametrize("cls", [sn.SimulationConfiguration, sn.MisfitConfiguration])
def test_inverted_period_band_is_refused(cls):
    common = dict(name="x", min_period_in_seconds=120.0, max_period_in_seconds=70.0)
    extra = {"model": "m", "end_time_in_seconds": 1200.0} if cls is sn.SimulationConfiguration else {
        "simulation_configuration": "s"}
    with pytest.raises(ValueError, match=r"'max_period_in_seconds' parameter must exceed the minimum period 120\.0"):
        cls(**common, **extra)


# --- choices from registries -------------------------------------------------------------

def test_unknown_site_name_lists_valid_sites():
    with pytest.raises(ValueError) as error:
        sn.SiteConfig(site_name="salvus_flow_site", ranks_per_job=4)
    message = str(error.value)
    assert "'salvus_flow_site'" in message
    assert available_sites() and all(f"'{site}'" in message for site in available_sites())
    assert {"inline", "local", "dask"} <= set(available_sites())


@pytest.mark.parametrize("ranks", [0, -1])
def test_ranks_per_job_must_be_a_positive_integer(ranks):
    with pytest.raises(ValueError, match=r"The 'ranks_per_job' parameter must be a positive integer"):
        sn.SiteConfig(site_name="inline", ranks_per_job=ranks)


@pytest.mark.parametrize("ranks", [1.5, 2.0, True, None, float("nan")])
def test_ranks_per_job_must_be_an_int(ranks):
    # The wrong type is a TypeError (issue 11: one rule for every validator).
    with pytest.raises(TypeError, match=r"The 'ranks_per_job' parameter must be an int"):
        sn.SiteConfig(site_name="inline", ranks_per_job=ranks)


def test_unknown_job_kind_in_job_submission_lists_valid_kinds():
    with pytest.raises(ValueError) as error:
        _ipc(job_submission={"forwards": sn.SiteConfig(site_name="inline")})
    message = str(error.value)
    assert "'forwards'" in message
    assert all(f"'{kind}'" in message for kind in ("forward", "adjoint", "preconditioner"))


def test_job_submission_must_hold_site_configs():
    with pytest.raises(TypeError, match="sn.SiteConfig"):
        _ipc(job_submission={"forward": "inline"})
    with pytest.raises(TypeError, match="sn.SiteConfig"):
        _ipc(job_submission="inline")


def test_single_site_config_and_partial_dict_fill_every_job_kind():
    site = sn.SiteConfig(site_name="inline", ranks_per_job=3)
    assert _ipc(job_submission=site).job_submission == {"forward": site, "adjoint": site, "preconditioner": site}
    partial = _ipc(job_submission={"forward": site})
    assert partial.site_for("adjoint") == site and partial.site_for("preconditioner") == site


def test_unknown_misfit_function_lists_registered_misfits():
    with pytest.raises(ValueError) as error:
        sn.MisfitConfiguration(name="f", simulation_configuration="s", min_period_in_seconds=70.0,
                               max_period_in_seconds=120.0, misfit_function="tf_phase_misfit")
    message = str(error.value)
    assert "'tf_phase_misfit'" in message
    assert {"tf_phase", "l2", "cc_traveltime"} <= set(available_misfits())
    assert all(f"'{name}'" in message for name in available_misfits())


@pytest.mark.parametrize("field, value, valid", [
    ("physics", "viscoelastic", ["membrane", "sh", "acoustic", "elastic"]),
    ("precision", "float16", ["float64", "float32"]),
    ("absorbing_sides", ("left", "east"), ["left", "right", "bottom", "top"]),
])
def test_unknown_simulation_choices_list_valid_ones(field, value, valid):
    with pytest.raises(ValueError) as error:
        sn.SimulationConfiguration(name="s", model="m", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                   end_time_in_seconds=1200.0, **{field: value})
    assert all(f"'{v}'" in str(error.value) for v in valid)


@pytest.mark.parametrize("interval, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError), (True, TypeError),
                                             ("2", ValueError), ("automatic", ValueError)])
def test_forward_wavefield_sampling_interval_must_be_a_positive_integer(interval, error):
    # TypeError for a wrong type (2.5, True), ValueError for a wrong value (issue 11).
    with pytest.raises(error, match="'forward_wavefield_sampling_interval' parameter must be an in"):
        sn.SimulationConfiguration(name="s", model="m", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                   end_time_in_seconds=1200.0, forward_wavefield_sampling_interval=interval)


def test_auto_sampling_interval_takes_the_most_the_minimum_period_allows():
    """'auto' resolves per time step: the largest s with s dt <= T_min / 8, at least 1."""
    cfg = sn.SimulationConfiguration(name="s", model="m", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                     end_time_in_seconds=1200.0, forward_wavefield_sampling_interval="auto")
    assert [cfg.sampling_interval(dt) for dt in (0.5, 1.0, 2.0, 2.1875, 2.2, 4.5, 10.0)] == [17, 8, 4, 4, 3, 1, 1]
    fixed = dataclasses.replace(cfg, forward_wavefield_sampling_interval=3)
    assert fixed.sampling_interval(0.5) == fixed.sampling_interval(4.5) == 3
    again = configuration_from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again.forward_wavefield_sampling_interval == "auto"


def test_unknown_scaling_and_reference_model_list_valid_ones():
    with pytest.raises(ValueError, match=r"'relative_deviation_from_prior'"):
        sn.Mapping(scaling="relative")
    with pytest.raises(ValueError, match=r"\['prior'\]"):
        sn.ModelDependentSmoothing(reference_model="true_model")


def test_inverse_problem_configuration_structural_checks():
    with pytest.raises(ValueError, match=r"at least one event"):
        _ipc(events=[])
    with pytest.raises(ValueError, match=r"lists an event twice"):
        _ipc(events=[CRETE, CRETE])
    with pytest.raises(TypeError, match=r"sn.Mapping"):
        _ipc(mapping={"inversion_parameters": ["VS"]})
    with pytest.raises(TypeError, match=r"sn.TrustRegion"):
        _ipc(method="trust-region")
    with pytest.raises(ValueError, match=r"no smoothing length for the inversion parameter\(s\) \['VS'\]"):
        _ipc(preconditioner=sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VP": 0.5}))
    assert _ipc(events=CRETE).events == [CRETE]  # one event may be given bare


@pytest.mark.parametrize("name", ["", "a/b", "..", ".hidden", "a\\b"])
def test_names_that_would_escape_the_project_are_refused(name):
    with pytest.raises(ValueError, match=r"non-empty string without path separators"):
        sn.ConstantModel(name, {"VS": 3900.0})


def test_configuration_from_dict_unknown_type_lists_valid_types():
    with pytest.raises(ValueError) as error:
        configuration_from_dict({"type": "SimulationConfig", "name": "s"})
    message = str(error.value)
    assert "'SimulationConfig'" in message and "'SimulationConfiguration'" in message and "'SiteConfig'" in message


# --- round trips -------------------------------------------------------------------------

ROUND_TRIP = {
    "MapViewDomain": sn.MapViewDomain(center_latitude=49.0, center_longitude=8.0, width_in_meters=7.6e6,
                                      height_in_meters=6.4e6),
    "BoxDomain": sn.BoxDomain(x_min=0.0, x_max=2000.0, z_min=-1000.0),
    "Event": sn.Event(name=CRETE, origin_time="2015-04-16T18:07:48.000Z", latitude=35.03, longitude=26.85,
                      depth_in_m=24e3, magnitude=6.15, half_duration_in_seconds=3.1, region="CRETE, GREECE",
                      moment_tensor={"mrr": 5.48e17, "mtt": -1.23e18, "mpp": 6.85e17, "mrt": -3.62e17,
                                     "mrp": 1.8e18, "mtp": -3.05e17}),
    "Station": sn.Station(network="GE", station="APE", latitude=37.07, longitude=25.53, elevation_in_m=620.0),
    "EventCollection": sn.EventCollection(
        events=[sn.Event(name="e1", origin_time="2020-01-01T00:00:00", latitude=40.0, longitude=10.0)],
        stations=[sn.Station(network="XX", station="A", latitude=41.0, longitude=11.0),
                  sn.Station(network="XX", station="B", latitude=42.0, longitude=12.0)]),
    "ConstantModel": sn.ConstantModel("prior", {"VS": 4000.0, "RHO": 3300.0}),
    "SimulationConfiguration": sn.SimulationConfiguration(
        name="initial_model_70_120_seconds", model="prior", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
        end_time_in_seconds=1200.0, physics="membrane", elements_per_wavelength=1.5, tensor_order=4,
        absorbing_sides=["left", "right"], sponge_width_in_wavelengths=1.5, precision="float32",
        forward_wavefield_sampling_interval=3),
    "MisfitConfiguration": sn.MisfitConfiguration(
        name="tf_phase_misfit_70_120_seconds", simulation_configuration="initial_model_70_120_seconds",
        min_period_in_seconds=70.0, max_period_in_seconds=120.0, misfit_function="tf_phase",
        windows=sn.WindowPicking(min_velocity_in_m_per_s=3300.0, max_velocity_in_m_per_s=4800.0,
                                 padding_in_seconds=120.0),
        misfit_options={"taper_fraction": 0.1}),  # "taper" is no tf_phase option: refused now
    "MisfitConfiguration-no-windows": sn.MisfitConfiguration(
        name="l2", simulation_configuration="s", min_period_in_seconds=1.0, max_period_in_seconds=2.0,
        misfit_function="l2", windows=None),
    "WindowPicking": sn.WindowPicking(min_velocity_in_m_per_s=3000.0, max_velocity_in_m_per_s=4500.0),
    "Mapping": sn.Mapping(inversion_parameters=["VSV", "VP"], map_to_physical_parameters={"VSH": "VSV", "VPV": "VP"},
                          source_cutout_radius_in_meters=600e3, receiver_cutout_radius_in_meters=50e3),
    "TrustRegion": sn.TrustRegion(initial_trust_region_linf=0.05, max_trust_region_radius=0.5, max_pairs=3),
    "ModelDependentSmoothing": sn.ModelDependentSmoothing(
        smoothing_lengths_in_wavelengths={"VS": [0.2, 0.5], "VP": 0.75}, reference_frequency_in_hertz=1 / 70,
        reference_velocities={"VS": "VS", "VP": "VP"}),
    "SiteConfig": sn.SiteConfig(site_name="dask", ranks_per_job=2),
    "InverseProblemConfiguration": _ipc(),
    "InverseProblemConfiguration-no-preconditioner": _ipc(preconditioner=None, events=CRETE,
                                                          job_submission=sn.SiteConfig(site_name="inline")),
}


@pytest.mark.parametrize("config", ROUND_TRIP.values(), ids=ROUND_TRIP.keys())
def test_configuration_round_trips_through_json(config):
    d = config.to_dict()
    assert d["type"] == type(config).__name__
    text = json.dumps(d)  # what the project writes: plain JSON, no objects left
    back = configuration_from_dict(json.loads(text))
    assert type(back) is type(config)
    assert back == config
    assert json.dumps(back.to_dict()) == text  # and it serialises to the same document


def test_round_trip_revalidates():
    d = sn.TrustRegion().to_dict()
    d["initial_trust_region_linf"] = -1.0  # a hand-edited file must not bypass validation
    with pytest.raises(ValueError, match="initial_trust_region_linf"):
        configuration_from_dict(d)


def test_grid_model_serialises_its_name_only():
    # By design: the data live in the project as NetCDF (test_project checks that side).
    data = xr.Dataset({"VS": (("x", "y"), np.full((2, 3), 4000.0))})
    assert sn.GridModel("true_model", data).to_dict() == {"type": "GridModel", "name": "true_model"}


@pytest.mark.parametrize("config", [
    sn.Event(name="ev0", origin_time="2020-01-01T00:00:00", position=(1000.0, -500.0)),
    sn.Station(network="XX", station="R0", position=(500.0, 0.0)),
], ids=["Event", "Station"])
def test_box_domain_positions_round_trip(config):
    assert configuration_from_dict(json.loads(json.dumps(config.to_dict()))) == config


# --- MapViewDomain -------------------------------------------------------------------------

def _great_circle_m(lat0, lon0, lat, lon):
    """Haversine distance on the 6371 km sphere (an independent formula from the projection's)."""
    p0, p1, dl = np.radians(lat0), np.radians(lat), np.radians(np.asarray(lon) - lon0)
    h = np.sin((p1 - p0) / 2) ** 2 + np.cos(p0) * np.cos(p1) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(h))


CENTRES = [(49.0, 8.0), (-33.9, 151.2), (75.0, -40.0), (10.0, 179.5), (0.0, 0.0)]


@pytest.mark.parametrize("centre", CENTRES, ids=[f"{c[0]},{c[1]}" for c in CENTRES])
def test_map_view_projection_round_trip_and_distances(centre):
    domain = sn.MapViewDomain(center_latitude=centre[0], center_longitude=centre[1], width_in_meters=7.6e6,
                              height_in_meters=6.4e6)
    rng = np.random.default_rng(1)
    lat = np.clip(centre[0] + rng.uniform(-25, 25, 500), -89.0, 89.0)
    lon = centre[1] + rng.uniform(-25, 25, 500)
    x, y = domain.to_xy(lat, lon)
    lat2, lon2 = domain.to_latlon(x, y)
    # 1e-6 degrees is ~0.1 m on the ground; float64 trigonometry gives ~1e-12 degrees here.
    assert np.max(np.abs(lat2 - lat)) < 1e-6
    assert np.max(np.abs((lon2 - lon + 180.0) % 360.0 - 180.0)) < 1e-6  # compare across the dateline
    assert np.all((-180.0 <= lon2) & (lon2 < 180.0))
    # Azimuthal equidistant: distance from the centre is the great-circle distance; 1e-3 m
    # is far above the ~1e-8 m of round-off on 6e6 m and far below any physical scale.
    assert np.max(np.abs(np.hypot(x, y) - _great_circle_m(*centre, lat, lon))) < 1e-3
    # and back from metres: a grid of the domain maps to points at the same great-circle distance
    gx, gy = np.meshgrid(np.linspace(-3.8e6, 3.8e6, 9), np.linspace(-3.2e6, 3.2e6, 7))
    glat, glon = domain.to_latlon(gx, gy)
    assert np.max(np.abs(_great_circle_m(*centre, glat, glon) - np.hypot(gx, gy))) < 1e-3
    gx2, gy2 = domain.to_xy(glat, glon)
    assert max(np.max(np.abs(gx2 - gx)), np.max(np.abs(gy2 - gy))) < 1e-3


def test_map_view_axes_point_east_and_north_and_centre_is_origin():
    domain = sn.MapViewDomain(center_latitude=49.0, center_longitude=8.0, width_in_meters=4e6, height_in_meters=3e6)
    assert domain.to_xy(49.0, 8.0) == (0.0, 0.0)
    lat, lon = domain.to_latlon(0.0, 0.0)
    assert (float(lat), float(lon)) == pytest.approx((49.0, 8.0), abs=1e-12)
    x, y = domain.to_xy(50.0, 8.0)  # due north: one degree of arc
    assert abs(x) < 1e-6 and y == pytest.approx(EARTH_RADIUS_M * math.radians(1.0), rel=1e-12)
    x, y = domain.to_xy(0.0, 8.0 + 90.0)  # off to the east (quarter of the way round)
    assert x > 0
    x, y = domain.to_xy(49.0, 7.0)
    assert x < 0


def test_map_view_outline_traces_the_rectangle():
    domain = sn.MapViewDomain(center_latitude=49.0, center_longitude=8.0, width_in_meters=7.6e6, height_in_meters=6.4e6)
    lat, lon = domain.outline(n=25)
    assert lat.shape == lon.shape == (100,)
    x, y = domain.to_xy(lat, lon)
    # every point lies on an edge (to round-off of the projection: 1e-3 m)
    on_x_edge = np.abs(np.abs(x) - 3.8e6) < 1e-3
    on_y_edge = np.abs(np.abs(y) - 3.2e6) < 1e-3
    assert np.all(on_x_edge | on_y_edge)
    assert np.all(np.abs(x) <= 3.8e6 + 1e-3) and np.all(np.abs(y) <= 3.2e6 + 1e-3)
    # it visits all four corners and closes on itself
    for cx in (-3.8e6, 3.8e6):
        for cy in (-3.2e6, 3.2e6):
            assert np.min(np.hypot(x - cx, y - cy)) < 1e-3
    assert (x[0], y[0]) == pytest.approx((x[-1], y[-1]), abs=1e-3)
    assert domain.contains(0.0, 0.0) and not domain.contains(3.9e6, 0.0)
    assert not domain.contains(3.7e6, 0.0, margin=2e5)


@pytest.mark.parametrize("kwargs, parameter", [
    (dict(center_latitude=90.0, center_longitude=0.0, width_in_meters=1e6, height_in_meters=1e6), "center_latitude"),
    (dict(center_latitude=0.0, center_longitude=0.0, width_in_meters=0.0, height_in_meters=1e6), "width_in_meters"),
    (dict(center_latitude=0.0, center_longitude=0.0, width_in_meters=1e6, height_in_meters=-1.0), "height_in_meters"),
])
def test_map_view_domain_refuses_bad_geometry(kwargs, parameter):
    with pytest.raises(ValueError, match=rf"The '{parameter}' parameter must be"):
        sn.MapViewDomain(**kwargs)


def test_box_domain_refuses_empty_box_and_needs_positions():
    with pytest.raises(ValueError, match=r"x_min < x_max"):
        sn.BoxDomain(x_min=10.0, x_max=0.0, z_min=-1.0)
    box = sn.BoxDomain(x_min=0.0, x_max=2000.0, z_min=-1000.0)
    with pytest.raises(ValueError, match=r"no 'position'"):
        box.position(sn.Event(name="e", origin_time="2020-01-01", latitude=1.0, longitude=1.0))
    assert box.contains(1000.0, 0.0) and not box.contains(1000.0, 1.0)


# --- events and stations -------------------------------------------------------------------

@pytest.mark.parametrize("region, magnitude, time, expected", [
    ("CRETE, GREECE", 6.15, "2015-04-16T18:07:48.000Z", CRETE),
    ("ICELAND REGION", 5.75, "2020-06-20T19:26:54Z", "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26"),
    ("Strait of  Gibraltar", 6.38, obspy.UTCDateTime(2016, 1, 25, 4, 22, 2),
     "event_STRAIT_OF_GIBRALTAR_Mag_6.38_2016-01-25-04-22"),
    ("greece", 6.5, "2015-11-17T07:10:59.9Z", "event_GREECE_Mag_6.50_2015-11-17-07-10"),  # minutes truncate
])
def test_event_name_follows_the_seed_rule(region, magnitude, time, expected):
    assert event_name(region, magnitude, time) == expected


def _crete_catalog_and_inventory():
    origin = Origin(time=obspy.UTCDateTime("2015-04-16T18:07:48.0Z"), latitude=35.03, longitude=26.85, depth=24000.0)
    tensor = Tensor(m_rr=5.48e17, m_tt=-1.23e18, m_pp=6.85e17, m_rt=-3.62e17, m_rp=1.8e18, m_tp=-3.05e17)
    event = ObsEvent(origins=[origin], magnitudes=[Magnitude(mag=6.15, magnitude_type="Mw")],
                     event_descriptions=[EventDescription(text="CRETE, GREECE", type="Flinn-Engdahl region")],
                     focal_mechanisms=[FocalMechanism(moment_tensor=MomentTensor(tensor=tensor, scalar_moment=1.893e18))])
    inventory = Inventory(networks=[
        Network(code="GE", stations=[ObsStation(code="APE", latitude=37.07, longitude=25.53, elevation=620.0),
                                     ObsStation(code="IBBN", latitude=52.31, longitude=7.76, elevation=40.0)]),
        Network(code="II", stations=[ObsStation(code="BORG", latitude=64.75, longitude=-21.33, elevation=110.0)]),
    ], source="test")
    return Catalog(events=[event]), inventory


def test_event_collection_from_obspy_names_events_by_the_seed_rule():
    catalog, inventory = _crete_catalog_and_inventory()
    collection = sn.EventCollection.from_obspy(catalog, inventory)
    (event,) = collection.events
    assert event.name == CRETE
    assert (event.latitude, event.longitude, event.depth_in_m, event.magnitude) == (35.03, 26.85, 24000.0, 6.15)
    assert obspy.UTCDateTime(event.origin_time) == obspy.UTCDateTime("2015-04-16T18:07:48.0Z")
    assert event.moment_tensor == {"mrr": 5.48e17, "mtt": -1.23e18, "mpp": 6.85e17, "mrt": -3.62e17, "mrp": 1.8e18,
                                   "mtp": -3.05e17}
    assert [s.name for s in collection.stations] == ["GE.APE", "GE.IBBN", "II.BORG"]
    assert collection.stations[2].elevation_in_m == 110.0


def test_scalar_moment_from_tensor_and_from_magnitude():
    # A pure double couple M_rt = M_tr = M0 has scalar moment M0 (Frobenius norm / sqrt 2).
    dc = sn.Event(name="dc", origin_time="2020-01-01", magnitude=9.0,
                  moment_tensor={"mrr": 0.0, "mtt": 0.0, "mpp": 0.0, "mrt": 2e18, "mrp": 0.0, "mtp": 0.0})
    # sqrt(0.5 * 2 * (2e18)**2) is exact but for one rounding: rel 1e-15. The tensor wins over the magnitude.
    assert dc.scalar_moment == pytest.approx(2e18, rel=1e-15)
    # Hanks & Kanamori in N m: M0 = 10**(1.5 Mw + 9.1)
    assert sn.Event(name="mw", origin_time="2020-01-01", magnitude=6.0).scalar_moment == pytest.approx(10 ** 18.1, rel=1e-12)


def test_event_collection_obspy_round_trip_through_quakeml_and_stationxml():
    catalog, inventory = _crete_catalog_and_inventory()
    collection = sn.EventCollection.from_obspy(catalog, inventory)
    cat, inv = collection.to_obspy()
    # through the files users exchange, not just the objects
    qml, sxml = io.BytesIO(), io.BytesIO()
    cat.write(qml, format="QUAKEML")
    inv.write(sxml, format="STATIONXML")
    qml.seek(0)
    sxml.seek(0)
    back = sn.EventCollection.from_obspy(obspy.read_events(qml), obspy.read_inventory(sxml))
    assert back.stations == collection.stations
    (a,), (b,) = collection.events, back.events
    assert b.name == a.name == CRETE
    assert obspy.UTCDateTime(b.origin_time) == obspy.UTCDateTime(a.origin_time)
    for attr in ("latitude", "longitude", "depth_in_m", "magnitude", "region"):
        assert getattr(b, attr) == getattr(a, attr), attr
    assert b.moment_tensor == pytest.approx(a.moment_tensor, rel=1e-12)


def test_event_collection_obspy_round_trip_keeps_name_and_half_duration():
    collection = sn.EventCollection(events=[
        sn.Event(name="e1", origin_time="2020-01-01T00:00:00", latitude=40.0, longitude=10.0, half_duration_in_seconds=3.1),
    ])
    back = sn.EventCollection.from_obspy(*collection.to_obspy())
    assert back.events[0].name == "e1"
    half = back.events[0].half_duration_in_seconds
    assert half == 3.1


def test_event_collection_refuses_duplicates_and_bad_events():
    event = sn.Event(name="e1", origin_time="2020-01-01T00:00:00", latitude=40.0, longitude=10.0)
    with pytest.raises(ValueError, match="Event names must be unique"):
        sn.EventCollection(events=[event, event])
    station = sn.Station(network="XX", station="A", latitude=41.0, longitude=11.0)
    with pytest.raises(ValueError, match=r"NET\.STA"):
        sn.EventCollection(stations=[station, station])
    with pytest.raises(ValueError, match=r"The 'depth_in_m' parameter must be non-negative, but -5.0 was given"):
        sn.Event(name="e", origin_time="2020-01-01", depth_in_m=-5.0)
