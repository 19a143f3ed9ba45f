"""The gradient view: per-event or summed, raw or preconditioned, and the cutout mask (bqplot).

Shows the newest iteration whose gradient jobs have finished (iteration n + 1 has no
gradient until its adjoint runs are done, so the view keeps showing iteration n until
then). A Dropdown picks the sum or one event, ToggleButtons pick raw, preconditioned
or the cutout mask (a key of :data:`fwi_widgets.plotdata.GRADIENT_KINDS`); the colour
scale is diverging and symmetric about zero. Maps are cached per (iteration, event,
kind): finished jobs never change.
"""
from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import xarray as xr

from .. import plotdata
from ..state import InversionState
from .model import _symmetric, depth_slider, geographic_axes, heatmap, set_heatmap

__all__ = ["GradientsView", "SUM"]

#: The Dropdown entry for the sum over events.
SUM = "sum over events"


class GradientsView(widgets.VBox):
    """A VBox observing ``state``: one gradient map and the controls choosing it.

    Parameters
    ----------
    state : InversionState
        Whose iterations to show.
    parameter : str
        Upper-case model parameter ("VS").
    points : int
        Grid points along the longer side of the map.

    Attributes
    ----------
    marks : dict of str to bqplot.Mark
        ``"gradient"`` (HeatMap).
    scale : bqplot.ColorScale
    event_dropdown : ipywidgets.Dropdown
        :data:`SUM` or an event name.
    kind_buttons : ipywidgets.ToggleButtons
        "raw" or "preconditioned".
    iteration : int or None
        The iteration drawn.
    values : xarray.DataArray or None
        The map drawn, dims ("x", "y").
    """

    def __init__(self, state: InversionState, parameter: str | None = None, points: int = 120,
                 events: list[str] | None = None, **kwargs):
        if not isinstance(state, InversionState):
            raise TypeError(f"The 'state' parameter must be an InversionState, but {state!r} was given.")
        inverted = list(state.project.inverse_problem_configuration(state.problem).mapping.inversion_parameters)
        if parameter is None:  # the 2D workshop's VS, else the first inversion parameter (the seed's VSH)
            parameter = "VS" if "VS" in inverted else inverted[0]
        self.state, self.parameter, self.points = state, parameter, points
        self.events = None if events is None else list(events)
        self.iteration: int | None = None
        self.values: xr.DataArray | None = None
        self._cache: dict[tuple, xr.DataArray] = {}
        self._redraw = True
        self.scale = bq.ColorScale(scheme="RdBu", mid=0.0)
        self.figure, mark = heatmap(self.scale, f"Gradient with respect to {parameter}")
        self.marks = {"gradient": mark}
        self.event_dropdown = widgets.Dropdown(options=[SUM], value=SUM, description="event")
        self.kind_buttons = widgets.ToggleButtons(options=list(plotdata.GRADIENT_KINDS), value="raw",
                                                  tooltips=list(plotdata.GRADIENT_KINDS.values()))
        self.parameter_dropdown = widgets.Dropdown(options=sorted({parameter, *inverted}, key=[parameter, *inverted].index),
                                                   value=parameter, description="parameter")
        self.message = widgets.HTML()
        controls = [self.event_dropdown, self.kind_buttons, self.parameter_dropdown]
        # A 3D chunk is shown as a depth slice (the map's axes in degrees), with a depth slider.
        self.depth_slider = None
        mesh = plotdata.prior_mesh(state.project, state.problem)
        if plotdata.is_chunk(mesh):
            self.depth_slider = depth_slider(mesh)
            self.depth_slider.observe(self._draw, names="value")
            controls.append(self.depth_slider)
            geographic_axes(self.figure)
        self.event_dropdown.observe(self._draw, names="value")
        self.kind_buttons.observe(self._draw, names="value")
        self.parameter_dropdown.observe(self._new_parameter, names="value")
        super().__init__(children=[widgets.HBox(controls[:2]), widgets.HBox(controls[2:]), self.message, self.figure],
                         **kwargs)
        self.add_class("gradients-view")
        # "iterations" changes when a stage finishes (gradients appear within an iteration).
        state.observe(self._new_iteration, names=["current_iteration", "iterations"])
        self._new_iteration()

    def _new_parameter(self, change=None) -> None:
        self.parameter = self.parameter_dropdown.value
        self.figure.title = f"Gradient with respect to {self.parameter}"
        self._draw()

    @property
    def depth_in_meters(self) -> float | None:
        """The depth of the slice drawn (m) on a 3D chunk; None in 2D."""
        return None if self.depth_slider is None else 1e3 * float(self.depth_slider.value)

    def _new_iteration(self, change=None) -> None:
        project, problem = self.state.project, self.state.problem
        self.iteration = plotdata.latest_with_gradients(project, problem, self.state.current_iteration)
        events = [] if self.iteration is None else plotdata.gradient_events(project, problem, self.iteration)
        if self.events is not None:
            events = [e for e in events if e in self.events]
        options = [SUM, *events]
        if list(self.event_dropdown.options) != options:
            keep = self.event_dropdown.value if self.event_dropdown.value in options else SUM
            self._redraw = False  # new options reset the value: draw once, below
            try:
                self.event_dropdown.options = options
                self.event_dropdown.value = keep
            finally:
                self._redraw = True
        self._draw()

    def _draw(self, change=None) -> None:
        if not self._redraw:
            return
        event = None if self.event_dropdown.value == SUM else self.event_dropdown.value
        kind = self.kind_buttons.value
        if self.iteration is None:
            self.values, note = None, "<b>No gradient yet</b>: the adjoint runs of the first iteration have not finished."
        elif kind == "preconditioned" and event is not None:
            self.values, note = None, "The preconditioner smooths the <i>sum</i> over events only; pick the sum."
        else:
            key = (self.iteration, event, kind, tuple(self.event_dropdown.options), self.parameter,
                   self.depth_in_meters)
            if key not in self._cache:
                values = plotdata.gradient_map(self.state.project, self.state.problem, self.iteration, event=event,
                                               kind=kind, parameter=self.parameter, points=self.points,
                                               depth_in_meters=self.depth_in_meters, events=self.events)
                if values is not None:  # a missing file may appear later: do not cache its absence
                    self._cache[key] = values
            self.values = self._cache.get(key)
            what = "sum over events" if event is None else event
            where = "" if self.depth_slider is None else f", {self.depth_slider.value} km deep"
            note = (f"Iteration #{self.iteration}, {kind}, {what}{where}" if self.values is not None
                    else f"Iteration #{self.iteration}: the {kind} gradient is not written yet.")
        self.message.value = note
        set_heatmap(self.marks["gradient"], self.values)
        if self.values is not None:
            _symmetric(self.scale, self.values.values)
