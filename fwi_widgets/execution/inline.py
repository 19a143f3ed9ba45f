"""The ``inline`` site: runs each job synchronously inside ``submit`` (for tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .base import JobStatus, Site, format_exception, run_job

__all__ = ["InlineSite"]


class InlineSite(Site):
    """Run jobs in the calling thread, one at a time, before ``submit`` returns.

    Exceptions raised by a job are captured as ``FAILED`` with their traceback; they
    never propagate out of ``submit``. Done callbacks run in the submitting thread.

    Parameters
    ----------
    name : str, optional
        The registered name, by default ``"inline"``.
    """

    def __init__(self, name: str = "inline") -> None:
        super().__init__(name)

    def _start(
        self,
        job_id: str,
        func: Callable[..., dict],
        args: tuple[Any, ...],
        ranks_per_job: int,
        attempt: int,
    ) -> None:
        self._set_running(job_id)
        try:
            result = run_job(func, ranks_per_job, *args)
        except BaseException as exc:
            self._finish(job_id, JobStatus.FAILED, None, format_exception(exc))
            if not isinstance(exc, Exception):
                raise  # Ctrl-C in a notebook still interrupts, after the job is recorded
        else:
            self._finish(job_id, JobStatus.DONE, result, None)
