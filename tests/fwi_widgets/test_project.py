"""fwi_widgets.project.Project: registration validated against the project (bad input
refused with the valid choices and nothing written), opening and creating projects, the
write lock across processes, and corrupt files read through the project.

The projects are tiny and built by hand (a 2 km box, one constant model, one event with a
few samples of observed data), so each test builds its own in milliseconds.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import obspy
import pytest
import xarray as xr

from fwi_widgets import namespace as sn
from fwi_widgets.project.lock import ProjectLockedError
from fwi_widgets.project.store import CorruptFileError

REPO = Path(__file__).resolve().parents[2]
BOX = sn.BoxDomain(x_min=0.0, x_max=2000.0, z_min=-1000.0)
MAP = sn.MapViewDomain(center_latitude=49.0, center_longitude=8.0, width_in_meters=4e6, height_in_meters=3e6)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders): 'nothing written' means equal snapshots."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def assert_refused(p: sn.Project, configuration, error: type[Exception], *fragments: str) -> str:
    """``p += configuration`` raises ``error`` whose message holds every fragment, and the project is unchanged."""
    before = snapshot(p.paths.root)
    with pytest.raises(error) as info:
        p += configuration
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"
    after = snapshot(p.paths.root)
    assert after.keys() == before.keys(), f"written: {sorted(after.keys() ^ before.keys())}"
    assert after == before, "a file changed"
    return message


def _stream(station: str = "R0", n: int = 64) -> obspy.Stream:
    trace = obspy.Trace(np.sin(np.linspace(0.0, 6.0, n)))
    trace.stats.network, trace.stats.station, trace.stats.channel, trace.stats.delta = "XX", station, "BXZ", 0.01
    trace.stats.starttime = obspy.UTCDateTime("2020-01-01T00:00:00")  # ev0's origin: add_observed_data checks it
    return obspy.Stream([trace])


def _ipc(**changes) -> sn.InverseProblemConfiguration:
    kwargs = dict(name="inv", events=["ev0"], misfit_configuration="misfit", prior_model="sim",
                  mapping=sn.Mapping(inversion_parameters=["VS"], source_cutout_radius_in_meters=100.0),
                  method=sn.TrustRegion(initial_trust_region_linf=0.02),
                  preconditioner=sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": [0.5, 0.5]},
                                                            reference_velocities={"VS": "VS"}),
                  job_submission=sn.SiteConfig(site_name="inline"))
    kwargs.update(changes)
    return sn.InverseProblemConfiguration(**kwargs)


SIMULATION = dict(name="sim", model="prior", min_period_in_seconds=0.1, max_period_in_seconds=1.0,
                  end_time_in_seconds=1.0, physics="elastic")
MISFIT = dict(name="misfit", simulation_configuration="sim", min_period_in_seconds=0.1, max_period_in_seconds=1.0,
              misfit_function="l2", windows=None)


@pytest.fixture
def box(tmp_path):
    """A complete tiny project in a box: 2 events (observed data for ev0 only), 2 stations,
    models 'prior' (VP, VS, RHO) and 'shear' (VS, RHO), simulation 'sim', misfit 'misfit'."""
    p = sn.Project.from_domain(tmp_path / "box", BOX)
    p += sn.EventCollection(
        events=[sn.Event(name="ev0", origin_time="2020-01-01T00:00:00", position=(1000.0, -500.0)),
                sn.Event(name="ev1", origin_time="2020-01-01T00:10:00", position=(600.0, -400.0))],
        stations=[sn.Station(network="XX", station="R0", position=(500.0, 0.0)),
                  sn.Station(network="XX", station="R1", position=(1500.0, 0.0))])
    p += sn.ConstantModel("prior", {"VP": 3000.0, "VS": 1800.0, "RHO": 2200.0})
    p += sn.ConstantModel("shear", {"VS": 1800.0, "RHO": 2200.0})
    p += sn.SimulationConfiguration(**SIMULATION)
    p += sn.MisfitConfiguration(**MISFIT)
    p.add_observed_data("ev0", _stream())
    yield p
    p.close()


@pytest.fixture
def mapview(tmp_path):
    p = sn.Project.from_domain(tmp_path / "map", MAP)
    p += sn.EventCollection(
        events=[sn.Event(name="crete", origin_time="2015-04-16T18:07:48Z", latitude=35.03, longitude=26.85,
                         depth_in_m=24e3, magnitude=6.15)],
        stations=[sn.Station(network="GE", station="IBBN", latitude=52.31, longitude=7.76)])
    p += sn.ConstantModel("prior", {"VS": 4000.0, "RHO": 3300.0})
    yield p
    p.close()


# --- a complete inverse problem is accepted -------------------------------------------------

def test_valid_inverse_problem_is_written_and_read_back(box):
    p = box
    config = _ipc()
    p += config
    assert p.list_configurations("inverse_problem") == ["inv"]
    assert p.inverse_problem_configuration("inv") == config
    assert p.simulation_configuration("sim") == sn.SimulationConfiguration(**SIMULATION)
    assert p.misfit_configuration("misfit") == sn.MisfitConfiguration(**MISFIT)
    assert p.events.list() == ["ev0", "ev1"]
    assert [s.name for s in p.events.stations()] == ["XX.R0", "XX.R1"]
    assert p.model_dataset("prior") == {"VP": 3000.0, "VS": 1800.0, "RHO": 2200.0}
    np.testing.assert_array_equal(p.observed_data("ev0")[0].data, _stream()[0].data)


# --- bad input: a clear error naming the valid choices, nothing written -----------------------

def test_unknown_event_name(box):
    assert_refused(box, _ipc(events=["ev0", "event_NOWHERE"]), ValueError,
                   "Unknown event(s) ['event_NOWHERE']", "valid names are ['ev0', 'ev1']")


def test_event_without_observed_data(box):
    assert_refused(box, _ipc(events=["ev1"]), ValueError, "'ev1' has no observed data 'observed'",
                   "p.add_observed_data")


def test_unknown_misfit_configuration(box):
    assert_refused(box, _ipc(misfit_configuration="tf_phase"), ValueError,
                   "Unknown misfit configuration 'tf_phase'", "valid names are ['misfit']")


def test_unknown_prior_model(box):
    assert_refused(box, _ipc(prior_model="initial_model"), ValueError,
                   "Unknown simulation configuration 'initial_model'", "valid names are ['sim']")


def test_misfit_of_another_simulation_than_the_prior(box):
    box += sn.SimulationConfiguration(**dict(SIMULATION, name="sim2"))
    assert_refused(box, _ipc(prior_model="sim2"), ValueError, "'misfit' compares synthetics of 'sim'",
                   "prior model is 'sim2'")


def test_inversion_parameter_the_model_does_not_have(box):
    message = assert_refused(box, _ipc(mapping=sn.Mapping(inversion_parameters=["VSH"]),
                                       preconditioner=None), ValueError, "['VSH'] drive no parameter")
    assert "['VP', 'VS', 'RHO']" in message  # what the model has


def test_reference_velocity_the_model_does_not_have(box):
    smoothing = sn.ModelDependentSmoothing(smoothing_lengths_in_wavelengths={"VS": 0.5}, reference_velocities={"VS": "VSV"})
    assert_refused(box, _ipc(preconditioner=smoothing), ValueError, "{'VS': 'VSV'}", "['VP', 'VS', 'RHO']")


def test_unknown_simulation_configuration_of_a_misfit(box):
    assert_refused(box, sn.MisfitConfiguration(**dict(MISFIT, name="m2", simulation_configuration="nope")), ValueError,
                   "Unknown simulation configuration 'nope'", "valid names are ['sim']")


def test_misfit_period_band_the_mesh_cannot_resolve(box):
    message = assert_refused(box, sn.MisfitConfiguration(**dict(MISFIT, name="m2", min_period_in_seconds=0.05)),
                             ValueError, "0.05 s", "'sim' resolves periods down to 0.1 s")
    assert "min_period_in_seconds >= 0.1" in message


def test_unknown_model_of_a_simulation(box):
    assert_refused(box, sn.SimulationConfiguration(**dict(SIMULATION, name="s2", model="true_model")), ValueError,
                   "Unknown model 'true_model'", "valid names are ['prior', 'shear']")


@pytest.mark.parametrize("physics", ["acoustic", "elastic"])
def test_physics_the_model_cannot_drive(box, physics):
    assert_refused(box, sn.SimulationConfiguration(**dict(SIMULATION, name="s2", model="shear", physics=physics)),
                   ValueError, f"The '{physics}' physics needs model parameters", "'shear' has ['VS', 'RHO']")


def test_membrane_physics_needs_a_map_view_domain(box):
    assert_refused(box, sn.SimulationConfiguration(**dict(SIMULATION, name="s2", physics="membrane")), ValueError,
                   "'membrane' physics runs on a map-view domain")


def test_sh_and_membrane_are_accepted_where_they_fit(box, mapview):
    box += sn.SimulationConfiguration(**dict(SIMULATION, name="sh", model="shear", physics="sh"))
    mapview += sn.SimulationConfiguration(name="m", model="prior", min_period_in_seconds=70.0,
                                          max_period_in_seconds=120.0, end_time_in_seconds=1200.0)
    assert box.simulation_configuration("sh").engine_physics == "sh"
    assert mapview.simulation_configuration("m").engine_physics == "sh"


@pytest.mark.parametrize("item", [
    sn.Event(name="deep", origin_time="2020-01-01", position=(1000.0, -1500.0)),
    sn.Event(name="right", origin_time="2020-01-01", position=(2500.0, -500.0)),
    sn.Event(name="air", origin_time="2020-01-01", position=(1000.0, 10.0)),
    sn.Station(network="XX", station="FAR", position=(-1.0, 0.0)),
], ids=["below", "right", "above-surface", "station-left"])
def test_events_and_stations_outside_the_box(box, item):
    is_event = isinstance(item, sn.Event)
    collection = sn.EventCollection(events=[item] if is_event else [],
                                    stations=[sn.Station(network="XX", station="NEW", position=(900.0, 0.0))]
                                    + ([] if is_event else [item]))
    # the valid new station is not written either: the whole collection is refused
    assert_refused(box, collection, ValueError, f"{item.name!r} at", "lies outside the project's domain",
                   "((0.0, 2000.0), (-1000.0, 0.0))")


def test_event_without_position_in_a_box(box):
    assert_refused(box, sn.EventCollection(events=[sn.Event(name="geo", origin_time="2020-01-01", latitude=1.0,
                                                            longitude=1.0)]),
                   ValueError, "'geo' has no 'position' (x, z)")


def test_events_and_stations_outside_the_map(mapview):
    tokyo = sn.Event(name="tokyo", origin_time="2011-03-11T05:46:24Z", latitude=35.7, longitude=139.7)
    assert_refused(mapview, sn.EventCollection(events=[tokyo]), ValueError, "'tokyo' at", "lies outside")
    # the domain is 4000 km wide: 30 degrees of longitude at 49 N (~2200 km east) is outside
    far = sn.Station(network="XX", station="EAST", latitude=49.0, longitude=38.0)
    assert_refused(mapview, sn.EventCollection(stations=[far]), ValueError, "'XX.EAST' at", "lies outside")


def test_event_without_coordinates_in_a_map_view(mapview):
    boxed = sn.Event(name="boxed", origin_time="2020-01-01", position=(0.0, 0.0))
    assert_refused(mapview, sn.EventCollection(events=[boxed]), ValueError, "latitude")


def test_grid_model_with_wrong_dims(box):
    data = xr.Dataset({"VS": (("x", "y"), np.full((3, 3), 1800.0))}, coords={"x": [0.0, 1e3, 2e3], "y": [0.0, 1.0, 2.0]})
    assert_refused(box, sn.GridModel("grid", data), ValueError, "must have dims ['x', 'z']", "['x', 'y']")
    assert_refused(box, sn.GridModel("grid"), ValueError, "needs 'data'")


def test_grid_model_is_stored_and_drives_a_simulation(box):
    data = xr.Dataset({"VS": (("x", "z"), np.full((3, 2), 1800.0)), "RHO": (("x", "z"), np.full((3, 2), 2200.0))},
                      coords={"x": [0.0, 1e3, 2e3], "z": [-1e3, 0.0]})
    box += sn.GridModel("grid", data)
    xr.testing.assert_identical(box.model_dataset("grid"), data)
    box += sn.SimulationConfiguration(**dict(SIMULATION, name="sgrid", model="grid", physics="sh"))
    assert_refused(box, sn.SimulationConfiguration(**dict(SIMULATION, name="sgrid2", model="grid", physics="acoustic")),
                   ValueError, "'grid' has ['VS', 'RHO']")
    # a second grid model under the same name is refused
    assert_refused(box, sn.GridModel("grid", data * 1.01), ValueError, "'grid' already exists")


def test_grid_model_named_like_a_constant_model_writes_nothing(box):
    data = xr.Dataset({"VS": (("x", "z"), np.full((3, 2), 1800.0))}, coords={"x": [0.0, 1e3, 2e3], "z": [-1e3, 0.0]})
    assert_refused(box, sn.GridModel("prior", data), ValueError, "'prior' already exists")


def test_unknown_event_for_observed_data(box):
    before = snapshot(box.paths.root)
    with pytest.raises(ValueError, match=r"Unknown event 'ev9'; valid names are \['ev0', 'ev1'\]"):
        box.add_observed_data("ev9", _stream())
    assert snapshot(box.paths.root) == before
    with pytest.raises(ValueError, match=r"No observed data 'observed' for event 'ev1'"):
        box.observed_data("ev1")


def test_look_ups_of_unknown_names_list_valid_ones(box):
    with pytest.raises(ValueError, match=r"Unknown model 'nope'; valid names are \['prior', 'shear'\]"):
        box.model_configuration("nope")
    with pytest.raises(ValueError, match=r"Unknown inverse problem configuration 'inv'; valid names are \[\]"):
        box.inverse_problem_configuration("inv")
    with pytest.raises(ValueError, match=r"Unknown event 'ev9'"):
        box.events.get("ev9")


def test_only_configurations_can_be_added(box):
    assert_refused(box, {"name": "sim"}, TypeError, "sn.SimulationConfiguration", "not dict")
    assert_refused(box, sn.TrustRegion(), TypeError, "not TrustRegion")


# --- re-adding by name: identical is a no-op, different is refused ----------------------------

RE_ADDED = {
    "model": (lambda: sn.ConstantModel("prior", {"VP": 3000.0, "VS": 1800.0, "RHO": 2200.0}),
              lambda: sn.ConstantModel("prior", {"VP": 3000.0, "VS": 1700.0, "RHO": 2200.0}), "A model configuration"),
    "simulation": (lambda: sn.SimulationConfiguration(**SIMULATION),
                   lambda: sn.SimulationConfiguration(**dict(SIMULATION, end_time_in_seconds=2.0)),
                   "A simulation configuration"),
    "misfit": (lambda: sn.MisfitConfiguration(**MISFIT),
               lambda: sn.MisfitConfiguration(**dict(MISFIT, max_period_in_seconds=2.0)), "A misfit configuration"),
    "inverse_problem": (lambda: _ipc(), lambda: _ipc(method=sn.TrustRegion(initial_trust_region_linf=0.05)),
                        "An inverse problem configuration"),
    "event": (lambda: sn.EventCollection(events=[sn.Event(name="ev0", origin_time="2020-01-01T00:00:00",
                                                           position=(1000.0, -500.0))]),
              lambda: sn.EventCollection(events=[sn.Event(name="ev0", origin_time="2020-01-01T00:00:00",
                                                          position=(1000.0, -400.0))]), "Event 'ev0' already exists"),
    "station": (lambda: sn.EventCollection(stations=[sn.Station(network="XX", station="R0", position=(500.0, 0.0))]),
                lambda: sn.EventCollection(stations=[sn.Station(network="XX", station="R0", position=(400.0, 0.0))]),
                "Station 'XX.R0' already exists"),
}


@pytest.mark.parametrize("same, changed, what", RE_ADDED.values(), ids=RE_ADDED.keys())
def test_re_adding_a_configuration(box, same, changed, what):
    box += _ipc()
    before = snapshot(box.paths.root)
    box += same()  # identical: a no-op, not even a rewrite (no .prev appears)
    assert snapshot(box.paths.root) == before
    assert_refused(box, changed(), ValueError, what)


def test_refused_event_collection_writes_no_station(box):
    collection = sn.EventCollection(
        events=[sn.Event(name="ev0", origin_time="2020-01-01T00:00:05", position=(1000.0, -500.0))],
        stations=[sn.Station(network="XX", station="R2", position=(700.0, 0.0))])
    assert_refused(box, collection, ValueError, "Event 'ev0' already exists")


# --- opening and creating ------------------------------------------------------------------

def test_opening_a_missing_project_is_a_clear_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=r"There is no project at .*nowhere; create one with "
                                                r"sn.Project.from_domain"):
        sn.Project(path=missing)
    assert not missing.exists()  # opening does not create
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"There is no project"):
        sn.Project(path=tmp_path / "empty")
    assert list((tmp_path / "empty").iterdir()) == []


def test_from_domain_twice(tmp_path):
    path = tmp_path / "p"
    p = sn.Project.from_domain(path=path, domain=BOX)
    p += sn.ConstantModel("prior", {"VS": 1.0, "RHO": 1.0})
    before = snapshot(path)
    with pytest.raises(FileExistsError, match=r"A project already exists at .*load_if_exists=True"):
        sn.Project.from_domain(path=path, domain=BOX)
    assert snapshot(path) == before
    again = sn.Project.from_domain(path=path, domain=BOX, load_if_exists=True)  # same process: no lock conflict
    assert again.domain == BOX and again.paths.root == p.paths.root
    assert again.list_configurations("models") == ["prior"]
    assert snapshot(path) == before
    with pytest.raises(ValueError, match=r"has a different domain"):
        sn.Project.from_domain(path=path, domain=sn.BoxDomain(x_min=0.0, x_max=1.0, z_min=-1.0), load_if_exists=True)
    with pytest.raises(TypeError, match=r"sn.MapViewDomain or sn.BoxDomain"):
        sn.Project.from_domain(path=tmp_path / "q", domain={"x_min": 0.0})
    assert not (tmp_path / "q").exists()
    again.close()
    p.close()


def test_opening_again_in_the_same_process_sees_the_same_project(box):
    other = sn.Project(path=box.paths.root)  # a notebook cell run twice
    other += sn.ConstantModel("m2", {"VS": 1.0, "RHO": 1.0})
    assert box.model_dataset("m2") == {"VS": 1.0, "RHO": 1.0}  # the disk is the only truth
    other.close()
    box += sn.ConstantModel("m3", {"VS": 1.0, "RHO": 1.0})  # box still holds the lock
    assert other.list_configurations("models") == ["m2", "m3", "prior", "shear"]


def test_read_only_project_refuses_to_write(box):
    ro = sn.Project.open_read_only(box.paths.root)
    assert ro.simulation_configuration("sim").name == "sim"
    with pytest.raises(PermissionError, match=r"read-only"):
        ro += sn.ConstantModel("m2", {"VS": 1.0, "RHO": 1.0})
    assert "m2" not in box.list_configurations("models")


# --- the write lock across processes ---------------------------------------------------------

# A child process: try to open for writing; then open read-only and read a configuration.
PROBE = """
    import json, os, sys
    from fwi_widgets import namespace as sn
    from fwi_widgets.project.lock import ProjectLockedError
    out = {"pid": os.getpid()}
    try:
        p = sn.Project(path=sys.argv[1])
        p += sn.ConstantModel("from_child", {"VS": 1.0, "RHO": 1.0})
        out["write"] = "ok"
    except ProjectLockedError as error:
        out["write"] = "locked: " + str(error)
    ro = sn.Project.open_read_only(sys.argv[1])
    out["read"] = ro.list_configurations("models")
    print(json.dumps(out))
"""

# A child that holds the project open for writing until its stdin closes.
HOLDER = """
    import os, sys
    from fwi_widgets import namespace as sn
    p = sn.Project(path=sys.argv[1])
    print(os.getpid(), flush=True)
    sys.stdin.read()
"""


def _python(script: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(script)]


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO))


def _probe(root: Path) -> dict:
    out = subprocess.run(_python(PROBE) + [str(root)], env=_env(), cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_second_process_is_refused_until_the_project_is_closed(box):
    root = box.paths.root
    other = sn.Project(path=root)  # two handles in this process: the lock goes with the last close
    result = _probe(root)
    assert result["write"].startswith("locked: ")
    assert f"pid {os.getpid()} on host" in result["write"]
    assert "is open for writing in another process" in result["write"] and str(root) in result["write"]
    assert result["read"] == ["prior", "shear"]  # read-only open works while locked; the child wrote nothing
    box.close()
    assert _probe(root)["write"].startswith("locked: ")  # 'other' still holds it
    other.close()
    result = _probe(root)
    assert result["write"] == "ok"
    assert result["read"] == ["from_child", "prior", "shear"]
    # the child has exited (and so released the lock): this process may write again
    again = sn.Project(path=root)
    again += sn.ConstantModel("after", {"VS": 1.0, "RHO": 1.0})
    again.close()


def test_project_held_by_another_process(box):
    root = box.paths.root
    box.close()
    holder = subprocess.Popen(_python(HOLDER) + [str(root)], env=_env(), cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        pid = int(holder.stdout.readline())
        assert pid == holder.pid
        with pytest.raises(ProjectLockedError) as error:
            sn.Project(path=root)
        assert error.value.pid == pid and f"(pid {pid} on host" in str(error.value)
        assert "Close it there" in str(error.value)
        before = snapshot(root)
        with pytest.raises(ProjectLockedError):
            sn.Project.from_domain(path=root, domain=BOX, load_if_exists=True)
        assert snapshot(root) == before
        ro = sn.Project.open_read_only(root)  # reading needs no lock
        assert ro.simulation_configuration("sim").name == "sim"
        holder.stdin.close()  # let it finish: the operating system drops its lock
        assert holder.wait(timeout=60) == 0, holder.stderr.read()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    p = sn.Project(path=root)
    p += sn.ConstantModel("after", {"VS": 1.0, "RHO": 1.0})
    p.close()


# --- corrupt files --------------------------------------------------------------------------

def _truncate(path: Path) -> bytes:
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])
    return good


def test_truncated_configuration_is_detected_by_name(box):
    path = box.paths.configuration("simulation", "sim")
    _truncate(path)
    with pytest.raises(CorruptFileError) as error:
        box.simulation_configuration("sim")
    assert error.value.path == path and error.value.problem == "truncated"
    assert f"The file {path} is corrupt (truncated)" in str(error.value)
    # and says what to do (test_damaged_files.py follows such advice for every kind of file)
    assert "Add it again: p += sn.SimulationConfiguration(name='sim', ...)" in str(error.value)
    assert box.list_configurations("simulation") == ["sim"]  # still listed: it is damaged, not gone
    # what depends on it is refused with the same clear error, and nothing is written or overwritten
    assert_refused(box, sn.MisfitConfiguration(**dict(MISFIT, name="m2")), CorruptFileError, str(path), "truncated")
    box += sn.SimulationConfiguration(**SIMULATION)  # the advice: added again, it replaces the damaged file
    assert box.simulation_configuration("sim") == sn.SimulationConfiguration(**SIMULATION)


def test_value_changed_by_hand_is_a_checksum_mismatch(box):
    path = box.paths.configuration("events", "ev0")
    path.write_text(path.read_text().replace("2020-01-01T00:00:00", "2020-01-01T00:00:01"))
    with pytest.raises(CorruptFileError, match=r"ev0\.json is corrupt \(checksum mismatch\)"):
        box.events.get("ev0")


def test_corrupt_observed_data_is_detected(box):
    path = box.paths.observed("observed", "ev0")
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptFileError, match=r"ev0\.mseed is corrupt \(checksum mismatch\)"):
        box.observed_data("ev0")


def test_truncated_project_file_is_detected_on_open(box):
    box.close()
    _truncate(box.paths.project_file)
    # Its first version is kept as project.json.prev, which an open falls back to
    # (test_damaged_files.py); here that copy is damaged too.
    _truncate(box.paths.project_file.with_name("project.json.prev"))
    with pytest.raises(CorruptFileError, match=r"project\.json is corrupt \(truncated\)"):
        sn.Project(path=box.paths.root)
    with pytest.raises(CorruptFileError, match=r"project\.json is corrupt"):
        sn.Project.open_read_only(box.paths.root)


def test_failed_open_releases_the_lock(box):
    box.close()
    good = _truncate(box.paths.project_file)
    _truncate(box.paths.project_file.with_name("project.json.prev"))  # (else an open falls back to it)
    with pytest.raises(CorruptFileError) as error:
        sn.Project(path=box.paths.root)
    box.paths.project_file.write_bytes(good)
    assert error.value is not None  # the traceback lives on, as it does in a notebook
    assert _probe(box.paths.root)["write"] == "ok"
