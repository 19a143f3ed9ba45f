"""The workshop example: 2D map-view membrane waves across Europe at 70-120 s, offline.

Recipe (deterministic, seeded):

* domain: azimuthal equidistant map view centred on Europe, sized to hold the events
  and stations plus the absorbing sponge;
* events: the seed tutorial's three (Crete, Iceland region, Strait of Gibraltar) and,
  for ``size="full"``, three more Aegean / Ionian events (real facts, ``data/``);
* stations: real broadband stations inside the domain (>= 40 for ``size="full"``);
* a hidden true phase-velocity map: the smooth prior (4000 m/s) plus Gaussian anomalies
  at plausible places (fast East European Craton, slow Pannonian basin, slow western
  Mediterranean, slow Aegean), stored as the grid model ``true_model``;
* observed data: the engine's synthetics in the true model, plus 2 % band-limited noise,
  stored as MiniSEED per event;
* ``initial_model_70_120_seconds`` (simulation configuration on the constant prior) and
  ``tf_phase_misfit_70_120_seconds`` (time-frequency phase misfit, windows around the
  surface waves).

The seed's Part 4 then runs with ``inversion_parameters=["VS"]`` and 2D smoothing lengths.

The project is built by :func:`._build.build_example`: a build that was interrupted (a
killed kernel) is finished by the same call, every step keeping what is already there.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import xarray as xr

import engine

from ..config import (
    ConstantModel, Event, EventCollection, GridModel, MapViewDomain, MisfitConfiguration, SimulationConfiguration,
    Station, WindowPicking,
)
from ..project import Project
from ._build import add_grid_model_once, add_noisy_observed, build_example, events_from_facts

__all__ = ["workshop_2d", "SEED_EVENTS", "TRUE_ANOMALIES"]

DATA = Path(__file__).parent / "data"
SEED_EVENTS = [
    "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07",
    "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26",
    "event_STRAIT_OF_GIBRALTAR_Mag_6.38_2016-01-25-04-22",
]
EXTRA_EVENTS = [
    "event_GREECE_Mag_6.54_2015-11-17-07-10",
    "event_AEGEAN_SEA_Mag_6.39_2017-06-12-12-28",
    "event_TURKEY_Mag_5.93_2011-05-19-20-15",
]
PRIOR_VS, RHO = 4000.0, 3300.0
# (latitude, longitude, radius in km, relative amplitude, what it stands for)
TRUE_ANOMALIES = [
    (54.0, 30.0, 600.0, +0.05, "East European Craton (fast)"),
    (47.0, 19.5, 350.0, -0.05, "Pannonian basin (slow)"),
    (40.0, 3.0, 450.0, -0.04, "western Mediterranean (slow)"),
    (38.5, 24.0, 300.0, -0.04, "Aegean back-arc (slow)"),
    (50.0, 5.0, 400.0, +0.03, "Variscan western Europe (fast)"),
]
MIN_PERIOD, MAX_PERIOD, END_TIME = 70.0, 120.0, 1200.0
SIMULATION = "initial_model_70_120_seconds"
MISFIT = "tf_phase_misfit_70_120_seconds"


def workshop_2d(path, size: str = "full", load_if_exists: bool = True, noise: float = 0.02, seed: int = 42,
                lock_timeout_in_seconds: float = 0.0) -> Project:
    """Create (or open) the workshop project at ``path``.

    ``size="full"``: 6 events, every station of the fact sheet inside the domain (>= 40);
    ``size="small"``: the seed's 3 events, 24 stations, a coarser mesh (for tests and CI).
    ``noise`` is the relative level of the band-limited noise added to the observed data,
    ``seed`` seeds it. A project built with other ``size``, ``noise`` or ``seed`` is refused.

    If an earlier build at ``path`` was interrupted, this call finishes it. While another
    process builds it, this one waits up to ``lock_timeout_in_seconds`` (s), or is told
    so; the same timeout applies to opening an existing project that another process
    holds (see :class:`~fwi_widgets.project.Project`).
    """
    if size not in ("full", "small"):
        raise ValueError(f"The 'size' parameter must be 'full' or 'small', but {size!r} was given.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) or not noise >= 0:
        raise ValueError(f"The 'noise' parameter must be a number >= 0, but {noise!r} was given.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"The 'seed' parameter must be an integer, but {seed!r} was given.")
    noise, seed = float(noise), int(seed)
    domain = MapViewDomain(center_latitude=49.0, center_longitude=8.0, width_in_meters=7.6e6, height_in_meters=6.4e6)
    return build_example(
        path, example="workshop_2d", arguments={"size": size, "noise": noise, "seed": seed}, domain=domain,
        recipe=lambda p: _recipe(p, domain, size, noise, seed), load_if_exists=load_if_exists,
        lock_timeout_in_seconds=lock_timeout_in_seconds,
    )


def _recipe(p: Project, domain: MapViewDomain, size: str, noise: float, seed: int) -> None:
    """Everything but the domain; each step keeps what an interrupted run left intact."""
    events = _events(SEED_EVENTS + (EXTRA_EVENTS if size == "full" else []))
    stations = _stations(domain, margin=900e3, limit=None if size == "full" else 24)
    p += EventCollection(events=events, stations=stations)
    p += ConstantModel(name="prior", values={"VS": PRIOR_VS, "RHO": RHO})
    add_grid_model_once(p, GridModel(name="true_model", data=true_model(domain)))
    epw = 1.5 if size == "full" else 1.1
    for name, model in ((SIMULATION, "prior"), ("true_model_70_120_seconds", "true_model")):
        p += SimulationConfiguration(
            name=name, model=model, physics="membrane", min_period_in_seconds=MIN_PERIOD,
            max_period_in_seconds=MAX_PERIOD, end_time_in_seconds=END_TIME, elements_per_wavelength=epw,
            sponge_width_in_wavelengths=1.5,
        )
    _synthesise_observed(p, domain, noise, seed)
    p += MisfitConfiguration(
        name=MISFIT, simulation_configuration=SIMULATION, min_period_in_seconds=MIN_PERIOD,
        max_period_in_seconds=MAX_PERIOD, misfit_function="tf_phase",
        windows=WindowPicking(min_velocity_in_m_per_s=3300.0, max_velocity_in_m_per_s=4800.0, padding_in_seconds=120.0),
    )


def _events(names: list[str]) -> list[Event]:
    return events_from_facts(names, DATA / "events.json")


def _stations(domain: MapViewDomain, margin: float, limit: int | None) -> list[Station]:
    rows = list(csv.DictReader((DATA / "stations.csv").open()))
    chosen = []
    for r in rows:
        st = Station(network=r["network"], station=r["station"], latitude=float(r["latitude"]),
                     longitude=float(r["longitude"]), elevation_in_m=float(r["elevation_m"]))
        x, y = domain.position(st)
        if domain.contains(x, y, margin=margin):
            chosen.append(st)
    if limit is not None and len(chosen) > limit:
        # An even spread: take every k-th station in a west-to-east order.
        chosen.sort(key=lambda s: (s.longitude, s.latitude))
        idx = np.linspace(0, len(chosen) - 1, limit).round().astype(int)
        chosen = [chosen[i] for i in idx]
    return chosen


def true_model(domain: MapViewDomain, spacing: float = 50e3) -> xr.Dataset:
    """The hidden true phase-velocity map on a regular grid of the domain (metres)."""
    (x0, x1), (y0, y1) = domain.extent
    x = np.arange(x0, x1 + spacing, spacing)
    y = np.arange(y0, y1 + spacing, spacing)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    vs = np.full(xx.shape, PRIOR_VS)
    for lat, lon, radius, amp, _ in TRUE_ANOMALIES:
        cx, cy = domain.to_xy(lat, lon)
        vs += PRIOR_VS * amp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * (radius * 1e3) ** 2))
    return xr.Dataset({"VS": (("x", "y"), vs), "RHO": (("x", "y"), np.full(xx.shape, RHO))}, coords={"x": x, "y": y})


def _synthesise_observed(p: Project, domain, noise: float, seed: int) -> None:
    from ..workflow import discretisation as disc

    sim_cfg = p.simulation_configuration("true_model_70_120_seconds")
    prior_d = disc.discretisation(p, p.simulation_configuration(SIMULATION))
    true = disc.model_from_values(prior_d.mesh, p.model_dataset("true_model"))
    receivers = disc.receivers_for(p)

    def simulate(name):
        source, _ = disc.source_for(p, name, prior_d.physics, sim_cfg)
        return engine.simulate(prior_d.mesh, true, [source], receivers, end_time=END_TIME, physics=prior_d.physics,
                               dt=prior_d.dt, sponge_width=prior_d.sponge_width).seismograms

    add_noisy_observed(p, simulate, noise, seed, (MIN_PERIOD, MAX_PERIOD))


def data_coverage(p: Project, events: list[str], width: float = 250e3) -> np.ndarray:
    """Per-point mask of where the data see the model: within ``width`` of a straight
    event-station path (in the projected plane), for the given events."""
    from ..workflow import discretisation as disc

    d = disc.discretisation(p, p.simulation_configuration(SIMULATION))
    pts = d.mesh.coordinates.reshape(-1, 2)
    stations = np.array([p.domain.position(s) for s in p.events.stations()])
    covered = np.zeros(len(pts), dtype=bool)
    for name in events:
        a = np.array(p.domain.position(p.events.get(name)))
        for b in stations:
            ab = b - a
            t = np.clip(((pts - a) @ ab) / (ab @ ab), 0.0, 1.0)
            covered |= np.hypot(*(pts - a - t[:, None] * ab).T) < width
    return covered.reshape(d.mesh.point_shape)


def recovery_correlation(p: Project, problem: str, iteration: int | None = None) -> float:
    """Correlation of the recovered VS anomaly (model - prior) with the true one, where
    the data see the model (:func:`data_coverage`)."""
    from ..workflow import discretisation as disc

    it = p.inversions.get_iteration(problem, iteration)
    d = disc.discretisation(p, p.simulation_configuration(SIMULATION))
    true = disc.model_from_values(d.mesh, p.model_dataset("true_model"))["vs"] - PRIOR_VS
    recovered = it.model()["vs"] - PRIOR_VS
    mask = data_coverage(p, it.config.events)
    return float(np.corrcoef(recovered[mask], true[mask])[0, 1])
