"""From configurations to the engine's objects: mesh, model, sources, receivers, windows.

The mesh depends only on the domain, the simulation configuration and the PRIOR model
(its slowest velocity sets the element size), so every iteration of an inversion uses
the same mesh and models can be stored as per-point arrays. Results are cached per
process: jobs for several events reuse one mesh.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import xarray as xr

import engine
from engine.mesh.core import point_dims
from engine.operator import WaveOperator

from ..config import MapViewDomain
from ..config._base import PARAMETER_NAMES
from ..config.misfit import MisfitConfiguration
from ..config.simulation import SimulationConfiguration

__all__ = ["Discretisation", "discretisation", "model_to_dataset", "model_from_dataset"]

_VELOCITIES = ("VS", "VSV", "VSH", "VP", "VPV", "VPH")
SOURCE_SCALE = 1e-18  # point-force amplitude per N m of scalar moment (membrane waves are relative)


@dataclass(frozen=True, eq=False)
class Discretisation:
    mesh: engine.mesh.Mesh
    prior: engine.Model
    physics: str
    dt: float
    sponge_width: float


@functools.lru_cache(maxsize=8)
def _cached(project_root: str, domain_json: str, sim_json: str, model_key: str, model_values) -> Discretisation:
    import json

    from ..config import configuration_from_dict

    domain = configuration_from_dict(json.loads(domain_json))
    sim: SimulationConfiguration = configuration_from_dict(json.loads(sim_json))
    values = model_values.value
    v_min = _min_velocity(values)
    v_ref = _max_velocity(values)
    size = v_min * sim.min_period_in_seconds / sim.elements_per_wavelength
    (x0, x1), (z0, z1) = domain.extent
    absorbing = sim.absorbing_sides if isinstance(domain, MapViewDomain) else tuple(s for s in sim.absorbing_sides if s != "top")
    mesh = engine.mesh.rectangle(x=(x0, x1), z=(z0, z1), element_size=size, order=sim.tensor_order,
                                 absorbing=absorbing, axis_names=tuple(domain.axis_names))
    prior = model_from_values(mesh, values)
    physics = sim.engine_physics
    sponge = sim.sponge_width_in_wavelengths * v_ref * sim.max_period_in_seconds or None
    op = WaveOperator(mesh, prior, engine.physics.get(physics), np.dtype(sim.precision).type,
                                      sponge_width=sponge)
    # A time step stable for every model the inversion will visit: 70 % of the prior's CFL bound.
    dt = 0.7 * op.stable_dt()
    n = int(np.ceil(sim.end_time_in_seconds / dt))
    return Discretisation(mesh=mesh, prior=prior, physics=physics, dt=sim.end_time_in_seconds / n, sponge_width=sponge)


class _Frozen:
    """Hashable wrapper so model values can be a cache key (by identity of content)."""

    def __init__(self, value, key):
        self.value, self.key = value, key

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return self.key == other.key


def discretisation(project, sim: SimulationConfiguration) -> Discretisation:
    """The mesh, prior model and time step of a simulation configuration (cached)."""
    import json

    values = project.model_dataset(sim.model)
    key = json.dumps(values, sort_keys=True) if isinstance(values, dict) else str(project.paths.grid_model(sim.model).stat().st_mtime_ns)
    return _cached(str(project.paths.root), json.dumps(project.domain.to_dict(), sort_keys=True),
                   json.dumps(sim.to_dict(), sort_keys=True), sim.model, _Frozen(values, (sim.model, key)))


def _min_velocity(values) -> float:
    out = [float(np.min(_as_array(values[k]))) for k in _VELOCITIES if k in values and k.startswith("VS")]
    out = out or [float(np.min(_as_array(values[k]))) for k in _VELOCITIES if k in values]
    return min(out)


def _max_velocity(values) -> float:
    return max(float(np.max(_as_array(values[k]))) for k in _VELOCITIES if k in values)


def _as_array(v):
    return v.values if isinstance(v, xr.DataArray) else np.asarray(v)


def model_from_values(mesh, values) -> engine.Model:
    """An engine model from constants (dict) or a grid (xarray.Dataset, upper-case names)."""
    if isinstance(values, dict):
        return engine.Model(mesh, **{PARAMETER_NAMES[k]: float(v) for k, v in values.items()})
    return engine.Model(mesh, **{PARAMETER_NAMES[k]: values[k] for k in values.data_vars})


def model_to_dataset(model: engine.Model) -> xr.Dataset:
    """Per-point model arrays as a Dataset (dims element, j, i) for NetCDF."""
    return model_to_dataset_from_arrays({p: model[p] for p in model})


def model_from_dataset(mesh, ds: xr.Dataset) -> engine.Model:
    return engine.Model(mesh, **{p: ds[p].values for p in ds.data_vars})


def source_for(project, event_name: str, physics: str, sim: SimulationConfiguration):
    event = project.events.get(event_name)
    x, y = project.domain.position(event)
    stf = engine.stf.filtered_heaviside(sim.min_period_in_seconds, sim.max_period_in_seconds)
    amplitude = event.scalar_moment * SOURCE_SCALE
    if physics == "acoustic":
        return engine.Source.pressure((x, y), stf, name=event_name), (x, y)
    if physics == "sh":
        return engine.Source.point_force((x, y), amplitude, stf, name=event_name), (x, y)
    return engine.Source.point_force((x, y), (0.0, -amplitude), stf, name=event_name), (x, y)


def receivers_for(project) -> engine.Receivers:
    stations = project.events.stations()
    locs = [project.domain.position(s) for s in stations]
    return engine.Receivers(locs, names=[s.name for s in stations])


def windows_for(misfit: MisfitConfiguration, source_xy, receivers: engine.Receivers, end_time: float):
    """{receiver: [(t0, t1)]} from the window picking rule (None: whole traces)."""
    if misfit.windows is None:
        return None
    out = {}
    for name, loc in zip(receivers.names, receivers.locations):
        distance = float(np.hypot(loc[0] - source_xy[0], loc[1] - source_xy[1]))
        t0, t1 = misfit.windows.window(distance, end_time)
        if t1 - t0 >= misfit.min_period_in_seconds:
            out[name] = [(t0, t1)]
    return out


def model_to_dataset_from_arrays(arrays: dict) -> xr.Dataset:
    """Per-point arrays (e.g. gradients) as a Dataset, dims as ``Mesh.point_dims``
    (element, j, i in 2D; element, k, j, i in 3D)."""
    return xr.Dataset({p: (point_dims(np.ndim(a) - 1), np.asarray(a)) for p, a in arrays.items()})
