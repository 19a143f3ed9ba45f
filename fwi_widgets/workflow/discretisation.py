"""From configurations to the engine's objects: mesh, model, sources, receivers, windows.

The mesh depends only on the domain, the simulation configuration and the PRIOR model
(its slowest velocity sets the element size), so every iteration of an inversion uses
the same mesh and models can be stored as per-point arrays. Results are cached per
process: jobs for several events reuse one mesh.

Two shapes of problem share this module. On a 2D domain (map view or box) the mesh is
a rectangle sized by the prior's slowest velocity and an event is a point force. On a
:class:`~fwi_widgets.config.domain.SphericalChunkDomain` the mesh is
:func:`engine.mesh.spherical_chunk` sized by the background Earth model's layers, the
prior is that model (``Model.from_earth``) with the configuration's volume models on
top, an event is its Global CMT moment tensor at an :class:`engine.Geographic`
hypocentre, and stations record Z, N and E at the surface.
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
from ..config.domain import SphericalChunkDomain
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
    if isinstance(domain, SphericalChunkDomain):
        return _chunk(domain, sim, model_values.value)
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


#: Side sets of the chunk that absorb (Stacey): all but the free surface "r1".
CHUNK_ABSORBING = ("r0", "t0", "t1", "p0", "p1")
#: The time step is this fraction of the prior's CFL bound, for every model an inversion visits.
CFL_FRACTION = 0.7


def _chunk(domain: SphericalChunkDomain, sim: SimulationConfiguration, volume_models: tuple) -> Discretisation:
    """The mesh, prior and time step of a spherical-chunk simulation.

    The background Earth model sets the element boundaries (its discontinuities) and
    sizes (``engine.mesh.spherical_chunk``: the slowest wave of each layer at the
    minimum period over ``elements_per_wavelength``); the prior is the background
    sampled per point with each volume model applied on top in the order given
    (``engine.Model.from_dataset``: "relative" grids scale the background, "absolute"
    ones replace it where they reach). The mesh does not follow the volume models, so
    a slow anomaly makes the mesh coarser than ``elements_per_wavelength`` there: keep
    anomalies to a few per cent, as in regional tomography.
    """
    earth = engine.earth.by_name(sim.background_model)
    mesh = engine.mesh.spherical_chunk(**domain.mesh_arguments(), max_depth_in_meters=sim.max_depth, model=earth,
                                       min_period_in_seconds=sim.min_period_in_seconds,
                                       elements_per_wavelength=sim.elements_per_wavelength, order=sim.tensor_order,
                                       absorbing=CHUNK_ABSORBING)
    prior = engine.Model.from_earth(mesh, earth)
    for name, kind, dataset in volume_models:
        prior = engine.Model.from_dataset(mesh, _engine_grid(dataset), background=prior, kind=kind)
    physics = sim.engine_physics
    sponge = sim.sponge_width_in_meters
    op = WaveOperator(mesh, prior, engine.physics.get(physics, 3), np.dtype(sim.precision).type, sponge_width=sponge)
    dt = CFL_FRACTION * op.stable_dt()
    n = int(np.ceil(record_length(sim) / dt))
    return Discretisation(mesh=mesh, prior=prior, physics=physics, dt=record_length(sim) / n, sponge_width=sponge)


def record_length(sim: SimulationConfiguration) -> float:
    """Seconds the engine simulates: from the configuration's start time (<= 0: before the
    origin, where a centred wavelet needs it, ``sim.start_time``) to its end time."""
    return float(sim.end_time - getattr(sim, "start_time", 0.0))


def engine_time_zero(sim: SimulationConfiguration, origin_time):
    """The absolute time of the engine's t = 0 (an obspy UTCDateTime): the event's origin
    time plus the configuration's start time. Observed traces are read on this axis."""
    return origin_time + float(getattr(sim, "start_time", 0.0))


def _engine_grid(dataset: xr.Dataset) -> xr.Dataset:
    """A project grid (upper-case names, geographic latitude) as the engine's (lower-case
    names, geocentric latitude: the sphere's own, see ``SphericalChunkDomain``)."""
    from engine.geographic import geographic_to_geocentric_latitude

    ds = dataset.rename({k: PARAMETER_NAMES[k] for k in dataset.data_vars})
    return ds.assign_coords(latitude=geographic_to_geocentric_latitude(ds["latitude"].values))


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

    if getattr(sim, "is_3d", False):
        volumes = tuple((name, *_volume_model(project, name)) for name in sim.volume_models)
        key = tuple((name, str(project.paths.grid_model(name).stat().st_mtime_ns)) for name in sim.volume_models)
        values, model_name = volumes, sim.background_model
    else:
        values, model_name = project.model_dataset(sim.model), sim.model
        key = (json.dumps(values, sort_keys=True) if isinstance(values, dict)
               else str(project.paths.grid_model(sim.model).stat().st_mtime_ns))
    return _cached(str(project.paths.root), json.dumps(project.domain.to_dict(), sort_keys=True),
                   json.dumps(sim.to_dict(), sort_keys=True), model_name, _Frozen(values, (model_name, key)))


def _volume_model(project, name: str) -> tuple[str, xr.Dataset]:
    """(kind, dataset) of a registered grid model used as a volume model: its
    ``GridModel.kind``, "relative" (perturbations) or "absolute" (values)."""
    return project.model_configuration(name).kind, project.model_dataset(name)


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


def event_location(project, event_name: str):
    """Where the engine puts an event: (x, z) in m on a 2D domain, an
    :class:`engine.Geographic` (geocentric latitude, longitude, depth) on a chunk."""
    return _engine_location(project.domain.position(project.events.get(event_name)), project.domain)


def _engine_location(position, domain):
    if isinstance(domain, SphericalChunkDomain):
        latitude, longitude, depth = position
        return engine.Geographic(latitude=latitude, longitude=longitude, depth_in_meters=depth)
    return tuple(position)


def source_for(project, event_name: str, physics: str, sim: SimulationConfiguration):
    """(engine source, its location) of an event: in 3D its Global CMT moment tensor
    (N m) with the configuration's wavelet; in 2D a point force scaled by the scalar
    moment (``SOURCE_SCALE``) with a step band-passed to the period band."""
    event = project.events.get(event_name)
    if isinstance(project.domain, SphericalChunkDomain):
        location = event_location(project, event_name)
        if not event.moment_tensor:
            raise ValueError(f"Event {event_name!r} has no moment tensor; a 3D simulation needs one (Mrr, Mtt, Mpp, "
                             "Mrt, Mrp, Mtp in N m, as Global CMT gives them).")
        wavelet = sim.wavelet
        stf = (wavelet.to_engine(delay=-sim.start_time) if wavelet is not None
               else engine.stf.filtered_heaviside(sim.min_period_in_seconds, sim.max_period_in_seconds))
        return engine.Source.moment_tensor(location, dict(event.moment_tensor), stf, name=event_name), location
    x, y = project.domain.position(event)
    stf = engine.stf.filtered_heaviside(sim.min_period_in_seconds, sim.max_period_in_seconds)
    amplitude = event.scalar_moment * SOURCE_SCALE
    if physics == "acoustic":
        return engine.Source.pressure((x, y), stf, name=event_name), (x, y)
    if physics == "sh":
        return engine.Source.point_force((x, y), amplitude, stf, name=event_name), (x, y)
    return engine.Source.point_force((x, y), (0.0, -amplitude), stf, name=event_name), (x, y)


def receivers_for(project) -> engine.Receivers:
    """Every station of the project, at its engine location (Z/N/E at the surface in 3D)."""
    stations = project.events.stations()
    locs = [_engine_location(project.domain.position(s), project.domain) for s in stations]
    return engine.Receivers(locs, names=[s.name for s in stations])


def receiver_locations(receivers: engine.Receivers) -> list:
    """The receivers' locations as they were given: ``engine.Geographic`` on a chunk (the
    engine keeps Cartesian points in ``receivers.locations``), (x, z) pairs in 2D."""
    return list(receivers.geographic) if receivers.geographic is not None else list(receivers.locations)


def distance(a, b) -> float:
    """Distance in m between a source and a receiver location: straight in 2D, along
    the surface (the epicentral great-circle arc at the Earth's radius) between two
    :class:`engine.Geographic` points, the distance surface waves travel."""
    if isinstance(a, engine.Geographic) and isinstance(b, engine.Geographic):
        from engine.geographic import geographic_to_cartesian

        u = geographic_to_cartesian(a.latitude, a.longitude, 0.0)
        v = geographic_to_cartesian(b.latitude, b.longitude, 0.0)
        angle = np.arctan2(np.linalg.norm(np.cross(u, v)), float(np.dot(u, v)))
        return float(angle * engine.earth.EARTH_RADIUS)
    return float(np.hypot(b[0] - a[0], b[-1] - a[-1]))


def windows_for(misfit: MisfitConfiguration, source_location, receivers: engine.Receivers,
                sim: SimulationConfiguration):
    """{receiver: [(t0, t1)]} from the window picking rule (None: whole traces), in the
    engine's time (seconds after ``engine_time_zero``): the rule's times after the origin
    minus the configuration's start time."""
    if misfit.windows is None:
        return None
    shift = -float(getattr(sim, "start_time", 0.0))
    out = {}
    for name, loc in zip(receivers.names, receiver_locations(receivers)):
        t0, t1 = misfit.windows.window(distance(source_location, loc), sim.end_time)
        t0, t1 = t0 + shift, t1 + shift
        if t1 - t0 >= misfit.min_period_in_seconds:
            out[name] = [(t0, t1)]
    return out


def model_to_dataset_from_arrays(arrays: dict) -> xr.Dataset:
    """Per-point arrays (e.g. gradients) as a Dataset, dims as ``Mesh.point_dims``
    (element, j, i in 2D; element, k, j, i in 3D)."""
    return xr.Dataset({p: (point_dims(np.ndim(a) - 1), np.asarray(a)) for p, a in arrays.items()})
