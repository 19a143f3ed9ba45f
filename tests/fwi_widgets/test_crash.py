"""Crash tests: a process SIGKILLed during a job, during a file write, between stages, or
while finishing the iteration (adding #1, marking #0 completed); then ``resume`` from a
new process finishes the iteration with the same result as an uninterrupted run, no job
completes twice, and nothing is added twice. A corrupt file is detected clearly and the
previous good state is kept.

The kills come from the test-only fault hook ``FWI_WIDGETS_FAULT`` (see
:mod:`fwi_widgets.project.store`). Timings on 2 cores shared with other work: 6-10 s
per crash case (two child processes, each loading the Numba cache), 6-11 s for the
uninterrupted reference (with the shared workshop project, when built here).
"""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.project import store
from fwi_widgets.project.store import CorruptFileError

from ._part4 import PROBLEM, add_problem

ROOT = Path(__file__).resolve().parents[2]


def _prepare(path) -> None:
    p = sn.Project(path=path)
    add_problem(p, site="inline")
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    p.close()


def _child(path, mode, fault=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("FWI_WIDGETS_FAULT", None)
    if fault:
        env["FWI_WIDGETS_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "tests.fwi_widgets._crash_child", str(path), mode], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def _final_state(path):
    p = sn.Project.open_read_only(path)
    it1 = p.inversions.get_iteration(PROBLEM, 1)
    it0 = p.inversions.get_iteration(PROBLEM, 0)
    completions = {d.name: len((d / "completions.log").read_text().splitlines())
                   for d in (Path(path) / "inversions" / PROBLEM / "0000" / "jobs").iterdir()
                   if (d / "completions.log").exists()}
    finished = {
        "iterations": p.inversions.iterations(PROBLEM), "stages": (it0.stage, it1.stage),
        # Each line once: a resumed finalize neither loses nor repeats them.
        "lines": [it0.record["log"].count(line) for line in ("Successfully completed iteration #0.", "Adding new iteration #1.")],
        "previous": {k: v for k, v in it1.record["previous"].items() if k not in ("step", "g")},
        "radius": it1.record["trust_region"]["radius"],
    }
    return it1.record["x"], it0.record["results"]["chi"], it0.record["results"]["trials"], completions, finished


@pytest.fixture(scope="module")
def reference(workshop_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("reference") / "workshop"
    shutil.copytree(workshop_template, path, ignore=shutil.ignore_patterns(".lock"))
    _prepare(path)
    result = _child(path, "iterate")
    assert result.returncode == 0, result.stderr[-2000:]
    return _final_state(path)


@pytest.mark.parametrize(
    "mode, fault, next_added",
    [("iterate", "kill-during-write:gradient.nc", False),     # inside a job, half-way through writing its gradient
     ("iterate", "kill-during-write:record.json", False),     # half-way through writing the iteration record
     ("steps", None, False),                                  # between stages, with the misfit jobs collected
     # While finishing #0, after it was marked as finalizing with #1 as the next iteration:
     ("iterate", "kill-during-write:0001/model.nc", False),   # half-way through writing #1's model
     ("iterate", "kill-after-write:0001/record.x.", False),   # #1's x array in place, its checksum not
     ("iterate", "kill-after-write:0001/record.json", True)],  # #1 made, #0 not yet marked completed
    ids=["during-job-write", "during-record-write", "between-stages", "finalize-during-model-write",
         "finalize-before-array-checksum", "finalize-after-next-added"],
)
def test_killed_process_resumes_to_the_same_result(workshop_copy, reference, mode, fault, next_added):
    _prepare(workshop_copy)
    crashed = _child(workshop_copy, mode, fault)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    folder = Path(workshop_copy) / "inversions" / PROBLEM
    if fault and "0001/" in fault:  # killed in the window the fault aims at
        record0 = store.read_json(folder / "0000" / "record.json")
        assert record0["stage"] == "finalize" and record0["next"] == 1
        assert (folder / "0001" / "record.json").exists() is next_added
    else:
        assert not (folder / "0001").exists()
    resumed = _child(workshop_copy, "iterate")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    x, chi, trials, completions, finished = _final_state(workshop_copy)
    ref_x, ref_chi, ref_trials, ref_completions, ref_finished = reference
    np.testing.assert_array_equal(x, ref_x)
    assert chi == ref_chi and [t["chi"] for t in trials] == [t["chi"] for t in ref_trials]
    assert set(completions) == set(ref_completions)
    assert all(n == 1 for n in completions.values()), completions  # no job completed twice
    # #0 completed, #1 made once and not started: as if nothing had happened.
    assert finished == ref_finished
    assert finished["iterations"] == [0, 1] and finished["stages"] == ("completed", "initialize")
    assert finished["lines"] == [1, 1]


def test_corrupt_record_is_detected_and_the_previous_state_kept(workshop_copy):
    _prepare(workshop_copy)
    p = sn.Project(path=workshop_copy)
    p.inversions.resume(inverse_problem_configuration=PROBLEM)
    record = Path(workshop_copy) / "inversions" / PROBLEM / "0000" / "record.json"
    good = record.read_bytes()
    record.write_bytes(good[: len(good) // 2])  # truncated by a failing disk, say
    with pytest.raises(CorruptFileError, match="record.json"):
        p.inversions.resume(inverse_problem_configuration=PROBLEM)
    assert store.recover(record)
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05)
    assert p.inversions.get_iteration(PROBLEM, 1).stage == "initialize"
