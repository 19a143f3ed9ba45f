"""Measurement windows and their cosine (Hann) tapers.

Windows are given in one of three forms:

* ``None``: one window over the whole trace, for every trace;
* a list of ``(t_start, t_end)`` pairs (seconds), applied to every trace;
* a dict ``{receiver: [(t0, t1), ...]}`` (all components of that receiver) or
  ``{(receiver, component): [(t0, t1), ...]}``; the two kinds of key may be mixed, a
  ``(receiver, component)`` entry then replacing the receiver's entry for that
  component. Traces without a window contribute nothing.

Each window becomes a :class:`Segment`: the sample range it covers and the taper on
those samples. The taper rises as ``0.5 * (1 - cos(pi * x))`` over the first
``taper_fraction`` of the window length and falls symmetrically at the end; with
``taper_width`` (seconds) every ramp is that long instead, at most half its window (the
taper width a window picker gives, the same for a short window and a long one).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ._common import Traces

# Window edges may sit a rounding error outside the trace (t_end computed as
# t0 + n * dt, say); this is the allowed slack, as a fraction of dt.
_EDGE_SLACK = 1e-6


@dataclass(frozen=True)
class Segment:
    """One tapered window on one trace.

    Attributes
    ----------
    receiver, component : int
        Positions of the trace in the arrays.
    window : tuple of float
        ``(t_start, t_end)`` in seconds, as given.
    start, stop : int
        The window covers samples ``start:stop`` (all samples with
        ``t_start <= t <= t_end``).
    taper : numpy.ndarray, shape (stop - start,)
        Taper values on those samples, in [0, 1].
    """

    receiver: int
    component: int
    window: tuple[float, float]
    start: int
    stop: int
    taper: np.ndarray


def hann_taper(t: np.ndarray, t0: float, t1: float, taper_fraction: float,
               taper_width: float | None = None) -> np.ndarray:
    """Cosine taper of the window ``[t0, t1]`` evaluated at times ``t``.

    Parameters
    ----------
    t : numpy.ndarray, shape (n,)
        Times in seconds (inside the window).
    t0, t1 : float
        Window edges in seconds, ``t0 < t1``.
    taper_fraction : float
        Length of each ramp as a fraction of ``t1 - t0``, in [0, 0.5]; 0 gives a boxcar.
    taper_width : float or None
        Length of each ramp in seconds (at most ``(t1 - t0) / 2``); replaces the fraction.

    Returns
    -------
    numpy.ndarray, shape (n,)
    """
    ramp = taper_fraction * (t1 - t0) if taper_width is None else min(taper_width, 0.5 * (t1 - t0))
    w = np.ones_like(t)
    if ramp > 0.0:
        rise = np.clip((t - t0) / ramp, 0.0, 1.0)
        fall = np.clip((t1 - t) / ramp, 0.0, 1.0)
        w = 0.25 * (1.0 - np.cos(np.pi * rise)) * (1.0 - np.cos(np.pi * fall))
    return w


def _check_pairs(pairs: Any, where: str) -> list[tuple[float, float]]:
    """Validate a sequence of ``(t0, t1)`` pairs and return it as floats."""
    if isinstance(pairs, (str, bytes)) or not isinstance(pairs, (Sequence, np.ndarray)):
        raise TypeError(
            f"The windows {where} must be a list of (t_start, t_end) pairs in seconds, "
            f"but {pairs!r} was given."
        )
    out = []
    for pair in pairs:
        try:
            t0, t1 = (float(x) for x in pair)
        except (TypeError, ValueError):
            raise TypeError(
                f"Each window {where} must be a (t_start, t_end) pair of numbers in "
                f"seconds, but {pair!r} was given."
            ) from None
        if not (np.isfinite(t0) and np.isfinite(t1)):
            raise ValueError(f"The window {where} must be finite, but {pair!r} was given.")
        if not t1 > t0:
            raise ValueError(
                f"The window {where} must have t_end > t_start (a positive length), "
                f"but ({t0}, {t1}) was given."
            )
        out.append((t0, t1))
    return out


def _windows_per_trace(
    windows: Any, receivers: tuple, components: tuple
) -> dict[tuple[int, int], list[tuple[float, float]]]:
    """Expand the accepted window forms into ``{(r, c): [(t0, t1), ...]}``."""
    n_r, n_c = len(receivers), len(components)
    if windows is None:
        return {}
    if not isinstance(windows, Mapping):
        pairs = _check_pairs(windows, "list")
        return {(r, c): pairs for r in range(n_r) for c in range(n_c)}
    r_index = {rec: i for i, rec in enumerate(receivers)}
    c_index = {comp: j for j, comp in enumerate(components)}
    per_receiver: dict[tuple[int, int], list[tuple[float, float]]] = {}
    per_trace: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for key, pairs in windows.items():
        if isinstance(key, tuple):
            if len(key) != 2 or key[0] not in r_index or key[1] not in c_index:
                raise ValueError(
                    f"The windows key {key!r} must be a receiver name or a (receiver, "
                    f"component) pair with receivers {list(receivers)} and components "
                    f"{list(components)}."
                )
            per_trace[(r_index[key[0]], c_index[key[1]])] = _check_pairs(
                pairs, f"for {key!r}"
            )
        else:
            if key not in r_index:
                raise ValueError(
                    f"The windows key {key!r} is not a receiver; valid receivers are "
                    f"{list(receivers)}."
                )
            checked = _check_pairs(pairs, f"for {key!r}")
            for c in range(n_c):
                per_receiver[(r_index[key], c)] = checked
    per_receiver.update(per_trace)
    return per_receiver


def resolve_segments(windows: Any, traces: Traces, taper_fraction: Any, taper_width: Any = None) -> list[Segment]:
    """Turn the ``windows`` argument into tapered segments, in trace order.

    Parameters
    ----------
    windows : None, list of (float, float) or dict
        See the module docstring.
    traces : Traces
    taper_fraction : float
        Ramp length on each side as a fraction of the window length, in [0, 0.5].
    taper_width : float or None
        Ramp length on each side in seconds (>= 0; at most half the window); when given
        it replaces ``taper_fraction``.

    Returns
    -------
    list of Segment

    Raises
    ------
    TypeError, ValueError
        For malformed windows, unknown receivers or components, windows outside the
        trace or covering fewer than 3 samples, or a bad ``taper_fraction``.
    """
    try:
        frac = float(taper_fraction)
    except (TypeError, ValueError):
        raise TypeError(
            f"The 'taper_fraction' parameter must be a number, but {taper_fraction!r} "
            "was given."
        ) from None
    if not 0.0 <= frac <= 0.5:
        raise ValueError(
            "The 'taper_fraction' parameter must be between 0 and 0.5, but "
            f"{taper_fraction!r} was given."
        )
    if taper_width is not None:
        try:
            width = float(taper_width)
        except (TypeError, ValueError):
            raise TypeError(f"The 'taper_width' parameter must be a number of seconds, but {taper_width!r} was "
                            "given.") from None
        if not (np.isfinite(width) and width >= 0.0):
            raise ValueError(f"The 'taper_width' parameter must be a finite number of seconds >= 0, but "
                             f"{taper_width!r} was given.")
        taper_width = width
    t, dt = traces.time, traces.dt
    n_r, n_c = len(traces.receivers), len(traces.components)
    if windows is None:
        whole = [(float(t[0]), float(t[-1]))]
        per_trace = {(r, c): whole for r in range(n_r) for c in range(n_c)}
    else:
        per_trace = _windows_per_trace(windows, traces.receivers, traces.components)
    slack = _EDGE_SLACK * dt
    segments = []
    for (r, c) in sorted(per_trace):
        for t0, t1 in per_trace[(r, c)]:
            if t0 < t[0] - slack or t1 > t[-1] + slack:
                raise ValueError(
                    f"The window ({t0}, {t1}) s for {traces.receivers[r]}."
                    f"{traces.components[c]} must lie inside the trace, which spans "
                    f"{t[0]} to {t[-1]} s."
                )
            start = int(np.searchsorted(t, t0 - slack, side="left"))
            stop = int(np.searchsorted(t, t1 + slack, side="right"))
            if stop - start < 3:
                raise ValueError(
                    f"The window ({t0}, {t1}) s for {traces.receivers[r]}."
                    f"{traces.components[c]} must cover at least 3 samples (dt = {dt} s), "
                    f"but it covers {stop - start}."
                )
            taper = hann_taper(t[start:stop], t0, t1, frac, taper_width)
            segments.append(Segment(r, c, (t0, t1), start, stop, taper))
    return segments
