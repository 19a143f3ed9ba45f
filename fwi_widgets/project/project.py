"""The project on disk: the only truth. ``sn.Project`` opens one; ``p += config`` registers.

Every configuration is validated against what the project already holds before anything
is written, and written atomically (``store``). One process at a time may open a
project for writing (``lock``); opening it again in the same process is fine.
"""
from __future__ import annotations

import datetime
import json
import threading


from ..config import (
    BoxDomain, ConstantModel, EventCollection, GridModel, InverseProblemConfiguration, MapViewDomain,
    MisfitConfiguration, SimulationConfiguration, configuration_from_dict,
)
from ..config.events import Event, Station
from . import store
from .lock import ProjectLock
from .paths import ProjectPaths

__all__ = ["Project"]

_FORMAT = "fwi-widgets-project/1"


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
    """

    def __init__(self, path, *, read_only: bool = False, lock_timeout_in_seconds: float = 0.0):
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
            meta = store.read_json(self.paths.project_file)
            if meta.get("format") != _FORMAT:
                raise ValueError(f"{self.paths.project_file} is not an fwi-widgets project file (format {meta.get('format')!r}).")
            self.domain = configuration_from_dict(meta["domain"])
        except BaseException:
            self.close()  # a failed open must not keep other processes out
            raise
        self.mutex = threading.RLock()
        from ..workflow.inversions import Inversions

        self.inversions = Inversions(self)
        self._viz = None

    @classmethod
    def from_domain(cls, path, domain, load_if_exists: bool = False) -> "Project":
        """Create a project for ``domain`` at ``path`` (or open it if ``load_if_exists``)."""
        paths = ProjectPaths(path)
        if not isinstance(domain, (MapViewDomain, BoxDomain)):
            raise TypeError(f"The 'domain' parameter must be a sn.MapViewDomain or sn.BoxDomain, but {domain!r} was given.")
        if paths.project_file.exists():
            if not load_if_exists:
                raise FileExistsError(
                    f"A project already exists at {paths.root}; pass load_if_exists=True to open it, or choose another path."
                )
            project = cls(path)
            if project.domain != domain:
                raise ValueError(f"The project at {paths.root} has a different domain ({project.domain}); open it with sn.Project(path=...).")
            return project
        paths.root.mkdir(parents=True, exist_ok=True)
        with ProjectLock(paths.root):
            store.write_json(paths.project_file, {
                "format": _FORMAT,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                "domain": domain.to_dict(),
            })
        return cls(path)

    @classmethod
    def open_read_only(cls, path) -> "Project":
        """Open without the write lock (what jobs use while the owner holds the lock)."""
        return cls(path, read_only=True)

    def close(self) -> None:
        """Release the write lock (also released when the process ends)."""
        if self._lock is not None:
            self._lock.release()

    def __repr__(self) -> str:
        return f"<fwi-widgets Project at {self.paths.root}: {len(self.events.list())} events>"

    # --- registration -------------------------------------------------------------------
    def __iadd__(self, configuration):
        self.add(configuration)
        return self

    def add(self, configuration) -> None:
        """Validate against the project and write. Re-adding an identical configuration
        is a no-op; a different one under an existing name is refused."""
        if self.read_only:
            raise PermissionError("This project was opened read-only; open it with sn.Project(path=...) to add configurations.")
        with self.mutex:
            if isinstance(configuration, EventCollection):
                self._add_events(configuration)
            elif isinstance(configuration, (ConstantModel, GridModel)):
                self._add_model(configuration)
            elif isinstance(configuration, SimulationConfiguration):
                self._check_simulation(configuration)
                self._write_configuration("simulation", configuration)
            elif isinstance(configuration, MisfitConfiguration):
                self._check_misfit(configuration)
                self._write_configuration("misfit", configuration)
            elif isinstance(configuration, InverseProblemConfiguration):
                self._check_inverse_problem(configuration)
                self._write_configuration("inverse_problem", configuration)
            else:
                raise TypeError(
                    "Only sn.EventCollection, sn.ConstantModel, sn.GridModel, sn.SimulationConfiguration, "
                    f"sn.MisfitConfiguration and sn.InverseProblemConfiguration can be added, not {type(configuration).__name__}."
                )

    def _write_configuration(self, kind: str, config) -> None:
        path = self.paths.configuration(kind, config.name)
        if path.exists():
            existing = store.read_json(path)
            if existing == json.loads(json.dumps(config.to_dict())):
                return
            what = {"inverse_problem": "An inverse problem", "models": "A model"}.get(kind, f"A {kind}")
            raise ValueError(
                f"{what} configuration named {config.name!r} already exists with different settings; "
                "configurations are immutable once used: add it under a new name."
            )
        store.write_json(path, config.to_dict())

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
        if path.exists() and store.read_json(path) != json.loads(json.dumps(item.to_dict())):
            raise ValueError(f"{kind[:-1].capitalize()} {name!r} already exists with different values.")
        return not path.exists()

    def _write_item(self, kind, name, item) -> None:
        if self._check_item(kind, name, item):
            store.write_json(self.paths.configuration(kind, name), item.to_dict())

    def _position(self, item) -> tuple[float, float]:
        x, y = self.domain.position(item)
        if not self.domain.contains(x, y):
            raise ValueError(f"{getattr(item, 'name', item)!r} at ({x:.0f}, {y:.0f}) m lies outside the project's domain {self.domain.extent}.")
        return x, y

    def _add_model(self, model) -> None:
        if isinstance(model, GridModel):
            if model.data is None:
                raise ValueError("A sn.GridModel needs 'data' (an xarray.Dataset) when it is added.")
            axes = list(self.domain.axis_names)
            for var in model.data.data_vars:
                if sorted(model.data[var].dims) != sorted(axes):
                    raise ValueError(f"The grid model's {var!r} must have dims {axes}, but it has {list(model.data[var].dims)}.")
            path = self.paths.grid_model(model.name)
            if path.exists() or self.paths.configuration("models", model.name).exists():
                raise ValueError(f"A model named {model.name!r} already exists; add it under a new name.")
            store.write_netcdf(path, model.data)
        self._write_configuration("models", model)

    # --- look-ups -----------------------------------------------------------------------
    def _names(self, kind: str) -> list[str]:
        folder = self.paths.configurations(kind)
        return sorted(p.stem for p in folder.glob("*.json") if not p.name.startswith(".")) if folder.is_dir() else []

    def _get(self, kind: str, name: str, what: str):
        path = self.paths.configuration(kind, name)
        if not isinstance(name, str) or not path.exists():
            raise ValueError(f"Unknown {what} {name!r}; valid names are {self._names(kind)}.")
        return configuration_from_dict(store.read_json(path))

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

    def list_configurations(self, kind: str) -> list[str]:
        return self._names(kind)

    def model_dataset(self, name: str):
        """A registered model as (kind, values): a dict of constants or an xarray.Dataset."""
        cfg = self.model_configuration(name)
        if isinstance(cfg, ConstantModel):
            return dict(cfg.values)
        return store.read_netcdf(self.paths.grid_model(name))

    def model_parameters(self, name: str) -> list[str]:
        values = self.model_dataset(name)
        return list(values) if isinstance(values, dict) else list(values.data_vars)

    # --- observed data ------------------------------------------------------------------
    def add_observed_data(self, event: str, stream, data_name: str = "observed") -> None:
        """Store observed waveforms (an obspy Stream) for an event as MiniSEED."""
        self.events.get(event)
        store.write_stream(self.paths.observed(data_name, event), stream)

    def observed_data(self, event: str, data_name: str = "observed"):
        path = self.paths.observed(data_name, event)
        if not path.exists():
            raise ValueError(f"No observed data {data_name!r} for event {event!r}; add it with p.add_observed_data(...).")
        return store.read_stream(path)

    # --- validation ----------------------------------------------------------------------
    def _check_simulation(self, cfg: SimulationConfiguration) -> None:
        params = self.model_parameters(cfg.model) if cfg.model in self._names("models") else None
        if params is None:
            raise ValueError(f"Unknown model {cfg.model!r}; valid names are {self._names('models')}.")
        if cfg.physics == "membrane" and not isinstance(self.domain, MapViewDomain):
            raise ValueError("The 'membrane' physics runs on a map-view domain; use 'sh', 'acoustic' or 'elastic' in a box.")
        need = {"membrane": [("VS", "RHO")], "sh": [("VS", "RHO"), ("VSH", "VSV", "RHO")], "acoustic": [("VP", "RHO")],
                "elastic": [("VP", "VS", "RHO"), ("VPV", "VPH", "VSV", "ETA", "RHO")]}[cfg.physics]
        if not any(all(p in params for p in group) for group in need):
            raise ValueError(f"The {cfg.physics!r} physics needs model parameters {need}, but model {cfg.model!r} has {params}.")

    def _check_misfit(self, cfg: MisfitConfiguration) -> None:
        sim = self.simulation_configuration(cfg.simulation_configuration)
        if cfg.min_period_in_seconds < sim.min_period_in_seconds:
            raise ValueError(
                f"The misfit's period band starts at {cfg.min_period_in_seconds} s, but the mesh of simulation configuration "
                f"{sim.name!r} resolves periods down to {sim.min_period_in_seconds} s only; use min_period_in_seconds >= "
                f"{sim.min_period_in_seconds} or a simulation configuration with a finer mesh."
            )

    def _check_inverse_problem(self, cfg: InverseProblemConfiguration) -> None:
        known = self.events.list()
        missing = [e for e in cfg.events if e not in known]
        if missing:
            raise ValueError(f"Unknown event(s) {missing}; valid names are {known}.")
        misfit = self.misfit_configuration(cfg.misfit_configuration)
        sim = self.simulation_configuration(cfg.prior_model)
        if misfit.simulation_configuration != sim.name:
            raise ValueError(
                f"The misfit configuration {misfit.name!r} compares synthetics of {misfit.simulation_configuration!r}, "
                f"but the prior model is {sim.name!r}; use the same simulation configuration."
            )
        params = self.model_parameters(sim.model)
        cfg.mapping.physical_parameters(params)
        if cfg.preconditioner is not None:
            refs = cfg.preconditioner.reference_velocities
            bad = {k: v for k, v in refs.items() if v not in params}
            if bad:
                raise ValueError(f"Reference velocities {bad} are not parameters of the prior model, which has {params}.")
        for event in cfg.events:
            if not self.paths.observed(misfit.observed_data, event).exists():
                raise ValueError(
                    f"Event {event!r} has no observed data {misfit.observed_data!r}; add it with p.add_observed_data(...)."
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
        return [configuration_from_dict(store.read_json(self._p.paths.configuration("stations", n)))
                for n in self._p._names("stations")]
