"""Atomic, checksummed files: the on-disk safety layer of a project.

Every ``write_*`` call here follows the same recipe, so that a process killed at
any instant (``SIGKILL``, a dead kernel, a lost node) leaves each file either as
it was or as it was meant to become, never half written under its real name:

1. If the current file is intact, keep it as ``<name>.prev`` (a hard link made
   under a temporary name and renamed into place; a copy where links are not
   supported). A damaged current file is *not* kept, so ``.prev`` always holds
   the last good version.
2. Write the new content to a temporary file in the same directory
   (``.<name>.<16 hex digits>.tmp``), flush it and ``os.fsync`` it.
3. ``os.replace`` it onto the real name (atomic on POSIX file systems), then
   ``fsync`` the directory so that the rename itself survives a power cut.

Integrity is checked on every read with SHA-256:

* JSON files (``*.json``, written by :func:`write_json`) embed their checksum:
  ``{"format": "fwi-widgets/1", "sha256": "...", "data": ...}``. The checksum is
  taken over a canonical compact serialisation of ``data`` (sorted keys), so
  re-indenting the file by hand does not break it, but changing a value does.
* Every other file gets a sidecar ``<name>.sha256`` (a small JSON record of the
  checksum and the size), written atomically *after* the data file. A data file
  without its sidecar, or with a stale one, is an unfinished or damaged write.

A file that fails its check raises :class:`CorruptFileError` (a ``ValueError``)
that names the file, says what is wrong and what to do; :func:`recover` puts the
previous good version back, and every reader takes ``fallback_to_previous=True``
to read it instead (with a :class:`CorruptFileWarning`). This layer does not know
what a file is for, so what "what to do" means for a file without a previous version
comes from the caller: every reader takes ``advice=`` (the project names, for each
kind of file, the call that writes it again, see :mod:`fwi_widgets.project.project`
and :mod:`fwi_widgets.workflow.iteration`). A file written once and never again (a
record array, whose name carries its content hash) has no previous version of its
own; :func:`keep_copy` keeps an independent copy as ``.prev``, so that a reader
falls back to it.

NetCDF files are written with xarray's ``scipy`` engine (NetCDF3, 64-bit
offset). It needs no library beyond scipy and reads and writes from memory,
which lets the checksum be verified on exactly the bytes that are then parsed.
NetCDF3 has no 64-bit integers, groups or compression: xarray stores ``int64``
variables as ``int32`` when the values fit (and refuses when they do not), so
they read back as ``int32``. Models and gradients are floating point and are
unaffected.

Files are read whole into memory and checked before they are parsed: this layer
is for configurations, records, models, gradients and waveforms (megabytes to
tens of megabytes), not for wavefield snapshots.

Only one process may write a project at a time (:mod:`.lock`); within that
process, writes and reads of the same path are serialised by a lock, so threads
never see a data file and its sidecar from two different writes. POSIX only
(``os.replace`` over an existing file, hard links, directory ``fsync``).

Fault injection (for tests only)
--------------------------------
The environment variable ``FWI_WIDGETS_FAULT`` (``<fault>:<substring>``) makes a
crash happen on purpose, so that tests can show what a user then sees and that the
project on disk survives it. The faults (:data:`FAULT_KINDS`):

``kill-during-write:<substring>``
    A write whose target path contains ``<substring>`` writes half of its temporary
    file and then kills its own process with ``SIGKILL`` (a dead kernel or node).
``kill-after-write:<substring>``
    A write whose target path contains ``<substring>`` completes (renamed into place,
    directory synced) and then kills its own process with ``SIGKILL``: a crash between
    two writes. The sidecar ``<name>.sha256`` is a write of its own, after the data
    file's, so ``kill-after-write:model.nc.sha256`` dies once ``model.nc`` is whole,
    and ``kill-after-write:model.nc`` between the data file and its sidecar.
``fail-job-once:<substring>``
    A job whose folder path contains ``<substring>`` raises a ``RuntimeError`` before
    it writes anything, on its first attempt only (the attempt counted in the
    iteration record), so a retry succeeds: a simulation job
    (:func:`fwi_widgets.workflow.jobs.simulation_job`) after its forward simulation,
    the preconditioner job (:func:`fwi_widgets.workflow.jobs.update_job`) after it
    proposed the step. Folders are ``inversions/<problem>/<iteration, 4 digits>/jobs/``
    then ``<task>_<trial>_<event>`` for simulations and ``preconditioner_<trial>``, so
    ``fail-job-once:0000/jobs/misfit_and_gradient_0_event_ICELAND`` fails one job,
    ``fail-job-once:ICELAND`` the first attempt of every job of that event and
    ``fail-job-once:0000/jobs/preconditioner_0`` the first preconditioner job.

The variable is read when a write or a job starts (in the process that runs it, so a
job process must inherit it); unset, it costs one dictionary look-up. An unknown
fault raises ``ValueError``. Never set it outside tests.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> write_json(root / "config.json", {"max_period": 120.0})
>>> read_json(root / "config.json")
{'max_period': 120.0}
>>> write_json(root / "config.json", {"max_period": 100.0})
>>> read_json(root / "config.json.prev")
{'max_period': 120.0}
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import secrets
import signal
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Union

import numpy as np

if TYPE_CHECKING:  # the heavy imports happen inside the functions that need them
    import obspy
    import xarray as xr

__all__ = [
    "CorruptFileError",
    "CorruptFileWarning",
    "FAULT_ENVIRONMENT_VARIABLE",
    "FAULT_KINDS",
    "FORMAT",
    "clean_temporaries",
    "injected_fault",
    "keep_copy",
    "read_bytes",
    "read_json",
    "read_netcdf",
    "read_npy",
    "read_stream",
    "recover",
    "verify",
    "write_bytes",
    "write_json",
    "write_netcdf",
    "write_npy",
    "write_stream",
]

PathLike = Union[str, os.PathLike]

#: Format tag of the JSON envelope and of checksum sidecars.
FORMAT = "fwi-widgets/1"
#: Environment variable of the test-only fault hook (see the module docstring).
FAULT_ENVIRONMENT_VARIABLE = "FWI_WIDGETS_FAULT"

_SIDECAR_SUFFIX = ".sha256"
_PREVIOUS_SUFFIX = ".prev"
_TEMPORARY_SUFFIX = ".tmp"
# Only names this module makes are ever deleted by clean_temporaries.
_TEMPORARY_NAME = re.compile(r"^\..+\.[0-9a-f]{16}\.tmp$")
_RESERVED_SUFFIXES = (_SIDECAR_SUFFIX, _PREVIOUS_SUFFIX, _TEMPORARY_SUFFIX)

Problem = Literal["truncated", "checksum mismatch", "not valid JSON", "missing checksum", "unknown format"]


class CorruptFileError(ValueError):
    """A file failed its integrity check.

    Attributes
    ----------
    path : pathlib.Path
        The file that failed.
    problem : str
        One of ``"truncated"``, ``"checksum mismatch"``, ``"not valid JSON"``,
        ``"missing checksum"``, ``"unknown format"``.
    detail : str
        What exactly was found.
    advice : str
        What to do about it: the caller's ``advice`` where the reader was given one,
        else :func:`recover` where an intact previous version exists, else a generic
        "delete it and write it again".
    """

    def __init__(self, path: Path, problem: Problem, detail: str, advice: str | None = None):
        self.path = Path(path)
        self.problem = problem
        self.detail = detail
        self.advice = advice if advice else _advice(self.path)
        super().__init__(f"The file {self.path} is corrupt ({problem}): {detail}. {self.advice}")

    def with_advice(self, advice: str | None) -> "CorruptFileError":
        """The same error with ``advice`` (if given) as what to do."""
        return self if not advice else CorruptFileError(self.path, self.problem, self.detail, advice)

    def __reduce__(self):  # so that it survives the trip back from a worker process
        return (type(self), (self.path, self.problem, self.detail, self.advice))


class CorruptFileWarning(UserWarning):
    """A reader fell back to the previous good version of a corrupt file."""


# --- paths, names and locks ------------------------------------------------------------

def _as_path(path: PathLike, name: str = "path") -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"The '{name}' parameter must be a str or os.PathLike, but {path!r} was given.")
    return Path(os.path.abspath(os.fspath(path)))


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + _SIDECAR_SUFFIX)


def _previous(path: Path) -> Path:
    return path.with_name(path.name + _PREVIOUS_SUFFIX)


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}{_TEMPORARY_SUFFIX}")


def _is_json(path: Path) -> bool:
    # "x.json.prev" is the previous version of a JSON file, still checked as JSON.
    return path.name.removesuffix(_PREVIOUS_SUFFIX).endswith(".json")


def _check_target(path: Path, json_file: bool) -> None:
    """Refuse names this module reserves, and keep JSON and sidecar files apart."""
    for suffix in _RESERVED_SUFFIXES:
        if path.name.endswith(suffix):
            raise ValueError(
                f"The 'path' parameter must not end in {suffix!r} (names ending in "
                f"{', '.join(_RESERVED_SUFFIXES)} are kept for checksums, previous versions and "
                f"temporary files), but '{path}' was given."
            )
    if json_file and not _is_json(path):
        raise ValueError(f"The 'path' parameter of write_json must end in '.json', but '{path}' was given.")
    if not json_file and _is_json(path):
        raise ValueError(
            f"The 'path' parameter must not end in '.json' (JSON files are written with write_json, "
            f"which embeds their checksum), but '{path}' was given."
        )


# Striped locks bound the memory used however many paths are touched. A thread
# holds at most one stripe at a time (public functions never nest), so two paths
# sharing a stripe only wait for each other; they cannot deadlock.
_STRIPES = tuple(threading.RLock() for _ in range(64))


def _lock_for(path: Path) -> threading.RLock:
    return _STRIPES[hash(os.fspath(path)) % len(_STRIPES)]


# --- low-level durable operations ------------------------------------------------------

def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_directory(directory: Path) -> None:
    """Create ``directory`` and its missing parents, each made durable in its parent."""
    if directory.is_dir():
        return
    _ensure_directory(directory.parent)
    try:
        directory.mkdir()
    except FileExistsError:
        pass
    _fsync_directory(directory.parent)


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _kill_during_write(fd: int, view: memoryview) -> None:
    """Fault hook: leave a half-written temporary file and die as a crash would."""
    _write_all(fd, view[: len(view) // 2])
    os.fsync(fd)
    os.kill(os.getpid(), signal.SIGKILL)


def _kill_after_write() -> None:
    """Fault hook: die as a crash would, right after a write is complete."""
    os.kill(os.getpid(), signal.SIGKILL)


# Faults of file writes (tests only), keyed by the name used in the variable: those
# acting while the temporary file is written, and those acting once the write is done.
_WRITE_FAULTS: dict[str, Callable[[int, memoryview], None]] = {"kill-during-write": _kill_during_write}
_AFTER_WRITE_FAULTS: dict[str, Callable[[], None]] = {"kill-after-write": _kill_after_write}
#: Every fault ``FWI_WIDGETS_FAULT`` may name (see the module docstring); the job
#: faults act in :mod:`fwi_widgets.workflow.jobs`.
FAULT_KINDS: tuple[str, ...] = (*_WRITE_FAULTS, *_AFTER_WRITE_FAULTS, "fail-job-once")


def injected_fault(kind: str) -> str | None:
    """The ``<substring>`` of fault ``kind`` if ``FWI_WIDGETS_FAULT`` names it, else None (tests only).

    Raises
    ------
    ValueError
        If the variable is set but names no fault of :data:`FAULT_KINDS`.
    """
    spec = os.environ.get(FAULT_ENVIRONMENT_VARIABLE)
    if not spec:
        return None
    named, colon, substring = spec.partition(":")
    if named not in FAULT_KINDS or not colon or not substring:
        raise ValueError(
            f"The '{FAULT_ENVIRONMENT_VARIABLE}' environment variable must be '<fault>:<substring>' with "
            f"<fault> one of {sorted(FAULT_KINDS)}, but {spec!r} was given. It is meant for tests only; unset it."
        )
    return substring if named == kind else None


def _injected_fault(target: Path, faults: dict[str, Callable]) -> Callable | None:
    for kind, fault in faults.items():
        substring = injected_fault(kind)
        if substring is not None and substring in os.fspath(target):
            return fault
    return None


def _atomic_write(target: Path, payload: bytes | bytearray | memoryview, *, faults: bool = True) -> None:
    """Write ``payload`` to a temporary file, fsync it, rename it onto ``target``, fsync the directory."""
    view = memoryview(payload).cast("B")
    temporary = _temporary(target)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fault = _injected_fault(target, _WRITE_FAULTS) if faults else None
        if fault is not None:
            fault(fd, view)
        _write_all(fd, view)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(target.parent)
    fault = _injected_fault(target, _AFTER_WRITE_FAULTS) if faults else None
    if fault is not None:
        fault()


def _atomic_link(source: Path, target: Path) -> None:
    """Make ``target`` name the same content as ``source``, atomically; no fsync of the directory."""
    if target.exists() and os.path.samefile(source, target):
        return  # already one file (e.g. right after recover); rename(2) would do nothing anyway
    temporary = _temporary(target)
    try:
        os.link(source, temporary)
    except OSError:
        # Some file systems (FAT, some network mounts) have no hard links: copy instead.
        # A copy of .prev is bookkeeping, not "the write", so the fault hook stays out.
        _atomic_write(target, source.read_bytes(), faults=False)
        return
    try:
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- checks ----------------------------------------------------------------------------

def _sha256(payload: bytes | bytearray | memoryview) -> str:
    return hashlib.sha256(payload).hexdigest()


def _canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _advice(path: Path) -> str:
    original = path.with_name(path.name.removesuffix(_PREVIOUS_SUFFIX))
    if path != original:
        return f"This is the kept previous version of {original}; no older version exists."
    previous = _previous(path)
    if previous.exists():
        return (
            f"Restore the previous good version ({previous.name}) with "
            f"fwi_widgets.project.store.recover('{path}'), or read it with fallback_to_previous=True."
        )
    removable = f"{path}" if _is_json(path) else f"{path} and {_sidecar(path).name}"
    return (
        "There is no previous version to restore: delete "
        f"{removable} and run again the step that writes it."
    )


def _checked_json(path: Path) -> Any:
    """The ``data`` of a JSON envelope, after its checksum is verified."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorruptFileError(path, "not valid JSON", f"it is not UTF-8 text (byte {error.start})") from None
    try:
        envelope = json.loads(text)
    except json.JSONDecodeError as error:
        # Our writer always ends the document with "}"; a file that does not was cut short.
        if not text.rstrip().endswith("}"):
            raise CorruptFileError(
                path, "truncated", f"the JSON document ends unfinished after {len(raw)} bytes"
            ) from None
        raise CorruptFileError(
            path, "not valid JSON", f"{error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    if not isinstance(envelope, dict) or not {"format", "sha256", "data"} <= envelope.keys():
        raise CorruptFileError(
            path, "missing checksum",
            "it is not an fwi-widgets file (expected the keys 'format', 'sha256' and 'data'); "
            "it was not written by fwi_widgets.project.store.write_json, or was edited by hand",
        )
    if envelope["format"] != FORMAT:
        raise CorruptFileError(
            path, "unknown format", f"its format is {envelope['format']!r}, but this version reads {FORMAT!r}"
        )
    found = _sha256(_canonical_json(envelope["data"]))
    if found != envelope["sha256"]:
        raise CorruptFileError(
            path, "checksum mismatch",
            f"its data hashes to sha256 {found[:12]}..., but {str(envelope['sha256'])[:12]}... was recorded "
            "(changed by hand or damaged on disk)",
        )
    return envelope["data"]


def _checked_bytes(path: Path) -> bytes:
    """The content of a binary file, after it is verified against its sidecar."""
    payload = path.read_bytes()
    sidecar = _sidecar(path)
    try:
        record = json.loads(sidecar.read_bytes())
        expected_sha, expected_size = record["sha256"], int(record["size"])
        if record["format"] != FORMAT:
            raise ValueError(f"format {record['format']!r}")
    except FileNotFoundError:
        raise CorruptFileError(
            path, "missing checksum",
            f"its checksum record {sidecar.name} does not exist (the write that made it did not finish, "
            "or the file was copied without it)",
        ) from None
    except (ValueError, KeyError, TypeError) as error:
        raise CorruptFileError(
            path, "missing checksum", f"its checksum record {sidecar.name} is unreadable ({error})"
        ) from None
    if len(payload) < expected_size:
        raise CorruptFileError(
            path, "truncated", f"it has {len(payload)} bytes, but {expected_size} were written"
        )
    found = _sha256(payload)
    if len(payload) != expected_size or found != expected_sha:
        raise CorruptFileError(
            path, "checksum mismatch",
            f"it has {len(payload)} bytes with sha256 {found[:12]}..., but {sidecar.name} records "
            f"{expected_size} bytes with sha256 {str(expected_sha)[:12]}... (an unfinished write, "
            "or damage on disk)",
        )
    return payload


def _sidecar_record(payload: bytes | bytearray | memoryview) -> bytes:
    record = {"format": FORMAT, "sha256": _sha256(payload), "size": memoryview(payload).nbytes}
    return (json.dumps(record) + "\n").encode("utf-8")


def _checked(path: Path) -> Any:
    return _checked_json(path) if _is_json(path) else _checked_bytes(path)


def _keep_previous(path: Path) -> None:
    """Keep the current file as ``.prev``, only if it is intact (so .prev stays good)."""
    try:
        _checked(path)
    except (FileNotFoundError, CorruptFileError):
        return
    previous = _previous(path)
    _atomic_link(path, previous)
    if not _is_json(path):
        _atomic_link(_sidecar(path), _sidecar(previous))
    _fsync_directory(path.parent)


# --- generic writers and readers -------------------------------------------------------

def _write_checked(path: Path, payload: bytes | bytearray | memoryview) -> None:
    _ensure_directory(path.parent)
    with _lock_for(path):
        _keep_previous(path)
        _atomic_write(path, payload)
        # Written last: until it is in place, the new data counts as unfinished.
        _atomic_write(_sidecar(path), _sidecar_record(payload))


def _read_checked(path: Path, fallback_to_previous: bool, advice: str | None = None) -> Any:
    with _lock_for(path):
        try:
            return _checked(path)
        except CorruptFileError as error:
            if not fallback_to_previous:
                raise error.with_advice(advice) from None
            try:
                content = _checked(_previous(path))
            except (FileNotFoundError, CorruptFileError):
                raise error.with_advice(advice) from None
            warnings.warn(
                f"The file {path} is corrupt ({error.problem}): {error.detail}. Read its previous version "
                f"{_previous(path).name} instead; fwi_widgets.project.store.recover('{path}') puts it back in place.",
                CorruptFileWarning, stacklevel=3,
            )
            return content


def write_bytes(path: PathLike, payload: bytes | bytearray | memoryview) -> None:
    """Write raw bytes atomically, with a checksum sidecar ``<path>.sha256``.

    Parameters
    ----------
    path : str or os.PathLike
        Target file; missing parent directories are created. Must not end in
        ``.json``, ``.sha256``, ``.prev`` or ``.tmp``.
    payload : bytes-like
        The new content.
    """
    path = _as_path(path)
    _check_target(path, json_file=False)
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise TypeError(f"The 'payload' parameter must be bytes-like, but a {type(payload).__name__} was given.")
    _write_checked(path, payload)


def read_bytes(path: PathLike, *, fallback_to_previous: bool = False, advice: str | None = None) -> bytes:
    """Read a file written by a ``write_*`` function here, after checking it.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    fallback_to_previous : bool
        If the file is corrupt and an intact ``.prev`` exists, return that instead
        (with a :class:`CorruptFileWarning`) rather than raising.
    advice : str, optional
        What the error tells a user to do if the file is corrupt (the call that writes
        it again, say); by default :func:`recover` where a previous version exists.

    Raises
    ------
    CorruptFileError
        The file is truncated, changed, or lacks its checksum.
    FileNotFoundError
        The file does not exist.
    """
    path = _as_path(path)
    if _is_json(path):
        raise ValueError(f"The 'path' parameter must not end in '.json' (read it with read_json), but '{path}' was given.")
    return _read_checked(path, fallback_to_previous, advice)


def write_json(path: PathLike, obj: Any) -> None:
    """Write a JSON document atomically, with its SHA-256 embedded.

    The file holds ``{"format": "fwi-widgets/1", "sha256": ..., "data": obj}``,
    indented for reading. As in :mod:`json`, tuples come back as lists and
    non-string keys as strings; NaN and infinities are written as ``NaN`` and
    ``Infinity`` (which Python reads back).

    Parameters
    ----------
    path : str or os.PathLike
        Target file ending in ``.json``; missing parent directories are created.
    obj : dict, list, str, int, float, bool or None, nested
        The data.
    """
    path = _as_path(path)
    _check_target(path, json_file=True)
    try:
        # A round trip first, so that the checksum is taken over exactly what a reader will see
        # (e.g. integer keys become strings, which would otherwise sort differently).
        data = json.loads(json.dumps(obj))
    except (TypeError, ValueError) as error:
        raise TypeError(
            "The 'obj' parameter must be JSON-serialisable (dict, list, str, int, float, bool, None), "
            f"but {type(obj).__name__} was given: {error}."
        ) from None
    envelope = {"format": FORMAT, "sha256": _sha256(_canonical_json(data)), "data": data}
    payload = (json.dumps(envelope, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    _ensure_directory(path.parent)
    with _lock_for(path):
        _keep_previous(path)
        _atomic_write(path, payload)


def read_json(path: PathLike, *, fallback_to_previous: bool = False, advice: str | None = None) -> Any:
    """Read the data of a file written by :func:`write_json`, after checking it.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.json`` file.
    fallback_to_previous, advice
        See :func:`read_bytes`.

    Raises
    ------
    CorruptFileError
        The file is truncated, not JSON, changed, or lacks its checksum.
    """
    path = _as_path(path)
    if not _is_json(path):
        raise ValueError(f"The 'path' parameter of read_json must end in '.json', but '{path}' was given.")
    return _read_checked(path, fallback_to_previous, advice)


def write_npy(path: PathLike, array: np.ndarray) -> None:
    """Write a numpy array (``.npy`` format, no pickles) atomically, with a checksum sidecar."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"The 'array' parameter must be a numpy.ndarray, but a {type(array).__name__} was given.")
    if array.dtype.hasobject:
        raise TypeError("The 'array' parameter must have a numeric dtype, but an object array was given.")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    write_bytes(path, buffer.getbuffer())


def read_npy(path: PathLike, *, fallback_to_previous: bool = False, advice: str | None = None) -> np.ndarray:
    """Read an array written by :func:`write_npy`, after checking it (see :func:`read_bytes`)."""
    payload = read_bytes(path, fallback_to_previous=fallback_to_previous, advice=advice)
    return np.load(io.BytesIO(payload), allow_pickle=False)


def write_netcdf(path: PathLike, dataset: "xr.Dataset") -> None:
    """Write an xarray Dataset as NetCDF3 (xarray's ``scipy`` engine) atomically, with a checksum sidecar.

    ``int64`` variables are stored as ``int32`` when their values fit (NetCDF3 has
    no 64-bit integers); see the module docstring.
    """
    import xarray as xr

    if not isinstance(dataset, xr.Dataset):
        raise TypeError(
            f"The 'dataset' parameter must be an xarray.Dataset, but a {type(dataset).__name__} was given "
            "(use DataArray.to_dataset() for a DataArray)."
        )
    write_bytes(path, dataset.to_netcdf(engine="scipy"))


def read_netcdf(path: PathLike, *, fallback_to_previous: bool = False, advice: str | None = None) -> "xr.Dataset":
    """Read a Dataset written by :func:`write_netcdf`, fully loaded in memory (no file stays open)."""
    import xarray as xr

    payload = read_bytes(path, fallback_to_previous=fallback_to_previous, advice=advice)
    return xr.load_dataset(io.BytesIO(payload), engine="scipy")


def write_stream(path: PathLike, stream: "obspy.Stream", format: str = "MSEED") -> None:
    """Write an obspy Stream atomically, with a checksum sidecar.

    Parameters
    ----------
    path : str or os.PathLike
        Target file (e.g. ``<event>.mseed``).
    stream : obspy.Stream
        The waveforms.
    format : str
        Any obspy writing format that can write to memory; MiniSEED by default.
    """
    import obspy

    if not isinstance(stream, obspy.Stream):
        raise TypeError(f"The 'stream' parameter must be an obspy.Stream, but a {type(stream).__name__} was given.")
    buffer = io.BytesIO()
    stream.write(buffer, format=format)
    write_bytes(path, buffer.getbuffer())


def read_stream(path: PathLike, format: str | None = None, *, fallback_to_previous: bool = False,
                advice: str | None = None) -> "obspy.Stream":
    """Read an obspy Stream written by :func:`write_stream`, after checking it.

    ``format`` is guessed by obspy when None.
    """
    import obspy

    payload = read_bytes(path, fallback_to_previous=fallback_to_previous, advice=advice)
    return obspy.read(io.BytesIO(payload), format=format)


# --- maintenance -----------------------------------------------------------------------

def verify(path: PathLike, *, advice: str | None = None) -> None:
    """Check a file without parsing it further (``advice``: see :func:`read_bytes`).

    Raises
    ------
    CorruptFileError
        The file fails its check.
    FileNotFoundError
        The file does not exist.
    """
    path = _as_path(path)
    with _lock_for(path):
        try:
            _checked(path)
        except CorruptFileError as error:
            raise error.with_advice(advice) from None


def keep_copy(path: PathLike) -> bool:
    """Keep an independent copy of an intact file as its previous version ``.prev``.

    For files written once and never rewritten (a record array, whose name carries its
    content hash; a configuration), which therefore have no previous version of their
    own: with the copy, ``fallback_to_previous=True`` and :func:`recover` lose nothing.
    A copy, not a hard link, so that damage to one (an edit in place, a bad block)
    cannot reach the other.

    Returns
    -------
    bool
        True if the copy was made; False if the file is missing or corrupt (nothing is
        kept then, so ``.prev`` stays good).
    """
    path = _as_path(path)
    previous = _previous(path)
    with _lock_for(path):
        try:
            _checked(path)
        except (FileNotFoundError, CorruptFileError):
            return False
        _atomic_write(previous, path.read_bytes(), faults=False)
        if not _is_json(path):
            _atomic_write(_sidecar(previous), _sidecar(path).read_bytes(), faults=False)
        return True


def recover(path: PathLike) -> bool:
    """Put the previous good version of a corrupt (or missing) file back in place.

    Parameters
    ----------
    path : str or os.PathLike
        The file (not its ``.prev``).

    Returns
    -------
    bool
        True if ``.prev`` was restored; False if the file is intact (nothing to
        do) or no intact ``.prev`` exists (nothing to restore).
    """
    path = _as_path(path)
    previous = _previous(path)
    with _lock_for(path):
        try:
            _checked(path)
            return False
        except (FileNotFoundError, CorruptFileError):
            pass
        try:
            _checked(previous)
        except (FileNotFoundError, CorruptFileError):
            return False
        # Copies, not hard links: the restored file and .prev stay independent, so
        # damage to one (an edit in place, a bad block) cannot reach the other. The
        # data goes first; a crash before its sidecar leaves a stale sidecar, which
        # is still "corrupt", so recover() can simply be called again.
        _atomic_write(path, previous.read_bytes(), faults=False)
        if not _is_json(path):
            _atomic_write(_sidecar(path), _sidecar(previous).read_bytes(), faults=False)
        return True


def clean_temporaries(root: PathLike) -> list[Path]:
    """Delete the temporary files that interrupted writes left under ``root``.

    Call it when no write is in progress, e.g. right after taking the project's
    write lock (:class:`fwi_widgets.project.lock.ProjectLock`): a temporary file
    of a write still running in this or another process would be deleted too.
    Only names of the form ``.<name>.<16 hex digits>.tmp`` are touched.

    Parameters
    ----------
    root : str or os.PathLike
        Directory searched recursively.

    Returns
    -------
    list of pathlib.Path
        The files removed, sorted.
    """
    root = _as_path(root, "root")
    if not root.is_dir():
        raise ValueError(f"The 'root' parameter must be an existing directory, but '{root}' was given.")
    removed = []
    for directory, _, files in os.walk(root):
        for name in files:
            if _TEMPORARY_NAME.match(name):
                candidate = Path(directory) / name
                try:
                    candidate.unlink()
                except FileNotFoundError:  # removed meanwhile by someone else: fine
                    continue
                removed.append(candidate)
    return sorted(removed)
