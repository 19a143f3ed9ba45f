"""The project on disk: the only truth. ``sn.Project`` opens one; ``p += config`` registers.

Every configuration is validated against what the project already holds before anything
is written, and written atomically (``store``). One process at a time may open a
project for writing (``lock``); opening it again in the same process is fine. A
project opened read-only writes nothing: every writing entry point asks
:meth:`Project._require_writable` first. A project made by an example recipe
(``sn.examples``) records in ``project.json`` that its build is under way and, at its
end, that it is complete; an unfinished build does not open (:class:`IncompleteProjectError`).
"""
from __future__ import annotations

import datetime
import json
import threading


from ..config import (
    BoxDomain, ConstantModel, DataSelectionConfiguration, EventCollection, GridModel, InverseProblemConfiguration,
    MapViewDomain, MisfitConfiguration, SeismologyProcessingConfiguration, SimulationConfiguration,
    configuration_from_dict,
)
from ..config.domain import SphericalChunkDomain
from ..config.events import Event, Station
from . import store
from .lock import ProjectLock
from .paths import ProjectPaths

__all__ = ["Project", "IncompleteProjectError"]

_FORMAT = "fwi-widgets-project/1"
# The key of project.json that an example build writes (see fwi_widgets.examples._build).
_EXAMPLE_BUILD = "example_build"


class IncompleteProjectError(RuntimeError):
    """The project is an example whose build was interrupted, or is still running elsewhere."""


def _intact(path) -> bool:
    """Whether ``path`` exists and passes its checksum."""
    try:
        store.verify(path)
    except (FileNotFoundError, store.CorruptFileError):
        return False
    return True


def _comparable(record: dict) -> dict:
    """An event or station record with its origin time as an instant: QuakeML writes
    "18:07:48.000000Z" where a fact sheet says "18:07:48.000Z", the same time."""
    if isinstance(record, dict) and isinstance(record.get("origin_time"), str):
        from obspy import UTCDateTime

        try:
            return {**record, "origin_time": UTCDateTime(record["origin_time"]).ns}
        except (TypeError, ValueError):
            return record
    return record


def example_call(root, build: dict) -> str:
    """The call that builds (and finishes) the example described by ``build`` at ``root``."""
    arguments = "".join(f", {key}={value!r}" for key, value in build["arguments"].items())
    return f"sn.examples.{build['example']}({str(root)!r}{arguments})"


class Project:
    """An FWI project directory.

    ``Project(path)`` opens an existing project; :meth:`from_domain` creates one.
    ``p += <configuration>`` registers events (an :class:`EventCollection`), models,
    simulation, misfit and inverse-problem configurations by name; ``p.inversions``
    runs inversions; ``p.viz.nb`` shows widgets.

    Parameters
    ----------
    path : str or os.PathLike
        The project directory.
    read_only : bool
        Open without the write lock (nothing can be added or run).
    lock_timeout_in_seconds : float
        How long to wait for another process to let go of the write lock (s); 0 refuses
        at once. A dashboard page waits, because the kernel of the page it replaces may
        still be shutting down.

    Raises
    ------
    IncompleteProjectError
        The project is an example (``sn.examples``) whose build has not finished.
    """

    def __init__(self, path, *, read_only: bool = False, lock_timeout_in_seconds: float = 0.0,
                 _allow_unfinished_build: bool = False):
        self.paths = ProjectPaths(path)
        self.read_only = read_only
        if not self.paths.project_file.exists():
            raise FileNotFoundError(
                f"There is no project at {self.paths.root}; create one with "
                "sn.Project.from_domain(path=..., domain=...)."
            )
        if isinstance(lock_timeout_in_seconds, bool) or not isinstance(lock_timeout_in_seconds, (int, float)) \
                or not lock_timeout_in_seconds >= 0:
            raise ValueError("The 'lock_timeout_in_seconds' parameter must be a number >= 0, but "
                             f"{lock_timeout_in_seconds!r} was given.")
        self._lock = None if read_only else ProjectLock(self.paths.root)
        if self._lock is not None:
            self._lock.acquire(timeout=lock_timeout_in_seconds)
        try:
            if self._lock is not None:
                # Left-over temporary files of writes killed mid-way (never read; safe to
                # drop now that no other process can be writing).
                store.clean_temporaries(self.paths.root)
            meta = self._read_project_file()
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{self.paths.project_file} is not an fwi-widgets project file (format {meta.get('format')!r}).")
            self.domain = configuration_from_dict(meta["domain"])
            build = meta.get(_EXAMPLE_BUILD)
            if build is not None and not build.get("complete") and not _allow_unfinished_build:
                call = example_call(self.paths.root, build)
                raise IncompleteProjectError(
                    f"The project at {self.paths.root} is an unfinished build of {call}: that build was interrupted "
                    f"(or is still running in another process), so the project lacks part of its content. Run {call} "
                    f"again to finish it (it keeps what is already there), or delete the directory {self.paths.root} "
                    "and build it anew."
                )
        except BaseException:
            self.close()  # a failed open must not keep other processes out
            raise
        self.mutex = threading.RLock()
        from ..workflow.inversions import Inversions

        self.inversions = Inversions(self)
        self._viz = None

    @classmethod
    def from_domain(cls, path, domain, load_if_exists: bool = False) -> "Project":
        """Create a project for ``domain`` at ``path`` (or open it if ``load_if_exists``).

        The write lock is held from the check that no project exists until the new one
        is open, so another process can neither create the same project meanwhile nor
        take it over between its creation and its opening.

        Parameters
        ----------
        path : str or os.PathLike
            The project directory.
        domain : sn.MapViewDomain, sn.BoxDomain or sn.domain.dim3.SphericalChunkDomain
            Stored in ``project.json``; opening an existing project with another domain
            is refused.
        load_if_exists : bool
            Open the project at ``path`` if there is one (with the same domain).
        """
        paths = ProjectPaths(path)
        if not isinstance(domain, (MapViewDomain, BoxDomain, SphericalChunkDomain)):
            raise TypeError(
                "The 'domain' parameter must be a sn.MapViewDomain or sn.BoxDomain (2D) or a "
                f"sn.domain.dim3.SphericalChunkDomain (3D), but {domain!r} was given."
            )
        if paths.project_file.exists() and not load_if_exists:
            raise cls._exists_error(paths)
        paths.root.mkdir(parents=True, exist_ok=True)
        with ProjectLock(paths.root):
            if paths.project_file.exists():  # (again: another process may have made it meanwhile)
                if not load_if_exists:
                    raise cls._exists_error(paths)
                project = cls(path)
                if project.domain != domain:
                    project.close()
                    raise ValueError(f"The project at {paths.root} has a different domain ({project.domain}); open it with sn.Project(path=...).")
                return project
            cls._create_project_file(paths, domain)
            return cls(path)  # re-entrant: the lock taken above is shared, never let go in between

    @staticmethod
    def _exists_error(paths: ProjectPaths) -> FileExistsError:
        return FileExistsError(
            f"A project already exists at {paths.root}; pass load_if_exists=True to open it, or choose another path."
        )

    @staticmethod
    def _create_project_file(paths: ProjectPaths, domain, example_build: dict | None = None) -> None:
        """Write a new ``project.json`` (the caller holds the write lock and checked that there is none)."""
        meta = {
            "format": _FORMAT,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "domain": domain.to_dict(),
        }
        if example_build is not None:
            meta[_EXAMPLE_BUILD] = example_build
        store.write_json(paths.project_file, meta)
        store.keep_copy(paths.project_file)  # a first version to fall back to if it is ever damaged

    @staticmethod
    def _example_build_of(paths: ProjectPaths) -> dict | None:
        """What ``project.json`` says of the example build that made the project (None if none did)."""
        return store.read_json(paths.project_file).get(_EXAMPLE_BUILD)

    def _finish_example_build(self) -> None:
        """Record in ``project.json`` that the example build of this project is complete."""
        self._require_writable("finish an example build")
        meta = store.read_json(self.paths.project_file)
        meta[_EXAMPLE_BUILD] = dict(meta[_EXAMPLE_BUILD], complete=True)
        store.write_json(self.paths.project_file, meta)
        store.keep_copy(self.paths.project_file)  # the version to fall back to is the complete one

    @classmethod
    def open_read_only(cls, path) -> "Project":
        """Open without the write lock (what jobs use while the owner holds the lock)."""
        return cls(path, read_only=True)

    def close(self) -> None:
        """Release the write lock (also released when the process ends)."""
        if self._lock is not None:
            self._lock.release()

    def _require_writable(self, action: str) -> None:
        """The one check of read-only mode: a read-only project writes nothing at all.

        Every entry point that writes (the workflow's ``add_iteration``, ``resume``,
        ``iterate``, ...) calls it before it reads or writes anything.

        Raises
        ------
        PermissionError
            The project was opened read-only.
        """
        if self.read_only:
            raise PermissionError(
                f"This project was opened read-only (nothing is written then), so it cannot {action}. Open it with "
                f"sn.Project(path={str(self.paths.root)!r}) to {action}; if another process holds the project open "
                "for writing (a notebook kernel or a dashboard), do it there, or close it there first."
            )

    def __repr__(self) -> str:
        return f"<fwi-widgets Project at {self.paths.root}: {len(self.events.list())} events>"

    # --- registration -------------------------------------------------------------------
    def __iadd__(self, configuration):
        self.add(configuration)
        return self

    def add(self, configuration, *, overwrite: bool = False) -> None:
        """Validate ``configuration`` against the project and write it (``p += configuration``
        is ``p.add(configuration)``). Nothing is written when it is refused.

        Parameters
        ----------
        configuration : sn.EventCollection, sn.Event, sn.ConstantModel, sn.GridModel,
            sn.SimulationConfiguration, sn.MisfitConfiguration or sn.InverseProblemConfiguration
            An sn.Event is added with its receivers (``sn.Event(sources=..., receivers=...)``),
            as ``sn.EventCollection(events=[event], stations=[...])``.
        overwrite : bool
            Re-adding an identical configuration is a no-op; a different one under an
            existing name is refused unless ``overwrite=True``. Then a model, simulation,
            misfit or inverse-problem configuration is replaced, provided no inverse problem
            that uses it (it itself, or one naming it directly or through the configurations
            it names) has an iteration yet: once one has, the configuration is what that
            iteration ran with, and the change must go under a new name. The configurations
            that use the replaced one are checked again against the replacement; the new
            version is written atomically and the old one kept as ``<name>.json.prev`` (by
            :mod:`fwi_widgets.project.store`). Events and stations are never replaced.

        Examples
        --------
        Fix the trust region of an inverse problem before its first iteration::

            p.add(config.replace(method=sn.TrustRegion(initial_trust_region_linf=0.05)), overwrite=True)
        """
        if self.read_only:
            raise PermissionError("This project was opened read-only; open it with sn.Project(path=...) to add configurations.")
        if not isinstance(overwrite, bool):
            raise TypeError(f"The 'overwrite' parameter must be True or False, but {overwrite!r} was given.")
        with self.mutex:
            if isinstance(configuration, EventCollection):
                self._add_events(configuration)
            elif isinstance(configuration, Event):  # with its receivers: sn.Event(sources=..., receivers=...)
                self._add_events(EventCollection(events=[configuration], stations=list(configuration.receivers)))
            elif isinstance(configuration, (ConstantModel, GridModel)):
                self._add_model(configuration, overwrite=overwrite)
            elif isinstance(configuration, SimulationConfiguration):
                self._check_simulation(configuration)
                self._write_configuration("simulation", configuration, overwrite)
            elif isinstance(configuration, MisfitConfiguration):
                self._check_misfit(configuration)
                self._write_configuration("misfit", configuration, overwrite)
            elif isinstance(configuration, InverseProblemConfiguration):
                self._check_inverse_problem(configuration)
                self._write_configuration("inverse_problem", configuration, overwrite)
            elif isinstance(configuration, SeismologyProcessingConfiguration):
                from ..workflow.processing import add_processing

                add_processing(self, configuration, overwrite=overwrite)
            elif isinstance(configuration, DataSelectionConfiguration):
                self._check_data_selection(configuration)
                self._write_configuration("data_selection", configuration, overwrite)
            else:
                raise TypeError(
                    "Only sn.Event, sn.EventCollection, sn.ConstantModel, sn.GridModel, sn.SimulationConfiguration, "
                    "sn.processing.seismology.SeismologyProcessingConfiguration, sn.MisfitConfiguration and "
                    f"sn.InverseProblemConfiguration can be added, not {type(configuration).__name__}."
                )

    def _write_configuration(self, kind: str, config, overwrite: bool = False) -> None:
        path = self.paths.configuration(kind, config.name)
        if path.exists() and _intact(path):  # a damaged one is replaced by the one added (see _damaged_advice)
            existing = store.read_json(path)
            if existing == json.loads(json.dumps(config.to_dict())):
                return
            if not overwrite:
                raise self._check_conflict(kind, config.name, "already exists with different settings")
            self._check_replacement(kind, config)
        store.write_json(path, config.to_dict())  # keeps the old version as <name>.json.prev

    def _add_events(self, collection: EventCollection) -> None:
        # Check everything first: nothing is written unless all of it can be.
        for item, kind in [(s, "stations") for s in collection.stations] + [(e, "events") for e in collection.events]:
            self._position(item)
            self._check_item(kind, item.name, item)
        for station in collection.stations:
            self._write_item("stations", station.name, station)
        for event in collection.events:
            self._write_item("events", event.name, event)

    def _check_item(self, kind, name, item) -> bool:
        """True if the item must be written; an error if it conflicts with a stored one."""
        path = self.paths.configuration(kind, name)
        if not _intact(path):  # missing, or damaged: the item added replaces it (see _damaged_advice)
            return True
        stored, given = store.read_json(path), json.loads(json.dumps(item.to_dict()))
        if _comparable(stored) != _comparable(given):
            raise ValueError(f"{kind[:-1].capitalize()} {name!r} already exists with different values.")
        return False

    def _write_item(self, kind, name, item) -> None:
        if self._check_item(kind, name, item):
            store.write_json(self.paths.configuration(kind, name), item.to_dict())

    def _position(self, item) -> tuple[float, ...]:
        """The item's position in the domain; a ValueError naming it if it lies outside (``domain.locate``)."""
        return self.domain.locate(item)

    def _add_model(self, model, overwrite: bool = False) -> None:
        if isinstance(model, GridModel):
            if model.data is None:
                raise ValueError("A sn.GridModel needs 'data' (an xarray.Dataset) when it is added.")
            axes = list(self.domain.axis_names)
            for var in model.data.data_vars:
                if sorted(model.data[var].dims) != sorted(axes):
                    raise ValueError(f"The grid model's {var!r} must have dims {axes}, but it has {list(model.data[var].dims)}.")
            path = self.paths.grid_model(model.name)
            stored = [f for f in (path, self.paths.configuration("models", model.name)) if f.exists()]
            # A damaged data file or configuration is replaced by the model added (see _damaged_advice).
            if stored and all(_intact(f) for f in stored):
                if not overwrite:
                    raise self._check_conflict("models", model.name, "already exists")
                self._check_replacement("models", model)  # before the data are written
            store.write_netcdf(path, model.data)
        self._write_configuration("models", model, overwrite)

    # --- damaged files ------------------------------------------------------------------
    def _read_project_file(self) -> dict:
        """``project.json``; a damaged one is read from its kept version (put back if writable)."""
        path = self.paths.project_file
        advice = (f"There is no intact previous version of it. Delete {path} and write it again with "
                  f"sn.Project.from_domain(path={str(self.paths.root)!r}, domain=...) and the domain the project was "
                  "created with, or, for a project an example made, run the sn.examples call that made it (for "
                  f"instance sn.examples.workshop_2d({str(self.paths.root)!r}, size=...)): both keep everything else "
                  "in the project, its inversions too.")
        try:
            return store.read_json(path, advice=advice)
        except store.CorruptFileError:
            # Raises the error above if the kept version is damaged or missing too.
            meta = store.read_json(path, fallback_to_previous=True, advice=advice)
        if self._lock is not None:
            store.recover(path)
        return meta

    def _damaged_advice(self, kind: str, name: str, path, data_name: str | None = None) -> str:
        """What the message about a damaged file of the project tells a user to do (an action that works).

        ``kind`` is a configuration kind, or "observed" for observed data. Re-adding an
        item replaces a damaged file (:meth:`add`, :meth:`add_observed_data`); an example
        project builds a missing piece again when its build is run again, which a
        missing ``project.json`` makes it do (:mod:`fwi_widgets.examples._build`).
        """
        add = {
            "events": f"p += sn.EventCollection(events=[sn.Event(name={name!r}, ...)], stations=[...]) with the "
                      "values it was first added with",
            "stations": "p += sn.EventCollection(events=[...], stations=[sn.Station(...)]) with the events and "
                        f"stations it was first added with (station {name!r} among them)",
            "models": f"p += sn.ConstantModel(name={name!r}, ...) or sn.GridModel(name={name!r}, data=...) as it was "
                      "first added",
            "simulation": f"p += sn.SimulationConfiguration(name={name!r}, ...) with the settings it was first added with",
            "misfit": f"p += sn.MisfitConfiguration(name={name!r}, ...) with the settings it was first added with",
            "inverse_problem": f"p += sn.InverseProblemConfiguration(name={name!r}, ...) with the settings it was "
                               "first added with",
            "observed": f"p.add_observed_data({name!r}, stream, data_name={data_name!r}) with the obspy Stream it was "
                        "first added from",
            "processing": f"p += sn.processing.seismology.SeismologyProcessingConfiguration(name={name!r}, ...) with "
                          "the function it was first added with",
            "data_selection": f"p.actions.seismology.pick_windows(data_selection_configuration={name!r}, ...) after "
                              f"deleting {path}",
        }[kind]
        yours = f"add it again: {add}; the one added replaces the damaged file."
        try:
            build = store.read_json(self.paths.project_file, fallback_to_previous=True).get(_EXAMPLE_BUILD)
        except (store.CorruptFileError, FileNotFoundError):
            build = None
        if build is None or kind == "inverse_problem":  # examples make no inverse problems
            return yours[0].upper() + yours[1:]
        call = example_call(self.paths.root, build)
        delete = [path] if kind != "models" else [
            f for f in (self.paths.grid_model(name), self.paths.configuration("models", name)) if f == path or f.exists()]
        delete = " and ".join(str(f) for f in dict.fromkeys([*delete, self.paths.project_file]))
        noun = {"events": "this event", "stations": "this station", "models": "this model",
                "observed": "these data"}.get(kind, "this configuration")
        return (f"This project was built by {call}, which builds what is missing again: delete {delete}, then run "
                f"{call}; everything else in the project (its inversions too) is kept. If you added {noun} "
                f"yourself, instead {yours}")

    # --- look-ups -----------------------------------------------------------------------
    def _names(self, kind: str) -> list[str]:
        folder = self.paths.configurations(kind)
        return sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []

    def _get(self, kind: str, name: str, what: str):
        path = self.paths.configuration(kind, name)
        if not isinstance(name, str) or not path.exists():
            raise ValueError(f"Unknown {what} {name!r}; valid names are {self._names(kind)}.")
        return configuration_from_dict(store.read_json(path, advice=self._damaged_advice(kind, name, path)))

    @property
    def events(self) -> "_Events":
        return _Events(self)

    def simulation_configuration(self, name: str) -> SimulationConfiguration:
        return self._get("simulation", name, "simulation configuration")

    def misfit_configuration(self, name: str) -> MisfitConfiguration:
        return self._get("misfit", name, "misfit configuration")

    def inverse_problem_configuration(self, name: str) -> InverseProblemConfiguration:
        return self._get("inverse_problem", name, "inverse problem configuration")

    def model_configuration(self, name: str):
        return self._get("models", name, "model")

    def processing_configuration(self, name: str) -> SeismologyProcessingConfiguration:
        return self._get("processing", name, "processing configuration")

    def data_selection_configuration(self, name: str) -> DataSelectionConfiguration:
        return self._get("data_selection", name, "data selection configuration")

    def station_inventory(self):
        """The project's stations as an obspy Inventory (coordinates; no responses)."""
        return EventCollection(events=[], stations=self.events.stations()).to_obspy()[1]

    @property
    def actions(self):
        """``p.actions.seismology.pick_windows(...)`` (Part 3 of the tutorial)."""
        from types import SimpleNamespace

        from ..workflow import data_selection

        return SimpleNamespace(seismology=SimpleNamespace(
            pick_windows=lambda **kwargs: data_selection.pick_windows(self, **kwargs)))

    def list_configurations(self, kind: str) -> list[str]:
        return self._names(kind)

    def model_dataset(self, name: str):
        """A registered model as (kind, values): a dict of constants or an xarray.Dataset."""
        cfg = self.model_configuration(name)
        if isinstance(cfg, ConstantModel):
            return dict(cfg.values)
        path = self.paths.grid_model(name)
        return store.read_netcdf(path, advice=self._damaged_advice("models", name, path))

    def model_parameters(self, name: str) -> list[str]:
        values = self.model_dataset(name)
        return list(values) if isinstance(values, dict) else list(values.data_vars)

    # --- observed data ------------------------------------------------------------------
    def add_observed_data(self, event: str, stream, data_name: str = "observed", inventory=None) -> None:
        """Check observed waveforms (an obspy Stream) of an event and store them as MiniSEED.

        ``data_name`` is ``"<name>"`` or ``"EXTERNAL_DATA:<name>"`` (the same data). With
        ``inventory`` (an obspy Inventory, e.g. the StationXML with instrument responses
        the recordings came with), the StationXML is stored beside the traces for
        processing (``inv`` of the processing function; responses removed there).

        The data are refused (``ValueError`` naming the stations, nothing written) where
        they make a measurement impossible: NaN or inf samples, a non-positive sampling
        rate or one that differs between the event's traces, sampling too coarse for the
        registered periods, traces that end before the event's origin time or cover less
        than half of the simulated record (a wrong start time or sampling-rate header),
        gaps longer than a quarter of the shortest period, several channels for one
        station and component. Channels in several segments with shorter gaps are merged
        (linear interpolation) and logged; see :mod:`fwi_widgets.project.observed`.
        Register the simulation (and misfit) configurations first, so that the record
        length and the periods are known.
        """
        import logging

        from obspy import UTCDateTime

        from .observed import Expectations, check_stream

        self._require_writable("add observed data")
        with self.mutex:
            ev = self.events.get(event)
            # The configurations that will measure these data: misfits reading data_name
            # (and their simulations); before any misfit exists, every simulation.
            misfits = [m for m in (self.misfit_configuration(n) for n in self._names("misfit")) if m.observed_data == data_name]
            sims = [self.simulation_configuration(n) for n in
                    (sorted({m.simulation_configuration for m in misfits}) if misfits else self._names("simulation"))]
            periods = [m.min_period_in_seconds for m in misfits] or [s.min_period_in_seconds for s in sims]
            expect = Expectations(
                event=event, origin_time=UTCDateTime(ev.origin_time),
                record_length_in_seconds=max((s.end_time_in_seconds for s in sims), default=None),
                min_period_in_seconds=min(periods, default=None), max_period_in_seconds=max(periods, default=None),
                stations=tuple(s.name for s in self.events.stations()),
            )
            checked, notes = check_stream(stream, expect)
            for note in notes:
                logging.getLogger("fwi_widgets").warning(note)
            if inventory is not None:
                import io

                from obspy import Inventory

                if not isinstance(inventory, Inventory):
                    raise TypeError(f"The 'inventory' parameter must be an obspy Inventory, but {inventory!r} was given.")
                buffer = io.BytesIO()
                inventory.write(buffer, format="STATIONXML")
                store.write_bytes(self.paths.inventory(data_name, event), buffer.getvalue())
            store.write_stream(self.paths.observed(data_name, event), checked)

    def observed_data(self, event: str, data_name: str = "observed"):
        """The stored observed waveforms (an obspy Stream) of an event, as checked when added."""
        path = self.paths.observed(data_name, event)
        if not path.exists():
            raise ValueError(f"No observed data {data_name!r} for event {event!r}; add it with p.add_observed_data(...).")
        return store.read_stream(path, advice=self._damaged_advice("observed", event, path, data_name=data_name))

    # --- validation ----------------------------------------------------------------------
    # ``replaced`` maps (kind, name) to a configuration that replaces the stored one, so that
    # the users of a configuration are checked against its replacement before it is written.
    def _check_lookup(self, kind: str, name: str, what: str, replaced: dict | None):
        if replaced and (kind, name) in replaced:
            return replaced[(kind, name)]
        return self._get(kind, name, what)

    def _check_model_parameters(self, name: str, replaced: dict | None) -> list[str] | None:
        """The parameters of model ``name`` (None if there is no such model)."""
        model = (replaced or {}).get(("models", name))
        if model is not None:
            return list(model.values) if isinstance(model, ConstantModel) else list(model.data.data_vars)
        return self.model_parameters(name) if name in self._names("models") else None

    def _check_users(self, kind: str, name: str) -> list[tuple[str, object]]:
        """(kind, configuration) of every configuration that uses ``kind``/``name``, directly or
        through others: simulations name a model, misfits a simulation, inverse problems a
        simulation (the prior) and a misfit. In the order they must be checked again."""
        links = {"simulation": (("models", "model"),),
                 "misfit": (("simulation", "simulation_configuration"),
                            ("data_selection", "data_selection_configuration")),
                 "inverse_problem": (("simulation", "prior_model"), ("misfit", "misfit_configuration"))}
        stored = {k: [self._get(k, n, k) for n in self._names(k)] for k in links}
        found, frontier = [], [(kind, name)]
        while frontier:
            used_kind, used_name = frontier.pop()
            for user_kind, refs in links.items():
                for cfg in stored[user_kind]:
                    if any(k == used_kind and getattr(cfg, attr) == used_name for k, attr in refs) \
                            and all(cfg is not c for _, c in found):
                        found.append((user_kind, cfg))
                        frontier.append((user_kind, cfg.name))
        order = list(links)
        return sorted(found, key=lambda item: order.index(item[0]))

    def _check_started(self, kind: str, name: str) -> dict[str, list[int]]:
        """{inverse problem: its iteration numbers} of the inverse problems that use
        ``kind``/``name`` and have at least one iteration record (have started)."""
        problems = [name] if kind == "inverse_problem" else []
        problems += [cfg.name for k, cfg in self._check_users(kind, name) if k == "inverse_problem"]
        return {problem: self.paths.iterations(problem) for problem in problems if self.paths.iterations(problem)}

    def _check_conflict(self, kind: str, name: str, problem: str) -> ValueError:
        """The refusal of a different configuration under an existing name."""
        what = {"inverse_problem": "An inverse problem", "models": "A model"}.get(kind, f"A {kind}")
        started = self._check_started(kind, name)
        if started:
            ran = ", ".join(f"iteration(s) {numbers} of inverse problem {problem_name!r}"
                            for problem_name, numbers in started.items())
            return ValueError(
                f"{what} configuration named {name!r} {problem}, and {ran} ran with it; a configuration is immutable "
                "once an iteration uses it: add it under a new name."
            )
        return ValueError(
            f"{what} configuration named {name!r} {problem}; no iteration uses it yet, so you may replace it with "
            "p.add(configuration, overwrite=True), or add it under a new name."
        )

    def _check_replacement(self, kind: str, config) -> None:
        """Refuse to replace a configuration that an iteration used, or one whose users the
        replacement would break (they are checked again as if it were written)."""
        started = self._check_started(kind, config.name)
        if started:
            raise self._check_conflict(kind, config.name, "cannot be replaced")
        replaced = {(kind, config.name): config}
        checks = {"simulation": self._check_simulation, "misfit": self._check_misfit,
                  "inverse_problem": self._check_inverse_problem}
        for user_kind, user in self._check_users(kind, config.name):
            try:
                checks[user_kind](user, replaced=replaced)
            except ValueError as error:
                raise ValueError(
                    f"Replacing the {kind.replace('_', ' ')} configuration {config.name!r} would break the "
                    f"{user_kind.replace('_', ' ')} configuration {user.name!r}, which uses it: {error} "
                    "Add the new one under a new name instead."
                ) from None

    def _check_simulation(self, cfg: SimulationConfiguration, replaced: dict | None = None) -> None:
        chunk = isinstance(self.domain, SphericalChunkDomain)
        if chunk and not cfg.is_3d:
            membrane = "The 'membrane' physics runs on a map-view domain, and " if cfg.physics == "membrane" else ""
            raise ValueError(
                f"{membrane}{'a' if membrane else 'A'} spherical-chunk project needs the 3D form of "
                "sn.SimulationConfiguration: model_configuration=sn.ModelConfiguration(background_model="
                "'prem_ani_one_crust', volume_models=[...]), max_depth_in_meters=..., event_configuration="
                "sn.EventConfiguration(wavelet=..., waveform_simulation_configuration=...) and absorbing_boundaries="
                f"sn.AbsorbingBoundaryParameters(...), instead of model={cfg.model!r}."
            )
        if cfg.is_3d:
            if not chunk:
                raise ValueError(
                    f"The 3D form of sn.SimulationConfiguration (model_configuration, max_depth_in_meters, "
                    f"event_configuration, absorbing_boundaries) runs on a sn.domain.dim3.SphericalChunkDomain, but "
                    f"this project's domain is a 2D {type(self.domain).__name__}: give model=<a registered model>, "
                    "min_period_in_seconds, max_period_in_seconds and end_time_in_seconds instead."
                )
            self._check_simulation_3d(cfg, replaced)
            return
        params = self._check_model_parameters(cfg.model, replaced)
        if params is None:
            raise ValueError(f"Unknown model {cfg.model!r}; valid names are {self._names('models')}.")
        if getattr(self._check_lookup("models", cfg.model, "model", replaced), "kind", "absolute") == "relative":
            raise ValueError(f"The model {cfg.model!r} is a relative grid (perturbations of a 3D background), but a "
                             "2D simulation needs the model's values: add an absolute sn.GridModel or a sn.ConstantModel.")
        if cfg.physics == "membrane" and not isinstance(self.domain, MapViewDomain):
            raise ValueError("The 'membrane' physics runs on a map-view domain; use 'sh', 'acoustic' or 'elastic' in a box.")
        need = {"membrane": [("VS", "RHO")], "sh": [("VS", "RHO"), ("VSH", "VSV", "RHO")], "acoustic": [("VP", "RHO")],
                "elastic": [("VP", "VS", "RHO"), ("VPV", "VPH", "VSV", "ETA", "RHO")]}[cfg.physics]
        if not any(all(p in params for p in group) for group in need):
            raise ValueError(f"The {cfg.physics!r} physics needs model parameters {need}, but model {cfg.model!r} has {params}.")

    #: The most elements a spherical chunk's mesh may have (``p +=`` refuses more). 2 million
    #: order-4 hexahedra are ~1.3e8 GLL points, ~4e8 unknowns: about 50 GiB for a gradient's
    #: operator, state and a decimated forward store in float32, the most one node holds.
    MAX_CHUNK_ELEMENTS = 2_000_000

    def _check_simulation_3d(self, cfg: SimulationConfiguration, replaced: dict | None) -> None:
        """The 3D form on this project's chunk: volume models, sponge width, mesh size."""
        for name in cfg.volume_models:
            model = (replaced or {}).get(("models", name))
            if model is None and name in self._names("models"):
                model = self.model_configuration(name)
            if model is None:
                raise ValueError(f"Unknown volume model {name!r} of the model configuration; valid names are "
                                 f"{self._names('models')}. Add it first with p += sn.GridModel(name={name!r}, data=...).")
            if not isinstance(model, GridModel):
                raise ValueError(f"The volume model {name!r} must be a sn.GridModel on the chunk's "
                                 f"{list(self.domain.axis_names)} grid, but it is a {type(model).__name__}; a "
                                 "constant model would replace the background everywhere.")
        import numpy as np

        arguments = self.domain.mesh_arguments()  # refuses a sphere that is not the engine's Earth
        sponge = cfg.sponge_width_in_meters
        if sponge is not None:
            radius = float(self.domain.radius_in_meter)
            half_width = min(arguments["lat_extent"], arguments["lon_extent"]) / 2.0 * np.pi / 180.0 * radius
            limit = min(cfg.max_depth, half_width)
            if sponge >= limit:
                raise ValueError(
                    f"The sponge of absorbing_boundaries is {sponge / 1e3:.0f} km wide (number_of_wavelengths * "
                    f"reference_velocity / reference_frequency), but it must be narrower than the chunk's depth "
                    f"({cfg.max_depth / 1e3:.0f} km) and half its narrowest width ({half_width / 1e3:.0f} km), "
                    f"i.e. below {limit / 1e3:.0f} km, or it damps the waves everywhere; give fewer wavelengths."
                )
        count = self._chunk_elements(arguments, cfg, cfg.min_period_in_seconds)
        budget = self.MAX_CHUNK_ELEMENTS
        if count > budget:
            fits = self._chunk_period_that_fits(arguments, cfg, budget)
            raise ValueError(
                f"A minimum period of {cfg.min_period_in_seconds!r} s is too short for this chunk: its mesh would take "
                f"{count:,} elements ({cfg.elements_per_wavelength!r} elements per wavelength of "
                f"{cfg.background_model!r} to {cfg.max_depth / 1e3:g} km depth), more than the {budget:,} allowed "
                f"(Project.MAX_CHUNK_ELEMENTS). A minimum period of {fits:g} s or more fits; or reduce the chunk, the "
                "depth or elements_per_wavelength."
            )

    @staticmethod
    def _chunk_elements(arguments: dict, cfg: SimulationConfiguration, period: float) -> int:
        """The element count of ``engine.mesh.spherical_chunk`` for the chunk's ``arguments``
        (``domain.mesh_arguments()``) and ``cfg`` at a minimum period, without building it:
        the mesher's own sizing (its radial layers, and its lateral counts by the same rule)."""
        import numpy as np

        from engine.earth import by_name
        from engine.mesh.spherical_chunk import _radial_layers

        earth = by_name(cfg.background_model)
        surface = earth.radius
        fluid_tops = [top for (_, top), fluid in zip(earth.layers, earth.fluid_layers) if fluid]
        r_bottom = max(surface - cfg.max_depth, max(fluid_tops, default=0.0))
        epw = float(cfg.elements_per_wavelength)
        layers = _radial_layers(earth, r_bottom, surface, float(period), epw, earth.crust == "one_layer")
        a, b = np.radians(arguments["lon_extent"]) / 2.0, np.radians(arguments["lat_extent"]) / 2.0
        n_xi = max(1, max(int(np.ceil(epw * layer.r_top * 2 * a / layer.wavelength - 1e-9)) for layer in layers))
        n_eta = max(1, max(int(np.ceil(epw * layer.r_top * 2 * b / layer.wavelength - 1e-9)) for layer in layers))
        return n_xi * n_eta * sum(layer.n_elements for layer in layers)

    @classmethod
    def _chunk_period_that_fits(cls, arguments: dict, cfg: SimulationConfiguration, budget: int) -> float:
        """The shortest minimum period (s, rounded up to 3 significant digits) whose chunk mesh
        has at most ``budget`` elements (the count falls with the period, about as T^-3)."""
        import numpy as np

        short = float(cfg.min_period_in_seconds)
        long = short * 2.0 * (cls._chunk_elements(arguments, cfg, short) / budget) ** (1.0 / 3.0)
        while cls._chunk_elements(arguments, cfg, long) > budget:
            long *= 2.0
        for _ in range(60):
            if long - short <= 1e-4 * long:
                break
            middle = 0.5 * (short + long)
            short, long = (short, middle) if cls._chunk_elements(arguments, cfg, middle) <= budget else (middle, long)
        digits = 2 - int(np.floor(np.log10(long)))
        fits = np.ceil(long * 10.0 ** digits) / 10.0 ** digits
        return float(fits if cls._chunk_elements(arguments, cfg, fits) <= budget else long)

    def _check_misfit(self, cfg: MisfitConfiguration, replaced: dict | None = None) -> None:
        sim = self._check_lookup("simulation", cfg.simulation_configuration, "simulation configuration", replaced)
        if cfg.data_selection_configuration is not None:
            self._check_misfit_windows(cfg, replaced)
        if cfg.min_period_in_seconds < sim.min_period_in_seconds:
            raise ValueError(
                f"The misfit's period band starts at {cfg.min_period_in_seconds} s, but the mesh of simulation configuration "
                f"{sim.name!r} resolves periods down to {sim.min_period_in_seconds} s only; use min_period_in_seconds >= "
                f"{sim.min_period_in_seconds} or a simulation configuration with a finer mesh."
            )

    def _check_data_selection(self, cfg: DataSelectionConfiguration) -> None:
        known = self.events.list()
        unknown = [e for e in cfg.windows if e not in known]
        if unknown:
            raise ValueError(f"The data selection {cfg.name!r} has windows for unknown event(s) {unknown}; valid names "
                             f"are {known}.")

    def _check_misfit_windows(self, cfg: MisfitConfiguration, replaced: dict | None) -> None:
        """A misfit measuring picked windows measures them on the data and synthetics they were picked on."""
        selection = self._check_lookup("data_selection", cfg.data_selection_configuration,
                                       "data selection configuration", replaced)
        for what, mine, theirs in (("observed data", cfg.observed_data, selection.observed_data),
                                   ("synthetic processing", cfg.synthetic_processing, selection.synthetic_processing),
                                   ("simulation configuration", cfg.simulation_configuration,
                                    selection.synthetic_data.partition(":")[2] or selection.synthetic_data)):
            if mine != theirs:
                raise ValueError(
                    f"The windows of data selection {selection.name!r} were picked with {what} {theirs!r}, but the "
                    f"misfit configuration {cfg.name!r} has {mine!r}; use the same, or pick windows again with these."
                )

    def _check_inverse_problem(self, cfg: InverseProblemConfiguration, replaced: dict | None = None) -> None:
        known = self.events.list()
        missing = [e for e in cfg.events if e not in known]
        if missing:
            raise ValueError(f"Unknown event(s) {missing}; valid names are {known}.")
        misfit = self._check_lookup("misfit", cfg.misfit_configuration, "misfit configuration", replaced)
        sim = self._check_lookup("simulation", cfg.prior_model, "simulation configuration", replaced)
        if misfit.simulation_configuration != sim.name:
            raise ValueError(
                f"The misfit configuration {misfit.name!r} compares synthetics of {misfit.simulation_configuration!r}, "
                f"but the prior model is {sim.name!r}; use the same simulation configuration."
            )
        if sim.is_3d:  # the background Earth model's parameters (volume models perturb them)
            params = list(sim.model_configuration.parameters)
        else:
            params = self._check_model_parameters(sim.model, replaced)
        if params is None:
            raise ValueError(f"Unknown model {sim.model!r} of simulation configuration {sim.name!r}; valid names are "
                             f"{self._names('models')}.")
        cfg.mapping.physical_parameters(params)
        if cfg.preconditioner is not None:
            # Smoothing lengths: one, or one per axis of the domain (the preconditioner job
            # would fail on any other count, after the simulations ran).
            axes = list(self.domain.axis_names)
            for parameter, lengths in cfg.preconditioner.dimension_problems(len(axes)).items():
                raise ValueError(
                    f"The 'smoothing_lengths_in_wavelengths[{parameter!r}]' parameter must be one length or {len(axes)} "
                    f"(one per axis of the project's domain, {axes}), but {lengths!r} was given."
                )
            # The reference velocity of each inversion parameter: the one given, else the
            # parameter itself if it is a velocity, else VS (workflow.preconditioning).
            given = cfg.preconditioner.reference_velocities
            refs = {q: given.get(q, q if q.startswith("V") else "VS") for q in cfg.mapping.inversion_parameters}
            bad = {k: v for k, v in refs.items() if v not in params}
            if bad:
                raise ValueError(
                    f"Reference velocities {bad} are not parameters of the prior model, which has {params}; name one "
                    "of its velocities in 'reference_velocities'."
                )
        for event in cfg.events:
            if not self.paths.observed(misfit.observed_data, event).exists():
                raise ValueError(
                    f"Event {event!r} has no observed data {misfit.observed_data!r}; add it with p.add_observed_data(...)."
                )
        if misfit.data_selection_configuration is not None:
            # An event without a window would add nothing to the misfit and the gradient:
            # refused here, in the cell that names it, never a silent zero.
            selection = self._check_lookup("data_selection", misfit.data_selection_configuration,
                                           "data selection configuration", replaced)
            empty = {e: selection.rejection_reasons(e) for e in cfg.events if selection.n_accepted(e) == 0}
            if empty:
                details = "; ".join(f"{e}: " + (", ".join(f"{n} rejected ({why})" for why, n in reasons.items())
                                                 if reasons else "no window picked") for e, reasons in empty.items())
                raise ValueError(
                    f"Event(s) {sorted(empty)} have no accepted window in data selection {selection.name!r} ({details}); "
                    "leave them out of 'events', or pick windows again with other settings "
                    "(p.viz.nb.windows(...) shows why each window was rejected)."
                )

    # --- widgets -----------------------------------------------------------------------------
    @property
    def viz(self):
        if self._viz is None:
            from ..views import Viz

            self._viz = Viz(self)
        return self._viz


class _Events:
    """``p.events``: the registered events and stations."""

    def __init__(self, project: Project):
        self._p = project

    def list(self) -> list[str]:
        return self._p._names("events")

    def get(self, name: str) -> Event:
        return self._p._get("events", name, "event")

    def stations(self) -> list[Station]:
        paths = [(n, self._p.paths.configuration("stations", n)) for n in self._p._names("stations")]
        return [configuration_from_dict(store.read_json(path, advice=self._p._damaged_advice("stations", n, path)))
                for n, path in paths]
