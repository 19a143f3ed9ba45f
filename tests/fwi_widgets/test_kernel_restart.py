"""A real Jupyter kernel is restarted part way through iteration #0: the widgets made in
the new kernel show what the old one showed (rebuilt from disk), and Resume finishes the
iteration without running a finished job again.

The kernel is the ``python3`` kernel of this environment, driven by jupyter_client as a
notebook front end would drive it. Timings on 2 cores shared with other work: 16-34 s
under pytest (kernel start 0.6 s, opening the project and building the dashboard 2-4 s
in each kernel, the first Resume 4 s while the kernel loads the Numba cache); the
budgets below allow for a cold Numba cache and a busier machine.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from jupyter_client.manager import start_new_kernel

from ._part4 import PROBLEM, SELECTED_EVENTS

ROOT = Path(__file__).resolve().parents[2]
KERNEL_START_TIMEOUT_S = 120
CELL_TIMEOUT_S = 300

# What a notebook cell does: open the project, register the problem, build the dashboard.
OPEN = """
import json, os, time
from fwi_widgets import namespace as sn
from tests.fwi_widgets._part4 import PROBLEM, add_problem

p = sn.Project(path={path!r})
add_problem(p, site="local")
dashboard = p.viz.nb.dashboard(inverse_problem_configuration=PROBLEM)
view = dashboard.views["inversion"]
state = p.viz.state(PROBLEM)

def settle(timeout_s=120.0):
    # Jobs run in the kernel's background pool; wait until none is queued or running.
    deadline = time.monotonic() + timeout_s
    while any(j["status"] in ("submitted", "running") for t in state.tasks for j in t["jobs"]):
        assert time.monotonic() < deadline, f"jobs still running after {{timeout_s}} s: {{state.tasks}}"
        time.sleep(0.05)

def snapshot():
    traits = ("iterations", "current_iteration", "stage", "tasks", "misfit_history", "station_misfits",
              "tr_radius", "pred", "ared", "accepted", "log")
    shown = {{"state": {{name: getattr(state, name) for name in traits}}, "table": view.table.value,
             "accepted_x": view.marks["accepted"].x.tolist(), "accepted_y": view.marks["accepted"].y.tolist(),
             "retry_shown": view.retry_button.layout.display != "none"}}
    print("SNAPSHOT " + json.dumps({{"pid": os.getpid(), "shown": shown}}))
"""
RESUME = "view.resume_button.click(); settle()"


class Kernel:
    """A started kernel and its client; :meth:`run` executes one cell and returns its stdout."""

    def __init__(self, path: Path):
        env = {k: v for k, v in os.environ.items() if k != "FWI_WIDGETS_FAULT"}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        # The kernel must be this environment's Python, whatever PATH the caller had.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        self.km, self.kc = start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_START_TIMEOUT_S,
                                            cwd=str(ROOT), env=env)
        self.path = path

    def run(self, code: str) -> str:
        out: list[str] = []

        def hook(msg) -> None:
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])

        reply = self.kc.execute_interactive(code, timeout=CELL_TIMEOUT_S, output_hook=hook)
        content = reply["content"]
        if content["status"] != "ok":
            pytest.fail(f"The cell failed: {content.get('ename')}: {content.get('evalue')}\n"
                        + "\n".join(content.get("traceback", [])) + "\nOutput:\n" + "".join(out), pytrace=False)
        return "".join(out)

    def snapshot(self) -> dict:
        lines = [line for line in self.run("snapshot()").splitlines() if line.startswith("SNAPSHOT ")]
        assert len(lines) == 1, lines
        return json.loads(lines[0].removeprefix("SNAPSHOT "))

    def restart(self) -> None:
        self.km.restart_kernel(now=True)  # kills the process, starts a new one on the same ports
        self.kc.wait_for_ready(timeout=KERNEL_START_TIMEOUT_S)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


@pytest.fixture
def kernel(workshop_copy):
    k = Kernel(workshop_copy)
    try:
        yield k
    finally:
        k.close()


def _completions(path: Path) -> dict[str, int]:
    jobs = path / "inversions" / PROBLEM / "0000" / "jobs"
    return {d.name: len((d / "completions.log").read_text().splitlines())
            for d in jobs.iterdir() if (d / "completions.log").exists()}


def test_widgets_rebuild_after_a_kernel_restart_and_resume_finishes_the_iteration(kernel, workshop_copy):
    kernel.run(OPEN.format(path=str(workshop_copy)))
    kernel.run(RESUME)  # iteration #0 added, its misfit_and_gradient jobs launched and finished
    kernel.run(RESUME)  # collected (the misfit is known); the preconditioner job launched and finished
    before = kernel.snapshot()
    shown = before["shown"]
    assert shown["state"]["current_iteration"] == 0 and shown["state"]["stage"] == "preconditioner"
    assert [t["name"] for t in shown["state"]["tasks"]] == ["misfit_and_gradient", "preconditioner_0"]
    assert all(t["status"] == "done" for t in shown["state"]["tasks"])
    chi = shown["state"]["iterations"][0]["chi"]
    assert chi is not None and shown["accepted_x"] == [0.0] and shown["accepted_y"] == [chi]
    assert "Iteration #0" in shown["table"] and not shown["retry_shown"]
    ran_before = _completions(workshop_copy)
    assert len(ran_before) == len(SELECTED_EVENTS)

    kernel.restart()
    kernel.run(OPEN.format(path=str(workshop_copy)))  # the project's lock died with the old kernel
    after = kernel.snapshot()
    assert after["pid"] != before["pid"], "the kernel was not restarted"
    # Exactly the same iteration, stage, tasks, misfits, log and drawing, now read from disk.
    assert after["shown"] == before["shown"]

    log = kernel.run(RESUME)
    assert "preconditioner" in log and "Submitting job array with 3 jobs" in log  # the trial misfits
    for _ in range(5):
        done = kernel.snapshot()["shown"]
        if done["state"]["current_iteration"] == 1:
            break
        kernel.run(RESUME)
    assert done["state"]["current_iteration"] == 1, done["state"]["log"][-5:]
    assert "Successfully completed iteration #0." in done["state"]["log"]
    assert done["accepted_x"] == [0.0, 1.0] and done["accepted_y"][0] == chi
    completions = _completions(workshop_copy)
    assert all(n == 1 for n in completions.values()), completions  # nothing finished ran again
    assert {name: n for name, n in completions.items() if name in ran_before} == ran_before
