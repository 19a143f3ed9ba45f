"""The same iteration on the Dask site (a LocalCluster with two worker processes), which
survives a worker killed while it runs a job, and gives the inline site's result, bit for
bit: every job runs BLAS on the one thread a Dask worker has (OpenBLAS rounds some matrix
products differently on 2 threads, which changed the TF-phase adjoint sources)."""
import os
import signal
import time

import numpy as np

from fwi_widgets import namespace as sn
from fwi_widgets.execution import get_site
from fwi_widgets.execution.base import JOB_BLAS_THREADS, blas_threads

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


def _blas_threads_job() -> dict:
    return {"blas": blas_threads()}


def test_jobs_in_this_process_run_blas_on_a_dask_workers_thread_count():
    before = blas_threads()
    assert before, "no BLAS library found to set: the inline site's round-off would differ from a Dask worker's"
    for name in ("inline", "local"):
        site = get_site(name)
        site.submit(f"blas-threads-{name}", _blas_threads_job)
        assert site.wait([f"blas-threads-{name}"], timeout=60)
        info = site.info(f"blas-threads-{name}")
        assert info.result == {"blas": {path: JOB_BLAS_THREADS for path in before}}, info.error
    assert blas_threads() == before  # restored once no job runs
