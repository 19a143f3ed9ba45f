"""The dashboard notebook in a real browser: Voila renders the widgets, Resume drives
iteration #0 of the small workshop to its end, the misfit curve and the map show it.

Timings on 2 cores: page rendered in about 6 s, iteration #0 done about 10 s later;
the budget below (120 s) leaves room for a cold Numba cache in the job processes.
"""
from __future__ import annotations

import time

from .conftest import BrowserPage, VoilaServer

# The small workshop: 24 stations, 3 events (all in the seed problem).
N_STATIONS = 24
N_EVENTS = 3
RENDER_TIMEOUT_MS = 90_000
ITERATION_TIMEOUT_S = 120.0
# Colours set by fwi_widgets.views (rgb of "#1f77b4", station outline "#333333", domain outline "#c0392b").
ACCEPTED_RGB = "rgb(31, 119, 180)"
STATION_STROKE, OUTLINE_STROKE, EVENT_STROKE = "#333333", "#c0392b", "#000000"

# Vertices of the total-misfit line and the accepted-model dots in the misfit figure,
# with the line's vertex coordinates (px; SVG y grows downwards).
_MISFIT_MARKS_JS = """() => {
  const figure = Array.from(document.querySelectorAll('.inversion-view .bqplot.figure'))
      .find(f => (f.querySelector('.mainheading')?.textContent || '').startsWith('Misfit'));
  if (!figure) return null;
  const total = Array.from(figure.querySelectorAll('path.line'))
      .filter(p => (p.style.stroke || '') === '%(rgb)s');
  const d = total.length ? (total[0].getAttribute('d') || '') : '';
  const vertices = Array.from(d.matchAll(/[ML]\\s*(-?[\\d.eE+-]+)[ ,](-?[\\d.eE+-]+)/g))
      .map(m => [parseFloat(m[1]), parseFloat(m[2])]);
  const dots = Array.from(figure.querySelectorAll('path.dot'))
      .filter(p => (p.style.fill || '') === '%(rgb)s').length;
  return {n_lines: total.length, vertices: vertices, dots: dots};
}""" % {"rgb": ACCEPTED_RGB}

_MAP_PATHS_JS = """() => Array.from(document.querySelectorAll('.domain-map path.leaflet-interactive'))
    .map(p => p.getAttribute('stroke'))"""


def _log(page) -> str:
    return page.locator(".inversion-log textarea").input_value()


def _wait_for_log(page, text: str, timeout_ms: float) -> None:
    page.wait_for_function(
        "t => (document.querySelector('.inversion-log textarea')?.value || '').includes(t)", arg=text,
        timeout=timeout_ms,
    )


def test_dashboard_resume_runs_iteration_0(voila_server: VoilaServer, browser_page: BrowserPage, output_dir):
    page = browser_page.page
    started = time.monotonic()
    page.goto(voila_server.url, timeout=RENDER_TIMEOUT_MS)
    try:
        page.locator(".resume-button").wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
        page.locator(".domain-map path.leaflet-interactive").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    except Exception as exc:
        page.screenshot(path=str(output_dir / "render-failed.png"))
        raise AssertionError(f"The dashboard did not render: {exc}\nVoila log:\n{voila_server.log_tail()}") from None
    page.wait_for_timeout(500)  # let bqplot and leaflet finish their first draw
    page.screenshot(path=str(output_dir / "rendered.png"))
    browser_page.assert_no_errors()

    # Before any step: iteration #0 exists but has no misfit yet, so the curve is empty.
    before = page.evaluate(_MISFIT_MARKS_JS)
    assert before is not None, "No bqplot figure titled 'Misfit...' in the inversion view."
    assert before["vertices"] == [] and before["dots"] == 0, before

    # The map: land, the domain outline, one circle per station, one per event (layer order).
    strokes = page.evaluate(_MAP_PATHS_JS)
    assert strokes.count(STATION_STROKE) == N_STATIONS, strokes
    assert strokes.count(OUTLINE_STROKE) == 1, strokes
    assert strokes.count(EVENT_STROKE) == N_EVENTS, strokes

    # First Resume: initialise, issue misfit_and_gradient and launch its jobs.
    page.locator(".resume-button").click()
    _wait_for_log(page, "Launched adjoint simulations", timeout_ms=60_000)
    page.screenshot(path=str(output_dir / "after-resume.png"))
    assert page.locator(".task-table").inner_text().count("misfit_and_gradient") >= 1

    # Keep resuming (the click waits until the button is enabled again) until the
    # iteration completes and #1 is added.
    deadline = time.monotonic() + ITERATION_TIMEOUT_S
    clicks = 1
    while "Adding new iteration #1" not in _log(page):
        assert time.monotonic() < deadline, (
            f"No 'Adding new iteration #1' after {ITERATION_TIMEOUT_S} s and {clicks} clicks. Log:\n{_log(page)}"
            f"\nVoila log:\n{voila_server.log_tail()}")
        assert not page.locator(".error-box pre").count(), page.locator(".error-box").inner_text()
        page.wait_for_timeout(1000)  # jobs run in other processes; do not hammer the kernel
        page.locator(".resume-button").click(timeout=60_000)
        clicks += 1
    page.wait_for_timeout(1000)  # the last click's curve update reaches the page after the log
    page.screenshot(path=str(output_dir / "after-iteration.png"))
    browser_page.assert_no_errors()

    log = _log(page)
    # Iteration #1 is only added once a trial model was accepted.
    assert "Model update accepted." in log, log
    after = page.evaluate(_MISFIT_MARKS_JS)
    # Iteration #0's misfit and the accepted trial model's (drawn at x = 1).
    assert after["n_lines"] == 1 and len(after["vertices"]) == 2 and after["dots"] == 2, after
    (x0, y0), (x1, y1) = after["vertices"]
    assert x1 > x0, after
    # An accepted step lowers the misfit: the second point sits lower on the screen.
    assert y1 > y0, after

    # The map still shows every station (now coloured by misfit change) after the step.
    strokes = page.evaluate(_MAP_PATHS_JS)
    assert strokes.count(STATION_STROKE) == N_STATIONS, strokes
    assert strokes.count(OUTLINE_STROKE) == 1, strokes
    assert time.monotonic() - started < 180.0
