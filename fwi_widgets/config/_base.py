"""Shared machinery of the configuration objects: validation helpers and (de)serialisation.

Every configuration is a frozen dataclass that validates itself on construction (so a
bad value is refused before anything is written) and round-trips through JSON with
``to_dict()`` / ``configuration_from_dict()``; the registry below maps the ``"type"``
field back to the class.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

__all__ = ["Configuration", "register", "configuration_from_dict", "positive", "choice", "PARAMETER_NAMES",
           "engine_name", "check_parameter_names"]

_TYPES: dict[str, type] = {}

# Salvus-style parameter names used at the application level, and their engine names.
PARAMETER_NAMES = {"VP": "vp", "VS": "vs", "RHO": "rho", "VPV": "vpv", "VPH": "vph", "VSV": "vsv", "VSH": "vsh", "ETA": "eta"}


def engine_name(name: str) -> str:
    """Engine (lower-case) name of an application-level parameter name."""
    check_parameter_names([name], "parameter")
    return PARAMETER_NAMES[name]


def check_parameter_names(names: Iterable[str], what: str, valid: Iterable[str] | None = None) -> list[str]:
    valid = list(PARAMETER_NAMES if valid is None else valid)
    names = list(names)
    unknown = [n for n in names if n not in valid]
    if unknown:
        hint = ""
        if any(isinstance(n, str) and n.upper() in valid for n in unknown):
            hint = " Parameter names are upper case, as in Salvus."
        raise ValueError(f"Unknown {what} name(s) {unknown}; valid names are {valid}.{hint}")
    return names


def register(cls):
    _TYPES[cls.__name__] = cls
    return cls


class Configuration:
    """Mixin for frozen dataclass configurations."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": type(self).__name__}
        for f in dataclasses.fields(self):
            out[f.name] = _encode(getattr(self, f.name))
        return out


def _encode(value):
    if isinstance(value, Configuration):
        return value.to_dict()
    if isinstance(value, dict):
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict) and "type" in value and value["type"] in _TYPES:
        return configuration_from_dict(value)
    if isinstance(value, dict):
        return {k: _decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def configuration_from_dict(d: dict[str, Any]):
    """Rebuild (and re-validate) a configuration written by ``to_dict``."""
    kind = d.get("type")
    if kind not in _TYPES:
        raise ValueError(f"Unknown configuration type {kind!r}; valid types are {sorted(_TYPES)}.")
    cls = _TYPES[kind]
    kwargs = {k: _decode(v) for k, v in d.items() if k != "type"}
    return cls(**kwargs)


def positive(name: str, value, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"The '{name}' parameter must be a number, but {value!r} was given.") from None
    if not math.isfinite(v) or (v < 0 if allow_zero else v <= 0):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(f"The '{name}' parameter must be {kind}, but {value!r} was given.")
    return v


def choice(name: str, value, valid: Iterable[str]) -> str:
    valid = list(valid)
    if value not in valid:
        raise ValueError(f"The '{name}' parameter must be one of {valid}, but {value!r} was given.")
    return value


def name_string(value, what: str = "name") -> str:
    if not isinstance(value, str) or not value or any(c in value for c in "/\\\0") or value.startswith("."):
        raise ValueError(
            f"The '{what}' parameter must be a non-empty string without path separators, but {value!r} was given."
        )
    return value
