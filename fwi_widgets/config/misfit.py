"""Misfit configuration: how synthetics are compared with observed data."""
from __future__ import annotations

from dataclasses import dataclass, field

import inspect

from engine.misfit import available as available_misfits, by_name as misfit_by_name

from ._base import Configuration, choice, mapping_of, name_string, positive, register

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
    observed data named ``observed_data``, in windows (or whole traces)."""

    name: str
    simulation_configuration: str
    min_period_in_seconds: float
    max_period_in_seconds: float
    misfit_function: str = "tf_phase"
    observed_data: str = "observed"
    windows: WindowPicking | None = field(default_factory=WindowPicking)
    misfit_options: dict = field(default_factory=dict)

    def __post_init__(self):
        name_string(self.name, "name")
        name_string(self.simulation_configuration, "simulation_configuration")
        name_string(self.observed_data, "observed_data")
        choice("misfit_function", self.misfit_function, list(available_misfits()))
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
