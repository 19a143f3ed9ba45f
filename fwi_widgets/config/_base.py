"""Shared machinery of the configuration objects: validation helpers and (de)serialisation.

Every configuration is a frozen dataclass that validates itself on construction (so a
bad value is refused before anything is written) and round-trips through JSON with
``to_dict()`` / ``configuration_from_dict()``; the registry below maps the ``"type"``
field back to the class.

Validation follows one rule, in the traitlets wording ("The 'x' parameter must be ...,
but ... was given."): a value of the wrong type raises TypeError (a bool or a float is no
int, a string is no number), a value of the right type but out of range ValueError (NaN
and infinities included). What only the project knows (the domain's dimension, the
prior model's parameters) is checked when the configuration is added.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import Any

import numpy as np

__all__ = ["Configuration", "register", "configuration_from_dict", "positive", "number", "integer", "string",
           "choice", "name_string", "mapping_of", "list_of_names", "is_number", "MAX_NAME_BYTES", "PARAMETER_NAMES",
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


#: Longest configuration, event or station name, in bytes of UTF-8. Linux allows 255
#: bytes per file name; the store adds up to 40 (``.<name>.mseed.prev.sha256.<16 hex>.tmp``
#: is the longest: see ``fwi_widgets.project.store``), so 200 leaves room to spare.
MAX_NAME_BYTES = 200


def is_number(value) -> bool:
    """A real number: int or float (numpy's too), not a bool (True is no count of anything)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def number(name: str, value, *, minimum: float | None = None, maximum: float | None = None,
           exclusive_minimum: bool = False, exclusive_maximum: bool = False) -> float:
    """``value`` as a finite float in the given range.

    Raises TypeError unless it is a real number (bool and strings are refused) and
    ValueError when it is NaN, infinite or out of range, in the traitlets wording.
    """
    if not is_number(value):
        raise TypeError(f"The '{name}' parameter must be a number, but {value!r} was given.")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"The '{name}' parameter must be a finite number, but {value!r} was given.")
    low = minimum is not None and (v <= minimum if exclusive_minimum else v < minimum)
    high = maximum is not None and (v >= maximum if exclusive_maximum else v > maximum)
    if low or high:
        lo = "" if minimum is None else f"{'>' if exclusive_minimum else '>='} {minimum!r}"
        hi = "" if maximum is None else f"{'<' if exclusive_maximum else '<='} {maximum!r}"
        raise ValueError(f"The '{name}' parameter must be {' and '.join(b for b in (lo, hi) if b)}, "
                         f"but {value!r} was given.")
    return v


def positive(name: str, value, allow_zero: bool = False) -> float:
    """``value`` as a positive (or non-negative) finite float.

    TypeError for a non-number (bool and strings included), ValueError for NaN,
    infinities and values out of range.
    """
    if not is_number(value):
        raise TypeError(f"The '{name}' parameter must be a number, but {value!r} was given.")
    v = float(value)
    kind = "non-negative" if allow_zero else "positive"
    if not math.isfinite(v):
        raise ValueError(f"The '{name}' parameter must be {kind}, but {value!r} was given. Give a finite number.")
    if v < 0 if allow_zero else v <= 0:
        raise ValueError(f"The '{name}' parameter must be {kind}, but {value!r} was given.")
    return v


def integer(name: str, value, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an int in ``minimum..maximum``.

    TypeError unless it is a real integer: bools, floats (2.0 too: an integral float is
    almost always a slip, and refusing it keeps the stored value the one that runs) and
    strings are refused. ValueError when out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"The '{name}' parameter must be an int, but {value!r} was given.")
    v = int(value)
    if (minimum is not None and v < minimum) or (maximum is not None and v > maximum):
        if maximum is None:
            wanted = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        elif minimum is None:
            wanted = f"an integer <= {maximum}"
        else:
            wanted = f"an integer in {minimum}..{maximum}"
        raise ValueError(f"The '{name}' parameter must be {wanted}, but {value!r} was given.")
    return v


def string(name: str, value) -> str:
    """TypeError unless ``value`` is a str."""
    if not isinstance(value, str):
        raise TypeError(f"The '{name}' parameter must be a str, but {value!r} was given.")
    return value


def mapping_of(name: str, value) -> dict:
    """A dict copy of ``value``; TypeError unless it is a dict (None included)."""
    if not isinstance(value, dict):
        raise TypeError(f"The '{name}' parameter must be a dict, but {value!r} was given.")
    return dict(value)


def list_of_names(name: str, value, what: str = "names") -> list:
    """A list from a list or tuple (or one bare str) of names; TypeError otherwise."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"The '{name}' parameter must be a list of {what}, but {value!r} was given.")
    return list(value)


def choice(name: str, value, valid: Iterable[str]) -> str:
    valid = list(valid)
    if not isinstance(value, str) and all(isinstance(v, str) for v in valid):
        raise TypeError(f"The '{name}' parameter must be one of {valid}, but {value!r} was given.")
    if value not in valid:
        raise ValueError(f"The '{name}' parameter must be one of {valid}, but {value!r} was given.")
    return value


def name_string(value, what: str = "name") -> str:
    """A name that is safe as one file name of the project (``<name>.json``, ...).

    TypeError for a non-str; ValueError for an empty name, one with '/', '\\' or NUL,
    one starting with '.' (hidden, or '..'), or one longer than :data:`MAX_NAME_BYTES`
    bytes in UTF-8 (file names on Linux hold 255 bytes, and the store adds suffixes).
    """
    if not isinstance(value, str):
        raise TypeError(f"The '{what}' parameter must be a str, but {value!r} was given.")
    if not value or any(c in value for c in "/\\\0") or value.startswith("."):
        raise ValueError(
            f"The '{what}' parameter must be a non-empty string without path separators, but {value!r} was given."
        )
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"The '{what}' parameter must be valid Unicode text (it becomes a file name), "
                         f"but {value!r} was given.") from None
    if size > MAX_NAME_BYTES:
        raise ValueError(
            f"The '{what}' parameter must be at most {MAX_NAME_BYTES} bytes long in UTF-8 (it becomes a file name; "
            f"Linux allows 255 bytes and the project adds suffixes), but a name of {size} bytes was given: "
            f"{value[:40]!r}...; choose a shorter name."
        )
    return value
