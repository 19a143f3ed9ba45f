"""Cost of a full gradient (forward with storage + adjoint + kernels) against a plain
forward, on the SPECFEM2D reference case (elastic, 100 x 100 elements, order 4).

    .venv/bin/python benchmarks/bench_gradient.py                 # the default set (~15 min)
    .venv/bin/python benchmarks/bench_gradient.py --steps 200 --elements 30   # smoke run

Each configuration runs in a fresh interpreter (thread count fixed, peak RSS its own);
inside it each phase runs ``--repeat`` times, interleaved, and the best counts.
Every run reports its gradient's relative error (the largest over vp, vs, rho) against
the float64 exact gradient of the same adjoint source: float32 roundoff sets the floor
that decimated storage is compared with.
The best run reuses the previous run's store pages (``engine.storage_buffers``), as a
worker's second and later gradients do; "first" is the first gradient of the process,
which maps its store afresh.
Prints a table and writes JSON (``--out``, default benchmarks/results/gradient.json).
SPECFEM2D needs 4.0x a forward for a gradient on this machine kind (NUMERICS.md).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    current_rss_mib, emit_result, format_table, machine_info, peak_rss_mib, run_isolated, write_json,
)

HERE = Path(__file__).resolve()
RICKER_HZ = 5.0


def _case(args, precision):
    """The benchmark case and its adjoint source: (engine, mesh, model, source, receivers,
    simulate keywords, dt, adjoint source). The adjoint source is computed in float32 by
    every run, so all runs (and the float64 reference) use the same one."""
    import numpy as np

    import engine
    from engine.operator import WaveOperator
    from engine.physics import get

    n = args.elements
    mesh = engine.mesh.rectangle(x=(0, 10000.0), z=(-10000.0, 0.0), elements=(n, n), absorbing=("left", "right", "bottom"))
    model = engine.Model.isotropic(mesh, vp=3000.0, vs=1800.0, rho=2200.0)
    op32 = WaveOperator(mesh, model, get("elastic"), np.float32)
    dt = 0.5 * op32.stable_dt()
    src = engine.Source.point_force((5000.0, -5000.0), (0.0, 1.0), engine.stf.ricker(RICKER_HZ))
    rec = engine.Receivers([(2500.0, 0.0), (5000.0, 0.0), (7500.0, 0.0)])
    # A band-limited adjoint source, like a misfit's: the L2 residual against the
    # synthetics shifted by 40 ms (tapered at both ends by the misfit).
    synthetics = engine.simulate(mesh, model, [src], rec, end_time=args.steps * dt, dt=dt, physics="elastic",
                                precision="float32", operator=op32)
    observed = synthetics.seismograms.shift(time=int(round(0.04 / dt)), fill_value=0.0)
    _, adj = engine.misfit.l2(observed, synthetics.seismograms)
    op = op32 if precision == "float32" else WaveOperator(mesh, model, get("elastic"), np.float64)
    kw = dict(dt=dt, physics="elastic", precision=precision, operator=op)
    return engine, mesh, model, src, rec, kw, dt, adj


def reference(args) -> None:
    """The float64 exact gradient (checkpointed) every run's error is measured against."""
    import numpy as np

    engine, mesh, model, src, rec, kw, dt, adj = _case(args, "float64")
    sim = engine.simulate(mesh, model, [src], rec, end_time=args.steps * dt,
                          keep_forward=engine.StoragePolicy(mode="checkpoint"), **kw)
    grad = engine.gradient(sim, adj, parameters=["vp", "vs", "rho"])
    np.savez(args.reference, **grad)
    emit_result({"reference": args.reference})


def one(args) -> None:
    import numba
    import numpy as np

    numba.set_num_threads(args.threads)
    engine, mesh, model, src, rec, kw, dt, adj = _case(args, args.precision)
    # Warm-up: compile every kernel on a few steps.
    warm = engine.simulate(mesh, model, [src], rec, end_time=5 * dt, keep_forward=True, **kw)
    engine.gradient(warm, np.zeros(warm.seismograms.shape))
    del warm
    baseline = current_rss_mib()
    policy = engine.StoragePolicy(mode=args.mode, memory_limit_bytes=2**40, sampling_interval=args.sampling_interval)
    # Best of `repeat` for each phase, interleaved: this VM's speed drifts between runs.
    best, first = {}, {}
    for _ in range(args.repeat):
        sim = grad = None  # free the previous store first: peak memory is one store
        for name, action in (("forward", lambda: engine.simulate(mesh, model, [src], rec, end_time=args.steps * dt, **kw)),
                             ("forward_storing", lambda: engine.simulate(mesh, model, [src], rec, end_time=args.steps * dt,
                                                                         keep_forward=policy, **kw)),
                             ("adjoint", lambda: engine.gradient(sim, adj))):
            t0, c0 = time.perf_counter(), time.process_time()
            result = action()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            sim = result if name == "forward_storing" else sim
            grad = result if name == "adjoint" else grad
            old = best.get(name, (np.inf, np.inf))
            best[name] = (min(old[0], wall), min(old[1], cpu))
            first.setdefault(name, wall)  # the first gradient maps its store's pages afresh
    stored = sim.forward.nbytes
    error = None
    if args.reference:  # against the float64 exact gradient: the float32 roundoff shows in every mode
        exact = np.load(args.reference)
        norms = {p: float(np.linalg.norm(exact[p])) for p in ("vp", "vs", "rho")}
        if all(v > 0 for v in norms.values()):  # a short smoke run may end before any wave arrives
            error = max(float(np.linalg.norm(grad[p] - exact[p])) / norms[p] for p in norms)
    # The Ricker's spectrum falls to 1 % of its peak at ~2.75 f0: the shortest period.
    guideline = engine.adjoint.sampling_interval_for(dt, 1.0 / (2.75 * RICKER_HZ))
    if args.mode == "decimated" and args.sampling_interval > guideline:
        print(f"warning: sampling interval {args.sampling_interval} exceeds the guideline's {guideline} at dt = "
              f"{dt:.4f} s (s dt <= T_min / 8): expect a large gradient error", file=sys.stderr)
    forward, forward_cpu = best["forward"]
    emit_result({
        "mode": args.mode, "precision": args.precision, "threads": args.threads, "steps": args.steps,
        "sampling_interval": args.sampling_interval if args.mode == "decimated" else 1, "guideline_interval": guideline,
        "n_global": mesh.n_global, "dt": dt, "forward_s": forward, "forward_storing_s": best["forward_storing"][0],
        "adjoint_s": best["adjoint"][0],
        "ratio": (best["forward_storing"][0] + best["adjoint"][0]) / forward,
        "first_ratio": (first["forward_storing"] + first["adjoint"]) / forward,
        "cpu_ratio": (best["forward_storing"][1] + best["adjoint"][1]) / forward_cpu, "stored_mib": stored / 2**20,
        "gradient_error": error, "baseline_rss_mib": baseline, "peak_rss_mib": peak_rss_mib(),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--elements", type=int, default=100)
    parser.add_argument("--steps", type=int, nargs="+", default=[2000, 8000])
    parser.add_argument("--mode", nargs="+", default=["full", "checkpoint", "decimated"])
    parser.add_argument("--precision", nargs="+", default=["float32"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase; the best counts")
    parser.add_argument("--sampling-interval", type=int, default=4,
                        help="steps between stored fields in the (approximate) 'decimated' mode")
    parser.add_argument("--make-reference", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(HERE.parent / "results" / "gradient.json"))
    args = parser.parse_args()
    if args.one or args.make_reference:
        args.steps, args.mode, args.precision, args.threads = args.steps[0], args.mode[0], args.precision[0], args.threads[0]
        return reference(args) if args.make_reference else one(args)
    rows = []
    scratch = tempfile.TemporaryDirectory()  # the float64 reference gradients, one per step count
    for steps in args.steps:
        reference_path = str(Path(scratch.name) / f"reference_{steps}.npz")
        ref = run_isolated(HERE, ["--make-reference", "--elements", str(args.elements), "--steps", str(steps),
                                  "--reference", reference_path], 1)
        if "error" in ref:
            print(f"float64 reference gradient failed ({ref}); no error column for {steps} steps", file=sys.stderr)
            reference_path = ""
        for mode in args.mode:
            if mode == "full" and steps > 4000:
                continue  # full storage of 8000 float32 steps is ~10 GB: the point of checkpoints
            for precision in args.precision:
                for threads in args.threads:
                    child = ["--one", "--elements", str(args.elements), "--steps", str(steps), "--mode", mode,
                             "--precision", precision, "--threads", str(threads),
                             "--sampling-interval", str(args.sampling_interval), "--repeat", str(args.repeat),
                             "--reference", reference_path]
                    r = run_isolated(HERE, child, threads)
                    r.update(steps=steps, mode=mode, precision=precision, threads=threads)
                    rows.append(r)
                    print(r, file=sys.stderr)
                    if mode == "decimated" and r.get("guideline_interval", args.sampling_interval) < args.sampling_interval:
                        print(f"warning: {steps} steps: sampling interval {args.sampling_interval} exceeds the guideline's "
                              f"{r['guideline_interval']} (s dt <= T_min / 8) on this mesh; its error is large", file=sys.stderr)
    columns = [("steps", "steps", "d"), ("mode", "storage", "s"), ("precision", "precision", "s"),
               ("threads", "thr", "d"), ("forward_s", "forward s", ".2f"), ("forward_storing_s", "fwd+store s", ".2f"),
               ("adjoint_s", "adjoint s", ".2f"), ("ratio", "gradient/forward", ".2f"), ("first_ratio", "first", ".2f"),
               ("gradient_error", "error vs f64", ".1e"), ("cpu_ratio", "CPU ratio", ".2f"),
               ("stored_mib", "stored MiB", ".0f"), ("peak_rss_mib", "peak RSS MiB", ".0f")]
    print(format_table(rows, columns))
    path = write_json(args.out, {"machine": machine_info(), "results": rows, "specfem2d_gradient_over_forward": 4.0})
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
