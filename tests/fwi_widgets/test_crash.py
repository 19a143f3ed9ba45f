"""Crash tests: a process SIGKILLed during a job, during a file write, or between stages;
then ``resume`` from a new process finishes the iteration with the same result as an
uninterrupted run, and no job completes twice. A corrupt file is detected clearly and the
previous good state is kept."""
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
        env["FWI_WIDGETS_FAULT"] = f"kill-during-write:{fault}"
    return subprocess.run([sys.executable, "-m", "tests.fwi_widgets._crash_child", str(path), mode], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)


def _final_state(path):
    p = sn.Project.open_read_only(path)
    it1 = p.inversions.get_iteration(PROBLEM, 1)
    it0 = p.inversions.get_iteration(PROBLEM, 0)
    completions = {d.name: len((d / "completions.log").read_text().splitlines())
                   for d in (Path(path) / "inversions" / PROBLEM / "0000" / "jobs").iterdir()
                   if (d / "completions.log").exists()}
    return it1.record["x"], it0.record["results"]["chi"], it0.record["results"]["trials"], completions


@pytest.fixture(scope="module")
def reference(workshop_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("reference") / "workshop"
    shutil.copytree(workshop_template, path, ignore=shutil.ignore_patterns(".lock"))
    _prepare(path)
    result = _child(path, "iterate")
    assert result.returncode == 0, result.stderr[-2000:]
    return _final_state(path)


@pytest.mark.parametrize(
    "mode, fault",
    [("iterate", "gradient.nc"),   # killed inside a job, half-way through writing its gradient
     ("iterate", "record.json"),   # killed half-way through writing the iteration record
     ("steps", None)],             # killed between stages, with the misfit jobs collected
    ids=["during-job-write", "during-record-write", "between-stages"],
)
def test_killed_process_resumes_to_the_same_result(workshop_copy, reference, mode, fault):
    _prepare(workshop_copy)
    crashed = _child(workshop_copy, mode, fault)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
    assert not (Path(workshop_copy) / "inversions" / PROBLEM / "0001").exists()
    resumed = _child(workshop_copy, "iterate")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    x, chi, trials, completions = _final_state(workshop_copy)
    ref_x, ref_chi, ref_trials, ref_completions = reference
    np.testing.assert_array_equal(x, ref_x)
    assert chi == ref_chi and [t["chi"] for t in trials] == [t["chi"] for t in ref_trials]
    assert set(completions) == set(ref_completions)
    assert all(n == 1 for n in completions.values()), completions  # no job completed twice


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
