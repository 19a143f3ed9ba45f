r"""L2 waveform misfit.

.. math::

    J = \frac12 \sum_{\text{traces, windows}} \sum_n \big(w_n (s_n - o_n)\big)^2 \, \Delta t

with :math:`w` the window taper, so the adjoint source (the functional derivative,
see :mod:`engine.misfit`) is :math:`\sum_{\text{windows}} w_n^2 (s_n - o_n)`. It is the
exact derivative of the discrete misfit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._common import data_skip_reason, finish, parse_options, prepare, skip_record
from ._windows import resolve_segments

NAME = "l2"
DEFAULTS = {"taper_fraction": 0.1, "taper_width": None}


def l2(
    observed: xr.DataArray,
    synthetic: xr.DataArray,
    windows: Any = None,
    **options: Any,
) -> tuple[float, xr.DataArray]:
    """L2 (least-squares) waveform misfit and its adjoint source.

    Parameters
    ----------
    observed, synthetic : xarray.DataArray
        Dims ``("receiver", "component", "time")``, same coordinates, ``time`` in
        seconds, uniformly sampled. Units of the samples: any (J is in those units
        squared times seconds).
    windows : None, list of (float, float) or dict, optional
        Measurement windows in seconds (see :mod:`engine.misfit`); ``None`` is the
        whole trace.
    **options
        ``taper_fraction`` (float, default 0.1): cosine ramp on each side of a window,
        ``taper_width`` (float s, default None): the ramp in seconds instead (at most half the window).
        as a fraction of its length.

    Returns
    -------
    value : float
        The misfit J.
    adjoint_source : xarray.DataArray
        ``(1/dt) dJ/ds``, shaped like ``synthetic``; attrs as in :mod:`engine.misfit`.

    Notes
    -----
    Zero observed data are a valid measurement here (``J = 1/2 ||s||^2``); only
    windows whose observed samples are not finite are skipped.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 2.0, 0.01)
    >>> s = xr.DataArray(np.sin(2 * np.pi * t)[None, None], dims=("receiver", "component", "time"),
    ...                  coords={"receiver": ["R0"], "component": ["Z"], "time": t})
    >>> value, adj = l2(s, s)
    >>> value
    0.0
    """
    opts = parse_options(NAME, options, DEFAULTS)
    traces = prepare(observed, synthetic)
    segments = resolve_segments(windows, traces, opts["taper_fraction"], opts["taper_width"])
    per_trace = np.zeros(traces.synthetic.shape[:2])
    adjoint = np.zeros_like(traces.synthetic)
    skipped = []
    for seg in segments:
        o = traces.observed[seg.receiver, seg.component, seg.start : seg.stop]
        s = traces.synthetic[seg.receiver, seg.component, seg.start : seg.stop]
        reason = data_skip_reason(o)
        if reason:
            skipped.append(skip_record(traces, seg.receiver, seg.component, seg.window, reason))
            continue
        residual = seg.taper * (s - o)
        per_trace[seg.receiver, seg.component] += 0.5 * np.dot(residual, residual) * traces.dt
        adjoint[seg.receiver, seg.component, seg.start : seg.stop] += seg.taper * residual
    return finish(NAME, traces, per_trace, adjoint, skipped)
