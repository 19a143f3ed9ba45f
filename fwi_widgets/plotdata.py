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
from dataclasses import dataclass

import numpy as np
import xarray as xr

__all__ = ["GRADIENT_KINDS", "Traces", "gradient_events", "gradient_map", "grid_shape", "latest_with_gradients",
           "model_maps", "sample_on_grid", "waveforms"]

#: How a gradient map is obtained, by name (the view's toggle offers these).
GRADIENT_KINDS = {
    "raw": "the sum (or one event) of the gradients the adjoint jobs wrote, per model parameter (gradient.nc)",
    "preconditioned": "the smoothed gradient in the inversion's scaled space (gradient_preconditioned.npy); "
                      "the preconditioner acts on the sum only",
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
               true_model: str | None = "true_model") -> xr.Dataset:
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
    shape = grid_shape(mesh.bounds, points)
    out = xr.Dataset({
        "current": sample_on_grid(mesh, current[name], shape),
        "prior": sample_on_grid(mesh, prior[name], shape),
        "update": sample_on_grid(mesh, current[name] - prior[name], shape),
    })
    true = xr.full_like(out["current"], np.nan)
    if true_model is not None and true_model in project.list_configurations("models"):
        values = project.model_dataset(true_model)
        if isinstance(values, dict):
            true = xr.full_like(out["current"], float(values[parameter]))
        elif parameter in values:
            true = values[parameter].interp({d: out[d] for d in out["current"].dims})
    out["true"] = true.transpose(*out["current"].dims)
    return out


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
                 parameter: str = "VS", points: int = 120) -> xr.DataArray | None:
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

    Returns
    -------
    xarray.DataArray or None
        dims ("x", "y"); raw: misfit per (m/s) per unit volume, preconditioned: per unit of
        the scaled parameter. None when the files are not written yet.
    """
    from .project import store

    if kind not in GRADIENT_KINDS:
        raise ValueError(f"Unknown gradient kind {kind!r}; valid names are {sorted(GRADIENT_KINDS)}.")
    name = _engine_name(parameter)
    mesh = _prior(project, problem).mesh
    shape = grid_shape(mesh.bounds, points)
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
        return sample_on_grid(mesh, flat[k * n:(k + 1) * n].reshape(mesh.point_shape), shape, name="gradient")
    folders = _gradient_jobs(project, problem, iteration)
    chosen = list(folders) if event is None else [event]
    if event is not None and event not in folders:
        return None
    total = np.zeros(mesh.point_shape)
    for e in chosen:
        total += store.read_netcdf(folders[e] / "gradient.nc")[name].values
    return sample_on_grid(mesh, total, shape, name="gradient") if chosen else None


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
    origin = UTCDateTime(project.events.get(event).origin_time)
    observed = observed_as_dataarray(project.observed_data(event, misfit_cfg.observed_data), synthetics, origin)
    source_xy = project.domain.position(project.events.get(event))
    windows = disc.windows_for(misfit_cfg, source_xy, disc.receivers_for(project), sim_cfg.end_time_in_seconds)
    station_windows = [(0.0, sim_cfg.end_time_in_seconds)] if windows is None else windows.get(station, [])
    result = store.read_json(folder / "result.json")
    return Traces(
        time=synthetics["time"].values.copy(),
        components=tuple(str(c) for c in synthetics["component"].values),
        observed=observed.sel(receiver=station).values.copy(),
        synthetic=synthetics.sel(receiver=station).values.copy(),
        adjoint_source=adjoint.sel(receiver=station).values.copy(),
        windows=tuple((float(a), float(b)) for a, b in station_windows),
        misfit=result.get("per_station", {}).get(station),
    )
