"""Apply a :class:`~fwi_widgets.config.SeismologyProcessingConfiguration` to the data.

Processing runs when the configuration is added (``p += sn.processing.seismology.
SeismologyProcessingConfiguration(...)``), so that a function that fails says so in the
cell that gave it, naming the event and the station, and not in a job later. Each
event's processed traces are checked like any observed data and written atomically; the
configuration is written last, so an interrupted run is finished by running the cell
again (events already processed with the same function are kept).
"""
from __future__ import annotations

import logging

from ..config.processing import SeismologyProcessingConfiguration

__all__ = ["add_processing"]

log = logging.getLogger("fwi_widgets")


def add_processing(project, cfg: SeismologyProcessingConfiguration, overwrite: bool = False) -> None:
    """Process every event that has ``cfg.data_source_name`` and store ``PROCESSED_DATA:<name>``."""
    from ..project import store
    from ..project.project import _intact

    path = project.paths.configuration("processing", cfg.name)
    # A damaged record is replaced by the configuration added (and its data processed again).
    stored = path.exists() and _intact(path)
    same = stored and project.processing_configuration(cfg.name).does_the_same_as(cfg)
    if stored and not same and not overwrite:
        raise ValueError(f"The processing configuration {cfg.name!r} already exists with another function or data "
                         "source; choose another name (or add it with overwrite=True before any misfit uses it).")
    events = [e for e in project.events.list() if project.paths.observed(cfg.data_source_name, e).exists()]
    if not events:
        raise ValueError(f"No event has the data {cfg.data_source_name!r} to process; add them first with "
                         f"p.add_observed_data(event, stream, data_name={cfg.data_source_name!r}).")
    function = cfg.function()
    for event in events:
        target = project.paths.observed(cfg.data_name, event)
        if same and target.exists():
            continue
        project.add_observed_data(event, process_event(project, cfg, event, function), data_name=cfg.data_name)
    if not same:  # the record of the first addition stays (the same code, however it is written)
        store.write_json(path, cfg.to_dict())
    log.info(f"Processed {len(events)} event(s) into {cfg.data_name!r}.")


def process_event(project, cfg: SeismologyProcessingConfiguration, event: str, function=None):
    """The processed Stream of one event: ``function(st, inv, receiver, sources)`` per station."""
    from obspy import Inventory, Stream, read_inventory

    function = function or cfg.function()
    raw = project.observed_data(event, cfg.data_source_name)
    xml = project.paths.inventory(cfg.data_source_name, event)
    inventory = read_inventory(str(xml)) if xml.exists() else project.station_inventory()
    source = project.events.get(event)
    out = Stream()
    for station in project.events.stations():
        st = raw.select(network=station.network, station=station.station)
        if not len(st):
            continue
        inv = inventory.select(network=station.network, station=station.station)
        if not len(inv.networks):
            inv = Inventory(networks=[], source="fwi-widgets")
        try:
            processed = function(st.copy(), inv, station, [source])
        except Exception as error:
            raise ValueError(
                f"The processing function {cfg.processing_function['name']!r} failed for event {event!r} at station "
                f"{station.name}: {type(error).__name__}: {error}. Nothing was stored for this configuration; fix the "
                "function and add the configuration again."
            ) from error
        if not isinstance(processed, Stream):
            raise TypeError(f"The processing function {cfg.processing_function['name']!r} must return an obspy Stream, "
                            f"but returned {type(processed).__name__} for event {event!r} at station {station.name}.")
        out += processed
    return out
