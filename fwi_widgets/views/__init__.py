"""Widgets that observe an :class:`~fwi_widgets.state.InversionState`: ``p.viz.nb.*``.

Views only draw what the state holds and turn clicks into calls of the state's
methods (which call the workflow). They never compute and never import the engine
(a test checks ``sys.modules``).

>>> box = p.viz.nb.inversion(inverse_problem_configuration="inv_70_120_seconds")  # doctest: +SKIP
>>> m = p.viz.nb.domain(inverse_problem_configuration="inv_70_120_seconds")  # doctest: +SKIP
>>> tabs = p.viz.nb.dashboard(inverse_problem_configuration="inv_70_120_seconds")  # doctest: +SKIP
"""
from __future__ import annotations

import threading

import traitlets

from ..state import InversionState, Selection

__all__ = ["Viz"]


class Viz:
    """``p.viz``: the project's widgets, sharing one state per inverse problem.

    Parameters
    ----------
    project : fwi_widgets.project.Project
        The open project the widgets show.
    """

    def __init__(self, project):
        self.project = project
        #: What was clicked, shared by every view of this project.
        self.selection = Selection()
        self._states: dict[str, InversionState] = {}
        self._lock = threading.Lock()
        self.nb = _Notebook(self)

    def state(self, inverse_problem_configuration: str) -> InversionState:
        """The one :class:`InversionState` of this inverse problem (made on first use)."""
        name = inverse_problem_configuration
        with self._lock:
            if name not in self._states:
                state = InversionState(self.project, name)
                # A station picked anywhere is picked everywhere.
                traitlets.link((self.selection, "selected_station"), (state, "selected_station"))
                self._states[name] = state
            return self._states[name]


class _Notebook:
    """``p.viz.nb``: Jupyter widgets (ipywidgets, bqplot, ipyleaflet)."""

    def __init__(self, viz: Viz):
        self._viz = viz

    def inversion(self, inverse_problem_configuration: str, timeout_in_seconds: float | None = None,
                  ping_interval_in_seconds: float = 0.5):
        """The inversion dashboard: misfit curve, trust-region radius, tasks, buttons, log.

        Parameters
        ----------
        inverse_problem_configuration : str
            Name of a registered inverse problem.
        timeout_in_seconds : float or None
            What **Iterate** passes to ``p.inversions.iterate`` (s); None waits as long as it takes.
        ping_interval_in_seconds : float
            How often **Iterate** looks for finished jobs (s).

        Returns
        -------
        InversionView
            An ``ipywidgets.VBox``.
        """
        from .inversion import InversionView

        state = self._viz.state(inverse_problem_configuration)
        return InversionView(state, timeout_in_seconds=timeout_in_seconds,
                             ping_interval_in_seconds=ping_interval_in_seconds)

    def domain(self, inverse_problem_configuration: str | None = None, tiles: bool = False):
        """A map of the domain outline, the events and the stations.

        Parameters
        ----------
        inverse_problem_configuration : str or None
            With a name, stations are coloured by the change of their misfit (first vs
            latest accepted model) and the problem's events are highlighted.
        tiles : bool
            Add an OpenStreetMap tile layer under the shipped land outlines (needs the
            internet in the browser); by default the map works offline.

        Returns
        -------
        ipyleaflet.Map
        """
        from .domain import domain_map

        state = None if inverse_problem_configuration is None else self._viz.state(inverse_problem_configuration)
        return domain_map(self._viz.project, state=state, selection=self._viz.selection, tiles=tiles)

    def model(self, inverse_problem_configuration: str, parameter: str | None = None,
              true_model: str | None = "true_model", points: int = 120):
        """The newest iteration's model, the true model, the update and a profile (depth
        slices with a depth slider on a 3D chunk).

        Parameters
        ----------
        inverse_problem_configuration : str
            Name of a registered inverse problem.
        parameter : str or None
            Upper-case model parameter (default "VS"; "VSV" on a chunk).
        true_model : str or None
            A registered grid model to compare with (skipped when not registered).
        points : int
            Grid points along the longer side of the maps.

        Returns
        -------
        ModelView
            An ``ipywidgets.VBox``.
        """
        from .model import ModelView

        return ModelView(self._viz.state(inverse_problem_configuration), parameter=parameter, true_model=true_model,
                         points=points)

    def gradients(self, inverse_problem_configuration: str | None = None, parameter: str | None = None,
                  points: int = 120, *, simulation_configuration: str | None = None,
                  misfit_configuration: str | None = None, events: list[str] | None = None):
        """Per-event and summed gradients, raw or preconditioned (a depth slice on a 3D chunk).

        Two calls: ``gradients(inverse_problem_configuration=...)``, or the tutorial's
        ``gradients(simulation_configuration=..., misfit_configuration=..., events=[...])``,
        which shows the gradients of the inverse problem that uses that simulation (as its
        prior) and that misfit, summed over ``events``.

        Parameters
        ----------
        inverse_problem_configuration : str
            Name of a registered inverse problem.
        parameter : str or None
            Upper-case model parameter ("VS"; default: VS if inverted for, else the first
            inversion parameter).
        points : int
            Grid points along the longer side of the map.
        simulation_configuration, misfit_configuration : str
            Instead of the inverse problem: its prior's simulation and its misfit.
        events : list of str
            The events to show and sum (default: all of the inverse problem's).

        Returns
        -------
        GradientsView
            An ``ipywidgets.VBox``.
        """
        from .gradients import GradientsView

        if inverse_problem_configuration is None:
            inverse_problem_configuration = self._problem_of(simulation_configuration, misfit_configuration, events)
        return GradientsView(self._viz.state(inverse_problem_configuration), parameter=parameter, points=points,
                             events=events)

    def _problem_of(self, simulation: str | None, misfit: str | None, events: list[str] | None) -> str:
        """The inverse problem with this prior simulation and misfit (and these events)."""
        project = self._viz.project
        if simulation is None or misfit is None:
            raise TypeError("Give inverse_problem_configuration=..., or both simulation_configuration=... and "
                            "misfit_configuration=... (the tutorial's call).")
        names = project.list_configurations("inverse_problem")
        found = [n for n in names if (c := project.inverse_problem_configuration(n)).prior_model == simulation
                 and c.misfit_configuration == misfit and (events is None or set(events) <= set(c.events))]
        if not found:
            raise ValueError(f"No inverse problem uses simulation configuration {simulation!r} as its prior and misfit "
                             f"configuration {misfit!r}{'' if events is None else f' for events {list(events)}'}; the "
                             f"inverse problems are {names}. Add one (sn.InverseProblemConfiguration) and run an iteration.")
        return found[0]

    def waveforms(self, inverse_problem_configuration: str):
        """Observed vs synthetic traces of the selected station, its window and adjoint source.

        Parameters
        ----------
        inverse_problem_configuration : str
            Name of a registered inverse problem.

        Returns
        -------
        WaveformsView
            An ``ipywidgets.VBox``; its station is the project's selected station.
        """
        from .waveforms import WaveformsView

        return WaveformsView(self._viz.state(inverse_problem_configuration))

    def cross_section(self, inverse_problem_configuration: str, parameter: str = "VSV", start=None, end=None):
        """The update and the true anomaly on a vertical section under the great circle
        from ``start`` to ``end`` ((latitude, longitude), degrees; default: between the
        first and the last event), on a 3D chunk.

        Returns
        -------
        CrossSectionView
            An ``ipywidgets.VBox`` with the end points as inputs and a **Draw** button.
        """
        from .cross_section import CrossSectionView

        return CrossSectionView(self._viz.state(inverse_problem_configuration), parameter=parameter, start=start,
                                end=end)

    def windows(self, data_selection_configuration: str, event: str | None = None):
        """The windows picked in Part 3: per event, the accepted and rejected windows and
        why; per station, the processed observed and synthetic Z, N and E with them.

        Parameters
        ----------
        data_selection_configuration : str
            Name given to ``p.actions.seismology.pick_windows``.
        event : str, optional
            The event shown first.

        Returns
        -------
        WindowsView
            An ``ipywidgets.VBox``; its ``warnings`` lists the events without a window.
        """
        from .windows import WindowsView

        return WindowsView(self._viz.project, data_selection_configuration, event=event)

    def dashboard(self, inverse_problem_configuration: str, tiles: bool = False, **inversion_options):
        """All views of an inverse problem in one Tab (inversion, domain, model, gradients, waveforms).

        Parameters
        ----------
        inverse_problem_configuration : str
            Name of a registered inverse problem.
        tiles : bool
            Passed to :meth:`domain`.
        **inversion_options
            Passed to :meth:`inversion` (``timeout_in_seconds``, ``ping_interval_in_seconds``).

        Returns
        -------
        Dashboard
            An ``ipywidgets.Tab``; ``.views`` maps tab names to the widgets.
        """
        from .dashboard import Dashboard

        name = inverse_problem_configuration
        return Dashboard({
            "inversion": self.inversion(name, **inversion_options),
            "domain": self.domain(name, tiles=tiles),
            "model": self.model(name),
            "gradients": self.gradients(name),
            "waveforms": self.waveforms(name),
        })
