"""Example builds that are interrupted, or raced: ``sn.examples.workshop_2d`` killed with
SIGKILL at several moments of its build, then run again in a fresh process, finishes the
project with the content of an uninterrupted build; a half-built project does not open
as if it were whole; a second process arriving while the first builds waits for it, or
is told that the example is being built (never to "pass load_if_exists=True").

The kills come from the test-only fault hook ``FWI_WIDGETS_FAULT`` (see
:mod:`fwi_widgets.project.store`). Cost: about 6 s of CPU per kill case (two child
processes, each importing the package), about 5 s for the race, plus the shared template
build (conftest); on 2 cores busy with other work, several times as long in wall time.
"""
import hashlib
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.examples._build import ExampleBuildLockedError
from fwi_widgets.project import store
from fwi_widgets.project.lock import ProjectLockedError
from fwi_widgets.project.project import IncompleteProjectError

from ._part4 import SELECTED_EVENTS, add_problem

ROOT = Path(__file__).resolve().parents[2]

# The notebook cell, as a child process: build (or finish, or open) the small workshop.
CELL = """
    import sys
    from fwi_widgets import namespace as sn
    p = sn.examples.workshop_2d(sys.argv[1], size="small")
    print(sorted(p.events.list()))
"""

# A builder that stops in the middle of its build (after its models, before the observed
# data) until the file sys.argv[3] appears; it says so by creating sys.argv[2].
SLOW_BUILDER = """
    import sys, time
    from pathlib import Path
    from fwi_widgets import namespace as sn
    from fwi_widgets.examples import workshop

    synthesise = workshop._synthesise_observed

    def paused(*args, **kwargs):
        Path(sys.argv[2]).touch()
        while not Path(sys.argv[3]).exists():
            time.sleep(0.05)
        synthesise(*args, **kwargs)

    workshop._synthesise_observed = paused
    sn.examples.workshop_2d(sys.argv[1], size="small")
"""


def _env(fault=None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop(store.FAULT_ENVIRONMENT_VARIABLE, None)
    if fault:
        env[store.FAULT_ENVIRONMENT_VARIABLE] = fault
    return env


def _python(script: str, *args) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(script), *map(str, args)]


def _cell(path, fault=None) -> subprocess.CompletedProcess:
    return subprocess.run(_python(CELL, path), env=_env(fault), cwd=ROOT, capture_output=True, text=True, timeout=300)


def content(root: Path) -> dict:
    """What a project holds: every file's name, and the checked content of each data file
    (JSON data; bytes of models and waveforms), leaving out the lock and the creation time."""
    out = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_dir() or name == ".lock":
            continue
        if name.endswith((".sha256", ".prev")):
            out[name] = "present"  # checked with the file it belongs to
        elif name.endswith(".json"):
            data = store.read_json(path)
            if name == "project.json":
                data = {k: v for k, v in data.items() if k != "created"}
            out[name] = data
        else:
            out[name] = hashlib.sha256(store.read_bytes(path)).hexdigest()
    return out


def files(root: Path) -> dict:
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in root.rglob("*")
            if p.is_file() and p.name != ".lock"}  # (opening for writing takes the lock, then refuses)


@pytest.mark.parametrize("fault", [
    "kill-after-write:project.json",                    # the project file exists, nothing else
    "kill-after-write:true_model.nc.sha256",            # the grid model's file is whole, its configuration not written
    "kill-after-write:observed/event_ICELAND",          # mid observed data: the second event's file, not its checksum
])
def test_an_interrupted_build_is_finished_by_running_the_cell_again(workshop_template, tmp_path, fault):
    path = tmp_path / "workshop"
    killed = _cell(path, fault)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (path / "project.json").exists()

    # Opening it is refused, with the cause and the fix, read-only too; nothing is written.
    before = files(path)
    for open_it in (lambda: sn.Project(path=path), lambda: sn.Project.open_read_only(path)):
        with pytest.raises(IncompleteProjectError) as error:
            open_it()
        message = str(error.value)
        assert f"The project at {path} is an unfinished build of sn.examples.workshop_2d('{path}', size='small', " \
               "noise=0.02, seed=42)" in message
        assert "interrupted" in message and "again to finish it" in message and "delete the directory" in message
    # Other arguments would mix two builds: refused.
    with pytest.raises(ValueError, match=r"was built by sn\.examples\.workshop_2d\(.*seed=42\), not by .*seed=7\)"):
        sn.examples.workshop_2d(path, size="small", seed=7)
    assert files(path) == before

    again = _cell(path)  # the same cell, in a fresh process
    assert again.returncode == 0, again.stderr[-2000:]
    assert content(path) == content(workshop_template)

    p = sn.Project(path=path)
    assert p.events.list() == SELECTED_EVENTS
    assert "true_model" in p.list_configurations("models")
    assert all(len(p.observed_data(event)) == len(p.events.stations()) for event in SELECTED_EVENTS)
    add_problem(p, site="inline")  # the seed's inverse problem fits the finished project
    p.close()


def test_a_second_builder_waits_or_is_told_that_the_example_is_being_built(tmp_path):
    path, ready, go = tmp_path / "workshop", tmp_path / "ready", tmp_path / "go"
    first = subprocess.Popen(_python(SLOW_BUILDER, path, ready, go), env=_env(), cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert first.poll() is None, first.stderr.read()[-2000:]
            assert time.monotonic() < deadline, "the first builder did not reach its pause"
            time.sleep(0.05)
        # Arriving meanwhile, with load_if_exists=True (the default): told what is going on.
        with pytest.raises(ExampleBuildLockedError) as error:
            sn.examples.workshop_2d(path, size="small")
        message = str(error.value)
        assert isinstance(error.value, ProjectLockedError) and error.value.pid == first.pid
        assert f"The example project at {path} is being built by another process (pid {first.pid}" in message
        assert "lock_timeout_in_seconds" in message and "load_if_exists" not in message
        with pytest.raises(IncompleteProjectError, match="still running in another process"):
            sn.Project.open_read_only(path)
        # Waiting for it: this call returns the project the first one built.
        go.touch()
        p = sn.examples.workshop_2d(path, size="small", lock_timeout_in_seconds=120)
        assert first.wait(timeout=120) == 0, first.stderr.read()[-2000:]
        assert p.events.list() == SELECTED_EVENTS
        assert all(p.paths.observed("observed", event).exists() for event in SELECTED_EVENTS)
        assert p.list_configurations("misfit") == ["tf_phase_misfit_70_120_seconds"]
        p.close()
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
