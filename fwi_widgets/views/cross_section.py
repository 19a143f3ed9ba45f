"""The cross-section view: the update and the true anomaly under a great circle (3D).

Two points given as latitude and longitude (degrees; by default the first and the last
event of the inverse problem) define a great circle; the view shows, on the vertical
section beneath it, the relative update of the newest iteration's model (current / prior
- 1, in per cent) beside the hidden true anomaly of the example, on one symmetric colour
scale. **Draw** takes new end points; the section follows each accepted update.
"""
from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets

from .. import plotdata
from ..state import InversionState
from .model import _symmetric, heatmap, set_heatmap

__all__ = ["CrossSectionView"]


class CrossSectionView(widgets.VBox):
    """A VBox observing ``state``: the update and the true anomaly on a vertical section.

    Attributes
    ----------
    section : xarray.Dataset or None
        What is drawn (:func:`fwi_widgets.plotdata.cross_section`), in per cent.
    inputs : dict of str to ipywidgets.FloatText
        "start latitude", "start longitude", "end latitude", "end longitude".
    draw_button : ipywidgets.Button
    """

    def __init__(self, state: InversionState, parameter: str = "VSV", start=None, end=None, **kwargs):
        project, problem = state.project, state.problem
        mesh = plotdata.prior_mesh(project, problem)
        if not plotdata.is_chunk(mesh):
            raise ValueError("The cross-section view needs a 3D spherical chunk; use p.viz.nb.model(...) in 2D.")
        self.state, self.parameter = state, parameter
        self.section = None
        if start is None or end is None:
            from ..workflow import discretisation as disc

            events = project.inverse_problem_configuration(problem).events
            first, last = disc.event_location(project, events[0]), disc.event_location(project, events[-1])
            start = start or (first.latitude, first.longitude)
            end = end or (last.latitude, last.longitude)
        self.inputs = {label: widgets.FloatText(value=float(v), description=label, layout=widgets.Layout(width="220px"),
                                                style={"description_width": "110px"})
                       for label, v in zip(("start latitude", "start longitude", "end latitude", "end longitude"),
                                           (*start, *end))}
        self.draw_button = widgets.Button(description="Draw", icon="pencil")
        self.scale = bq.ColorScale(scheme="RdBu", mid=0.0)
        self.figures, self.marks = {}, {}
        for key, title in (("update", f"{parameter} update (%)"), ("true", f"true {parameter} anomaly (%)")):
            self.figures[key], self.marks[key] = heatmap(self.scale, title)
            self.figures[key].axes[0].label, self.figures[key].axes[1].label = "distance (km)", "depth (km)"
            self.figures[key].axes[1].scale.reverse = True  # depth grows downwards
        self.message = widgets.HTML()
        self.draw_button.on_click(lambda _: self._draw())
        super().__init__(children=[
            widgets.HBox([self.inputs["start latitude"], self.inputs["start longitude"]]),
            widgets.HBox([self.inputs["end latitude"], self.inputs["end longitude"], self.draw_button]),
            self.message, widgets.HBox([self.figures["update"], self.figures["true"]]),
        ], **kwargs)
        self.add_class("cross-section-view")
        state.observe(self._draw, names=["current_iteration"])
        self._draw()

    def _draw(self, change=None) -> None:
        number = self.state.current_iteration
        start = (self.inputs["start latitude"].value, self.inputs["start longitude"].value)
        end = (self.inputs["end latitude"].value, self.inputs["end longitude"].value)
        if number is None:
            self.section, self.message.value = None, "<b>No iteration yet.</b>"
        else:
            try:
                self.section = 100.0 * plotdata.cross_section(self.state.project, self.state.problem, number, start,
                                                              end, parameter=self.parameter)
            except ValueError as error:
                self.section, self.message.value = None, f"<b>{error}</b>"
            else:
                self.message.value = (f"<b>Iteration #{number}</b>: {self.parameter} along the great circle from "
                                      f"{start[0]:.1f}, {start[1]:.1f} to {end[0]:.1f}, {end[1]:.1f} (degrees)")
        for key in ("update", "true"):
            set_heatmap(self.marks[key], None if self.section is None else _km(self.section[key]))
        if self.section is not None:
            _symmetric(self.scale, self.section["update"].values, self.section["true"].values)


def _km(values):
    """set_heatmap draws metres as km: give it metres."""
    return values.assign_coords(distance=values["distance"] * 1e3, depth=values["depth"] * 1e3)
