"""The waveform view: observed vs synthetic of the selected station, window, adjoint source.

The station is ``state.selected_station`` (a click on the domain map sets it; the
view's own Dropdown is linked to it both ways). Until a station is picked the view
shows the first station (of the first event: every event records all of them), so it
never opens empty; the map highlights only a station the user picked. Traces are those of the newest
iteration whose gradient job for the chosen event has finished: observed (black),
synthetic (blue), the measurement window shaded, and the adjoint source below. Above,
every component of the station at once (Z, N and E in 3D), each with its own windows.
"""
from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import traitlets

from .. import plotdata
from ..state import InversionState

__all__ = ["WaveformsView"]

_OBSERVED, _SYNTHETIC, _ADJOINT, _WINDOW = "#000000", "#1f77b4", "#d62728", "#ffbf00"


def _window_outline(windows, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed rectangles (one per window) as (n_windows, 5) x and y arrays for a filled Lines mark."""
    if not windows:
        return np.empty((0, 0)), np.empty((0, 0))
    x = np.array([[t0, t0, t1, t1, t0] for t0, t1 in windows], dtype=float)
    y = np.tile(np.array([lo, hi, hi, lo, lo], dtype=float), (len(windows), 1))
    return x, y


#: Most y ticks of a trace: d3's default (about 10) crowds the labels of the 220 px
#: adjoint-source figure into each other.
Y_TICKS = 6


def nice_ticks(values: np.ndarray, most: int = Y_TICKS) -> np.ndarray:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) within the range of ``values``.

    At most ``most`` ticks (fewer for a flat or empty trace: none, so bqplot picks).
    """
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0 or values.max() == values.min():
        return np.array([])
    lo, hi = float(values.min()), float(values.max())
    raw = (hi - lo) / (most - 1)
    magnitude = 10.0 ** np.floor(np.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    # 12 significant digits: 3 * 1e-13 is 3.0000000000000003e-13 otherwise.
    return np.array([float(f"{k * step:.12g}") for k in np.arange(np.ceil(lo / step), np.floor(hi / step) + 1)])


#: Room left of a trace's plot area (px) and where the y label sits in it: tick labels
#: of traces read like "-2.5e-13" (about 60 px with the tick), so bqplot's default label
#: offset (4ex) put the label on top of them.
Y_MARGIN_PX, Y_LABEL_OFFSET_PX = 95, 75


def _figure(marks: list, y_label: str, title: str, height_px: int) -> bq.Figure:
    """An 840 px wide figure of traces against time, its y label clear of the tick labels."""
    sx, sy = marks[0].scales["x"], marks[0].scales["y"]
    return bq.Figure(
        marks=marks, title=title, layout=widgets.Layout(width="840px", height=f"{height_px}px"),
        axes=[bq.Axis(scale=sx, label="time after origin (s)"),
              bq.Axis(scale=sy, side="left", label=y_label, label_offset=f"{Y_LABEL_OFFSET_PX}px")],
        fig_margin={"top": 50, "bottom": 50, "left": Y_MARGIN_PX, "right": 40},
    )


class WaveformsView(widgets.VBox):
    """A VBox observing ``state``: traces of the selected station for one event.

    Parameters
    ----------
    state : InversionState
        Whose ``selected_station`` and iterations to show.

    Attributes
    ----------
    marks : dict of str to bqplot.Mark
        ``"observed"``, ``"synthetic"``, ``"adjoint_source"`` (Lines, y shaped (n_t,)) and
        ``"window"`` (filled Lines, one closed rectangle per window).
    station_dropdown, event_dropdown, component_dropdown : ipywidgets.Dropdown
    traces : fwi_widgets.plotdata.Traces or None
        What is drawn.
    iteration : int or None
        The iteration the traces belong to.
    """

    def __init__(self, state: InversionState, **kwargs):
        if not isinstance(state, InversionState):
            raise TypeError(f"The 'state' parameter must be an InversionState, but {state!r} was given.")
        self.state = state
        self.traces: plotdata.Traces | None = None
        self.iteration: int | None = None
        stations = list(state.stations)
        #: What the view shows while no station is selected: the first one, not empty figures.
        self.default_station = stations[0] if stations else None
        unpicked = "(click a station on the map)" if self.default_station is None else \
            f"{self.default_station} (first; click the map for another)"
        self.station_dropdown = widgets.Dropdown(options=[(unpicked, None)] + [(s, s) for s in stations],
                                                 description="station")
        # Both ways: the map (through the state) and this Dropdown pick the same station.
        self._link = traitlets.link((state, "selected_station"), (self.station_dropdown, "value"))
        self.event_dropdown = widgets.Dropdown(options=list(state.events), value=state.events[0], description="event")
        self.component_dropdown = widgets.Dropdown(options=[], description="component")
        sx, sy = bq.LinearScale(), bq.LinearScale()
        scales = {"x": sx, "y": sy}
        empty = np.array([])
        self.marks = {
            "window": bq.Lines(x=np.empty((0, 0)), y=np.empty((0, 0)), scales=scales, fill="inside",
                               colors=[_WINDOW], fill_colors=[_WINDOW], fill_opacities=[0.25], stroke_width=0),
            "observed": bq.Lines(x=empty, y=empty, scales=scales, colors=[_OBSERVED], labels=["observed"],
                                 display_legend=True),
            "synthetic": bq.Lines(x=empty, y=empty, scales=scales, colors=[_SYNTHETIC], labels=["synthetic"],
                                  display_legend=True),
        }
        self.trace_figure = _figure([self.marks["window"], self.marks["observed"], self.marks["synthetic"]],
                                    "displacement", "Observed and synthetic (window shaded)", height_px=280)
        ax, ay = bq.LinearScale(), bq.LinearScale()
        self.marks["adjoint_source"] = bq.Lines(x=empty, y=empty, scales={"x": ax, "y": ay}, colors=[_ADJOINT])
        self.adjoint_figure = _figure([self.marks["adjoint_source"]], "adjoint source", "Adjoint source", height_px=220)
        self.message = widgets.HTML()
        #: Every component of the station at once (Z, N, E in 3D), small, beside one another.
        self.component_figures: dict[str, bq.Figure] = {}
        self.component_marks: dict[str, dict[str, bq.Lines]] = {}
        self.components_box = widgets.HBox()
        self.components_box.add_class("waveforms-components")
        self.event_dropdown.observe(self._draw, names="value")
        self.component_dropdown.observe(self._draw_traces, names="value")
        super().__init__(children=[
            widgets.HBox([self.station_dropdown, self.event_dropdown, self.component_dropdown]),
            self.message, self.components_box, self.trace_figure, self.adjoint_figure,
        ], **kwargs)
        self.add_class("waveforms-view")
        state.observe(self._draw, names=["selected_station", "current_iteration", "iterations"])
        self._draw()

    @staticmethod
    def _y_axis(figure: bq.Figure) -> bq.Axis:
        return figure.axes[1]

    def _show_axes(self, shown: bool) -> None:
        for figure in (self.trace_figure, self.adjoint_figure):
            for axis in figure.axes:
                axis.visible = shown
            if not shown:
                self._y_axis(figure).tick_values = np.array([])

    def _draw(self, change=None) -> None:
        station, event = self.state.selected_station or self.default_station, self.event_dropdown.value
        project, problem = self.state.project, self.state.problem
        self.traces, self.iteration = None, None
        if station is None:
            self.message.value = "Click a station on the map (or pick one here) to see its waveforms."
        else:
            current = self.state.current_iteration
            numbers = [n for n in project.paths.iterations(problem) if current is not None and n <= current]
            for number in sorted(numbers, reverse=True):
                if event in plotdata.gradient_events(project, problem, number):
                    self.iteration = number
                    self.traces = plotdata.waveforms(project, problem, number, event, station)
                    break
            if self.traces is None:
                self.message.value = f"No synthetics of event {event} yet: its first forward run has not finished."
            else:
                misfit = "---" if self.traces.misfit is None else f"{self.traces.misfit:.4g}"
                self.message.value = (f"<b>{station}</b>, {event}, iteration #{self.iteration}: "
                                      f"misfit {misfit}, {len(self.traces.windows)} window(s)")
        components = list(self.traces.components) if self.traces is not None else []
        if list(self.component_dropdown.options) != components:
            self.component_dropdown.options = components
            # New options leave no value chosen: pick the first (its observer redraws, so does the call below).
            self.component_dropdown.value = components[0] if components else None
        self._draw_traces()

    def _component_figure(self, component: str) -> bq.Figure:
        """The small figure of one component (made the first time that component is shown)."""
        if component not in self.component_figures:
            scales = {"x": bq.LinearScale(), "y": bq.LinearScale()}
            empty = np.array([])
            marks = {
                "window": bq.Lines(x=np.empty((0, 0)), y=np.empty((0, 0)), scales=scales, fill="inside",
                                   colors=[_WINDOW], fill_colors=[_WINDOW], fill_opacities=[0.25], stroke_width=0),
                "observed": bq.Lines(x=empty, y=empty, scales=scales, colors=[_OBSERVED]),
                "synthetic": bq.Lines(x=empty, y=empty, scales=scales, colors=[_SYNTHETIC]),
            }
            self.component_marks[component] = marks
            self.component_figures[component] = bq.Figure(
                marks=list(marks.values()), title=component, layout=widgets.Layout(width="280px", height="180px"),
                axes=[bq.Axis(scale=scales["x"], label="time (s)", num_ticks=4),
                      bq.Axis(scale=scales["y"], side="left", num_ticks=3, tick_format=".1e")],
                fig_margin={"top": 30, "bottom": 40, "left": 60, "right": 10})
        return self.component_figures[component]

    def _draw_components(self) -> None:
        traces = self.traces
        components = list(traces.components) if traces is not None else []
        self.components_box.children = [self._component_figure(c) for c in components]
        for c, component in enumerate(components):
            marks = self.component_marks[component]
            for key in ("observed", "synthetic"):
                with marks[key].hold_sync():
                    marks[key].x, marks[key].y = traces.time, getattr(traces, key)[c]
            peak = float(max(np.abs(traces.observed[c]).max(), np.abs(traces.synthetic[c]).max())) or 1.0
            x, y = _window_outline(traces.windows_by_component.get(component, traces.windows), -peak, peak)
            with marks["window"].hold_sync():
                marks["window"].x, marks["window"].y = x, y

    def _draw_traces(self, change=None) -> None:
        self._draw_components()
        traces, component = self.traces, self.component_dropdown.value
        empty = np.array([])
        if traces is None or component is None:
            for key in ("observed", "synthetic", "adjoint_source"):
                self.marks[key].x, self.marks[key].y = empty, empty
            self.marks["window"].x, self.marks["window"].y = np.empty((0, 0)), np.empty((0, 0))
            # No axes on empty figures: bqplot's default 0-1 ticks ran into each other on
            # the adjoint source's, and the message above says what to pick.
            self._show_axes(False)
            return
        self._show_axes(True)
        c = traces.components.index(component)
        for key in ("observed", "synthetic", "adjoint_source"):
            with self.marks[key].hold_sync():
                self.marks[key].x = traces.time
                self.marks[key].y = getattr(traces, key)[c]
        self._y_axis(self.trace_figure).tick_values = nice_ticks(np.concatenate([traces.observed[c],
                                                                               traces.synthetic[c]]))
        self._y_axis(self.adjoint_figure).tick_values = nice_ticks(traces.adjoint_source[c])
        peak = float(max(np.abs(traces.observed[c]).max(), np.abs(traces.synthetic[c]).max()))
        peak = peak if peak > 0 else 1.0
        # Windows picked per component (Part 3's data selection) are drawn on their own component.
        x, y = _window_outline(traces.windows_by_component.get(component, traces.windows), -peak, peak)
        with self.marks["window"].hold_sync():
            self.marks["window"].x, self.marks["window"].y = x, y
