"""Misfit configuration: how synthetics are compared with observed data."""
from __future__ import annotations

from dataclasses import dataclass, field

import inspect

from engine.misfit import available as available_misfits, by_name as misfit_by_name

from ._base import Configuration, choice, mapping_of, name_string, positive, register
from .processing import SYNTHETIC_PROCESSING, parse_data_name

__all__ = ["MisfitConfiguration", "WindowPicking"]


@register
@dataclass(frozen=True)
class WindowPicking(Configuration):
    """Windows around the predicted surface-wave arrivals: from distance / max velocity
    to distance / min velocity, padded by ``padding_in_seconds`` (clipped to the trace)."""

    min_velocity_in_m_per_s: float = 3000.0
    max_velocity_in_m_per_s: float = 5000.0
    padding_in_seconds: float = 60.0

    def __post_init__(self):
        lo = positive("min_velocity_in_m_per_s", self.min_velocity_in_m_per_s)
        hi = positive("max_velocity_in_m_per_s", self.max_velocity_in_m_per_s)
        if not hi > lo:
            raise ValueError(f"The 'max_velocity_in_m_per_s' parameter must exceed {lo!r}, but {hi!r} was given.")
        positive("padding_in_seconds", self.padding_in_seconds, allow_zero=True)

    def window(self, distance: float, end_time: float) -> tuple[float, float]:
        t0 = max(0.0, distance / self.max_velocity_in_m_per_s - self.padding_in_seconds)
        t1 = min(end_time, distance / self.min_velocity_in_m_per_s + self.padding_in_seconds)
        return t0, t1


@register
@dataclass(frozen=True)
class MisfitConfiguration(Configuration):
    """Misfit function ("tf_phase", "l2", "cc_traveltime") in a period band, against the
    observed data named ``observed_data``, in windows (or whole traces).

    Windows come from a rule (``windows=sn.WindowPicking(...)``, the default; ``None``
    measures whole traces) or from the windows picked on the data
    (``data_selection_configuration=``, Part 3 of the tutorial: ``p.actions.seismology.
    pick_windows``), per station and component. ``synthetic_processing="bandpass"``
    band-passes the synthetics over [1 / max_period, 1 / min_period] with the causal
    4-corner Butterworth that processing applied to the data (``engine.signal``); the
    adjoint source goes back through the filter's transpose. ``misfit_function=
    "time_frequency_phase"`` (Salvus' name) is "tf_phase".
    """

    name: str
    simulation_configuration: str
    min_period_in_seconds: float
    max_period_in_seconds: float
    misfit_function: str = "tf_phase"
    observed_data: str = "observed"
    windows: WindowPicking | None = field(default_factory=WindowPicking)
    misfit_options: dict = field(default_factory=dict)
    receiver_field: str = "displacement"
    data_selection_configuration: str | None = None
    synthetic_processing: str | None = None

    #: Salvus' names of the misfit functions.
    ALIASES = {"time_frequency_phase": "tf_phase", "time_frequency_phase_misfit": "tf_phase",
               "cross_correlation_time_shift": "cc_traveltime", "L2": "l2"}

    def __post_init__(self):
        name_string(self.name, "name")
        name_string(self.simulation_configuration, "simulation_configuration")
        parse_data_name(self.observed_data, "observed_data")
        if isinstance(self.misfit_function, str) and self.misfit_function in self.ALIASES:
            object.__setattr__(self, "misfit_function", self.ALIASES[self.misfit_function])
        choice("misfit_function", self.misfit_function, [*available_misfits(), *self.ALIASES])
        choice("receiver_field", self.receiver_field, ["displacement"])
        choice("synthetic_processing", self.synthetic_processing, list(SYNTHETIC_PROCESSING))
        if self.data_selection_configuration is not None:
            name_string(self.data_selection_configuration, "data_selection_configuration")
            if self.windows == WindowPicking():  # the default rule gives way to the picked windows
                object.__setattr__(self, "windows", None)
            elif self.windows is not None:
                raise ValueError("Give either 'windows' (a window picking rule) or 'data_selection_configuration' "
                                 "(windows picked on the data), not both.")
        lo = positive("min_period_in_seconds", self.min_period_in_seconds)
        hi = positive("max_period_in_seconds", self.max_period_in_seconds)
        if not hi > lo:
            raise ValueError(f"The 'max_period_in_seconds' parameter must exceed the minimum period {lo!r}, but {hi!r} was given.")
        if self.windows is not None and not isinstance(self.windows, WindowPicking):
            raise TypeError(
                f"The 'windows' parameter must be a sn.WindowPicking or None (whole traces), but {self.windows!r} was given."
            )
        options = mapping_of("misfit_options", self.misfit_options)
        # The misfit modules list their options (DEFAULTS, REQUIRED); an unknown one would
        # otherwise fail in every simulation job, after the simulations ran.
        module = inspect.getmodule(misfit_by_name(self.misfit_function))
        valid = [*getattr(module, "REQUIRED", ()), *getattr(module, "DEFAULTS", {})]
        unknown = [k for k in options if k not in valid]
        if valid and unknown:
            raise ValueError(
                f"The 'misfit_options' parameter has option(s) {unknown} that the {self.misfit_function!r} misfit does "
                f"not take; valid options are {valid}."
            )
        object.__setattr__(self, "misfit_options", options)

    def to_dict(self):
        # Part 3's fields only when given: a configuration without them keeps its JSON.
        out = super().to_dict()
        for key, default in (("receiver_field", "displacement"), ("data_selection_configuration", None),
                             ("synthetic_processing", None)):
            if out.get(key) == default:
                out.pop(key)
        return out
