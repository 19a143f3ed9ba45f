"""The model view: current model, true model, update and a profile (bqplot).

Four maps on a 2 x 2 grid: the current model and the true model share one colour
scale (m/s), so the eye compares like with like; the update (current - prior) and the
true perturbation (true - prior) share a second, diverging one, centred on zero. A
profile along a horizontal line (its y chosen with a slider, drawn on the current map)
shows prior, current and true values. Data come from :mod:`fwi_widgets.plotdata`.
"""
from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np
import xarray as xr

from .. import plotdata
from ..state import InversionState
from .waveforms import nice_ticks

__all__ = ["ModelView", "heatmap", "set_heatmap"]

_PROFILE_COLOURS = {"prior": "#7f7f7f", "current": "#1f77b4", "true": "#d62728"}
#: Room left of a plot area (px) and where the y label sits in it: tick labels like
#: "-3000" (km) or "4040" (m/s) are about 45 px wide with the tick, and bqplot's default
#: label offset (4ex) put the label on top of them.
Y_MARGIN_PX, Y_LABEL_OFFSET_PX = 75, 55
#: Most ticks of a colour bar. bqplot draws a vertical ColorAxis 200 px shorter than the
#: plot area (75 px in a 360 px figure) and d3's default of about ten ticks put the
#: labels (4150, 4100, ... 3850) on top of each other.
COLOUR_TICKS = 5


def heatmap(color_scale: bq.ColorScale, title: str) -> tuple[bq.Figure, bq.HeatMap]:
    """An empty map figure (x, y in km) whose HeatMap uses ``color_scale``.

    The colour bar gets at most :data:`COLOUR_TICKS` round ticks whenever the scale's
    range changes (none, so bqplot picks, while the scale has no range).
    """
    sx, sy = bq.LinearScale(), bq.LinearScale()
    colour_axis = bq.ColorAxis(scale=color_scale, side="right")

    def colour_ticks(change=None) -> None:
        ends = np.array([color_scale.min, color_scale.max], dtype=float)  # None: nan
        colour_axis.tick_values = nice_ticks(ends, most=COLOUR_TICKS)

    color_scale.observe(colour_ticks, names=["min", "max"])
    colour_ticks()
    mark = bq.HeatMap(x=np.array([0.0, 1.0]), y=np.array([0.0, 1.0]), color=np.full((2, 2), np.nan),
                      scales={"x": sx, "y": sy, "color": color_scale})
    figure = bq.Figure(marks=[mark], title=title, layout=widgets.Layout(width="420px", height="360px"),
                       axes=[bq.Axis(scale=sx, label="x (km)"),
                             bq.Axis(scale=sy, side="left", label="y (km)", label_offset=f"{Y_LABEL_OFFSET_PX}px"),
                             colour_axis],
                       fig_margin={"top": 40, "bottom": 45, "left": Y_MARGIN_PX, "right": 80}, min_aspect_ratio=0.5)
    return figure, mark


def set_heatmap(mark: bq.HeatMap, values: xr.DataArray | None) -> None:
    """Copy a 2D DataArray into a HeatMap (bqplot wants colour rows along y): (x, y) in m
    drawn in km; (longitude, latitude) of a 3D depth slice drawn in degrees."""
    if values is None:
        values = xr.DataArray(np.full((2, 2), np.nan), dims=("x", "y"), coords={"x": [0.0, 1.0], "y": [0.0, 1.0]})
    xname, yname = values.dims
    scale = 1.0 if str(values[xname].attrs.get("units", "m")).startswith("degrees") else 1e-3
    with mark.hold_sync():
        mark.x = values[xname].values * scale
        mark.y = values[yname].values * scale
        mark.color = values.transpose(yname, xname).values


def depth_slider(mesh) -> widgets.IntSlider:
    """The depth (km) of a chunk's map slices: from its top to its bottom in 10 km steps,
    starting at :data:`fwi_widgets.plotdata.DEFAULT_DEPTH_IN_METERS`."""
    top, bottom = plotdata.depth_range_km(mesh)
    start = int(min(max(plotdata.DEFAULT_DEPTH_IN_METERS / 1e3, top), bottom))
    return widgets.IntSlider(value=start, min=int(np.ceil(top)), max=int(bottom), step=10, description="depth (km)",
                             continuous_update=False)


def geographic_axes(figure: bq.Figure) -> None:
    """Label a map figure's axes for a chunk's slices (degrees, not km)."""
    figure.axes[0].label, figure.axes[1].label = "longitude (degrees)", "latitude (degrees)"


def _symmetric(scale: bq.ColorScale, *arrays: np.ndarray) -> None:
    peak = max((float(np.nanmax(np.abs(a))) for a in arrays if np.isfinite(a).any()), default=0.0)
    peak = peak if peak > 0 else 1.0
    scale.min, scale.max = -peak, peak


class ModelView(widgets.VBox):
    """A VBox observing ``state``: the model of its newest iteration beside the truth.

    Parameters
    ----------
    state : InversionState
        Whose newest iteration (``current_iteration``) to show.
    parameter : str
        Upper-case model parameter ("VS").
    true_model : str or None
        A registered grid model drawn as the truth (skipped when absent).
    points : int
        Grid points along the longer side of the maps.

    Attributes
    ----------
    marks : dict of str to bqplot.Mark
        HeatMaps ``"current"``, ``"true"``, ``"update"``, ``"true_update"``; ``"profile"``
        (Lines: prior, current, true along the profile) and ``"profile_line"`` (where it runs).
    scales : dict of str to bqplot.ColorScale
        ``"model"`` (shared by current and true) and ``"update"`` (shared by both updates).
    profile_slider : ipywidgets.FloatSlider
        y of the profile (km).
    maps : xarray.Dataset or None
        What is drawn (from :func:`fwi_widgets.plotdata.model_maps`).
    """

    def __init__(self, state: InversionState, parameter: str | None = None, true_model: str | None = "true_model",
                 points: int = 120, **kwargs):
        if not isinstance(state, InversionState):
            raise TypeError(f"The 'state' parameter must be an InversionState, but {state!r} was given.")
        mesh = plotdata.prior_mesh(state.project, state.problem)
        chunk = plotdata.is_chunk(mesh)
        if parameter is None:  # the workshop's VS; on a chunk the vertically polarised shear speed
            parameter = "VSV" if chunk else "VS"
        self.state, self.parameter, self.true_model, self.points = state, parameter, true_model, points
        self.maps: xr.Dataset | None = None
        self.scales = {"model": bq.ColorScale(scheme="RdYlBu"), "update": bq.ColorScale(scheme="RdBu", mid=0.0)}
        self.marks = {}
        figures = {}
        titles = {"current": f"{parameter} of the current model (m/s)", "true": f"{parameter} of the true model (m/s)",
                  "update": "update: current - prior (m/s)", "true_update": "true - prior (m/s)"}
        for key, scale in (("current", "model"), ("true", "model"), ("update", "update"), ("true_update", "update")):
            figures[key], self.marks[key] = heatmap(self.scales[scale], titles[key])
        cur = figures["current"]
        self.marks["profile_line"] = bq.Lines(x=np.array([]), y=np.array([]), colors=["black"], stroke_width=2,
                                              line_style="dashed", scales={"x": cur.marks[0].scales["x"],
                                                                           "y": cur.marks[0].scales["y"]})
        cur.marks = [*cur.marks, self.marks["profile_line"]]
        px, py = bq.LinearScale(), bq.LinearScale()
        self.marks["profile"] = bq.Lines(x=np.array([]), y=np.empty((0, 0)), scales={"x": px, "y": py},
                                         colors=list(_PROFILE_COLOURS.values()), labels=list(_PROFILE_COLOURS),
                                         display_legend=True)
        self.profile_figure = bq.Figure(
            marks=[self.marks["profile"]], title="Profile along the dashed line",
            axes=[bq.Axis(scale=px, label="x (km)"),
                  bq.Axis(scale=py, side="left", label=f"{parameter} (m/s)", label_offset=f"{Y_LABEL_OFFSET_PX}px")],
            layout=widgets.Layout(width="840px", height="260px"),
            fig_margin={"top": 50, "bottom": 50, "left": Y_MARGIN_PX, "right": 40},
        )
        self.profile_slider = widgets.FloatSlider(description="profile y (km)", continuous_update=False,
                                                  style={"description_width": "initial"},
                                                  layout=widgets.Layout(width="500px"))
        self.title = widgets.HTML()
        self.profile_slider.observe(self._draw_profile, names="value")
        # A chunk is drawn as depth slices (longitude, latitude in degrees), with a depth slider.
        self.depth_slider = None
        controls = []
        if chunk:
            self.depth_slider = depth_slider(mesh)
            self.depth_slider.observe(self._draw, names="value")
            controls.append(self.depth_slider)
            self.profile_slider.description = "profile latitude (degrees)"
            self.profile_figure.axes[0].label = "longitude (degrees)"
            for figure in figures.values():
                geographic_axes(figure)
        super().__init__(children=[
            self.title, *controls,
            widgets.GridBox([figures[k] for k in ("current", "true", "update", "true_update")],
                            layout=widgets.Layout(grid_template_columns="repeat(2, 430px)")),
            self.profile_slider, self.profile_figure,
        ], **kwargs)
        self.add_class("model-view")
        state.observe(self._draw, names="current_iteration")
        self._draw()

    @property
    def _axis_scale(self) -> float:
        """Map axis units per coordinate unit: km per m in 2D, degrees per degree on a chunk."""
        return 1.0 if self.depth_slider is not None else 1e-3

    def _draw(self, change=None) -> None:
        number = self.state.current_iteration
        if number is None:
            self.maps = None
            self.title.value = "<b>No iteration yet.</b>"
            for key in ("current", "true", "update", "true_update"):
                set_heatmap(self.marks[key], None)
            self._draw_profile()
            return
        depth = None if self.depth_slider is None else 1e3 * float(self.depth_slider.value)
        maps = plotdata.model_maps(self.state.project, self.state.problem, number, parameter=self.parameter,
                                   points=self.points, true_model=self.true_model, depth_in_meters=depth)
        maps["true_update"] = maps["true"] - maps["prior"]
        self.maps = maps
        where = "" if depth is None else f", {depth / 1e3:g} km deep"
        self.title.value = f"<b>Model of iteration #{number}{where}</b>"
        absolute = np.concatenate([maps[k].values.ravel() for k in ("current", "true")])
        absolute = absolute[np.isfinite(absolute)]
        lo, hi = float(absolute.min()), float(absolute.max())
        if hi - lo < 1e-9 * max(abs(hi), 1.0):  # a constant model: give the scale some width
            lo, hi = lo - 1.0, hi + 1.0
        with self.scales["model"].hold_sync():
            self.scales["model"].min, self.scales["model"].max = lo, hi
        _symmetric(self.scales["update"], maps["update"].values, maps["true_update"].values)
        for key in ("current", "true", "update", "true_update"):
            set_heatmap(self.marks[key], maps[key])
        _, yname = maps["current"].dims
        y = maps[yname].values * self._axis_scale
        with self.profile_slider.hold_sync():
            self.profile_slider.min, self.profile_slider.max = float(y.min()), float(y.max())
            self.profile_slider.step = float(y[1] - y[0])
        self._draw_profile()

    def _draw_profile(self, change=None) -> None:
        if self.maps is None:
            with self.marks["profile"].hold_sync():
                self.marks["profile"].x, self.marks["profile"].y = np.array([]), np.empty((0, 0))
            self.marks["profile_line"].x, self.marks["profile_line"].y = np.array([]), np.array([])
            return
        xname, yname = self.maps["current"].dims
        row = self.maps.sel({yname: self.profile_slider.value / self._axis_scale}, method="nearest")
        x = row[xname].values * self._axis_scale
        with self.marks["profile"].hold_sync():
            self.marks["profile"].x = x
            self.marks["profile"].y = np.stack([row[k].values for k in _PROFILE_COLOURS])
        y = float(row[yname]) * self._axis_scale
        with self.marks["profile_line"].hold_sync():
            self.marks["profile_line"].x = np.array([x[0], x[-1]])
            self.marks["profile_line"].y = np.array([y, y])
