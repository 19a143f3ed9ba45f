"""The windows view (Part 3): which windows were picked, which were rejected and why.

At the top, one line per event: accepted and rejected windows and the reasons; an event
left without any window is a red warning (it would add nothing to the misfit or the
gradient). Below, for the chosen event and station, the processed observed (black) and
synthetic (blue) traces of Z, N and E, the accepted windows shaded green and the
rejected grey, and a table of the station's windows with their measurements. Every
trace is loaded once when the view is made (:func:`fwi_widgets.plotdata.window_traces`):
the observers only index and draw.
"""
from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from .. import plotdata
from .waveforms import _window_outline

__all__ = ["WindowsView"]

_OBSERVED, _SYNTHETIC, _ACCEPTED, _REJECTED = "#000000", "#1f77b4", "#2ca02c", "#9e9e9e"


class WindowsView(widgets.VBox):
    """A VBox over the data selection ``data_selection_configuration`` of ``project``.

    Attributes
    ----------
    summary : ipywidgets.HTML
        One line per event; ``warnings`` lists the events without a window.
    event_dropdown, station_dropdown : ipywidgets.Dropdown
    figures : dict of str to bqplot.Figure
        One per component; ``marks[component]`` holds its "observed", "synthetic",
        "accepted" and "rejected" marks.
    table : ipywidgets.HTML
        The chosen station's windows: status, times, cc, time shift, dlnA, SNR, reason.
    """

    def __init__(self, project, data_selection_configuration: str, event: str | None = None, **kwargs):
        self.data = plotdata.window_traces(project, data_selection_configuration)
        self.selection = project.data_selection_configuration(data_selection_configuration)
        events = list(self.data.windows)
        if event is not None and event not in events:
            raise ValueError(f"Unknown event {event!r} for data selection {data_selection_configuration!r}; valid "
                             f"names are {events}.")
        self.warnings = [e for e in events if self.selection.n_accepted(e) == 0]
        self.summary = widgets.HTML(self._summary_html(events))
        self.event_dropdown = widgets.Dropdown(options=events, value=event or events[0], description="event")
        self.station_dropdown = widgets.Dropdown(options=list(self.data.receivers), description="station")
        self.marks, self.figures = {}, {}
        for component in self.data.components:
            sx, sy = bq.LinearScale(), bq.LinearScale()
            scales = {"x": sx, "y": sy}
            empty = np.empty((0, 0))
            marks = {
                "accepted": bq.Lines(x=empty, y=empty, scales=scales, fill="inside", colors=[_ACCEPTED],
                                     fill_colors=[_ACCEPTED], fill_opacities=[0.25], stroke_width=0),
                "rejected": bq.Lines(x=empty, y=empty, scales=scales, fill="inside", colors=[_REJECTED],
                                     fill_colors=[_REJECTED], fill_opacities=[0.25], stroke_width=0),
                "observed": bq.Lines(x=np.array([]), y=np.array([]), scales=scales, colors=[_OBSERVED],
                                     labels=["observed"], display_legend=component == self.data.components[0]),
                "synthetic": bq.Lines(x=np.array([]), y=np.array([]), scales=scales, colors=[_SYNTHETIC],
                                      labels=["synthetic"], display_legend=component == self.data.components[0]),
            }
            self.marks[component] = marks
            self.figures[component] = bq.Figure(
                marks=list(marks.values()), title=f"{component} (accepted windows green, rejected grey)",
                layout=widgets.Layout(width="840px", height="200px"),
                axes=[bq.Axis(scale=sx, label="time after origin (s)"),
                      bq.Axis(scale=sy, side="left", label="displacement (m)", label_offset="75px")],
                fig_margin={"top": 40, "bottom": 40, "left": 95, "right": 40})
        self.table = widgets.HTML()
        self.event_dropdown.observe(self._draw, names="value")
        self.station_dropdown.observe(self._draw, names="value")
        super().__init__(children=[self.summary, widgets.HBox([self.event_dropdown, self.station_dropdown]),
                                   *self.figures.values(), self.table], **kwargs)
        self.add_class("windows-view")
        self._draw()

    def _summary_html(self, events) -> str:
        rows = []
        for event in events:
            n, total = self.selection.n_accepted(event), len(self.data.windows[event])
            reasons = ", ".join(f"{k} {v}" for k, v in self.selection.rejection_reasons(event).items()) or "none"
            line = f"<b>{html.escape(event)}</b>: {n} of {total} windows accepted; rejected: {html.escape(reasons)}"
            if n == 0:
                line = (f"<div style='color:#b00020;font-weight:bold'>WARNING: {line}. This event has no window: "
                        "it adds nothing to the misfit or the gradient.</div>")
            rows.append(f"<div>{line}</div>")
        return "".join(rows)

    def windows_of(self, event: str, station: str) -> list[dict]:
        return [w for w in self.data.windows[event] if w["receiver"] == station]

    def _draw(self, change=None) -> None:
        event, station = self.event_dropdown.value, self.station_dropdown.value
        r = self.data.receivers.index(station)
        time = self.data.time[event]
        picked = self.windows_of(event, station)
        for c, component in enumerate(self.data.components):
            obs, syn = self.data.observed[event][r, c], self.data.synthetic[event][r, c]
            peak = float(np.nanmax(np.abs(np.concatenate([obs, syn]))) or 1.0)
            marks = self.marks[component]
            with marks["observed"].hold_sync():
                marks["observed"].x, marks["observed"].y = time, obs
            with marks["synthetic"].hold_sync():
                marks["synthetic"].x, marks["synthetic"].y = time, syn
            for status in ("accepted", "rejected"):
                spans = [(w["start"], w["end"]) for w in picked
                         if w["component"] == component and w["accepted"] == (status == "accepted")]
                x, y = _window_outline(spans, -peak, peak)
                with marks[status].hold_sync():
                    marks[status].x, marks[status].y = x, y
        self.table.value = self._table_html(picked)

    @staticmethod
    def _table_html(picked: list[dict]) -> str:
        def number(value, fmt):
            return "---" if value is None else format(value, fmt)

        rows = "".join(
            f"<tr><td>{w['component']}</td><td>{'accepted' if w['accepted'] else 'rejected'}</td>"
            f"<td>{w['start']:.0f}-{w['end']:.0f} s</td><td>{number(w['cc'], '.2f')}</td>"
            f"<td>{number(w['time_shift'], '+.1f')}</td><td>{number(w['dlna'], '+.2f')}</td>"
            f"<td>{number(w['snr'], '.1f')}</td><td>{html.escape(w['reason'] or '')}</td></tr>" for w in picked)
        return ("<table><tr><th>component</th><th>status</th><th>window</th><th>cc</th><th>shift (s)</th>"
                f"<th>dlnA</th><th>SNR</th><th>reason</th></tr>{rows or '<tr><td colspan=8>no window</td></tr>'}</table>")
