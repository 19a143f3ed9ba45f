"""A project opened read-only writes nothing: the workflow's writing entry points raise
``PermissionError`` (saying how to open it for writing) and leave every file as it was,
while another handle holds the write lock; reading the records (the workflow's queries,
the state the views observe) keeps working read-only."""
import hashlib
from pathlib import Path

import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.state import InversionState

from ._part4 import PROBLEM, SELECTED_EVENTS


def snapshot(root: Path) -> dict:
    """Every file under ``root``: its modification time and the hash of its content."""
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file()}


WRITES = {
    "add_iteration": lambda ro: ro.inversions.add_iteration(inverse_problem_configuration=PROBLEM),
    "resume": lambda ro: ro.inversions.resume(inverse_problem_configuration=PROBLEM),
    "iterate": lambda ro: ro.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.01,
                                                progress=False),
}


@pytest.mark.parametrize("call", sorted(WRITES))
def test_read_only_workflow_calls_write_nothing(project, call):
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)  # the writer holds the lock
    root = project.paths.root
    ro = sn.Project(path=root, read_only=True)
    before = snapshot(root)
    with pytest.raises(PermissionError) as error:
        WRITES[call](ro)
    message = str(error.value)
    assert "opened read-only" in message and f"sn.Project(path='{root}')" in message
    assert "another process holds the project open for writing" in message
    assert snapshot(root) == before
    # The writer is not disturbed: its iteration is where it was, and it can go on.
    assert project.inversions.get_iteration(PROBLEM).stage == "initialize"


def test_add_iteration_of_a_read_only_project_without_iterations_writes_nothing(project):
    root = project.paths.root
    ro = sn.Project.open_read_only(root)
    before = snapshot(root)
    with pytest.raises(PermissionError, match="cannot add an iteration"):
        ro.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert snapshot(root) == before
    assert ro.inversions.iterations(PROBLEM) == []


def test_reading_works_read_only(project):
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    root = project.paths.root
    ro = sn.Project.open_read_only(root)
    before = snapshot(root)
    assert ro.inversions.iterations(PROBLEM) == [0]
    it = ro.inversions.get_iteration(PROBLEM)
    assert it.stage == "initialize" and it.record["iteration"] == 0
    assert it.model()["vs"].shape == project.inversions.get_iteration(PROBLEM).model()["vs"].shape
    state = InversionState(ro, PROBLEM)  # what the views observe
    assert state.current_iteration == 0 and state.stage == "initialize"
    assert list(state.events) == SELECTED_EVENTS
    # The state's actions go through the workflow, so they are refused the same way.
    with pytest.raises(PermissionError, match="read-only"):
        state.resume()
    assert "PermissionError" in state.error and not state.busy
    assert snapshot(root) == before
