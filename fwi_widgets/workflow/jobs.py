"""Jobs: module-level functions of (project path, spec) that sites run anywhere.

A job reads its inputs from the project, computes, and writes its outputs atomically
into its own folder, ``result.json`` last: a job is done exactly when that file exists,
whichever process ran it. Jobs are idempotent: a finished job returns its stored result
instead of running again. Each completion is appended to ``completions.log`` (crash
tests count them).
"""
from __future__ import annotations

import datetime
import os
import time
import warnings

import numpy as np
import xarray as xr

import engine
from obspy import UTCDateTime

from ..project import Project, store
from . import discretisation as disc

__all__ = ["simulation_job", "observed_as_dataarray"]


def simulation_job(project_root: str, spec: dict) -> dict:
    """Forward (and, if ``spec["gradient"]``, adjoint) simulation of one event.

    spec: problem, iteration, job_id, event, model (file name in the iteration folder),
    gradient (bool), misfit_configuration, simulation_configuration, and attempt (1 for
    the first submission; counted in the iteration record).
    """
    p = Project.open_read_only(project_root)
    paths = p.paths
    job_dir = paths.job(spec["problem"], spec["iteration"], spec["job_id"])
    result_path = job_dir / "result.json"
    if result_path.exists():
        return store.read_json(result_path)
    started = time.time()
    sim_cfg = p.simulation_configuration(spec["simulation_configuration"])
    misfit_cfg = p.misfit_configuration(spec["misfit_configuration"])
    d = disc.discretisation(p, sim_cfg)
    model_path = paths.iteration_file(spec["problem"], spec["model_iteration"], spec["model"])
    model = disc.model_from_dataset(d.mesh, store.read_netcdf(model_path))
    source, source_location = disc.source_for(p, spec["event"], d.physics, sim_cfg)
    receivers = disc.receivers_for(p)
    keep_forward = bool(spec["gradient"])
    interval = sim_cfg.sampling_interval(d.dt)
    if keep_forward and interval > 1:
        keep_forward = engine.StoragePolicy(mode="decimated", sampling_interval=interval)
    sim = engine.simulate(d.mesh, model, [source], receivers, end_time=disc.record_length(sim_cfg), physics=d.physics,
                          dt=d.dt, precision=sim_cfg.precision, keep_forward=keep_forward, sponge_width=d.sponge_width)
    _injected_failure(job_dir, spec)
    time_zero = disc.engine_time_zero(sim_cfg, UTCDateTime(p.events.get(spec["event"]).origin_time))
    observed = observed_as_dataarray(p.observed_data(spec["event"], misfit_cfg.observed_data), sim.seismograms,
                                     time_zero)
    options = dict(misfit_cfg.misfit_options)
    if misfit_cfg.data_selection_configuration is not None:
        windows, taper_width = picked_windows(p, misfit_cfg, spec["event"], sim_cfg)
        if taper_width is not None:
            options.setdefault("taper_width", taper_width)
    else:
        windows = disc.windows_for(misfit_cfg, source_location, receivers, sim_cfg)
    # The trial misfit measures on the same set as the current model: windows skipped
    # there (cycle skips, say) are left out here too, so ared compares like with like.
    for receiver in spec.get("exclude_receivers", []):
        if windows is not None:
            for key in [k for k in windows if k == receiver or (isinstance(k, tuple) and k[0] == receiver)]:
                windows.pop(key)
    # The synthetics as the data were processed (the same band-pass), measured there.
    measured = _processed(sim.seismograms, misfit_cfg, sim.dt)
    # Traces without observed data are not measured (an L2 misfit against zeros would
    # pull the synthetics to zero); they count as skipped, with that reason.
    windows, n_measurements, left_out = _measured_windows(windows, measured, observed.attrs["missing"])
    misfit = engine.misfit.by_name(misfit_cfg.misfit_function)
    if misfit_cfg.misfit_function == "tf_phase":
        options.setdefault("min_period", misfit_cfg.min_period_in_seconds)
        options.setdefault("max_period", misfit_cfg.max_period_in_seconds)
    # Skipped measurements (cycle skips, empty windows) are reported in the result and
    # summarised in the iteration log, not as one warning per job.
    warnings.filterwarnings("ignore", category=engine.misfit.MeasurementSkipped)
    value, adjoint_source = misfit(observed, measured, windows=windows, **options)
    if misfit_cfg.synthetic_processing == "bandpass":  # d chi / d s = F^T d chi / d (F s)
        attrs = adjoint_source.attrs
        adjoint_source = adjoint_source.copy(data=engine.signal.bandpass_transpose(
            adjoint_source.values, sim.dt, misfit_cfg.min_period_in_seconds, misfit_cfg.max_period_in_seconds))
        adjoint_source.attrs = attrs
    store.write_netcdf(job_dir / "synthetics.nc", measured.to_dataset(name="synthetic"))
    result = {
        "job_id": spec["job_id"],
        "event": spec["event"],
        "misfit": float(value),
        "per_station": {r: float(sum(c.values())) for r, c in adjoint_source.attrs.get("per_trace", {}).items()},
        "skipped": left_out + [dict(s, window=list(s["window"]) if s.get("window") else None)
                               for s in adjoint_source.attrs.get("skipped", [])],
        "n_measurements": n_measurements,
        "gradient": bool(spec["gradient"]),
        "n_steps": sim.n_steps,
        "dt": sim.dt,
    }
    if spec["gradient"]:
        adj = adjoint_source.copy()
        adj.attrs = {}
        store.write_netcdf(job_dir / "adjoint_source.nc", adj.to_dataset(name="adjoint_source"))
        grads = engine.gradient(sim, adjoint_source)
        store.write_netcdf(job_dir / "gradient.nc", disc.model_to_dataset_from_arrays(grads))
    result["seconds"] = time.time() - started
    result["finished"] = datetime.datetime.now(datetime.timezone.utc).isoformat()
    result["pid"] = os.getpid()
    store.write_json(result_path, result)
    with open(job_dir / "completions.log", "a") as log:
        log.write(f"{result['finished']} pid={os.getpid()}\n")
        log.flush()
        os.fsync(log.fileno())
    return result


def picked_windows(p, misfit_cfg, event: str, sim_cfg):
    """({(receiver, component): [(t0, t1)]} on the engine's time axis, taper width in s or
    None) of the windows accepted for ``event`` in the misfit's data selection: each
    window's cosine ramps are the selection's ``window_taper_width_in_seconds`` long."""
    selection = p.data_selection_configuration(misfit_cfg.data_selection_configuration)
    shift = -float(getattr(sim_cfg, "start_time", 0.0))  # seconds after the origin -> engine time
    windows = {k: [(t0 + shift, t1 + shift) for t0, t1 in v] for k, v in selection.accepted(event).items()}
    width = selection.window_taper_width_in_seconds
    return windows, (float(width) if width > 0 else None)


def _processed(synthetic: xr.DataArray, misfit_cfg, dt: float) -> xr.DataArray:
    """The synthetics processed as the misfit configuration says (``synthetic_processing``)."""
    if misfit_cfg.synthetic_processing is None:
        return synthetic
    filtered = engine.signal.bandpass(synthetic.values, dt, misfit_cfg.min_period_in_seconds,
                                      misfit_cfg.max_period_in_seconds)
    out = synthetic.copy(data=filtered.astype(synthetic.dtype, copy=False))
    out.attrs = dict(synthetic.attrs)
    return out


def _injected_failure(job_dir, spec: dict) -> None:
    """The test-only fault ``FWI_WIDGETS_FAULT=fail-job-once:<substring>``
    (documented in :mod:`fwi_widgets.project.store`): fail the first attempt of a
    job (simulation or preconditioner) whose folder path contains ``<substring>``, as
    a crashing solver would."""
    substring = store.injected_fault("fail-job-once")
    attempt = int(spec.get("attempt", 1))
    if substring is not None and substring in os.fspath(job_dir) and attempt == 1:
        job = f"the job for event {spec['event']}" if "event" in spec else f"the {spec['job_id']} job"
        raise RuntimeError(
            f"Injected fault: {job} fails on its first attempt "
            f"({store.FAULT_ENVIRONMENT_VARIABLE}=fail-job-once:{substring}; a test-only hook, unset it)."
        )


def observed_as_dataarray(stream, synthetic: xr.DataArray, origin_time) -> xr.DataArray:
    """Observed traces on the synthetics' receivers, components and time axis.

    Traces are matched by NET.STA and the last letter of the channel; a channel stored
    in several segments is merged with its gaps as NaN (the misfit skips the windows
    they touch and says why), never reduced to one segment; other sampling is linearly
    interpolated onto the synthetic times. Missing traces are zeros and are listed in
    ``attrs["missing"]`` as ``(receiver, component)`` pairs: they must not be measured
    (:func:`simulation_job` gives them no window and reports them as skipped).

    Raises
    ------
    ValueError
        If several location or band codes share one station and component.
    """
    from ..project.observed import traces_by_channel

    out = np.zeros(synthetic.shape)
    times = synthetic["time"].values
    index = traces_by_channel(stream)
    missing = []
    for r, name in enumerate(synthetic["receiver"].values):
        for c, comp in enumerate(synthetic["component"].values):
            tr = index.get((str(name), str(comp)))
            if tr is None:
                missing.append((str(name), str(comp)))
                continue
            t = tr.times() + (tr.stats.starttime - origin_time)
            out[r, c] = np.interp(times, t, tr.data.astype(float), left=0.0, right=0.0)
    observed = synthetic.copy(data=out)
    observed.attrs = dict(synthetic.attrs, missing=missing)
    return observed


#: The skip reason of a trace without observed data (it gets no window).
NO_OBSERVED_TRACE = "no observed trace for this station and component"


def _measured_windows(windows, synthetic: xr.DataArray, missing: list[tuple[str, str]]):
    """The windows without the traces that have no observed data, and those left out.

    Returns ``(windows, n_measurements, left_out)``: the windows to pass to the misfit
    (``None``, the whole traces, stays ``None`` unless a trace is missing), the number
    of measurements the configuration asks for (windows times components), and the
    ``skipped`` records of the missing traces.
    """
    receivers = [str(r) for r in synthetic["receiver"].values]
    components = [str(c) for c in synthetic["component"].values]
    t = synthetic["time"].values
    per_receiver = ({r: [(float(t[0]), float(t[-1]))] for r in receivers} if windows is None
                    else {k if isinstance(k, tuple) else str(k): list(w) for k, w in windows.items()})
    # Windows per receiver apply to each component; windows per (receiver, component) to one.
    per_trace = {}
    for key, ws in per_receiver.items():
        for trace in ([key] if isinstance(key, tuple) else [(key, c) for c in components]):
            per_trace.setdefault(trace, []).extend(ws)
    n = sum(len(w) for w in per_trace.values())
    absent = set(missing)
    left_out = [{"receiver": r, "component": c, "window": list(w), "reason": NO_OBSERVED_TRACE}
                for (r, c), ws in per_trace.items() if (r, c) in absent for w in ws]
    if not left_out:
        return windows, n, []
    kept = {trace: ws for trace, ws in per_trace.items() if trace not in absent}
    return kept, n, left_out



def update_job(project_root: str, spec: dict) -> dict:
    """The preconditioner task: precondition the gradient and propose the trust-region
    step; writes the proposal and the trial model of trial ``spec["trial"]``.

    spec: problem, iteration, job_id (its folder, ``preconditioner_<trial>``), trial, and
    attempt (1 for the first submission; counted in the iteration record).
    """
    from engine.optimize import TrustRegionState, propose_step

    from .iteration import Iteration
    from .records import save_state

    p = Project.open_read_only(project_root)
    it = Iteration.load(p, spec["problem"], spec["iteration"])
    folder = p.paths.job(spec["problem"], spec["iteration"], spec["job_id"])
    result_path = folder / "result.json"
    if result_path.exists():
        return store.read_json(result_path)
    trial = spec["trial"]
    pmap = it.parameter_map()
    precondition = it.preconditioner(pmap)
    state = TrustRegionState.from_dict(it.record["trust_region"])
    proposal = propose_step(it.config.method.settings(), state, it.record["x"], it.record["g"], precondition=precondition)
    _injected_failure(folder, spec)
    if precondition is not None:
        preconditioned = precondition(it.record["g"])
        store.write_npy(p.paths.iteration_file(spec["problem"], spec["iteration"], "gradient_preconditioned.npy"), preconditioned)
    it._write_model(f"trial_{trial}.nc", it.record["x"] + proposal.step)
    save_state(p.paths.iteration_file(spec["problem"], spec["iteration"], f"proposal_{trial}.json"),
               {"proposal": proposal.to_dict(arrays="numpy")})
    result = {"job_id": spec["job_id"], "pred": proposal.pred, "norm_update": proposal.norm_update,
              "radius": proposal.radius, "kind": proposal.kind}
    store.write_json(result_path, result)
    return result
