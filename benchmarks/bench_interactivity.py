"""Interactivity of the widgets on the small workshop (issue 5). Targets: 1 s.

    .venv/bin/python benchmarks/bench_interactivity.py [--clicks 4] [--skip-browser]

(a) Python: how long ``resume_button.click()`` holds the notebook when it launches the
    first task's jobs (target <= 1 s; the jobs must still run when it returns).
(b) Python: the wall-clock times at which the state's ``tasks`` trait changes after that
    click, until every job is done: the views update per finished job while jobs run
    (no further click), so updates must arrive before the last job finishes.
(c) Browser: Voila serves ``notebooks/dashboard.ipynb`` to headless Chromium; for a few
    Resume clicks, the time from the click (inside the page, ``performance.now()``) to
    the Resume button rendering as disabled (``busy`` reached the page) and to the log
    text changing (target <= 1 s for a state change to reach the rendered widget).

Results go to ``--out`` (default benchmarks/results/interactivity.json; not committed).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(ROOT))
from _common import format_table, machine_info, write_json  # noqa: E402

TARGET_S = 1.0
# Long enough for a cold Numba cache in the job processes of the small workshop.
JOBS_TIMEOUT_S = 90.0


def _job_counts(tasks: tuple) -> tuple[int, int, int]:
    """(done, failed, total) over every job of every task."""
    jobs = [job for task in tasks for job in task["jobs"]]
    return (sum(j["status"] == "done" for j in jobs), sum(j["status"] == "failed" for j in jobs), len(jobs))


def measure_python(workdir: Path) -> dict:
    """(a) and (b): time the Resume click and record each ``tasks`` change after it."""
    from fwi_widgets import namespace as sn
    from tests.fwi_widgets._part4 import PROBLEM, add_problem

    p = sn.examples.workshop_2d(workdir / "project", size="small")
    add_problem(p, site="local")
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    view = p.viz.nb.inversion(inverse_problem_configuration=PROBLEM)
    state = view.state

    # Observers run in whichever thread changed the trait (the site's, for finished
    # jobs): take the time first, copy the counts, do nothing else there.
    updates: list[dict] = []
    lock = threading.Lock()
    click_running = [False]  # updates made inside the click are not per-job updates

    def on_tasks(change) -> None:
        now = time.perf_counter()
        done, failed, total = _job_counts(change["new"])
        with lock:
            updates.append({"t": now, "done": done, "failed": failed, "total": total,
                            "thread": threading.current_thread().name,
                            "during_click": click_running[0]})

    state.observe(on_tasks, names=["tasks"])
    t0 = time.perf_counter()
    click_running[0] = True
    view.resume_button.click()
    click_running[0] = False
    click_s = time.perf_counter() - t0
    done, failed, total = _job_counts(state.tasks)
    running_after_click = total - done - failed

    deadline = time.monotonic() + JOBS_TIMEOUT_S
    while time.monotonic() < deadline:
        done, failed, total = _job_counts(state.tasks)
        if total and done + failed == total:
            break
        time.sleep(0.01)
    state.unobserve(on_tasks, names=["tasks"])
    all_finished = total > 0 and done + failed == total
    with lock:
        rows = [dict(u, t=u["t"] - t0) for u in updates]
    # Per-job updates: those after the click returned whose done count went up.
    per_job, last_done = [], None
    for u in rows:
        if u["during_click"]:
            last_done = u["done"]
            continue
        if last_done is None or u["done"] > last_done:
            per_job.append(u)
        last_done = u["done"]
    t_last = per_job[-1]["t"] if per_job and all_finished else None
    before_last = [u for u in per_job if t_last is not None and u["t"] < t_last]
    state.close()
    return {
        "click_seconds": click_s,
        "click_within_target": click_s <= TARGET_S,
        "jobs_total": total,
        "jobs_still_running_when_click_returned": running_after_click,
        "all_jobs_finished": all_finished,
        "jobs_failed": failed,
        "tasks_updates": rows,
        "per_job_updates": per_job,
        "last_job_finished_s": t_last,
        "updates_before_last_job": len(before_last),
        "updates_arrived_while_jobs_ran": len(before_last) > 0,
    }


# --- (c) in the browser -----------------------------------------------------------------------------
# One evaluate clicks and starts the clock in the page, so neither Playwright's round
# trips nor its actionability checks count; the waits below read the same clock.
_CLICK_JS = """() => {
  const area = document.querySelector('.inversion-log textarea');
  window.__fwiLogBefore = area ? area.value : '';
  window.__fwiClick = performance.now();
  document.querySelector('.resume-button').click();
  return window.__fwiClick;
}"""
_DISABLED_JS = """() => document.querySelector('.resume-button').disabled
    ? performance.now() - window.__fwiClick : null"""
_LOG_CHANGED_JS = """() => {
  const v = document.querySelector('.inversion-log textarea')?.value || '';
  return v !== window.__fwiLogBefore ? performance.now() - window.__fwiClick : null;
}"""
_ENABLED_JS = "() => !document.querySelector('.resume-button').disabled"


def measure_browser(workdir: Path, n_clicks: int) -> dict:
    """(c): click Resume in Voila ``n_clicks`` times; per click, the click-to-render times."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, LOCAL_PREFIXES, NOTEBOOK, _answers, _free_port, _stop

    port = _free_port()
    log = workdir / "voila.log"
    env = dict(os.environ, FWI_DASHBOARD_PROJECT_DIR=str(workdir / "dashboard"), FWI_DASHBOARD_SITE="local")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"]
    url = f"http://127.0.0.1:{port}/"
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    clicks: list[dict] = []
    try:
        deadline = time.monotonic() + 60.0
        while not _answers(f"{url}voila/static/voila.js"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Voila did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1280, "height": 2200}).new_page()
            page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(LOCAL_PREFIXES) else r.abort())
            t0 = time.perf_counter()
            page.goto(url, timeout=90_000)
            page.locator(".resume-button").wait_for(state="visible", timeout=90_000)
            render_s = time.perf_counter() - t0
            page.wait_for_timeout(1000)  # let the first draw settle
            for k in range(n_clicks):
                page.wait_for_function(_ENABLED_JS, timeout=60_000)
                page.evaluate(_CLICK_JS)
                row = {"click": k + 1}
                for key, js in (("to_disabled_ms", _DISABLED_JS), ("to_log_change_ms", _LOG_CHANGED_JS)):
                    try:
                        row[key] = page.wait_for_function(js, polling="raf", timeout=30_000).json_value()
                    except Exception:  # noqa: BLE001 - e.g. busy came and went between two frames
                        row[key] = None
                page.wait_for_function(_ENABLED_JS, timeout=60_000)
                row["to_enabled_ms"] = page.evaluate("() => performance.now() - window.__fwiClick")
                # The log is newest first: its first line says what this click did.
                row["newest_log_line"] = page.locator(".inversion-log textarea").input_value().split("\n")[0][:60]
                clicks.append(row)
                page.wait_for_timeout(1500)  # jobs run in other processes; let some finish
            browser.close()
    finally:
        _stop(process)
    logs = [c["to_log_change_ms"] for c in clicks if c["to_log_change_ms"] is not None]
    return {"page_render_seconds": render_s, "clicks": clicks,
            "max_click_to_log_ms": max(logs) if logs else None,
            "log_within_target": bool(logs) and max(logs) <= 1000.0 * TARGET_S}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clicks", type=int, default=4, help="Resume clicks in the browser (4)")
    parser.add_argument("--skip-browser", action="store_true", help="measure (a) and (b) only")
    parser.add_argument("--out", default=str(HERE.parent / "results" / "interactivity.json"))
    args = parser.parse_args()
    if args.clicks < 1:
        parser.error(f"The 'clicks' parameter must be positive, but {args.clicks} was given.")

    with tempfile.TemporaryDirectory(prefix="fwi-interactivity-") as tmp:
        python = measure_python(Path(tmp))
        browser = None if args.skip_browser else measure_browser(Path(tmp), args.clicks)

    print(f"(a) Resume click returned in {python['click_seconds']:.3f} s (target <= {TARGET_S} s): "
          f"{'OK' if python['click_within_target'] else 'MISSED'}; "
          f"{python['jobs_still_running_when_click_returned']} of {python['jobs_total']} jobs still running then")
    print("(b) 'tasks' updates after the click (s since the click):")
    print(format_table(python["per_job_updates"], [("t", "t [s]", ".3f"), ("done", "jobs done", "d"),
                                                   ("total", "of", "d"), ("thread", "thread", "s")]))
    print(f"    {python['updates_before_last_job']} update(s) before the last job finished "
          f"(at {python['last_job_finished_s'] or float('nan'):.3f} s): "
          f"{'OK' if python['updates_arrived_while_jobs_ran'] else 'MISSED'}")
    if browser is not None:
        print(f"(c) Voila page rendered in {browser['page_render_seconds']:.1f} s; per Resume click (ms since the click):")
        print(format_table(browser["clicks"], [("click", "click", "d"), ("to_disabled_ms", "button disabled", ".0f"),
                                               ("to_log_change_ms", "log changed", ".0f"),
                                               ("to_enabled_ms", "button enabled", ".0f"),
                                               ("newest_log_line", "newest log line", "s")]))
        print(f"    slowest click-to-log: {browser['max_click_to_log_ms'] or float('nan'):.0f} ms (target <= {1000 * TARGET_S:.0f} ms): "
              f"{'OK' if browser['log_within_target'] else 'MISSED'}")
    path = write_json(args.out, {"target_seconds": TARGET_S, "machine": machine_info(),
                                 "python": python, "browser": browser})
    print(f"JSON: {path}")


if __name__ == "__main__":
    main()
