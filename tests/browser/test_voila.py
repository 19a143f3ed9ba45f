"""The dashboard notebook in a real browser: Voila renders the widgets, Resume drives
iteration #0 of the small workshop to its end, the misfit curve, the map and the model
view show it, and a click on a station of the map picks it in the waveform view. A
second visit to the page gets the project the first one had open.

Timings on 2 cores: page rendered in about 6 s (15 s when the notebook builds the
project), iteration #0 done about 10 s later; each test 15-25 s with other work on the
machine. The budget below (120 s) leaves room for a cold Numba cache in the job processes.
"""
from __future__ import annotations

import io
import re
import time

import numpy as np
from PIL import Image

from fwi_widgets.project import Project

from .conftest import BrowserPage, VoilaServer, assert_layout, open_dashboard

# The small workshop: 24 stations, 3 events (all in the seed problem).
N_STATIONS = 24
N_EVENTS = 3
RENDER_TIMEOUT_MS = 90_000
ITERATION_TIMEOUT_S = 120.0
# Colours set by fwi_widgets.views (rgb of "#1f77b4", station outline "#333333", domain outline "#c0392b").
ACCEPTED_RGB = "rgb(31, 119, 180)"
STATION_STROKE, OUTLINE_STROKE, EVENT_STROKE = "#333333", "#c0392b", "#000000"
# The map's land fill (fwi_widgets.views.domain) and sea: Leaflet's background, #ddd.
LAND_RGB, SEA_RGB = (0xF2, 0xEF, 0xE9), (0xDD, 0xDD, 0xDD)
# Places on the map as it opens, away from coasts, markers and the legend (the sea ones
# in the Norwegian and Barents Seas lay in a band the old base map drew across the world).
LAND_PLACES = {"Kansas": (-98.0, 39.0), "Yakutia": (125.0, 63.0), "Mongolia": (103.0, 46.0)}
SEA_PLACES = {"Sargasso Sea": (-60.0, 30.0), "Hudson Bay": (-85.0, 59.0), "Norwegian Sea": (0.0, 71.2),
              "Barents Sea": (40.0, 73.0)}

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

# In the trust-region radius figure: the pending-step diamonds (orange, "#ff7f0e") and the
# trial dots of the line (bqplot draws a Lines' markers in its ".curve"), their vertical
# centres (px, downwards).
_RADIUS_MARKS_JS = """() => {
  const figure = Array.from(document.querySelectorAll('.inversion-view .bqplot.figure'))
      .find(f => (f.querySelector('.mainheading')?.textContent || '').startsWith('Trust-region radius'));
  const centre = e => { const r = e.getBoundingClientRect(); return (r.top + r.bottom) / 2; };
  const pending = Array.from(figure.querySelectorAll('path.dot')).filter(p => p.style.fill === 'rgb(255, 127, 14)');
  const trials = Array.from(figure.querySelectorAll('.curve path.dot'));
  return {pending: pending.length, trials: trials.length, pending_y: pending.map(centre), trial_y: trials.map(centre)};
}"""

_MAP_PATHS_JS = """() => Array.from(document.querySelectorAll('.domain-map path.leaflet-interactive'))
    .map(p => p.getAttribute('stroke'))"""


# The image each map of the model view draws (bqplot's HeatMap paints a canvas and shows
# it as a PNG data URL), by figure title, with how many of its pixels are opaque and how
# much their colours spread (standard deviation, 0-255 units).
_MODEL_IMAGES_JS = """async () => {
  const result = {};
  for (const figure of document.querySelectorAll('.model-view .bqplot.figure')) {
    const title = figure.querySelector('.mainheading')?.textContent || '';
    const href = figure.querySelector('image')?.getAttribute('href') || '';
    let opaque = 0, spread = 0;
    if (href.startsWith('data:image/png')) {
      const img = new Image();
      img.src = href;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      const context = canvas.getContext('2d');
      context.drawImage(img, 0, 0);
      const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
      // The spread of the opaque pixels' colour: 0 for a map of one colour (edges of
      // no-data cells, where the scaled canvas blends, are not fully opaque).
      const sums = [0, 0, 0], squares = [0, 0, 0];
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] !== 255) continue;
        opaque += 1;
        for (let c = 0; c < 3; c++) { sums[c] += data[i + c]; squares[c] += data[i + c] * data[i + c]; }
      }
      spread = opaque ? Math.max(...[0, 1, 2].map(c => Math.sqrt(Math.max(0, squares[c] / opaque - (sums[c] / opaque) ** 2)))) : 0;
    }
    result[title] = {href: href, opaque: opaque, spread: spread};
  }
  return result;
}"""
CURRENT_MAP, UPDATE_MAP = "VS of the current model (m/s)", "update: current - prior (m/s)"


def _log(page) -> str:
    return page.locator(".inversion-log textarea").input_value()


def _wait_for_log(page, text: str, timeout_ms: float) -> None:
    page.wait_for_function(
        "t => (document.querySelector('.inversion-log textarea')?.value || '').includes(t)", arg=text,
        timeout=timeout_ms,
    )


def _open_dashboard(browser_page: BrowserPage, voila_server: VoilaServer, output_dir, failed_png: str) -> None:
    """Visit the page and wait for every view, the model and waveform views too, to render."""
    open_dashboard(browser_page, voila_server, output_dir, RENDER_TIMEOUT_MS, failed_screenshot=failed_png)
    page = browser_page.page
    for view in (".model-view", ".waveforms-view"):
        page.locator(f"{view} .bqplot.figure").first.wait_for(state="visible", timeout=10_000)


def _screenshot_from_the_top(page, path) -> None:
    """A screenshot of the page scrolled to the inversion view (the page is taller than the
    viewport, and clicks scroll it)."""
    page.evaluate("() => document.querySelector('.inversion-view').scrollIntoView()")
    page.screenshot(path=str(path))


def _model_images(page) -> dict:
    images = page.evaluate(_MODEL_IMAGES_JS)
    assert {CURRENT_MAP, UPDATE_MAP} <= set(images), f"Model view figures: {sorted(images)}"
    return images


def _brief(images: dict) -> dict:
    """What to print of _model_images (not the data URLs)."""
    return {title: (len(image["href"]), image["opaque"], round(image["spread"], 2)) for title, image in images.items()}


def test_dashboard_resume_runs_iteration_0(voila_server: VoilaServer, browser_page: BrowserPage, output_dir):
    page = browser_page.page
    started = time.monotonic()
    _open_dashboard(browser_page, voila_server, output_dir, "render-failed.png")
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
    # Land drawn in the land colour, sea in the sea colour (the base map once drew them
    # inside out, with a band across the map at 71 N).
    colours = _map_colours(page, voila_server, output_dir / "map.png")
    assert {p: c[0] for p, c in colours.items()} == {**dict.fromkeys(LAND_PLACES, "land"),
                                                     **dict.fromkeys(SEA_PLACES, "sea")}, colours

    # The model view shows iteration #0, whose model is the prior: its update map is one colour.
    assert "Model of iteration #0" in page.locator(".model-view").inner_text()
    model_before = _model_images(page)
    assert model_before[UPDATE_MAP]["opaque"] > 1000 and model_before[UPDATE_MAP]["spread"] < 1.0, _brief(model_before)
    page.locator(".model-view").screenshot(path=str(output_dir / "model-before.png"))

    # First Resume: initialise, issue misfit_and_gradient and launch its jobs.
    page.locator(".resume-button").click()
    _wait_for_log(page, "Launched adjoint simulations", timeout_ms=60_000)
    _screenshot_from_the_top(page, output_dir / "after-resume.png")
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
    _screenshot_from_the_top(page, output_dir / "after-iteration.png")
    browser_page.assert_no_errors()

    log = _log(page)
    # The radius figure: the accepted trial's dot and the pending step's diamond (the
    # status line's tr_radius, doubled by the decision) above it.
    radius = page.evaluate(_RADIUS_MARKS_JS)
    assert radius["pending"] == 1 and radius["trials"] == 1, radius
    assert radius["pending_y"][0] < radius["trial_y"][0] - 10, radius
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

    # The model view redrew with the accepted model: the current map's image is another
    # one, and the update map (current - prior) is no longer a single colour.
    page.wait_for_function("() => document.querySelector('.model-view').innerText.includes('Model of iteration #1')",
                           timeout=10_000)
    deadline = time.monotonic() + 10.0  # the HeatMaps repaint after the title
    while True:
        model_after = _model_images(page)
        redrawn = model_after[CURRENT_MAP]["href"] != model_before[CURRENT_MAP]["href"]
        if (redrawn and model_after[UPDATE_MAP]["spread"] > 5.0) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(250)
    assert redrawn, _brief(model_after)
    assert model_after[UPDATE_MAP]["spread"] > 5.0, _brief(model_after)
    page.locator(".model-view").screenshot(path=str(output_dir / "model-after-iteration.png"))

    _click_a_station(page, voila_server, output_dir)
    browser_page.assert_no_errors()
    assert time.monotonic() - started < 180.0


# Index (among the map's interactive paths) of each station circle whose centre is not
# covered by another element, with the centre's coordinates.
_CLICKABLE_STATIONS_JS = """stroke => Array.from(document.querySelectorAll('.domain-map path.leaflet-interactive'))
    .map((p, i) => ({p: p, i: i}))
    .filter(({p}) => p.getAttribute('stroke') === stroke)
    .map(({p, i}, k) => {
      const r = p.getBoundingClientRect();
      const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
      return {k: k, i: i, clear: document.elementFromPoint(x, y) === p};
    })"""
# Centre of each station circle (px from the map's top left corner), in layer order.
_STATION_CENTRES_JS = """stroke => {
  const map = document.querySelector('.domain-map').getBoundingClientRect();
  return Array.from(document.querySelectorAll('.domain-map path.leaflet-interactive'))
    .filter(p => p.getAttribute('stroke') === stroke)
    .map(p => { const r = p.getBoundingClientRect();
                return [(r.left + r.right) / 2 - map.left, (r.top + r.bottom) / 2 - map.top]; });
}"""
# The station picked in the waveform view's Dropdown, its message and its trace's vertices.
_WAVEFORMS_JS = """() => {
  const view = document.querySelector('.waveforms-view');
  const select = view.querySelector('select');
  const observed = Array.from(view.querySelectorAll('path.line'))
      .filter(p => (p.style.stroke || '') === 'rgb(0, 0, 0)');
  return {station: select.options[select.selectedIndex]?.text,
          message: view.querySelector('.widget-html-content')?.innerText || '',
          observed_vertices: observed.length ? (observed[0].getAttribute('d').match(/L/g) || []).length : 0};
}"""


def _map_colours(page, voila_server: VoilaServer, path) -> dict:
    """Screenshot the map and read its colour (a 5 x 5 px median) at each place of
    LAND_PLACES and SEA_PLACES, as "land" or "sea", whichever colour is nearer (the
    domain outline's 5 % red tint leaves them apart)."""
    page.locator(".domain-map").scroll_into_view_if_needed()
    stations = Project.open_read_only(voila_server.project_dir).events.stations()
    centres = np.array(page.evaluate(_STATION_CENTRES_JS, STATION_STROKE))
    assert centres.shape == (N_STATIONS, 2), centres
    # Web mercator: x is linear in longitude and y in ln(tan(pi/4 + lat/2)); the
    # stations' centres fix both lines.
    lons = np.array([s.longitude for s in stations])
    mercator = np.log(np.tan(np.pi / 4 + np.radians([s.latitude for s in stations]) / 2))
    fx, fy = np.polyfit(lons, centres[:, 0], 1), np.polyfit(mercator, centres[:, 1], 1)
    image = np.asarray(Image.open(io.BytesIO(page.locator(".domain-map").screenshot(path=str(path)))).convert("RGB"))
    scale = image.shape[1] / page.locator(".domain-map").bounding_box()["width"]  # device px per CSS px
    found = {}
    for place, (lon, lat) in {**LAND_PLACES, **SEA_PLACES}.items():
        x = np.polyval(fx, lon) * scale
        y = np.polyval(fy, np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))) * scale
        i, j = round(y), round(x)
        assert 2 <= i < image.shape[0] - 2 and 2 <= j < image.shape[1] - 2, (place, x, y, image.shape)
        rgb = np.median(image[i - 2:i + 3, j - 2:j + 3].reshape(-1, 3), axis=0)
        land, sea = (np.linalg.norm(rgb - np.array(c)) for c in (LAND_RGB, SEA_RGB))
        found[place] = ("land" if land < sea else "sea", tuple(int(c) for c in rgb))
    return found


def _click_a_station(page, voila_server: VoilaServer, output_dir) -> None:
    """Click a station circle on the map: the waveform view picks it (through the shared
    selection) and draws its traces; the circle is drawn as selected."""
    # Before a click the view already shows the first station's traces (never empty figures).
    stations = [s.name for s in Project.open_read_only(voila_server.project_dir).events.stations()]
    assert stations[0] in page.evaluate(_WAVEFORMS_JS)["message"], page.evaluate(_WAVEFORMS_JS)
    page.locator(".domain-map").scroll_into_view_if_needed()
    # The map's stations are in layer order, as the project lists them.
    clickable = [c for c in page.evaluate(_CLICKABLE_STATIONS_JS, STATION_STROKE) if c["clear"]]
    assert len(stations) == N_STATIONS and clickable, (stations, clickable)
    choice = clickable[len(clickable) // 2]
    station = stations[choice["k"]]
    circle = page.locator(".domain-map path.leaflet-interactive").nth(choice["i"])
    circle.click()

    page.wait_for_function("s => document.querySelector('.waveforms-view').innerText.includes(s)", arg=station,
                           timeout=10_000)
    page.wait_for_timeout(500)  # the traces arrive with the message; let bqplot draw them
    shown = page.evaluate(_WAVEFORMS_JS)
    assert shown["station"] == station, shown
    # The newest finished forward run of the first event (the accepted trial model's): its traces are drawn.
    assert re.search(rf"^{re.escape(station)}, event_\S+, iteration #\d+: misfit \d", shown["message"]), shown
    assert shown["observed_vertices"] > 100, shown
    # The clicked circle is drawn as selected (black, thicker); the others are not.
    page.wait_for_function("c => c.getAttribute('stroke') === '#000000' && c.getAttribute('stroke-width') === '3'",
                           arg=circle.element_handle(), timeout=10_000)
    strokes = page.evaluate(_MAP_PATHS_JS)
    assert strokes.count(STATION_STROKE) == N_STATIONS - 1, strokes
    page.locator(".domain-map").screenshot(path=str(output_dir / "map-after-click.png"))
    page.locator(".waveforms-view").screenshot(path=str(output_dir / "waveforms-after-click.png"))
    # With traces drawn (tick labels like "-2.5e-13") the y labels stay clear of the ticks.
    assert_layout(page)


# Kernel ids in Voila's log, in order.
_STARTED, _SHUT_DOWN = re.compile(r"Kernel started: ([0-9a-f-]{36})"), re.compile(r"Kernel shutdown: ([0-9a-f-]{36})")


def test_a_second_visit_opens_the_project_the_first_had_open(voila_server: VoilaServer, browser_page: BrowserPage,
                                                              output_dir):
    """Each visit runs the notebook in a new kernel, which opens the project for writing.
    The first page's kernel used to keep the project's lock for good (Voila's shutdown
    request on leaving the page was refused, voila-dashboards/voila#1458, fixed by the
    repository's ``voila.json``), so a second visit failed with ProjectLockedError."""
    page = browser_page.page
    _open_dashboard(browser_page, voila_server, output_dir, "first-visit-failed.png")
    page.locator(".resume-button").click()
    # Leave while the jobs run (in the kernel's thread pool): the new kernel finds them
    # unfinished or done, and either way carries on.
    _wait_for_log(page, "Submitting job array", timeout_ms=60_000)

    # Visit again (a reload does the same): leaving the page asks Voila to shut its kernel down.
    _open_dashboard(browser_page, voila_server, output_dir, "second-visit-failed.png")
    page.screenshot(path=str(output_dir / "second-visit.png"))
    log = voila_server.log.read_text(errors="replace")
    started = _STARTED.findall(log)
    assert len(started) == 2 and started[0] in _SHUT_DOWN.findall(log), voila_server.log_tail()
    assert "ProjectLockedError" not in log and "/voila/api/shutdown" not in log, voila_server.log_tail()

    # The new kernel read the first one's work from the project (the log is kept there)
    # and may write to it: a Resume carries iteration #0 on from where the first visit left it.
    before = _log(page)
    assert "Submitting job array" in before, before
    assert "misfit_and_gradient" in page.locator(".task-table").inner_text()
    page.locator(".resume-button").click()
    page.wait_for_function("b => document.querySelector('.inversion-log textarea').value !== b", arg=before,
                           timeout=60_000)
    assert not page.locator(".error-box pre").count(), page.locator(".error-box").inner_text()
    assert "Iteration #0" in page.locator(".inversion-view").inner_text()
    _screenshot_from_the_top(page, output_dir / "second-visit-after-resume.png")
    browser_page.assert_no_errors()
