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

import numpy as np

from engine.optimize import StepProposal, TrustRegionState, decide, update_memory

from ..execution import JobStatus, get_site
from ..project import store
from . import discretisation as disc
from .jobs import simulation_job, update_job
from .mapping import ParameterMap
from .preconditioning import build_preconditioner
from .records import load_state, save_state

__all__ = ["Iteration", "STAGES"]

STAGES = ("initialize", "misfit_and_gradient", "check_convergence", "preconditioner", "misfit", "finalize", "completed")
log = logging.getLogger("fwi_widgets")

WAIT, CONTINUE, DONE, FAILED = "wait", "continue", "done", "failed"
#: The log line after failed jobs: what a user does about them, in a notebook or in the widget.
RETRY_HINT = ("Fix the cause, then click 'Retry failed jobs' in the inversion widget (p.viz.nb.inversion), "
              "or call resume(..., retry_failed=True), to run the failed jobs again.")


class Iteration:
    """The record of iteration ``number`` of inverse problem ``problem`` and its stage logic."""

    def __init__(self, project, problem: str, number: int, record: dict):
        self.p, self.problem, self.number, self.record = project, problem, number, record
        self.config = project.inverse_problem_configuration(problem)
        self.paths = project.paths

    # --- persistence ---------------------------------------------------------------------
    @classmethod
    def load(cls, project, problem: str, number: int) -> "Iteration":
        return cls(project, problem, number, load_state(project.paths.record(problem, number)))

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
        return disc.model_from_dataset(d.mesh, store.read_netcdf(self.paths.iteration_file(self.problem, self.number, name)))

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
              still_running: str) -> str:
        """Collect one task's jobs (``{key: job record}``) from disk and their site.

        A job is done when its ``result.json`` exists. A job the site never saw (its
        process is gone, e.g. after a restart) is lost and submitted again at once. A
        failed job keeps its error in the record and stays failed, across restarts too,
        until ``retry_failed``. ``resubmit(key)`` submits a job again; ``describe(key)``
        names it in the log. Returns DONE, WAIT or FAILED.
        """
        running, failed, lost = [], [], []
        for key, job in jobs.items():
            if self.paths.job_result(self.problem, self.number, job["folder"]).exists():
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
            else:
                running.append(key)
        if lost:
            self.say(f"{len(lost)} job(s) were lost (the process that ran them is gone) and are submitted again: {lost}.")
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
        pmap = self.parameter_map()
        d, _ = self._disc()
        receivers = disc.receivers_for(self.p)
        g = np.zeros(pmap.n)
        for event, res in results.items():
            job = self.record["tasks"]["misfit_and_gradient"]["jobs"][event]
            grads = store.read_netcdf(self.paths.job(self.problem, self.number, job["folder"]) / "gradient.nc")
            source_xy = self.p.domain.position(self.p.events.get(event))
            taper = pmap.cutout(source_xy, receivers.locations)
            g += pmap.gradient({k: grads[k].values for k in grads.data_vars}, taper)
        misfits = {e: r["misfit"] for e, r in results.items()}
        chi = float(sum(misfits.values()))
        skipped = [s for r in results.values() for s in r.get("skipped", [])]
        if skipped:
            reasons = sorted({s["reason"].split(" (")[0] for s in skipped})
            self.say(f"{len(skipped)} measurement(s) were skipped and contribute nothing ({'; '.join(reasons)}); "
                     "the job results list them.")
        self.record["results"].update(misfits=misfits, chi=chi, gradient_norm=float(np.linalg.norm(g)))
        self.record["g"] = g
        prev = self.record["previous"]
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
        if not np.any(self.record["g"]):
            self.say("The gradient is zero: the inversion has converged.")
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
                            still_running="The preconditioner job is still running. Please check again later.")
        if status != DONE:
            return status
        self.say("1 new tasks have been issued.")
        self._set_stage("misfit")
        return CONTINUE

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
        new = {e: r["misfit"] for e, r in self._results(f"misfit_{trial}").items()}
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
                          "tr_radius": accepted["radius"], "step": proposal["proposal"], "g": self.record["g"]},
            )
        self._set_stage("completed")
        return DONE


_P_CACHE: dict = {}


def _cached_preconditioner(it: Iteration, pmap: ParameterMap):
    key = (str(it.paths.root), it.problem)
    if key not in _P_CACHE:
        _P_CACHE[key] = build_preconditioner(it.config.preconditioner, pmap)
    return _P_CACHE[key]
