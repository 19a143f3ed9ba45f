"""The workshop tutorial itself under Voila (the issue asks that it works there too): the
whole notebook runs at the small size, the live views render, and the misfit curve holds
every iteration the notebook's ``iterate`` cell ran.

Timing on 2 cores: about 17-25 s (building the small project and five iterations).
"""
from __future__ import annotations

import os
import subprocess
import sys

from .conftest import ROOT, BrowserPage, _free_port, _require, _stop, _wait_until_serving
from .test_voila import _MISFIT_MARKS_JS, _MAP_PATHS_JS, N_STATIONS, STATION_STROKE

NOTEBOOK = ROOT / "notebooks" / "workshop_inversion.ipynb"
RENDER_TIMEOUT_MS = 240_000
# Iterations #0..#4 have an accepted model once the notebook's iterate(n_iterations=4) ran.
ACCEPTED_MODELS = 5


def test_the_workshop_notebook_runs_in_voila_with_its_widgets(tmp_path, browser_page: BrowserPage, output_dir):
    _require("voila")
    port = _free_port()
    env = dict(os.environ, WORKSHOP_SIZE="small", PROJECT_DIR=str(tmp_path / "project"), SITE_NAME="local")
    env["PATH"] = os.pathsep.join([str(sys.executable).rsplit(os.sep, 1)[0], env.get("PATH", "")])
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}",
                                    "--Voila.ip=127.0.0.1"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail() -> str:
        return log.read_text(errors="replace")[-4000:]

    page = browser_page.page
    try:
        _wait_until_serving(process, f"http://127.0.0.1:{port}/voila/static/voila.js", "Voila", log_tail)
        page.goto(f"http://127.0.0.1:{port}/", timeout=RENDER_TIMEOUT_MS)
        try:
            page.locator(".resume-button").wait_for(state="visible", timeout=RENDER_TIMEOUT_MS)
            page.locator(".domain-map path.leaflet-interactive").first.wait_for(timeout=RENDER_TIMEOUT_MS)
            # The last cells (model, gradients, waveforms) render once iterate has finished.
            page.locator(".bqplot.figure").nth(5).wait_for(timeout=RENDER_TIMEOUT_MS)
        except Exception as exc:
            page.screenshot(path=str(output_dir / "workshop-render-failed.png"))
            raise AssertionError(f"The workshop notebook did not render in Voila: {exc}\n{log_tail()}") from None
        page.wait_for_timeout(1000)
        page.screenshot(path=str(output_dir / "workshop-voila.png"))
        browser_page.assert_no_errors()
        errors = page.locator("[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
        assert not [e for e in errors if "Traceback" in e or "Error" in e], errors

        curve = page.evaluate(_MISFIT_MARKS_JS)
        assert curve is not None and curve["n_lines"] == 1, curve
        assert len(curve["vertices"]) == ACCEPTED_MODELS, curve
        # The misfit falls from the prior to the last model (SVG y grows downwards).
        assert curve["vertices"][-1][1] > curve["vertices"][0][1], curve
        strokes = page.evaluate(_MAP_PATHS_JS)
        assert strokes.count(STATION_STROKE) == N_STATIONS, strokes
    finally:
        _stop(process)
