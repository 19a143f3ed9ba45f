"""Iteration records on disk: JSON with the arrays split out into .npy files.

A record is rewritten atomically after every state transition of the iteration, so a
new process continues exactly where the last one stopped.

Damage: every file of a record has an intact previous version to go back to. The
JSON document keeps its previous version on every rewrite (:mod:`..project.store`),
and on its first write an identical copy, so ``store.recover(<record>.json)`` always
has something to restore. An array is written once under a name that carries its
content hash, so it gets an independent identical copy (``<name>.npy.prev``,
:func:`store.keep_copy`); :func:`load_state` reads a damaged array from that copy (a
log line says so) and, with ``repair=True`` (a process that may write the project),
puts the copy back in place: the record loads as if nothing had happened.
"""
from __future__ import annotations

import hashlib
import logging
import warnings

import numpy as np

from ..project import store

__all__ = ["save_state", "load_state"]

log = logging.getLogger("fwi_widgets")


def save_state(path_json, obj) -> None:
    """Write a JSON-able structure whose leaves may be numpy arrays: arrays go to
    ``<stem>.<key>.<hash>.npy`` beside the JSON (written first), referenced by name.
    Names carry a content hash, so a crash between the two writes leaves the old JSON
    pointing at the old, intact arrays, and saving again after a crash rewrites an array
    whose write did not finish; unreferenced arrays are removed afterwards. Each array
    is kept twice (``.prev``, an identical copy), and so is the JSON on its first write."""
    arrays = {}

    def split(value, key):
        if isinstance(value, np.ndarray):
            digest = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()[:12]
            name = f"{path_json.stem}.{key}.{digest}.npy"
            arrays[name] = value
            return {"__array__": name}
        if isinstance(value, dict):
            return {k: split(v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [split(v, f"{key}.{i}") for i, v in enumerate(value)]
        if isinstance(value, np.generic):
            return value.item()
        return value

    doc = split(obj, "")
    for name, arr in arrays.items():
        # Same name, same content: written already, unless a crash came between the data
        # file and its checksum sidecar (written last), which leaves an unfinished write.
        target = path_json.parent / name
        if not (target.exists() and target.with_name(name + ".sha256").exists()):
            store.write_npy(target, arr)
        if not target.with_name(name + ".prev.sha256").exists():
            # The copy's sidecar is written last: without it, the copy is unfinished.
            store.keep_copy(target)
    store.write_json(path_json, doc)
    if not path_json.with_name(path_json.name + ".prev").exists():
        store.keep_copy(path_json)  # the first write: recover() has a version to restore
    for old in path_json.parent.glob(f"{path_json.stem}.*.npy"):
        if old.name not in arrays:
            for leftover in (old, old.with_name(old.name + ".sha256"), old.with_name(old.name + ".prev"),
                             old.with_name(old.name + ".prev.sha256")):
                leftover.unlink(missing_ok=True)


def load_state(path_json, advice: str | None = None, repair: bool = False):
    """The structure :func:`save_state` wrote, arrays included.

    A damaged array is read from its identical copy; with ``repair``, the copy is put
    back in its place (a project opened read-only writes nothing, so it leaves that to
    the process that holds the write lock).

    Parameters
    ----------
    path_json : pathlib.Path
        The record's JSON document.
    advice : str, optional
        What the error says to do if the JSON document is damaged and no previous
        version exists (by default: ``store.recover``, where one exists).
    repair : bool
        Put the copy of a damaged array back in place.

    Raises
    ------
    CorruptFileError
        The JSON document is damaged (its message says how to restore the previous
        version), or an array and its copy both are.
    """
    doc = store.read_json(path_json, advice=advice)

    def join(value):
        if isinstance(value, dict) and set(value) == {"__array__"}:
            return _read_array(path_json, path_json.parent / value["__array__"], repair)
        if isinstance(value, dict):
            return {k: join(v) for k, v in value.items()}
        if isinstance(value, list):
            return [join(v) for v in value]
        return value

    return join(doc)


def _read_array(path_json, path, repair: bool):
    advice = (f"Its copy {path.name}.prev is missing or damaged too, so this array of {path_json.name} is lost: "
              "restore the files of this folder from a backup; the files of earlier iterations are not affected.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", store.CorruptFileWarning)
        array = store.read_npy(path, fallback_to_previous=True, advice=advice)
    for warning in caught:
        if not issubclass(warning.category, store.CorruptFileWarning):
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if any(issubclass(w.category, store.CorruptFileWarning) for w in caught):
        # The copy is identical (same content hash in the name): nothing is lost.
        if repair:
            store.recover(path)
        done = "was put back in its place" if repair else "was read instead"
        log.warning(f"The record array {path} was damaged; its identical copy {path.name}.prev {done}.")
    return array
