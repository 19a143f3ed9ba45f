"""``p.inversions``: add iterations, step them with ``resume``, run them with ``iterate``.

Every method that writes (records, models, job submissions) is marked ``@_writes``: on a
project opened read-only it raises ``PermissionError`` before anything happens, so a
read-only process never writes a record or submits a job next to the process that holds
the write lock. The queries (``iterations``, ``get_iteration``) read only and work read-only.
"""
from __future__ import annotations

import functools
import logging
import sys
import time

import numpy as np

from ..execution import get_site
from .iteration import DONE, FAILED, Iteration
from .progress import TaskProgress, write_mode

__all__ = ["Inversions", "configure_logging"]

log = logging.getLogger("fwi_widgets")


def configure_logging() -> None:
    """Print the workflow's log lines like the seed: ``[time] INFO: message`` (once,
    only if the application has not configured the "fwi_widgets" logger itself)."""
    if not log.handlers:
        handler = _CurrentStdout()
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


class _CurrentStdout(logging.Handler):
    """Writes to whatever ``sys.stdout`` is at the time (a notebook cell's output, or a
    test's captured stream), not the one of the moment the handler was made."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            with write_mode():  # keeps iterate's progress bar whole in a terminal
                sys.stdout.write(self.format(record) + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the workflow
            self.handleError(record)


def _writes(action: str):
    """Mark a method of :class:`Inversions` that writes: it runs only on a writable project."""
    def decorate(method):
        @functools.wraps(method)
        def guarded(self, *args, **kwargs):
            self.p._require_writable(action)
            return method(self, *args, **kwargs)
        return guarded
    return decorate


class Inversions:
    def __init__(self, project):
        self.p = project
        self._listeners = []
        configure_logging()

    # --- queries -------------------------------------------------------------------------------
    def iterations(self, inverse_problem_configuration: str) -> list[int]:
        self.p.inverse_problem_configuration(inverse_problem_configuration)
        return self.p.paths.iterations(inverse_problem_configuration)

    def get_iteration(self, inverse_problem_configuration: str, iteration: int | None = None) -> Iteration:
        numbers = self.iterations(inverse_problem_configuration)
        if not numbers:
            raise ValueError(
                f"The inverse problem {inverse_problem_configuration!r} has no iteration yet; call "
                "p.inversions.add_iteration(inverse_problem_configuration=...) first."
            )
        number = numbers[-1] if iteration is None else iteration
        if number not in numbers:
            raise ValueError(f"Unknown iteration {number!r}; valid iterations are {numbers}.")
        return Iteration.load(self.p, inverse_problem_configuration, number)

    def _current(self, name: str) -> Iteration:
        """The iteration that ``resume`` and ``iterate`` work on: the newest, or its parent
        while the parent's finalize was cut short (the newest was added, the parent not
        yet marked completed: see ``Iteration._finalize``), so the parent is finished first."""
        newest = self.get_iteration(name)
        parent = newest.record.get("parent")
        if isinstance(parent, int) and parent in self.p.paths.iterations(name):
            before = Iteration.load(self.p, name, parent)
            if before.stage == "finalize":
                return before
        return newest

    def add_listener(self, callback) -> None:
        """``callback(iteration)`` after every resume step (the state layer uses it)."""
        self._listeners.append(callback)

    # --- the seed's calls ----------------------------------------------------------------------
    @_writes("add an iteration")
    def add_iteration(self, inverse_problem_configuration: str, from_iteration: tuple[str, int] | None = None) -> bool:
        """Add the first iteration (at the prior model), or a branch starting from a finished
        iteration of another inverse problem (``from_iteration=(name, number)``).

        Returns False, with a log line saying why, when the current iteration is unfinished
        (a finished iteration adds the next one itself).
        """
        with self.p.mutex:
            name = inverse_problem_configuration
            config = self.p.inverse_problem_configuration(name)
            numbers = self.p.paths.iterations(name)
            if numbers:
                current = Iteration.load(self.p, name, numbers[-1])
                if current.stage != "completed":
                    log.info(f"Iteration #{numbers[-1]} is not finished yet; resume it before adding another.")
                else:
                    log.info(f"Iteration #{numbers[-1]} is finished and the next one exists already.")
                return False
            log.info("Adding new iteration #0.")
            settings = config.method.settings()
            state = settings.initial_state().to_dict(arrays="numpy")
            if from_iteration is None:
                from .mapping import ParameterMap
                from . import discretisation as disc

                sim = self.p.simulation_configuration(config.prior_model)
                d = disc.discretisation(self.p, sim)
                x = np.zeros(ParameterMap(config.mapping, d.prior).n)
                parent = None
            else:
                source = Iteration.load(self.p, *from_iteration)
                if source.config.prior_model != config.prior_model or source.config.mapping != config.mapping:
                    raise ValueError("A branch must keep the prior model and the mapping of the iteration it starts from.")
                x = source.record["x"]
                parent = {"problem": from_iteration[0], "iteration": from_iteration[1]}
            Iteration.create(self.p, name, 0, x=x, trust_region=state, parent=parent)
            return True

    @_writes("resume an inversion")
    def resume(self, inverse_problem_configuration: str, retry_failed: bool = False) -> bool:
        """One step: issue the next tasks, submit jobs, collect what finished; return while
        jobs run. Returns True when the iteration it resumed is complete."""
        return self._step(inverse_problem_configuration, retry_failed)[1] == DONE

    @_writes("resume an inversion")
    def _step(self, name: str, retry_failed: bool, announce: bool = True) -> tuple[Iteration, str]:
        with self.p.mutex:
            it = self._current(name)
            if it.stage == "completed":
                log.info(f"Iteration #{it.number} is complete.")
                return it, DONE
            outcome = it.resume(retry_failed=retry_failed, announce=announce)
            for callback in self._listeners:
                callback(it)
            return it, outcome

    @_writes("iterate an inversion")
    def iterate(self, inverse_problem_configuration: str, timeout_in_seconds: float | None = None,
                ping_interval_in_seconds: float = 1.0, n_iterations: int = 1, retry_failed: bool = False,
                progress: bool = True) -> bool:
        """Run ``n_iterations`` complete iterations (default one), waiting for jobs between
        steps. Returns True when they are complete; False if ``timeout_in_seconds`` passes
        first (jobs keep running: call it again) or jobs failed (see the log).

        With ``progress`` (the default), a ``tqdm.auto`` bar shows the finished jobs of the
        task being waited for, one bar per task; the widgets' background iterate passes
        False (its log is the widget's).
        """
        name = inverse_problem_configuration
        start = time.monotonic()
        target = self._current(name).number + n_iterations
        announced = None
        bar = TaskProgress(enabled=progress)
        try:
            while True:
                it = self._current(name)
                if it.number >= target or it.stage == "completed":
                    return True
                it, outcome = self._step(name, retry_failed, announce=announced != it.number)
                announced = it.number
                bar.update(it)
                if outcome == DONE:
                    continue
                if outcome == FAILED:
                    return False
                if timeout_in_seconds is not None and time.monotonic() - start > timeout_in_seconds:
                    log.info(f"The timeout of {timeout_in_seconds} s has passed; jobs keep running. "
                             "Call iterate or resume again.")
                    return False
                self._wait(it, ping_interval_in_seconds, bar)
        finally:
            bar.close()

    def _wait(self, it: Iteration, seconds: float, bar: TaskProgress | None = None) -> None:
        """Wait up to ``seconds`` for the running jobs, one by one, so ``bar`` moves as each finishes."""
        running = it.running_jobs()
        deadline = time.monotonic() + seconds
        for site_name, job_id in running:
            # False before the deadline: a job its site does not know (the next step submits it again).
            if not get_site(site_name).wait([job_id], timeout=max(0.0, deadline - time.monotonic())):
                break
            if bar is not None:
                bar.update(it)
        if not running:
            time.sleep(seconds)
