"""Model, gradient and waveform views and the dashboard, after one iteration of the
small workshop (no browser: marks are inspected directly)."""
import subprocess
import sys

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import pytest

from fwi_widgets import plotdata
from fwi_widgets.project import store
from fwi_widgets.views.gradients import SUM
from fwi_widgets.views.model import COLOUR_TICKS
from fwi_widgets.views.waveforms import Y_TICKS, nice_ticks

from ._part4 import PROBLEM, SELECTED_EVENTS


@pytest.fixture
def iterated(project):
    """The workshop after one accepted iteration (iteration #1 added, not started)."""
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert project.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05)
    state = project.viz.state(PROBLEM)
    assert state.current_iteration == 1 and state.iterations[0]["accepted"] is True
    return project


def test_views_show_no_data_before_the_first_iteration(project):
    model = project.viz.nb.model(PROBLEM)
    gradients = project.viz.nb.gradients(PROBLEM)
    waves = project.viz.nb.waveforms(PROBLEM)
    assert model.maps is None and "No iteration yet" in model.title.value
    assert gradients.values is None and "No gradient yet" in gradients.message.value
    assert waves.traces is None and waves.marks["observed"].y.size == 0


def test_model_view_maps_share_scales_and_the_update_is_nonzero(iterated):
    view = iterated.viz.nb.model(PROBLEM, points=60)
    maps = view.maps
    nx, ny = plotdata.grid_shape(iterated.inversions.get_iteration(PROBLEM, 1).model().mesh.bounds, 60)
    assert maps["current"].dims == ("x", "y") and maps["current"].shape == (nx, ny)
    for key in ("current", "true", "update", "true_update"):
        mark = view.marks[key]
        assert isinstance(mark, bq.HeatMap)
        assert mark.color.shape == (ny, nx) and mark.x.shape == (nx,) and mark.y.shape == (ny,)
    # One ColorScale object for the two absolute maps, another for the two updates.
    assert view.marks["current"].scales["color"] is view.marks["true"].scales["color"] is view.scales["model"]
    assert view.marks["update"].scales["color"] is view.marks["true_update"].scales["color"] is view.scales["update"]
    # The accepted step changed the model: iteration #1's model differs from the prior by
    # more than round-off (steps are ~2 % of 4000 m/s by the initial trust region).
    update = view.marks["update"].color
    assert np.nanmax(np.abs(update)) > 1.0
    np.testing.assert_allclose(maps["update"], maps["current"] - maps["prior"], atol=1e-6)  # linear sampling
    assert view.scales["update"].min == -view.scales["update"].max  # symmetric about zero
    # The true model has anomalies the prior lacks.
    assert np.nanmax(np.abs(view.marks["true_update"].color)) > 10.0
    # The profile: prior, current, true along the chosen row, and the dashed line on the map.
    assert view.marks["profile"].y.shape == (3, nx)
    view.profile_slider.value = float(maps["y"][ny // 3]) / 1e3
    np.testing.assert_allclose(view.marks["profile"].y[1], maps["current"].isel(y=ny // 3))
    np.testing.assert_allclose(view.marks["profile_line"].y, [view.profile_slider.value] * 2)
    # Each colour bar has a few round ticks inside its scale's range (d3's ten or so ran
    # into each other on the 75 px bar).
    for figure in view.children[1].children:
        (axis,) = [a for a in figure.axes if isinstance(a, bq.ColorAxis)]
        ticks = np.asarray(axis.tick_values)
        assert 2 <= ticks.size <= COLOUR_TICKS, ticks
        assert axis.scale.min <= ticks.min() and ticks.max() <= axis.scale.max, (ticks, axis.scale.min, axis.scale.max)


def test_gradient_view_switches_between_sum_events_and_preconditioned(iterated):
    view = iterated.viz.nb.gradients(PROBLEM, points=60)
    assert view.iteration == 0  # iteration #1 has no gradient yet
    assert list(view.event_dropdown.options) == [SUM, *sorted(SELECTED_EVENTS)]
    mark = view.marks["gradient"]
    total = np.array(mark.color)
    assert total.shape == (view.values.shape[1], view.values.shape[0]) and np.nanmax(np.abs(total)) > 0
    # The sum of the per-event maps is the summed map (sampling is linear; float64 round-off).
    per_event = []
    for event in sorted(SELECTED_EVENTS):
        view.event_dropdown.value = event
        per_event.append(np.array(mark.color))
        assert not np.allclose(per_event[-1], total)
    np.testing.assert_allclose(sum(per_event), total, rtol=1e-10, atol=1e-12 * np.nanmax(np.abs(total)))
    view.kind_buttons.value = "preconditioned"
    assert view.values is None and "sum" in view.message.value  # per-event preconditioned does not exist
    view.event_dropdown.value = SUM
    smooth = np.array(mark.color)
    assert smooth.shape == total.shape and np.nanmax(np.abs(smooth)) > 0
    assert view.scale.min == -view.scale.max == -np.nanmax(np.abs(smooth))
    with pytest.raises(ValueError, match="valid names are \\['cutout', 'preconditioned', 'raw'\\]"):
        plotdata.gradient_map(iterated, PROBLEM, 0, kind="smoothed")


def test_waveform_view_follows_the_selected_station(iterated):
    view = iterated.viz.nb.waveforms(PROBLEM)
    state = iterated.viz.state(PROBLEM)
    stations = [s.name for s in iterated.events.stations()]
    figures = (view.trace_figure, view.adjoint_figure)
    # Nothing picked yet: the view draws the first station of the first event (not empty
    # figures), without selecting it for the map.
    assert state.selected_station is None and view.default_station == stations[0]
    assert view.traces is not None and view.iteration == 0 and len(view.marks["observed"].y) > 100
    assert view.message.value.startswith(f"<b>{stations[0]}</b>, {state.events[0]}, iteration #0")
    assert all(axis.visible for figure in figures for axis in figure.axes)
    state.selected_station = stations[0]
    assert view.station_dropdown.value == stations[0] and view.iteration == 0
    assert all(axis.visible for figure in figures for axis in figure.axes)
    n_t = view.traces.time.size
    first = {k: np.array(view.marks[k].y) for k in ("observed", "synthetic", "adjoint_source")}
    assert all(v.shape == (n_t,) for v in first.values())
    assert np.abs(first["observed"]).max() > 0 and np.abs(first["synthetic"]).max() > 0
    # The station with the largest misfit has a window and a non-zero adjoint source.
    jobs = iterated.inversions.get_iteration(PROBLEM, 0).record["tasks"]["misfit_and_gradient"]["jobs"]
    job = jobs[view.event_dropdown.value]
    result = store.read_json(iterated.paths.job_result(PROBLEM, 0, job["folder"]))
    worst = max(result["per_station"], key=result["per_station"].get)
    view.station_dropdown.value = worst  # the Dropdown sets the shared selection too
    assert state.selected_station == worst == iterated.viz.selection.selected_station
    assert not np.array_equal(view.marks["observed"].y, first["observed"])
    assert not np.array_equal(view.marks["synthetic"].y, first["synthetic"])
    assert np.abs(view.marks["adjoint_source"].y).max() > 0
    # At most Y_TICKS round ticks inside the trace's range: d3's ten or so ran into each
    # other on the 220 px adjoint-source figure.
    for figure, traces in ((view.trace_figure, [view.marks["observed"].y, view.marks["synthetic"].y]),
                           (view.adjoint_figure, [view.marks["adjoint_source"].y])):
        ticks, values = figure.axes[1].tick_values, np.concatenate(traces)
        assert 3 <= ticks.size <= Y_TICKS and values.min() <= ticks.min() and ticks.max() <= values.max(), ticks
    assert view.traces.windows and view.traces.misfit == pytest.approx(result["per_station"][worst])
    t0, t1 = view.traces.windows[0]
    assert np.min(view.marks["window"].x) == t0 and np.max(view.marks["window"].x) == t1
    # Another event redraws the traces of the same station.
    before = np.array(view.marks["synthetic"].y)
    view.event_dropdown.value = [e for e in SELECTED_EVENTS if e != view.event_dropdown.value][0]
    assert not np.array_equal(view.marks["synthetic"].y, before)


def test_nice_ticks_are_round_and_inside_the_range():
    np.testing.assert_array_equal(nice_ticks(np.array([-7.3e12, 5.1e12])), [-5e12, -2.5e12, 0.0, 2.5e12, 5e12])
    np.testing.assert_array_equal(nice_ticks(np.array([-2.2e-13, 0.0, 2.05e-13])), [-2e-13, -1e-13, 0.0, 1e-13, 2e-13])
    np.testing.assert_array_equal(nice_ticks(np.array([3880.0, 4100.0])), [3900, 3950, 4000, 4050, 4100])
    for flat in (np.array([]), np.zeros(5), np.array([np.nan, 1.0])):
        assert nice_ticks(flat).size == 0  # bqplot picks its own


def test_views_redraw_when_the_iteration_changes(project):
    model = project.viz.nb.model(PROBLEM, points=40)
    gradients = project.viz.nb.gradients(PROBLEM, points=40)
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert project.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05)
    # No rebuild: the observers of the existing views drew iteration #1's model and #0's gradient.
    assert "iteration #1" in model.title.value and np.nanmax(np.abs(model.marks["update"].color)) > 1.0
    assert gradients.iteration == 0 and gradients.values is not None


def test_dashboard_composes_the_five_views(project):
    tabs = project.viz.nb.dashboard(PROBLEM)
    assert isinstance(tabs, widgets.Tab)
    assert list(tabs.titles) == ["inversion", "domain", "model", "gradients", "waveforms"]
    assert [type(c).__name__ for c in tabs.children] == ["InversionView", "Map", "ModelView", "GradientsView",
                                                          "WaveformsView"]
    assert tabs.views["model"].state is tabs.views["waveforms"].state is project.viz.state(PROBLEM)


def test_new_views_never_import_the_engine():
    code = ("import sys, fwi_widgets.views, fwi_widgets.views.model, fwi_widgets.views.gradients,"
            " fwi_widgets.views.waveforms, fwi_widgets.views.dashboard, fwi_widgets.plotdata;"
            "print(','.join(m for m in sys.modules if m.split('.')[0] == 'engine'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"the views pulled in: {out.stdout.strip()}"
