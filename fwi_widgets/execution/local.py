"""The ``local`` site: a background thread pool in this process.

``submit`` returns at once; each job runs in a pool thread with ``ranks_per_job`` Numba
threads. Our kernels are compiled with ``nogil=True``, so jobs in different threads run
in parallel. Concurrency is bounded by cores, not by job count: a job starts only when
``ranks_per_job`` of the site's ``cores`` are free, so with equal ``ranks_per_job`` it
behaves as a pool of ``max(1, cores // ranks_per_job)`` workers, and mixed sizes never
oversubscribe. Jobs start in submission order (a large job is not starved by small
ones).

Threading layer: the first job starts Numba's pool with a thread-safe layer (``omp`` or
``tbb``; see :func:`~fwi_widgets.execution.base.ensure_threading_layer`). If only
``workqueue`` is available, jobs are serialised process-wide instead of aborting the
process; :attr:`LocalSite.serialised` then reports True.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numba

from .base import JobStatus, Site, ensure_threading_layer, format_exception, run_job

__all__ = ["LocalSite"]


class _CoreBudget:
    """Hand out ``cores`` to jobs first come, first served.

    A job asking for more cores than exist gets all of them (it then runs alone).
    """

    def __init__(self, cores: int) -> None:
        self.cores = cores
        self._free = cores
        self._queue: deque[object] = deque()
        self._cond = threading.Condition()

    def acquire(self, n: int) -> int:
        n = min(n, self.cores)
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            self._cond.wait_for(lambda: self._queue[0] is ticket and self._free >= n)
            self._queue.popleft()
            self._free -= n
            # The next in line may fit in what is left.
            self._cond.notify_all()
        return n

    def release(self, n: int) -> None:
        with self._cond:
            self._free += n
            self._cond.notify_all()


class LocalSite(Site):
    """Run jobs in a background thread pool of this process.

    Parameters
    ----------
    name : str, optional
        The registered name, by default ``"local"``.
    cores : int or None, optional
        Cores the site may use at once; by default ``numba.config.NUMBA_NUM_THREADS``
        (the size of Numba's thread pool, normally the machine's core count).

    Notes
    -----
    Threads cannot be interrupted, so :meth:`close` cancels the jobs that have not
    started (they are reported ``FAILED``) and waits for the running ones.
    """

    def __init__(self, name: str = "local", cores: int | None = None) -> None:
        super().__init__(name)
        if cores is None:
            cores = int(numba.config.NUMBA_NUM_THREADS)
        if isinstance(cores, bool) or not isinstance(cores, int):
            raise TypeError(f"The 'cores' parameter must be an int, but {cores!r} was given.")
        if cores < 1:
            raise ValueError(f"The 'cores' parameter must be positive, but {cores} was given.")
        self.cores = cores
        self._budget = _CoreBudget(cores)
        self._executor: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future] = {}
        self._layer: str | None = None

    @property
    def threading_layer(self) -> str:
        """Numba's threading layer in this process (started if need be)."""
        if self._layer is None:
            self._layer = ensure_threading_layer()
        return self._layer

    @property
    def serialised(self) -> bool:
        """True when only ``workqueue`` is available, so jobs run one at a time."""
        return self.threading_layer == "workqueue"

    def _start(
        self,
        job_id: str,
        func: Callable[..., dict],
        args: tuple[Any, ...],
        ranks_per_job: int,
        attempt: int,
    ) -> None:
        # Choose the layer now, in the submitting thread, rather than racing for it
        # in the pool.
        self.threading_layer  # noqa: B018
        with self._lock:
            if self._closed:  # closed between submit's check and here
                raise RuntimeError(f"The site '{self.name}' is closed; get a new one.")
            if self._executor is None:
                # Never more threads than cores: every job needs at least one.
                self._executor = ThreadPoolExecutor(
                    max_workers=self.cores, thread_name_prefix=f"fwi-site-{self.name}"
                )
            future = self._executor.submit(self._run, job_id, func, args, ranks_per_job)
            self._futures[job_id] = future
        future.add_done_callback(lambda _f, job_id=job_id: self._forget_future(job_id, _f))

    def _forget_future(self, job_id: str, future: Future) -> None:
        with self._lock:
            if self._futures.get(job_id) is future:
                del self._futures[job_id]
        if future.cancelled():
            self._finish(
                job_id,
                JobStatus.FAILED,
                None,
                f"The job was cancelled because the site '{self.name}' was closed.",
            )

    def _run(
        self, job_id: str, func: Callable[..., dict], args: tuple, ranks_per_job: int
    ) -> None:
        cores = self._budget.acquire(ranks_per_job)
        try:
            self._set_running(job_id)
            try:
                result = run_job(func, cores, *args)
            except BaseException as exc:  # a job's SystemExit must not kill the pool thread silently
                self._finish(job_id, JobStatus.FAILED, None, format_exception(exc))
            else:
                self._finish(job_id, JobStatus.DONE, result, None)
        finally:
            self._budget.release(cores)

    def close(self) -> None:
        """Cancel jobs not yet started, wait for running ones, stop the pool."""
        with self._lock:
            super().close()
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
