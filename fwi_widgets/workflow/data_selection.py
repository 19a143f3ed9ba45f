"""``p.actions.seismology.pick_windows``: windows picked on the data, kept as a configuration.

Part 3 of the tutorial: synthetics of the prior model are computed for each event (once,
kept as ``SYNTHETIC_DATA:<simulation>``; computed again when that simulation
configuration changes), processed as the misfit will process them, and compared with
the processed observed data by the picker (:mod:`.window_picking`). Every window, the
accepted and the rejected with its reason, is stored in a
:class:`~fwi_widgets.config.DataSelectionConfiguration`; a misfit configuration that
names it measures the accepted ones. An event left without any window is a warning here
and an error when an inverse problem names it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import warnings

import numpy as np

from ..config.processing import SYNTHETIC, DataSelectionConfiguration, parse_data_name
from . import discretisation as disc

__all__ = ["pick_windows", "synthetic_seismograms", "processed_synthetics", "NoWindowWarning"]

log = logging.getLogger("fwi_widgets")


class NoWindowWarning(UserWarning):
    """An event has no accepted window: it would add nothing to the misfit or the gradient."""


def pick_windows(project, *, data_selection_configuration: str, observed_data_name: str, synthetic_data_name: str,
                 events, receiver_field: str = "displacement", window_taper_width_in_seconds: float = 0.0,
                 window_picking_function: str = "built-in", window_picking_function_kwargs: dict | None = None,
                 synthetic_processing: str | None = None) -> DataSelectionConfiguration:
    """Pick windows for ``events`` on ``observed_data_name`` against the synthetics of the
    simulation configuration ``synthetic_data_name`` (``"SYNTHETIC_DATA:<name>"`` or the
    name) and store them as the data selection ``data_selection_configuration``.

    ``window_picking_function_kwargs``: the built-in picker's parameters
    (:class:`.window_picking.PickingParameters`; ``minimum_period_in_seconds`` and
    ``maximum_period_in_seconds`` are required). ``synthetic_processing="bandpass"``
    band-passes the synthetics over that band, as a misfit with the same setting will.
    Running it again with the same arguments returns the stored selection.
    """
    from ..config._base import list_of_names, name_string
    from .window_picking import PickingParameters

    name_string(data_selection_configuration, "data_selection_configuration")
    parse_data_name(observed_data_name, "observed_data_name")
    simulation = _simulation_name(synthetic_data_name)
    sim = project.simulation_configuration(simulation)
    events = list_of_names("events", events, "event names")
    known = project.events.list()
    unknown = [e for e in events if e not in known]
    if unknown:
        raise ValueError(f"Unknown event(s) {unknown}; valid names are {known}.")
    missing = [e for e in events if not project.paths.observed(observed_data_name, e).exists()]
    if missing:
        raise ValueError(f"Event(s) {missing} have no data {observed_data_name!r}; process or add them first.")
    kwargs = dict(window_picking_function_kwargs or {})
    try:
        parameters = PickingParameters(**kwargs)
    except TypeError as error:
        valid = list(PickingParameters.__dataclass_fields__)
        raise ValueError(f"The 'window_picking_function_kwargs' parameter is not valid for the built-in picker "
                         f"({error}); valid keys are {valid}.") from None
    if parameters.minimum_period_in_seconds < sim.min_period_in_seconds:
        raise ValueError(f"Windows cannot be picked at {parameters.minimum_period_in_seconds} s: the mesh of "
                         f"{simulation!r} resolves periods down to {sim.min_period_in_seconds} s only.")
    settings = DataSelectionConfiguration(
        name=data_selection_configuration, observed_data=observed_data_name, synthetic_data=f"{SYNTHETIC}:{simulation}",
        receiver_field=receiver_field, window_taper_width_in_seconds=float(window_taper_width_in_seconds),
        synthetic_processing=synthetic_processing, window_picking_function=window_picking_function,
        window_picking_function_kwargs=kwargs)
    from ..project.project import _intact

    path = project.paths.configuration("data_selection", data_selection_configuration)
    if path.exists() and _intact(path):  # a damaged one is picked again
        stored = project.data_selection_configuration(data_selection_configuration)
        if _settings(stored) == _settings(settings) and sorted(stored.windows) == sorted(events):
            log.info(f"Windows of {data_selection_configuration!r} were picked already with these settings.")
            return stored
        raise ValueError(f"The data selection {data_selection_configuration!r} exists with other settings or events; "
                         "pick under a new name.")
    windows = {event: [w.to_dict() for w in pick_event(project, event, sim, observed_data_name, parameters,
                                                         synthetic_processing)] for event in events}
    selection = DataSelectionConfiguration(**{**_settings(settings), "windows": windows})
    project.add(selection)
    warn_events_without_windows(selection, events)
    total = sum(selection.n_accepted(e) for e in events)
    log.info(f"Picked {total} window(s) for {len(events)} event(s) into {data_selection_configuration!r}.")
    return selection


def _settings(cfg: DataSelectionConfiguration) -> dict:
    d = {k: v for k, v in cfg.to_dict().items() if k not in ("type", "windows")}
    return json.loads(json.dumps(d))


def _simulation_name(value) -> str:
    if isinstance(value, str) and value.startswith(f"{SYNTHETIC}:"):
        return value.partition(":")[2]
    return value


def warn_events_without_windows(selection: DataSelectionConfiguration, events) -> list[str]:
    """Warn, loudly and with the reasons, about every event left without a window."""
    empty = [e for e in events if selection.n_accepted(e) == 0]
    for event in empty:
        reasons = selection.rejection_reasons(event)
        why = ", ".join(f"{n} rejected for {r}" for r, n in reasons.items()) or "no candidate window"
        message = (f"Event {event!r} has NO accepted window in data selection {selection.name!r} ({why}): it would add "
                   "nothing to the misfit or the gradient. Leave it out of the inverse problem or pick again with "
                   "other settings; p.viz.nb.windows(...) shows each window and why it was rejected.")
        log.warning(message)
        warnings.warn(message, NoWindowWarning, stacklevel=3)
    return empty


def pick_event(project, event: str, sim, observed_data_name: str, parameters, synthetic_processing):
    """The picked windows of one event, times in seconds after its origin."""
    from obspy import UTCDateTime

    from .jobs import NO_OBSERVED_TRACE, observed_as_dataarray
    from .window_picking import PickedWindow, pick_windows as pick

    synthetic = processed_synthetics(synthetic_seismograms(project, sim, event), synthetic_processing,
                                     parameters.minimum_period_in_seconds, parameters.maximum_period_in_seconds)
    time_zero = disc.engine_time_zero(sim, UTCDateTime(project.events.get(event).origin_time))
    observed = observed_as_dataarray(project.observed_data(event, observed_data_name), synthetic, time_zero)
    source = disc.event_location(project, event)
    receivers = disc.receivers_for(project)
    names = [str(r) for r in synthetic["receiver"].values]
    located = dict(zip(receivers.names, disc.receiver_locations(receivers)))
    distances = np.array([disc.distance(source, located[r]) for r in names])
    origin = -float(getattr(sim, "start_time", 0.0))  # the origin's time on the engine's axis
    picked = pick(observed.values, synthetic.values, synthetic["time"].values, names,
                  [str(c) for c in synthetic["component"].values], distances, origin, parameters)
    missing = set(map(tuple, observed.attrs["missing"]))
    out = []
    for w in picked:
        fields = {**w.to_dict(), "start": w.start - origin, "end": w.end - origin}
        if (w.receiver, w.component) in missing:
            fields.update(accepted=False, reason=NO_OBSERVED_TRACE, cc=None, time_shift=None, dlna=None, snr=None)
        out.append(PickedWindow.from_dict(fields))
    return out


def synthetic_seismograms(project, sim, event: str):
    """The prior model's synthetics of ``event`` (engine time axis), computed once per
    version of the simulation configuration and kept as ``SYNTHETIC_DATA:<simulation>``."""
    import engine
    import xarray as xr

    from ..project import store

    path = project.paths.synthetics(sim.name, event)
    version = hashlib.sha256(json.dumps(sim.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
    if path.exists():
        stored = store.read_netcdf(path)
        if stored.attrs.get("simulation_configuration_version") == version:
            return stored["synthetic"].load()
    d = disc.discretisation(project, sim)
    source, _ = disc.source_for(project, event, d.physics, sim)
    log.info(f"Computing the synthetics of {event!r} in {sim.name!r} for window picking.")
    seismograms = engine.simulate(d.mesh, d.prior, [source], disc.receivers_for(project),
                                  end_time=disc.record_length(sim), physics=d.physics, dt=d.dt,
                                  precision=sim.precision, sponge_width=d.sponge_width).seismograms
    ds = seismograms.to_dataset(name="synthetic")
    ds.attrs = {"simulation_configuration_version": version}
    if not project.read_only:
        store.write_netcdf(path, ds)
    return xr.DataArray(seismograms.values.astype(float), coords=seismograms.coords, dims=seismograms.dims)


def processed_synthetics(synthetic, synthetic_processing: str | None, min_period: float, max_period: float):
    """The synthetics as a misfit with ``synthetic_processing`` measures them."""
    import engine

    if synthetic_processing is None:
        return synthetic
    dt = float(synthetic["time"].values[1] - synthetic["time"].values[0])
    return synthetic.copy(data=engine.signal.bandpass(synthetic.values, dt, min_period, max_period))
