"""Building an example project so that an interrupted build is finished, not mistaken for a whole one.

An example (:func:`~fwi_widgets.examples.workshop_2d`, and any example to come) is a
domain plus a *recipe*: a function of the open project that adds everything else.
:func:`build_example` runs it so that

* ``project.json`` is written with a build marker (the example's name, its arguments,
  ``complete: false``) before the recipe's first step, and marked complete after its
  last one (both atomic writes, :mod:`fwi_widgets.project.store`). A project whose
  build was killed does not open (``sn.Project(path)`` raises
  :class:`~fwi_widgets.project.project.IncompleteProjectError`, naming the call that
  finishes it);
* the same call again finishes the build: the recipe runs again, and each of its steps
  keeps what is already there and intact (``Project.add`` of an identical configuration
  writes nothing; :func:`add_grid_model_once` and :func:`intact` help with the rest);
* a call with other arguments than those of the stored build is refused (the content
  would be a mixture of two builds);
* the write lock is held from the look for an existing project to the end of the build
  (and the returned project keeps holding it), so a second process that arrives
  meanwhile waits for it (``lock_timeout_in_seconds``) or is told that another process
  is building the example (:class:`ExampleBuildLockedError`).

Projects without a marker (made by ``sn.Project.from_domain``, or by an example before
markers existed) open as they are.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from ..config import GridModel
from ..project import Project, store
from ..project.lock import ProjectLock, ProjectLockedError
from ..project.paths import ProjectPaths
from ..project.project import example_call

__all__ = ["ExampleBuildLockedError", "add_grid_model_once", "add_noisy_observed", "build_example", "events_from_facts",
           "intact"]

log = logging.getLogger("fwi_widgets")


class ExampleBuildLockedError(ProjectLockedError):
    """Another process holds the write lock of an example project that is not built yet:
    it is building it (the attributes are those of :class:`ProjectLockedError`)."""

    def __init__(self, root: Path, pid: int | None, host: str | None, since: str | None, call: str):
        super().__init__(root, pid, host, since)
        self.call = call
        who = "another process" if pid is None else f"another process (pid {pid} on host {host}, since {since})"
        self.args = (
            f"The example project at {root} is being built by {who}. Wait for it to finish and run {call} "
            "again, or pass lock_timeout_in_seconds=... (seconds) to wait here until it is done. If that "
            "process is stuck, stop it: its lock goes with it, and the same call then finishes the build.",
        )

    def __reduce__(self):
        return (type(self), (self.root, self.pid, self.host, self.since, self.call))


def build_example(path, *, example: str, arguments: dict, domain, recipe: Callable[[Project], None],
                  load_if_exists: bool = True, lock_timeout_in_seconds: float = 0.0) -> Project:
    """Create, finish or open the example project at ``path`` (see the module docstring).

    Parameters
    ----------
    path : str or os.PathLike
        The project directory.
    example : str
        The example's name in ``sn.examples`` (used in messages: ``sn.examples.<example>(...)``).
    arguments : dict
        The arguments that decide the content (JSON values), stored with the build and
        compared on every later call.
    domain : sn.MapViewDomain or sn.BoxDomain
        The project's domain.
    recipe : callable
        ``recipe(project)`` adds everything else; every step must keep what is already
        there and intact, so that running it again finishes an interrupted build.
    load_if_exists : bool
        Open a complete project; if False, a complete project is a ``FileExistsError``.
        An unfinished one is finished either way.
    lock_timeout_in_seconds : float
        How long to wait for another process that holds the project (s).

    Returns
    -------
    Project
        The complete project, open for writing.
    """
    paths = ProjectPaths(path)
    root = paths.root
    try:
        wanted = json.loads(json.dumps(dict(arguments)))
    except (TypeError, ValueError):
        raise TypeError(f"The 'arguments' parameter must be a dict of JSON values, but {arguments!r} was given.") from None
    build = {"example": example, "arguments": wanted, "complete": False}
    if isinstance(lock_timeout_in_seconds, bool) or not isinstance(lock_timeout_in_seconds, (int, float)) \
            or not lock_timeout_in_seconds >= 0:
        raise ValueError("The 'lock_timeout_in_seconds' parameter must be a number >= 0, but "
                         f"{lock_timeout_in_seconds!r} was given.")
    if paths.project_file.exists():
        stored = Project._example_build_of(paths)
        if stored is None or stored.get("complete"):  # a whole project: open it as any project
            _check_same_build(root, stored, build)
            if not load_if_exists:
                raise FileExistsError(f"A project already exists at {root}; pass load_if_exists=True or choose another path.")
            return Project(root, lock_timeout_in_seconds=lock_timeout_in_seconds)
    root.mkdir(parents=True, exist_ok=True)
    lock = ProjectLock(root)
    try:
        lock.acquire(timeout=lock_timeout_in_seconds)
    except ProjectLockedError as error:
        raise ExampleBuildLockedError(root, error.pid, error.host, error.since, example_call(root, build)) from None
    try:
        # Look again, now that no other process can be writing: it may have finished meanwhile.
        if paths.project_file.exists():
            stored = Project._example_build_of(paths)
            _check_same_build(root, stored, build)
            if stored is None or stored.get("complete"):
                if not load_if_exists:
                    raise FileExistsError(
                        f"A project already exists at {root}; pass load_if_exists=True or choose another path."
                    )
                return Project(root)
            log.info(f"Finishing the interrupted build of {example_call(root, build)}.")
        else:
            Project._create_project_file(paths, domain, example_build=build)
        project = Project(root, _allow_unfinished_build=True)
        try:
            if project.domain != domain:
                raise ValueError(f"The project at {root} has a different domain ({project.domain}) than the example's "
                                 f"({domain}); delete the directory {root} and build it anew.")
            recipe(project)
            project._finish_example_build()
        except BaseException:
            project.close()
            raise
        return project
    finally:
        lock.release()  # the returned project holds the lock on its own


def _check_same_build(root: Path, stored: dict | None, build: dict) -> None:
    if stored is None:
        return
    if stored.get("example") != build["example"] or stored.get("arguments") != build["arguments"]:
        raise ValueError(
            f"The project at {root} was built by {example_call(root, stored)}, not by "
            f"{example_call(root, build)}. Call it with the arguments it was built with, choose another path "
            f"for the other build, or delete the directory {root} to build it anew."
        )


# --- helpers for recipes ------------------------------------------------------------------

def intact(path) -> bool:
    """Whether the file at ``path`` exists and passes its checksum (a killed write leaves it
    missing, or without its matching checksum sidecar)."""
    try:
        store.verify(path)
    except (FileNotFoundError, store.CorruptFileError):
        return False
    return True


def add_grid_model_once(project: Project, model: GridModel) -> None:
    """Add a grid model, or keep the identical one already there.

    A build killed between the model's data file and its configuration leaves the data
    file alone; it is nobody's (no configuration names it), so it is written again.
    """
    config = project.paths.configuration("models", model.name)
    data = project.paths.grid_model(model.name)
    if config.exists():
        if not project.model_dataset(model.name).equals(model.data):
            raise ValueError(f"The project's grid model {model.name!r} differs from the example's; delete the "
                             f"directory {project.paths.root} and build it anew.")
        return
    data.unlink(missing_ok=True)
    project += model


def events_from_facts(names: list[str], facts_file: Path) -> list:
    """``sn.Event`` objects of the named events of a facts file (``data/events.json``):
    origin time, geographic centroid, depth, the magnitude in the name, the Global CMT
    tensor (N m) and half duration where the file has them."""
    from ..config import Event

    facts = {e["name"]: e for e in json.loads(Path(facts_file).read_text())}
    out = []
    for name in names:
        f = facts[name]
        out.append(Event(
            name=name, origin_time=f["origin_time"], latitude=f["latitude"], longitude=f["longitude"],
            depth_in_m=1000.0 * f["depth_km"], magnitude=float(name.split("_Mag_")[1].split("_")[0]),
            moment_tensor=f.get("moment_tensor"), half_duration_in_seconds=f.get("half_duration_s") or 0.0,
            region=f.get("region", ""),
        ))
    return out


def add_noisy_observed(project: Project, simulate_event: Callable, noise: float, seed: int,
                       band: tuple[float, float], start_time: Callable | None = None,
                       data_name: str = "observed") -> None:
    """Store each event's synthetics plus noise as its observed data (MiniSEED), skipping
    events whose data an interrupted build already stored.

    ``simulate_event(name)`` returns the seismograms (an engine DataArray: receiver,
    component, time); the noise is white noise band-passed to ``band`` = (min, max
    period) in s, scaled per trace to ``noise`` times the trace's peak (the whole record,
    before the first arrival too), drawn from one seeded generator in event order. A
    skipped event's draw is made all the same (every record has the same shape), so a
    finished build equals an uninterrupted one. ``start_time(name)`` is the absolute
    time of the traces' first sample (default: the event's origin time). ``data_name``
    names the data (``p.observed_data(event, data_name)``).
    """
    import numpy as np
    from obspy import UTCDateTime
    from scipy.signal import butter, sosfiltfilt

    from ..project.observed import seismograms_to_stream

    rng = np.random.default_rng(seed)
    shape, skipped = None, 0
    for name in project.events.list():
        if intact(project.paths.observed(data_name, name)):
            skipped += 1
            continue
        seismograms = simulate_event(name)
        data = seismograms.values
        if shape is None:
            shape = data.shape
        for _ in range(skipped):
            rng.standard_normal(shape)
        skipped = 0
        dt = float(seismograms["time"].values[1] - seismograms["time"].values[0])
        sos = butter(4, [1 / band[1], 1 / band[0]], btype="bandpass", fs=1 / dt, output="sos")
        noisy = sosfiltfilt(sos, rng.standard_normal(data.shape), axis=-1)
        noisy *= noise * np.abs(data).max(axis=-1, keepdims=True) / (noisy.std(axis=-1, keepdims=True) + 1e-300)
        observed = seismograms.copy(data=data + noisy)
        t0 = start_time(name) if start_time is not None else UTCDateTime(project.events.get(name).origin_time)
        project.add_observed_data(name, seismograms_to_stream(observed, starttime=t0), data_name=data_name)
