"""What the views plot, read from the project on disk as plain numpy / xarray.

Views never import the engine (a test checks ``sys.modules``); this module may, but
only inside its functions, so importing it from a view costs nothing. Nothing here
runs a simulation: it reads files the jobs wrote (models, ``gradient.nc``,
``synthetics.nc``, ``adjoint_source.nc``, ``result.json``, the preconditioned
gradient) and samples per-point arrays on a regular map grid for display.

>>> maps = model_maps(p, "inv_70_120_seconds", iteration=1)  # doctest: +SKIP
>>> maps["update"].dims  # doctest: +SKIP
('x', 'y')
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field as dataclass_field

import numpy as np
import xarray as xr

__all__ = ["DEFAULT_DEPTH_IN_METERS", "GRADIENT_KINDS", "Traces", "gradient_events", "gradient_map", "grid_shape",
           "is_chunk", "latest_with_gradients", "map_shape", "model_maps", "sample_map", "sample_on_grid", "waveforms"]

#: How a gradient map is obtained, by name (the view's toggle offers these).
GRADIENT_KINDS = {
    "raw": "the sum (or one event) of the gradients the adjoint jobs wrote, per model parameter (gradient.nc)",
    "preconditioned": "the smoothed gradient in the inversion's scaled space (gradient_preconditioned.npy); "
                      "the preconditioner acts on the sum only",
    "cutout": "the cutout mask each event's raw gradient is multiplied by (0 within the source and receiver radii, "
              "1 far away); for the sum, the product over the events",
}
_TASK = "misfit_and_gradient"


def grid_shape(bounds, points: int = 120) -> tuple[int, int]:
    """Points per axis of a plot grid with ``points`` along the longer side.

    Parameters
    ----------
    bounds : array_like, shape (2, 2)
        ``[[x_min, x_max], [y_min, y_max]]`` in metres.
    points : int
        Points along the longer side (>= 2).
    """
    if not points >= 2:
        raise ValueError(f"The 'points' parameter must be at least 2, but {points!r} was given.")
    extent = np.diff(np.asarray(bounds, dtype=float), axis=1).ravel()
    # Square-ish cells, so a map does not look stretched.
    return tuple(max(2, int(round(points * e / extent.max()))) for e in extent)


@functools.lru_cache(maxsize=4)
def _interpolator(mesh, shape: tuple[int, ...]):
    # Locating ~15,000 points in the mesh is the expensive part (~0.1 s): done once per
    # mesh and grid, then every field is a weighted sum.
    lo, hi = mesh.bounds.T
    axes = [np.linspace(a, b, n) for a, b, n in zip(lo, hi, shape)]
    grids = np.meshgrid(*axes, indexing="ij")
    elements, weights = mesh.interpolation_matrix(np.stack([g.ravel() for g in grids], axis=1))
    return axes, elements, weights


def sample_on_grid(mesh, field: np.ndarray, shape: tuple[int, int], name: str = "value") -> xr.DataArray:
    """Sample a per-point field (any sign: models, gradients) on a regular grid.

    Exact GLL interpolation, as ``engine.Model.to_xarray`` does; that method is not used
    here because models refuse negative values, which gradients and updates have.

    Parameters
    ----------
    mesh : engine.mesh.Mesh
        A 2D mesh.
    field : numpy.ndarray, shape mesh.point_shape, e.g. (n_elements, N+1, N+1)
        Values on every element's GLL points.
    shape : tuple of int
        Grid points per axis.
    name : str
        Name of the returned array.

    Returns
    -------
    xarray.DataArray
        dims ``mesh.axis_names`` (metres), shaped ``shape``; NaN outside the mesh.
    """
    field = np.asarray(field, dtype=float)
    if field.shape != tuple(mesh.point_shape):
        raise ValueError(f"The 'field' parameter must be shaped {tuple(mesh.point_shape)}, but {field.shape} was given.")
    axes, elements, weights = _interpolator(mesh, tuple(int(n) for n in shape))
    values = np.einsum("pji,pji->p", weights, field[np.maximum(elements, 0)])
    values[elements < 0] = np.nan
    names = tuple(mesh.axis_names)
    return xr.DataArray(values.reshape(shape), dims=names, name=name,
                        coords={n: (n, a, {"units": "m"}) for n, a in zip(names, axes)})


#: Depth (m) of the map slices of a 3D (spherical-chunk) model or gradient unless a view asks
#: for another: 100 km, in the upper mantle where 70-120 s surface waves see the Earth.
DEFAULT_DEPTH_IN_METERS = 100e3


def is_chunk(mesh) -> bool:
    """Whether maps of this mesh are depth slices on (longitude, latitude) (a 3D chunk)."""
    return getattr(mesh, "chunk", None) is not None


def prior_mesh(project, problem: str):
    """The mesh of an inverse problem (its prior's; cached with the discretisation)."""
    return _prior(project, problem).mesh


def depth_range_km(mesh) -> tuple[float, float]:
    """(top, bottom) depth of a chunk in km."""
    from engine.sampling import chunk_bounds

    top, bottom = chunk_bounds(mesh)["depth"]
    return top / 1e3, bottom / 1e3


def map_shape(mesh, points: int = 120) -> tuple[int, int]:
    """Grid points per map axis: (x, y) of a 2D mesh; (longitude, latitude) of a chunk,
    with ``points`` along the longer side in degrees of arc at the chunk's centre."""
    if not is_chunk(mesh):
        return grid_shape(mesh.bounds, points)
    from engine.sampling import chunk_bounds

    b = chunk_bounds(mesh)
    squeeze = np.cos(np.radians(mesh.chunk.lat_center))  # a degree of longitude is shorter
    extent = np.array([np.diff(b["longitude"])[0] * squeeze, np.diff(b["latitude"])[0]])
    return tuple(max(2, int(round(points * e / extent.max()))) for e in extent)


@functools.lru_cache(maxsize=8)
def _slice_sampler(mesh, shape: tuple[int, int], depth: float):
    """(longitudes, latitudes, sampler) of a depth slice; locating the points is the
    expensive part, done once per mesh, grid and depth."""
    from engine.geographic import geographic_to_cartesian
    from engine.sampling import Sampler, chunk_bounds

    b = chunk_bounds(mesh)
    lon = np.linspace(*b["longitude"], shape[0])
    lat = np.linspace(*b["latitude"], shape[1])
    lo, la = np.meshgrid(lon, lat, indexing="ij")
    return lon, lat, Sampler(mesh, geographic_to_cartesian(la.ravel(), lo.ravel(), depth))


def sample_map(mesh, field: np.ndarray, shape: tuple[int, int], name: str = "value",
               depth_in_meters: float | None = None) -> xr.DataArray:
    """A per-point field on the map grid: :func:`sample_on_grid` on a 2D mesh; on a chunk a
    depth slice (default :data:`DEFAULT_DEPTH_IN_METERS`) with dims (longitude, latitude),
    geocentric degrees as the engine's sphere has them, NaN outside the chunk."""
    if not is_chunk(mesh):
        return sample_on_grid(mesh, field, shape, name=name)
    depth = float(DEFAULT_DEPTH_IN_METERS if depth_in_meters is None else depth_in_meters)
    lon, lat, sampler = _slice_sampler(mesh, tuple(int(n) for n in shape), depth)
    values = sampler(np.asarray(field, dtype=float)).reshape(len(lon), len(lat))
    return xr.DataArray(values, dims=("longitude", "latitude"), name=name,
                        coords={"longitude": ("longitude", lon, {"units": "degrees_east"}),
                                "latitude": ("latitude", lat, {"units": "degrees_north"}), "depth": depth})


# --- models ------------------------------------------------------------------------------------
def _prior(project, problem: str):
    from .workflow import discretisation as disc

    config = project.inverse_problem_configuration(problem)
    return disc.discretisation(project, project.simulation_configuration(config.prior_model)).prior


def _engine_name(parameter: str) -> str:
    from .config._base import PARAMETER_NAMES

    if parameter not in PARAMETER_NAMES:
        raise ValueError(f"Unknown model parameter {parameter!r}; valid names are {sorted(PARAMETER_NAMES)}.")
    return PARAMETER_NAMES[parameter]


def model_maps(project, problem: str, iteration: int, parameter: str = "VS", points: int = 120,
               true_model: str | None = "true_model", depth_in_meters: float | None = None) -> xr.Dataset:
    """The model of an iteration, the prior, the update and the true model on one grid.

    Parameters
    ----------
    project : fwi_widgets.project.Project
    problem : str
        Inverse problem name.
    iteration : int
        Iteration number (its own model, ``model.nc``).
    parameter : str
        Upper-case parameter name ("VS").
    points : int
        Grid points along the longer side.
    true_model : str or None
        A registered grid model to compare with (the workshop's hidden Earth); NaN when
        None or not registered.

    Returns
    -------
    xarray.Dataset
        Variables ``current``, ``prior``, ``update`` (current - prior) and ``true``
        (m/s for velocities), dims ("x", "y") in metres.
    """
    name = _engine_name(parameter)
    current = project.inversions.get_iteration(problem, iteration).model()
    prior = _prior(project, problem)
    mesh = current.mesh
    shape = map_shape(mesh, points)
    out = xr.Dataset({
        "current": sample_map(mesh, current[name], shape, depth_in_meters=depth_in_meters),
        "prior": sample_map(mesh, prior[name], shape, depth_in_meters=depth_in_meters),
        "update": sample_map(mesh, current[name] - prior[name], shape, depth_in_meters=depth_in_meters),
    })
    true = xr.full_like(out["current"], np.nan)
    if true_model is not None and true_model in project.list_configurations("models"):
        values = project.model_dataset(true_model)
        if isinstance(values, dict):
            true = xr.full_like(out["current"], float(values[parameter]))
        elif is_chunk(mesh):
            true = _true_slice(project.model_configuration(true_model), values, parameter, out["prior"])
        elif parameter in values:
            true = values[parameter].interp({d: out[d] for d in out["current"].dims})
    out["true"] = true.transpose(*out["current"].dims)
    return out


#: A relative grid's variable that perturbs a transversely isotropic parameter (VP moves VPV and VPH alike).
_ISOTROPIC_OF = {"VPV": "VP", "VPH": "VP", "VSV": "VS", "VSH": "VS"}


def _true_slice(config, grid: xr.Dataset, parameter: str, prior: xr.DataArray) -> xr.DataArray:
    """The true model on a depth slice of a chunk: the prior's slice scaled by a relative
    grid (``kind="relative"``, geographic latitudes) or the grid's values (absolute);
    NaN where the grid has neither the parameter nor the isotropic one it follows."""
    from engine.geographic import geocentric_to_geographic_latitude

    name = parameter if parameter in grid else _ISOTROPIC_OF.get(parameter)
    if name not in grid:
        return xr.full_like(prior, np.nan)
    latitude = geocentric_to_geographic_latitude(prior["latitude"].values)
    values = grid[name].interp(depth=float(prior["depth"]), latitude=xr.DataArray(latitude, dims="latitude"),
                               longitude=xr.DataArray(prior["longitude"].values, dims="longitude"))
    values = values.drop_vars([c for c in values.coords if c not in values.dims]).assign_coords(
        latitude=prior["latitude"].values, longitude=prior["longitude"].values)
    if getattr(config, "kind", "absolute") == "relative":
        return prior * (1.0 + values.fillna(0.0))
    return values.where(np.isfinite(values), prior)


# --- gradients ---------------------------------------------------------------------------------
def _gradient_jobs(project, problem: str, iteration: int) -> dict[str, object]:
    """{event: job folder path} of the iteration's finished gradient jobs."""
    from .project import store

    record = store.read_json(project.paths.record(problem, iteration))
    jobs = record.get("tasks", {}).get(_TASK, {}).get("jobs", {})
    return {event: project.paths.job(problem, iteration, job["folder"]) for event, job in jobs.items()
            if project.paths.job_result(problem, iteration, job["folder"]).exists()}


def gradient_events(project, problem: str, iteration: int) -> list[str]:
    """Events whose gradient job of ``iteration`` has finished (sorted)."""
    return sorted(_gradient_jobs(project, problem, iteration))


def latest_with_gradients(project, problem: str, up_to: int | None) -> int | None:
    """The newest iteration <= ``up_to`` with at least one finished gradient job, or None."""
    if up_to is None:
        return None
    for number in sorted((n for n in project.paths.iterations(problem) if n <= up_to), reverse=True):
        if _gradient_jobs(project, problem, number):
            return number
    return None


def gradient_map(project, problem: str, iteration: int, event: str | None = None, kind: str = "raw",
                 parameter: str = "VS", points: int = 120, depth_in_meters: float | None = None,
                 events: list[str] | None = None) -> xr.DataArray | None:
    """A gradient of one iteration on the map grid.

    Parameters
    ----------
    project, problem, iteration
        As in :func:`model_maps`.
    event : str or None
        One event's gradient, or None for the sum over the finished events.
    kind : str
        A key of :data:`GRADIENT_KINDS`.
    parameter : str
        Upper-case parameter name.
    points : int
        Grid points along the longer side.
    depth_in_meters : float or None
        The depth of the slice on a 3D chunk (default :data:`DEFAULT_DEPTH_IN_METERS`).
    events : list of str or None
        Sum over these events only (default: every event with a finished gradient job).

    Returns
    -------
    xarray.DataArray or None
        dims ("x", "y") in 2D, ("longitude", "latitude") on a chunk; raw: misfit per (m/s)
        per unit volume, preconditioned: per unit of the scaled parameter. None when the
        files are not written yet.
    """
    from .project import store

    if kind not in GRADIENT_KINDS:
        raise ValueError(f"Unknown gradient kind {kind!r}; valid names are {sorted(GRADIENT_KINDS)}.")
    mesh = _prior(project, problem).mesh
    shape = map_shape(mesh, points)
    sample = functools.partial(sample_map, mesh, shape=shape, name="gradient", depth_in_meters=depth_in_meters)
    if kind == "preconditioned":
        if event is not None:
            raise ValueError(f"The preconditioned gradient exists for the sum over events only, but event {event!r} "
                             "was given; pass event=None.")
        path = project.paths.iteration_file(problem, iteration, "gradient_preconditioned.npy")
        if not path.exists():
            return None
        flat = np.load(path)
        n = int(np.prod(mesh.point_shape))
        config = project.inverse_problem_configuration(problem)
        params = list(config.mapping.inversion_parameters)
        if flat.size != n * len(params) or parameter not in params:
            raise ValueError(f"The preconditioned gradient holds {params} ({flat.size} values); parameter "
                             f"{parameter!r} cannot be read from it.")
        k = params.index(parameter)
        return sample(flat[k * n:(k + 1) * n].reshape(mesh.point_shape))
    if kind == "cutout":
        # The element polynomials overshoot where the taper bends inside an element (by up
        # to ~25 % on the small chunk's coarse elements): a mask is between 0 and 1.
        return sample(cutout_mask(project, problem, iteration, event, events)).clip(0.0, 1.0)
    folders = _gradient_jobs(project, problem, iteration)
    if events is not None:  # the sum over these events only
        folders = {e: f for e, f in folders.items() if e in events}
    chosen = list(folders) if event is None else [event]
    if event is not None and event not in folders:
        return None
    names = _physical_names(project, problem, parameter)
    total = np.zeros(mesh.point_shape)
    for e in chosen:
        gradient = store.read_netcdf(folders[e] / "gradient.nc")
        for name in names:
            total += gradient[name].values
    return sample(total) if chosen else None


def cutout_mask(project, problem: str, iteration: int, event: str | None = None,
                events: list[str] | None = None) -> np.ndarray:
    """Per-point cutout taper of ``event`` (its source and the stations), or the product
    over ``events`` (default: the inverse problem's), as the iteration applies it."""
    from .workflow import discretisation as disc
    from .workflow.iteration import Iteration

    pmap = Iteration.load(project, problem, iteration).parameter_map()
    receivers = disc.receiver_locations(disc.receivers_for(project))
    chosen = [event] if event is not None else list(events or project.inverse_problem_configuration(problem).events)
    mask = np.ones(pmap.prior.mesh.point_shape)
    for name in chosen:
        mask *= pmap.cutout(disc.event_location(project, name), receivers).reshape(mask.shape)
    return mask


def _physical_names(project, problem: str, parameter: str) -> list[str]:
    """The engine parameters whose raw gradients make that of ``parameter``: itself if the
    model has it, else those the inverse problem's mapping drives with it (VP -> vpv and
    vph: dJ/dVP = dJ/dvpv + dJ/dvph when both follow VP)."""
    from .config._base import PARAMETER_NAMES

    prior = _prior(project, problem)
    name = _engine_name(parameter)
    if name in prior:
        return [name]
    mapping = project.inverse_problem_configuration(problem).mapping
    driven = [PARAMETER_NAMES[k] for k, v in mapping.map_to_physical_parameters.items()
              if v == parameter and PARAMETER_NAMES[k] in prior]
    if not driven:
        raise ValueError(f"The prior model has no {parameter!r} and the mapping drives none of its parameters "
                         f"{list(prior)} with it; valid names are {sorted(k for k, v in PARAMETER_NAMES.items() if v in prior)}.")
    return driven


# --- waveforms ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Traces:
    """One station's traces for one event and iteration.

    Attributes
    ----------
    time : numpy.ndarray, shape (n_t,)
        Seconds after the event's origin time.
    components : tuple of str
    observed, synthetic, adjoint_source : numpy.ndarray, shape (n_components, n_t)
    windows : tuple of (float, float)
        Measurement windows (s); empty when the station has none.
    misfit : float or None
        The station's misfit for this event.
    """

    time: np.ndarray
    components: tuple
    observed: np.ndarray
    synthetic: np.ndarray
    adjoint_source: np.ndarray
    windows: tuple
    misfit: float | None
    windows_by_component: dict = dataclass_field(default_factory=dict)  # component -> windows measured on it


def waveforms(project, problem: str, iteration: int, event: str, station: str) -> Traces | None:
    """Observed, synthetic and adjoint traces of ``station`` for ``event`` at ``iteration``.

    Returns None when that event's gradient job of ``iteration`` has not finished.
    """
    from obspy import UTCDateTime

    from .project import store
    from .workflow import discretisation as disc
    from .workflow.jobs import observed_as_dataarray

    folder = _gradient_jobs(project, problem, iteration).get(event)
    if folder is None:
        return None
    synthetics = store.read_netcdf(folder / "synthetics.nc")["synthetic"]
    names = [str(r) for r in synthetics["receiver"].values]
    if station not in names:
        raise ValueError(f"Unknown station {station!r}; valid names are {names}.")
    adjoint = store.read_netcdf(folder / "adjoint_source.nc")["adjoint_source"]
    config = project.inverse_problem_configuration(problem)
    misfit_cfg = project.misfit_configuration(config.misfit_configuration)
    sim_cfg = project.simulation_configuration(config.prior_model)
    time_zero = disc.engine_time_zero(sim_cfg, UTCDateTime(project.events.get(event).origin_time))
    observed = observed_as_dataarray(project.observed_data(event, misfit_cfg.observed_data), synthetics, time_zero)
    components = tuple(str(c) for c in synthetics["component"].values)
    if misfit_cfg.data_selection_configuration is not None:  # picked per component
        from .workflow.jobs import picked_windows

        picked, _ = picked_windows(project, misfit_cfg, event, sim_cfg)
        by_component = {c: tuple(picked.get((station, c), ())) for c in components}
        station_windows = sorted({w for ws in by_component.values() for w in ws})
    else:
        windows = disc.windows_for(misfit_cfg, disc.event_location(project, event), disc.receivers_for(project),
                                   sim_cfg)
        station_windows = [(0.0, disc.record_length(sim_cfg))] if windows is None else windows.get(station, [])
        by_component = {c: tuple(station_windows) for c in components}
    result = store.read_json(folder / "result.json")
    return Traces(
        time=synthetics["time"].values.copy(),
        components=components,
        observed=observed.sel(receiver=station).values.copy(),
        synthetic=synthetics.sel(receiver=station).values.copy(),
        adjoint_source=adjoint.sel(receiver=station).values.copy(),
        windows=tuple((float(a), float(b)) for a, b in station_windows),
        misfit=result.get("per_station", {}).get(station),
        windows_by_component={c: tuple((float(a), float(b)) for a, b in ws) for c, ws in by_component.items()},
    )


@dataclass(frozen=True)
class WindowTraces:
    """What the windows view draws for one data selection: per event, the processed
    observed and synthetic traces of every station, and every picked window.

    Attributes
    ----------
    time : numpy.ndarray, shape (n_t,)
        Seconds after the event's origin time.
    receivers, components : tuple of str
    observed, synthetic : dict of str to numpy.ndarray, shape (n_receivers, n_components, n_t)
        Per event, as the misfit measures them.
    windows : dict of str to list of dict
        Per event, the picked windows (accepted and rejected, with reasons).
    """

    time: dict
    receivers: tuple
    components: tuple
    observed: dict
    synthetic: dict
    windows: dict


def window_traces(project, data_selection: str) -> WindowTraces:
    """Load and align the traces of every event of ``data_selection`` once, so that the
    windows view only indexes them."""
    from obspy import UTCDateTime

    from .workflow import discretisation as disc
    from .workflow.data_selection import processed_synthetics, synthetic_seismograms
    from .workflow.jobs import observed_as_dataarray

    selection = project.data_selection_configuration(data_selection)
    sim = project.simulation_configuration(selection.synthetic_data.partition(":")[2])
    kwargs = selection.window_picking_function_kwargs
    time, observed, synthetic = {}, {}, {}
    receivers = components = ()
    origin = -float(getattr(sim, "start_time", 0.0))
    for event in selection.windows:
        syn = processed_synthetics(synthetic_seismograms(project, sim, event), selection.synthetic_processing,
                                   kwargs["minimum_period_in_seconds"], kwargs["maximum_period_in_seconds"])
        time_zero = disc.engine_time_zero(sim, UTCDateTime(project.events.get(event).origin_time))
        obs = observed_as_dataarray(project.observed_data(event, selection.observed_data), syn, time_zero)
        time[event] = syn["time"].values - origin
        observed[event], synthetic[event] = obs.values, syn.values
        receivers = tuple(str(r) for r in syn["receiver"].values)
        components = tuple(str(c) for c in syn["component"].values)
    return WindowTraces(time=time, receivers=receivers, components=components, observed=observed,
                        synthetic=synthetic, windows={e: list(w) for e, w in selection.windows.items()})


def cross_section(project, problem: str, iteration: int, start, end, parameter: str = "VSV",
                  true_model: str | None = "true_model", n_points: int = 121, n_depths: int = 61) -> xr.Dataset:
    """The relative update (current / prior - 1) of ``parameter`` and the true model's
    anomaly (true / prior - 1) on the vertical section of a chunk under the great circle
    from ``start`` to ``end`` ((latitude, longitude), geocentric degrees).

    Returns a Dataset with ``update`` and ``true`` on dims ("distance", "depth")
    (distance in km along the surface from ``start``, depth in km), NaN outside the chunk
    (and ``true`` NaN without a true model).
    """
    import engine

    name = _engine_name(parameter)
    current = project.inversions.get_iteration(problem, iteration).model()
    prior = _prior(project, problem)
    mesh = current.mesh
    if not is_chunk(mesh):
        raise ValueError("A cross-section along a great circle needs a spherical chunk; this project's mesh is "
                         f"{mesh.ndim}D Cartesian.")
    section = engine.sampling.great_circle_section(mesh, {"current": current[name], "prior": prior[name]},
                                                   tuple(start), tuple(end), n_points=n_points, n_depths=n_depths)
    distance_km = section["distance"].values * np.pi / 180.0 * engine.earth.EARTH_RADIUS / 1e3
    coords = {"distance": ("distance", distance_km, {"units": "km"}),
              "depth": ("depth", section["depth"].values / 1e3, {"units": "km"})}
    update = (section["current"] / section["prior"] - 1.0).transpose("distance", "depth")
    out = xr.Dataset({"update": (("distance", "depth"), update.values)}, coords=coords)
    true = np.full(update.shape, np.nan)
    if true_model is not None and true_model in project.list_configurations("models"):
        config = project.model_configuration(true_model)
        grid = project.model_dataset(true_model)
        variable = parameter if parameter in grid else _ISOTROPIC_OF.get(parameter)
        if getattr(config, "kind", "absolute") == "relative" and variable in grid:
            from engine.geographic import geocentric_to_geographic_latitude

            lat = geocentric_to_geographic_latitude(section["latitude"].values)
            values = grid[variable].interp(depth=xr.DataArray(section["depth"].values, dims="depth"),
                                           latitude=xr.DataArray(lat, dims="distance"),
                                           longitude=xr.DataArray(section["longitude"].values, dims="distance"))
            true = values.fillna(0.0).transpose("distance", "depth").values
            true = np.where(np.isfinite(update.values), true, np.nan)
    out["true"] = (("distance", "depth"), true)
    out.attrs = {"start": list(map(float, start)), "end": list(map(float, end)), "parameter": parameter}
    return out
