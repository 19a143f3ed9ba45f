"""The interface every execution site implements, and the bookkeeping they share.

A *job* is a module-level function plus picklable plain arguments (strings, numbers,
dicts). It does its own I/O (atomically, into the project directory), is idempotent,
and returns a small JSON-able summary ``dict``. A site runs jobs and answers questions
about them by ``job_id``; it never persists anything. The workflow keeps the durable
record of what it submitted and treats ``JobStatus.UNKNOWN`` (a site that never saw the
job, e.g. after a restart) as "lost, submit again".

Collecting a finished job
-------------------------
A job's outputs are files the project's store wrote with checksums. Before its
outputs are used, :func:`damaged_outputs` checks them all; a job with a damaged
output is treated as lost: the workflow deletes what is damaged and the job's
``result.json``, tells its site to :meth:`Site.discard` the finished run, and submits
it again (a further attempt, so a site that keys runs by attempt starts a fresh one).

Numba threading
---------------
Every site runs a job inside :func:`numba_job_threads`, which

- chooses Numba's threading layer deliberately the first time it is needed: a
  thread-safe layer (``tbb`` or ``omp``) unless the user already chose one through
  ``NUMBA_THREADING_LAYER``; only when neither loads does Numba fall back to
  ``workqueue``;
- limits the job to ``ranks_per_job`` Numba threads (``numba.set_num_threads`` is
  thread-local, so concurrent jobs in one process do not interfere);
- serialises jobs process-wide when the layer is ``workqueue``, because that layer
  aborts the whole process when two threads enter parallel kernels at once. Jobs then
  run one after the other instead of crashing.

BLAS threading
--------------
A job's result must not depend on the site that ran it. Multithreaded BLAS breaks that:
OpenBLAS sums some matrix products in a different order with 2 threads than with 1
(the TF-phase misfit's Gabor transform is such a product), so the round-off of the
misfit, the adjoint source and hence the gradient depends on the BLAS thread count.
A Dask worker runs BLAS on 1 thread (the nanny starts every worker with
``OPENBLAS_NUM_THREADS=MKL_NUM_THREADS=OMP_NUM_THREADS=1``), while a job in this process
(``inline``, ``local``) would run it on all cores. So every job runs inside
:func:`blas_job_threads`, with :data:`JOB_BLAS_THREADS` (1) BLAS threads on every site:

- the thread count of a BLAS library is process-wide, not per thread; the count is set
  when the first job of the process starts and restored when the last running one
  ends (other code of the process that runs BLAS meanwhile also gets 1 thread);
- threadpoolctl finds and sets the BLAS libraries loaded into the process (the
  OpenBLAS builds of NumPy and SciPy, a system OpenBLAS, MKL, BLIS);
- 1 thread costs little: BLAS does only the misfit's small products (the workshop's
  jobs took 1.26 s with 1 BLAS thread, 1.36 s with 2); the wave simulations are
  Numba kernels on ``ranks_per_job`` threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numba

__all__ = [
    "JobStatus",
    "JobInfo",
    "Site",
    "ensure_threading_layer",
    "numba_job_threads",
    "JOB_BLAS_THREADS",
    "blas_job_threads",
    "blas_threads",
    "run_job",
    "format_exception",
    "damaged_outputs",
]

_LOGGER = logging.getLogger(__name__)


class JobStatus(str, Enum):
    """Where a job stands, as far as one site knows."""

    UNKNOWN = "unknown"
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """True for ``DONE`` and ``FAILED``: the job will not change on its own."""
        return self in (JobStatus.DONE, JobStatus.FAILED)


@dataclass(frozen=True)
class JobInfo:
    """A snapshot of one job, as a site reports it.

    Attributes
    ----------
    job_id : str
        The caller's identifier of the job.
    status : JobStatus
        Where the job stands.
    result : dict or None
        The job function's return value once ``DONE``, else None.
    error : str or None
        The formatted traceback once ``FAILED``, else None.
    site : str
        The name of the site that answered.
    """

    job_id: str
    status: JobStatus
    result: dict | None
    error: str | None
    site: str


DoneCallback = Callable[[JobInfo], None]


def format_exception(exc: BaseException) -> str:
    """The full traceback text of ``exc``, as Python would print it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _check_job_id(job_id: Any) -> str:
    if not isinstance(job_id, str) or not job_id:
        raise TypeError(
            f"The 'job_id' parameter must be a non-empty str, but {job_id!r} was given."
        )
    return job_id


def _check_ranks_per_job(ranks_per_job: Any) -> int:
    # bool is an int subclass; True as "one rank" is almost surely a mistake.
    if isinstance(ranks_per_job, bool) or not isinstance(ranks_per_job, int):
        raise TypeError(
            "The 'ranks_per_job' parameter must be an int, "
            f"but {ranks_per_job!r} was given."
        )
    if ranks_per_job < 1:
        raise ValueError(
            "The 'ranks_per_job' parameter must be positive, "
            f"but {ranks_per_job} was given."
        )
    return ranks_per_job


# --------------------------------------------------------------------------- outputs

# Files of a job folder that the store writes with a checksum (JSON embeds it; the
# others have a ``.sha256`` sidecar). Anything else there (completions.log) is not
# an output that the workflow reads.
_OUTPUT_SUFFIXES = (".json", ".nc", ".npy", ".mseed")


def damaged_outputs(folder: str | Path, also: Iterable[str | Path] = ()) -> list[Exception]:
    """The outputs of a finished job that fail their checks, as errors naming each file.

    Parameters
    ----------
    folder : str or os.PathLike
        The job's folder: every checksummed file in it is checked (``result.json``,
        the job's NetCDF and ``.npy`` files), but not previous versions (``.prev``),
        sidecars or temporary files.
    also : iterable of paths
        Further outputs the job writes outside its folder; a missing one counts as
        damaged (``FileNotFoundError``).

    Returns
    -------
    list of CorruptFileError or FileNotFoundError
        Empty when every output is intact.
    """
    from ..project import store  # the store is a leaf module; imported here to keep base light

    folder = Path(folder)
    candidates = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix in _OUTPUT_SUFFIXES
                        and not f.name.startswith(".")) if folder.is_dir() else []
    damaged: list[Exception] = []
    for path in [*candidates, *map(Path, also)]:
        try:
            store.verify(path)
        except (store.CorruptFileError, FileNotFoundError) as error:
            damaged.append(error)
    return damaged


# --------------------------------------------------------------------------- Numba

_LAYER_LOCK = threading.Lock()
# Held around every job while the layer is ``workqueue`` (see the module docstring).
_WORKQUEUE_JOB_LOCK = threading.Lock()


def ensure_threading_layer() -> str:
    """Start Numba's thread pool with a thread-safe layer if possible; return its name.

    Once started, the layer is fixed for the life of the process, so this only has an
    effect when nothing has started it yet. A layer the user chose through
    ``NUMBA_THREADING_LAYER`` is respected.

    Returns
    -------
    str
        ``"tbb"``, ``"omp"`` or ``"workqueue"``.
    """
    with _LAYER_LOCK:
        try:
            return numba.threading_layer()
        except ValueError:  # not started yet
            pass
        if str(numba.config.THREADING_LAYER).lower() == "default":
            # Numba's own default order is tbb, omp, workqueue; asking for
            # "threadsafe" makes the choice explicit and lets us notice when only
            # workqueue exists instead of finding out from an aborted process.
            numba.config.THREADING_LAYER = "threadsafe"
            try:
                numba.get_num_threads()  # starts the pool
            except ValueError:
                # Neither tbb nor omp loads: a failed start leaves Numba
                # uninitialised, so the default (workqueue) can still be started.
                numba.config.THREADING_LAYER = "default"
                numba.get_num_threads()
        else:
            numba.get_num_threads()
        return numba.threading_layer()


@contextlib.contextmanager
def numba_job_threads(ranks_per_job: int) -> Iterator[str]:
    """Run the body as one job with ``ranks_per_job`` Numba threads.

    Parameters
    ----------
    ranks_per_job : int
        Threads the job may use; clipped to ``numba.config.NUMBA_NUM_THREADS``, the
        size of Numba's pool in this process.

    Yields
    ------
    str
        The threading layer in use.
    """
    layer = ensure_threading_layer()
    n_threads = max(1, min(int(ranks_per_job), numba.config.NUMBA_NUM_THREADS))
    guard = _WORKQUEUE_JOB_LOCK if layer == "workqueue" else contextlib.nullcontext()
    with guard:
        # Thread-local in Numba: restoring it matters because pool threads are reused.
        previous = numba.get_num_threads()
        numba.set_num_threads(n_threads)
        try:
            yield layer
        finally:
            numba.set_num_threads(previous)


# --------------------------------------------------------------------------- BLAS

#: BLAS threads of every job on every site: what a Dask worker has (see the module docstring).
JOB_BLAS_THREADS = 1

_BLAS_LOCK = threading.Lock()
_BLAS_JOBS = 0  # jobs running in this process
_BLAS_SAVED: dict[str, int] = {}  # library path -> its count before the jobs


def _blas_controllers() -> list:
    """threadpoolctl's controllers of the BLAS libraries loaded now (SciPy's own
    OpenBLAS loaded first, so it is among them)."""
    from threadpoolctl import ThreadpoolController

    import scipy.linalg  # noqa: F401

    return list(ThreadpoolController().select(user_api="blas").lib_controllers)


def _set_threads(controller, n: int) -> None:
    getattr(controller, "_real_set_num_threads", controller.set_num_threads)(n)


def blas_threads() -> dict[str, int]:
    """The thread count of each BLAS library loaded into this process, by file path."""
    return {c.filepath: int(c.get_num_threads()) for c in _blas_controllers()}


@contextlib.contextmanager
def blas_job_threads(n_threads: int = JOB_BLAS_THREADS) -> Iterator[None]:
    """Run the body as one job with ``n_threads`` BLAS threads (process-wide; the
    libraries found by threadpoolctl: OpenBLAS, MKL, BLIS).

    The count is set when the first job of the process enters (and again by every job,
    for a library loaded meanwhile) and restored when the last one leaves. Jobs run in
    pool threads, so each library is set with its controller's raw setter:
    threadpoolctl's public ``set_num_threads`` lets only the first Python thread that
    set OpenBLAS change it again (to keep threads from fighting over a shared pool),
    and ignores the others.
    """
    global _BLAS_JOBS
    with _BLAS_LOCK:
        for c in _blas_controllers():
            _BLAS_SAVED.setdefault(c.filepath, int(c.get_num_threads()))
            _set_threads(c, int(n_threads))
        _BLAS_JOBS += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _BLAS_JOBS -= 1
            if _BLAS_JOBS == 0:
                for c in _blas_controllers():
                    if c.filepath in _BLAS_SAVED:
                        _set_threads(c, _BLAS_SAVED[c.filepath])
                _BLAS_SAVED.clear()


def run_job(func: Callable[..., dict], ranks_per_job: int, *args: Any) -> dict:
    """Call ``func(*args)`` as a job (Numba and BLAS threads set); importable by remote workers.

    Parameters
    ----------
    func : callable
        A module-level job function returning a small JSON-able dict.
    ranks_per_job : int
        Numba threads for the job.
    *args
        Plain, picklable arguments.

    Returns
    -------
    dict
        What ``func`` returned.
    """
    with numba_job_threads(ranks_per_job), blas_job_threads():
        result = func(*args)
    if result is not None and not isinstance(result, dict):
        raise TypeError(
            f"A job must return a dict or None, but {func.__qualname__} returned "
            f"{type(result).__name__}."
        )
    return result


# --------------------------------------------------------------------------- Site


@dataclass
class _Record:
    """Mutable per-job state a site keeps in memory (never persisted)."""

    status: JobStatus
    result: dict | None = None
    error: str | None = None
    attempts: int = 1


class Site(ABC):
    """Somewhere jobs run: the interface the workflow talks to.

    Subclasses implement :meth:`_start` (begin running one job) and may refine
    :meth:`infos` and :meth:`close`. The bookkeeping (one record per ``job_id``, the
    no-double-run rule, waiting, done callbacks) lives here, so all sites agree on it.

    Parameters
    ----------
    name : str
        The name the site is registered under (reported in every :class:`JobInfo`).
    """

    name: str

    def __init__(self, name: str) -> None:
        self.name = name
        # One re-entrant lock guards records, callbacks and the closed flag; the
        # condition wakes waiters whenever a job finishes.
        self._lock = threading.RLock()
        self._finished_cond = threading.Condition(self._lock)
        self._records: dict[str, _Record] = {}
        self._callbacks: list[DoneCallback] = []
        self._closed = False

    # ------------------------------------------------------------------ public

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called; a closed site accepts no jobs."""
        return self._closed

    def submit(
        self, job_id: str, func: Callable[..., dict], *args: Any, ranks_per_job: int = 1
    ) -> None:
        """Run ``func(*args)`` as job ``job_id``, unless this site already has it.

        A job that is pending, running or done is not started again (the call does
        nothing); a failed job is retried; an unknown one is started.

        Parameters
        ----------
        job_id : str
            The caller's identifier; it names the job at this site from now on.
        func : callable
            A module-level function (picklable by reference) returning a small dict.
        *args
            Plain picklable arguments (str, numbers, dicts, lists).
        ranks_per_job : int, optional
            Cores (Numba threads) the job uses, by default 1.
        """
        _check_job_id(job_id)
        _check_ranks_per_job(ranks_per_job)
        if not callable(func):
            raise TypeError(f"The 'func' parameter must be callable, but {func!r} was given.")
        with self._lock:
            if self._closed:
                raise RuntimeError(f"The site '{self.name}' is closed; get a new one.")
            record = self._records.get(job_id)
            if record is not None and record.status is not JobStatus.FAILED:
                return
            attempt = 1 if record is None else record.attempts + 1
            self._records[job_id] = _Record(JobStatus.PENDING, attempts=attempt)
        try:
            self._start(job_id, func, args, ranks_per_job, attempt)
        except Exception as exc:  # the site could not even start it
            self._finish(job_id, JobStatus.FAILED, None, format_exception(exc))

    def info(self, job_id: str) -> JobInfo:
        """What this site knows about one job (``UNKNOWN`` if it never saw it)."""
        return self.infos([job_id])[job_id]

    def infos(self, job_ids: Iterable[str]) -> dict[str, JobInfo]:
        """:meth:`info` for many jobs at once, keyed by job id."""
        with self._lock:
            return {job_id: self._info_locked(job_id) for job_id in job_ids}

    def wait(self, job_ids: Iterable[str], timeout: float | None = None) -> bool:
        """Block until every given job finished (done or failed), or ``timeout``.

        Parameters
        ----------
        job_ids : iterable of str
            Jobs to wait for.
        timeout : float or None, optional
            Longest wait in seconds; None waits for as long as it takes.

        Returns
        -------
        bool
            True when all the jobs are finished. A job this site does not know never
            finishes here, so it makes the call return False at once.
        """
        job_ids = list(job_ids)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while True:
                statuses = [self._status_locked(job_id) for job_id in job_ids]
                if JobStatus.UNKNOWN in statuses:
                    return False
                if all(status.finished for status in statuses):
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                # Bounded sleeps let subclasses whose jobs finish elsewhere (Dask)
                # notice progress through _status_locked as well.
                self._finished_cond.wait(0.1 if remaining is None else min(0.1, remaining))

    def discard(self, job_id: str) -> None:
        """Forget that job ``job_id`` finished, so that the next :meth:`submit` runs it again.

        For a job whose outputs turned out damaged (:func:`damaged_outputs`): the run
        counts as failed, and submitting it again is a further attempt. A job this site
        does not know, or one still pending or running, is left alone.
        """
        _check_job_id(job_id)
        with self._lock:
            record = self._records.get(job_id)
            if record is not None and record.status is JobStatus.DONE:
                record.status, record.result = JobStatus.FAILED, None
                record.error = "Its outputs were found damaged after it finished; it is to run again."

    def add_done_callback(self, callback: DoneCallback) -> None:
        """Call ``callback(JobInfo)`` whenever a job finishes from now on.

        The callback runs in whichever thread notices the job finished (a pool
        thread, a Dask callback thread, or the caller of :meth:`info`), so keep it
        cheap and thread-safe. Exceptions it raises are logged, not propagated.
        """
        if not callable(callback):
            raise TypeError(
                f"The 'callback' parameter must be callable, but {callback!r} was given."
            )
        with self._lock:
            self._callbacks = [*self._callbacks, callback]

    def remove_done_callback(self, callback: DoneCallback) -> None:
        """Stop calling ``callback``; a callback never added is ignored."""
        with self._lock:
            self._callbacks = [cb for cb in self._callbacks if cb is not callback]

    def close(self) -> None:
        """Stop accepting jobs and release the site's resources (idempotent)."""
        with self._lock:
            self._closed = True

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        with self._lock:
            counts: dict[str, int] = {}
            for record in self._records.values():
                counts[record.status.value] = counts.get(record.status.value, 0) + 1
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} '{self.name}' ({state}) jobs={counts}>"

    # -------------------------------------------------------------- for subclasses

    @abstractmethod
    def _start(
        self,
        job_id: str,
        func: Callable[..., dict],
        args: tuple,
        ranks_per_job: int,
        attempt: int,
    ) -> None:
        """Begin running one job; report through :meth:`_set_running` and :meth:`_finish`.

        ``attempt`` counts submissions of this ``job_id`` at this site (1 first).
        """

    def _status_locked(self, job_id: str) -> JobStatus:
        """The status of one job; called with the lock held. Subclasses may refresh."""
        record = self._records.get(job_id)
        return JobStatus.UNKNOWN if record is None else record.status

    def _info_locked(self, job_id: str) -> JobInfo:
        status = self._status_locked(job_id)
        record = self._records.get(job_id)
        if record is None:
            return JobInfo(job_id, JobStatus.UNKNOWN, None, None, self.name)
        return JobInfo(job_id, status, record.result, record.error, self.name)

    def _set_running(self, job_id: str) -> None:
        with self._lock:
            record = self._records.get(job_id)
            if record is not None and record.status is JobStatus.PENDING:
                record.status = JobStatus.RUNNING

    def _finish(
        self, job_id: str, status: JobStatus, result: dict | None, error: str | None
    ) -> None:
        """Record the outcome once, wake waiters, then call the done callbacks."""
        with self._lock:
            record = self._records.get(job_id)
            if record is None or record.status.finished:
                return  # someone else noticed first
            record.status, record.result, record.error = status, result, error
            info = JobInfo(job_id, status, result, error, self.name)
            callbacks = self._callbacks
            self._finished_cond.notify_all()
        # Outside the lock: a callback may call back into the site.
        for callback in callbacks:
            try:
                callback(info)
            except Exception:
                _LOGGER.exception("Done callback %r failed for job %r", callback, job_id)
