"""The inversion dashboard: misfit curve, trust-region radius, tasks, buttons and log.

Every widget here is a picture of an :class:`~fwi_widgets.state.InversionState`
trait; the buttons call the state's methods. Observers may run in worker threads
(jobs finishing), so they only copy values into widgets.
"""
from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from ..state import InversionState

__all__ = ["InversionView"]

_ACCEPTED, _REJECTED, _RADIUS, _EVENTS, _PENDING = "#1f77b4", "#d62728", "#2ca02c", "#9aa5b1", "#ff7f0e"
_STATUS_COLOURS = {"done": "#2ca02c", "running": "#1f77b4", "submitted": "#7f7f7f", "failed": "#d62728"}


def _points(history: tuple, iterations: tuple) -> dict[str, np.ndarray]:
    """Plot coordinates of the misfit history (selection only; nothing is computed).

    An iteration's own model sits at x = its number. A trial of iteration n would become
    the model of iteration n + 1, so trials sit at x = n + 1: rejected ones as red
    crosses; an accepted one only until iteration n + 1 has evaluated its own misfit
    (the same model, so the same value).
    """
    evaluated = {h["iteration"] for h in history if h["trial"] is None}
    accepted = [(h["iteration"], h["chi"], h["misfits"]) for h in history if h["trial"] is None]
    accepted += [(h["iteration"] + 1, h["chi"], h["misfits"]) for h in history
                 if h["trial"] is not None and h["accepted"] and h["iteration"] + 1 not in evaluated]
    accepted.sort(key=lambda a: a[0])
    rejected = [(h["iteration"] + 1, h["chi"]) for h in history if h["trial"] is not None and not h["accepted"]]
    events = sorted(accepted[0][2]) if accepted else []
    per_event = np.array([[a[2].get(e, np.nan) for a in accepted] for e in events], dtype=float)
    # bqplot squeezes a (n_events, 1) array into one line of n_events points: a single
    # point per event draws nothing anyway, so send nothing until there are two.
    per_event = per_event.reshape(len(events), len(accepted)) if len(accepted) > 1 else np.empty((0, 0))
    radius, pending = _radius_points(iterations)
    return {
        "x": np.array([a[0] for a in accepted], dtype=float), "chi": np.array([a[1] for a in accepted], dtype=float),
        "x_rejected": np.array([r[0] for r in rejected], dtype=float),
        "chi_rejected": np.array([r[1] for r in rejected], dtype=float),
        "x_events": np.array([a[0] for a in accepted], dtype=float) if len(accepted) > 1 else np.array([]),
        "per_event": per_event, "events": events if len(accepted) > 1 else [],
        "x_radius": np.array([r[0] for r in radius], dtype=float),
        "radius": np.array([r[1] for r in radius], dtype=float),
        "x_pending": np.array([r[0] for r in pending], dtype=float),
        "radius_pending": np.array([r[1] for r in pending], dtype=float),
    }


def _radius_points(iterations: tuple) -> tuple[list, list]:
    """(x, radius) of every decided trial step, and of the pending step (none or one).

    Iteration n's trials share [n, n + 1) evenly. The record's current radius (the
    ``tr_radius`` of the newest iteration, shown in the status line) is not a trial's:
    :func:`engine.optimize.decide` grows or shrinks it after a trial, for the *next*
    step. It is the pending step's, drawn where that step will sit once decided: the
    next slot of the newest iteration, or n + 1 once its last trial was accepted.
    """
    decided, pending = [], []
    for i, it in enumerate(iterations):
        trials = it["trials"]
        newest = i == len(iterations) - 1
        radius = it.get("tr_radius") if newest else None
        waiting = radius is not None and not (trials and trials[-1]["accepted"])
        slots = len(trials) + (1 if waiting else 0)
        decided += [(it["number"] + k / slots, t["radius"]) for k, t in enumerate(trials)]
        if radius is not None:
            pending.append((it["number"] + len(trials) / slots if waiting else it["number"] + 1, radius))
    return decided, pending


def _table(state: InversionState) -> str:
    """The stage/task/job table as HTML."""
    if state.current_iteration is None:
        return "<b>No iteration yet.</b> Click <i>Resume</i> to add iteration #0 and start it."
    esc = html.escape
    rows = []
    for task in state.tasks:
        colour = _STATUS_COLOURS.get(task["status"], "#000")
        rows.append(f"<tr><td><b>{esc(task['name'])}</b></td><td style='color:{colour}'>{esc(task['status'])}</td>"
                    f"<td>{task['n_done']}/{task['n_jobs']} jobs done</td><td></td></tr>")
        for job in task["jobs"]:
            colour = _STATUS_COLOURS.get(job["status"], "#000")
            attempts = f" (attempt {job['attempts']})" if job["attempts"] > 1 else ""
            rows.append(f"<tr class='job'><td>&nbsp;&nbsp;{esc(job['event'] or 'all events')}</td>"
                        f"<td style='color:{colour}'>{esc(job['status'])}{attempts}</td><td></td><td></td></tr>")
            if job["error"]:  # its own row: a long message would squeeze the columns
                rows.append(f"<tr class='job-error'><td colspan='4' style='color:#d62728; padding-left:2em'>"
                            f"{esc(job['error'])}</td></tr>")
    fmt = lambda v: "---" if v is None else f"{v:.4g}"  # noqa: E731
    decision = {None: "---", True: "accepted", False: "rejected"}[state.accepted]
    head = (f"<b>Iteration #{state.current_iteration}</b>, stage <code>{esc(state.stage)}</code> &nbsp; "
            f"tr_radius = {fmt(state.tr_radius)} (pending step), pred = {fmt(state.pred)}, ared = {fmt(state.ared)}, "
            f"last step {decision}")
    body = "".join(rows) or "<tr><td>No task issued yet.</td></tr>"
    return f"<div>{head}</div><table class='fwi-tasks'>{body}</table>"


def _key(*entries: tuple[str, str, str]) -> str:
    """A caption (HTML) of (colour, symbol, meaning) entries, one per mark."""
    lines = [f"<b style='color:{colour}'>{symbol}</b> {meaning}" for colour, symbol, meaning in entries]
    return f"<div style='font-size:12px; line-height:1.4; padding-left:60px'>{'<br>'.join(lines)}</div>"


class InversionView(widgets.VBox):
    """A VBox observing ``state``: figures, the task table, **Resume**/**Iterate**, the log.

    Parameters
    ----------
    state : InversionState
        What to show and whom to ask for steps.
    timeout_in_seconds : float or None
        Passed to ``iterate`` by the **Iterate** button (s).
    ping_interval_in_seconds : float
        Passed to ``iterate`` by the **Iterate** button (s).

    Attributes
    ----------
    marks : dict of str to bqplot.Mark
        ``"total"`` (line), ``"accepted"`` and ``"rejected"`` (scatters), ``"events"``
        (one line per event), ``"radius"`` (line: the radius of each decided trial step)
        and ``"pending_radius"`` (scatter: the status line's ``tr_radius``, that of the
        step not decided yet).
    misfit_caption, radius_caption : ipywidgets.HTML
        What the marks of each figure mean (the titles stay short enough to fit).
    resume_button, iterate_button : ipywidgets.Button
    retry_button : ipywidgets.Button
        Shown only while a task has failed jobs: resumes with ``retry_failed=True``.
    table, error_box : ipywidgets.HTML
    log_area : ipywidgets.Textarea
    """

    def __init__(self, state: InversionState, timeout_in_seconds: float | None = None,
                 ping_interval_in_seconds: float = 0.5, **kwargs):
        if not isinstance(state, InversionState):
            raise TypeError(f"The 'state' parameter must be an InversionState, but {state!r} was given.")
        self.state = state
        self._iterate_options = {"timeout_in_seconds": timeout_in_seconds,
                                 "ping_interval_in_seconds": ping_interval_in_seconds}
        sx, sy = bq.LinearScale(), bq.LinearScale()
        scales = {"x": sx, "y": sy}
        self.marks = {
            "events": bq.Lines(x=np.array([]), y=np.empty((0, 0)), scales=scales, colors=[_EVENTS], opacities=[0.6],
                               stroke_width=1, labels=[], display_legend=False),
            "total": bq.Lines(x=np.array([]), y=np.array([]), scales=scales, colors=[_ACCEPTED], stroke_width=2,
                              labels=["total misfit"]),
            "accepted": bq.Scatter(x=np.array([]), y=np.array([]), scales=scales, colors=[_ACCEPTED], default_size=48,
                                   tooltip=bq.Tooltip(fields=["x", "y"], labels=["iteration", "chi"])),
            "rejected": bq.Scatter(x=np.array([]), y=np.array([]), scales=scales, colors=[_REJECTED], marker="cross",
                                   default_size=48, tooltip=bq.Tooltip(fields=["x", "y"], labels=["iteration", "chi"])),
        }
        rx, ry = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.marks["radius"] = bq.Lines(x=np.array([]), y=np.array([]), scales={"x": rx, "y": ry}, colors=[_RADIUS],
                                        marker="circle", marker_size=24)
        self.marks["pending_radius"] = bq.Scatter(
            x=np.array([]), y=np.array([]), scales={"x": rx, "y": ry}, colors=[_PENDING], marker="diamond",
            default_size=64, tooltip=bq.Tooltip(fields=["x", "y"], labels=["iteration", "tr_radius"]))
        layout = widgets.Layout(width="480px", height="300px")
        margin = {"top": 30, "bottom": 45, "left": 60, "right": 20}
        self.misfit_figure = bq.Figure(
            marks=[self.marks["events"], self.marks["total"], self.marks["accepted"], self.marks["rejected"]],
            axes=[bq.Axis(scale=sx, label="iteration", tick_format="d"),
                  bq.Axis(scale=sy, side="left", label="misfit chi")],
            title="Misfit per iteration", layout=layout, fig_margin=margin,
        )
        self.radius_figure = bq.Figure(
            marks=[self.marks["radius"], self.marks["pending_radius"]],
            axes=[bq.Axis(scale=rx, label="iteration (trial steps)"),
                  bq.Axis(scale=ry, side="left", label="trust-region radius")],
            title="Trust-region radius", layout=widgets.Layout(width="400px", height="300px"),
            fig_margin=margin,
        )
        # The keys live under the figures: a bqplot title is one line, cut at the figure's edge.
        self.misfit_caption = widgets.HTML(_key(
            (_ACCEPTED, "&#9679;", "total misfit of each model"), (_EVENTS, "&#9472;", "per event"),
            (_REJECTED, "&#10005;", "rejected trial, at the iteration it would have started")),
            layout=widgets.Layout(width=layout.width))
        self.misfit_caption.add_class("misfit-caption")
        self.radius_caption = widgets.HTML(_key(
            (_RADIUS, "&#9679;", "radius a trial step was computed for"),
            (_PENDING, "&#9670;", "pending step: its radius is tr_radius below")),
            layout=widgets.Layout(width=self.radius_figure.layout.width))
        self.radius_caption.add_class("radius-caption")
        self.resume_button = widgets.Button(description="Resume", icon="step-forward", button_style="primary",
                                            tooltip="One step: issue tasks, submit jobs, collect finished ones.")
        self.resume_button.add_class("resume-button")
        self.iterate_button = widgets.Button(description="Iterate", icon="play",
                                             tooltip="Run a whole iteration in the background.")
        self.iterate_button.add_class("iterate-button")
        self.retry_button = widgets.Button(description="Retry failed jobs", icon="redo", button_style="warning",
                                           tooltip="Resume, submitting the failed jobs again.",
                                           layout=widgets.Layout(display="none"))
        self.retry_button.add_class("retry-button")
        self.table = widgets.HTML()
        self.table.add_class("task-table")
        self.error_box = widgets.HTML()
        self.error_box.add_class("error-box")
        self.log_area = widgets.Textarea(disabled=True, layout=widgets.Layout(width="100%", height="180px"))
        self.log_area.add_class("inversion-log")
        self.resume_button.on_click(self._on_resume)
        self.iterate_button.on_click(self._on_iterate)
        self.retry_button.on_click(self._on_retry)
        super().__init__(children=[
            widgets.HBox([widgets.VBox([self.misfit_figure, self.misfit_caption]),
                          widgets.VBox([self.radius_figure, self.radius_caption])]),
            widgets.HBox([self.resume_button, self.iterate_button, self.retry_button]),
            self.error_box, self.table, self.log_area,
        ], **kwargs)
        self.add_class("inversion-view")
        state.observe(self._draw_curves, names=["misfit_history", "iterations"])
        state.observe(self._draw_table, names=["tasks", "stage", "current_iteration", "tr_radius", "pred", "ared",
                                               "accepted"])
        state.observe(self._draw_log, names=["log"])
        state.observe(self._draw_buttons, names=["busy", "error"])
        self._draw_curves()
        self._draw_table()
        self._draw_log()
        self._draw_buttons()

    # --- observers: copy state into widgets ------------------------------------------------------
    def _draw_curves(self, change=None) -> None:
        p = _points(self.state.misfit_history, self.state.iterations)
        with self.marks["events"].hold_sync():
            self.marks["events"].x = p["x_events"]
            self.marks["events"].y = p["per_event"]
            self.marks["events"].labels = p["events"]
        with self.marks["total"].hold_sync():
            self.marks["total"].x, self.marks["total"].y = p["x"], p["chi"]
        # Whole iterations only on the x axis ("d" would print 0 0 1 1 for fractional ticks,
        # as on the empty axis, which spans 0 to 1).
        self.misfit_figure.axes[0].tick_values = np.arange(int(np.max(p["x"])) + 1 if len(p["x"]) else 2)
        with self.marks["accepted"].hold_sync():
            self.marks["accepted"].x, self.marks["accepted"].y = p["x"], p["chi"]
        with self.marks["rejected"].hold_sync():
            self.marks["rejected"].x, self.marks["rejected"].y = p["x_rejected"], p["chi_rejected"]
        with self.marks["radius"].hold_sync():
            self.marks["radius"].x, self.marks["radius"].y = p["x_radius"], p["radius"]
        with self.marks["pending_radius"].hold_sync():
            self.marks["pending_radius"].x, self.marks["pending_radius"].y = p["x_pending"], p["radius_pending"]

    def _draw_table(self, change=None) -> None:
        self.table.value = _table(self.state)
        failed = any(task["status"] == "failed" for task in self.state.tasks)
        self.retry_button.layout.display = None if failed else "none"

    def _draw_log(self, change=None) -> None:
        # Newest first: the latest step is what a class looks at, and a text area does
        # not follow its end by itself.
        self.log_area.value = "\n".join(reversed(self.state.log))

    def _draw_buttons(self, change=None) -> None:
        busy = self.state.busy
        self.resume_button.disabled = busy
        self.retry_button.disabled = busy
        self.iterate_button.disabled = busy
        error = self.state.error
        self.error_box.value = "" if not error else (
            f"<pre style='color:#d62728; white-space:pre-wrap'>{html.escape(error)}</pre>")

    # --- buttons: call the state, which calls the workflow ----------------------------------------------
    def _on_resume(self, button, retry_failed: bool = False) -> None:
        if self.state.busy:  # Button.click() from Python does not look at 'disabled'
            return
        try:
            self.state.resume(retry_failed=retry_failed)
        except Exception as exc:  # noqa: BLE001 - shown in the error box rather than raised into the front end
            if not self.state.error:
                self.state.error = f"{type(exc).__name__}: {exc}"

    def _on_retry(self, button) -> None:
        self._on_resume(button, retry_failed=True)

    def _on_iterate(self, button) -> None:
        if self.state.busy:
            return
        try:
            self.state.iterate_in_background(**self._iterate_options)
        except Exception as exc:  # noqa: BLE001 - e.g. busy: show it rather than raise into the front end
            self.state.error = f"{type(exc).__name__}: {exc}"
