"""Iteration records on disk: JSON with the arrays split out into .npy files.

A record is rewritten atomically after every state transition of the iteration, so a
new process continues exactly where the last one stopped.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..project import store

__all__ = ["save_state", "load_state"]


def save_state(path_json, obj) -> None:
    """Write a JSON-able structure whose leaves may be numpy arrays: arrays go to
    ``<stem>.<key>.<hash>.npy`` beside the JSON (written first), referenced by name.
    Names carry a content hash, so a crash between the two writes leaves the old JSON
    pointing at the old, intact arrays, and saving again after a crash rewrites an array
    whose write did not finish; unreferenced arrays are removed afterwards."""
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
    store.write_json(path_json, doc)
    for old in path_json.parent.glob(f"{path_json.stem}.*.npy"):
        if old.name not in arrays:
            old.unlink(missing_ok=True)
            old.with_name(old.name + ".sha256").unlink(missing_ok=True)


def load_state(path_json):
    doc = store.read_json(path_json)

    def join(value):
        if isinstance(value, dict) and set(value) == {"__array__"}:
            return store.read_npy(path_json.parent / value["__array__"])
        if isinstance(value, dict):
            return {k: join(v) for k, v in value.items()}
        if isinstance(value, list):
            return [join(v) for v in value]
        return value

    return join(doc)
