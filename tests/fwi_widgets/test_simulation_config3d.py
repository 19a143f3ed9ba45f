"""The 3D (Salvus continental) form of sn.SimulationConfiguration, its parts, the wavelets,
and what a spherical-chunk project accepts and refuses (Part 2 of the continental tutorial)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from scipy.special import erf

import engine
from fwi_widgets import namespace as sn
from fwi_widgets.config import configuration_from_dict
from fwi_widgets.config.simulation import (
    AbsorbingBoundaryParameters, EventConfiguration, ModelConfiguration, WaveformSimulationConfiguration,
)
from fwi_widgets.config.stf import FilteredHeaviside, GaussianRate, Ricker
from fwi_widgets.project.project import Project

Chunk = sn.domain.dim3.SphericalChunkDomain
EUROPE = dict(lat_center=50.0, lat_extent=45.0, lon_center=5.0, lon_extent=60.0, radius_in_meter=6371e3)
MIN_PERIOD = 70.0


def seed(**changes) -> sn.SimulationConfiguration:
    """The tutorial's call (ARCHITECTURE.md section 4), with ``changes``."""
    arguments = dict(
        name="initial_model_70_120", elements_per_wavelength=1.5, tensor_order=4,
        min_period_in_seconds=MIN_PERIOD, max_depth_in_meters=1750e3,
        model_configuration=ModelConfiguration(background_model="prem_ani_one_crust", volume_models=["true_anomalies"]),
        event_configuration=EventConfiguration(
            wavelet=GaussianRate(half_duration_in_seconds=2 * MIN_PERIOD),
            waveform_simulation_configuration=WaveformSimulationConfiguration(end_time_in_seconds=1200.0)),
        absorbing_boundaries=AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=0.0,
                                                         reference_frequency=1 / MIN_PERIOD))
    arguments.update(changes)
    return sn.SimulationConfiguration(**arguments)


def plain(**changes) -> sn.SimulationConfiguration:
    """The seed without volume models."""
    return seed(**{"model_configuration": ModelConfiguration(background_model="prem_ani_one_crust"), **changes})


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def anomalies(name: str = "true_anomalies", kind: str = "relative", value: float = -0.03) -> sn.GridModel:
    """A grid on the chunk's (depth, latitude, longitude): -3 % in VS by default."""
    depth, lat, lon = np.linspace(0.0, 1750e3, 3), np.linspace(25.0, 75.0, 4), np.linspace(-60.0, 70.0, 5)
    vs = xr.DataArray(np.full((3, 4, 5), value), dims=("depth", "latitude", "longitude"),
                      coords={"depth": depth, "latitude": lat, "longitude": lon})
    return sn.GridModel(name=name, data=xr.Dataset({"VS": vs}), kind=kind)


@pytest.fixture
def chunk_project(tmp_path):
    p = sn.Project.from_domain(path=tmp_path / "continental", domain=Chunk(**EUROPE), load_if_exists=True)
    yield p
    p.close()


# --- construction and JSON ---------------------------------------------------------------------

def test_the_seed_call_builds_and_round_trips_through_json():
    cfg = seed()
    text = json.dumps(cfg.to_dict())
    back = configuration_from_dict(json.loads(text))
    assert type(back) is sn.SimulationConfiguration and back == cfg
    assert json.dumps(back.to_dict()) == text
    d = json.loads(text)
    assert d["model_configuration"] == {"type": "ModelConfiguration", "background_model": "prem_ani_one_crust",
                                        "volume_models": ["true_anomalies"]}
    assert d["event_configuration"]["wavelet"] == {"type": "GaussianRate", "half_duration_in_seconds": 140.0}
    assert "model" not in d and "max_period_in_seconds" not in d and "absorbing_sides" not in d
    # What the workflow reads.
    assert cfg.is_3d and cfg.background_model == "prem_ani_one_crust" and cfg.volume_models == ("true_anomalies",)
    assert cfg.end_time == 1200.0 == cfg.end_time_in_seconds
    assert cfg.wavelet == GaussianRate(half_duration_in_seconds=140.0)
    assert cfg.sponge_width_in_meters is None and cfg.max_depth == 1750e3
    assert cfg.physics == "elastic" and cfg.engine_physics == "elastic" and cfg.max_period_in_seconds is None
    assert cfg.start_time == pytest.approx(-cfg.wavelet.delay_in_seconds) and cfg.start_time < 0
    assert cfg.chunk_absorbing_sides == ("r0", "t0", "t1", "p0", "p1")


@pytest.mark.parametrize("part", [
    ModelConfiguration(background_model="prem_iso"),
    WaveformSimulationConfiguration(end_time_in_seconds=600.0, start_time_in_seconds=-200.0),
    EventConfiguration(wavelet=Ricker(center_frequency=0.02),
                       waveform_simulation_configuration=WaveformSimulationConfiguration(end_time_in_seconds=60.0)),
    AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=1.5, reference_frequency=0.01,
                                free_surface=False),
    GaussianRate(half_duration_in_seconds=3.1), FilteredHeaviside(min_period_in_seconds=70.0, max_period_in_seconds=120.0),
    Ricker(center_frequency=0.05),
], ids=lambda c: type(c).__name__)
def test_parts_round_trip_through_json(part):
    text = json.dumps(part.to_dict())
    assert configuration_from_dict(json.loads(text)) == part


def test_2d_json_is_unchanged_byte_for_byte():
    # Written by the code before the 3D form existed, for these inputs.
    cases = [
        (dict(name="a", model="prior", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
              end_time_in_seconds=1200.0),
         '{"type": "SimulationConfiguration", "name": "a", "model": "prior", "min_period_in_seconds": 70.0, '
         '"max_period_in_seconds": 120.0, "end_time_in_seconds": 1200.0, "physics": "membrane", '
         '"elements_per_wavelength": 1.5, "tensor_order": 4, "absorbing_sides": ["left", "right", "bottom", "top"], '
         '"sponge_width_in_wavelengths": 1.0, "precision": "float64", "forward_wavefield_sampling_interval": 1}'),
        (dict(name="b", model="m", min_period_in_seconds=1, max_period_in_seconds=5, end_time_in_seconds=3,
              physics="elastic", sponge_width_in_wavelengths=0, forward_wavefield_sampling_interval="auto",
              absorbing_sides=("bottom",)),
         '{"type": "SimulationConfiguration", "name": "b", "model": "m", "min_period_in_seconds": 1, '
         '"max_period_in_seconds": 5, "end_time_in_seconds": 3, "physics": "elastic", "elements_per_wavelength": 1.5, '
         '"tensor_order": 4, "absorbing_sides": ["bottom"], "sponge_width_in_wavelengths": 0, "precision": "float64", '
         '"forward_wavefield_sampling_interval": "auto"}'),
    ]
    for arguments, text in cases:
        cfg = sn.SimulationConfiguration(**arguments)
        assert json.dumps(cfg.to_dict()) == text
        assert configuration_from_dict(json.loads(text)) == cfg
        assert not cfg.is_3d and cfg.background_model is None and cfg.volume_models == () and cfg.wavelet is None
        assert cfg.max_depth is None and cfg.sponge_width_in_meters is None and cfg.start_time == 0.0
        assert cfg.end_time == float(arguments["end_time_in_seconds"])


def test_3d_form_without_an_event_configuration_uses_the_band_passed_step():
    cfg = plain(event_configuration=None, end_time_in_seconds=1200.0, max_period_in_seconds=120.0)
    assert cfg.is_3d and cfg.wavelet is None and cfg.end_time == 1200.0 and cfg.start_time == 0.0
    assert configuration_from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    # The same duration given twice is fine.
    assert plain(end_time_in_seconds=1200.0) == plain()


def test_sponge_width_is_wavelengths_of_the_reference_velocity():
    boundaries = AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=2.0,
                                             reference_frequency=1 / 70.0)
    assert plain(absorbing_boundaries=boundaries).sponge_width_in_meters == pytest.approx(2.0 * 3700.0 * 70.0)
    assert boundaries.sponge_width_in_meters == engine.operator.sponge_width(2.0, 3700.0, 1 / 70.0)
    assert plain(absorbing_boundaries=None).sponge_width_in_meters is None
    assert boundaries.side_sets == ("r0", "t0", "t1", "p0", "p1")
    open_top = AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=0.0,
                                           reference_frequency=1 / 70.0, free_surface=False)
    assert plain(absorbing_boundaries=open_top).chunk_absorbing_sides[-1] == "r1"


@pytest.mark.parametrize("build, error, fragment", [
    (lambda: ModelConfiguration(background_model="prem"), ValueError,
     "The 'background_model' parameter must be one of ['prem_iso', 'prem_ani', 'prem_iso_one_crust', "
     "'prem_ani_one_crust', 'prem_iso_no_crust', 'prem_ani_no_crust']"),
    (lambda: ModelConfiguration(background_model="PREM_ANI"), ValueError, "Model names are lower case"),
    (lambda: ModelConfiguration(background_model=None), TypeError, "'background_model'"),
    (lambda: ModelConfiguration(background_model="prem_iso", volume_models=["a", "a"]), ValueError,
     "lists ['a'] more than once"),
    (lambda: ModelConfiguration(background_model="prem_iso", volume_models=["../a"]), ValueError, "'volume_models'"),
    (lambda: WaveformSimulationConfiguration(end_time_in_seconds=0.0), ValueError,
     "The 'end_time_in_seconds' parameter must be positive"),
    (lambda: WaveformSimulationConfiguration(end_time_in_seconds=10.0, start_time_in_seconds=10.0), ValueError,
     "'start_time_in_seconds' parameter must be before the end time"),
    (lambda: EventConfiguration(wavelet="gaussian", waveform_simulation_configuration=None), TypeError,
     "The 'wavelet' parameter must be one of sn.simple_config.stf."),
    (lambda: AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=-1.0,
                                         reference_frequency=0.01), ValueError,
     "The 'number_of_wavelengths' parameter must be non-negative"),
    (lambda: AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=0.0,
                                         reference_frequency=0.01, free_surface="yes"), TypeError, "'free_surface'"),
    (lambda: GaussianRate(half_duration_in_seconds=0.0), ValueError, "'half_duration_in_seconds' parameter must be positive"),
    (lambda: FilteredHeaviside(min_period_in_seconds=120.0, max_period_in_seconds=70.0), ValueError,
     "'max_period_in_seconds' parameter must exceed the minimum period 120.0"),
    (lambda: Ricker(center_frequency="1 Hz"), TypeError, "'center_frequency' parameter must be a number"),
    # Mixed and incomplete forms.
    (lambda: seed(model="prior"), ValueError, "The 'model' parameter ('prior') belongs to the 2D form"),
    (lambda: seed(max_depth_in_meters=None), ValueError, "The 3D form (['model_configuration', "
     "'event_configuration', 'absorbing_boundaries'] given) needs 'max_depth_in_meters'"),
    (lambda: sn.SimulationConfiguration(name="x", model="prior", min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                        end_time_in_seconds=1200.0, max_depth_in_meters=1750e3),
     ValueError, "The 'model' parameter ('prior') belongs to the 2D form"),
    (lambda: seed(model_configuration=None), ValueError, "needs 'model_configuration'"),
    (lambda: seed(end_time_in_seconds=1000.0), ValueError,
     "The 'end_time_in_seconds' parameter (1000.0) disagrees with the event configuration's end_time_in_seconds (1200.0)"),
    (lambda: seed(event_configuration=None), ValueError, "The 3D form needs the duration"),
    (lambda: seed(event_configuration=None, end_time_in_seconds=1200.0), ValueError, "needs 'max_period_in_seconds'"),
    (lambda: seed(absorbing_sides=["left"]), ValueError, "The 'absorbing_sides' parameter belongs to the 2D form"),
    (lambda: seed(sponge_width_in_wavelengths=1.0), ValueError, "'sponge_width_in_wavelengths' parameter belongs"),
    (lambda: seed(physics="membrane"), ValueError, "The 'physics' parameter of the 3D form must be one of ['elastic']"),
    (lambda: seed(max_period_in_seconds=60.0), ValueError, "'max_period_in_seconds' parameter must exceed"),
    (lambda: seed(elements_per_wavelength=0.4), ValueError, "'elements_per_wavelength' parameter must be at least 0.5"),
    (lambda: seed(model_configuration={"background_model": "prem_iso"}), TypeError, "'model_configuration' parameter"),
    (lambda: seed(max_depth_in_meters=2900e3), ValueError,
     "The 'max_depth_in_meters' parameter must be at most 2891000 m (2891 km, the core-mantle boundary of "
     "'prem_ani_one_crust'): the chunk's mesh has no fluid outer core"),
    (lambda: seed(event_configuration=EventConfiguration(
        wavelet=GaussianRate(half_duration_in_seconds=140.0),
        waveform_simulation_configuration=WaveformSimulationConfiguration(end_time_in_seconds=1200.0,
                                                                          start_time_in_seconds=-100.0))),
     ValueError, "The 'start_time_in_seconds' parameter (-100.0) must be at most -304.039 s"),
    (lambda: sn.SimulationConfiguration(name="x", model=None, min_period_in_seconds=70.0, max_period_in_seconds=120.0,
                                        end_time_in_seconds=1200.0), TypeError, "The 'model' parameter must be a str"),
    (lambda: sn.SimulationConfiguration(name="x", model="prior", min_period_in_seconds=70.0,
                                        end_time_in_seconds=1200.0), TypeError, "'max_period_in_seconds'"),
], ids=["unknown-background", "upper-case-background", "background-None", "volume-twice", "volume-slash",
        "end-zero", "start-after-end", "wavelet-str", "wavelengths-negative", "free-surface-str", "half-duration-zero",
        "band-inverted", "ricker-str", "model-and-model-configuration", "no-max-depth", "2d-with-max-depth",
        "no-model-configuration", "end-times-disagree", "no-duration", "no-wavelet-no-band", "2d-sides-in-3d",
        "2d-sponge-in-3d", "membrane-in-3d", "max-period-below-min", "epw-too-small", "model-configuration-dict",
        "past-the-core", "start-too-late", "2d-without-model", "2d-without-max-period"])
def test_bad_configurations_are_refused_at_construction(build, error, fragment):
    with pytest.raises(error) as info:
        build()
    assert type(info.value) is error
    assert fragment in str(info.value), str(info.value)


def test_a_start_time_early_enough_is_kept():
    wave = WaveformSimulationConfiguration(end_time_in_seconds=1200.0, start_time_in_seconds=-400.0)
    cfg = seed(event_configuration=EventConfiguration(wavelet=GaussianRate(half_duration_in_seconds=140.0),
                                                      waveform_simulation_configuration=wave))
    assert cfg.start_time == -400.0
    assert cfg.wavelet.to_engine(delay=-cfg.start_time).delay == 400.0


# --- on a project -----------------------------------------------------------------------------------

def test_the_seed_is_stored_on_a_chunk_project(chunk_project):
    chunk_project += anomalies()
    chunk_project += seed()
    path = chunk_project.paths.configuration("simulation", "initial_model_70_120")
    assert json.loads(path.read_text())["data"] == json.loads(json.dumps(seed().to_dict()))
    assert chunk_project.simulation_configuration("initial_model_70_120") == seed()
    before = snapshot(chunk_project.paths.root)
    chunk_project += seed()  # the same again: nothing to do
    assert snapshot(chunk_project.paths.root) == before
    reopened = chunk_project.paths.root
    chunk_project.close()
    again = sn.Project(path=reopened)
    assert again.simulation_configuration("initial_model_70_120") == seed()
    again.close()


def _refused(project, build, fragment, error=ValueError):
    before = snapshot(project.paths.root)
    with pytest.raises(error) as info:
        project += build()
    assert fragment in str(info.value), str(info.value)
    assert snapshot(project.paths.root) == before, "a file was written"
    return str(info.value)


def test_the_2d_form_is_refused_on_a_chunk(chunk_project):
    chunk_project += sn.ConstantModel("prior", {"VP": 8000.0, "VS": 4500.0, "RHO": 3300.0})
    message = _refused(chunk_project, lambda: sn.SimulationConfiguration(
        name="flat", model="prior", min_period_in_seconds=70.0, max_period_in_seconds=120.0, end_time_in_seconds=1200.0,
        physics="elastic"), "A spherical-chunk project needs the 3D form of sn.SimulationConfiguration")
    assert "model_configuration=sn.ModelConfiguration(background_model=" in message and "max_depth_in_meters" in message


@pytest.mark.parametrize("domain", [sn.BoxDomain(x_min=0.0, x_max=2000e3, z_min=-1000e3),
                                    sn.MapViewDomain(center_latitude=49.0, center_longitude=8.0,
                                                     width_in_meters=7.6e6, height_in_meters=6.4e6)],
                         ids=["box", "map-view"])
def test_the_3d_form_is_refused_on_a_2d_domain(tmp_path, domain):
    p = sn.Project.from_domain(path=tmp_path / "flat", domain=domain)
    try:
        message = _refused(p, plain, "The 3D form of sn.SimulationConfiguration")
        assert f"a 2D {type(domain).__name__}" in message and "give model=<a registered model>" in message
    finally:
        p.close()


def test_a_missing_or_constant_volume_model_is_refused(chunk_project):
    _refused(chunk_project, seed, "Unknown volume model 'true_anomalies' of the model configuration; valid names are []")
    chunk_project += sn.ConstantModel("true_anomalies", {"VS": 4500.0})
    _refused(chunk_project, seed, "The volume model 'true_anomalies' must be a sn.GridModel")


def test_depth_past_the_core_is_refused_before_anything_is_written(chunk_project):
    before = snapshot(chunk_project.paths.root)
    with pytest.raises(ValueError, match=r"at most 2891000 m \(2891 km, the core-mantle boundary"):
        chunk_project += plain(max_depth_in_meters=3000e3)
    assert snapshot(chunk_project.paths.root) == before
    chunk_project += plain(name="to_the_core", max_depth_in_meters=2891e3)  # the core-mantle boundary itself is fine


def test_a_period_too_short_for_the_element_budget_is_refused_with_one_that_fits(chunk_project):
    arguments = Chunk(**EUROPE).mesh_arguments()
    count = Project._chunk_elements(arguments, plain(), 10.0)
    assert count > Project.MAX_CHUNK_ELEMENTS
    message = _refused(chunk_project, lambda: plain(name="fine", min_period_in_seconds=10.0),
                       f"A minimum period of 10.0 s is too short for this chunk: its mesh would take {count:,} elements")
    assert f"more than the {Project.MAX_CHUNK_ELEMENTS:,} allowed" in message
    fits = float(message.split("A minimum period of ")[2].split(" s or more fits")[0])
    assert Project._chunk_elements(arguments, plain(), fits) <= Project.MAX_CHUNK_ELEMENTS
    assert Project._chunk_elements(arguments, plain(), fits - 0.1) > Project.MAX_CHUNK_ELEMENTS
    chunk_project += plain(name="fits", min_period_in_seconds=fits)
    assert "fits" in chunk_project.list_configurations("simulation")


def test_a_sponge_wider_than_the_chunk_is_refused(chunk_project):
    wide = AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=10.0,
                                       reference_frequency=1 / 70.0)
    _refused(chunk_project, lambda: plain(absorbing_boundaries=wide),
             "The sponge of absorbing_boundaries is 2590 km wide")
    ok = AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=1.0, reference_frequency=1 / 70.0)
    chunk_project += plain(name="sponge", absorbing_boundaries=ok)


@pytest.mark.parametrize("background, period, depth, size", [
    ("prem_ani_one_crust", 200.0, 100e3, (10.0, 12.0)),
    ("prem_iso", 150.0, 700e3, (10.0, 12.0)),
    ("prem_ani_no_crust", 300.0, 2891e3, (20.0, 15.0)),
])
def test_the_element_estimate_is_the_meshers_count(background, period, depth, size):
    domain = Chunk(lat_center=45.0, lat_extent=size[0], lon_center=15.0, lon_extent=size[1])
    cfg = plain(model_configuration=ModelConfiguration(background_model=background), min_period_in_seconds=period,
                max_depth_in_meters=depth)
    mesh = engine.mesh.spherical_chunk(**domain.mesh_arguments(), max_depth_in_meters=depth,
                                       model=engine.earth.by_name(background), min_period_in_seconds=period,
                                       elements_per_wavelength=1.5, order=2)
    assert Project._chunk_elements(domain.mesh_arguments(), cfg, period) == mesh.n_elements


def test_relative_grid_models_keep_their_kind_and_absolute_ones_their_json():
    relative = anomalies()
    assert relative.to_dict() == {"type": "GridModel", "name": "true_anomalies", "kind": "relative"}
    assert configuration_from_dict(relative.to_dict()) == sn.GridModel(name="true_anomalies", kind="relative")
    absolute = anomalies(kind="absolute", value=4500.0)
    assert json.dumps(absolute.to_dict()) == '{"type": "GridModel", "name": "true_anomalies"}'
    with pytest.raises(ValueError, match="must be finite perturbations above -1"):
        anomalies(value=-1.0)
    with pytest.raises(ValueError, match="must be positive and finite"):
        anomalies(kind="absolute")
    with pytest.raises(ValueError, match="The 'kind' parameter must be one of \\['absolute', 'relative'\\]"):
        anomalies(kind="ratio")


def test_a_relative_volume_model_is_stored_and_a_relative_2d_model_refused(chunk_project, tmp_path):
    chunk_project += anomalies()
    chunk_project += seed()
    assert chunk_project.model_configuration("true_anomalies").kind == "relative"
    box = sn.Project.from_domain(path=tmp_path / "box", domain=sn.BoxDomain(x_min=0.0, x_max=1e3, z_min=-1e3))
    try:
        x, z = np.linspace(0.0, 1e3, 3), np.linspace(-1e3, 0.0, 3)
        grid = xr.Dataset({"VS": (("x", "z"), np.full((3, 3), 0.01))}, coords={"x": x, "z": z})
        box += sn.GridModel(name="dv", data=grid, kind="relative")
        _refused(box, lambda: sn.SimulationConfiguration(
            name="s", model="dv", min_period_in_seconds=1.0, max_period_in_seconds=2.0, end_time_in_seconds=3.0,
            physics="sh"), "The model 'dv' is a relative grid")
    finally:
        box.close()


# --- the wavelets -----------------------------------------------------------------------------------

@pytest.mark.parametrize("half_duration", [3.1, 140.0])
def test_gaussian_rate_is_a_moment_step_with_specfems_half_duration(half_duration):
    wavelet = GaussianRate(half_duration_in_seconds=half_duration)
    stf = wavelet.to_engine()
    assert stf.kind == "heaviside" and stf.delay == pytest.approx(wavelet.delay_in_seconds)
    t = np.linspace(0.0, 2.0 * stf.delay, 200_001)
    moment = stf(t)
    assert abs(moment[0]) < 1e-6 and moment[-1] == pytest.approx(1.0, abs=1e-6)  # from ~0 to 1
    rate = np.gradient(moment, t)
    assert np.trapezoid(rate, t) == pytest.approx(1.0, abs=1e-6)
    assert rate[0] < 1e-5 * rate.max()
    # Half duration, measured: the rate's standard deviation is h / (1.628 sqrt 2) (SPECFEM's
    # hdur_Gaussian = h / 1.628 in exp(-(t / hdur_Gaussian)^2)), centred on the delay.
    centre = np.trapezoid(t * rate, t)
    sigma = math.sqrt(np.trapezoid((t - centre) ** 2 * rate, t))
    assert centre == pytest.approx(stf.delay, rel=1e-6)
    assert sigma * 1.628 * math.sqrt(2.0) == pytest.approx(half_duration, rel=1e-4)
    # And the moment is SPECFEM3D_GLOBE's comp_source_time_function(t - t0, h / 1.628).
    specfem = 0.5 * (1.0 + erf((t - stf.delay) / (half_duration / 1.628)))
    assert np.max(np.abs(moment - specfem)) < 1e-12
    # Between -h and +h the moment rises from 1.1 % to 98.9 % (a triangle's 0 to 100 %).
    lo, hi = stf(np.array([stf.delay - half_duration, stf.delay + half_duration]))
    assert lo == pytest.approx(0.5 * (1 - erf(1.628)), abs=1e-12) and 0.0105 < lo < 0.0115 and hi == pytest.approx(1 - lo)


def test_other_wavelets_are_the_engines():
    fh = FilteredHeaviside(min_period_in_seconds=70.0, max_period_in_seconds=120.0)
    assert fh.to_engine() == engine.stf.filtered_heaviside(70.0, 120.0) and fh.delay_in_seconds == 0.0
    ricker = Ricker(center_frequency=0.02)
    assert ricker.to_engine() == engine.stf.ricker(0.02) and ricker.delay_in_seconds == pytest.approx(60.0)
    assert abs(float(ricker.to_engine()(0.0))) < 1e-4
    assert GaussianRate(half_duration_in_seconds=10.0).to_engine(delay=50.0).delay == 50.0
    with pytest.raises(ValueError, match="'delay' parameter must be non-negative"):
        ricker.to_engine(delay=-1.0)
