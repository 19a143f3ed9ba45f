"""Job functions for the execution-site tests.

They live in an importable module (not the test module) so Dask worker processes can
unpickle them by reference. Each job appends one line per run to ``<name>.runs`` in the
given directory, so tests count runs across threads and processes.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numba
import numpy as np


def _record_run(directory: str, name: str) -> int:
    """Append this run (pid, thread) to ``<name>.runs``; return the runs so far."""
    path = Path(directory) / f"{name}.runs"
    # O_APPEND writes of one short line are atomic, even across processes.
    line = json.dumps({"pid": os.getpid(), "thread": threading.get_ident()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
    return len(path.read_text().splitlines())


def runs(directory: str, name: str) -> list[dict]:
    """The runs recorded by :func:`_record_run`."""
    path = Path(directory) / f"{name}.runs"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_file_job(directory: str, name: str, payload: dict) -> dict:
    """Write ``payload`` to ``<name>.json`` atomically; return a summary."""
    n_runs = _record_run(directory, name)
    target = Path(directory) / f"{name}.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, target)
    return {"name": name, "keys": sorted(payload), "pid": os.getpid(), "runs": n_runs}


def sleep_job(directory: str, name: str, seconds: float) -> dict:
    """Sleep; return when it started and ended (epoch seconds)."""
    _record_run(directory, name)
    start = time.time()
    time.sleep(seconds)
    return {"name": name, "start": start, "end": time.time()}


def fail_until_fixed_job(directory: str, name: str) -> dict:
    """Raise until a ``<name>.fixed`` file exists, then succeed."""
    _record_run(directory, name)
    if not (Path(directory) / f"{name}.fixed").exists():
        raise ValueError(f"job {name} is broken until {name}.fixed exists")
    return {"name": name, "fixed": True}


def kill_worker_once_job(directory: str, name: str) -> dict:
    """Kill the process running it the first time (leaving a marker), succeed after."""
    _record_run(directory, name)
    marker = Path(directory) / f"{name}.killed"
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os._exit(1)  # a hard crash: no exception, no cleanup, the worker is gone
    return {"name": name, "pid": os.getpid(), "killed_pid": int(marker.read_text())}


@numba.njit(parallel=True, nogil=True, cache=True)
def sum_of_squares(x):
    """Sum of ``x**2`` over a 1D float64 array, as a parallel reduction."""
    total = 0.0
    for i in numba.prange(x.size):
        total += x[i] * x[i]
    return total


def numba_kernel_job(directory: str, name: str, n: int, seconds: float) -> dict:
    """Call the parallel kernel repeatedly for about ``seconds``; report what it saw."""
    _record_run(directory, name)
    x = np.arange(n, dtype=np.float64)
    sum_of_squares(x)  # compile (or load from cache) before timing
    start = time.time()
    values = []
    while True:
        values.append(sum_of_squares(x))
        if time.time() - start >= seconds:
            break
    return {
        "name": name,
        "start": start,
        "end": time.time(),
        "calls": len(values),
        "distinct_values": sorted(set(values)),
        "threads": numba.get_num_threads(),
        "layer": numba.threading_layer(),
        "pid": os.getpid(),
    }
