"""``sn.simple_config``: Salvus' way of making the continental (3D) tutorial's events.

::

    for event in catalog:
        p += sn.Event(sources=sn.simple_config.source.seismology.parse(event, dimensions=3),
                      receivers=sn.simple_config.receiver.seismology.parse(
                          inventory, dimensions=3, fields=["displacement"]))

``source.seismology.parse`` turns one obspy event (or a QuakeML file of one) into a
:class:`SeismologySource`, a moment-tensor point source; ``receiver.seismology.parse``
turns an obspy ``Inventory`` (or a StationXML file) into :class:`SeismologyReceiver`
objects, one per ``NET.STA``. ``sn.Event(sources=..., receivers=...)`` makes an ordinary
:class:`~fwi_widgets.config.events.Event` of them (see there) that ``p += ...`` stores
with its stations.

Conventions: moment tensors in N m, GCMT components (r up, t south, p east); depths in
m, positive down; latitudes *geographic* degrees as QuakeML and StationXML give them.
Nothing here converts them: :meth:`SphericalChunkDomain.position
<fwi_widgets.config.domain.SphericalChunkDomain.position>` and ``contains`` convert an
event's and a station's geographic latitude to geocentric, once, where they place it.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ._base import list_of_names, name_string, number, string
from .events import Event, Station

__all__ = ["SeismologySource", "SeismologyReceiver", "simple_config"]

#: Receiver fields the engine records (``fields=`` of the receiver parse).
RECEIVER_FIELDS = ("displacement",)

_TENSOR_HOWTO = (
    "Add one to the obspy event: event.focal_mechanisms.append(FocalMechanism(moment_tensor=MomentTensor("
    "tensor=Tensor(m_rr=..., m_tt=..., m_pp=..., m_rt=..., m_rp=..., m_tp=...)))) (obspy.core.event; N m, r up, "
    "t south, p east), with the values of the Global CMT catalogue (https://www.globalcmt.org/CMTsearch.html; "
    "dyne cm x 1e-7 is N m), or read the event from a GCMT QuakeML or NDK file, which holds one."
)


# --- the objects -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SeismologySource:
    """A moment-tensor point source of the 3D workshop, as ``source.seismology.parse`` gives it.

    The fields are :class:`Event`'s (less the 2D ``position``) and checked by it:
    ``origin_time`` ISO 8601; ``latitude`` geographic and ``longitude`` degrees east, as in
    the QuakeML; ``depth_in_m`` below the surface; ``magnitude`` Mw; ``moment_tensor`` the
    dict {mrr, mtt, mpp, mrt, mrp, mtp} in N m (GCMT: r up, t south, p east), required,
    since a 3D source is a moment tensor; ``half_duration_in_seconds`` of the source time
    function; ``region`` the catalogue's region name. ``name`` follows the seed's rule
    (:func:`~fwi_widgets.config.events.event_name`).
    """

    name: str
    origin_time: str
    latitude: float
    longitude: float
    depth_in_m: float
    magnitude: float
    moment_tensor: dict
    half_duration_in_seconds: float = 0.0
    region: str = ""

    def __post_init__(self):
        if self.moment_tensor is None:
            raise ValueError(f"The source {self.name!r} has no moment tensor, and a 3D source is a moment tensor "
                             f"(dict {{mrr, mtt, mpp, mrt, mrp, mtp}}, N m). {_TENSOR_HOWTO}")
        for key in ("latitude", "longitude"):
            if getattr(self, key) is None:
                raise ValueError(f"The '{key}' parameter of the source {self.name!r} must be a number (degrees), "
                                 "but None was given.")
        event = self.to_event()  # Event's checks, and its normalised values (floats)
        for f in self.__dataclass_fields__:
            object.__setattr__(self, f, getattr(event, f))

    def to_event(self, name: str | None = None) -> Event:
        """The sn.Event of this source (``name`` instead of the source's own, if given)."""
        values = {f: getattr(self, f) for f in self.__dataclass_fields__}
        if name is not None:
            values["name"] = name
        return Event(**values)

    @classmethod
    def from_event(cls, event: Event) -> "SeismologySource":
        """The source of an sn.Event with a moment tensor and a latitude and longitude."""
        return cls(**{f: getattr(event, f) for f in cls.__dataclass_fields__})


@dataclass(frozen=True)
class SeismologyReceiver:
    """A station of the 3D workshop, as ``receiver.seismology.parse`` gives it.

    ``network``, ``station``: the codes (``name`` is NET.STA); ``location``: the location
    code whose burial is given (StationXML's, '' when blank); ``latitude`` geographic and
    ``longitude`` degrees east, the station's as in the StationXML; ``elevation_in_m``
    above sea level; ``depth_in_m`` the sensor's burial below the ground (StationXML's
    channel depth, m, positive down); ``fields``: what it records (``RECEIVER_FIELDS``).

    The simulation puts every receiver on the mesh's free surface (the mesh has no
    topography: :meth:`SphericalChunkDomain.position`), so elevation and burial are kept
    for the record; as sn.Station (:meth:`to_station`) the burial is not stored.
    """

    network: str
    station: str
    location: str
    latitude: float
    longitude: float
    elevation_in_m: float = 0.0
    depth_in_m: float = 0.0
    fields: tuple = field(default=RECEIVER_FIELDS)

    def __post_init__(self):
        string("location", self.location)
        station = self.to_station()  # Station's checks of the codes, the position and the elevation
        for key in ("latitude", "longitude"):
            if getattr(station, key) is None:
                raise ValueError(f"The '{key}' parameter of the receiver {station.name!r} must be a number "
                                 "(degrees), but None was given.")
            object.__setattr__(self, key, getattr(station, key))
        object.__setattr__(self, "elevation_in_m", station.elevation_in_m)
        object.__setattr__(self, "depth_in_m", number("depth_in_m", self.depth_in_m))
        object.__setattr__(self, "fields", _fields(self.fields))

    @property
    def name(self) -> str:
        return f"{self.network}.{self.station}"

    def to_station(self) -> Station:
        """The sn.Station of this receiver: what the project stores (no burial, no fields)."""
        return Station(network=self.network, station=self.station, latitude=self.latitude, longitude=self.longitude,
                       elevation_in_m=self.elevation_in_m)


# --- checks ---------------------------------------------------------------------------------------

def _dimensions(dimensions) -> int:
    """3, or an error: 2D events are made another way, and nothing else exists."""
    if isinstance(dimensions, (bool, np.bool_)) or not isinstance(dimensions, (int, np.integer)):
        raise TypeError(f"The 'dimensions' parameter must be the int 3, but {dimensions!r} was given.")
    if dimensions == 2:
        raise ValueError(
            "The 'dimensions' parameter must be 3: simple_config's seismology parse makes the 3D (continental) "
            "workshop's moment-tensor sources and receivers, for a sn.domain.dim3.SphericalChunkDomain. The 2D workshop "
            "uses sn.EventCollection (sn.EventCollection.from_obspy(catalog, inventory), or sn.Event(name=..., ...) "
            "and sn.Station(...)) on a map-view domain, sn.domain.dim2.MapViewDomain."
        )
    if dimensions != 3:
        raise ValueError(f"The 'dimensions' parameter must be 3 (the continental workshop's spherical chunk; 2 is "
                         f"the 2D workshop's, made with sn.EventCollection), but {dimensions!r} was given.")
    return 3


def _fields(fields) -> tuple:
    """The receiver fields as a tuple without repeats; only :data:`RECEIVER_FIELDS` are recorded."""
    names = list_of_names("fields", fields, "receiver fields")
    if not names:
        raise ValueError(f"The 'fields' parameter must name at least one receiver field, one of {list(RECEIVER_FIELDS)}, "
                         "but an empty list was given.")
    bad = [n for n in names if n not in RECEIVER_FIELDS]
    if bad:
        raise ValueError(f"The 'fields' parameter must hold only the receiver fields {list(RECEIVER_FIELDS)} (the only "
                         f"one the engine records for now), but {bad} was given.")
    return tuple(dict.fromkeys(names))


def _existing_file(path, what: str, write: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"There is no file {str(path)!r}: give the path of a {what} file (write one with {write}), "
                         "or the obspy object itself.")
    return path


# --- sources ---------------------------------------------------------------------------------------

def _one_obspy_event(obj):
    """The obspy Event in ``obj``: an Event, a Catalog of one, or the path of a QuakeML file of one."""
    from obspy import read_events
    from obspy.core.event import Catalog, Event as ObsEvent

    where = "the catalog"
    if isinstance(obj, (str, os.PathLike)):
        path = _existing_file(obj, "QuakeML", "catalog.write(path, format='QUAKEML')")
        try:
            obj = read_events(str(path), format="QUAKEML")
        except Exception as error:  # obspy raises many kinds, depending on what the file holds
            raise ValueError(f"The file {str(path)!r} is not a QuakeML file that obspy can read "
                             f"({type(error).__name__}: {error}). Give a QuakeML file of one event "
                             "(catalog.write(path, format='QUAKEML')), or the obspy Event.") from None
        where = f"the file {str(path)!r}"
    if isinstance(obj, Catalog):
        if len(obj) != 1:
            raise ValueError(
                f"source.seismology.parse takes one event, but {where} holds {len(obj)}. Make one sn.Event per "
                "event: for event in catalog: p += sn.Event(sources=sn.simple_config.source.seismology.parse(event, "
                "dimensions=3), receivers=...)."
            )
        obj = obj[0]
    if not isinstance(obj, ObsEvent):
        hint = " (an sn.Event is added as it is, in sn.EventCollection(events=[...]))" if isinstance(obj, Event) else ""
        raise TypeError(f"The 'obj' parameter must be an obspy Event, an obspy Catalog of one event, or the path of a "
                        f"QuakeML file of one event, but a {type(obj).__name__} was given{hint}.")
    return obj


def parse_source(obj, dimensions: int = 3) -> list[SeismologySource]:
    """``sn.simple_config.source.seismology.parse``: ``[SeismologySource]`` of one earthquake.

    Parameters
    ----------
    obj : obspy Event, obspy Catalog of exactly one event, or str / Path of a QuakeML file of one
        Read by the rule of ``sn.EventCollection.from_obspy`` (:meth:`Event.from_obspy`):
        named by the seed's rule, or by our own ``smi:fwi-widgets/<name>`` resource id;
        preferred origin, magnitude and focal mechanism first; latitudes kept geographic.
    dimensions : int
        3 (the continental workshop); 2 is refused (the 2D workshop uses sn.EventCollection).

    Returns
    -------
    list of SeismologySource
        One source (a list, as Salvus gives it, for ``sn.Event(sources=...)``).

    Raises
    ------
    ValueError
        The event has no moment tensor (a 3D source is one), the file is missing or no
        QuakeML, the catalog holds no event or several, ``dimensions`` is not 3.
    TypeError
        ``obj`` is of another type.
    """
    _dimensions(dimensions)
    ev = _one_obspy_event(obj)
    event = Event.from_obspy(ev)
    if event.moment_tensor is None:
        fm = ev.preferred_focal_mechanism() or (ev.focal_mechanisms[0] if ev.focal_mechanisms else None)
        has = " has a focal mechanism but no moment tensor in it (nodal planes only?)" if fm is not None else \
            " has no moment tensor"
        raise ValueError(f"The event {event.name!r}{has}, and a 3D source is a moment tensor. {_TENSOR_HOWTO}")
    return [SeismologySource.from_event(event)]


# --- receivers --------------------------------------------------------------------------------------

def _inventory(obj):
    """The obspy Inventory in ``obj``: an Inventory or the path of a StationXML file."""
    from obspy import Inventory, read_inventory

    if isinstance(obj, (str, os.PathLike)):
        path = _existing_file(obj, "StationXML", "inventory.write(path, format='STATIONXML')")
        try:
            obj = read_inventory(str(path), format="STATIONXML")
        except Exception as error:  # obspy raises many kinds, depending on what the file holds
            raise ValueError(f"The file {str(path)!r} is not a StationXML file that obspy can read "
                             f"({type(error).__name__}: {error}). Give a StationXML file "
                             "(inventory.write(path, format='STATIONXML')), or the obspy Inventory.") from None
    if not isinstance(obj, Inventory):
        raise TypeError(f"The 'obj' parameter must be an obspy Inventory or the path of a StationXML file, but a "
                        f"{type(obj).__name__} was given.")
    return obj


def parse_receivers(obj, dimensions: int = 3, fields=RECEIVER_FIELDS) -> list[SeismologyReceiver]:
    """``sn.simple_config.receiver.seismology.parse``: one SeismologyReceiver per ``NET.STA``.

    Parameters
    ----------
    obj : obspy Inventory, or str / Path of a StationXML file
    dimensions : int
        3 (the continental workshop); 2 is refused (the 2D workshop uses sn.EventCollection).
    fields : list of str
        What the receivers record: ``["displacement"]``, the only field for now.

    Returns
    -------
    list of SeismologyReceiver
        In the inventory's order. A station with several location codes or channels gives
        one receiver (it is one position on the mesh): the station's coordinates and
        elevation, the burial of its first location code in sorted order ('' first). A
        station listed twice (several epochs, several networks' entries) with the same
        coordinates gives one receiver too.

    Raises
    ------
    ValueError
        The inventory has no station, a station is listed twice at different positions,
        a field is not supported, the file is missing or no StationXML, ``dimensions`` is
        not 3.
    TypeError
        ``obj`` is of another type.
    """
    _dimensions(dimensions)
    fields = _fields(fields)
    inventory = _inventory(obj)
    receivers: dict[str, SeismologyReceiver] = {}
    for net in inventory:
        for sta in net:
            locations = sorted({cha.location_code or "" for cha in sta.channels})
            location = locations[0] if locations else ""
            depth = next((float(cha.depth or 0.0) for cha in sta.channels if (cha.location_code or "") == location), 0.0)
            receiver = SeismologyReceiver(
                network=net.code, station=sta.code, location=location, latitude=float(sta.latitude),
                longitude=float(sta.longitude), elevation_in_m=float(sta.elevation or 0.0), depth_in_m=depth,
                fields=fields)
            first = receivers.setdefault(receiver.name, receiver)
            if first.to_station() != receiver.to_station():
                raise ValueError(
                    f"The station {receiver.name} is listed twice in the inventory at different positions "
                    f"({first.latitude:g}, {first.longitude:g}, {first.elevation_in_m:g} m and {receiver.latitude:g}, "
                    f"{receiver.longitude:g}, {receiver.elevation_in_m:g} m; several epochs?). Keep the one of the "
                    "events' time: inventory.select(time=event_origin_time), or remove one."
                )
    if not receivers:
        raise ValueError("The inventory holds no station; receiver.seismology.parse needs at least one (an obspy "
                         "Inventory with networks and their stations, e.g. from obspy's FDSN client "
                         "get_stations(level='station') or a StationXML file).")
    return list(receivers.values())


# --- sn.Event(sources=..., receivers=...) ---------------------------------------------------------

def _event_from_sources(sources, receivers, event_name) -> tuple[dict, tuple]:
    """The Event's field values from its one source, and its receivers as sn.Station (for Event.__init__)."""
    if isinstance(sources, SeismologySource):
        sources = [sources]
    if not isinstance(sources, (list, tuple)):
        raise TypeError(f"The 'sources' parameter must be a list of one SeismologySource (sn.simple_config.source."
                        f"seismology.parse(event, dimensions=3)), but {sources!r} was given.")
    bad = [s for s in sources if not isinstance(s, SeismologySource)]
    if bad:
        raise TypeError(f"The 'sources' parameter must hold a SeismologySource (sn.simple_config.source.seismology."
                        f"parse(event, dimensions=3)), but a {type(bad[0]).__name__} was given.")
    if len(sources) != 1:
        raise ValueError(f"The 'sources' parameter must hold exactly one source, but {len(sources)} were given: an "
                         "event is one moment tensor (its centroid), as the seed's are. Make one sn.Event per "
                         "earthquake.")
    values = {f: getattr(sources[0], f) for f in SeismologySource.__dataclass_fields__}
    if event_name is not None:
        values["name"] = name_string(event_name, "event_name")
    if receivers is None:
        receivers = []
    if isinstance(receivers, (SeismologyReceiver, Station)) or not isinstance(receivers, (list, tuple)):
        raise TypeError(f"The 'receivers' parameter must be a list of SeismologyReceiver (sn.simple_config.receiver."
                        f"seismology.parse(inventory, dimensions=3, fields=['displacement'])), but {receivers!r} "
                        "was given.")
    stations: dict[str, Station] = {}
    for r in receivers:
        if not isinstance(r, (SeismologyReceiver, Station)):
            raise TypeError(f"The 'receivers' parameter must hold SeismologyReceiver (or sn.Station) objects, but a "
                            f"{type(r).__name__} was given.")
        station = r.to_station() if isinstance(r, SeismologyReceiver) else r
        if stations.setdefault(station.name, station) != station:
            raise ValueError(f"The receivers hold the station {station.name} twice, at different positions; keep one.")
    return values, tuple(stations.values())


#: ``sn.simple_config``: ``source.seismology.parse`` and ``receiver.seismology.parse``, as in Salvus.
simple_config = SimpleNamespace(
    source=SimpleNamespace(seismology=SimpleNamespace(parse=parse_source, SeismologySource=SeismologySource)),
    receiver=SimpleNamespace(seismology=SimpleNamespace(parse=parse_receivers, SeismologyReceiver=SeismologyReceiver)),
)
