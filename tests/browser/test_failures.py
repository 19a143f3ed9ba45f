"""A crashed job in a real browser: Voila runs the dashboard with the test-only fault
``FWI_WIDGETS_FAULT=fail-job-once:<Iceland's gradient job>`` (see
``fwi_widgets.project.store``), so the first attempt of that job raises inside the
kernel's job pool. The page shows it failed with its error and a retry button, without
another click; the retry button runs it again and Resume finishes iteration #0.

Also checked on the rendered page: every event and station lies inside the map with a
margin (the Iceland event used to sit on its top edge), and the task table never shows
a new iteration together with tasks (the previous iteration's).

Timings on 2 cores shared with other work: 19-41 s for the whole test (Voila start,
page render, the failed job, the retry and iteration #0); the budgets below allow for a
cold Numba cache in the kernel.
"""
from __future__ import annotations

import time

import pytest

from fwi_widgets.project import store

from .conftest import BrowserPage, VoilaServer, open_dashboard

ICELAND = "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26"
FAILING_JOB = f"0000/jobs/misfit_and_gradient_0_{ICELAND}"
RENDER_TIMEOUT_MS = 90_000
JOB_TIMEOUT_MS = 90_000
ITERATION_TIMEOUT_S = 120.0
# Events and stations must lie this far inside the map's box (px): the map's fit keeps
# their centres 40 px inside; an event circle has a 9 px radius and a 2 px outline.
MAP_MARGIN_PX = 25

# Every text the task table shows, recorded in the page as it changes.
_RECORD_TABLE_JS = """() => {
  const table = document.querySelector('.task-table');
  window.__tables = [table.innerText];
  new MutationObserver(() => window.__tables.push(table.innerText))
      .observe(table, {subtree: true, childList: true, characterData: true});
}"""

# Bounding boxes of the map and of its event and station circles (layer order).
_MAP_BOXES_JS = """() => {
  const map = document.querySelector('.domain-map');
  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  const circles = Array.from(map.querySelectorAll('path.leaflet-interactive'))
      .filter(p => ['#000000', '#333333'].includes(p.getAttribute('stroke')))
      .map(p => ({stroke: p.getAttribute('stroke'), box: box(p)}));
  return {map: box(map), circles: circles};
}"""


@pytest.fixture
def failing_voila_server(request, monkeypatch) -> VoilaServer:
    """The dashboard in Voila, its kernel started with the fault in its environment."""
    monkeypatch.setenv(store.FAULT_ENVIRONMENT_VARIABLE, f"fail-job-once:{FAILING_JOB}")
    return request.getfixturevalue("voila_server")


def _log(page) -> str:
    return page.locator(".inversion-log textarea").input_value()


def _table(page) -> str:
    return page.locator(".task-table").inner_text()


def test_a_crashed_job_shows_as_failed_and_the_retry_button_continues(
        failing_voila_server: VoilaServer, browser_page: BrowserPage, output_dir):
    page, server = browser_page.page, failing_voila_server
    open_dashboard(browser_page, server, output_dir, RENDER_TIMEOUT_MS, failed_screenshot="failures-render-failed.png")
    page.evaluate(_RECORD_TABLE_JS)
    assert not page.locator(".retry-button").is_visible()

    # The map opens on every event and station, none on (or past) its edge.
    boxes = page.evaluate(_MAP_BOXES_JS)
    left, top, right, bottom = boxes["map"]
    assert [c["stroke"] for c in boxes["circles"]].count("#000000") == 3, boxes
    for circle in boxes["circles"]:
        l, t, r, b = circle["box"]
        margin = min(l - left, t - top, right - r, bottom - b)
        assert margin >= MAP_MARGIN_PX, (circle, boxes["map"])

    # Resume launches the three jobs; Iceland's fails in the kernel's pool. The page shows
    # it without another click (the job's thread refreshes the state).
    page.locator(".resume-button").click()
    page.locator(".retry-button").wait_for(state="visible", timeout=JOB_TIMEOUT_MS)
    page.wait_for_function(  # the failure, and the other two jobs done
        "() => ['Injected fault', '2/3 jobs done'].every("
        "t => (document.querySelector('.task-table')?.innerText || '').includes(t))",
        timeout=JOB_TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.screenshot(path=str(output_dir / "failed-job.png"))
    table = _table(page)
    assert "failed" in table and f"RuntimeError: Injected fault: the job for event {ICELAND}" in table, table
    assert "2/3 jobs done" in table, table
    browser_page.assert_no_errors()

    # The retry button submits the failed job again (attempt 2) and hides itself.
    page.locator(".retry-button").click()
    page.wait_for_function(
        "() => (document.querySelector('.inversion-log textarea')?.value || '').includes('Retrying 1 failed job')",
        timeout=JOB_TIMEOUT_MS)
    page.locator(".retry-button").wait_for(state="hidden", timeout=JOB_TIMEOUT_MS)
    assert "(attempt 2)" in _table(page) and "Injected fault" not in _table(page)

    # Resume until iteration #0 is complete. Each click is given a second to reach the
    # kernel and come back before the log is read, so no click starts iteration #1.
    deadline = time.monotonic() + ITERATION_TIMEOUT_S
    while "Adding new iteration #1" not in _log(page):
        assert time.monotonic() < deadline, (
            f"No 'Adding new iteration #1' within {ITERATION_TIMEOUT_S} s of the retry. Log:\n{_log(page)}"
            f"\nVoila log:\n{server.log_tail()}")
        assert not page.locator(".error-box pre").count(), page.locator(".error-box").inner_text()
        page.locator(".resume-button").click(timeout=60_000)
        page.wait_for_timeout(1000)
    page.wait_for_timeout(1000)  # the curve's update reaches the page after the log
    page.screenshot(path=str(output_dir / "after-retry.png"))
    browser_page.assert_no_errors()
    log = _log(page)
    assert "Model update accepted." in log and "Retrying 1 failed job(s)" in log
    dots = page.evaluate("""() => Array.from(document.querySelectorAll('.inversion-view .bqplot.figure path.dot'))
        .filter(p => (p.style.fill || '') === 'rgb(31, 119, 180)').length""")
    assert dots == 2, dots  # iteration #0's misfit and the accepted trial's

    # Never a new iteration with tasks in the table: #1 starts with none issued.
    tables = page.evaluate("() => window.__tables")
    fresh = [t for t in tables if "Iteration #1" in t]
    assert fresh and all("No task issued yet" in t for t in fresh), fresh
