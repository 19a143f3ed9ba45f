"""One iteration of the trust-region inversion as a resumable, task-based state machine.

Stages (as in the seed tutorial): ``initialize`` -> ``misfit_and_gradient`` (a job per
event: forward, misfit, adjoint, gradient) -> ``check_convergence`` -> ``preconditioner``
(a job: smooth the gradient and propose the trust-region step) -> ``misfit`` (a job per
control-group event at the trial model) -> accept (``finalize``, which adds the next
iteration) or reject (shrink the radius, back to ``preconditioner``).

Every transition is written to the iteration's record before anything else happens
(write-ahead), jobs are idempotent and done exactly when their ``result.json`` exists,
so a process killed at any point resumes from the record: finished jobs are collected,
jobs whose process is gone are submitted again, nothing finished runs twice.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.optimize import StepProposal, TrustRegionState, decide, update_memory

from ..execution import JobStatus, get_site
from ..execution.base import damaged_outputs
from ..project import store
from . import discretisation as disc
from .jobs import simulation_job, update_job
from .mapping import ParameterMap
from .preconditioning import build_preconditioner
from .records import load_state, save_state

__all__ = ["Iteration", "STAGES", "InversionError", "GRADIENT_TOLERANCE", "SKIPPED_WARNING_FRACTION"]

STAGES = ("initialize", "misfit_and_gradient", "check_convergence", "preconditioner", "misfit", "finalize", "completed")
log = logging.getLogger("fwi_widgets")

WAIT, CONTINUE, DONE, FAILED = "wait", "continue", "done", "failed"
#: The log line after failed jobs: what a user does about them, in a notebook or in the widget.
RETRY_HINT = ("Fix the cause, then click 'Retry failed jobs' in the inversion widget (p.viz.nb.inversion), "
              "or call resume(..., retry_failed=True), to run the failed jobs again.")
#: Converged means ||g|| <= GRADIENT_TOLERANCE * ||g|| of the first iteration (of this chain of
#: iterations), with valid measurements; a gradient that is zero for another reason is an error.
GRADIENT_TOLERANCE = 1e-3
#: An event with at least this fraction of its measurements skipped is a warning in the log.
SKIPPED_WARNING_FRACTION = 0.25
_LISTED = 8  # stations named per event in a log line


class InversionError(RuntimeError):
    """The inversion cannot go on: the data or the configuration make it meaningless.

    ``cause`` is one of ``"no_valid_measurements"``, ``"cutout_removes_gradient"``,
    ``"zero_gradient"``; the message says what was wrong and what to do.
    """

    def __init__(self, message: str, cause: str):
        super().__init__(message)
        self.cause = cause


def _reason(record: dict) -> str:
    # "phase difference still jumps by more than pi (cycle skip)" -> one category per kind.
    return str(record.get("reason", "unknown reason")).split(" (")[0]


def measurement_summary(results: dict[str, dict]) -> dict[str, dict]:
    """Per event: measurements asked for, skipped (by reason, with their stations), valid.

    ``results`` are the jobs' ``result.json`` by event. ``n`` and ``valid`` are None for
    results written before jobs counted their measurements.
    """
    out = {}
    for event, res in results.items():
        skipped = res.get("skipped", [])
        reasons: dict[str, list[str]] = {}
        for s in skipped:
            reasons.setdefault(_reason(s), []).append(f"{s.get('receiver')}.{s.get('component')}")
        n = res.get("n_measurements")
        out[event] = {"n": n, "skipped": len(skipped), "reasons": reasons,
                      "valid": None if n is None else max(int(n) - len(skipped), 0)}
    return out


def _reasons_text(reasons: dict[str, list[str]]) -> str:
    parts = []
    for reason, traces in sorted(reasons.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(sorted(set(traces))[:_LISTED])
        more = len(set(traces)) - _LISTED
        parts.append(f"{len(traces)} {reason} ({shown}{f', and {more} more' if more > 0 else ''})")
    return "; ".join(parts)


#: What to do about each skip reason (the reason's text up to " (").
_ADVICE = {
    "observed data contain NaN or inf in the window": "replace the observed data (p.add_observed_data refuses NaN and inf)",
    "observed data are all zero in the window": "check the observed data: dead channels, wrong station codes, or traces "
                                                "that do not cover the windows (start time, sampling-rate header)",
    "no observed trace for this station and component": "add observed traces for these stations, or remove the stations",
    "synthetic data are all zero in the window": "check the source (its moment tensor or force) and the windows",
    "phase difference still jumps by more than pi": "start from a closer model or use longer periods "
                                                   "(min_period_in_seconds), where the data are not cycle-skipped",
    "data and synthetics share no energy in the time-frequency plane": "check the windows (window picking velocities) "
                                                                      "and the timing of the observed data",
}


def _advice(reasons) -> str:
    known = [_ADVICE[r] for r in sorted(reasons) if r in _ADVICE]
    return "; ".join(known) if known else "check the observed data and the windows of the misfit configuration"


class Iteration:
    """The record of iteration ``number`` of inverse problem ``problem`` and its stage logic."""

    def __init__(self, project, problem: str, number: int, record: dict):
        self.p, self.problem, self.number, self.record = project, problem, number, record
        self.config = project.inverse_problem_configuration(problem)
        self.paths = project.paths

    # --- persistence ---------------------------------------------------------------------
    @classmethod
    def load(cls, project, problem: str, number: int) -> "Iteration":
        # A damaged record array is read from its identical copy, and put back by a process that may write.
        record = load_state(project.paths.record(problem, number), repair=not getattr(project, "read_only", True))
        return cls(project, problem, number, record)

    @classmethod
    def create(cls, project, problem: str, number: int, x: np.ndarray, trust_region: dict, parent=None,
               previous: dict | None = None) -> "Iteration":
        record = {
            "problem": problem, "iteration": number, "parent": parent, "stage": "initialize", "trial": 0,
            "x": x, "trust_region": trust_region, "previous": previous or {}, "tasks": {}, "results": {"trials": []},
            "log": [],
        }
        it = cls(project, problem, number, record)
        it._write_model("model.nc", x)
        it.save()
        return it

    def save(self) -> None:
        save_state(self.paths.record(self.problem, self.number), self.record)

    @property
    def stage(self) -> str:
        return self.record["stage"]

    def _set_stage(self, stage: str) -> None:
        self.record["stage"] = stage
        self.save()

    def say(self, message: str) -> None:
        self.record["log"].append(message)
        log.info(message)

    def warn(self, message: str) -> None:
        """A log line at warning level (in the record too, marked, for the widget's log)."""
        self.record["log"].append(f"WARNING: {message}")
        log.warning(message)

    def _fail(self, message: str, cause: str) -> InversionError:
        """Log and record an error that stops the inversion, and return it to raise."""
        self.record["log"].append(f"ERROR: {message}")
        log.error(message)
        self.save()
        return InversionError(message, cause)

    # --- shared objects ------------------------------------------------------------------
    def _disc(self):
        sim = self.p.simulation_configuration(self.config.prior_model)
        return disc.discretisation(self.p, sim), sim

    def parameter_map(self) -> ParameterMap:
        d, _ = self._disc()
        return ParameterMap(self.config.mapping, d.prior)

    def preconditioner(self, pmap: ParameterMap):
        return _cached_preconditioner(self, pmap)

    def _write_model(self, name: str, x: np.ndarray) -> None:
        pmap = self.parameter_map()
        store.write_netcdf(self.paths.iteration_file(self.problem, self.number, name), disc.model_to_dataset(pmap.model(x)))

    def model(self, which: str = "current"):
        """The engine model of this iteration ("current") or of its latest trial ("trial")."""
        d, _ = self._disc()
        name = "model.nc" if which == "current" else f"trial_{self.record['trial']}.nc"
        try:
            return disc.model_from_dataset(d.mesh, store.read_netcdf(self.paths.iteration_file(self.problem, self.number, name)))
        except store.CorruptFileError:
            # The file only caches what the record holds: the model follows from x (and the trial's step).
            return self.parameter_map().model(self._model_x(name))

    def _model_x(self, name: str) -> np.ndarray:
        """The scaled model vector of ``model.nc`` (x) or of ``trial_<n>.nc`` (x plus the step of proposal n)."""
        if name == "model.nc":
            return self.record["x"]
        trial = name.removeprefix("trial_").removesuffix(".nc")
        proposal = load_state(self.paths.iteration_file(self.problem, self.number, f"proposal_{trial}.json"))
        return self.record["x"] + proposal["proposal"]["step"]

    def _ensure_model(self, name: str) -> None:
        """Write ``model.nc`` or ``trial_<n>.nc`` again if it is damaged, before jobs read it.

        Both are written from the record (and the proposal), so writing them again loses nothing.
        """
        path = self.paths.iteration_file(self.problem, self.number, name)
        try:
            store.verify(path)
        except (store.CorruptFileError, FileNotFoundError) as error:
            what = f"damaged ({error.problem})" if isinstance(error, store.CorruptFileError) else "missing"
            self._write_model(name, self._model_x(name))
            self.say(f"The model file {path} was {what}; it was written again from the iteration's record.")

    # --- one resume step -------------------------------------------------------------------
    def resume(self, retry_failed: bool = False, announce: bool = True) -> str:
        """Advance until jobs must run (WAIT), the iteration completes (DONE) or jobs failed."""
        if announce:
            self.say(f"Resuming iteration #{self.number}.\nCurrent stage: {self.stage}")
        handlers = {
            "initialize": self._initialize, "misfit_and_gradient": self._misfit_and_gradient,
            "check_convergence": self._check_convergence, "preconditioner": self._preconditioner,
            "misfit": self._trial_misfit, "finalize": self._finalize,
        }
        while self.stage != "completed":
            outcome = handlers[self.stage](retry_failed)
            self.save()
            if outcome in (WAIT, FAILED):
                if outcome == WAIT:
                    self.say(f"Some tasks of iteration #{self.number} are still running. Please check again later.")
                return outcome
        return DONE

    def _initialize(self, retry_failed) -> str:
        self._check_cutouts()
        self.say("1 new tasks have been issued.")
        self._set_stage("misfit_and_gradient")
        return CONTINUE

    # --- jobs --------------------------------------------------------------------------------
    def _job_id(self, task: str, event: str) -> str:
        root = hashlib.sha1(str(self.paths.root).encode()).hexdigest()[:8]
        return f"{root}-{self.problem}-{self.number:04d}-{task}-{self.record['trial']}-{event}"

    def _folder(self, task: str, event: str) -> str:
        return f"{task}_{self.record['trial']}_{event}"

    def _run_jobs(self, task: str, kind: str, events: list[str], model_file: str, retry_failed: bool) -> str:
        """Submit the task's jobs once; then report WAIT / FAILED / DONE from disk and the site."""
        self._ensure_model(model_file)  # the jobs read it: a damaged one is written again first
        site_cfg = self.config.site_for("adjoint" if kind == "gradient" else "forward")
        site = get_site(site_cfg.site_name)
        jobs = self.record["tasks"].setdefault(task, {}).setdefault("jobs", {})
        if not jobs:
            for event in events:
                jobs[event] = {"job_id": self._job_id(task, event), "folder": self._folder(task, event),
                               "status": "submitted", "attempts": 1, "site": site_cfg.site_name}
            self.save()  # write-ahead: recorded before submission, so a crash cannot submit twice unknowingly
            self.say(f"Submitting job array with {len(events)} jobs ...")
            for event in events:
                self._submit(site, site_cfg, jobs[event], event, kind, model_file)
            what = "adjoint simulations" if kind == "gradient" else "simulations"
            self.say(f"Launched {what} for {len(events)} events. Please check again to see if they are finished.")
            return WAIT
        self.say(f"{len(jobs)} events have already been submitted. They will not be submitted again.")
        return self._poll(jobs, lambda event: self._submit(site, site_cfg, jobs[event], event, kind, model_file),
                          retry_failed, describe=lambda event: f"Job for event {event}",
                          still_running="Some simulations are still running. Please check again to see if they are finished.")

    def _submit(self, site, site_cfg, job: dict, event: str, kind: str, model_file: str) -> None:
        spec = {"problem": self.problem, "iteration": self.number, "job_id": job["folder"], "event": event,
                "model": model_file, "model_iteration": self.number, "gradient": kind == "gradient",
                "simulation_configuration": self.config.prior_model,
                "misfit_configuration": self.config.misfit_configuration, "attempt": job["attempts"]}
        if kind == "misfit":
            current = self.record["tasks"]["misfit_and_gradient"]["jobs"][event]["folder"]
            result = store.read_json(self.paths.job_result(self.problem, self.number, current))
            spec["exclude_receivers"] = sorted({s["receiver"] for s in result.get("skipped", [])})
        site.submit(job["job_id"], simulation_job, str(self.paths.root), spec, ranks_per_job=site_cfg.ranks_per_job)

    def _poll(self, jobs: dict, resubmit: Callable[[str], None], retry_failed: bool, describe: Callable[[str], str],
              still_running: str, outputs: Callable[[str], list] | None = None) -> str:
        """Collect one task's jobs (``{key: job record}``) from disk and their site.

        A job is done when its ``result.json`` exists and its outputs are intact
        (checked when it is first seen done, and again right before the task's outputs
        are collected). A job the site never saw (its process is gone, e.g. after a
        restart) is lost and submitted again at once; so is a job with a damaged output
        (its damaged files and its ``result.json`` are deleted first, and a log line
        says so). A failed job keeps its error in the record and stays failed, across
        restarts too, until ``retry_failed``. ``resubmit(key)`` submits a job again;
        ``describe(key)`` names it in the log; ``outputs(key)`` lists the job's outputs
        outside its folder. Returns DONE, WAIT or FAILED.
        """
        running, failed, lost, damaged, checked = [], [], [], {}, set()

        def check(key, job) -> bool:
            checked.add(key)
            folder = self.paths.job(self.problem, self.number, job["folder"])
            found = damaged_outputs(folder, also=outputs(key) if outputs else ())
            if found:
                damaged[key] = found
            return not found

        for key, job in jobs.items():
            if job["status"] == "damaged":  # marked so before a crash: it still has to run again
                damaged[key] = []
                continue
            if self.paths.job_result(self.problem, self.number, job["folder"]).exists():
                if job["status"] == "done" or check(key, job):
                    job["status"] = "done"
                continue
            info = get_site(job["site"]).info(job["job_id"])
            if info.status == JobStatus.FAILED:
                job["status"], job["error"] = "failed", info.error
                failed.append(key)
            elif info.status == JobStatus.UNKNOWN and job["status"] == "failed":
                # Failed before a restart: it stays failed (with its error) until a retry.
                failed.append(key)
            elif info.status == JobStatus.UNKNOWN:
                lost.append(key)
            elif info.status == JobStatus.DONE:
                # Finished, but its result.json is gone (deleted as damaged while the site had not yet
                # noticed the run had ended): it runs again.
                result = self.paths.job_result(self.problem, self.number, job["folder"])
                damaged[key] = [FileNotFoundError(2, "missing", str(result))]
            else:
                running.append(key)
        if not (running or failed or lost or damaged):
            for key, job in jobs.items():  # all done: once more, right before the outputs are read
                if key not in checked:
                    check(key, job)
        if lost:
            self.say(f"{len(lost)} job(s) were lost (the process that ran them is gone) and are submitted again: {lost}.")
        for key, found in damaged.items():
            self._discard_damaged(jobs[key], found, describe(key))
            lost.append(key)
        if failed and retry_failed:
            self.say(f"Retrying {len(failed)} failed job(s): {failed}.")
        for key in lost + (failed if retry_failed else []):
            jobs[key]["attempts"] += 1
            jobs[key]["status"] = "submitted"
            jobs[key].pop("error", None)  # the log keeps it; the table shows the new attempt
            self.save()  # write-ahead, as for the first submission
            resubmit(key)
            running.append(key)
        if failed and not retry_failed:
            for key in failed:
                last = (jobs[key].get("error") or "").strip().splitlines()[-1:] or ["unknown error"]
                self.say(f"{describe(key)} failed: {last[0]}")
            self.say(RETRY_HINT)
            return FAILED
        if running:
            self.say(still_running)
            return WAIT
        return DONE

    def _discard_damaged(self, job: dict, found: list, name: str) -> None:
        """Treat a job with damaged outputs as lost: delete them and its result, so that it runs again."""
        paths = [getattr(error, "path", None) or Path(error.filename) for error in found]
        if found:
            what = "; ".join(f"{path} ({getattr(error, 'problem', 'missing')})" for path, error in zip(paths, found))
            self.say(f"{name} has damaged output(s): {what}. The job is treated as lost and runs again.")
        job["status"] = "damaged"
        self.save()  # write-ahead: after a crash from here on, the job still runs again
        for path in paths + [self.paths.job_result(self.problem, self.number, job["folder"])]:
            for stale in (path, path.with_name(path.name + ".sha256")):
                stale.unlink(missing_ok=True)
        get_site(job["site"]).discard(job["job_id"])

    def _results(self, task: str) -> dict:
        jobs = self.record["tasks"][task]["jobs"]
        return {e: store.read_json(self.paths.job_result(self.problem, self.number, j["folder"])) for e, j in jobs.items()}

    def running_jobs(self) -> list[tuple[str, str]]:
        """``(site name, job id)`` of every job the record has as submitted, in issue order."""
        return [(job["site"], job["job_id"]) for task in self.record["tasks"].values()
                for job in list(task.get("jobs", {}).values()) + [task]
                if job.get("status") == "submitted" and job.get("site") and job.get("job_id")]

    def task_progress(self, task: str) -> tuple[int, int]:
        """``(n_done, n_jobs)`` of one task: its jobs whose ``result.json`` is on disk, and all its jobs.

        Read from disk, so it counts jobs that finished since the last resume step too.
        """
        record = self.record["tasks"][task]
        jobs = list(record.get("jobs", {}).values()) if "jobs" in record else [record]
        done = sum(1 for job in jobs
                   if job.get("folder") and self.paths.job_result(self.problem, self.number, job["folder"]).exists())
        return done, len(jobs)

    # --- stages ---------------------------------------------------------------------------------
    def _misfit_and_gradient(self, retry_failed) -> str:
        self.say("Processing task `misfit_and_gradient`")
        status = self._run_jobs("misfit_and_gradient", "gradient", self.config.events, "model.nc", retry_failed)
        if status != DONE:
            return status
        results = self._results("misfit_and_gradient")
        summary = self._report_measurements(results, "the current model")
        pmap = self.parameter_map()
        d, _ = self._disc()
        receivers = disc.receivers_for(self.p)
        g = np.zeros(pmap.n)
        g_uncut = np.zeros(pmap.n)  # without the cutouts: tells a removed gradient from a zero one
        for event, res in results.items():
            job = self.record["tasks"]["misfit_and_gradient"]["jobs"][event]
            grads = store.read_netcdf(self.paths.job(self.problem, self.number, job["folder"]) / "gradient.nc")
            taper = pmap.cutout(disc.event_location(self.p, event), disc.receiver_locations(receivers))
            arrays = {k: grads[k].values for k in grads.data_vars}
            g += pmap.gradient(arrays, taper)
            g_uncut += pmap.gradient(arrays)
        if not np.any(g) and np.any(g_uncut):
            raise self._fail(self._cutout_message(), "cutout_removes_gradient")
        misfits = {e: r["misfit"] for e, r in results.items()}
        chi = float(sum(misfits.values()))
        norm = float(np.linalg.norm(g))
        valid = [v["valid"] for v in summary.values()]
        prev = self.record["previous"]
        initial = prev.get("initial_gradient_norm")
        self.record["results"].update(
            misfits=misfits, chi=chi, gradient_norm=norm,
            n_valid_measurements=None if None in valid else int(sum(valid)),
            initial_gradient_norm=norm if initial is None else float(initial),
        )
        self.record["g"] = g
        if prev.get("step") is not None:
            # L-BFGS pair of the accepted step: s from the parent's proposal, y = g_new - g_old (control group).
            state = TrustRegionState.from_dict(self.record["trust_region"])
            proposal = StepProposal.from_dict(prev["step"])
            state = update_memory(state, proposal, g - prev["g"], precondition=self.preconditioner(pmap))
            self.record["trust_region"] = state.to_dict(arrays="numpy")
        fmt = lambda key: "---" if prev.get(key) is None else repr(prev[key])  # noqa: E731
        self.say(
            f"\nIteration {self.number}: Number of events: {len(misfits)}\t chi = {chi!r}\t ||g|| = {float(np.linalg.norm(g))!r}\n"
            f"pred = {fmt('pred')}\tared = {fmt('ared')}\tnorm_update = {fmt('norm_update')}\ttr_radius = {fmt('tr_radius')}"
        )
        self._set_stage("check_convergence")
        return CONTINUE

    def _check_convergence(self, retry_failed) -> str:
        """Converged only with valid measurements and a gradient that has become small:
        ``||g|| <= GRADIENT_TOLERANCE * ||g_0||`` (g_0 of the first iteration), or zero
        with a zero misfit (the data are fit exactly). Any other zero gradient is an
        :class:`InversionError`, never "converged"."""
        results = self.record["results"]
        g = self.record["g"]
        norm = float(np.linalg.norm(g))
        if results.get("n_valid_measurements") == 0:  # records of older jobs: None, checked in the jobs' stage
            raise self._fail("No valid measurement: nothing to invert (see the warnings above).", "no_valid_measurements")
        if not np.any(g):
            if results.get("chi") == 0.0:
                self.say(f"The misfit is zero ({results.get('n_valid_measurements', 'all')} valid measurements fit "
                         "exactly), so is the gradient: the inversion has converged.")
                self._set_stage("completed")
                return DONE
            raise self._fail(
                f"The gradient is zero although the misfit is {results.get('chi')!r} from "
                f"{results.get('n_valid_measurements')} valid measurement(s): the adjoint sources or the sensitivity to "
                f"the inversion parameters {list(self.config.mapping.inversion_parameters)} vanish. Check that the "
                "inversion parameters drive the simulated physics, and the adjoint sources of the jobs "
                "(adjoint_source.nc).", "zero_gradient")
        initial = results.get("initial_gradient_norm")
        if self.record["previous"].get("step") is not None and initial and norm <= GRADIENT_TOLERANCE * initial:
            self.say(f"||g|| = {norm!r} is below {GRADIENT_TOLERANCE:g} of the first iteration's ({initial!r}), with "
                     f"{results.get('n_valid_measurements')} valid measurement(s): the inversion has converged.")
            self._set_stage("completed")
            return DONE
        self.say("1 new tasks have been issued.")
        self._set_stage("preconditioner")
        return CONTINUE

    def _preconditioner(self, retry_failed) -> str:
        self.say("Processing task `preconditioner`")
        task_name = f"preconditioner_{self.record['trial']}"
        task = self.record["tasks"].setdefault(task_name, {})
        site_cfg = self.config.site_for("preconditioner")
        site = get_site(site_cfg.site_name)
        if "job_id" not in task:
            task.update(job_id=self._job_id("preconditioner", "all"), folder=task_name, status="submitted", attempts=1,
                        site=site_cfg.site_name)
            self.save()  # write-ahead, as for simulation jobs
            self._submit_update(site, site_cfg, task)
        else:
            # Records written before the preconditioner job kept its folder and attempts.
            task.setdefault("folder", task_name)
            task.setdefault("attempts", 1)
        status = self._poll({task_name: task}, lambda _: self._submit_update(site, site_cfg, task), retry_failed,
                            describe=lambda _: "The preconditioner job",
                            still_running="The preconditioner job is still running. Please check again later.",
                            outputs=lambda _: self._update_outputs(self.record["trial"]))
        if status != DONE:
            return status
        self.say("1 new tasks have been issued.")
        self._set_stage("misfit")
        return CONTINUE

    def _update_outputs(self, trial: int) -> list:
        """The files the preconditioner job of ``trial`` writes outside its folder (see ``jobs.update_job``)."""
        names = [f"trial_{trial}.nc", f"proposal_{trial}.json"]
        if self.config.preconditioner is not None:
            names.append("gradient_preconditioned.npy")
        return [self.paths.iteration_file(self.problem, self.number, name) for name in names]

    def _submit_update(self, site, site_cfg, task: dict) -> None:
        spec = {"problem": self.problem, "iteration": self.number, "job_id": task["folder"], "trial": self.record["trial"],
                "attempt": task["attempts"]}
        site.submit(task["job_id"], update_job, str(self.paths.root), spec, ranks_per_job=site_cfg.ranks_per_job)

    def _trial_misfit(self, retry_failed) -> str:
        self.say("Processing task `misfit`")
        trial = self.record["trial"]
        status = self._run_jobs(f"misfit_{trial}", "misfit", self.config.events, f"trial_{trial}.nc", retry_failed)
        if status != DONE:
            return status
        trial_results = self._results(f"misfit_{trial}")
        self._report_measurements(trial_results, f"trial model {trial}")
        new = {e: r["misfit"] for e, r in trial_results.items()}
        old = self.record["results"]["misfits"]
        old_total, new_total = float(sum(old.values())), float(sum(new.values()))
        proposal_state = load_state(self.paths.iteration_file(self.problem, self.number, f"proposal_{trial}.json"))
        proposal = StepProposal.from_dict(proposal_state["proposal"])
        state = TrustRegionState.from_dict(self.record["trust_region"])
        settings = self.config.method.settings()
        decision = decide(settings, state, proposal, ared=old_total - new_total)
        improved = sum(new[e] < old[e] for e in new)
        self.say(
            f"\nold misfit control group: {old_total!r}\nnew misfit control group: {new_total!r}\n"
            f"predicted reduction control group: {-proposal.pred!r}\nactual reduction control group: {new_total - old_total!r}\n"
            f"{improved} out of {len(new)} event(s) improved the misfit."
        )
        self.record["results"]["trials"].append({
            "trial": trial, "misfits": new, "chi": new_total, "pred": proposal.pred, "ared": old_total - new_total,
            "norm_update": proposal.norm_update, "radius": proposal.radius, "accepted": decision.accepted,
            "reason": decision.reason, "kind": proposal.kind,
        })
        self.record["trust_region"] = decision.state.to_dict(arrays="numpy")
        if decision.accepted:
            self.say("\nModel update accepted.")
            self.record["accepted_trial"] = trial
            self._set_stage("finalize")
        else:
            self.say(f"\nModel update rejected: {decision.reason}.")
            self.record["trial"] = trial + 1
            self._set_stage("preconditioner")
        return CONTINUE

    def _finalize(self, retry_failed) -> str:
        """Add iteration #N+1 and mark this one completed, safely against a crash anywhere.

        Write-ahead: the log lines and the number of the next iteration are saved first
        (``record["next"]``). Then #N+1 is made unless its record exists (its record is
        written last, and everything in it follows from this record, so making it again
        after a crash gives the same files), and only then is #N marked completed. A
        crash in between leaves #N in "finalize" beside a complete #N+1; ``resume`` and
        ``iterate`` finish #N first (``Inversions._current``), which then only marks
        it completed.
        """
        nxt = self.number + 1
        if self.record.get("next") != nxt:
            self.say(f"Successfully completed iteration #{self.number}.")
            self.say(f"Adding new iteration #{nxt}.")
            self.record["next"] = nxt
            self.save()
        if not self.paths.record(self.problem, nxt).exists():
            trial = self.record["accepted_trial"]
            proposal = load_state(self.paths.iteration_file(self.problem, self.number, f"proposal_{trial}.json"))
            accepted = self.record["results"]["trials"][-1]
            Iteration.create(
                self.p, self.problem, nxt, x=self.record["x"] + proposal["proposal"]["step"],
                trust_region=self.record["trust_region"], parent=self.number,
                previous={"pred": accepted["pred"], "ared": accepted["ared"], "norm_update": accepted["norm_update"],
                          "tr_radius": accepted["radius"], "step": proposal["proposal"], "g": self.record["g"],
                          "initial_gradient_norm": self.record["results"].get("initial_gradient_norm")},
            )
        self._set_stage("completed")
        return DONE

    # --- checks that keep "converged" honest ------------------------------------------------
    def _cutout_tapers(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per event: (source-only taper, receivers-only taper), as ParameterMap.cutout makes them."""
        from engine.cutouts import cutout_taper

        pmap = self.parameter_map()
        mesh, ones = pmap.prior.mesh, np.ones(pmap.shape)
        locations = disc.receiver_locations(disc.receivers_for(self.p))
        src = self.config.mapping.source_cutout_radius_in_meters
        rec = self.config.mapping.receiver_cutout_radius_in_meters
        receivers = cutout_taper(mesh, locations, rec) if rec and locations else ones
        return {event: (cutout_taper(mesh, [disc.event_location(self.p, event)], src) if src else ones,
                        receivers) for event in self.config.events}

    def _cutout_message(self) -> str:
        mapping = self.config.mapping
        src, rec = mapping.source_cutout_radius_in_meters, mapping.receiver_cutout_radius_in_meters
        tapers = self._cutout_tapers()
        if all(not np.any(s) for s, _ in tapers.values()):
            fix = "reduce source_cutout_radius_in_meters"
        elif all(not np.any(r) for _, r in tapers.values()):
            fix = "reduce receiver_cutout_radius_in_meters"
        else:
            fix = "reduce source_cutout_radius_in_meters or receiver_cutout_radius_in_meters"
        (x0, x1), (y0, y1) = self.p.domain.extent
        where = (f"of every event in the {(x1 - x0) / 1e3:.0f} km x {(y1 - y0) / 1e3:.0f} km domain"
                 if all(not np.any(s * r) for s, r in tapers.values())
                 else "(all of its nonzero values lie within them)")
        return (f"The cutouts (source {_km(src)}, receiver {_km(rec)}) remove the whole gradient {where}, "
                f"so the inversion cannot move (this is not "
                f"convergence): {fix} in the sn.Mapping of inverse problem {self.problem!r} (a cutout is zero within "
                "its radius and tapers to one over the next radius), and add it as a new inverse problem.")

    def _check_cutouts(self) -> None:
        """Before any simulation: the cutouts must leave some of the gradient of some event."""
        mapping = self.config.mapping
        if not (mapping.source_cutout_radius_in_meters or mapping.receiver_cutout_radius_in_meters):
            return
        tapers = self._cutout_tapers()
        removed = [e for e, (s, r) in tapers.items() if not np.any(s * r)]
        if len(removed) == len(tapers):
            raise self._fail(self._cutout_message(), "cutout_removes_gradient")
        if removed:
            self.warn(f"The cutouts remove the whole gradient of {len(removed)} of {len(tapers)} event(s), which "
                      f"contribute to the misfit only: {removed}. Reduce source_cutout_radius_in_meters or "
                      "receiver_cutout_radius_in_meters if they should shape the model.")

    def _report_measurements(self, results: dict[str, dict], where: str) -> dict[str, dict]:
        """Log the skipped measurements per event (a warning from SKIPPED_WARNING_FRACTION on,
        or for an event without a valid one); raise if no event has a valid measurement."""
        summary = measurement_summary(results)
        for event, s in summary.items():
            if not s["skipped"]:
                continue
            total = s["n"]
            line = (f"Event {event} ({where}): {s['skipped']}" + ("" if total is None else f" of {total}")
                    + f" measurement(s) skipped, contributing nothing: {_reasons_text(s['reasons'])}.")
            fraction = None if not total else s["skipped"] / total
            if fraction is not None and fraction >= SKIPPED_WARNING_FRACTION:
                self.warn(line + f" That is {fraction:.0%} (warning from {SKIPPED_WARNING_FRACTION:.0%} on): "
                          f"{_advice(s['reasons'])}.")
            else:
                self.say(line)
        empty = [e for e, s in summary.items() if s["valid"] == 0]
        if empty and len(empty) == len(summary):
            reasons: dict[str, list[str]] = {}
            for s in summary.values():
                for reason, traces in s["reasons"].items():
                    reasons.setdefault(reason, []).extend(traces)
            counts = "; ".join(f"{len(v)} {k}" for k, v in sorted(reasons.items(), key=lambda kv: -len(kv[1])))
            total = sum(s["n"] for s in summary.values())
            raise self._fail(
                f"No valid measurement at {where}: all {total} measurement(s) of the {len(summary)} event(s) "
                f"{sorted(summary)} were skipped ({counts or 'no window in any trace'}), so the misfit and the gradient "
                f"are zero and mean nothing (this is not convergence). To fix it: {_advice(reasons)}; then add the "
                "corrected data and start a new inverse problem (the job results of this iteration stay as they are).",
                "no_valid_measurements")
        if empty:
            # n == 0: nothing was asked of the event (no window; at a trial model, every
            # measurement left out because it was skipped at the current model).
            why = [f"{e} ({'all skipped' if summary[e]['n'] else 'nothing measured: no window or all left out'})"
                   for e in empty]
            self.warn(f"{len(empty)} of {len(summary)} event(s) have no valid measurement at {where} and contribute "
                      f"nothing to the misfit or the gradient: {'; '.join(why)}. The inversion goes on with the other "
                      "events; fix their data or windows, or drop them from the inverse problem.")
        return summary


def _km(meters) -> str:
    return "none" if not meters else f"{meters / 1e3:g} km"


_P_CACHE: dict = {}


def _cached_preconditioner(it: Iteration, pmap: ParameterMap):
    key = (str(it.paths.root), it.problem)
    if key not in _P_CACHE:
        _P_CACHE[key] = build_preconditioner(it.config.preconditioner, pmap)
    return _P_CACHE[key]
