"""Damaged files of a project: every kind, what a user is told, and that the advice works.

One test (or more) per kind of file the project stores (see ``fwi_widgets.project.paths``):
it damages the file (bytes flipped, or cut short), triggers the read that finds it
(opening the project, resuming the iteration, a look-up), reads the message, follows its
advice literally (the call it names is run as written), and checks that afterwards the
inversion gives the same misfits and model as an undamaged run. Where the workflow repairs
a file itself (a damaged job output: the job is lost and runs again; a damaged record
array: its identical copy; a damaged model file: written again from the record), the test
checks the log line that says so and the same result.

Timings on 2 cores: about 2-4 s per test (one iteration of the small workshop, inline).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.project import store
from fwi_widgets.project.store import CorruptFileError

from ._part4 import PROBLEM, SELECTED_EVENTS, add_problem

EVENT = SELECTED_EVENTS[1]


# --- helpers ---------------------------------------------------------------------------------

def flip(path: Path) -> None:
    """Flip one byte in the middle of the file (damage on disk)."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    """Cut the file short (a failing disk, a copy that stopped)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def open_project(path) -> "sn.Project":
    p = sn.Project(path=path)
    add_problem(p, site="inline")
    return p


def finish(p) -> tuple:
    """Run iteration #0 to its end; the misfits, trials and next model that define its result."""
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.01)
    it0 = p.inversions.get_iteration(PROBLEM, 0)
    it1 = p.inversions.get_iteration(PROBLEM, 1)
    return (it0.record["results"]["misfits"], [t["chi"] for t in it0.record["results"]["trials"]],
            it1.record["x"])


def first_misfits(p) -> dict:
    """Resume iteration #0 until its misfits at the current model are known (half an iteration)."""
    for _ in range(10):
        record = p.inversions.get_iteration(PROBLEM, 0).record
        if "misfits" in record["results"]:
            return record["results"]["misfits"]
        resume(p)
    raise AssertionError(log_of(p))


def assert_same(result, reference) -> None:
    misfits, trials, x = result
    ref_misfits, ref_trials, ref_x = reference
    assert misfits == ref_misfits
    assert trials == ref_trials
    np.testing.assert_array_equal(x, ref_x)


def iteration_dir(path, number=0) -> Path:
    return Path(path) / "inversions" / PROBLEM / f"{number:04d}"


def log_of(p, number=0) -> str:
    return "\n".join(p.inversions.get_iteration(PROBLEM, number).record["log"])


def follow_example_advice(message: str) -> None:
    """Do what a message for an example project says: delete the files it names, run the call."""
    match = re.search(r"delete (.+?), then run (sn\.examples\.\w+\(.*?\));", message)
    assert match, message
    for name in match.group(1).split(" and "):
        Path(name).unlink()
    eval(match.group(2), {"sn": sn}).close()


def follow_recover_advice(message: str) -> None:
    match = re.search(r"fwi_widgets\.project\.store\.recover\('([^']+)'\)", message)
    assert match, message
    assert store.recover(match.group(1))


def as_user_project(path) -> None:
    """Make the workshop copy a user's own project: no record of the example build."""
    meta = store.read_json(Path(path) / "project.json")
    meta.pop("example_build")
    store.write_json(Path(path) / "project.json", meta)


@pytest.fixture(scope="module")
def reference(workshop_template, tmp_path_factory):
    """Iteration #0 of an undamaged copy."""
    path = tmp_path_factory.mktemp("undamaged") / "workshop"
    shutil.copytree(workshop_template, path, ignore=shutil.ignore_patterns(".lock"))
    p = open_project(path)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    try:
        return finish(p)
    finally:
        p.close()


@pytest.fixture
def p(workshop_copy):
    project = open_project(workshop_copy)
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    yield project
    project.close()


def resume(p) -> bool:
    return p.inversions.resume(inverse_problem_configuration=PROBLEM)


# --- job outputs: the job is lost and runs again ------------------------------------------------

@pytest.mark.parametrize(("name", "damage"), [("gradient.nc", flip), ("result.json", truncate)])
def test_damaged_job_output_makes_the_job_run_again(p, reference, name, damage):
    resume(p)  # submits the misfit-and-gradient jobs (inline: they have run)
    folder = iteration_dir(p.paths.root) / "jobs" / f"misfit_and_gradient_0_{EVENT}"
    damage(folder / name)
    resume(p)  # collects them: the damaged job is lost, and submitted again
    line = [l for l in log_of(p).splitlines() if "damaged output" in l]
    assert len(line) == 1 and str(folder / name) in line[0] and "runs again" in line[0], log_of(p)
    store.verify(folder / name)  # written again
    job = p.inversions.get_iteration(PROBLEM, 0).record["tasks"]["misfit_and_gradient"]["jobs"][EVENT]
    assert job["attempts"] == 2 and job["status"] in ("submitted", "done")
    assert_same(finish(p), reference)


def test_damaged_preconditioner_output_makes_it_run_again(p, reference, monkeypatch):
    # Damage the trial model the moment the preconditioner job has written its result.
    from fwi_widgets.workflow import jobs

    original, calls = jobs.update_job, []

    def damaging(root, spec):
        result = original(root, spec)
        if not calls:
            flip(iteration_dir(root) / "proposal_0.json")
        calls.append(spec)
        return result

    monkeypatch.setattr("fwi_widgets.workflow.iteration.update_job", damaging)
    resume(p)
    resume(p)
    assert "The preconditioner job has damaged output(s)" in log_of(p)
    assert len(calls) == 2
    assert_same(finish(p), reference)


# --- model files of an iteration: written again from the record ---------------------------------

def test_damaged_model_file_is_written_again_before_jobs_read_it(p, reference):
    model = iteration_dir(p.paths.root) / "model.nc"
    flip(model)
    it = p.inversions.get_iteration(PROBLEM, 0)
    assert it.model()["vs"].shape  # a view still gets the model (from the record)
    resume(p)
    assert f"The model file {model} was damaged" in log_of(p)
    store.verify(model)
    assert first_misfits(p) == reference[0]


def test_damaged_trial_model_is_written_again(p, reference):
    resume(p)
    resume(p)  # the preconditioner has run: trial_0.nc exists, the misfit jobs are submitted
    trial = iteration_dir(p.paths.root) / "trial_0.nc"
    truncate(trial)
    resume(p)
    assert f"The model file {trial} was damaged" in log_of(p)
    store.verify(trial)
    assert_same(finish(p), reference)


# --- iteration records ---------------------------------------------------------------------------

def test_damaged_record_array_is_read_from_its_copy_and_put_back(p, reference, capsys):
    resume(p)
    resume(p)
    folder = iteration_dir(p.paths.root)
    for pattern in ("record.x.*.npy", "record.g.*.npy"):
        (array,) = folder.glob(pattern)
        flip(array)
    resume(p)
    out = capsys.readouterr().out
    assert "The record array" in out and "was put back in its place" in out
    for pattern in ("record.x.*.npy", "record.g.*.npy"):
        (array,) = folder.glob(pattern)
        store.verify(array)
    assert_same(finish(p), reference)


def test_damaged_record_of_a_new_iteration_has_a_version_to_restore(p, reference):
    # Just added, so written once: its first version is kept too.
    record = iteration_dir(p.paths.root) / "record.json"
    truncate(record)
    with pytest.raises(CorruptFileError) as info:
        resume(p)
    assert str(record) in str(info.value)
    follow_recover_advice(str(info.value))
    assert first_misfits(p) == reference[0]


def test_damaged_proposal_has_a_version_to_restore(p, reference):
    resume(p)
    resume(p)
    proposal = iteration_dir(p.paths.root) / "proposal_0.json"
    flip(proposal)
    with pytest.raises(CorruptFileError) as info:
        resume(p)
    assert str(proposal) in str(info.value)
    follow_recover_advice(str(info.value))
    assert_same(finish(p), reference)


# --- the project file -----------------------------------------------------------------------------

def test_damaged_project_file_is_read_from_its_first_version(workshop_copy):
    path = Path(workshop_copy) / "project.json"
    flip(path)
    with pytest.warns(store.CorruptFileWarning):
        p = sn.Project(path=workshop_copy)
    p.close()
    store.verify(path)  # put back


def test_project_file_without_an_intact_version_is_written_again(workshop_copy, reference):
    p = sn.Project(path=workshop_copy)
    domain = p.domain  # what its creator knows
    p.close()
    path = Path(workshop_copy) / "project.json"
    for damaged in (path, path.with_name("project.json.prev")):
        truncate(damaged)
    with pytest.raises(CorruptFileError) as info:
        sn.Project(path=workshop_copy)
    message = str(info.value)
    assert str(path) in message
    match = re.search(r"Delete (\S+) and write it again with sn\.Project\.from_domain\(path=('[^']+'), domain=\.\.\.\)",
                      message)
    assert match, message
    Path(match.group(1)).unlink()
    p = sn.Project.from_domain(path=eval(match.group(2)), domain=domain)
    add_problem(p, site="inline")
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert first_misfits(p) == reference[0]
    p.close()


# --- configurations, events, stations, models, observed data --------------------------------------

def test_damaged_inverse_problem_configuration_is_added_again(p, reference):
    path = p.paths.configuration("inverse_problem", PROBLEM)
    flip(path)
    with pytest.raises(CorruptFileError) as info:
        resume(p)
    message = str(info.value)
    assert str(path) in message and f"p += sn.InverseProblemConfiguration(name={PROBLEM!r}, ...)" in message
    add_problem(p, site="inline")  # the notebook cell that first added it
    assert first_misfits(p) == reference[0]


@pytest.mark.parametrize("kind", ["events", "simulation"])
def test_damaged_file_of_an_example_is_built_again_by_the_example(p, reference, kind):
    name = {"events": EVENT, "simulation": "initial_model_70_120_seconds"}[kind]
    path = p.paths.configuration(kind, name)
    truncate(path)
    with pytest.raises(CorruptFileError) as info:
        resume(p)
    message = str(info.value)
    assert str(path) in message and "sn.examples.workshop_2d(" in message
    follow_example_advice(message)
    assert first_misfits(p) == reference[0]


def test_damaged_observed_data_of_an_example_are_built_again(p, reference):
    path = p.paths.observed("observed", EVENT)
    flip(path)
    assert not resume(p) and not resume(p)
    log = log_of(p)
    assert f"Job for event {EVENT} failed" in log and str(path) in log, log
    message = [line for line in log.splitlines() if f"Job for event {EVENT} failed" in line][-1]
    follow_example_advice(message)
    # ... and then, as the next log line says, retry the failed jobs.
    assert "retry_failed=True" in log
    p.inversions.resume(inverse_problem_configuration=PROBLEM, retry_failed=True)
    assert first_misfits(p) == reference[0]


def test_damaged_observed_data_of_a_user_project_are_added_again(workshop_copy, reference):
    as_user_project(workshop_copy)
    p = open_project(workshop_copy)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    stream = p.observed_data(EVENT)  # the user's own data, wherever they came from
    path = p.paths.observed("observed", EVENT)
    truncate(path)
    with pytest.raises(CorruptFileError) as info:
        p.observed_data(EVENT)
    message = str(info.value)
    assert str(path) in message and "sn.examples" not in message
    assert f"p.add_observed_data({EVENT!r}, stream, data_name='observed')" in message
    p.add_observed_data(EVENT, stream, data_name="observed")
    assert first_misfits(p) == reference[0]
    p.close()


def test_damaged_station_of_a_user_project_is_added_again(workshop_copy, reference):
    from fwi_widgets.examples import workshop

    as_user_project(workshop_copy)
    p = open_project(workshop_copy)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    events, stations = workshop._events(SELECTED_EVENTS), workshop._stations(p.domain, margin=900e3, limit=24)
    path = p.paths.configuration("stations", stations[3].name)
    flip(path)
    with pytest.raises(CorruptFileError) as info:
        resume(p)
    message = str(info.value)
    assert str(path) in message and "p += sn.EventCollection(" in message
    p += sn.EventCollection(events=events, stations=stations)  # the cell that first added them
    assert first_misfits(p) == reference[0]
    p.close()


def test_damaged_grid_model_is_added_again(workshop_copy):
    from fwi_widgets.examples import workshop

    p = sn.Project(path=workshop_copy)
    original = p.model_dataset("true_model")
    path = p.paths.grid_model("true_model")
    flip(path)
    with pytest.raises(CorruptFileError) as info:
        p.model_dataset("true_model")
    message = str(info.value)
    assert str(path) in message
    p.close()
    follow_example_advice(message)
    p = sn.Project(path=workshop_copy)
    assert p.model_dataset("true_model").identical(original)
    # A user's own grid model: added again, it replaces the damaged file.
    as_user_project(workshop_copy)
    truncate(path)
    with pytest.raises(CorruptFileError, match=r"p \+= sn\.ConstantModel\(name='true_model', \.\.\.\) or "
                                               r"sn\.GridModel\(name='true_model', data=\.\.\.\)"):
        p.model_dataset("true_model")
    p += sn.GridModel(name="true_model", data=workshop.true_model(p.domain))
    assert p.model_dataset("true_model").identical(original)
    p.close()
