"""The 3D dashboard (``notebooks/dashboard_continental.ipynb``) in a real browser: Voila
renders it on the small continental example, Resume clicks walk iteration #0 to its end,
the model view's depth slice changes after the accepted update, and a click on a station
of the map shows its Z, N and E waveforms.

Timing on 2 cores: the notebook builds the small example (about 40 s), then the
iteration's jobs run (about 80 s); the budgets below leave room for a busy machine.
"""
from __future__ import annotations

import time

from .conftest import ROOT, BrowserPage, voila_notebook, wait_for_render
from .test_voila import _MAP_PATHS_JS, _MODEL_IMAGES_JS, STATION_STROKE, _log, _wait_for_log

NOTEBOOK = ROOT / "notebooks" / "dashboard_continental.ipynb"
RENDER_TIMEOUT_MS = 300_000
ITERATION_TIMEOUT_S = 420.0
N_STATIONS = 12  # the small continental example
CURRENT_MAP, UPDATE_MAP = "VSV of the current model (m/s)", "update: current - prior (m/s)"

# The waveform view's small per-component figures: their titles and how many vertices
# their observed (black) trace has.
_COMPONENTS_JS = """() => Array.from(document.querySelectorAll('.waveforms-view .waveforms-components .bqplot.figure'))
    .map(f => {
      const observed = Array.from(f.querySelectorAll('path.line')).filter(p => (p.style.stroke || '') === 'rgb(0, 0, 0)');
      return {title: f.querySelector('.mainheading')?.textContent || '',
              vertices: observed.length ? (observed[0].getAttribute('d').match(/L/g) || []).length : 0};
    })"""


def _model_images(page) -> dict:
    images = page.evaluate(_MODEL_IMAGES_JS)
    assert {CURRENT_MAP, UPDATE_MAP} <= set(images), f"Model view figures: {sorted(images)}"
    return images


def test_continental_dashboard_walks_an_iteration_in_voila(tmp_path, browser_page: BrowserPage, output_dir):
    env = {"CONTINENTAL_SIZE": "small", "FWI_DASHBOARD_PROJECT_DIR": str(tmp_path / "project"),
           "FWI_DASHBOARD_SITE": "local"}
    page = browser_page.page
    with voila_notebook(NOTEBOOK, env, tmp_path) as (url, log_tail):
        wait_for_render(page, url, [".resume-button", ".domain-map path.leaflet-interactive",
                                    ".waveforms-view .bqplot.figure"],
                        RENDER_TIMEOUT_MS, output_dir / "continental-render-failed.png", log_tail)
        page.wait_for_timeout(1000)
        page.screenshot(path=str(output_dir / "continental-rendered.png"))
        browser_page.assert_no_errors()
        assert page.evaluate(_MAP_PATHS_JS).count(STATION_STROKE) == N_STATIONS
        assert "Model of iteration #0" in page.locator(".model-view").inner_text()
        before = _model_images(page)
        assert before[CURRENT_MAP]["opaque"] > 1000 and before[UPDATE_MAP]["opaque"] > 1000, before

        # Resume clicks walk iteration #0: jobs run in the background between them.
        page.locator(".resume-button").click()
        _wait_for_log(page, "Launched adjoint simulations", timeout_ms=120_000)
        deadline, clicks = time.monotonic() + ITERATION_TIMEOUT_S, 1
        while "Adding new iteration #1" not in _log(page):
            assert time.monotonic() < deadline, f"No iteration #1 after {clicks} clicks. Log:\n{_log(page)}\n{log_tail()}"
            assert not page.locator(".error-box pre").count(), page.locator(".error-box").inner_text()
            page.wait_for_timeout(3000)
            page.locator(".resume-button").click(timeout=120_000)
            clicks += 1
        assert "Model update accepted." in _log(page)
        page.evaluate("() => document.querySelector('.inversion-view').scrollIntoView()")
        page.screenshot(path=str(output_dir / "continental-after-iteration.png"))

        # The depth slice of the model changed: the current map and the update map
        # (current - prior, zero before) are other images. (On the chunk the cells outside
        # it are drawn too, so the colour spread of a map says little here.)
        page.wait_for_function(
            "() => document.querySelector('.model-view').innerText.includes('Model of iteration #1')", timeout=30_000)
        deadline = time.monotonic() + 15.0
        while True:
            after = _model_images(page)
            redrawn = all(after[k]["href"] != before[k]["href"] for k in (CURRENT_MAP, UPDATE_MAP))
            if redrawn or time.monotonic() > deadline:
                break
            page.wait_for_timeout(250)
        assert redrawn, {k: (v["opaque"], v["spread"]) for k, v in after.items()}
        page.locator(".model-view").screenshot(path=str(output_dir / "continental-model-after.png"))

        # A station click shows its three components.
        page.locator(".domain-map").scroll_into_view_if_needed()
        circles = page.locator(".domain-map path.leaflet-interactive")
        strokes = page.evaluate(_MAP_PATHS_JS)
        index = [i for i, s in enumerate(strokes) if s == STATION_STROKE][N_STATIONS // 2]
        circles.nth(index).click(force=True)
        page.wait_for_function("() => document.querySelector('.waveforms-view').innerText.includes('iteration #')",
                               timeout=30_000)
        page.wait_for_timeout(1000)
        components = page.evaluate(_COMPONENTS_JS)
        assert [c["title"] for c in components] == ["Z", "N", "E"], components
        assert all(c["vertices"] > 100 for c in components), components
        page.locator(".waveforms-view").screenshot(path=str(output_dir / "continental-waveforms.png"))
        browser_page.assert_no_errors()
