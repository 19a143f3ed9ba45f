"""Input checks, option parsing and result assembly shared by every misfit.

Every misfit module follows the same three steps::

    traces = prepare(observed, synthetic)           # checked float64 arrays
    segments = resolve_segments(windows, traces, taper_fraction)
    ... measure each segment, accumulate per-trace misfits and the adjoint source ...
    return finish(name, traces, per_trace, adjoint, skipped)

so the modules only contain the measurement itself.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import xarray as xr

#: Dimensions every trace array must have, in this order.
DIMS = ("receiver", "component", "time")

# Relative tolerance on the time coordinate: both traces come from the same clock, so
# anything beyond rounding of the sample times is a real mismatch.
_TIME_RTOL = 1e-9


class MeasurementSkipped(UserWarning):
    """A trace or window could not be measured and contributes nothing.

    The skipped measurements are also listed in ``adjoint_source.attrs["skipped"]``.
    """


@dataclass(frozen=True)
class Traces:
    """Checked, float64 copies of a pair of trace arrays.

    Attributes
    ----------
    observed, synthetic : numpy.ndarray, shape (n_receivers, n_components, n_times)
        Samples (any unit; the misfits are quadratic or scale-free in it).
    time : numpy.ndarray, shape (n_times,)
        Sample times in seconds.
    dt : float
        Sampling interval in seconds.
    receivers, components : tuple
        Labels of the receiver and component axes (coordinate values, or positions
        when the array has no such coordinate).
    template : xarray.DataArray
        The synthetic, used as the template for the adjoint source.
    """

    observed: np.ndarray
    synthetic: np.ndarray
    time: np.ndarray
    dt: float
    receivers: tuple
    components: tuple
    template: xr.DataArray


def _labels(da: xr.DataArray, dim: str) -> tuple:
    """Coordinate values of ``dim`` as plain Python objects (positions if absent)."""
    if dim in da.coords:
        return tuple(v.item() if hasattr(v, "item") else v for v in da[dim].values)
    return tuple(range(da.sizes[dim]))


def prepare(observed: xr.DataArray, synthetic: xr.DataArray) -> Traces:
    """Check a pair of trace arrays and return them as float64 numpy arrays.

    Parameters
    ----------
    observed, synthetic : xarray.DataArray
        Dims ``("receiver", "component", "time")``, a ``time`` coordinate in seconds,
        uniformly sampled, identical shapes and coordinates.

    Returns
    -------
    Traces

    Raises
    ------
    TypeError
        If either input is not an ``xarray.DataArray``.
    ValueError
        If the dims, shapes or coordinates differ (the message names the coordinate),
        the time axis is not uniformly sampled, or the synthetic is not finite.
    """
    for name, da in (("observed", observed), ("synthetic", synthetic)):
        if not isinstance(da, xr.DataArray):
            raise TypeError(
                f"The '{name}' parameter must be an xarray.DataArray with dims "
                f"{DIMS}, but a value of type {type(da).__name__} was given."
            )
        if tuple(da.dims) != DIMS:
            raise ValueError(
                f"The '{name}' parameter must have dims {DIMS} in this order, but "
                f"dims {tuple(da.dims)} were given (use .transpose(*{DIMS}))."
            )
        if "time" not in da.coords:
            raise ValueError(
                f"The '{name}' parameter must have a 'time' coordinate in seconds, "
                "but it has none."
            )
        if not np.issubdtype(da["time"].dtype, np.number):
            raise TypeError(
                f"The '{name}' parameter must have a numeric 'time' coordinate in "
                f"seconds, but its dtype is {da['time'].dtype} (convert datetimes to "
                "seconds after a reference time)."
            )
        if da.sizes["time"] < 3:
            raise ValueError(
                f"The '{name}' parameter must have at least 3 time samples, but "
                f"{da.sizes['time']} were given."
            )
    for dim in DIMS:
        if observed.sizes[dim] != synthetic.sizes[dim]:
            raise ValueError(
                f"The 'observed' and 'synthetic' traces differ in their '{dim}' "
                f"coordinate: {observed.sizes[dim]} versus {synthetic.sizes[dim]} values."
            )
    for dim in ("receiver", "component"):
        lo, ls = _labels(observed, dim), _labels(synthetic, dim)
        if lo != ls:
            raise ValueError(
                f"The 'observed' and 'synthetic' traces differ in their '{dim}' "
                f"coordinate: {list(lo)} versus {list(ls)}."
            )
    t = np.asarray(synthetic["time"].values, dtype=np.float64)
    to = np.asarray(observed["time"].values, dtype=np.float64)
    steps = np.diff(t)
    dt = float(steps.mean())
    if not dt > 0.0:
        raise ValueError(
            "The 'time' coordinate must increase, but it goes from "
            f"{t[0]} s to {t[-1]} s."
        )
    if np.max(np.abs(steps - dt)) > 1e-6 * dt:
        raise ValueError(
            "The 'time' coordinate must be uniformly sampled, but its steps range "
            f"from {steps.min()} s to {steps.max()} s; resample the traces first."
        )
    mismatch = np.max(np.abs(to - t))
    if mismatch > _TIME_RTOL * max(abs(t[0]), abs(t[-1]), dt):
        raise ValueError(
            "The 'observed' and 'synthetic' traces differ in their 'time' coordinate "
            f"by up to {mismatch} s (observed {to[0]}..{to[-1]} s, synthetic "
            f"{t[0]}..{t[-1]} s); interpolate them to the same times."
        )
    syn = np.asarray(synthetic.values, dtype=np.float64)
    if not np.all(np.isfinite(syn)):
        raise ValueError("The 'synthetic' traces must be finite, but they contain NaN or inf.")
    obs = np.asarray(observed.values, dtype=np.float64)
    return Traces(
        observed=obs,
        synthetic=syn,
        time=t,
        dt=dt,
        receivers=_labels(synthetic, "receiver"),
        components=_labels(synthetic, "component"),
        template=synthetic,
    )


def parse_options(
    misfit: str,
    options: Mapping[str, Any],
    defaults: Mapping[str, Any],
    required: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Merge ``options`` with ``defaults``, rejecting unknown and missing names.

    Raises
    ------
    TypeError
        For an option the misfit does not know (the message lists the valid ones) or
        a required option that is missing.
    """
    valid = tuple(required) + tuple(defaults)
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(
            f"The '{misfit}' misfit got unknown option(s) {unknown}; valid options "
            f"are {list(valid)}."
        )
    missing = [name for name in required if options.get(name) is None]
    if missing:
        raise TypeError(
            f"The '{misfit}' misfit requires the option(s) {missing} (seconds), but "
            "they were not given."
        )
    merged = dict(defaults)
    merged.update(options)
    return merged


def positive(name: str, value: Any) -> float:
    """Return ``value`` as a float, raising ``ValueError`` unless it is finite and > 0."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"The '{name}' parameter must be a number, but {value!r} was given."
        ) from None
    if not (np.isfinite(x) and x > 0.0):
        raise ValueError(f"The '{name}' parameter must be positive, but {value!r} was given.")
    return x


def skip_record(
    traces: Traces, r: int, c: int, window: tuple[float, float], reason: str
) -> dict[str, Any]:
    """One entry of ``attrs["skipped"]``."""
    return {
        "receiver": traces.receivers[r],
        "component": traces.components[c],
        "window": (float(window[0]), float(window[1])),
        "reason": reason,
    }


def data_skip_reason(observed: np.ndarray, synthetic: np.ndarray | None = None) -> str | None:
    """Reason why a window cannot be measured from its samples, or ``None``.

    ``synthetic`` is checked for energy only when given (an L2 residual against zero
    synthetics is a valid measurement, a phase or traveltime is not).
    """
    if not np.all(np.isfinite(observed)):
        return "observed data contain NaN or inf in the window"
    if synthetic is not None:
        if not np.any(observed):
            return "observed data are all zero in the window"
        if not np.any(synthetic):
            return "synthetic data are all zero in the window"
    return None


def finish(
    misfit: str,
    traces: Traces,
    per_trace: np.ndarray,
    adjoint: np.ndarray,
    skipped: list[dict[str, Any]],
    extra_attrs: Mapping[str, Any] | None = None,
) -> tuple[float, xr.DataArray]:
    """Assemble the ``(value, adjoint_source)`` result and warn about skipped windows.

    Parameters
    ----------
    misfit : str
        Registry name of the misfit.
    traces : Traces
    per_trace : numpy.ndarray, shape (n_receivers, n_components)
        Misfit of each trace; the value is their sum.
    adjoint : numpy.ndarray, shape (n_receivers, n_components, n_times)
        ``(1/dt) * dJ/ds`` (see the package docstring).
    skipped : list of dict
        Entries from :func:`skip_record`.
    extra_attrs : mapping, optional
        Further attributes specific to one misfit.
    """
    value = float(per_trace.sum())
    by_trace = {
        rec: {comp: float(per_trace[i, j]) for j, comp in enumerate(traces.components)}
        for i, rec in enumerate(traces.receivers)
    }
    out = xr.DataArray(
        adjoint,
        dims=traces.template.dims,
        coords=traces.template.coords,
        name="adjoint_source",
    )
    out.attrs = {
        "misfit": value,
        "misfit_function": misfit,
        "per_trace": by_trace,
        "skipped": list(skipped),
    }
    if extra_attrs:
        out.attrs.update(extra_attrs)
    if skipped:
        listed = "; ".join(
            f"{s['receiver']}.{s['component']} [{s['window'][0]:g}, {s['window'][1]:g}] s: "
            f"{s['reason']}"
            for s in skipped
        )
        # stacklevel 3: the user's call -> misfit function -> finish.
        warnings.warn(
            f"The '{misfit}' misfit skipped {len(skipped)} measurement(s), which "
            f"contribute nothing: {listed}",
            MeasurementSkipped,
            stacklevel=3,
        )
    return value, out


