"""Views without a browser: marks, buttons, the offline map and clicks (ipywidgets 8
widgets work without a kernel; front-end messages are simulated)."""
import html
import json
import re
import subprocess
import sys
import time

import ipyleaflet as L
import numpy as np
import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.project import store
from fwi_widgets.state import InversionState
from fwi_widgets.views._basemap import LAND_FILE, land_geojson, topojson_to_geojson
from fwi_widgets.views.domain import (_LEGEND, MAP_HEIGHT_PX, MAP_MIN_WIDTH_PX, MAP_PADDING_PX, ZOOM_SNAP, fit_view,
                                      legend_html, misfit_change_colour)
from fwi_widgets.views.inversion import _points

from ._part4 import PROBLEM, SELECTED_EVENTS


def _layer(m, name):
    found = [layer for layer in m.layers if layer.name == name]
    assert len(found) == 1, f"expected one layer named {name!r}, got {[layer.name for layer in m.layers]}"
    return found[0]


def test_resume_clicks_walk_an_iteration_and_the_curve_gains_its_point(project):
    view = project.viz.nb.inversion(inverse_problem_configuration=PROBLEM)
    state = project.viz.state(PROBLEM)
    assert view.marks["accepted"].x.size == 0 and "No iteration yet" in view.table.value
    np.testing.assert_array_equal(view.misfit_figure.axes[0].tick_values, [0, 1])  # whole numbers on an empty axis
    assert "resume-button" in view.resume_button._dom_classes
    assert "iterate-button" in view.iterate_button._dom_classes
    view.resume_button.click()
    assert state.stage == "misfit_and_gradient" and "Iteration #0" in view.table.value
    assert "misfit_and_gradient" in view.table.value and "3/3 jobs done" in view.table.value
    # Its own misfit is known once the gradient jobs are collected (the second click).
    view.resume_button.click()
    np.testing.assert_array_equal(view.marks["accepted"].x, [0.0])
    for _ in range(5):
        if state.current_iteration == 1:
            break
        view.resume_button.click()
    assert state.current_iteration == 1 and view.error_box.value == ""
    chi0 = state.iterations[0]["chi"]
    trial = state.iterations[0]["trials"][-1]
    # Iteration 0's misfit at x = 0, the accepted trial (iteration 1's model) at x = 1.
    np.testing.assert_array_equal(view.marks["accepted"].x, [0.0, 1.0])
    np.testing.assert_array_equal(view.marks["accepted"].y, [chi0, trial["chi"]])
    np.testing.assert_array_equal(view.marks["total"].y, [chi0, trial["chi"]])
    assert view.marks["rejected"].x.size == 0
    np.testing.assert_array_equal(view.marks["events"].x, [0.0, 1.0])
    assert view.marks["events"].y.shape == (3, 2) and list(view.marks["events"].labels) == sorted(SELECTED_EVENTS)
    np.testing.assert_array_equal(view.marks["radius"].y, [trial["radius"]])
    # The status line's tr_radius is the record's radius after the decision (doubled:
    # the step reached the boundary with rho > 0.75), for iteration #1's first step, not
    # the accepted trial's: the plot shows it as the pending step, at x = 1.
    assert state.tr_radius == pytest.approx(2 * trial["radius"]) and "radius multiplied by 2" in trial["reason"]
    np.testing.assert_array_equal(view.marks["pending_radius"].x, [1.0])
    np.testing.assert_array_equal(view.marks["pending_radius"].y, [state.tr_radius])
    assert f"tr_radius = {state.tr_radius:.4g} (pending step)" in view.table.value
    assert "Successfully completed iteration #0." in view.log_area.value.splitlines()
    assert "Iteration #1" in view.table.value and "last step accepted" in view.table.value
    # What the browser receives: the mark's state carries the two points.
    assert tuple(view.marks["accepted"].get_state()["x"]["shape"]) == (2,)


def test_iterate_disables_the_buttons_while_the_background_step_runs(project):
    view = project.viz.nb.inversion(PROBLEM, timeout_in_seconds=120, ping_interval_in_seconds=0.05)
    state = project.viz.state(PROBLEM)
    disabled = []
    view.resume_button.observe(lambda c: disabled.append(c["new"]), names="disabled")
    view.iterate_button.click()
    assert view.resume_button.disabled and view.iterate_button.disabled  # at once, before any job finished
    view.resume_button.click()  # a disabled button's click must not start a second step
    assert state.error == ""
    assert state.wait(timeout=120), "the background iterate did not finish within 120 s"
    assert not view.resume_button.disabled and not view.iterate_button.disabled
    assert disabled == [True, False]
    assert state.current_iteration == 1 and view.marks["accepted"].x.size == 2


# Jobs of the small workshop take about 0.3 s each on 2 cores; the budget covers a cold
# Numba cache and a machine busy with other work.
JOB_TIMEOUT_S = 120.0
ICELAND = SELECTED_EVENTS[1]
FAILING_JOB = f"0000/jobs/misfit_and_gradient_0_{ICELAND}"


def _until(predicate, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 20 ms (pool threads update the state) until it holds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        time.sleep(0.02)


def test_a_crashed_job_shows_as_failed_with_its_error_and_the_retry_button_continues(local_project, monkeypatch):
    p = local_project
    # The first attempt of one real job raises inside the job, in a pool thread of the local site.
    monkeypatch.setenv(store.FAULT_ENVIRONMENT_VARIABLE, f"fail-job-once:{FAILING_JOB}")
    view = p.viz.nb.inversion(PROBLEM)
    state = p.viz.state(PROBLEM)
    assert view.retry_button.layout.display == "none"
    view.resume_button.click()  # adds iteration #0 and launches its 3 jobs; returns while they run
    assert state.stage == "misfit_and_gradient" and view.error_box.value == ""

    def finished() -> bool:
        return state.tasks and all(j["status"] in ("done", "failed") for j in state.tasks[0]["jobs"])

    # No further click: the state learns of the failure from the pool thread that ran the job.
    _until(finished, JOB_TIMEOUT_S, "the three jobs finishing")
    task = state.tasks[0]
    jobs = {j["event"]: j for j in task["jobs"]}
    assert task["status"] == "failed" and task["n_done"] == 2
    assert jobs[ICELAND]["status"] == "failed"
    assert jobs[ICELAND]["error"].startswith(f"RuntimeError: Injected fault: the job for event {ICELAND} fails")
    assert "failed" in view.table.value
    assert f"padding-left:2em'>{html.escape(jobs[ICELAND]['error'])}</td>" in view.table.value  # a row of its own
    assert view.retry_button.layout.display is None  # shown

    # Resume without retry: the failure is recorded and reported, nothing is lost or redone.
    view.resume_button.click()
    assert "click 'Retry failed jobs' in the inversion widget (p.viz.nb.inversion)" in view.log_area.value
    assert view.retry_button.description == "Retry failed jobs"  # the button the log line names
    assert f"Job for event {ICELAND} failed: RuntimeError: Injected fault" in view.log_area.value
    record = p.inversions.get_iteration(PROBLEM, 0).record
    failed_job = record["tasks"]["misfit_and_gradient"]["jobs"][ICELAND]
    assert failed_job["status"] == "failed" and failed_job["attempts"] == 1
    assert "Traceback" in failed_job["error"] and "simulation_job" in failed_job["error"]
    job_dirs = {e: p.paths.job(PROBLEM, 0, j["folder"]) for e, j in record["tasks"]["misfit_and_gradient"]["jobs"].items()}
    assert not (job_dirs[ICELAND] / "result.json").exists()
    for event, folder in job_dirs.items():
        if event != ICELAND:  # the jobs that succeeded keep their results, written once
            assert (folder / "result.json").exists() and (folder / "gradient.nc").exists()
            assert len((folder / "completions.log").read_text().splitlines()) == 1
    assert state.stage == "misfit_and_gradient" and state.misfit_history == () and view.marks["accepted"].x.size == 0
    # A state rebuilt from disk (as after a kernel restart) shows the same failure.
    again = InversionState(sn.Project.open_read_only(p.paths.root), PROBLEM)
    assert again.tasks == state.tasks and again.tasks[0]["status"] == "failed"

    # Retry: the failed job runs again (attempt 2), the error leaves the table.
    view.retry_button.click()
    assert "Retrying 1 failed job(s)" in view.log_area.value and view.error_box.value == ""
    retried = {j["event"]: j for j in state.tasks[0]["jobs"]}[ICELAND]
    assert retried["attempts"] == 2 and retried["error"] is None and retried["status"] != "failed"
    assert "(attempt 2)" in view.table.value and view.retry_button.layout.display == "none"
    # Resume until the iteration completes: its misfit point, then the accepted trial's.
    for _ in range(10):
        if state.current_iteration == 1:
            break
        _until(lambda: not state.tasks or all(j["status"] != "submitted" and j["status"] != "running"
                                              for t in state.tasks for j in t["jobs"]),
               JOB_TIMEOUT_S, "the submitted jobs finishing")
        view.resume_button.click()
    assert state.current_iteration == 1 and view.error_box.value == ""
    np.testing.assert_array_equal(view.marks["accepted"].x, [0.0, 1.0])
    assert state.iterations[0]["chi"] is not None and set(state.iterations[0]["misfits"]) == set(SELECTED_EVENTS)
    assert len((job_dirs[ICELAND] / "completions.log").read_text().splitlines()) == 1  # completed once, on retry


def test_points_put_rejected_trials_beside_the_iteration_they_would_start():
    misfits = {"a": 1.0, "b": 2.0}
    history = ({"iteration": 0, "trial": None, "chi": 3.0, "misfits": misfits, "accepted": True},
               {"iteration": 0, "trial": 0, "chi": 5.0, "misfits": misfits, "accepted": False},
               {"iteration": 0, "trial": 1, "chi": 2.0, "misfits": misfits, "accepted": True})
    iterations = ({"number": 0, "trials": ({"radius": 0.4}, {"radius": 0.1})},)
    p = _points(history, iterations)
    np.testing.assert_array_equal(p["x"], [0, 1])
    np.testing.assert_array_equal(p["chi"], [3.0, 2.0])
    np.testing.assert_array_equal(p["x_rejected"], [1])
    np.testing.assert_array_equal(p["chi_rejected"], [5.0])
    np.testing.assert_array_equal(p["x_radius"], [0, 0.5])
    assert p["x_pending"].size == 0  # no record radius given
    np.testing.assert_array_equal(p["per_event"], [[1.0, 1.0], [2.0, 2.0]])
    assert _points(history[:1], ())["per_event"].size == 0  # one point per event: no lines yet


def test_the_pending_radius_is_the_status_lines_and_sits_where_its_trial_will():
    rejected = {"radius": 0.4, "accepted": False}
    # Trial 0 rejected, the radius divided by 4 for trial 1: it takes the second half of
    # iteration 1, where trial 1 is drawn once decided.
    p = _points((), ({"number": 0, "trials": ({"radius": 0.2, "accepted": True},), "tr_radius": 0.4},
                     {"number": 1, "trials": (rejected,), "tr_radius": 0.1}))
    np.testing.assert_array_equal(p["x_radius"], [0.0, 1.0])
    np.testing.assert_array_equal(p["radius"], [0.2, 0.4])
    np.testing.assert_array_equal(p["x_pending"], [1.5])
    np.testing.assert_array_equal(p["radius_pending"], [0.1])
    decided = _points((), ({"number": 1, "trials": (rejected, {"radius": 0.1, "accepted": True}), "tr_radius": 0.2},))
    np.testing.assert_array_equal(decided["x_radius"], [1.0, 1.5])
    np.testing.assert_array_equal(decided["x_pending"], [2.0])  # accepted: the next iteration's first step
    fresh = _points((), ({"number": 0, "trials": (), "tr_radius": None},))
    assert fresh["x_pending"].size == 0  # no radius before the first step is proposed


# bqplot centres a title on the plot area and cuts it at the figure's edge; its font
# draws about 7.5 px per character (measured on the screenshots): 8.5 leaves room.
TITLE_PX_PER_CHAR = 8.5


def _px(size: str) -> float:
    assert size.endswith("px"), size
    return float(size[:-2])


def test_titles_fit_their_figures_and_captions_explain_the_marks(project):
    view = project.viz.nb.inversion(PROBLEM)
    for figure in (view.misfit_figure, view.radius_figure):
        margin, plot = figure.fig_margin, _px(figure.layout.width) - figure.fig_margin["left"] - figure.fig_margin["right"]
        room = plot + 2 * min(margin["left"], margin["right"])
        assert len(figure.title) * TITLE_PX_PER_CHAR <= room, (figure.title, room)
    assert view.misfit_figure.title.startswith("Misfit")  # the browser tests find the figure by it
    for text in ("total misfit", "per event", "rejected trial"):
        assert text in view.misfit_caption.value
    assert "tr_radius" in view.radius_caption.value and "pending" in view.radius_caption.value


def test_y_labels_clear_their_tick_labels(project):
    waves, model = project.viz.nb.waveforms(PROBLEM), project.viz.nb.model(PROBLEM, points=20)
    # Widest tick label of each figure (characters): "-2.5e-13" on traces, "-3000" (km)
    # on maps, "4040" (m/s) on the profile.
    widest = {waves.trace_figure: 8, waves.adjoint_figure: 8, model.profile_figure: 5}
    grid = model.children[1].children
    assert len(grid) == 4
    widest.update({figure: 5 for figure in grid})
    for figure, n_chars in widest.items():
        (y_axis,) = [axis for axis in figure.axes if getattr(axis, "side", None) == "left"]
        assert y_axis.label_offset and y_axis.label_offset.endswith("px"), (figure.title, y_axis.label_offset)
        offset = _px(y_axis.label_offset)
        # A 12 px font draws about 7 px a character, after the 6 px tick and a 3 px gap;
        # the 14 px label is drawn outside its offset, and must stay inside the figure.
        assert offset >= n_chars * 7 + 6 + 3 + 4, (figure.title, offset)
        assert figure.fig_margin["left"] >= offset + 16, (figure.title, figure.fig_margin)


def test_map_legend_puts_each_label_beside_its_swatch(project):
    m = project.viz.nb.domain(inverse_problem_configuration=PROBLEM)
    assert not any(isinstance(c, L.LegendControl) for c in m.controls), "its labels sit below their swatches"
    (control,) = [c for c in m.controls if isinstance(c, L.WidgetControl)]
    legend = control.widget
    assert "map-legend" in legend._dom_classes and control.position == "bottomleft"
    rows = re.findall(r"<div class='legend-row' style='([^']*)'><span class='legend-swatch' style='([^']*)'></span>"
                      r"<span class='legend-label'>([^<]*)</span></div>", legend.value)
    assert [r[2] for r in rows] == list(_LEGEND)
    for style, swatch, label in rows:
        assert "display:flex" in style and "align-items:center" in style, label  # one line, centred
        assert f"background:{_LEGEND[label]}" in swatch
    assert "event" in legend_html({"event": "#ff9f1c"}) and "&lt;b&gt;" in legend_html({"<b>": "#000"})


def test_domain_map_is_offline_and_a_click_selects_the_station(project):
    m = project.viz.nb.domain(inverse_problem_configuration=PROBLEM)
    state = project.viz.state(PROBLEM)
    assert not any(isinstance(layer, L.TileLayer) for layer in m.layers), "a tile layer is a grey box offline"
    land = _layer(m, "land")
    assert isinstance(land, L.GeoJSON) and land.data["features"][0]["geometry"]["type"] == "MultiPolygon"
    outline = _layer(m, "domain outline")
    lats, lons = project.domain.outline()
    np.testing.assert_allclose(np.array(outline.locations), np.column_stack([lats, lons]))
    markers = {marker.name: marker for marker in _layer(m, "stations").layers}
    stations = project.events.stations()
    assert sorted(markers) == sorted(s.name for s in stations)
    for s in stations:
        assert markers[s.name].location == pytest.approx((s.latitude, s.longitude), abs=1e-12)
    assert len(_layer(m, "events").layers) == len(project.events.list())
    assert {mk.fill_color for mk in markers.values()} == {misfit_change_colour(None, None)}  # nothing evaluated yet

    # Colours follow the state as the inversion runs (observers, no rebuild of the map).
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert project.inversions.iterate(PROBLEM, ping_interval_in_seconds=0.05)
    for name, marker in markers.items():
        assert marker.fill_color == misfit_change_colour(*state.station_misfits[name]), name
    improved = [n for n, (first, latest) in state.station_misfits.items() if latest < 0.9 * first]
    assert improved and markers[improved[0]].fill_color.startswith("#")
    assert markers[improved[0]].fill_color != misfit_change_colour(1.0, 1.0)

    chosen = stations[3]
    markers[chosen.name]._handle_custom_msg(
        {"event": "interaction", "type": "click", "coordinates": [chosen.latitude, chosen.longitude]}, [])
    assert state.selected_station == chosen.name
    assert project.viz.selection.selected_station == chosen.name  # selected everywhere
    assert markers[chosen.name].radius > markers[stations[0].name].radius  # highlighted
    # A second map without a problem shares the selection.
    other = {mk.name: mk for mk in _layer(project.viz.nb.domain(), "stations").layers}
    other[stations[0].name]._handle_custom_msg({"event": "interaction", "type": "click", "coordinates": [0, 0]}, [])
    assert state.selected_station == stations[0].name


def _pixel(lat: float, lon: float, zoom: float) -> tuple[float, float]:
    """Web-mercator pixel coordinates (as Leaflet's EPSG:3857 computes them, y downwards)."""
    world = 256.0 * 2.0 ** zoom
    phi = np.radians(lat)
    return world * (lon + 180.0) / 360.0, world * (1.0 - np.log(np.tan(phi) + 1.0 / np.cos(phi)) / np.pi) / 2.0


def _margins(m, points, width_px, height_px, zoom=None):
    """Distance (px) of each point from the nearest edge of a width x height map showing m."""
    zoom = m.zoom if zoom is None else zoom
    cx, cy = _pixel(*m.center, zoom)
    out = []
    for lat, lon in points:
        x, y = _pixel(lat, lon, zoom)
        out.append(min(width_px / 2 - abs(x - cx), height_px / 2 - abs(y - cy)))
    return np.array(out)


def test_domain_map_opens_on_every_event_and_station_with_a_margin(project):
    m = project.viz.nb.domain(inverse_problem_configuration=PROBLEM)
    outline = [tuple(p) for p in _layer(m, "domain outline").locations]
    points = [mk.location for name in ("stations", "events") for mk in _layer(m, name).layers] + outline
    iceland = _layer(m, "events").layers[[mk.name for mk in _layer(m, "events").layers].index(SELECTED_EVENTS[1])]
    assert m.layout.height == f"{MAP_HEIGHT_PX}px" and m.zoom_snap == ZOOM_SNAP and m.zoom % ZOOM_SNAP == 0
    # Iceland (66.3 N) sat 11 px from the top edge when the map opened on the domain's centre.
    for width in (MAP_MIN_WIDTH_PX, 1250):  # JupyterLab-like and Voila-like widths
        margins = _margins(m, points, width, MAP_HEIGHT_PX)
        assert margins.min() >= MAP_PADDING_PX - 1e-6, (width, margins.min())
        assert _margins(m, [iceland.location], width, MAP_HEIGHT_PX)[0] >= MAP_PADDING_PX - 1e-6
        # The outline's corners were cut off in JupyterLab when only events and stations were framed.
        assert _margins(m, outline, width, MAP_HEIGHT_PX).min() >= MAP_PADDING_PX - 1e-6, width
    # As tight as the zoom steps allow: a quarter level more and a point leaves the margin.
    assert _margins(m, points, MAP_MIN_WIDTH_PX, MAP_HEIGHT_PX, zoom=m.zoom + ZOOM_SNAP).min() < MAP_PADDING_PX
    with pytest.raises(ValueError, match="non-empty and paired"):
        fit_view([], [])
    assert fit_view([45.0], [10.0]) == ((pytest.approx(45.0), pytest.approx(10.0)), 12.0)  # one point: closest zoom


def test_misfit_change_colours():
    assert misfit_change_colour(2.0, 1.0) == "#2166ac"  # halved: full blue
    assert misfit_change_colour(1.0, 4.0) == "#b2182b"  # more than doubled: clipped to full red
    assert misfit_change_colour(1.0, 1.0) == "#f7f7f7"
    assert misfit_change_colour(0.0, 1.0) == misfit_change_colour(None, None)  # no relative change defined


def _inside(lon, lat, ring):
    """Even-odd rule (crossing number) for one ring of [lon, lat] positions."""
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:]):
        if (y0 > lat) != (y1 > lat) and lon < x0 + (lat - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def test_land_topojson_decodes_to_closed_rings_with_land_where_land_is():
    land = land_geojson()
    polygons = land["features"][0]["geometry"]["coordinates"]
    with open(LAND_FILE) as f:
        topo = json.load(f)
    # Cut at the antimeridian: Vanua Levu (Fiji) and Eurasia (at Chukotka) are two polygons each.
    assert len(polygons) == len(topo["objects"]["land"]["geometries"][0]["arcs"]) + 2
    rings = [ring for polygon in polygons for ring in polygon]
    assert all(ring[0] == ring[-1] and len(ring) >= 4 for ring in rings)
    lons = np.array([p[0] for ring in rings for p in ring])
    lats = np.array([p[1] for ring in rings for p in ring])
    assert lons.min() >= -180 and lons.max() <= 180 and lats.min() >= -90 and lats.max() <= 90
    # Leaflet draws the rings flat: an edge across the antimeridian is a line across the
    # whole map (world-atlas stitched its rings on the sphere; they drew bands at 65-71 N).
    # Only an edge along a pole may span all longitudes.
    for ring in rings:
        wide = [(a, b) for a, b in zip(ring, ring[1:]) if abs(b[0] - a[0]) > 180]
        assert all(abs(a[1]) == abs(b[1]) == 90 for a, b in wide), wide
    # RFC 7946 winding: exteriors counter-clockwise, holes clockwise.
    signed = [[_signed_area(ring) for ring in polygon] for polygon in polygons]
    assert all(s[0] > 0 and all(h < 0 for h in s[1:]) for s in signed)
    # Antarctica, the one polygon to reach a pole, is closed along it, not by a chord
    # across the map: it spans all longitudes and covers about 6000 square degrees.
    (antarctica,) = [polygon[0] for polygon in polygons if any(abs(p[1]) == 90 for p in polygon[0])]
    assert min(p[1] for p in antarctica) == -90 and {-180, 180} <= {p[0] for p in antarctica}
    assert 5000 < _signed_area(antarctica) < 7000

    def on_land(lon, lat):
        # Leaflet fills the layer as one path with the even-odd rule: holes (lakes, at
        # 1:110m the Caspian) are later rings of a polygon; polygons must not overlap.
        return sum(_inside(lon, lat, ring) for polygon in polygons for ring in polygon) % 2 == 1

    for place, (lon, lat) in {"Paris": (2.35, 48.86), "Madrid": (-3.70, 40.42), "Cairo": (31.24, 30.04),
                              "Reykjavik inland": (-20.0, 64.8), "Germany": (10.0, 51.0), "Siberia": (100.0, 60.0),
                              "Chukotka": (-175.0, 66.5), "Wrangel Island east": (-179.5, 71.2),
                              "Wrangel Island west": (179.5, 71.2), "Fiji": (178.0, -17.8),
                              "Vanua Levu east": (-179.9, -16.4), "Queen Maud Land": (0.0, -80.0),
                              "South Pole": (0.0, -89.0)}.items():
        assert on_land(lon, lat), place
    for place, (lon, lat) in {"mid-Atlantic": (-40.0, 30.0), "Ionian Sea": (19.0, 37.0), "Bay of Biscay": (-5.0, 45.5),
                              "North Sea": (3.0, 56.0), "Norwegian Sea": (0.0, 71.2), "Bering Strait": (-170.0, 65.5),
                              "Caspian Sea": (51.0, 42.0), "Southern Ocean": (0.0, -60.0)}.items():
        assert not on_land(lon, lat), place
    with pytest.raises(ValueError, match="valid names are \\['land'\\]"):
        topojson_to_geojson(topo, "countries")


def _signed_area(ring):
    """Shoelace area (square degrees) of a closed ring; positive when counter-clockwise."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:]))


def test_views_never_import_the_engine():
    code = ("import sys, fwi_widgets.views, fwi_widgets.views.inversion, fwi_widgets.views.domain;"
            "print(','.join(m for m in sys.modules if m.split('.')[0] == 'engine'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"fwi_widgets.views pulled in: {out.stdout.strip()}"
