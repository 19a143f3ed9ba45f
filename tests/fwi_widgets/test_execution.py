"""Tests of the execution sites (inline, local, dask) and their registry."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numba
import psutil
import pytest

from fwi_widgets import execution
from fwi_widgets.execution import (
    DaskSite,
    InlineSite,
    JobInfo,
    JobStatus,
    LocalSite,
    available_sites,
    get_site,
    register_site,
)

from fwi_widgets.execution.base import ensure_threading_layer

from . import _jobs

REPO_ROOT = Path(__file__).resolve().parents[2]
# Exact: the kernel sums squares of integers below 2**53, so every partial sum is an
# exactly representable integer whatever the reduction order.
N_KERNEL = 100_000
EXPECTED_SUM = float(sum(i * i for i in range(N_KERNEL)))


def _wait_for_status(site, job_id, status, timeout=10.0):
    """Poll until ``job_id`` reaches ``status``; return the last JobInfo."""
    deadline = time.monotonic() + timeout
    info = site.info(job_id)
    while info.status is not status and time.monotonic() < deadline:
        time.sleep(0.01)
        info = site.info(job_id)
    return info


def _children():
    """Child processes of this test process, except multiprocessing's resource tracker.

    The tracker is one helper per interpreter, started with the first spawned
    process; it exits with the interpreter, so it is not something a site leaks.
    """
    pids = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if "multiprocessing.resource_tracker" not in " ".join(p.cmdline()):
                pids.add(p.pid)
        except psutil.NoSuchProcess:
            pass
    return pids


def _overlap(a: dict, b: dict) -> float:
    """Seconds during which two jobs' [start, end] intervals overlap."""
    return min(a["end"], b["end"]) - max(a["start"], b["start"])


# ----------------------------------------------------------------- common contract
# The same behaviours for the two in-process sites; Dask has its own section below
# because its cluster is shared across tests (started once: seconds).


@pytest.fixture(params=["inline", "local"])
def site(request):
    s = InlineSite() if request.param == "inline" else LocalSite(cores=2)
    yield s
    s.close()


def test_job_writes_file_and_returns_dict(site, tmp_path):
    site.submit("job-a", _jobs.write_file_job, str(tmp_path), "a", {"x": 1, "y": [2]})
    assert site.wait(["job-a"], timeout=30)
    info = site.info("job-a")
    assert info == JobInfo(
        "job-a",
        JobStatus.DONE,
        {"name": "a", "keys": ["x", "y"], "pid": os.getpid(), "runs": 1},
        None,
        site.name,
    )
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1, "y": [2]}


def test_failure_has_traceback_and_can_be_retried(site, tmp_path):
    site.submit("job-f", _jobs.fail_until_fixed_job, str(tmp_path), "f")  # never raises
    assert site.wait(["job-f"], timeout=30)
    info = site.info("job-f")
    assert info.status is JobStatus.FAILED and info.result is None
    assert info.error.startswith("Traceback (most recent call last):")
    assert "fail_until_fixed_job" in info.error
    assert "ValueError: job f is broken until f.fixed exists" in info.error

    (tmp_path / "f.fixed").touch()
    site.submit("job-f", _jobs.fail_until_fixed_job, str(tmp_path), "f")
    assert site.wait(["job-f"], timeout=30)
    info = site.info("job-f")
    assert info.status is JobStatus.DONE and info.error is None
    assert info.result == {"name": "f", "fixed": True}
    assert len(_jobs.runs(str(tmp_path), "f")) == 2


def test_done_job_is_not_run_again(site, tmp_path):
    for _ in range(3):
        site.submit("job-d", _jobs.write_file_job, str(tmp_path), "d", {})
        assert site.wait(["job-d"], timeout=30)
    assert len(_jobs.runs(str(tmp_path), "d")) == 1


def test_unknown_job(site):
    info = site.info("never-submitted")
    assert info.status is JobStatus.UNKNOWN and info.result is None and info.error is None
    assert site.infos(["never-submitted"]) == {"never-submitted": info}
    # A job the site does not know will never finish here: no point waiting.
    assert site.wait(["never-submitted"], timeout=5) is False


@pytest.mark.parametrize(
    "ranks, error",
    [(0, ValueError), (-2, ValueError), (1.5, TypeError), (True, TypeError)],
)
def test_bad_ranks_per_job(site, tmp_path, ranks, error):
    with pytest.raises(error, match="The 'ranks_per_job' parameter must be"):
        site.submit("job-r", _jobs.write_file_job, str(tmp_path), "r", {}, ranks_per_job=ranks)
    assert site.info("job-r").status is JobStatus.UNKNOWN


def test_closed_site_refuses_jobs(site, tmp_path):
    site.close()
    with pytest.raises(RuntimeError, match="is closed"):
        site.submit("job-c", _jobs.write_file_job, str(tmp_path), "c", {})


# ---------------------------------------------------------------------- inline


def test_inline_runs_synchronously_and_calls_back_in_caller_thread(tmp_path):
    seen = []
    with InlineSite() as site:
        site.add_done_callback(lambda info: seen.append((info, threading.get_ident())))
        site.submit("job-i", _jobs.write_file_job, str(tmp_path), "i", {"k": 0})
        # No wait: the job already ran.
        assert site.info("job-i").status is JobStatus.DONE
    assert (tmp_path / "i.json").exists()
    assert [(info.job_id, info.status) for info, _ in seen] == [("job-i", JobStatus.DONE)]
    assert seen[0][1] == threading.get_ident()


# ----------------------------------------------------------------------- local


def test_local_submit_returns_while_job_runs(tmp_path):
    with LocalSite(cores=2) as site:
        site.submit("job-s", _jobs.sleep_job, str(tmp_path), "s", 2.0)
        # Right after submit the job has not finished: submit did not run it.
        assert site.info("job-s").status in (JobStatus.PENDING, JobStatus.RUNNING)
        assert _wait_for_status(site, "job-s", JobStatus.RUNNING).status is JobStatus.RUNNING
        site.submit("job-s", _jobs.sleep_job, str(tmp_path), "s", 2.0)  # while running
        assert site.wait(["job-s"], timeout=0.2) is False
        assert site.wait(["job-s"], timeout=30) is True
        site.submit("job-s", _jobs.sleep_job, str(tmp_path), "s", 2.0)  # when done
        assert site.info("job-s").status is JobStatus.DONE
    assert len(_jobs.runs(str(tmp_path), "s")) == 1


def test_local_done_callbacks_fire_from_another_thread(tmp_path):
    seen = []
    event = threading.Event()

    def callback(info):
        seen.append((info.job_id, info.status, threading.get_ident()))
        if len(seen) == 2:
            event.set()

    with LocalSite(cores=2) as site:
        site.add_done_callback(callback)
        site.submit("ok", _jobs.write_file_job, str(tmp_path), "ok", {})
        site.submit("bad", _jobs.fail_until_fixed_job, str(tmp_path), "bad")
        assert event.wait(30)
    assert sorted((j, s) for j, s, _ in seen) == [
        ("bad", JobStatus.FAILED),
        ("ok", JobStatus.DONE),
    ]
    assert all(tid != threading.get_ident() for _, _, tid in seen)


def test_local_cores_bound_concurrency(tmp_path):
    """Two 1-core jobs share 2 cores; two 2-core jobs take turns."""
    with LocalSite(cores=2) as site:
        for rank in (1, 2):
            ids = [f"r{rank}-{i}" for i in range(2)]
            for job_id in ids:
                site.submit(job_id, _jobs.sleep_job, str(tmp_path), job_id, 0.4, ranks_per_job=rank)
            assert site.wait(ids, timeout=30)
            a, b = (site.info(job_id).result for job_id in ids)
            if rank == 1:
                assert _overlap(a, b) > 0.2  # both sleeps (0.4 s) ran side by side
            else:
                assert _overlap(a, b) <= 0.0


def test_local_close_cancels_jobs_not_started(tmp_path):
    site = LocalSite(cores=1)
    site.submit("first", _jobs.sleep_job, str(tmp_path), "first", 0.5)
    site.submit("second", _jobs.sleep_job, str(tmp_path), "second", 0.5)
    assert _wait_for_status(site, "first", JobStatus.RUNNING).status is JobStatus.RUNNING
    site.close()  # waits for "first", cancels "second"
    assert site.info("first").status is JobStatus.DONE
    second = site.info("second")
    assert second.status is JobStatus.FAILED and "closed" in second.error
    assert _jobs.runs(str(tmp_path), "second") == []


def test_local_concurrent_numba_parallel_jobs(tmp_path):
    with LocalSite(cores=2) as site:
        ids = ["k0", "k1"]
        for job_id in ids:
            site.submit(job_id, _jobs.numba_kernel_job, str(tmp_path), job_id, N_KERNEL, 0.5)
        assert site.wait(ids, timeout=60)
        infos = site.infos(ids)
        assert all(info.status is JobStatus.DONE for info in infos.values()), infos
        a, b = (infos[job_id].result for job_id in ids)
        for r in (a, b):
            assert r["distinct_values"] == [EXPECTED_SUM]
            assert r["threads"] == 1  # ranks_per_job=1, set in each pool thread
            assert r["layer"] == site.threading_layer
        if site.serialised:
            assert _overlap(a, b) <= 0.0
        else:
            assert site.threading_layer in ("omp", "tbb")
            assert _overlap(a, b) > 0.25  # the two 0.5 s loops ran at the same time


def test_local_serialises_jobs_under_workqueue(tmp_path):
    """With only the workqueue layer, concurrent parallel jobs take turns, no abort."""
    script = textwrap.dedent(
        f"""
        import json
        from fwi_widgets.execution import LocalSite
        from tests.fwi_widgets import _jobs
        site = LocalSite(cores=2)
        for job_id in ("w0", "w1"):
            site.submit(job_id, _jobs.numba_kernel_job, {str(tmp_path)!r}, job_id,
                        {N_KERNEL}, 0.3)
        assert site.wait(["w0", "w1"], timeout=60)
        infos = site.infos(["w0", "w1"])
        site.close()
        print(json.dumps({{"serialised": site.serialised,
                          "status": [i.status.value for i in infos.values()],
                          "errors": [i.error for i in infos.values()],
                          "results": [i.result for i in infos.values()]}}))
        """
    )
    env = {**os.environ, "NUMBA_THREADING_LAYER": "workqueue"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["serialised"] is True
    assert out["status"] == ["done", "done"], out["errors"]
    a, b = out["results"]
    assert a["layer"] == b["layer"] == "workqueue"
    assert a["distinct_values"] == b["distinct_values"] == [EXPECTED_SUM]
    assert _overlap(a, b) <= 0.0


# ---------------------------------------------------------------------- registry


@pytest.fixture
def clean_registry(monkeypatch):
    """Registry changes made by a test vanish after it."""
    monkeypatch.setattr(execution, "_REGISTERED", dict(execution._REGISTERED))
    monkeypatch.setattr(execution, "_INSTANCES", {})
    yield
    for site, _ in execution._INSTANCES.values():
        site.close()


def test_unknown_site_name(clean_registry):
    with pytest.raises(ValueError) as err:
        get_site("foo")
    assert str(err.value) == "Unknown site 'foo'; valid sites are ['dask', 'inline', 'local']."
    assert available_sites() == ["dask", "inline", "local"]


def test_get_site_is_a_singleton_per_name(clean_registry):
    inline = get_site("inline")
    assert isinstance(inline, InlineSite) and get_site("inline") is inline
    local = get_site("local", cores=1)
    assert isinstance(local, LocalSite) and local.cores == 1
    assert get_site("local") is local and get_site("local", cores=1) is local
    with pytest.raises(ValueError, match="already runs with options"):
        get_site("local", cores=2)
    local.close()
    fresh = get_site("local", cores=2)  # a closed site is replaced
    assert fresh is not local and fresh.cores == 2
    dask_site = get_site("dask")
    assert isinstance(dask_site, DaskSite) and dask_site.address is None


def test_register_site(clean_registry):
    register_site("cluster", address="tcp://127.0.0.1:8786")
    assert available_sites() == ["cluster", "dask", "inline", "local"]
    cluster = get_site("cluster")
    # Connecting is lazy: nothing listens at that address and nothing needs to yet.
    assert isinstance(cluster, DaskSite) and cluster.address == "tcp://127.0.0.1:8786"
    assert cluster.name == "cluster" and cluster.info("x").site == "cluster"
    with pytest.raises(ValueError, match="in use with other settings"):
        register_site("cluster", address="tcp://127.0.0.1:9999")
    register_site("pool", kind="local", cores=1)
    assert get_site("pool").cores == 1
    with pytest.raises(ValueError) as err:
        register_site("x", kind="slurm")
    assert str(err.value) == (
        "Unknown site kind 'slurm'; valid kinds are ['dask', 'inline', 'local']."
    )
    with pytest.raises(TypeError, match="take no option 'address'"):
        register_site("y", kind="local", address="tcp://127.0.0.1:8786")
    assert "x" not in available_sites() and "y" not in available_sites()


# -------------------------------------------------------------------------- dask


@pytest.fixture(scope="module")
def dask_site():
    before = _children()
    site = DaskSite(name="dask")
    site.client  # start the LocalCluster once for the module  # noqa: B018
    yield site
    site.close()
    # Everything the cluster started (nannies, workers, their restarts) must be gone.
    leftovers = [psutil.Process(pid) for pid in _children() - before if psutil.pid_exists(pid)]
    _, alive = psutil.wait_procs(leftovers, timeout=10)
    assert alive == [], f"processes left behind: {alive}"


def test_dask_cluster_has_two_worker_processes(dask_site):
    workers = dask_site.client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert {w["nthreads"] for w in workers.values()} == {1}


def test_dask_job_runs_in_a_worker_process(dask_site, tmp_path):
    seen = []
    got_it = threading.Event()

    def callback(info):
        if info.job_id == "dask-a":
            seen.append((info, threading.get_ident()))
            got_it.set()

    dask_site.add_done_callback(callback)
    try:
        dask_site.submit("dask-a", _jobs.write_file_job, str(tmp_path), "a", {"x": 1})
        assert dask_site.wait(["dask-a"], timeout=30)
        assert got_it.wait(10)
    finally:
        dask_site.remove_done_callback(callback)
    info = dask_site.info("dask-a")
    assert info.status is JobStatus.DONE and info.site == "dask"
    assert info.result["keys"] == ["x"] and info.result["pid"] != os.getpid()
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 1}
    assert seen[0][0] == info and seen[0][1] != threading.get_ident()


def test_dask_failure_traceback_and_retry(dask_site, tmp_path):
    dask_site.submit("dask-f", _jobs.fail_until_fixed_job, str(tmp_path), "f")
    assert dask_site.wait(["dask-f"], timeout=30)
    info = dask_site.info("dask-f")
    assert info.status is JobStatus.FAILED
    assert "ValueError: job f is broken until f.fixed exists" in info.error
    assert "fail_until_fixed_job" in info.error  # the worker's frames came back
    (tmp_path / "f.fixed").touch()
    dask_site.submit("dask-f", _jobs.fail_until_fixed_job, str(tmp_path), "f")
    assert dask_site.wait(["dask-f"], timeout=30)
    assert dask_site.info("dask-f").status is JobStatus.DONE
    assert len(_jobs.runs(str(tmp_path), "f")) == 2


def test_dask_same_job_id_runs_once(dask_site, tmp_path):
    dask_site.submit("dask-s", _jobs.sleep_job, str(tmp_path), "s", 1.0)
    assert _wait_for_status(dask_site, "dask-s", JobStatus.RUNNING).status is JobStatus.RUNNING
    dask_site.submit("dask-s", _jobs.sleep_job, str(tmp_path), "s", 1.0)  # running
    assert dask_site.wait(["dask-s"], timeout=30)
    dask_site.submit("dask-s", _jobs.sleep_job, str(tmp_path), "s", 1.0)  # done
    assert dask_site.info("dask-s").status is JobStatus.DONE
    assert len(_jobs.runs(str(tmp_path), "s")) == 1


def test_dask_lost_worker_job_is_rerun(dask_site, tmp_path):
    dask_site.submit("dask-k", _jobs.kill_worker_once_job, str(tmp_path), "k")
    assert dask_site.wait(["dask-k"], timeout=45)
    info = dask_site.info("dask-k")
    assert info.status is JobStatus.DONE, info.error
    runs = _jobs.runs(str(tmp_path), "k")
    assert len(runs) == 2  # the killed run and the rerun, nothing more
    assert runs[0]["pid"] == info.result["killed_pid"] != info.result["pid"] == runs[1]["pid"]
    assert not psutil.pid_exists(info.result["killed_pid"])


def test_dask_unknown_job(dask_site):
    assert dask_site.info("never").status is JobStatus.UNKNOWN
    assert dask_site.wait(["never"], timeout=1) is False


def test_dask_concurrent_numba_parallel_jobs(dask_site, tmp_path):
    ids = ["dask-k0", "dask-k1"]
    for job_id in ids:
        dask_site.submit(
            job_id, _jobs.numba_kernel_job, str(tmp_path), job_id, N_KERNEL, 0.3,
            ranks_per_job=2,
        )
    assert dask_site.wait(ids, timeout=60)
    infos = dask_site.infos(ids)
    assert all(i.status is JobStatus.DONE for i in infos.values()), infos
    for info in infos.values():
        assert info.result["distinct_values"] == [EXPECTED_SUM]
        # Spawned workers choose the layer the same way as this process does.
        assert info.result["layer"] == ensure_threading_layer()
        assert info.result["threads"] == min(2, numba.config.NUMBA_NUM_THREADS)
        assert info.result["pid"] != os.getpid()
