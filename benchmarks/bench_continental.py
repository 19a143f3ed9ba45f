"""Minutes per iteration of the continental tutorial in 3D (the seed's Part 4 on
``sn.examples.continental_3d``), ``local`` site, warm Numba cache, with the time per
stage. Target: 10 minutes per iteration on 2 cores at full size; three iterations
reduce the control-group misfit by at least 30 % and the recovered VSV anomaly
correlates with the true one at >= 0.6 at 100 km depth where the data see it.

    .venv/bin/python benchmarks/bench_continental.py [--size full] [--iterations 3]

Builds the example once under benchmarks/results/continental_<size> (reused when it
exists; the build's time is printed the first time), runs the seed's Part 4 cells up to
``add_iteration`` as written, then ``iterate`` once per iteration. The time of each
stage comes from the iteration's stage changes (the first iteration includes Numba's
compilation when the cache is cold: it is reported, not hidden).
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import format_table, machine_info, peak_rss_mib, write_json  # noqa: E402

HERE = Path(__file__).resolve()
PROBLEM = "inv_70_120_seconds"


def _timed_stages():
    """Record (stage, seconds) as the iteration moves from one stage to the next."""
    from fwi_widgets.workflow import iteration

    spans: list[list] = []
    original = iteration.Iteration._set_stage

    def set_stage(self, stage):
        now = time.perf_counter()
        if spans and spans[-1][2] is None:
            spans[-1][2] = now
        spans.append([self.number, stage, None, now])
        original(self, stage)

    iteration.Iteration._set_stage = set_stage
    return spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="full", choices=["full", "small"])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = Path(args.out or HERE.parent / "results" / f"continental_{args.size}.json")

    from fwi_widgets import namespace as sn
    from fwi_widgets.examples import continental
    from fwi_widgets.workflow import discretisation as disc
    from tests.fwi_widgets.seed_part4 import CELLS

    root = HERE.parent / "results" / f"continental_{args.size}"
    root.mkdir(parents=True, exist_ok=True)
    path = root / "project_dir_central_europe"
    t0 = time.perf_counter()
    p = sn.examples.continental_3d(path, size=args.size)
    build_s = time.perf_counter() - t0
    p.close()
    shutil.rmtree(path / "inversions", ignore_errors=True)
    shutil.rmtree(path / "configurations" / "inverse_problem", ignore_errors=True)
    os.chdir(root)
    os.environ["SITE_NAME"] = "local"
    namespace: dict = {}
    for cell in CELLS[:4]:  # constants, project, the inverse problem, add_iteration
        exec(compile(cell, "<seed cell>", "exec"), namespace)
    p = namespace["p"]
    spans = _timed_stages()
    rows = []
    for k in range(args.iterations):
        t0 = time.perf_counter()
        assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=1.0)
        seconds = time.perf_counter() - t0
        it = p.inversions.get_iteration(PROBLEM, k)
        trials = it.record["results"]["trials"]
        stages = {}
        for number, stage, end, start in spans:
            if number == k and end is not None:
                stages[stage] = stages.get(stage, 0.0) + end - start
        rows.append({"iteration": k, "minutes": seconds / 60.0, "trials": len(trials),
                     "chi": it.record["results"]["chi"], "trial_chi": trials[-1]["chi"],
                     "accepted": str(trials[-1]["accepted"]),
                     **{f"{s}_s": round(v, 1) for s, v in stages.items()}})
        print(rows[-1], flush=True)
    sim = p.simulation_configuration(continental.SIMULATION)
    d = disc.discretisation(p, sim)
    chi = [r["chi"] for r in rows]
    last = p.inversions.get_iteration(PROBLEM, args.iterations)
    chi_end = last.record["results"].get("chi") if last.record.get("results") else rows[-1]["trial_chi"]
    if chi_end is None:
        chi_end = rows[-1]["trial_chi"]
    correlation = {depth: continental.recovery_correlation(p, PROBLEM, iteration=None, parameter="vsv",
                                                           depth_in_meters=depth * 1e3)
                   for depth in (100, 150, 200)}
    print(format_table(rows, [("iteration", "iteration", "d"), ("minutes", "minutes", ".2f"),
                              ("trials", "trials", "d"), ("chi", "chi", ".3f"), ("trial_chi", "trial chi", ".3f"),
                              ("accepted", "accepted", "s")]))
    summary = {
        "size": args.size, "events": len(namespace["SELECTED_EVENTS"]), "stations": len(p.events.stations()),
        "n_elements": d.mesh.n_elements, "n_global": d.mesh.n_global, "dt_s": d.dt,
        "n_steps": int(round(disc.record_length(sim) / d.dt)), "build_s": build_s,
        "mean_iteration_min": sum(r["minutes"] for r in rows) / len(rows), "target_min": 10.0,
        "chi_first": chi[0], "chi_last": chi_end, "misfit_reduction": 1.0 - chi_end / chi[0],
        "vsv_correlation_by_depth_km": correlation, "peak_rss_mib": peak_rss_mib(),
        "numba_threads": int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1)),
    }
    print(summary, flush=True)
    write_json(out, {"machine": machine_info(), "summary": summary, "iterations": rows})


if __name__ == "__main__":
    main()
