"""``InversionState``: the observable truth about one inverse problem, for the views.

The project on disk is the only truth; this object is a *view model* of it. It is
rebuilt from disk by :meth:`InversionState.refresh`, which runs

- when the state is made (so widgets made after a kernel restart show what the
  project holds),
- after every ``resume`` step (``p.inversions.add_listener``), and
- whenever a job finishes at one of the problem's execution sites
  (``Site.add_done_callback``), from whichever thread noticed it.

Every container trait is replaced as a whole, so observers fire (traitlets only
notices assignments, not in-place changes), and equal values do not fire at all.

This module must not import ipywidgets (views observe the state, not the reverse), nor
the engine at import time: views import it, and views never import the engine.

>>> from fwi_widgets.state import InversionState  # doctest: +SKIP
>>> state = InversionState(p, "inv_70_120_seconds")  # doctest: +SKIP
>>> state.observe(lambda change: print(change["new"]), names="stage")  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

import traitlets
from traitlets import Bool, Dict, Float, HasTraits, Int, Tuple, Unicode, validate

__all__ = ["InversionState", "Selection"]

# Sites run jobs for these kinds of task (``InverseProblemConfiguration.job_submission``).
_SITE_KINDS = ("forward", "adjoint", "preconditioner")


class Selection(HasTraits):
    """What the user picked in one view, shared by all views of a project."""

    selected_station = Unicode(None, allow_none=True, help="Name (NET.STA) of the selected station, or None.")


class _WeakCallback:
    """Calls ``method`` of an object only while the object lives.

    Sites and ``p.inversions`` live for the whole process; holding states strongly
    there would keep every state (and its widgets) alive forever.
    """

    def __init__(self, method: Callable[..., Any]):
        self._ref = weakref.WeakMethod(method)

    def __call__(self, *args: Any) -> None:
        method = self._ref()
        if method is not None:
            method(*args)


def _last_line(text: str | None) -> str | None:
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else None


class InversionState(HasTraits):
    """Observable state of the inverse problem ``problem`` of ``project``.

    Parameters
    ----------
    project : fwi_widgets.project.Project
        An open project.
    problem : str
        The name of a registered inverse-problem configuration.

    Notes
    -----
    All traits but ``busy``, ``error`` and ``selected_station`` are derived from disk
    by :meth:`refresh`; setting them by hand is pointless (the next refresh replaces
    them). Observers may be called from worker threads; keep them cheap.
    """

    iterations = Tuple(help=(
        "One dict per iteration, oldest first: number, parent, stage, trial (the current trial index), "
        "chi (total misfit of the iteration's model, or None), gradient_norm, misfits ({event: value}), "
        "tr_radius (the trust-region radius, scaled units), accepted (True/False once a trial was decided, "
        "else None) and trials (tuple of dicts: trial, chi, misfits, pred, ared, norm_update, radius, accepted, reason)."
    ))
    current_iteration = Int(None, allow_none=True, help="Number of the newest iteration, or None before the first.")
    stage = Unicode("", help="Stage of the newest iteration ('initialize', ..., 'completed'), or '' before the first.")
    tasks = Tuple(help=(
        "The newest iteration's tasks, in issue order: dicts with name, status ('submitted', 'running', "
        "'done', 'failed'), n_done, n_jobs and jobs (tuple of dicts: event, job_id, status, attempts, error)."
    ))
    misfit_history = Tuple(help=(
        "Every evaluated total misfit in order: dicts with iteration, trial (None for the iteration's own model), "
        "chi, misfits ({event: value}) and accepted (True for an iteration's model and an accepted trial, "
        "False for a rejected trial)."
    ))
    station_misfits = Dict(help=(
        "{station: (first, latest)}: a station's misfit summed over the events at the first evaluated model "
        "and at the latest accepted one."
    ))
    tr_radius = Float(None, allow_none=True, help="Current trust-region radius (scaled units), or None.")
    pred = Float(None, allow_none=True, help="Predicted misfit reduction of the latest trial step, or None.")
    ared = Float(None, allow_none=True, help="Actual misfit reduction of the latest trial step, or None.")
    accepted = Bool(None, allow_none=True, help="Whether the latest trial step was accepted, or None if none was decided.")
    log = Tuple(help="The workflow's log lines of all iterations, oldest first (tuple of str).")
    busy = Bool(False, help="True while a resume step or a background iterate started from this state runs.")
    error = Unicode("", help="The last error of a step started from this state ('' when none).")
    selected_station = Unicode(None, allow_none=True, help="Name (NET.STA) of the selected station, or None.")

    def __init__(self, project, problem: str, **kwargs: Any):
        super().__init__(**kwargs)
        if not isinstance(problem, str):
            raise TypeError(f"The 'problem' parameter must be a str, but {problem!r} was given.")
        self.project = project
        self.problem = problem
        self._config = project.inverse_problem_configuration(problem)  # ValueError listing valid names
        self._station_names = tuple(s.name for s in project.events.stations())
        # refresh() may run in several threads at once (pool threads noticing jobs);
        # one rebuilds, the others leave a note that it must rebuild again. So does a
        # refresh asked for inside a rebuild, in the rebuilding thread (a site's info()
        # may call the done callbacks there): nested, it would publish newer values that
        # the outer rebuild then overwrites with older ones.
        self._refresh_lock = threading.RLock()
        self._refresh_pending = False
        self._rebuilding: int | None = None  # ident of the thread rebuilding now
        self._busy_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        # Completed iterations never change: their summaries and job results are cached.
        self._completed: dict[int, dict] = {}
        self._results: dict[str, dict] = {}
        self._sites: dict[str, Any] = {}
        root = hashlib.sha1(str(project.paths.root).encode()).hexdigest()[:8]
        self._job_prefix = f"{root}-{problem}-"
        self._on_job_done = _WeakCallback(self._job_done)
        project.inversions.add_listener(_WeakCallback(self._step_done))
        self._attach_sites()
        self.refresh()

    @property
    def events(self) -> tuple[str, ...]:
        """Names of the inverse problem's events."""
        return tuple(self._config.events)

    @property
    def stations(self) -> tuple[str, ...]:
        """Names (NET.STA) of the project's stations, as the project lists them; every
        event is recorded at all of them."""
        return self._station_names

    # --- validation ------------------------------------------------------------------------
    @validate("selected_station")
    def _valid_station(self, proposal):
        name = proposal["value"]
        if name is not None and name not in self._station_names:
            raise traitlets.TraitError(
                f"The 'selected_station' trait must be a station of the project, but {name!r} was given; "
                f"valid names are {list(self._station_names)}."
            )
        return name

    @validate("current_iteration")
    def _valid_current(self, proposal):
        # Checked against the iterations set in the same refresh (cross-validation
        # runs at the end of hold_trait_notifications).
        number = proposal["value"]
        numbers = [it["number"] for it in self.iterations]
        if number is not None and number not in numbers:
            raise traitlets.TraitError(
                f"The 'current_iteration' trait must be one of the iterations {numbers}, but {number!r} was given."
            )
        return number

    # --- wiring to the workflow and the sites -------------------------------------------------
    def _attach_sites(self) -> None:
        """Register with the problem's sites; again if a site was closed and made anew."""
        from .execution import get_site

        for kind in _SITE_KINDS:
            name = self._config.site_for(kind).site_name
            site = get_site(name)
            if self._sites.get(name) is not site:
                site.add_done_callback(self._on_job_done)
                self._sites[name] = site

    def _step_done(self, iteration) -> None:
        # Called inside p.inversions.resume: it must never raise into the workflow.
        try:
            self._attach_sites()
            self.refresh()
        except Exception as exc:  # noqa: BLE001 - shown in the widgets instead
            self.error = f"Refreshing the state failed: {type(exc).__name__}: {exc}"

    def _job_done(self, info) -> None:
        # Jobs of other projects and problems share the process-wide sites; they are
        # none of our business. Ids start ``<sha1(root)[:8]>-<problem>-`` (as
        # ``Iteration._job_id`` makes them).
        if not info.job_id.startswith(self._job_prefix):
            return
        self._refresh_pending = True
        self._try_refresh()

    def _try_refresh(self) -> None:
        """Refresh unless a refresh is running (it will refresh again when it ends)."""
        while (self._refresh_pending and self._rebuilding != threading.get_ident()
               and self._refresh_lock.acquire(blocking=False)):
            try:
                self._rebuild_now()
            except Exception as exc:  # noqa: BLE001 - a worker thread must not die of it
                self.error = f"Refreshing the state failed: {type(exc).__name__}: {exc}"
            finally:
                self._refresh_lock.release()

    def _rebuild_now(self) -> None:
        """One rebuild; the caller holds the refresh lock."""
        self._refresh_pending = False
        self._rebuilding = threading.get_ident()
        try:
            self._rebuild()
        finally:
            self._rebuilding = None

    def close(self) -> None:
        """Stop listening to the sites (the state then changes only on :meth:`refresh`)."""
        for site in self._sites.values():
            site.remove_done_callback(self._on_job_done)
        self._sites = {}

    # --- rebuilding from disk ------------------------------------------------------------------
    def refresh(self) -> None:
        """Rebuild every derived trait from the project on disk (blocking, thread-safe).

        Called back from inside a rebuild (an observer, a site's callback), it only
        asks for another round, which runs as soon as the current one has published.
        """
        if self._rebuilding == threading.get_ident():
            self._refresh_pending = True
            return
        with self._refresh_lock:
            self._rebuild_now()
        # A job that finished while we held the lock asked for another round.
        self._try_refresh()

    def _record(self, number: int) -> dict:
        from .project import store

        # The record's JSON only: its arrays (x, g, L-BFGS pairs) are not needed here,
        # and reading them could race with the writer removing superseded ones.
        return store.read_json(self.project.paths.record(self.problem, number))

    def _job_result(self, number: int, folder: str) -> dict | None:
        from .project import store

        path = self.project.paths.job_result(self.problem, number, folder)
        key = str(path)
        if key not in self._results:
            if not path.exists():
                return None
            self._results[key] = store.read_json(path)  # written last and never changed
        return self._results[key]

    def _job_status(self, number: int, job: dict) -> tuple[str, str | None]:
        """The record's status and error, completed by what the site and the disk know now.

        A job that failed since the last resume step is failed in the site only: its
        error comes from there, so the table shows it before anyone clicks again.
        """
        folder = job.get("folder", "")
        if job.get("status") != "submitted":
            return job.get("status", "submitted"), job.get("error")
        if folder and self.project.paths.job_result(self.problem, number, folder).exists():
            return "done", None
        site = self._sites.get(job.get("site"))
        if site is None:
            return "submitted", None
        info = site.info(job["job_id"])
        # "unknown": the site never saw it (e.g. after a restart); resume submits it again.
        status = {"pending": "submitted", "done": "done", "failed": "failed", "running": "running"}.get(
            info.status.value, "submitted")
        return status, info.error if status == "failed" else None

    def _tasks(self, number: int, record: dict) -> tuple:
        tasks = []
        for name, task in record.get("tasks", {}).items():
            if "jobs" in task:
                jobs = []
                for event, job in task["jobs"].items():
                    status, error = self._job_status(number, job)
                    jobs.append({"event": event, "job_id": job["job_id"], "status": status,
                                 "attempts": job.get("attempts", 1), "error": _last_line(error)})
                jobs = tuple(jobs)
            else:  # a single job for the whole task (the preconditioner)
                folder = {"folder": name} if name.startswith("preconditioner") else {}
                status, error = self._job_status(number, {**task, **folder}) if "job_id" in task else ("submitted", None)
                jobs = ({"event": None, "job_id": task.get("job_id", ""), "attempts": task.get("attempts", 1),
                         "error": _last_line(error), "status": status},)
            statuses = [j["status"] for j in jobs]
            status = ("failed" if "failed" in statuses else "done" if all(s == "done" for s in statuses)
                      else "running" if "running" in statuses or "done" in statuses else "submitted")
            tasks.append({"name": name, "status": status, "n_done": statuses.count("done"), "n_jobs": len(jobs),
                          "jobs": jobs})
        return tuple(tasks)

    def _summary(self, number: int, record: dict) -> dict:
        results = record.get("results", {})
        trials = tuple(
            {"trial": t["trial"], "chi": t["chi"], "misfits": dict(t.get("misfits", {})), "pred": t["pred"],
             "ared": t["ared"], "norm_update": t["norm_update"], "radius": t["radius"], "accepted": t["accepted"],
             "reason": t.get("reason", "")}
            for t in results.get("trials", [])
        )
        decided = [t["accepted"] for t in trials]
        return {
            "number": number, "parent": record.get("parent"), "stage": record["stage"], "trial": record.get("trial", 0),
            "chi": results.get("chi"), "gradient_norm": results.get("gradient_norm"),
            "misfits": dict(results.get("misfits", {})),
            "tr_radius": (record.get("trust_region") or {}).get("radius"),
            "accepted": (True in decided) if decided else None, "trials": trials,
        }

    def _station_evaluation(self, number: int, record: dict, task: str) -> dict | None:
        """{station: misfit summed over events} of one task's jobs, if all finished."""
        jobs = record.get("tasks", {}).get(task, {}).get("jobs", {})
        if not jobs:
            return None
        total: dict[str, float] = {}
        for job in jobs.values():
            result = self._job_result(number, job["folder"])
            if result is None:
                return None
            for station, value in result.get("per_station", {}).items():
                total[station] = total.get(station, 0.0) + float(value)
        return total

    def _rebuild(self) -> None:
        numbers = self.project.paths.iterations(self.problem)
        summaries, records, log = [], {}, []
        for number in numbers:
            if number in self._completed:
                summary, lines, record = self._completed[number]
            else:
                record = self._record(number)
                summary = self._summary(number, record)
                lines = tuple(line for message in record.get("log", []) for line in str(message).split("\n"))
                if summary["stage"] == "completed":
                    self._completed[number] = (summary, lines, record)
            records[number] = record
            summaries.append(summary)
            log.extend(lines)

        history, evaluations = [], []
        for summary in summaries:
            n, record = summary["number"], records[summary["number"]]
            if summary["chi"] is not None:
                history.append({"iteration": n, "trial": None, "chi": summary["chi"], "misfits": summary["misfits"],
                                "accepted": True})
            evaluations.append(self._station_evaluation(n, record, "misfit_and_gradient"))
            for t in summary["trials"]:
                history.append({"iteration": n, "trial": t["trial"], "chi": t["chi"], "misfits": t["misfits"],
                                "accepted": t["accepted"]})
                if t["accepted"]:
                    evaluations.append(self._station_evaluation(n, record, f"misfit_{t['trial']}"))
        evaluations = [e for e in evaluations if e]
        stations = {}
        if evaluations:
            first, latest = evaluations[0], evaluations[-1]
            stations = {s: (first[s], latest.get(s, first[s])) for s in first}

        all_trials = [t for s in summaries for t in s["trials"]]
        last_trial = all_trials[-1] if all_trials else None
        newest = summaries[-1] if summaries else None
        # Everything is read before anything is published: no disk or site call while
        # notifications are held.
        tasks = () if newest is None else self._tasks(newest["number"], records[newest["number"]])
        with self.hold_trait_notifications():
            self.iterations = tuple(summaries)
            self.current_iteration = None if newest is None else newest["number"]
            self.stage = "" if newest is None else newest["stage"]
            self.tasks = tasks
            self.misfit_history = tuple(history)
            self.station_misfits = stations
            self.tr_radius = None if newest is None else newest["tr_radius"]
            self.pred = None if last_trial is None else last_trial["pred"]
            self.ared = None if last_trial is None else last_trial["ared"]
            self.accepted = None if last_trial is None else last_trial["accepted"]
            self.log = tuple(log)

    # --- actions (what the buttons call) ----------------------------------------------------------
    def _claim(self) -> None:
        with self._busy_lock:
            if self.busy:
                raise RuntimeError(
                    f"The inverse problem {self.problem!r} is busy with a step started here; wait until 'busy' is False."
                )
            self.busy = True
        self.error = ""

    def _ensure_iteration(self) -> None:
        if not self.project.inversions.iterations(self.problem):
            self.project.inversions.add_iteration(inverse_problem_configuration=self.problem)

    def resume(self, retry_failed: bool = False) -> bool:
        """One ``p.inversions.resume`` step (adding iteration #0 first if there is none).

        ``busy`` is True while it runs; an exception is stored in ``error`` and raised.

        Returns
        -------
        bool
            True when the iteration it resumed is complete.
        """
        self._claim()
        try:
            self._ensure_iteration()
            return self.project.inversions.resume(self.problem, retry_failed=retry_failed)
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            self._step_done(None)
            self.busy = False

    def iterate_in_background(self, timeout_in_seconds: float | None = None, ping_interval_in_seconds: float = 0.5,
                              n_iterations: int = 1) -> threading.Thread:
        """Run ``p.inversions.iterate`` in a background thread and return the thread.

        ``busy`` becomes True before this returns and False when the thread ends; an
        exception raised by the workflow lands in ``error`` (the thread itself ends
        quietly). The state updates from that thread as steps and jobs finish.

        Parameters
        ----------
        timeout_in_seconds : float or None
            Give up waiting after this many seconds (s); jobs keep running.
        ping_interval_in_seconds : float
            How often to look for finished jobs (s).
        n_iterations : int
            How many complete iterations to run.
        """
        if timeout_in_seconds is not None and not timeout_in_seconds > 0:
            raise ValueError(f"The 'timeout_in_seconds' parameter must be positive, but {timeout_in_seconds!r} was given.")
        if not ping_interval_in_seconds > 0:
            raise ValueError(
                f"The 'ping_interval_in_seconds' parameter must be positive, but {ping_interval_in_seconds!r} was given."
            )
        self._claim()

        def run() -> None:
            try:
                self._ensure_iteration()
                finished = self.project.inversions.iterate(
                    self.problem, timeout_in_seconds=timeout_in_seconds,
                    ping_interval_in_seconds=ping_interval_in_seconds, n_iterations=n_iterations,
                    progress=False,  # the widgets show the tasks; a bar would land in the widget's log
                )
                if not finished and any(t["status"] == "failed" for t in self.tasks):
                    self.error = "Jobs failed; see the task table and the log, then resume with retry."
            except Exception as exc:  # noqa: BLE001 - a background thread has nobody to raise to
                self.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=-3)}"
            finally:
                self._step_done(None)
                self.busy = False

        self._worker = threading.Thread(target=run, name=f"iterate-{self.problem}", daemon=True)
        try:
            self._worker.start()
        except BaseException:
            self.busy = False
            raise
        return self._worker

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for a background iterate to end; True if none is running any more."""
        worker = self._worker
        if worker is not None:
            worker.join(timeout)
            return not worker.is_alive()
        return True
