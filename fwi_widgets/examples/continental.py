"""The continental example: Europe at 70-120 s in a spherical chunk of the Earth, offline.

Recipe (deterministic, seeded), the problem of the continental-scale FWI tutorial:

* domain: a spherical chunk centred at 52 N 4 E, 40 degrees north-south by 46 degrees
  east-west (great-circle sides), which holds the seed's three events (Crete, Iceland
  region, Strait of Gibraltar) with a margin from the absorbing sides;
* events: those three, with their Global CMT moment tensors (``data/events.json``: real
  origin times, centroids, depths and tensors; geographic latitudes, which the domain
  converts to geocentric for the engine);
* stations: real broadband stations inside the chunk (``data/stations.csv``), at least
  40 for ``size="full"``;
* a hidden true Earth: transversely isotropic PREM with one crust (``prem_ani_one_crust``)
  plus relative perturbations in the upper mantle (:data:`TRUE_ANOMALIES`: a fast craton
  in the north-east, slow Pannonian basin, Aegean and western Mediterranean, a few per
  cent, with VP following at half the relative VS change, and a radial-anisotropy
  contrast in which VSH and VSV differ), stored as the relative grid model ``true_model``
  on (depth, latitude, longitude);
* recordings (``EXTERNAL_DATA:raw_recording``): the engine's displacement (Z, N, E) in
  the true Earth on a finer mesh than the inversion's (no inverse crime), plus
  band-limited noise over the whole record, stored as MiniSEED per event; the events
  and stations as QuakeML and StationXML too (:func:`obspy_files`), for Part 1's cells;
* Part 3 as a user runs it: the recordings processed by :func:`process` (detrend, taper,
  the response removed where the StationXML has one, the 70-120 s band-pass) into
  ``PROCESSED_DATA:processed_70_120_seconds``; windows picked by the built-in picker on
  them against the prior model's synthetics (band-passed alike), kept as
  ``windows_70_120_seconds``;
* ``initial_model_70_120_seconds`` (PREM, no anomalies) and
  ``tf_phase_misfit_70_120_seconds`` (time-frequency phase misfit in the picked windows),
  the names the seed's Part 4 uses.

``size="small"`` is the same problem on a coarser mesh, shallower and shorter, with 12
stations (for tests and CI): the seed's cells run on it as written.

The project is built by :func:`._build.build_example`: a build that was interrupted (a
killed kernel) is finished by the same call, every step keeping what is already there.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr

import engine

from ..config import Event, EventCollection, GridModel, MisfitConfiguration, Station
from ..config.domain import SphericalChunkDomain
from ..project import Project
from ._build import add_grid_model_once, add_noisy_observed, build_example, events_from_facts

__all__ = ["continental_3d", "SEED_EVENTS", "TRUE_ANOMALIES", "DOMAIN", "SIZES"]

DATA = Path(__file__).parent / "data"
SEED_EVENTS = [
    "event_CRETE_GREECE_Mag_6.15_2015-04-16-18-07",
    "event_ICELAND_REGION_Mag_5.75_2020-06-20-19-26",
    "event_STRAIT_OF_GIBRALTAR_Mag_6.38_2016-01-25-04-22",
]
DOMAIN = SphericalChunkDomain(lat_center=52.0, lat_extent=40.0, lon_center=4.0, lon_extent=46.0)
BACKGROUND = "prem_ani_one_crust"
MIN_PERIOD, MAX_PERIOD = 70.0, 120.0
SIMULATION = "initial_model_70_120_seconds"
TRUE_SIMULATION = "true_model_70_120_seconds"
MISFIT = "tf_phase_misfit_70_120_seconds"
RAW_DATA = "EXTERNAL_DATA:raw_recording"
PROCESSING = "processed_70_120_seconds"
DATA_SELECTION = "windows_70_120_seconds"
#: The built-in picker's settings for this example: surface waves between 3.3 and 4.8 km/s.
PICKING = {"minimum_period_in_seconds": MIN_PERIOD, "maximum_period_in_seconds": MAX_PERIOD,
           "min_velocity_in_m_per_s": 3300.0, "max_velocity_in_m_per_s": 4800.0}
WINDOW_TAPER_WIDTH_IN_SECONDS = 30.0
TRUE_MODEL = "true_model"  # relative perturbations of the background (its kind says so)

#: (latitude, longitude, lateral radius km, top km, bottom km, dln VSV, dln VSH, what it stands for).
#: Relative perturbations of the background, Gaussian laterally (radius = 1 sigma along
#: the surface) and a cosine taper in depth between top and bottom; VP follows at half
#: the mean relative S change (dln VP / dln VS ~ 0.5 in the upper mantle).
TRUE_ANOMALIES = [
    (56.0, 30.0, 600.0, 60.0, 300.0, +0.04, +0.04, "East European Craton (fast)"),
    (47.0, 19.5, 350.0, 40.0, 220.0, -0.04, -0.04, "Pannonian basin (slow)"),
    (38.5, 24.0, 300.0, 40.0, 220.0, -0.04, -0.035, "Aegean back-arc (slow)"),
    (40.0, 3.0, 400.0, 40.0, 220.0, -0.03, -0.03, "western Mediterranean (slow)"),
    (48.0, 2.0, 500.0, 60.0, 200.0, 0.0, +0.025, "radial anisotropy under western Europe (VSH > VSV)"),
]
VP_FROM_VS = 0.5


@dataclass(frozen=True)
class Size:
    """What differs between the full example and the small one for tests."""

    n_stations: int | None  # None: every station inside the chunk with the margin
    max_depth_in_meters: float
    end_time_in_seconds: float
    elements_per_wavelength: float  # the inversion's mesh
    true_elements_per_wavelength: float  # the observed data's finer mesh
    tensor_order: int


SIZES = {
    "full": Size(n_stations=None, max_depth_in_meters=1750e3, end_time_in_seconds=1200.0,
                 elements_per_wavelength=1.0, true_elements_per_wavelength=1.5, tensor_order=4),
    "small": Size(n_stations=12, max_depth_in_meters=500e3, end_time_in_seconds=900.0,
                  elements_per_wavelength=0.6, true_elements_per_wavelength=0.8, tensor_order=4),
}
#: Stations this far (degrees along the surface) from the chunk's sides are left out: the
#: absorbing boundaries are not perfect within about a wavelength of the sides.
STATION_MARGIN_DEGREES = 3.0


def continental_3d(path, size: str = "full", load_if_exists: bool = True, noise: float = 0.02, seed: int = 42,
                   lock_timeout_in_seconds: float = 0.0) -> Project:
    """Create (or open) the continental example project at ``path``.

    ``size="full"``: the seed's 3 events, every station of the fact sheet inside the chunk
    (>= 40), 1,750 km deep, 1,200 s; ``size="small"``: the same events, 12 stations, a
    coarser mesh 500 km deep and 900 s long (for tests and CI). ``noise`` is the relative
    level of the band-limited noise added to the observed data, ``seed`` seeds it. A
    project built with other ``size``, ``noise`` or ``seed`` is refused.

    If an earlier build at ``path`` was interrupted, this call finishes it. While another
    process builds it, this one waits up to ``lock_timeout_in_seconds`` (s), or is told so.
    """
    if size not in SIZES:
        raise ValueError(f"The 'size' parameter must be one of {list(SIZES)}, but {size!r} was given.")
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating, np.integer)) or not noise >= 0:
        raise ValueError(f"The 'noise' parameter must be a number >= 0, but {noise!r} was given.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"The 'seed' parameter must be an integer, but {seed!r} was given.")
    noise, seed = float(noise), int(seed)
    return build_example(
        path, example="continental_3d", arguments={"size": size, "noise": noise, "seed": seed}, domain=DOMAIN,
        recipe=lambda p: _recipe(p, SIZES[size], noise, seed), load_if_exists=load_if_exists,
        lock_timeout_in_seconds=lock_timeout_in_seconds,
    )


def simulation_configuration(name: str, size: Size, volume_models=(), elements_per_wavelength=None):
    """The tutorial's Part 2 call for this example (PREM with one crust, 70 s, the wavelet
    band-limited to 70-120 s so that data and synthetics need no further processing,
    float32 as SPECFEM3D_GLOBE and Salvus run by default)."""
    from .. import config as c

    return c.SimulationConfiguration(
        name=name, elements_per_wavelength=elements_per_wavelength or size.elements_per_wavelength,
        tensor_order=size.tensor_order, min_period_in_seconds=MIN_PERIOD, max_period_in_seconds=MAX_PERIOD,
        precision="float32",  # the production precision: 1.5x faster, gradients to ~1e-6
        max_depth_in_meters=size.max_depth_in_meters,
        model_configuration=c.ModelConfiguration(background_model=BACKGROUND, volume_models=list(volume_models)),
        event_configuration=c.EventConfiguration(
            wavelet=c.FilteredHeaviside(min_period_in_seconds=MIN_PERIOD, max_period_in_seconds=MAX_PERIOD),
            waveform_simulation_configuration=c.WaveformSimulationConfiguration(
                end_time_in_seconds=size.end_time_in_seconds)),
        absorbing_boundaries=c.AbsorbingBoundaryParameters(reference_velocity=3700.0, number_of_wavelengths=0.0,
                                                           reference_frequency=1.0 / MIN_PERIOD),
    )


def _recipe(p: Project, size: Size, noise: float, seed: int) -> None:
    """Everything but the domain; each step keeps what an interrupted run left intact."""
    events, stations = _events(SEED_EVENTS), _stations(DOMAIN, size.n_stations)
    _write_obspy_files(p, EventCollection(events=events, stations=stations))
    p += EventCollection(events=events, stations=stations)
    add_grid_model_once(p, GridModel(name=TRUE_MODEL, data=true_anomalies(DOMAIN, size.max_depth_in_meters),
                                     kind="relative"))
    p += simulation_configuration(SIMULATION, size)
    p += simulation_configuration(TRUE_SIMULATION, size, volume_models=[TRUE_MODEL],
                                  elements_per_wavelength=size.true_elements_per_wavelength)
    _synthesise_observed(p, size, noise, seed)
    part3(p)


def process(st, inv, receiver, sources):
    """Part 3's processing of a station's recordings of one event: displacement in the
    70-120 s band, with the causal Butterworth that ``synthetic_processing="bandpass"``
    applies to the synthetics (the example's recordings are displacement already; a
    user's recordings in counts have their response removed here)."""
    st.detrend("linear")
    st.detrend("demean")
    st.taper(max_percentage=0.02, type="hann")
    if any(ch.response is not None and ch.response.response_stages for net in inv for sta in net for ch in sta):
        st.remove_response(inventory=inv, output="DISP", water_level=60.0)
    st.filter("bandpass", freqmin=1.0 / MAX_PERIOD, freqmax=1.0 / MIN_PERIOD, corners=4, zerophase=False)
    return st


def part3(p: Project) -> None:
    """Part 3 of the tutorial on this example: processing, window picking, the misfit."""
    from ..config.processing import SeismologyProcessingConfiguration

    p += SeismologyProcessingConfiguration(name=PROCESSING, data_source_name=RAW_DATA, processing_function=process)
    p.actions.seismology.pick_windows(
        data_selection_configuration=DATA_SELECTION, observed_data_name=f"PROCESSED_DATA:{PROCESSING}",
        synthetic_data_name=SIMULATION, events=SEED_EVENTS, receiver_field="displacement",
        window_taper_width_in_seconds=WINDOW_TAPER_WIDTH_IN_SECONDS, window_picking_function="built-in",
        window_picking_function_kwargs=PICKING, synthetic_processing="bandpass")
    p += MisfitConfiguration(
        name=MISFIT, simulation_configuration=SIMULATION, observed_data=f"PROCESSED_DATA:{PROCESSING}",
        misfit_function="time_frequency_phase", receiver_field="displacement",
        data_selection_configuration=DATA_SELECTION, min_period_in_seconds=MIN_PERIOD,
        max_period_in_seconds=MAX_PERIOD, synthetic_processing="bandpass",
    )


def obspy_files(p: Project) -> tuple[Path, Path]:
    """(QuakeML, StationXML) of the example's events and stations, as a user's own data
    would come: Part 1 of the tutorial reads them with obspy and adds each event with
    ``sn.Event(sources=..., receivers=...)``."""
    folder = p.paths.root / "obspy"
    return folder / "events.qml", folder / "stations.xml"


def _write_obspy_files(p: Project, collection: EventCollection) -> None:
    import io

    from ..project import store

    catalog, inventory = collection.to_obspy()
    for obj, path, fmt in zip((catalog, inventory), obspy_files(p), ("QUAKEML", "STATIONXML")):
        buffer = io.BytesIO()
        obj.write(buffer, format=fmt)
        store.write_bytes(path, buffer.getvalue())


def _events(names: list[str]) -> list[Event]:
    return events_from_facts(names, DATA / "events.json")


def _stations(domain: SphericalChunkDomain, limit: int | None) -> list[Station]:
    """Stations inside the chunk, at least STATION_MARGIN_DEGREES from its sides; with
    ``limit``, an even west-to-east spread of that many."""
    inner = SphericalChunkDomain(lat_center=domain.lat_center, lon_center=domain.lon_center,
                                 lat_extent=domain.lat_extent - 2 * STATION_MARGIN_DEGREES,
                                 lon_extent=domain.lon_extent - 2 * STATION_MARGIN_DEGREES)
    chosen, seen = [], set()
    for r in csv.DictReader((DATA / "stations.csv").open()):
        st = Station(network=r["network"], station=r["station"], latitude=float(r["latitude"]),
                     longitude=float(r["longitude"]), elevation_in_m=float(r["elevation_m"]))
        if st.name not in seen and inner.contains(st.latitude, st.longitude):
            chosen.append(st)
            seen.add(st.name)
    if limit is not None and len(chosen) > limit:
        chosen.sort(key=lambda s: (s.longitude, s.latitude))
        idx = np.linspace(0, len(chosen) - 1, limit).round().astype(int)
        chosen = [chosen[i] for i in idx]
    return chosen


def _great_circle_km(lat0, lon0, lat, lon) -> np.ndarray:
    la0, lo0, la, lo = (np.radians(v) for v in (lat0, lon0, lat, lon))
    c = np.sin(la0) * np.sin(la) + np.cos(la0) * np.cos(la) * np.cos(lo - lo0)
    return np.arccos(np.clip(c, -1.0, 1.0)) * engine.earth.EARTH_RADIUS / 1e3


def _depth_taper(depth_km: np.ndarray, top: float, bottom: float) -> np.ndarray:
    """1 in the middle of [top, bottom], falling as a cosine to 0 at both ends."""
    t = np.clip((depth_km - top) / (bottom - top), 0.0, 1.0)
    return np.sin(np.pi * t) ** 2


def true_anomalies(domain: SphericalChunkDomain, max_depth_in_meters: float, spacing_degrees: float = 0.5,
                   depth_spacing_in_meters: float = 20e3) -> xr.Dataset:
    """The hidden true Earth's perturbations (relative: 0.02 is +2 %) of VSV, VSH and VP
    on (depth m, geographic latitude, longitude degrees), covering the chunk."""
    (la0, la1), (lo0, lo1) = domain.extent
    lat = np.arange(np.floor(la0), np.ceil(la1) + spacing_degrees, spacing_degrees)
    lon = np.arange(np.floor(lo0), np.ceil(lo1) + spacing_degrees, spacing_degrees)
    # The anomalies end at 300 km; below the grid a relative model is the background itself.
    depth = np.arange(0.0, min(max_depth_in_meters, 400e3) + depth_spacing_in_meters, depth_spacing_in_meters)
    d_km = depth[:, None, None] / 1e3
    lat2, lon2 = np.meshgrid(lat, lon, indexing="ij")
    dvsv = np.zeros((len(depth), len(lat), len(lon)))
    dvsh = np.zeros_like(dvsv)
    for la, lo, radius, top, bottom, sv, sh, _ in TRUE_ANOMALIES:
        lateral = np.exp(-0.5 * (_great_circle_km(la, lo, lat2, lon2) / radius) ** 2)[None]
        shape = lateral * _depth_taper(d_km, top, bottom)
        dvsv += sv * shape
        dvsh += sh * shape
    dvp = VP_FROM_VS * 0.5 * (dvsv + dvsh)
    dims = ("depth", "latitude", "longitude")
    return xr.Dataset({"VSV": (dims, dvsv), "VSH": (dims, dvsh), "VP": (dims, dvp)},
                      coords={"depth": depth, "latitude": lat, "longitude": lon},
                      attrs={"kind": "relative", "background": BACKGROUND,
                             "latitude": "geographic degrees", "depth": "m below the surface"})


def _synthesise_observed(p: Project, size: Size, noise: float, seed: int) -> None:
    """Observed Z/N/E displacement per event in the true Earth on the finer mesh, plus
    noise band-limited to 70-120 s (:func:`._build.add_noisy_observed`)."""
    from obspy import UTCDateTime

    from ..workflow import discretisation as disc

    sim_cfg = p.simulation_configuration(TRUE_SIMULATION)
    true_d = disc.discretisation(p, sim_cfg)
    receivers = disc.receivers_for(p)

    def simulate(name):
        source, _ = disc.source_for(p, name, true_d.physics, sim_cfg)
        return engine.simulate(true_d.mesh, true_d.prior, [source], receivers, end_time=disc.record_length(sim_cfg),
                               physics=true_d.physics, dt=true_d.dt, precision=sim_cfg.precision,
                               sponge_width=true_d.sponge_width).seismograms

    def start_time(name):
        return disc.engine_time_zero(sim_cfg, UTCDateTime(p.events.get(name).origin_time))

    add_noisy_observed(p, simulate, noise, seed, (MIN_PERIOD, MAX_PERIOD), start_time=start_time,
                       data_name=RAW_DATA)


def true_model(p: Project, mesh=None) -> engine.Model:
    """The hidden true Earth on the inversion's mesh (for comparisons and views)."""
    from ..workflow import discretisation as disc

    d = disc.discretisation(p, p.simulation_configuration(SIMULATION))
    mesh = mesh or d.mesh
    return engine.Model.from_dataset(mesh, disc._engine_grid(p.model_dataset(TRUE_MODEL)), background=d.prior,
                                     kind="relative")


def recovery_correlation(p: Project, problem: str, iteration: int | None = None, parameter: str = "vsv",
                         depth_in_meters: float = 100e3, coverage_km: float = 300.0) -> float:
    """Correlation of the recovered anomaly (model / prior - 1) with the true one in a
    depth slice, where the data see the model: within ``coverage_km`` of a great-circle
    path between an event of the inversion and a station."""
    from ..workflow import discretisation as disc

    it = p.inversions.get_iteration(problem, iteration)
    d = disc.discretisation(p, p.simulation_configuration(SIMULATION))
    true = true_model(p, d.mesh)
    fields = {"true": true[parameter] / d.prior[parameter] - 1.0,
              "recovered": it.model()[parameter] / d.prior[parameter] - 1.0}
    section = engine.sampling.depth_slice(d.mesh, fields, depth_in_meters, n_points=61)
    lat2, lon2 = np.meshgrid(section["latitude"].values, section["longitude"].values, indexing="ij")
    covered = _near_paths(p, it.config.events, lat2, lon2, coverage_km)
    a, b = section["recovered"].values[covered], section["true"].values[covered]
    keep = np.isfinite(a) & np.isfinite(b)
    return float(np.corrcoef(a[keep], b[keep])[0, 1])


def _near_paths(p: Project, events, lat, lon, width_km: float) -> np.ndarray:
    """Points within ``width_km`` of a great-circle path event-station (geocentric latitudes
    on the sphere; the same convention as the engine's slices)."""
    from engine.geographic import geographic_to_cartesian

    pts = geographic_to_cartesian(lat, lon, 0.0).reshape(-1, 3)
    pts = pts / np.linalg.norm(pts, axis=-1, keepdims=True)
    covered = np.zeros(len(pts), dtype=bool)
    for name in events:
        a = np.asarray(p.domain.position(p.events.get(name))[:2])
        ua = geographic_to_cartesian(a[0], a[1], 0.0)
        ua = ua / np.linalg.norm(ua)
        for s in p.events.stations():
            b = np.asarray(p.domain.position(s)[:2])
            ub = geographic_to_cartesian(b[0], b[1], 0.0)
            ub = ub / np.linalg.norm(ub)
            normal = np.cross(ua, ub)
            normal /= np.linalg.norm(normal)
            off = np.abs(np.arcsin(np.clip(pts @ normal, -1, 1))) * engine.earth.EARTH_RADIUS / 1e3
            # between the two ends: the projections onto the arc lie within it
            total = np.arccos(np.clip(ua @ ub, -1, 1))
            along_a = np.arccos(np.clip(pts @ ua, -1, 1))
            along_b = np.arccos(np.clip(pts @ ub, -1, 1))
            between = (along_a <= total + width_km / 6371.0) & (along_b <= total + width_km / 6371.0)
            covered |= (off < width_km) & between
    return covered.reshape(lat.shape)
