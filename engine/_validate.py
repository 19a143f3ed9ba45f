"""Checks of the engine's public arguments, with the parameter's name in every error.

Every public entry (meshes, models, sources, source time functions, receivers,
``simulate``) checks its arguments up front with these helpers, so a NaN or an
infinity never reaches the time loop (where it would only show up as all-NaN
seismograms) and the messages read alike, in the traitlets wording:
"The 'end_time' parameter must be a finite number > 0, but inf was given."
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

__all__ = ["describe", "number", "optional_number", "numbers", "names", "extent"]

_BOUNDS = {None: "", "positive": " > 0", "non-negative": " >= 0"}


def describe(value) -> str:
    """A short text for ``value`` in an error message: ``inf``, ``'fast'``, ``[1.0, nan]``."""
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if isinstance(value, np.generic) else value)
    if isinstance(value, np.ndarray):
        return repr(value.tolist()) if value.size <= 9 else f"an array shaped {value.shape}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _is_real_scalar(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def number(name: str, value, bound: str | None = None) -> float:
    """``value`` as a float, refused unless it is a finite real number (and > 0 for
    ``bound="positive"``, >= 0 for ``"non-negative"``). Strings and booleans are refused
    (``float("1e3")`` would pass a string through)."""
    wanted = f"a finite number{_BOUNDS[bound]}"
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not _is_real_scalar(value):
        raise ValueError(f"The '{name}' parameter must be {wanted}, but {describe(value)} was given.")
    x = float(value)
    if not np.isfinite(x) or (bound == "positive" and not x > 0) or (bound == "non-negative" and not x >= 0):
        raise ValueError(f"The '{name}' parameter must be {wanted}, but {describe(value)} was given.")
    return x


def positive_float(name: str, value) -> float:
    """A finite positive float (numeric strings pass through ``float``), a TypeError for
    what is not a number, a ValueError otherwise, in the traitlets wording that the
    smoothing and cutout parameters have always used."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"The '{name}' parameter must be a number, but {value!r} was given.") from None
    if not (np.isfinite(x) and x > 0):
        raise ValueError(f"The '{name}' parameter must be positive, but {x!r} was given.")
    return x


def optional_number(name: str, value, bound: str | None = None) -> float | None:
    """Like :func:`number`, but None passes (meaning "choose for me")."""
    return None if value is None else number(name, value, bound)


def numbers(name: str, value, what: str = "finite numbers") -> np.ndarray:
    """``value`` as a float64 array, refused unless every entry is a finite real number.

    A string is refused rather than read character by character; the caller checks the shape.
    """
    if isinstance(value, (str, bytes, dict)) or isinstance(value, (bool, np.bool_)):
        raise ValueError(f"The '{name}' parameter must be a sequence of {what}, but {describe(value)} was given.")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"The '{name}' parameter must be a sequence of {what}, but {describe(value)} was given.") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"The '{name}' parameter must hold {what}, but {describe(value)} was given "
            f"({int((~np.isfinite(arr)).sum())} NaN or infinite)."
        )
    return arr


def names(name: str, value, valid: Iterable[str], what: str = "names") -> tuple[str, ...]:
    """``value`` as a tuple of distinct strings from ``valid``.

    A bare string is refused (iterating it would give its characters): the message
    says to pass a list such as ``['left']``.
    """
    valid = list(valid)
    example = f"[{valid[0]!r}]" if valid else "['...']"
    if isinstance(value, (str, bytes)):
        raise ValueError(
            f"The '{name}' parameter must be a list of {what} such as {example}, but the string "
            f"{value!r} was given; pass [{value!r}] for one."
        )
    try:
        items = list(value)
    except TypeError:
        raise ValueError(
            f"The '{name}' parameter must be a list of {what} such as {example} (or () for none), "
            f"but {describe(value)} was given."
        ) from None
    not_str = [v for v in items if not isinstance(v, str)]
    if not_str:
        raise ValueError(f"The '{name}' parameter must hold {what} (strings), but {describe(value)} was given.")
    unknown = [v for v in items if v not in valid]
    if unknown:
        raise ValueError(f"Unknown {what} {unknown} in '{name}'; valid {what} are {valid}.")
    repeated = sorted({v for v in items if items.count(v) > 1})
    if repeated:
        raise ValueError(f"The '{name}' parameter lists {repeated} more than once; give each once.")
    return tuple(items)


def extent(name: str, value) -> tuple[float, float]:
    """A mesh's (min, max) extent along one axis: two finite numbers with min < max."""
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError
        lo, hi = (number(name, v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"The '{name}' parameter must be a (min, max) pair of finite numbers, but {describe(value)} was given.") from None
    if not hi > lo:
        raise ValueError(f"The '{name}' parameter must satisfy min < max, but {value!r} was given.")
    return lo, hi
