"""Throughput of the 3D stiffness kernels (engine.physics._kernels3d), float32, order 4.

Two meshes of similar size: a box of 20 x 20 x 20 elements (8,000 elements, 531,441
unique GLL points) and a spherical chunk of 30 x 30 degrees, 1,000 km deep, sized by PREM
at 80 s (27 x 27 x 10 = 7,290 curved elements, 487,121 points). Each kernel applies K u to
a random field; the figure is the best of ``--repeats`` applications (after a warm-up),
in microseconds per element-application and per element-application per core (times the
thread count), and GLL-point updates per second (unique points / time).

The target (shared/design/NUMERICS.md) is <= ~3.3 us per element-step per core for TI
physics in float32 at order 4, an element-step being a stiffness application plus the
time update; these figures are the stiffness part alone (the update is a few point-wise
passes over the global arrays). Every (mesh, threads) configuration runs in its own
interpreter (``_common.run_isolated``) so its thread pool has the requested size.

Usage::

    python benchmarks/bench_kernels3d.py                   # both meshes, 1 and 2 threads
    python benchmarks/bench_kernels3d.py --mesh box --threads 1 --repeats 5
    python benchmarks/bench_kernels3d.py --json            # JSON on stdout, table on stderr
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import code_version, emit_result, format_table, machine_info, run_isolated, write_json

KINDS = ("scalar", "scalar_pointwise", "isotropic", "anisotropic", "ti")
MESHES = ("box", "chunk")
THREADS = (1, 2)
ORDER = 4
TARGET_US_PER_ELEMENT_STEP_PER_CORE = 3.3
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "kernels3d.json"


def _mesh(name: str):
    import engine
    from engine.earth import prem

    if name == "box":
        return engine.mesh.box(x=(0.0, 200e3), y=(0.0, 200e3), z=(-200e3, 0.0), elements=(20, 20, 20), order=ORDER)
    return engine.mesh.spherical_chunk(45.0, 10.0, 30.0, 30.0, 1000e3, prem(), 80.0, order=ORDER)


def _coefficients(mesh, kind: str, rng):
    """Plausible per-point values (Pa; the acoustic 1/rho in m^3/kg)."""
    import numpy as np

    shape = (mesh.n_elements,) + mesh.point_shape[1:]
    jitter = lambda: 1.0 + 0.1 * rng.random(shape)  # noqa: E731
    if kind in ("scalar", "scalar_pointwise"):
        return (jitter() / 3300.0)[:, None]
    lam, mu = 7e10 * jitter(), 6.5e10 * jitter()
    if kind == "isotropic":
        return np.stack([lam, mu], axis=1)
    a, c, l, n = 2.2e11 * jitter(), 2.1e11 * jitter(), 6.5e10 * jitter(), 7e10 * jitter()
    f = 0.95 * (a - 2 * l)
    if kind == "ti":
        x = mesh.coordinates - (0.0 if mesh.chunk is not None else mesh.coordinates.mean(axis=(0, 1, 2, 3)))
        axis = x if mesh.chunk is not None else np.broadcast_to([0.0, 0.0, 1.0], x.shape)
        return np.concatenate([np.stack([a, c, l, n, f], 1), np.moveaxis(axis, -1, 1)], axis=1)
    from engine.physics.anisotropy import pack, rotate, ti_voigt

    if mesh.chunk is None:
        return np.moveaxis(pack(ti_voigt(a, c, l, n, f)), -1, 1)
    # Radial axis: the local frame (e_theta, e_phi, e_r) at every point.
    r = mesh.coordinates / np.linalg.norm(mesh.coordinates, axis=-1, keepdims=True)
    e_phi = np.cross([0.0, 0.0, 1.0], r)
    e_phi /= np.linalg.norm(e_phi, axis=-1, keepdims=True)
    frame = np.stack([np.cross(e_phi, r), e_phi, r], axis=-1)
    return np.moveaxis(pack(rotate(ti_voigt(a, c, l, n, f), frame)), -1, 1)


def run_one(mesh_name: str, threads: int, repeats: int, kinds) -> dict:
    """All kinds on one mesh with ``threads`` threads, in this process."""
    import numba
    import numpy as np

    from engine.physics._kernels3d import stiffness_3d

    numba.set_num_threads(threads)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    mesh = _mesh(mesh_name)
    out = {"mesh": mesh_name, "threads": threads, "n_elements": mesh.n_elements, "n_global": mesh.n_global,
           "mesh_s": time.perf_counter() - t, "kernels": []}
    for kind in kinds:
        t = time.perf_counter()
        op = stiffness_3d(mesh, _coefficients(mesh, kind, rng), kind, np.float32)
        setup = time.perf_counter() - t
        u = rng.standard_normal((mesh.n_global, op.n_components)).astype(np.float32)
        ku = np.empty_like(u)
        t = time.perf_counter()
        op.apply(u, ku)  # compile or load from the cache, and warm up
        first = time.perf_counter() - t
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            op.apply(u, ku)
            times.append(time.perf_counter() - t)
        best = min(times)
        us = 1e6 * best / mesh.n_elements
        out["kernels"].append({
            "kind": kind, "setup_s": setup, "first_call_s": first, "best_s": best, "median_s": float(np.median(times)),
            "us_per_element": us, "us_per_element_per_core": us * threads,
            "gll_updates_per_s": mesh.n_global / best,
            "material_rows": int(op.material.shape[1]),
            "fraction_of_target": us * threads / TARGET_US_PER_ELEMENT_STEP_PER_CORE,
        })
    return out


def render_table(payload: dict) -> str:
    rows = [dict(k, mesh=r["mesh"], threads=r["threads"]) for r in payload["results"] if "kernels" in r
            for k in r["kernels"]]
    return format_table(rows, [
        ("mesh", "mesh", "s"), ("threads", "thr", "d"), ("kind", "kernel", "s"), ("material_rows", "rows", "d"),
        ("best_s", "best s", ".4f"), ("us_per_element", "us/elem", ".2f"),
        ("us_per_element_per_core", "us/elem/core", ".2f"), ("gll_updates_per_s", "GLL upd/s", ".3g"),
        ("fraction_of_target", "x target 3.3", ".2f"),
    ])


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mesh", choices=MESHES, action="append", help="mesh(es) to run (default both)")
    p.add_argument("--threads", type=int, action="append", help="thread count(s) (default 1 and 2)")
    p.add_argument("--kind", choices=KINDS, action="append", help="kernel(s) (default all)")
    p.add_argument("--repeats", type=int, default=10, help="applications timed; the best counts (default 10)")
    p.add_argument("--json", action="store_true", help="print the JSON to stdout (the table goes to stderr)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the JSON")
    p.add_argument("--child", nargs=2, metavar=("MESH", "THREADS"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    kinds = args.kind or list(KINDS)
    if args.child:
        emit_result(run_one(args.child[0], int(args.child[1]), args.repeats, kinds))
        return 0
    script = Path(__file__).resolve()
    results = []
    for mesh_name in args.mesh or MESHES:
        for threads in args.threads or THREADS:
            extra = ["--repeats", str(args.repeats)] + [a for k in kinds for a in ("--kind", k)]
            print(f"running {mesh_name}, {threads} thread(s) ...", file=sys.stderr, flush=True)
            results.append(run_isolated(script, ["--child", mesh_name, str(threads)] + extra, threads))
    payload = {"benchmark": "kernels3d", "order": ORDER, "precision": "float32",
               "target_us_per_element_step_per_core": TARGET_US_PER_ELEMENT_STEP_PER_CORE,
               "machine": machine_info(), "code": code_version(script.parent.parent, "engine"), "results": results}
    table = render_table(payload)
    if args.json:
        print(table, file=sys.stderr)
        print(json.dumps(payload, indent=2))
    else:
        print(table)
    for r in results:
        if "error" in r:
            print(f"FAILED: {r}", file=sys.stderr)
    print(f"wrote {write_json(args.out, payload)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
