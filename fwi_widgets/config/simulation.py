"""Simulation and model configurations: physics, period band, resolution, absorbing boundaries."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.storage import sampling_interval_for

from ._base import Configuration, check_parameter_names, choice, integer, mapping_of, name_string, positive, register

__all__ = ["SimulationConfiguration", "ConstantModel", "GridModel", "PHYSICS"]

# Application physics -> engine physics. "membrane" is SH on a map-view domain (Tape et al. 2007).
PHYSICS = {"membrane": "sh", "sh": "sh", "acoustic": "acoustic", "elastic": "elastic"}


@register
@dataclass(frozen=True)
class ConstantModel(Configuration):
    """A homogeneous model, e.g. ``ConstantModel("prior", {"VS": 3900.0, "RHO": 3300.0})``."""

    name: str
    values: dict = field(default_factory=dict)

    def __post_init__(self):
        name_string(self.name, "name")
        values = mapping_of("values", self.values)
        if not values:
            raise ValueError("The 'values' parameter must give at least one parameter, e.g. {'VS': 3900.0, 'RHO': 3300.0}, "
                             "but {} was given.")
        check_parameter_names(values, "model parameter")
        object.__setattr__(self, "values", {k: positive(f"values[{k!r}]", v) for k, v in values.items()})


@register
@dataclass(frozen=True)
class GridModel(Configuration):
    """A model on a regular grid of the domain's coordinates (metres), stored in the
    project as NetCDF. ``data`` is an ``xarray.Dataset`` with upper-case variables
    (VS, RHO, ...) and dims named like the domain's axes ("x", "y" or "x", "z")."""

    name: str
    data: object = None

    def __post_init__(self):
        name_string(self.name, "name")
        if self.data is not None:
            import xarray as xr

            if not isinstance(self.data, xr.Dataset):
                raise TypeError(f"The 'data' parameter must be an xarray.Dataset or None, but a "
                                f"{type(self.data).__name__} was given.")
            if not self.data.data_vars:
                raise ValueError("The 'data' parameter must hold at least one variable (VS, RHO, ...), but an empty "
                                 "Dataset was given.")
            check_parameter_names(list(self.data.data_vars), "model parameter")
            for k in self.data.data_vars:
                values = np.asarray(self.data[k].values)
                if not np.all(np.isfinite(values)) or np.any(values <= 0):
                    raise ValueError(f"The {k!r} values of model {self.name!r} must be positive and finite.")

    def to_dict(self):
        return {"type": "GridModel", "name": self.name}


@register
@dataclass(frozen=True)
class SimulationConfiguration(Configuration):
    """How to simulate: physics, the period band the mesh must resolve, resolution,
    duration, absorbing boundaries, and the model (a registered model's name).

    The element size is ``v_min * min_period / elements_per_wavelength`` with ``v_min``
    the slowest velocity of the model; the source time function is a step band-passed
    to the period band (``engine.stf.filtered_heaviside``).

    ``forward_wavefield_sampling_interval`` s > 1 keeps the forward wavefield of gradient
    runs every s-th time step only (``engine.StoragePolicy(mode="decimated")``): s times
    less memory and a cheaper adjoint, for a gradient that is no longer exact but close
    while s dt stays below ~1/8 of the minimum period (relative error ~1e-5 at 35 steps
    per period and s = 4; ~1e-4 (VS) to 1e-3 (RHO) at s dt ~ T/5; see ``engine.adjoint``).
    1 (default) is the exact gradient; ``"auto"`` takes the largest s within that
    guideline for the mesh's time step (``engine.storage.sampling_interval_for``), which
    is 1 (exact) where the time step is already coarse.
    """

    name: str
    model: str
    min_period_in_seconds: float
    max_period_in_seconds: float
    end_time_in_seconds: float
    physics: str = "membrane"
    elements_per_wavelength: float = 1.5
    tensor_order: int = 4
    absorbing_sides: tuple = ("left", "right", "bottom", "top")
    sponge_width_in_wavelengths: float = 1.0
    precision: str = "float64"
    forward_wavefield_sampling_interval: int | str = 1

    def __post_init__(self):
        name_string(self.name, "name")
        name_string(self.model, "model")
        choice("physics", self.physics, list(PHYSICS))
        lo = positive("min_period_in_seconds", self.min_period_in_seconds)
        hi = positive("max_period_in_seconds", self.max_period_in_seconds)
        if not hi > lo:
            raise ValueError(f"The 'max_period_in_seconds' parameter must exceed the minimum period {lo!r}, but {hi!r} was given.")
        positive("end_time_in_seconds", self.end_time_in_seconds)
        epw = positive("elements_per_wavelength", self.elements_per_wavelength)
        if epw < 0.5:
            raise ValueError(
                f"The 'elements_per_wavelength' parameter must be at least 0.5 (order-4 elements need >= ~5 points per "
                f"wavelength to resolve the minimum period), but {epw!r} was given."
            )
        object.__setattr__(self, "tensor_order", integer("tensor_order", self.tensor_order, minimum=1, maximum=8))
        if not isinstance(self.absorbing_sides, (list, tuple)):
            raise TypeError(f"The 'absorbing_sides' parameter must be a list of sides, e.g. ['left', 'right', 'bottom'], "
                            f"but {self.absorbing_sides!r} was given.")
        object.__setattr__(self, "absorbing_sides", tuple(self.absorbing_sides))
        for s in self.absorbing_sides:
            choice("absorbing_sides", s, ["left", "right", "bottom", "top"])
        if len(set(self.absorbing_sides)) != len(self.absorbing_sides):
            raise ValueError(f"The 'absorbing_sides' parameter lists a side twice: {list(self.absorbing_sides)}.")
        positive("sponge_width_in_wavelengths", self.sponge_width_in_wavelengths, allow_zero=True)
        choice("precision", self.precision, ["float64", "float32"])
        interval = self.forward_wavefield_sampling_interval
        if interval != "auto":
            if isinstance(interval, (bool, np.bool_)) or not isinstance(interval, (int, np.integer, str)):
                raise TypeError(
                    f"The 'forward_wavefield_sampling_interval' parameter must be an int or 'auto', but {interval!r} was given."
                )
            if isinstance(interval, str) or interval < 1:
                raise ValueError(
                    f"The 'forward_wavefield_sampling_interval' parameter must be an integer >= 1 or 'auto' (1 keeps "
                    f"every time step for the exact gradient; 2-4 keep every 2nd-4th step; 'auto' the most the minimum "
                    f"period allows), but {interval!r} was given."
                )
            object.__setattr__(self, "forward_wavefield_sampling_interval", int(interval))

    def sampling_interval(self, dt: float) -> int:
        """The forward wavefield sampling interval for a time step ``dt`` ("auto" resolved)."""
        if self.forward_wavefield_sampling_interval == "auto":
            return sampling_interval_for(dt, self.min_period_in_seconds)
        return self.forward_wavefield_sampling_interval

    @property
    def engine_physics(self) -> str:
        return PHYSICS[self.physics]
