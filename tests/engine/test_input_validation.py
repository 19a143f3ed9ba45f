"""Every public engine entry refuses, up front and naming the parameter, inputs that
would otherwise give all-NaN seismograms or a message without the parameter's name:
NaN/inf numbers, strings where numbers or lists are expected, wrong shapes, and source
time functions that return NaN on the simulation's time axis."""
import re

import numpy as np
import pytest
import xarray as xr

import engine
from engine import stf as stf_module

X, Z = (0.0, 2000.0), (-1000.0, 0.0)


@pytest.fixture(scope="module")
def mesh():
    return engine.mesh.rectangle(x=X, z=Z, elements=(8, 4), order=2)


@pytest.fixture(scope="module")
def model(mesh):
    return engine.Model.isotropic(mesh, vp=3000.0, vs=1800.0, rho=2200.0)


def _source(**kwargs):
    return engine.Source.point_force(kwargs.pop("location", (1000.0, -500.0)), kwargs.pop("force", (0.0, 1.0)),
                                     kwargs.pop("stf", engine.stf.ricker(10.0)), **kwargs)


def _receivers():
    return engine.Receivers([(500.0, 0.0)])


def _raises(call, message, error=ValueError):
    with pytest.raises(error, match=re.escape(message)):
        call()


# ------------------------------------------------------------------------ simulate


@pytest.mark.parametrize("kwargs, message", [
    (dict(end_time=np.inf), "The 'end_time' parameter must be a finite number > 0, but inf was given."),
    (dict(end_time=float("nan")), "The 'end_time' parameter must be a finite number > 0, but nan was given."),
    (dict(end_time="1.0"), "The 'end_time' parameter must be a finite number > 0, but '1.0' was given."),
    (dict(end_time=-1.0), "The 'end_time' parameter must be a finite number > 0, but -1.0 was given."),
    (dict(end_time=0.2, dt=np.nan), "The 'dt' parameter must be a finite number > 0, but nan was given."),
    (dict(end_time=0.2, dt=np.inf), "The 'dt' parameter must be a finite number > 0, but inf was given."),
    (dict(end_time=0.2, sponge_width=np.inf), "The 'sponge_width' parameter must be a finite number > 0, but inf was given."),
    (dict(end_time=0.2, sponge_width=float("nan")), "The 'sponge_width' parameter must be a finite number > 0, but nan"),
])
def test_simulate_refuses_non_finite_times(mesh, model, kwargs, message):
    _raises(lambda: engine.simulate(mesh, model, [_source()], _receivers(), **kwargs), message)


def test_simulate_names_its_wrongly_typed_arguments(mesh, model):
    _raises(lambda: engine.simulate(mesh, model, "source", _receivers(), end_time=0.2),
            "The 'sources' parameter must be an engine.Source or a list of them, but 'source' was given.", TypeError)
    _raises(lambda: engine.simulate(mesh, model, [_source()], [(500.0, 0.0)], end_time=0.2),
            "The 'receivers' parameter must be an engine.Receivers object", TypeError)
    _raises(lambda: engine.simulate(mesh, {"vp": 1.0}, [_source()], _receivers(), end_time=0.2),
            "The 'model' parameter must be an engine.Model", TypeError)
    _raises(lambda: engine.simulate(mesh, model, [_source()], _receivers(), end_time=0.2, progress=True),
            "The 'progress' parameter must be a callable", TypeError)


def test_simulate_takes_sources_from_a_generator(mesh, model):
    sim = engine.simulate(mesh, model, (s for s in [_source()]), _receivers(), end_time=0.05)
    assert len(sim.sources) == 1 and np.all(np.isfinite(sim.seismograms.values))


def test_time_axis_checks_its_arguments():
    from engine.solver import time_axis

    _raises(lambda: time_axis(np.inf, None, 1e-3), "The 'end_time' parameter must be a finite number > 0, but inf")
    _raises(lambda: time_axis(1.0, np.nan, 1e-3), "The 'dt' parameter must be a finite number > 0, but nan")


# ---------------------------------------------------------- source time functions


@pytest.mark.parametrize("bad_stf, message", [
    (lambda t: np.full_like(t, np.nan), "returned NaN or infinite values at 11 of the 11 times of the simulation"),
    (lambda t: np.where(t > 0.05, np.inf, 0.0), "(the first at t = 0.06 s)"),
    (lambda t: 1.0, "must return one value per time, shaped (11,), but it returned shape ()."),
    (lambda t: np.array(["a"] * len(t)), "must return real numbers for an array of times"),
])
def test_a_source_time_function_that_returns_nan_is_refused_naming_the_source(mesh, model, bad_stf, message):
    sources = [_source(name="good"), _source(stf=bad_stf, name="broken")]
    with pytest.raises(ValueError, match=re.escape(message)) as err:
        engine.simulate(mesh, model, sources, _receivers(), end_time=0.1, dt=0.01)
    assert "The source time function of source 1 ('broken')" in str(err.value)


@pytest.mark.parametrize("make, message", [
    (lambda: engine.stf.ricker(np.inf), "The 'center_frequency' parameter must be a finite number > 0, but inf was given."),
    (lambda: engine.stf.ricker(np.nan), "The 'center_frequency' parameter must be a finite number > 0, but nan was given."),
    (lambda: engine.stf.ricker("10"), "The 'center_frequency' parameter must be a finite number > 0, but '10' was given."),
    (lambda: engine.stf.ricker(10.0, delay=np.nan), "The 'delay' parameter must be a finite number, but nan was given."),
    (lambda: engine.stf.gaussian(np.inf), "The 'half_duration' parameter must be a finite number > 0, but inf was given."),
    (lambda: engine.stf.heaviside(1.0, delay=np.inf), "The 'delay' parameter must be a finite number, but inf was given."),
    (lambda: engine.stf.filtered_heaviside(1.0, np.inf), "The 'max_period' parameter must be a finite number > 0, but inf"),
    (lambda: engine.stf.from_dict({"kind": "ricker", "delay": 0.1, "center_frequency": float("nan")}),
     "The 'center_frequency' parameter must be a finite number > 0, but nan was given."),
    (lambda: engine.stf.from_dict({"kind": "ricker", "delay": 0.1, "center_frequency": 1.0, "half_duration": 2.0}),
     "Unknown field(s) ['half_duration'] for a 'ricker' source time function"),
    (lambda: stf_module.SourceTimeFunction("ricker", 0.1), "The 'center_frequency' parameter must be a finite number > 0, but None"),
    (lambda: stf_module.SourceTimeFunction("boxcar", 0.1), "Unknown source time function 'boxcar'"),
])
def test_source_time_functions_refuse_non_finite_parameters(make, message):
    _raises(make, message)


def test_source_time_functions_still_round_trip():
    for wavelet in (engine.stf.ricker(10.0), engine.stf.gaussian(2.0, delay=-1.0), engine.stf.filtered_heaviside(2.0, 5.0)):
        assert engine.stf.from_dict(wavelet.to_dict()) == wavelet


# --------------------------------------------------------------------------- sources


@pytest.mark.parametrize("make, message", [
    (lambda: _source(force=(np.nan, 1.0)), "The 'force' parameter must hold finite numbers, but (nan, 1.0) was given"),
    (lambda: _source(force=(0.0, np.inf)), "The 'force' parameter must hold finite numbers, but (0.0, inf) was given"),
    (lambda: _source(force=np.nan), "The 'force' parameter must hold finite numbers, but nan was given"),
    (lambda: _source(force="up"), "The 'force' parameter must be a sequence of finite numbers, but 'up' was given."),
    (lambda: _source(force=(1.0, 2.0, 3.0)), "The 'force' parameter must have 1 (SH) or 2 (P-SV) components"),
    (lambda: _source(location=(1000.0, np.nan)), "The 'location' parameter must hold finite numbers, but (1000.0, nan)"),
    (lambda: _source(location="here"), "The 'location' parameter must be a sequence of finite numbers, but 'here'"),
    (lambda: _source(location=[[0.0, 1.0], [2.0, 3.0]]), "The 'location' parameter must be one point (x, z)"),
    (lambda: _source(name=3), "The 'name' parameter must be a str, but 3 was given."),
    (lambda: engine.Source.moment_tensor((1000.0, -500.0), [[1.0, 0.0], [0.0, np.nan]], engine.stf.ricker(10.0)),
     "The 'tensor' parameter must hold finite numbers, but [[1.0, 0.0], [0.0, nan]] was given"),
    (lambda: engine.Source.moment_tensor((1000.0, -500.0), "explosion", engine.stf.ricker(10.0)),
     "The 'tensor' parameter must be a sequence of finite numbers, but 'explosion' was given."),
    (lambda: engine.Source.moment_tensor((1000.0, -500.0), np.eye(3), engine.stf.ricker(10.0)),
     "The 'tensor' parameter must be 2 x 2 (P-SV) or have 2 entries"),
    (lambda: engine.Source.pressure((1000.0, np.inf), engine.stf.ricker(10.0)),
     "The 'location' parameter must hold finite numbers, but (1000.0, inf)"),
    (lambda: engine.Source("force", (0.0, 0.0), engine.stf.ricker(1.0), (np.nan,)),
     "The 'force' parameter must hold finite numbers"),
    (lambda: engine.Source("torque", (0.0, 0.0), engine.stf.ricker(1.0)), "Unknown source kind 'torque'"),
])
def test_sources_refuse_non_finite_and_misshapen_inputs(make, message):
    _raises(make, message, TypeError if "must be a str" in message else ValueError)


def test_a_source_with_the_wrong_number_of_coordinates_is_refused_by_name(mesh, model):
    src = _source(location=(1000.0, 0.0, -500.0), name="S3")
    _raises(lambda: engine.simulate(mesh, model, [src], _receivers(), end_time=0.1),
            "The location of source 'S3' needs 2 coordinates ('x', 'z'), but (1000.0, 0.0, -500.0) was given.")


# ------------------------------------------------------------------------- receivers


@pytest.mark.parametrize("kwargs, message", [
    (dict(locations=[(500.0, np.nan)]), "The 'locations' parameter must hold finite numbers, but [(500.0, nan)]"),
    (dict(locations="R0"), "The 'locations' parameter must be a sequence of finite numbers, but 'R0' was given."),
    (dict(locations=np.zeros((2, 2, 2))), "The 'locations' parameter must be a list of points [(x, z), ...]"),
    (dict(locations=[(500.0, 0.0)], names="R0"), "The 'names' parameter must be a list of names, one per location, "
                                                  "such as ['R0'], but the string 'R0' was given."),
    (dict(locations=[(500.0, 0.0)], names=3), "The 'names' parameter must be a list of names, but 3 was given."),
])
def test_receivers_refuse_bad_inputs(kwargs, message):
    _raises(lambda: engine.Receivers(**kwargs), message)


# ---------------------------------------------------------------------------- models


@pytest.mark.parametrize("kwargs, message", [
    (dict(vp="fast", vs=1800.0, rho=2200.0), "The 'vp' parameter must be a number, an array shaped"),
    (dict(vp=3000.0, vs=[1800.0, "slow"], rho=2200.0), "The 'vs' parameter must be a number"),
    (dict(vp=3000.0, vs=1800.0, rho=True), "The 'rho' parameter must be a number"),
    (dict(vp=3000.0, vs=1800.0, rho={"value": 1.0}), "The 'rho' parameter must be a number"),
    (dict(vp=np.inf, vs=1800.0, rho=2200.0), "The 'vp' values must be finite"),
    (dict(vp=lambda x, z: np.ones(7), vs=1800.0, rho=2200.0),
     "The 'vp' callable must return numbers shaped like its coordinate arrays"),
    (dict(vp=lambda x, z: "fast", vs=1800.0, rho=2200.0),
     "The 'vp' callable must return numbers shaped like its coordinate arrays (32, 3, 3), but it returned 'fast'."),
    (dict(vp=3000.0, vs=1800.0, rho=np.ones(7)), "The 'rho' values must be a scalar, an array shaped"),
])
def test_models_refuse_non_numeric_values_naming_the_parameter(mesh, kwargs, message):
    _raises(lambda: engine.Model.isotropic(mesh, **kwargs), message)


def test_models_name_a_dataset_without_the_variable(mesh):
    grid = xr.Dataset({"vs": (("x", "z"), np.ones((2, 2)))}, coords={"x": [-1.0, 2001.0], "z": [-1001.0, 1.0]})
    _raises(lambda: engine.Model(mesh, vp=grid, vs=grid, rho=1.0),
            "The 'vp' parameter is an xarray Dataset without a 'vp' variable; it has ['vs'].")
    _raises(lambda: engine.Model("mesh", vp=1.0), "The 'mesh' parameter must be an engine mesh", TypeError)


# ---------------------------------------------------------------------------- meshes


@pytest.mark.parametrize("kwargs, message", [
    (dict(absorbing="left"), "The 'absorbing' parameter must be a list of sides such as ['left'], "
                             "but the string 'left' was given; pass ['left'] for one."),
    (dict(absorbing=("left", "east")), "Unknown sides ['east'] in 'absorbing'; valid sides are "
                                       "['left', 'right', 'bottom', 'top']."),
    (dict(absorbing=("left", "left")), "The 'absorbing' parameter lists ['left'] more than once"),
    (dict(absorbing=None), "The 'absorbing' parameter must be a list of sides such as ['left'] (or () for none)"),
    (dict(absorbing=[1]), "The 'absorbing' parameter must hold sides (strings)"),
    (dict(x=(0.0, np.inf)), "The 'x' parameter must be a (min, max) pair of finite numbers, but (0.0, inf) was given."),
    (dict(z=(np.nan, 0.0)), "The 'z' parameter must be a (min, max) pair of finite numbers, but (nan, 0.0) was given."),
    (dict(x="05"), "The 'x' parameter must be a (min, max) pair of finite numbers, but '05' was given."),
    (dict(elements=(8, np.nan)), "The 'elements' parameter must be two positive integer counts (nx, nz), but (8, nan)"),
    (dict(elements=(8, 2.5)), "The 'elements' parameter must be two positive integer counts (nx, nz), but (8, 2.5)"),
    (dict(elements="84"), "The 'elements' parameter must be two positive integer counts (nx, nz), but '84' was given."),
    (dict(elements=None, element_size=np.inf), "The 'element_size' parameter must be a finite number > 0, but inf"),
    (dict(elements=None), "Give either 'elements' = (nx, nz) or a positive 'element_size'"),
    (dict(topography=0.0), "The 'topography' parameter must be a callable"),
    (dict(axis_names="xz"), "The 'axis_names' parameter must be two names such as ('x', 'z'), but 'xz' was given."),
])
def test_rectangle_refuses_bad_inputs(kwargs, message):
    args = {**dict(x=X, z=Z, elements=(8, 4), order=2), **kwargs}
    _raises(lambda: engine.mesh.rectangle(**args), message,
            TypeError if "topography" in kwargs else ValueError)


def test_rectangle_accepts_integral_counts_and_lists(mesh):
    other = engine.mesh.rectangle(x=list(X), z=Z, elements=(8.0, np.int64(4)), order=2, absorbing=["left", "bottom"])
    assert other.n_elements == mesh.n_elements and other.absorbing == ("left", "bottom")
    assert engine.mesh.rectangle(x=X, z=Z, elements=(2, 2), order=1, absorbing=()).absorbing == ()


def test_build_mesh_refuses_a_bare_string_of_side_sets(mesh):
    _raises(lambda: engine.mesh.build_mesh(np.array(mesh.coordinates), mesh.gll, dict(mesh.side_sets), absorbing="top"),
            "The 'absorbing' parameter must be a list of side sets such as ['absorbing'], but the string 'top' was given")
    bad = np.array(mesh.coordinates)
    bad[0, 0, 0, 0] = np.nan
    _raises(lambda: engine.mesh.build_mesh(bad, mesh.gll, dict(mesh.side_sets)), "The 'coordinates' must be finite")


def test_operator_checks_the_sponge_width(mesh, model):
    from engine.operator import WaveOperator

    _raises(lambda: WaveOperator(mesh, model, engine.physics.get("elastic"), np.float64, sponge_width=np.inf),
            "The 'sponge_width' parameter must be a finite number > 0, but inf was given.")
