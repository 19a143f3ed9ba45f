"""InversionState: transitions through an inline iteration, rebuild from disk, background
iterate from another thread, errors, validation and the import layering."""
import subprocess
import sys
import threading
import time

import pytest
import traitlets

from fwi_widgets import namespace as sn
from fwi_widgets.execution import JobStatus, get_site
from fwi_widgets.state import InversionState

from ._part4 import PROBLEM, SELECTED_EVENTS

# Traits derived from disk (busy, error and the selection are per-session, not on disk).
DERIVED = ("iterations", "current_iteration", "stage", "tasks", "misfit_history", "station_misfits", "tr_radius",
           "pred", "ared", "accepted", "log")


def _is_subsequence(wanted, seen):
    it = iter(seen)
    return all(any(s == w for s in it) for w in wanted)


def test_state_follows_an_inline_iteration_and_rebuilds_from_disk(project):
    state = InversionState(project, PROBLEM)
    assert (state.current_iteration, state.stage, state.iterations, state.tasks) == (None, "", (), ())
    stages, numbers, progress = [], [], []
    state.observe(lambda c: stages.append(c["new"]), names="stage")
    state.observe(lambda c: numbers.append(c["new"]), names="current_iteration")
    state.observe(lambda c: progress.append([(t["name"], t["n_done"]) for t in c["new"]]), names="tasks")

    steps = 0
    while not state.resume():  # the first resume adds iteration #0
        steps += 1
        assert steps < 10, "the iteration did not complete in 10 resume steps"
    assert _is_subsequence(["misfit_and_gradient", "preconditioner", "misfit", "initialize"], stages), stages
    assert numbers == [0, 1]
    # The table moved job by job (done callbacks), not only once per resume step.
    assert [("misfit_and_gradient", 1)] in progress and [("misfit_and_gradient", 2)] in progress

    record = project.inversions.get_iteration(PROBLEM, 0).record
    trial = record["results"]["trials"][-1]
    it0 = state.iterations[0]
    assert it0["stage"] == "completed" and it0["chi"] == record["results"]["chi"] and it0["accepted"] is True
    assert it0["misfits"] == record["results"]["misfits"]
    assert (state.pred, state.ared, state.accepted) == (trial["pred"], trial["ared"], True)
    assert state.tr_radius == project.inversions.get_iteration(PROBLEM, 1).record["trust_region"]["radius"]
    assert [(h["iteration"], h["trial"], h["chi"]) for h in state.misfit_history] == [
        (0, None, record["results"]["chi"]), (0, 0, trial["chi"])]
    assert "Successfully completed iteration #0." in state.log and "Model update accepted." in state.log
    assert state.station_misfits and all(first >= 0 and latest >= 0 for first, latest in state.station_misfits.values())
    assert not state.busy and state.error == ""

    # A kernel restart: a new project object and a new state show exactly the same.
    again = InversionState(sn.Project(path=project.paths.root), PROBLEM)
    for name in DERIVED:
        assert getattr(again, name) == getattr(state, name), name


def test_background_iterate_updates_the_state_from_another_thread(project):
    state = InversionState(project, PROBLEM)
    threads = set()
    state.observe(lambda c: threads.add(threading.get_ident()), names=["stage", "tasks", "misfit_history"])
    worker = state.iterate_in_background(timeout_in_seconds=120, ping_interval_in_seconds=0.05)
    assert state.busy  # set before the call returns, so buttons disable at once
    with pytest.raises(RuntimeError, match="busy"):
        state.resume()
    assert state.wait(timeout=120), "the background iterate did not finish within 120 s"
    assert worker is not threading.current_thread() and not worker.is_alive()
    assert not state.busy and state.error == ""
    assert state.current_iteration == 1 and state.iterations[0]["accepted"] is True
    assert threads and threading.get_ident() not in threads  # every update came from the worker


def test_errors_land_in_error_and_clear_busy(project, monkeypatch):
    state = InversionState(project, PROBLEM)

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(project.inversions, "iterate", broken)
    state.iterate_in_background(timeout_in_seconds=5)
    assert state.wait(timeout=30)
    assert "OSError: disk on fire" in state.error and not state.busy
    monkeypatch.setattr(project.inversions, "resume", broken)
    with pytest.raises(OSError):
        state.resume()
    assert state.error.startswith("OSError: disk on fire") and not state.busy


def test_bad_input_is_refused_with_the_valid_choices(project):
    with pytest.raises(ValueError, match="valid names are"):
        InversionState(project, "no_such_problem")
    state = InversionState(project, PROBLEM)
    with pytest.raises(ValueError, match="'timeout_in_seconds' parameter must be positive, but -1 was given"):
        state.iterate_in_background(timeout_in_seconds=-1)
    assert not state.busy
    station = project.events.stations()[0].name
    state.selected_station = station
    assert state.selected_station == station
    with pytest.raises(traitlets.TraitError, match="valid names are"):
        state.selected_station = "XX.NOPE"
    assert all(trait.help for trait in state.traits().values()), "every trait needs help="


def test_state_imports_neither_views_nor_widgets():
    code = ("import sys, fwi_widgets.state;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('ipywidgets', 'bqplot', 'ipyleaflet', 'engine')"
            " or m.startswith('fwi_widgets.views')];"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"fwi_widgets.state pulled in: {out.stdout.strip()}"


def test_a_job_finishing_during_a_refresh_never_shows_the_previous_iterations_tasks(project, monkeypatch):
    """A site may notice a finished job inside ``info()`` and call the done callbacks in the
    asking thread (the Dask site collects futures there), so a refresh can be asked for in
    the middle of a refresh. Meanwhile another thread completes the iteration and adds the
    next one. The nested refresh used to publish iteration #1, and the outer one then
    overwrote the tasks with iteration #0's: the table showed #1 with #0's tasks."""
    state = InversionState(project, PROBLEM)
    while state.stage != "misfit":
        state.resume()  # inline: the trial misfit jobs have run, their results are not collected
    site = get_site("inline")
    record = project.inversions.get_iteration(PROBLEM, 0).record
    job = record["tasks"]["misfit_0"]["jobs"][SELECTED_EVENTS[0]]
    # As on a cluster: the job is still running as far as the site knows, its result not yet in place.
    site._records[job["job_id"]].status = JobStatus.RUNNING
    result = project.paths.job_result(PROBLEM, 0, job["folder"])
    parked = result.with_name("parked.json")
    result.rename(parked)

    shown = []
    state.observe(lambda c: shown.append((state.current_iteration, tuple(t["name"] for t in state.tasks))),
                  names=["current_iteration", "tasks"])
    finisher = threading.Thread(target=project.inversions.resume, args=(PROBLEM,))
    original_info, asked = site.info, []

    def collecting_info(job_id):
        if threading.current_thread() is threading.main_thread() and job_id == job["job_id"] and not asked:
            asked.append(job_id)
            parked.rename(result)  # the job has finished
            finisher.start()  # another thread collects the trials, accepts, adds iteration #1
            deadline = time.monotonic() + 120
            while not project.paths.record(PROBLEM, 1).exists():
                assert time.monotonic() < deadline, "iteration #1 was not added within 120 s"
                time.sleep(0.01)
            site._finish(job_id, JobStatus.DONE, {}, None)  # done callbacks, in this (refreshing) thread
        return original_info(job_id)

    monkeypatch.setattr(site, "info", collecting_info)
    state.refresh()
    finisher.join(timeout=120)
    assert asked and not finisher.is_alive()
    assert shown, "nothing was published"
    for number, tasks in shown:
        if number == 1:
            assert tasks == (), f"iteration #1 shown with tasks {tasks}: {shown}"
    assert [number for number, _ in shown] == sorted(number for number, _ in shown), shown  # never back to #0
    assert state.current_iteration == 1 and state.tasks == () and state.stage == "initialize"
