"""The ``dask`` site: jobs as tasks of a ``dask.distributed`` scheduler.

By default the site starts, on first use, a private ``LocalCluster`` of worker
*processes* (spawned, not forked: GNU OpenMP, Numba's ``omp`` layer, is not fork-safe);
given ``address=`` it connects to a running scheduler instead, so the same project runs
on a real cluster whose workers see the project directory on a shared filesystem.

Lost workers: when a worker process dies mid-job, the scheduler runs the job again on
another worker, up to ``allowed_failures`` deaths per job (Dask's
``distributed.scheduler.allowed-failures``); the job is reported ``RUNNING``/``PENDING``
meanwhile and ``DONE`` when it finishes. Beyond that it is ``FAILED`` with Dask's
``KilledWorker`` error. Exceptions raised by a job are never retried by Dask
(``retries=0``): the workflow decides, by submitting the same ``job_id`` again.

The first attempt of a job uses ``job_id`` as the Dask key; a retry after a failure uses
``"<job_id>/retry-<n>"``, because Dask forgets a released key asynchronously and a
re-used key could silently return the old, failed task.

Scripts: the private cluster's workers are spawned, so each one imports the main
script again. A plain script must therefore keep its code under
``if __name__ == "__main__":``; without it, starting the cluster raises a
``RuntimeError`` that says so (Dask's own error is "Nanny failed to start").
"""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from .base import JobInfo, JobStatus, Site, format_exception, run_job

if TYPE_CHECKING:  # dask is imported lazily: it is slow to import and optional
    from distributed import Client, Future

__all__ = ["DaskSite"]

_LOGGER = logging.getLogger(__name__)
# How often the watcher thread looks for finished jobs: the latency of "done" (s).
_POLL_SECONDS = 0.05

_SCRIPT_HINT = (
    "A plain script that uses the dask site must put its code under "
    '`if __name__ == "__main__":` (Dask starts worker processes that import the script '
    "again), or use the site 'local'."
)


def _in_spawned_bootstrap() -> bool:
    """True while a spawned child process imports the parent's main script.

    ``multiprocessing`` sets ``_inheriting`` on the current process during that phase;
    it refuses to start processes then, which is what a script without a
    ``__main__`` guard runs into when each worker re-imports it.
    """
    return bool(getattr(multiprocessing.current_process(), "_inheriting", False))


def _main_is_a_script() -> bool:
    """True if ``__main__`` is a file (a script), not a notebook or an interactive shell."""
    return getattr(sys.modules.get("__main__"), "__file__", None) is not None


class DaskSite(Site):
    """Run jobs on a ``dask.distributed`` cluster.

    Parameters
    ----------
    name : str, optional
        The registered name, by default ``"dask"``.
    address : str or None, optional
        Scheduler address (e.g. ``"tcp://10.0.0.1:8786"``). None starts a private
        ``LocalCluster`` on first use.
    n_workers : int, optional
        Worker processes of the private ``LocalCluster``, by default 2.
    threads_per_worker : int, optional
        Threads per worker process of the private ``LocalCluster``, by default 1.
    allowed_failures : int, optional
        How many worker deaths one job survives (private ``LocalCluster`` only; a
        remote scheduler uses its own configuration), by default 3.
    **cluster_options
        Passed on to ``LocalCluster`` (e.g. ``memory_limit``).

    Notes
    -----
    ``ranks_per_job`` sets the job's Numba threads inside its worker process. Dask
    itself schedules one job per worker thread; size workers (``threads_per_worker``,
    ``n_workers``) for the ranks the jobs use.
    """

    def __init__(
        self,
        name: str = "dask",
        address: str | None = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        allowed_failures: int = 3,
        **cluster_options: Any,
    ) -> None:
        super().__init__(name)
        for key, value in (
            ("n_workers", n_workers),
            ("threads_per_worker", threads_per_worker),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"The '{key}' parameter must be a positive int, but {value!r} was given."
                )
        if isinstance(allowed_failures, bool) or not isinstance(allowed_failures, int) or (
            allowed_failures < 0
        ):
            raise ValueError(
                "The 'allowed_failures' parameter must be a non-negative int, "
                f"but {allowed_failures!r} was given."
            )
        if address is not None and not isinstance(address, str):
            raise TypeError(
                f"The 'address' parameter must be a str or None, but {address!r} was given."
            )
        self.address = address
        self._n_workers = n_workers
        self._threads_per_worker = threads_per_worker
        self._allowed_failures = allowed_failures
        self._cluster_options = cluster_options
        self._client: Client | None = None
        self._cluster: Any = None
        # Serialises starting/stopping the client; separate from the record lock so
        # a slow cluster start does not block info() calls.
        self._connect_lock = threading.Lock()
        self._futures: dict[str, Future] = {}
        self._watch_cond = threading.Condition(self._lock)
        self._watcher: threading.Thread | None = None

    # ------------------------------------------------------------------ client

    @property
    def client(self) -> Client:
        """The ``distributed.Client``, connecting (or starting the cluster) if need be."""
        with self._connect_lock:
            if self._closed:
                raise RuntimeError(f"The site '{self.name}' is closed; get a new one.")
            if self._client is None:
                self._client = self._connect()
            return self._client

    def _connect(self) -> Client:
        import dask
        from distributed import Client, LocalCluster

        if self.address is not None:
            # set_as_default=False: other dask code in this process (xarray, ...)
            # must not silently start running on our cluster.
            return Client(self.address, set_as_default=False)
        options = {
            "n_workers": self._n_workers,
            "threads_per_worker": self._threads_per_worker,
            "processes": True,
            "dashboard_address": None,
            "silence_logs": logging.ERROR,
            **self._cluster_options,
        }
        # With the dashboard off the scheduler still serves a few HTTP routes
        # (health, metrics), by default on port 8787: a random local port avoids
        # clashes (and warnings) between clusters of several processes.
        options["scheduler_kwargs"] = {
            "dashboard": False,
            "dashboard_address": "127.0.0.1:0",
            **self._cluster_options.get("scheduler_kwargs", {}),
        }
        if _in_spawned_bootstrap():
            # We are a worker process importing a script that starts the site at module
            # level: starting a cluster here would fail (or recurse); say why instead.
            raise RuntimeError(
                f"The Dask site '{self.name}' was started while a worker process imports "
                f"the main script. {_SCRIPT_HINT}"
            )
        with dask.config.set(
            {
                # Spawned workers start a fresh OpenMP runtime; forked ones would
                # inherit a broken one.
                "distributed.worker.multiprocessing-method": "spawn",
                "distributed.scheduler.allowed-failures": self._allowed_failures,
            }
        ):
            try:
                cluster = LocalCluster(**options)
            except (RuntimeError, OSError) as exc:  # start failures; bad options pass through
                hint = f" {_SCRIPT_HINT}" if _main_is_a_script() else ""
                raise RuntimeError(
                    f"Starting the Dask site's local cluster failed: {str(exc).rstrip('.')}.{hint}"
                ) from exc
        try:
            client = Client(cluster, set_as_default=False)
        except BaseException:
            cluster.close()
            raise
        self._cluster = cluster
        return client

    # ------------------------------------------------------------------- jobs

    def _start(
        self,
        job_id: str,
        func: Callable[..., dict],
        args: tuple[Any, ...],
        ranks_per_job: int,
        attempt: int,
    ) -> None:
        client = self.client
        key = job_id if attempt == 1 else f"{job_id}/retry-{attempt - 1}"
        future = client.submit(
            run_job, func, ranks_per_job, *args, key=key, pure=False, retries=0
        )
        with self._lock:
            self._futures[job_id] = future
            if self._watcher is None:
                self._watcher = threading.Thread(
                    target=self._watch, name=f"fwi-site-{self.name}-watcher", daemon=True
                )
                self._watcher.start()
            self._watch_cond.notify_all()

    def _watch(self) -> None:
        """Collect finished futures until the site closes (the watcher thread).

        We poll ``Future.done()`` (a local flag, no network) instead of using Dask's
        ``add_done_callback``: those callbacks go through an executor that refuses
        work during interpreter shutdown, so closing the site from ``atexit`` with
        jobs still running would log errors.
        """
        while True:
            with self._lock:
                while not self._closed and not self._futures:
                    self._watch_cond.wait()
                if self._closed:
                    return
                pending = list(self._futures.items())
            for job_id, future in pending:
                if future.done():
                    try:
                        self._collect(job_id, future)
                    except Exception:  # keep watching the other jobs
                        _LOGGER.exception("Could not collect Dask job %r", job_id)
            with self._lock:
                if not self._closed:
                    self._watch_cond.wait(_POLL_SECONDS)

    def _collect(self, job_id: str, future: Future) -> None:
        """Record a finished future's outcome and let Dask forget it.

        Called by the watcher thread or by :meth:`infos`, whichever notices first.
        """
        with self._lock:
            if self._futures.get(job_id) is not future:
                return  # already collected, or superseded by a retry
        status = future.status
        if status == "finished":
            try:
                outcome = (JobStatus.DONE, future.result(timeout=60), None)
            except Exception as exc:  # the result could not be fetched
                outcome = (JobStatus.FAILED, None, format_exception(exc))
        elif status == "error":
            exc = future.exception()
            exc.__traceback__ = future.traceback()
            outcome = (JobStatus.FAILED, None, format_exception(exc))
        elif status in ("pending", "lost") and not self._closed:
            return  # not finished after all (lost data is re-computed)
        else:
            outcome = (
                JobStatus.FAILED,
                None,
                f"The Dask task of job {job_id!r} ended as {status!r} "
                "(cancelled by the scheduler, or the site was closed).",
            )
        with self._lock:
            if self._futures.get(job_id) is not future:
                return
            del self._futures[job_id]
        # The outcome is kept here; the result need not stay in worker memory.
        try:
            future.release()
        except RuntimeError:  # the client's loop is already closed
            pass
        self._finish(job_id, *outcome)

    def infos(self, job_ids: Iterable[str]) -> dict[str, JobInfo]:
        """What this site knows, telling running jobs from queued ones.

        ``RUNNING`` means a worker is executing the job now (asked of the scheduler,
        one round trip per call); if the scheduler cannot be asked the job is reported
        ``PENDING``.
        """
        job_ids = list(job_ids)
        with self._lock:
            pending = {
                job_id: self._futures[job_id]
                for job_id in job_ids
                if job_id in self._futures
            }
        # A future may have finished before the watcher noticed: collect it here,
        # so info() never lags behind the scheduler.
        for job_id, future in pending.items():
            if future.done():
                self._collect(job_id, future)
        executing = self._executing_keys(
            [f.key for f in pending.values() if not f.done()]
        )
        for job_id, future in pending.items():
            if future.key in executing:
                self._set_running(job_id)
        return super().infos(job_ids)

    def _executing_keys(self, keys: list[str]) -> set[str]:
        """Those of ``keys`` that a worker is executing now.

        We ask for the call stacks of *all* executing tasks and pick ours, instead of
        ``call_stack(keys=...)``: given keys, the scheduler looks each one up and
        raises KeyError for a key it does not hold (yet: a just-submitted task's graph
        may still be on its way; or any more), and it logs that KeyError with its
        traceback ("Exception while handling op call_stack") on the scheduler side,
        which is this process for the private cluster, before the client sees it.
        """
        if not keys or self._client is None:
            return set()
        try:
            stacks = self._client.call_stack()
        except Exception:  # status detail is best-effort (a lost connection, ...); PENDING is still true
            return set()
        executing = {key for per_worker in stacks.values() for key in per_worker}
        return executing & set(keys)

    def close(self) -> None:
        """Cancel outstanding jobs, close the client and the private cluster."""
        with self._connect_lock:
            with self._lock:
                super().close()
                futures = dict(self._futures)
                self._watch_cond.notify_all()
                watcher, self._watcher = self._watcher, None
            if watcher is not None and watcher is not threading.current_thread():
                watcher.join(timeout=10)
            client, self._client = self._client, None
            cluster, self._cluster = self._cluster, None
            if client is not None:
                if futures:
                    try:
                        client.cancel(list(futures.values()))
                    except Exception:  # closing anyway
                        pass
                client.close()
            if cluster is not None:
                cluster.close()
        for job_id in futures:
            self._finish(
                job_id,
                JobStatus.FAILED,
                None,
                f"The job was cancelled because the site '{self.name}' was closed.",
            )
