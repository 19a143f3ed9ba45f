"""Misfit functionals and their adjoint sources.

Every misfit has one module and one signature::

    value, adjoint_source = misfit(observed, synthetic, windows=None, **options)

``observed`` and ``synthetic`` are ``xarray.DataArray`` with dims
``("receiver", "component", "time")``, a ``time`` coordinate in seconds, uniformly
sampled, and identical shapes and coordinates (``ValueError`` naming the coordinate
otherwise). Available misfits (see :func:`available`, :func:`by_name`):

========================  =======================================================
``"l2"``                  :func:`l2`: 1/2 sum of squared tapered residuals times dt
``"cc_traveltime"``       :func:`cc_traveltime`: 1/2 sum of squared cross-correlation
                          time shifts (s^2)
``"tf_phase"``            :func:`tf_phase`: time-frequency phase misfit (Fichtner et
                          al. 2008), weighted RMS phase difference (rad) per window
========================  =======================================================

Adjoint-source convention
-------------------------
The adjoint source is the **functional derivative** of the discrete misfit with
respect to the synthetic::

    adjoint_source[r, c, n] = (1 / dt) * dJ / ds[r, c, n]

where ``J`` is the returned value and ``s`` the synthetic samples. A finite-difference
check therefore reads ``(J(s + h e_n) - J(s - h e_n)) / (2 h) == adjoint_source[n] * dt``,
and the engine multiplies by ``dt`` when it injects the adjoint source. It has the
same dims and coordinates as ``synthetic``, and these attrs:

``"misfit"``
    the value ``J`` (float);
``"misfit_function"``
    the registry name;
``"per_trace"``
    ``{receiver: {component: float}}``, the misfit of each trace (0 for traces
    without a window or whose windows were skipped); they sum to ``J``;
``"skipped"``
    a list of ``{"receiver", "component", "window", "reason"}`` dicts.

Windows and tapers
------------------
``windows`` is ``None`` (the whole trace), a list of ``(t_start, t_end)`` pairs in
seconds for every trace, or a dict ``{receiver: [...]}`` or
``{(receiver, component): [...]}``. Each window gets a cosine (Hann) taper whose ramps
are ``taper_fraction`` (option, default 0.1) of the window length on each side, or
``taper_width`` seconds (option; at most half the window) when that is given.
Windows outside the trace, of non-positive length or covering fewer than 3 samples
raise ``ValueError``; traces without a window contribute nothing.

Skipped measurements
--------------------
A window that cannot be measured (non-finite data; for the traveltime and phase
misfits also all-zero observed or synthetic data, a correlation peak at the edge of
the allowed lag, a phase difference that still jumps, a window shorter than the
minimum period) contributes 0 to the value and the adjoint source, is listed in
``attrs["skipped"]``, and a :class:`MeasurementSkipped` warning names it.
"""

from __future__ import annotations

from typing import Callable

from ._common import MeasurementSkipped
from .cc_traveltime import cc_traveltime
from .l2 import l2
from .tf_phase import tf_phase

#: The single source of truth for misfit names.
MISFITS: dict[str, Callable] = {
    "l2": l2,
    "cc_traveltime": cc_traveltime,
    "tf_phase": tf_phase,
}


def available() -> tuple[str, ...]:
    """Names of the registered misfits."""
    return tuple(MISFITS)


def by_name(name: str) -> Callable:
    """The misfit function registered as ``name``.

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the valid names.
    """
    try:
        return MISFITS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"The 'misfit' parameter must be one of {list(MISFITS)}, but {name!r} was given."
        ) from None


__all__ = [
    "MISFITS",
    "MeasurementSkipped",
    "available",
    "by_name",
    "cc_traveltime",
    "l2",
    "tf_phase",
]
