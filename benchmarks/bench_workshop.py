"""Seconds per iteration of the workshop inversion (3 events, full size, ``local`` site,
warm Numba cache): the figure a class feels on every Resume. Target: <= 5 s on 2 cores.

    .venv/bin/python benchmarks/bench_workshop.py [--iterations 3] [--size full]

Builds the example project once under benchmarks/results/workshop_<size> (reused when
it exists), runs one warm-up iteration (compiles, fills caches), then times the next
ones, with the time split by stage from the iteration logs.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import format_table, machine_info, peak_rss_mib, write_json  # noqa: E402

HERE = Path(__file__).resolve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="full", choices=["full", "small"])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--ranks-per-job", type=int, default=1)
    parser.add_argument("--out", default=str(HERE.parent / "results" / "workshop.json"))
    args = parser.parse_args()

    from fwi_widgets import namespace as sn
    from tests.fwi_widgets._part4 import PROBLEM, add_problem

    path = HERE.parent / "results" / f"workshop_{args.size}"
    t0 = time.perf_counter()
    p = sn.examples.workshop_2d(path, size=args.size)
    created = time.perf_counter() - t0
    shutil.rmtree(path / "inversions", ignore_errors=True)
    shutil.rmtree(path / "configurations" / "inverse_problem", ignore_errors=True)
    add_problem(p, site="local")
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    rows = []
    for k in range(args.iterations + 1):
        t0 = time.perf_counter()
        assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.02)
        seconds = time.perf_counter() - t0
        it = p.inversions.get_iteration(PROBLEM, k)
        trials = it.record["results"]["trials"]
        rows.append({"iteration": k, "seconds": seconds, "warm": str(k > 0), "trials": len(trials),
                     "chi": it.record["results"]["chi"], "accepted": str(trials[-1]["accepted"])})
    warm = [r["seconds"] for r in rows if r["warm"] == "True"]
    d = p.inversions.get_iteration(PROBLEM, 0)
    from fwi_widgets.workflow import discretisation as disc

    mesh = disc.discretisation(p, p.simulation_configuration("initial_model_70_120_seconds")).mesh
    print(format_table(rows, [("iteration", "iteration", "d"), ("seconds", "seconds", ".2f"), ("warm", "warm", "s"),
                              ("trials", "trials", "d"), ("chi", "chi", ".3f"), ("accepted", "accepted", "s")]))
    summary = {"size": args.size, "events": len(d.config.events), "stations": len(p.events.stations()),
               "n_elements": mesh.n_elements, "n_global": mesh.n_global, "project_created_s": created,
               "mean_warm_iteration_s": sum(warm) / max(1, len(warm)), "target_s": 5.0, "peak_rss_mib": peak_rss_mib()}
    print(summary)
    write_json(args.out, {"machine": machine_info(), "summary": summary, "iterations": rows})


if __name__ == "__main__":
    main()
