"""Child process of the crash tests: ``python -m tests.fwi_widgets._crash_child PATH MODE``.

MODE "iterate": finish the current iteration. MODE "steps": three resume() calls, then
SIGKILL itself (a crash between stages). The environment variable FWI_WIDGETS_FAULT
(see fwi_widgets.project.store) kills it in the middle of, or right after, a chosen file write.
"""
import os
import signal
import sys

from fwi_widgets import namespace as sn

from ._part4 import PROBLEM

path, mode = sys.argv[1], sys.argv[2]
p = sn.Project(path=path)
if mode == "iterate":
    p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05)
elif mode == "steps":
    # Step until the trial-misfit stage has submitted its jobs, then die before collecting them.
    while p.inversions.get_iteration(PROBLEM, 0).stage != "misfit":
        p.inversions.resume(inverse_problem_configuration=PROBLEM)
    os.kill(os.getpid(), signal.SIGKILL)
else:
    raise SystemExit(f"unknown mode {mode!r}")
