"""Progress bars for ``p.inversions.iterate`` in plain Python and notebooks (``tqdm.auto``).

One bar per task of an iteration (``misfit_and_gradient``, ``preconditioner_0``,
``misfit_0``, ...): the task's finished jobs out of its jobs. ``iterate`` updates it
after every resume step and while it waits for jobs; a bar closes when its task is
finished, when the next task starts, or when ``iterate`` returns. tqdm is imported on
the first bar only, so importing the workflow stays free of it.
"""
from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

__all__ = ["TaskProgress", "write_mode"]


class TaskProgress:
    """The bar of the task ``iterate`` is waiting for.

    Parameters
    ----------
    enabled : bool
        False draws nothing (every method is then a no-op).
    **tqdm_options
        Passed to ``tqdm.auto.tqdm`` (e.g. ``file=``, ``leave=``), after the defaults
        ``desc``, ``total`` and ``unit="job"``.
    """

    def __init__(self, enabled: bool = True, **tqdm_options: Any):
        self.enabled = enabled
        self._options = tqdm_options
        self._bar = None
        self._key: tuple[int, str] | None = None  # (iteration, task) of the open bar
        self._seen: set[tuple[int, str]] = set()  # tasks that had a bar: never a second one

    def update(self, it) -> None:
        """Show the newest task of iteration ``it`` (an :class:`~.iteration.Iteration`)."""
        if not self.enabled or not it.record.get("tasks"):
            return
        task = list(it.record["tasks"])[-1]  # tasks are recorded in issue order
        key = (it.number, task)
        if key != self._key:
            # The workflow only moves on once a task is finished.
            self._finish()
            if key in self._seen:
                return
            n_done, n_jobs = it.task_progress(task)
            if n_jobs == 0 or n_done == n_jobs:
                return  # nothing left to wait for: no bar
            from tqdm.auto import tqdm

            self._bar = tqdm(**{"desc": f"iteration #{it.number} {task}", "total": n_jobs, "unit": "job",
                                **self._options})
            self._key = key
            self._seen.add(key)
        n_done, n_jobs = it.task_progress(task)
        self._bar.n = n_done
        self._bar.refresh()
        if n_done == n_jobs:
            self.close()

    def _finish(self) -> None:
        if self._bar is not None:
            self._bar.n = self._bar.total
        self.close()

    def close(self) -> None:
        """Close the open bar (a task cut short by a timeout keeps its count)."""
        if self._bar is not None:
            self._bar.close()
        self._bar, self._key = None, None


def write_mode():
    """A context in which a text line written to ``sys.stdout`` does not break open bars
    (tqdm clears them, then draws them again below the line); a no-op before any bar."""
    std = sys.modules.get("tqdm.std")
    if std is None:
        return nullcontext()
    return std.tqdm.external_write_mode(file=sys.stdout)
