"""Events and stations (with obspy Catalog / Inventory in and out)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._base import MAX_NAME_BYTES, Configuration, name_string, number, positive, register, string

_TENSOR_KEYS = ("mrr", "mtt", "mpp", "mrt", "mrp", "mtp")


def _latitude_longitude(item) -> None:
    """Latitude in [-90, 90] and longitude in [-180, 360] degrees, or None."""
    if item.latitude is not None:
        number("latitude", item.latitude, minimum=-90.0, maximum=90.0)
    if item.longitude is not None:
        number("longitude", item.longitude, minimum=-180.0, maximum=360.0)


def _position(value):
    """None, or (x, z) in metres as a tuple of two finite floats (every domain is 2D)."""
    if value is None:
        return None
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"The 'position' parameter must be a pair (x, z) in metres, or None, but {value!r} was given.")
    if len(value) != 2:
        raise ValueError(f"The 'position' parameter must be a pair (x, z) in metres, but {value!r} was given.")
    return tuple(number(f"position[{i}]", v) for i, v in enumerate(value))

__all__ = ["Event", "Station", "EventCollection", "event_name"]


@register
@dataclass(frozen=True)
class Station(Configuration):
    """A receiver: ``network.station`` with a geographic position (or ``position`` (x, z)
    in metres for box domains)."""

    network: str
    station: str
    latitude: float | None = None
    longitude: float | None = None
    elevation_in_m: float = 0.0
    position: tuple | None = None

    def __post_init__(self):
        name_string(self.network, "network")
        name_string(self.station, "station")
        if "." in self.network:
            raise ValueError(f"The 'network' parameter must not contain '.' (the name is NET.STA), but {self.network!r} was given.")
        if len(self.name.encode("utf-8")) > MAX_NAME_BYTES:
            raise ValueError(
                f"The 'network' and 'station' parameters must make a name NET.STA of at most {MAX_NAME_BYTES} bytes "
                f"(it becomes a file name), but {len(self.name.encode('utf-8'))} bytes were given."
            )
        _latitude_longitude(self)
        number("elevation_in_m", self.elevation_in_m)
        object.__setattr__(self, "position", _position(self.position))

    @property
    def name(self) -> str:
        return f"{self.network}.{self.station}"


@register
@dataclass(frozen=True)
class Event(Configuration):
    """An earthquake: origin time (ISO 8601), hypocentre, magnitude and moment tensor
    (N m; r up, t south, p east, GCMT convention), or ``position`` (x, z) for box domains.

    Latitude and longitude are geographic degrees, as QuakeML gives them (a
    :class:`~fwi_widgets.config.domain.SphericalChunkDomain` converts the latitude to
    geocentric when it places the event); ``depth_in_m`` is below the surface.

    Two ways to make one: by its fields, ``Event(name=..., origin_time=..., ...)``, or as
    in Salvus from one source and its receivers, ``Event(sources=sn.simple_config.source.
    seismology.parse(event, dimensions=3), receivers=sn.simple_config.receiver.seismology.
    parse(inventory, dimensions=3, fields=["displacement"]), event_name=None)``: the fields
    come from the source (``event_name`` renames it) and the receivers are kept, as
    sn.Station, in :attr:`receivers` for ``p += event``, outside the stored JSON.
    """

    name: str
    origin_time: str
    latitude: float | None = None
    longitude: float | None = None
    depth_in_m: float = 0.0
    magnitude: float = 5.0
    moment_tensor: dict | None = None
    half_duration_in_seconds: float = 0.0
    region: str = ""
    position: tuple | None = None

    def __post_init__(self):
        name_string(self.name, "name")
        string("origin_time", self.origin_time)
        from obspy import UTCDateTime

        try:
            UTCDateTime(self.origin_time)
        except Exception:  # obspy raises TypeError or ValueError, depending on the text
            raise ValueError(
                f"The 'origin_time' parameter must be an ISO 8601 time such as '2015-04-16T18:07:48Z', but "
                f"{self.origin_time!r} was given."
            ) from None
        _latitude_longitude(self)
        positive("depth_in_m", self.depth_in_m, allow_zero=True)
        if self.depth_in_m >= 6_371_000.0:
            raise ValueError(f"The 'depth_in_m' parameter must be below the Earth's radius (6371 km), but "
                             f"{self.depth_in_m!r} was given.")
        # Mw -2..10 spans every recorded earthquake (the largest, Chile 1960, was 9.5); it
        # also keeps 10**(1.5 Mw + 9.1) a finite moment.
        number("magnitude", self.magnitude, minimum=-2.0, maximum=10.0)
        if self.moment_tensor is not None:
            if not isinstance(self.moment_tensor, dict) or sorted(self.moment_tensor) != sorted(_TENSOR_KEYS):
                raise ValueError(
                    f"The 'moment_tensor' parameter must be None or a dict with the keys {list(_TENSOR_KEYS)} (N m), "
                    f"but {self.moment_tensor!r} was given."
                )
            object.__setattr__(self, "moment_tensor", {
                k: number(f"moment_tensor[{k!r}]", self.moment_tensor[k]) for k in _TENSOR_KEYS})
        positive("half_duration_in_seconds", self.half_duration_in_seconds, allow_zero=True)
        string("region", self.region)
        object.__setattr__(self, "position", _position(self.position))

    @property
    def scalar_moment(self) -> float:
        """M0 in N m: from the tensor when given, else from Mw (Hanks & Kanamori)."""
        if self.moment_tensor:
            m = self.moment_tensor
            t = np.array([[m["mrr"], m["mrt"], m["mrp"]], [m["mrt"], m["mtt"], m["mtp"]], [m["mrp"], m["mtp"], m["mpp"]]])
            return float(np.sqrt(0.5 * np.sum(t * t)))
        return float(10 ** (1.5 * self.magnitude + 9.1))

    @property
    def receivers(self) -> tuple:
        """The stations given with ``Event(sources=..., receivers=...)`` (sn.Station), else ().

        Not part of the event's stored JSON (``to_dict``) nor of ``==``: ``p += event``
        stores them as the project's stations, which record every event. A copy by
        ``dataclasses.replace`` or an event read back from the project has none.
        """
        return self.__dict__.get("_receivers", ())

    @classmethod
    def from_obspy(cls, event) -> "Event":
        """One obspy ``Event`` as an Event: the rule of :meth:`EventCollection.from_obspy`.

        The name is the one our QuakeML keeps in the resource id (``smi:fwi-widgets/<name>``,
        written by :meth:`EventCollection.to_obspy`), else the seed's rule
        (:func:`event_name`). Preferred origin, magnitude and focal mechanism first; the
        tensor as given (N m; r up, t south, p east), None without one; the half duration
        is half the source time function's duration; latitudes are kept geographic.
        """
        ev = event
        if not ev.origins:
            raise ValueError(f"The obspy event {str(ev.resource_id)!r} has no origin; an event needs an origin "
                             "(time, latitude, longitude, depth). Add an obspy.core.event.Origin to it.")
        origin = ev.preferred_origin() or ev.origins[0]
        missing = [k for k in ("time", "latitude", "longitude") if getattr(origin, k) is None]
        if missing:
            raise ValueError(f"The origin of the obspy event {str(ev.resource_id)!r} has no {' or '.join(missing)}; "
                             "set them on its Origin.")
        mag = ev.preferred_magnitude() or (ev.magnitudes[0] if ev.magnitudes else None)
        region = ev.event_descriptions[0].text if ev.event_descriptions else "UNKNOWN_REGION"
        tensor = None
        fm = ev.preferred_focal_mechanism() or (ev.focal_mechanisms[0] if ev.focal_mechanisms else None)
        if str(ev.resource_id).startswith("smi:fwi-widgets/") and region == str(ev.resource_id).split("/", 1)[1]:
            region = ""
        if fm is not None and fm.moment_tensor is not None and fm.moment_tensor.tensor is not None:
            t = fm.moment_tensor.tensor
            absent = [k for k in _TENSOR_KEYS if getattr(t, f"m_{k[1:]}") is None]
            if absent:
                raise ValueError(f"The moment tensor of the obspy event {str(ev.resource_id)!r} lacks {absent}; a "
                                 "Tensor needs all six of m_rr, m_tt, m_pp, m_rt, m_rp, m_tp (N m).")
            tensor = {k: float(getattr(t, f"m_{k[1:]}")) for k in _TENSOR_KEYS}
        magnitude = float(mag.mag) if mag is not None else 5.0
        # Our own QuakeML keeps the event's name in its resource id.
        rid = str(ev.resource_id)
        name = rid.split("smi:fwi-widgets/", 1)[1] if rid.startswith("smi:fwi-widgets/") else event_name(region, magnitude, origin.time)
        half = 0.0
        if fm is not None and fm.moment_tensor is not None and fm.moment_tensor.source_time_function is not None:
            half = 0.5 * float(fm.moment_tensor.source_time_function.duration or 0.0)
        return cls(
            name=name, origin_time=str(origin.time), half_duration_in_seconds=half,
            latitude=float(origin.latitude), longitude=float(origin.longitude),
            depth_in_m=float(origin.depth or 0.0), magnitude=magnitude, moment_tensor=tensor, region=region,
        )


_FIELDS_INIT = Event.__init__  # the dataclass's own __init__ (keyword and positional fields)


def _event_init(self, *args, sources=None, receivers=None, event_name=None, **fields):
    """``Event(name=..., origin_time=..., ...)`` as ever, or Salvus' ``Event(sources=..., receivers=...)``.

    The second form takes the event from its one source (a
    ``sn.simple_config.source.seismology.parse`` result; ``event_name`` renames it) and
    keeps the receivers as sn.Station in :attr:`Event.receivers`, which ``p += event``
    stores with the event. Either way the object is a plain Event: the same fields, JSON
    and ``==``.
    """
    if sources is None:
        if receivers is not None or event_name is not None:
            raise TypeError("The 'receivers' and 'event_name' parameters go with 'sources' (sn.Event(sources=sn."
                            "simple_config.source.seismology.parse(event, dimensions=3), receivers=...)); an event "
                            "given by its fields (name=..., origin_time=...) takes its stations from "
                            "sn.EventCollection(events=[...], stations=[...]).")
        _FIELDS_INIT(self, *args, **fields)
        stations = ()
    else:
        if args or fields:
            given = [f"positional argument {a!r}" for a in args] + sorted(fields)
            raise TypeError(f"sn.Event(sources=...) takes the event from its source, so it takes no other fields, but "
                            f"{given} were given. Give only sources=, receivers= and event_name=, or the fields alone.")
        from .simple_config import _event_from_sources  # here: simple_config imports this module

        values, stations = _event_from_sources(sources, receivers, event_name)
        _FIELDS_INIT(self, **values)
    object.__setattr__(self, "_receivers", stations)


Event.__init__ = _event_init


def event_name(region: str, magnitude: float, origin_time) -> str:
    """The seed's naming rule: ``event_<REGION>_Mag_<m.mm>_<YYYY-MM-DD-HH-MM>``."""
    from obspy import UTCDateTime

    t = UTCDateTime(origin_time)
    clean = "_".join(region.upper().replace(",", " ").split())
    return f"event_{clean}_Mag_{magnitude:.2f}_{t.strftime('%Y-%m-%d-%H-%M')}"


@register
@dataclass(frozen=True)
class EventCollection(Configuration):
    """Events and the stations that record them (every station records every event)."""

    events: list = field(default_factory=list)
    stations: list = field(default_factory=list)

    def __post_init__(self):
        for attr, cls in (("events", Event), ("stations", Station)):
            items = getattr(self, attr)
            if not isinstance(items, (list, tuple)):
                raise TypeError(f"The '{attr}' parameter must be a list of sn.{cls.__name__}, but {items!r} was given.")
            bad = [item for item in items if not isinstance(item, cls)]
            if bad:
                raise TypeError(f"The '{attr}' parameter must hold sn.{cls.__name__} objects only, but {bad[0]!r} was given.")
            object.__setattr__(self, attr, list(items))
        names = [e.name for e in self.events]
        if len(set(names)) != len(names):
            raise ValueError("Event names must be unique.")
        codes = [s.name for s in self.stations]
        if len(set(codes)) != len(codes):
            raise ValueError("Station codes (NET.STA) must be unique.")

    @classmethod
    def from_obspy(cls, catalog, inventory) -> "EventCollection":
        """Events from an obspy ``Catalog`` (named by the seed's rule) and stations from an ``Inventory``."""
        events = [Event.from_obspy(ev) for ev in catalog]
        stations = [
            Station(network=net.code, station=sta.code, latitude=float(sta.latitude), longitude=float(sta.longitude),
                    elevation_in_m=float(sta.elevation or 0.0))
            for net in inventory for sta in net
        ]
        return cls(events=events, stations=stations)

    def to_obspy(self):
        """(Catalog, Inventory) of these events and stations."""
        from obspy import UTCDateTime
        from obspy.core.event import (
            Catalog, Event as ObsEvent, EventDescription, FocalMechanism, Magnitude, MomentTensor, Origin,
            SourceTimeFunction, Tensor,
        )
        from obspy.core.inventory import Inventory, Network, Station as ObsStation

        cat = Catalog()
        for e in self.events:
            ev = ObsEvent(resource_id=f"smi:fwi-widgets/{e.name}")
            ev.origins.append(Origin(time=UTCDateTime(e.origin_time), latitude=e.latitude, longitude=e.longitude, depth=e.depth_in_m))
            ev.magnitudes.append(Magnitude(mag=e.magnitude, magnitude_type="Mw"))
            ev.event_descriptions.append(EventDescription(text=e.region or e.name, type="region name"))
            if e.moment_tensor or e.half_duration_in_seconds:
                m = e.moment_tensor
                tensor = None if not m else Tensor(m_rr=m["mrr"], m_tt=m["mtt"], m_pp=m["mpp"], m_rt=m["mrt"], m_rp=m["mrp"], m_tp=m["mtp"])
                stf = SourceTimeFunction(duration=2.0 * e.half_duration_in_seconds)
                ev.focal_mechanisms.append(FocalMechanism(moment_tensor=MomentTensor(
                    tensor=tensor, scalar_moment=e.scalar_moment, source_time_function=stf)))
            cat.append(ev)
        networks: dict[str, Network] = {}
        for s in self.stations:
            net = networks.setdefault(s.network, Network(code=s.network))
            net.stations.append(ObsStation(code=s.station, latitude=s.latitude, longitude=s.longitude, elevation=s.elevation_in_m))
        return cat, Inventory(networks=list(networks.values()), source="fwi-widgets")
