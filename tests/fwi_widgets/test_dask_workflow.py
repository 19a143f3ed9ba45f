"""The same iteration on the Dask site (a LocalCluster with two worker processes), which
survives a worker killed while it runs a job, and gives the inline site's result."""
import os
import signal
import time

import numpy as np

from fwi_widgets import namespace as sn
from fwi_widgets.execution import get_site

from ._part4 import PROBLEM, add_problem


def _run(path, site, kill_a_worker=False):
    p = sn.Project(path=path)
    add_problem(p, site=site)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    killed = None
    if kill_a_worker:
        p.inversions.resume(inverse_problem_configuration=PROBLEM)  # submits the three gradient jobs
        client = get_site("dask").client
        deadline = time.monotonic() + 60
        while not client.processing() or not any(client.processing().values()):
            assert time.monotonic() < deadline, "no dask worker started a job"
            time.sleep(0.01)
        busy = next(addr for addr, tasks in client.processing().items() if tasks)
        killed = client.run(os.getpid, workers=[busy])[busy]
        os.kill(killed, signal.SIGKILL)  # a worker lost mid-job
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, timeout_in_seconds=600, ping_interval_in_seconds=0.1)
    x = p.inversions.get_iteration(PROBLEM, 1).record["x"]
    p.close()
    return x, killed


def test_dask_site_runs_the_iteration_and_survives_a_killed_worker(workshop_template, tmp_path):
    import shutil

    paths = {}
    for name in ("inline", "dask"):
        paths[name] = tmp_path / name
        shutil.copytree(workshop_template, paths[name], ignore=shutil.ignore_patterns(".lock"))
    x_inline, _ = _run(paths["inline"], "inline")
    try:
        x_dask, killed = _run(paths["dask"], "dask", kill_a_worker=True)
        workers = get_site("dask").client.run(os.getpid)
        assert killed not in workers.values() and len(workers) == 2  # the nanny replaced the killed worker
    finally:
        get_site("dask").close()
    np.testing.assert_array_equal(x_dask, x_inline)
