"""Cost and memory of a 3D gradient on the continental chunk, against a plain forward.

The case is ``bench_forward3d``'s continental chunk (centre 45 N 15 E, 40 x 40 degrees,
1,750 km deep, transversely isotropic PREM with one crust, 70 s, order 4, the Global CMT
source at the seed's first event; its builder is imported, not copied), with ten
stations across the chunk recording Z/N/E (``engine.Geographic`` at the surface), a
``--end-time`` record (default 1,200 s) at the solver's default time step.

Each configuration runs in a fresh interpreter (``_common.run_isolated``: thread count
fixed, peak resident memory its own):

(a) ``forward``: a plain forward (no storage). The first one also makes the adjoint
    source every other run uses: an L2 misfit (``engine.misfit.l2``) against its own
    synthetics shifted by 3 s plus 2 % noise (low-passed at 70 s, as processed data
    would be), saved to a temporary .npz with the time step.
(b) ``checkpoint``: forward with checkpoint storage (exact; full storage of (N + 1)
    fields cannot fit at this size: its size and the "auto" mode's choice are
    reported), the L2 misfit against the saved observed data, and ``engine.gradient``
    with the saved adjoint source; forward-with-storage and adjoint timed apart. Its
    gradient goes to a temporary .npz.
(c) ``decimated``: the same with ``StoragePolicy(mode="decimated")`` at
    ``sampling_interval_for(dt, 70 s)`` ("auto"; ``--sampling-interval auto half 7``
    adds s/2 or any fixed s), and the gradient's relative L2 error against (b)'s, per
    model parameter (vpv, vph, vsv, vsh, eta, rho) and the largest of them.
(d) ``smoothing``: ``Smoothing(mesh, model_dependent_sigma(mesh, (0.2, 0.5, 0.5), prior
    vsv, 1/70 Hz))`` built, then applied once to (b)'s vsv gradient
    (``apply_to_gradient``): build and apply timed apart, with the CG iteration count.

Reported per phase: wall and CPU seconds and the load other processes put on the
machine meanwhile ("others", cores). Ratios against the issue's targets: gradient /
forward (forward with storage + adjoint over (a)'s forward; target 2.5) for each storage
mode, and smoothing / forward (target 0.5; apply alone and build + apply). Memory: the
bound of each storage mode in bytes, read from the store objects (``sim.forward``:
checkpoints u and v every ``checkpoint_interval`` steps plus two segment buffers of
``checkpoint_interval + 3`` fields; decimated N // s + 2 fields), what the store held
after the forward and after the adjoint, and each child's peak RSS (``ru_maxrss``) with
the high-water mark after every stage (so the stage that sets the peak shows).
Each gradient child also times ``--calibration-steps`` plain steps, so a child that ran
on a slower (disturbed) machine than (a) says so ("speed vs (a)"). The adjoint's time is
split (instance-level timers on the operator and the store, ``--no-breakdown`` turns
them off) into recomputing checkpoint segments, the fused stiffness + sensitivity kernel,
the plain stiffness kernel, the chain rule, and the rest of the loop.

Usage::

    .venv/bin/python benchmarks/bench_gradient3d.py          # continental, float32, 2 threads (~15-20 min)
    .venv/bin/python benchmarks/bench_gradient3d.py --precision float32 float64 --sampling-interval auto half
    .venv/bin/python benchmarks/bench_gradient3d.py --end-time 60 --elements-per-wavelength 1.0 --threads 1  # smoke
    .venv/bin/python benchmarks/bench_gradient3d.py --json > gradient3d.json   # JSON on stdout, table on stderr

The JSON goes to ``--out`` (default benchmarks/results/gradient3d.json).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    code_version, current_rss_mib, emit_result, format_table, machine_info, peak_rss_mib, run_isolated,
    system_busy_seconds, wait_for_quiet, write_json,
)
from bench_forward3d import _mesh_model_sources  # noqa: E402  (the continental case: mesh, model, CMT source)

HERE = Path(__file__).resolve()
DEFAULT_OUT = HERE.parent / "results" / "gradient3d.json"
MIN_PERIOD = 70.0  # s: the mesh's period, the decimation guideline's shortest period, 1 / f_ref of the smoothing
TARGET_GRADIENT_OVER_FORWARD = 2.5
TARGET_SMOOTHING_OVER_FORWARD = 0.5
SMOOTHING_LENGTHS = (0.2, 0.5, 0.5)  # wavelengths (radial, lateral, lateral), the seed's values
SHIFT_SECONDS = 3.0  # "observed" = synthetics delayed by this much ...
NOISE_FRACTION = 0.02  # ... plus noise whose peak is this fraction of the data's peak
NOISY_CORES = 0.25  # other processes' load above which a phase is flagged
#: (name, geocentric latitude, longitude): bench_forward3d's three stations and seven more
#: spread over the chunk (lat 25-65, lon -5-35), away from its absorbing sides.
STATIONS = (("CH.BALST", 47.3, 7.7), ("GE.STU", 52.4, 13.1), ("ES.MADR", 40.4, -3.7), ("OSLO", 59.9, 10.8),
            ("HELS", 60.2, 24.9), ("WARS", 52.2, 21.0), ("ROMA", 41.9, 12.5), ("ATHN", 38.0, 23.7),
            ("BUCH", 44.4, 26.1), ("PARI", 48.9, 2.4))
STFS = ("heaviside", "filtered_heaviside")


# --- the case -------------------------------------------------------------------------------
def _case(args):
    """(engine, mesh, model, source, receivers) of the continental chunk, ten Z/N/E stations."""
    import dataclasses

    import engine

    mesh, model, src, _ = _mesh_model_sources("continental", args.elements_per_wavelength)
    if args.source_time_function == "filtered_heaviside":  # the workflow's wavelet (70-120 s band)
        src = dataclasses.replace(src, stf=engine.stf.filtered_heaviside(MIN_PERIOD, 120.0))
    rec = engine.Receivers([engine.Geographic(latitude=lat, longitude=lon, depth_in_meters=0.0)
                            for _, lat, lon in STATIONS], names=[name for name, _, _ in STATIONS])
    return engine, mesh, model, src, rec


class _Stages:
    """Resident memory (now, and the high-water mark) after each named stage of a child."""

    def __init__(self):
        self.rows: list[dict] = []

    def mark(self, stage: str) -> None:
        self.rows.append({"stage": stage, "rss_mib": current_rss_mib(), "peak_mib": peak_rss_mib()})


def _timed(action):
    """(result, {wall_s, cpu_s, others_cores}) of ``action()``; "others" is the busy CPU
    time of the whole machine minus this process's own, per wall second."""
    t0, c0, b0 = time.perf_counter(), time.process_time(), system_busy_seconds()
    result = action()
    wall, cpu, busy = time.perf_counter() - t0, time.process_time() - c0, system_busy_seconds() - b0
    return result, {"wall_s": wall, "cpu_s": cpu, "others_cores": max(0.0, (busy - cpu) / wall) if wall > 0 else None}


def _better(old: dict | None, new: dict) -> dict:
    return new if old is None or new["wall_s"] < old["wall_s"] else old


def _setup(args, out: dict, stages: _Stages):
    """Mesh, model, operator and CFL estimate, each timed; returns (engine, mesh, model,
    src, rec, op, dt, simulate keywords)."""
    import numba
    import numpy as np

    numba.set_num_threads(args.threads)
    stages.mark("imports")
    t = time.perf_counter()
    engine, mesh, model, src, rec = _case(args)
    out["mesh_model_s"] = time.perf_counter() - t
    out.update(n_elements=mesh.n_elements, n_global=mesh.n_global, parameters=list(model))
    stages.mark("mesh_model")
    from engine.operator import WaveOperator
    from engine.physics import get

    t = time.perf_counter()
    op = WaveOperator(mesh, model, get("elastic", 3), np.dtype(args.precision).type)
    out["operator_s"] = time.perf_counter() - t
    stages.mark("operator")
    t = time.perf_counter()
    op.stable_dt()  # computed once per operator; simulate checks dt against it
    out["cfl_estimate_s"] = time.perf_counter() - t
    stages.mark("cfl_estimate")
    dt = args.dt
    if dt is None:  # the solver's default: half the CFL bound, shrunk to end exactly at end_time
        from engine.solver import time_axis

        dt = time_axis(args.end_time, None, op.stable_dt())[0]
    kw = dict(end_time=args.end_time, physics="elastic", dt=dt, precision=args.precision, operator=op)
    return engine, mesh, model, src, rec, op, dt, kw


def _save_adjoint_source(engine, sim, path: str) -> dict:
    """The "observed" data and the L2 adjoint source every later run uses."""
    import numpy as np
    from scipy.signal import butter, sosfiltfilt

    syn = sim.seismograms
    observed = syn.astype(np.float64).shift(time=int(round(SHIFT_SECONDS / sim.dt)), fill_value=0.0)
    noise = np.random.default_rng(0).standard_normal(syn.shape)
    # Band-limited like processed data: white noise would put energy above the mesh's
    # band into the adjoint source, which no 70 s inversion sees.
    noise = sosfiltfilt(butter(4, 1.0 / MIN_PERIOD, btype="lowpass", fs=1.0 / sim.dt, output="sos"), noise, axis=-1)
    peak = float(np.abs(syn.values).max())
    observed = observed + NOISE_FRACTION * peak * noise / float(np.abs(noise).max())
    value, adj = engine.misfit.l2(observed, syn)
    np.savez(path, observed=observed.values, adjoint=adj.values, dt=sim.dt, n_steps=sim.n_steps, misfit=value)
    return {"misfit": float(value), "adjoint_source_path": path, "data_peak": peak}


# --- (a) plain forward --------------------------------------------------------------------------
def run_forward(args) -> dict:
    from _common import Stopwatch

    out, stages = {"role": "forward", "precision": args.precision, "threads": args.threads}, _Stages()
    engine, mesh, model, src, rec, op, dt, kw = _setup(args, out, stages)
    engine.simulate(mesh, model, src, rec, **dict(kw, end_time=2 * dt))  # warm-up: loads the compiled kernels
    stages.mark("warm_up")
    best = first = sim = None
    for _ in range(args.repeats):
        sim = None
        watch = Stopwatch(max(1, int(round(args.end_time / dt))))
        sim, timing = _timed(lambda: engine.simulate(mesh, model, src, rec, tasks=[watch], **kw))
        timing["loop_s_per_step"] = watch.span(0, sim.n_steps)[0] / sim.n_steps
        best, first = _better(best, timing), first or timing
    stages.mark("forward")
    out.update(dt=sim.dt, n_steps=sim.n_steps, forward=best, forward_first=first, repeats=args.repeats,
               n_receivers=sim.seismograms.shape[0], components=[str(c) for c in sim.seismograms.component.values])
    if args.make_adjoint:
        out.update(_save_adjoint_source(engine, sim, args.make_adjoint))
        stages.mark("adjoint_source")
    out.update(peak_rss_mib=peak_rss_mib(), stages=stages.rows)
    return out


# --- (b), (c) gradients -----------------------------------------------------------------------------
def _sampling_interval(spec: str, dt: float) -> int:
    """"auto" (sampling_interval_for(dt, 70 s)), "half" (auto // 2) or an integer."""
    from engine.storage import sampling_interval_for

    auto = sampling_interval_for(dt, MIN_PERIOD)
    if spec == "auto":
        return auto
    if spec == "half":
        return max(1, auto // 2)
    return int(spec)


class _Breakdown:
    """Where the adjoint's time goes: wraps (on the instances, not the classes) the
    operator's two stiffness entry points, the store's segment recomputation, and the
    chain rule; each wrapper costs ~1 us a call against tens of ms a step."""

    def __init__(self, op, store):
        import engine.adjoint as adjoint_module

        self.seconds = {"recompute_segments": 0.0, "stiffness_in_recompute": 0.0, "stiffness_and_sensitivity": 0.0,
                        "stiffness_plain": 0.0, "chain_rule": 0.0}
        self.calls = {k: 0 for k in self.seconds}
        self._op, self._store, self._module = op, store, adjoint_module
        self._in_recompute = False
        self._chain_rule = adjoint_module._chain_rule
        self._wrap(op, "stiffness", lambda: "stiffness_in_recompute" if self._in_recompute else "stiffness_plain")
        self._wrap(op, "stiffness_and_sensitivity", lambda: "stiffness_and_sensitivity")
        if store.mode == "checkpoint":
            recompute = store._recompute_segment

            def timed_recompute(start):
                self._in_recompute = True
                t = time.perf_counter()
                try:
                    return recompute(start)
                finally:
                    self._add("recompute_segments", time.perf_counter() - t)
                    self._in_recompute = False

            store._recompute_segment = timed_recompute

        def timed_chain_rule(*a, **k):
            t = time.perf_counter()
            try:
                return self._chain_rule(*a, **k)
            finally:
                self._add("chain_rule", time.perf_counter() - t)

        adjoint_module._chain_rule = timed_chain_rule

    def _add(self, key, seconds):
        self.seconds[key] += seconds
        self.calls[key] += 1

    def _wrap(self, obj, name, key_of):
        original = getattr(obj, name)

        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return original(*a, **k)
            finally:
                self._add(key_of(), time.perf_counter() - t)

        setattr(obj, name, timed)

    def remove(self) -> None:
        for name in ("stiffness", "stiffness_and_sensitivity"):
            self._op.__dict__.pop(name, None)
        self._store.__dict__.pop("_recompute_segment", None)
        self._module._chain_rule = self._chain_rule

    def report(self, adjoint_wall: float) -> dict:
        s = dict(self.seconds)
        # Recomputation contains its own stiffness calls: the rest of the adjoint loop is
        # what none of the timed pieces covers (sources, damping, leapfrog, accumulation).
        s["rest"] = adjoint_wall - s["recompute_segments"] - s["stiffness_and_sensitivity"] - s["stiffness_plain"] - \
            s["chain_rule"]
        out = {f"{k}_s": v for k, v in s.items()}
        out.update({f"{k}_calls": v for k, v in self.calls.items()})
        for k in ("stiffness_and_sensitivity", "stiffness_plain", "stiffness_in_recompute"):
            if self.calls[k]:
                out[f"{k}_ms_per_call"] = 1e3 * self.seconds[k] / self.calls[k]
        return out


def _storage_figures(store, op, policy_default) -> dict:
    """Bytes of each storage mode for this run, from the store object."""
    import numpy as np

    field = int(np.prod(store.field_shape)) * np.dtype(op.dtype).itemsize
    n = store.n_steps
    full = (n + 1) * field
    out = {"field_bytes": field, "full_bytes": full, "auto_memory_limit_bytes": policy_default.memory_limit_bytes,
           "auto_choice": "full" if full <= policy_default.memory_limit_bytes else "checkpoint", "store_mode": store.mode}
    if store.mode == "checkpoint":
        ci = store.checkpoint_interval
        n_ckpt = len(store.checkpoints)
        out.update(checkpoint_interval=ci, n_checkpoints=n_ckpt,
                   bound_bytes=2 * n_ckpt * field + 2 * (ci + 3) * field,  # u and v per checkpoint + 2 segment buffers
                   bound_fields=2 * n_ckpt + 2 * (ci + 3))
    else:
        out.update(sampling_interval=store.interval, bound_bytes=store.nbytes, bound_fields=store.nbytes // field)
    return out


def _relative_errors(grad: dict, path: str) -> dict:
    """Relative L2 error of each parameter's gradient against the one saved at ``path``."""
    import numpy as np

    ref = np.load(path)
    errors = {}
    for p in grad:
        norm = float(np.linalg.norm(ref[p]))
        errors[p] = float(np.linalg.norm(grad[p] - ref[p])) / norm if norm > 0 else None
    finite = [v for v in errors.values() if v is not None]
    return {"per_parameter": errors, "max": max(finite) if finite else None}


def run_gradient(args) -> dict:
    import numpy as np

    from _common import Stopwatch

    out, stages = {"role": args.child, "precision": args.precision, "threads": args.threads}, _Stages()
    engine, mesh, model, src, rec, op, dt, kw = _setup(args, out, stages)
    saved = np.load(args.adjoint)
    adj, observed = saved["adjoint"], saved["observed"]
    s = _sampling_interval(args.sampling_interval, dt) if args.child == "decimated" else 1
    policy = engine.StoragePolicy(mode=args.child, sampling_interval=s)
    # Warm-up on a few steps: loads every kernel of the forward, the store and the adjoint.
    warm = engine.simulate(mesh, model, src, rec, keep_forward=policy, **dict(kw, end_time=3 * dt))
    engine.gradient(warm, np.zeros(warm.seismograms.shape))
    del warm
    stages.mark("warm_up")
    calib = Stopwatch(args.calibration_steps)
    engine.simulate(mesh, model, src, rec, tasks=[calib], **dict(kw, end_time=args.calibration_steps * dt))
    out["calibration_s_per_step"] = calib.span(0, args.calibration_steps)[0] / args.calibration_steps
    stages.mark("calibration")
    best, first, breakdown = {}, {}, None
    sim = grad = None
    for _ in range(args.repeats):
        sim = grad = None  # free the previous store first: the peak is one store
        sim, t_fwd = _timed(lambda: engine.simulate(mesh, model, src, rec, keep_forward=policy, **kw))
        if sim.seismograms.shape != adj.shape:
            raise ValueError(f"The saved adjoint source is shaped {adj.shape}, but this run records "
                             f"{sim.seismograms.shape}: pass the same --end-time and --dt.")
        held_after_forward = sim.forward.nbytes
        stages.mark("forward_storing")
        (value, _), t_mis = _timed(lambda: engine.misfit.l2(sim.seismograms.copy(data=observed), sim.seismograms))
        timer = None if args.no_breakdown else _Breakdown(op, sim.forward)
        try:
            grad, t_adj = _timed(lambda: engine.gradient(sim, adj))
        finally:
            if timer is not None:
                timer.remove()
        stages.mark("adjoint")
        for name, t in (("forward_storing", t_fwd), ("misfit", t_mis), ("adjoint", t_adj)):
            best[name] = _better(best.get(name), t)
            first.setdefault(name, t)
        if timer is not None and best["adjoint"] is t_adj:
            breakdown = timer.report(t_adj["wall_s"])
    store = sim.forward
    out.update(dt=sim.dt, n_steps=sim.n_steps, repeats=args.repeats, misfit=float(value), phases=best, first=first,
               adjoint_breakdown=breakdown,
               storage=dict(_storage_figures(store, op, engine.StoragePolicy()), held_after_forward_bytes=held_after_forward,
                            held_after_adjoint_bytes=store.nbytes))
    # What the adjoint itself allocates besides the store: l, its velocity, K l, the mass
    # sum (4 fields) and the sensitivity accumulator.
    field = out["storage"]["field_bytes"]
    out["adjoint_work_bytes"] = 4 * field + op.new_sensitivity().nbytes
    if args.child == "decimated":
        out["sampling_interval"] = s
        out["guideline_interval"] = _sampling_interval("auto", dt)
    if args.save_gradient:
        np.savez(args.save_gradient, **{p: np.asarray(g, dtype=np.float64) for p, g in grad.items()})
    if args.reference:
        out["gradient_error"] = _relative_errors(grad, args.reference)
    if args.reference64:
        out["gradient_error_vs_float64"] = _relative_errors(grad, args.reference64)
    out["gradient_norms"] = {p: float(np.linalg.norm(g)) for p, g in grad.items()}
    out["finite"] = bool(all(np.all(np.isfinite(g)) for g in grad.values()))
    out.update(peak_rss_mib=peak_rss_mib(), stages=stages.rows)
    return out


# --- (d) smoothing -------------------------------------------------------------------------------
def run_smoothing(args) -> dict:
    import numba
    import numpy as np

    import engine
    from engine.smoothing import Smoothing, model_dependent_sigma

    numba.set_num_threads(args.threads)
    out, stages = {"role": "smoothing", "precision": "float64", "threads": args.threads}, _Stages()
    stages.mark("imports")
    # Warm-up on a small chunk: loads the scalar 3D stiffness kernels from Numba's cache.
    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    tiny = engine.mesh.spherical_chunk(45.0, 15.0, 4.0, 4.0, 150e3, prem, 60.0, order=4)
    warm = Smoothing(tiny, model_dependent_sigma(tiny, SMOOTHING_LENGTHS, engine.Model.from_earth(tiny, prem)["vsv"],
                                                 1.0 / MIN_PERIOD))
    warm.apply_to_gradient(np.ones(tiny.point_shape))
    del warm, tiny
    stages.mark("warm_up")
    t = time.perf_counter()
    _, mesh, model, _, _ = _case(args)
    out["mesh_model_s"] = time.perf_counter() - t
    out.update(n_elements=mesh.n_elements, n_global=mesh.n_global)
    gradient = np.load(args.gradient)["vsv"]
    stages.mark("mesh_model")
    best_build = best_apply = None
    for _ in range(args.repeats):
        smooth = None

        def build():
            sigma = model_dependent_sigma(mesh, SMOOTHING_LENGTHS, model["vsv"], 1.0 / MIN_PERIOD)
            return Smoothing(mesh, sigma), sigma

        (smooth, sigma), t_build = _timed(build)
        stages.mark("build")
        smoothed, t_apply = _timed(lambda: smooth.apply_to_gradient(gradient))
        t_apply["iterations"] = smooth.iterations
        stages.mark("apply")
        best_build, best_apply = _better(best_build, t_build), _better(best_apply, t_apply)
    out.update(build=best_build, apply=best_apply, iterations=best_apply["iterations"], n_steps=smooth.n_steps,
               rtol=smooth.rtol, repeats=args.repeats,
               sigma_km={name: [float(s.min()) / 1e3, float(s.max()) / 1e3]
                         for name, s in zip(("radial", "lateral_1", "lateral_2"), sigma)},
               finite=bool(np.all(np.isfinite(smoothed))), peak_rss_mib=peak_rss_mib(), stages=stages.rows)
    return out


# --- parent ------------------------------------------------------------------------------------------
def _child_args(args, role: str, precision: str, threads: int, **extra) -> list[str]:
    argv = ["--child", role, "--precision", precision, "--threads", str(threads), "--end-time", repr(args.end_time),
            "--elements-per-wavelength", repr(args.elements_per_wavelength), "--repeats", str(args.repeats),
            "--source-time-function", args.source_time_function, "--calibration-steps", str(args.calibration_steps)]
    if args.no_breakdown:
        argv.append("--no-breakdown")
    for key, value in extra.items():
        if value is not None and value != "":
            argv += ["--" + key.replace("_", "-"), str(value)]
    return argv


def _run(args, role, precision, threads, **extra) -> dict:
    if args.quiet_wait > 0:
        wait_for_quiet(NOISY_CORES, args.quiet_wait)
    label = f"{role} {precision} {threads} thread(s)" + (f" s={extra['sampling_interval']}" if role == "decimated" else "")
    print(f"running {label} ...", file=sys.stderr, flush=True)
    t = time.perf_counter()
    r = run_isolated(HERE, _child_args(args, role, precision, threads, **extra), threads)
    r.update(role=role, precision=precision, threads=threads, child_wall_s=time.perf_counter() - t)
    if "error" in r:
        print(f"FAILED {label}: {r['error']}\n{r.get('stderr_tail', '')}", file=sys.stderr)
    return r


def _summarise(results: list[dict]) -> list[dict]:
    """One row per child for the table, with the ratios against the matching forward."""
    forwards = {(r["precision"], r["threads"]): r for r in results if r["role"] == "forward" and "forward" in r}
    rows = []
    for r in results:
        row = {"config": r["role"], "precision": r["precision"], "threads": r["threads"],
               "peak_rss_mib": r.get("peak_rss_mib"), "failed": "error" in r}
        if "error" in r:
            row["config"] += " (failed)"
            rows.append(row)
            continue
        fwd = forwards.get((r["precision"] if r["role"] != "smoothing" else "float32", r["threads"]))
        if fwd is None and r["role"] == "smoothing":  # float64-only runs: compare with that forward
            fwd = next((f for (p, t), f in forwards.items() if t == r["threads"]), None)
        forward_s = fwd["forward"]["wall_s"] if fwd else None
        if r["role"] == "forward":
            row.update(forward_s=forward_s, others=r["forward"]["others_cores"])
        elif r["role"] in ("checkpoint", "decimated"):
            ph, st = r["phases"], r["storage"]
            total = ph["forward_storing"]["wall_s"] + ph["adjoint"]["wall_s"]
            row.update(forward_s=forward_s, forward_storing_s=ph["forward_storing"]["wall_s"],
                       adjoint_s=ph["adjoint"]["wall_s"], gradient_s=total,
                       ratio=total / forward_s if forward_s else None, target=TARGET_GRADIENT_OVER_FORWARD,
                       bound_mib=st["bound_bytes"] / 2**20, held_mib=st["held_after_adjoint_bytes"] / 2**20,
                       error=(r.get("gradient_error") or {}).get("max"),
                       others=max(ph["forward_storing"]["others_cores"] or 0, ph["adjoint"]["others_cores"] or 0))
            if r["role"] == "decimated":
                row["config"] = f"decimated s={r['storage']['sampling_interval']}"
            if fwd and fwd["forward"].get("loop_s_per_step"):
                row["speed_vs_a"] = fwd["forward"]["loop_s_per_step"] / r["calibration_s_per_step"]
        elif r["role"] == "smoothing":
            build, apply = r["build"]["wall_s"], r["apply"]["wall_s"]
            row.update(forward_s=forward_s, smoothing_build_s=build, smoothing_apply_s=apply,
                       ratio=apply / forward_s if forward_s else None,
                       ratio_with_build=(build + apply) / forward_s if forward_s else None,
                       target=TARGET_SMOOTHING_OVER_FORWARD, iterations=r["iterations"],
                       others=max(r["build"]["others_cores"] or 0, r["apply"]["others_cores"] or 0))
        row["noisy"] = (row.get("others") or 0) > NOISY_CORES
        rows.append(row)
    return rows


def render(rows: list[dict], results: list[dict]) -> str:
    table = format_table(rows, [
        ("config", "configuration", "s"), ("precision", "prec", "s"), ("threads", "thr", "d"),
        ("forward_s", "forward s", ".1f"), ("forward_storing_s", "fwd+store s", ".1f"), ("adjoint_s", "adjoint s", ".1f"),
        ("smoothing_build_s", "smooth build s", ".1f"), ("smoothing_apply_s", "smooth apply s", ".1f"),
        ("iterations", "CG it", "d"), ("ratio", "x forward", ".2f"), ("ratio_with_build", "incl. build", ".2f"),
        ("target", "target", ".1f"), ("error", "error", ".1e"), ("bound_mib", "bound MiB", ".0f"),
        ("held_mib", "held MiB", ".0f"), ("peak_rss_mib", "peak RSS MiB", ".0f"), ("speed_vs_a", "speed vs (a)", ".2f"),
        ("others", "others", ".2f"),
    ])
    lines = [table]
    grads = [r for r in results if r.get("role") in ("checkpoint", "decimated") and "storage" in r]
    if grads:
        st = grads[0]["storage"]
        lines.append(f"\n{grads[0]['n_steps']} steps of dt = {grads[0]['dt']:.4f} s, {grads[0]['n_global']:,} GLL points, "
                     f"one field {st['field_bytes'] / 2**20:.1f} MiB ({grads[0]['precision']})")
        lines.append(f"full storage: (N + 1) fields = {st['full_bytes'] / 2**30:.2f} GiB; 'auto' (limit "
                     f"{st['auto_memory_limit_bytes'] / 2**30:.0f} GiB) chooses {st['auto_choice']}")
    for r in grads:
        st, b = r["storage"], r.get("adjoint_breakdown")
        if st["store_mode"] == "checkpoint":
            lines.append(f"checkpoint ({r['precision']}, {r['threads']} thr): {st['n_checkpoints']} checkpoints (u, v) every "
                         f"{st['checkpoint_interval']} steps + 2 segments of {st['checkpoint_interval'] + 3} fields = "
                         f"{st['bound_fields']} fields, bound {st['bound_bytes'] / 2**30:.2f} GiB; held after forward "
                         f"{st['held_after_forward_bytes'] / 2**30:.2f} GiB, after adjoint "
                         f"{st['held_after_adjoint_bytes'] / 2**30:.2f} GiB; peak RSS {r['peak_rss_mib'] / 1024:.2f} GiB")
        else:
            lines.append(f"decimated s={st['sampling_interval']} ({r['precision']}, {r['threads']} thr; guideline "
                         f"{r.get('guideline_interval', st['sampling_interval'])}): {st['bound_fields']} fields = "
                         f"{st['bound_bytes'] / 2**30:.2f} GiB; peak RSS {r['peak_rss_mib'] / 1024:.2f} GiB; error "
                         f"{json.dumps({k: (None if v is None else float(f'{v:.2e}')) for k, v in r['gradient_error']['per_parameter'].items()}) if r.get('gradient_error') else '-'}")
        if b:
            lines.append("  adjoint split: " + ", ".join(
                f"{k[:-2]} {b[k]:.1f} s" for k in ("recompute_segments_s", "stiffness_and_sensitivity_s",
                                                     "stiffness_plain_s", "chain_rule_s", "rest_s")) +
                "; ms per call: " + ", ".join(f"{k[:-12]} {v:.1f}" for k, v in b.items() if k.endswith("_ms_per_call")))
    for r in results:
        if r.get("role") == "smoothing" and "sigma_km" in r:
            lines.append("smoothing sigma (km, min-max): " + ", ".join(
                f"{k} {lo:.0f}-{hi:.0f}" for k, (lo, hi) in r["sigma_km"].items()) +
                f"; {r['n_steps']} implicit steps, rtol {r['rtol']:g}, {r['iterations']} CG iterations")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="See the module docstring.")
    p.add_argument("--precision", nargs="+", choices=("float32", "float64"), default=["float32"],
                   help="precision(s) (default float32, the production precision)")
    p.add_argument("--threads", nargs="+", type=int, default=[2], help="thread count(s) (default 2)")
    p.add_argument("--end-time", type=float, default=1200.0, help="record length in s (default 1200)")
    p.add_argument("--elements-per-wavelength", type=float, default=2.0, help="mesh sizing at 70 s (default 2.0)")
    p.add_argument("--sampling-interval", nargs="+", default=["auto"],
                   help="decimated storage intervals: 'auto' (sampling_interval_for(dt, 70 s)), 'half' or integers")
    p.add_argument("--source-time-function", choices=STFS, default="heaviside",
                   help="heaviside: bench_forward3d's (half duration 10 s); filtered_heaviside: the workflow's 70-120 s")
    p.add_argument("--repeats", type=int, default=1, help="runs of each phase in a child, the fastest counts (default 1)")
    p.add_argument("--calibration-steps", type=int, default=20,
                   help="plain forward steps each gradient child times to compare its speed with (a)'s (default 20)")
    p.add_argument("--no-breakdown", action="store_true", help="do not split the adjoint's time (no timers)")
    p.add_argument("--skip", nargs="*", default=[], choices=("checkpoint", "decimated", "smoothing"),
                   help="configurations to leave out")
    p.add_argument("--quiet-wait", type=float, default=0.0,
                   help=f"seconds to wait before each child for other processes to leave < {NOISY_CORES} cores busy")
    p.add_argument("--scratch", type=Path, default=None, help="folder for the .npz files passed between children")
    p.add_argument("--json", action="store_true", help="print the JSON to stdout (the table goes to stderr)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    # Child-only options.
    p.add_argument("--child", choices=("forward", "checkpoint", "decimated", "smoothing"), help=argparse.SUPPRESS)
    p.add_argument("--dt", type=float, default=None, help=argparse.SUPPRESS)
    p.add_argument("--make-adjoint", default="", help=argparse.SUPPRESS)
    p.add_argument("--adjoint", default="", help=argparse.SUPPRESS)
    p.add_argument("--save-gradient", default="", help=argparse.SUPPRESS)
    p.add_argument("--reference", default="", help=argparse.SUPPRESS)
    p.add_argument("--reference64", default="", help=argparse.SUPPRESS)
    p.add_argument("--gradient", default="", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1 or args.calibration_steps < 1 or args.end_time <= 0:
        p.error("--repeats and --calibration-steps must be >= 1 and --end-time positive")
    if args.child:
        args.precision, args.threads = args.precision[0], args.threads[0]
        args.sampling_interval = args.sampling_interval[0]
        role = {"forward": run_forward, "checkpoint": run_gradient, "decimated": run_gradient,
                "smoothing": run_smoothing}[args.child]
        emit_result(role(args))
        return 0
    for spec in args.sampling_interval:
        if spec not in ("auto", "half") and not (spec.isdigit() and int(spec) >= 1):
            p.error(f"--sampling-interval takes 'auto', 'half' or positive integers, but {spec!r} was given")

    scratch = tempfile.TemporaryDirectory(prefix="bench_gradient3d_", dir=args.scratch)
    folder = Path(scratch.name)
    adjoint = str(folder / "adjoint_source.npz")
    results, dt = [], None
    configs = [(pr, th) for pr in args.precision for th in args.threads]
    # (a) every forward; the first makes the adjoint source and fixes dt for all the others.
    for pr, th in configs:
        r = _run(args, "forward", pr, th, dt=dt, make_adjoint=adjoint if dt is None else None)
        results.append(r)
        if dt is None and "dt" in r:
            dt = r["dt"]
    if dt is None:
        print("the first forward failed: no adjoint source, nothing more to run", file=sys.stderr)
    else:
        grads = {}
        # (b) exact gradients, float64 first so that float32 runs can be compared with it.
        if "checkpoint" not in args.skip:
            for pr, th in sorted(configs, key=lambda c: c[0] != "float64"):
                path = str(folder / f"gradient_{pr}_{th}.npz")
                r = _run(args, "checkpoint", pr, th, dt=dt, adjoint=adjoint, save_gradient=path,
                         reference64=grads.get(("float64", th)) if pr != "float64" else None)
                results.append(r)
                if "error" not in r:
                    grads[(pr, th)] = path
        # (c) decimated gradients against the exact one of the same precision.
        if "decimated" not in args.skip:
            for pr, th in configs:
                for spec in args.sampling_interval:
                    results.append(_run(args, "decimated", pr, th, dt=dt, adjoint=adjoint, sampling_interval=spec,
                                        reference=grads.get((pr, th)),
                                        reference64=grads.get(("float64", th)) if pr != "float64" else None,
                                        save_gradient=None if grads.get((pr, th)) else
                                        str(folder / f"gradient_{pr}_{th}_decimated.npz")))
                    if not grads.get((pr, th)) and "error" not in results[-1]:
                        grads.setdefault(("decimated", th), str(folder / f"gradient_{pr}_{th}_decimated.npz"))
        # (d) smoothing of (b)'s vsv gradient (a decimated one if (b) was skipped).
        if "smoothing" not in args.skip:
            for th in args.threads:
                source = next((v for (k, t), v in grads.items() if t == th), None)
                if source is None:
                    print(f"no gradient for {th} thread(s) to smooth; smoothing skipped", file=sys.stderr)
                    continue
                results.append(_run(args, "smoothing", "float64", th, gradient=source))
    rows = _summarise(results)
    payload = {
        "benchmark": "gradient3d", "mesh": "continental", "order": 4,
        "settings": {"end_time": args.end_time, "elements_per_wavelength": args.elements_per_wavelength,
                     "precision": args.precision, "threads": args.threads, "sampling_interval": args.sampling_interval,
                     "source_time_function": args.source_time_function, "repeats": args.repeats,
                     "stations": [list(s) for s in STATIONS], "shift_s": SHIFT_SECONDS, "noise_fraction": NOISE_FRACTION,
                     "smoothing_lengths_wavelengths": SMOOTHING_LENGTHS, "reference_period_s": MIN_PERIOD, "dt": dt},
        "targets": {"gradient_over_forward": TARGET_GRADIENT_OVER_FORWARD,
                    "smoothing_over_forward": TARGET_SMOOTHING_OVER_FORWARD},
        "machine": machine_info(), "code": code_version(HERE.parent.parent, "engine"),
        "summary": rows, "results": results,
    }
    text = render(rows, results)
    if args.json:
        print(text, file=sys.stderr)
        print(json.dumps(payload, indent=2))
    else:
        print(text)
    print(f"wrote {write_json(args.out, payload)}", file=sys.stderr)
    scratch.cleanup()
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
