"""Source time functions: callables ``stf(t) -> array`` with a serialisable description.

Normalisation: ``ricker`` peaks at 1; ``gaussian`` has unit area (so the wavefield is the
Green's function smoothed by it); ``gaussian_derivative`` is its time derivative;
``heaviside`` is the band-limited step, the integral of ``gaussian`` (0 before, 1 after).
Times are in seconds; ``delay`` is the centre of the pulse.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy.special import erf

from ._validate import number

__all__ = ["SourceTimeFunction", "ricker", "gaussian", "gaussian_derivative", "heaviside", "filtered_heaviside", "from_dict"]


@dataclass(frozen=True)
class SourceTimeFunction:
    """A named wavelet: ``kind`` in ("ricker", "gaussian", "gaussian_derivative", "heaviside")."""

    kind: str
    delay: float
    center_frequency: float | None = None
    half_duration: float | None = None
    min_period: float | None = None
    max_period: float | None = None

    def __post_init__(self):
        # Also reached by from_dict and direct construction: every field the kind uses
        # must be a finite number (a NaN delay would make every sample NaN).
        if self.kind not in _NEEDS:
            raise ValueError(f"Unknown source time function {self.kind!r}; valid kinds are {sorted(_NEEDS)}.")
        object.__setattr__(self, "delay", number("delay", self.delay))
        for name in _NEEDS[self.kind]:
            object.__setattr__(self, name, number(name, getattr(self, name), "positive"))
        if self.kind == "filtered_heaviside" and not self.max_period > self.min_period:
            raise ValueError(
                f"The 'max_period' parameter must exceed 'min_period' ({self.min_period!r}), "
                f"but {self.max_period!r} was given."
            )

    def __call__(self, t) -> np.ndarray:
        if self.kind == "filtered_heaviside":
            return _filtered_heaviside_samples(self.min_period, self.max_period, self.delay, np.asarray(t, dtype=float))
        t = np.asarray(t, dtype=float) - self.delay
        if self.kind == "ricker":
            a = (np.pi * self.center_frequency * t) ** 2
            return (1.0 - 2.0 * a) * np.exp(-a)
        sigma = self.sigma
        if self.kind == "gaussian":
            return np.exp(-0.5 * (t / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
        if self.kind == "gaussian_derivative":
            return -t / sigma**2 * np.exp(-0.5 * (t / sigma) ** 2) / (sigma * np.sqrt(2.0 * np.pi))
        return 0.5 * (1.0 + erf(t / (sigma * np.sqrt(2.0))))

    @property
    def sigma(self) -> float:
        """Standard deviation of the Gaussian; the half duration is taken as 1.628 sigma
        (the convention of SPECFEM's CMT half durations)."""
        return self.half_duration / 1.628

    @property
    def max_frequency(self) -> float:
        """The highest frequency to resolve when meshing: 2.5 f0 for a Ricker (its spectrum
        is 3 % of the peak there), 1/min_period for a filtered Heaviside, and where a
        Gaussian's spectrum falls below ~1e-3 otherwise."""
        if self.kind == "ricker":
            return 2.5 * self.center_frequency
        if self.kind == "filtered_heaviside":
            return 1.0 / self.min_period
        return 3.7 / (2.0 * np.pi * self.sigma)

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


#: The fields each kind needs (besides ``delay``).
_NEEDS = {"ricker": ("center_frequency",), "gaussian": ("half_duration",), "gaussian_derivative": ("half_duration",),
          "heaviside": ("half_duration",), "filtered_heaviside": ("min_period", "max_period")}


def _positive(name: str, value) -> float:
    return number(name, value, "positive")


def _delay(value, default: float) -> float:
    return default if value is None else number("delay", value)


def ricker(center_frequency: float, delay: float | None = None) -> SourceTimeFunction:
    """Ricker wavelet (second derivative of a Gaussian, peak value 1 at ``delay``).
    The default delay, 1.2 / f, lets it start from (numerically) zero."""
    f = _positive("center_frequency", center_frequency)
    return SourceTimeFunction("ricker", _delay(delay, 1.2 / f), center_frequency=f)


def gaussian(half_duration: float, delay: float | None = None) -> SourceTimeFunction:
    """Unit-area Gaussian pulse; the default delay (5 sigma) lets it start from zero."""
    h = _positive("half_duration", half_duration)
    return SourceTimeFunction("gaussian", _delay(delay, 5 * h / 1.628), half_duration=h)


def gaussian_derivative(half_duration: float, delay: float | None = None) -> SourceTimeFunction:
    """Time derivative of :func:`gaussian` (a velocity-type pulse)."""
    h = _positive("half_duration", half_duration)
    return SourceTimeFunction("gaussian_derivative", _delay(delay, 5 * h / 1.628), half_duration=h)


def heaviside(half_duration: float, delay: float | None = None) -> SourceTimeFunction:
    """Band-limited Heaviside step: the integral of :func:`gaussian` (a moment-rate step)."""
    h = _positive("half_duration", half_duration)
    return SourceTimeFunction("heaviside", _delay(delay, 5 * h / 1.628), half_duration=h)


def filtered_heaviside(min_period: float, max_period: float, delay: float = 0.0) -> SourceTimeFunction:
    """A unit step at ``delay`` band-passed to [1/max_period, 1/min_period] by a causal
    4th-order Butterworth filter (as used for period-band simulations: the synthetics
    then need no further filtering, and observed data are processed with the same filter)."""
    lo, hi = _positive("min_period", min_period), _positive("max_period", max_period)
    if not hi > lo:
        raise ValueError(f"The 'max_period' parameter must exceed 'min_period' ({lo!r}), but {hi!r} was given.")
    return SourceTimeFunction("filtered_heaviside", _delay(delay, 0.0), min_period=lo, max_period=hi)


def _filtered_heaviside_samples(min_period, max_period, delay, t):
    from scipy.signal import butter, sosfilt

    dt = min_period / 100.0
    n = int(np.ceil((max(np.max(t, initial=0.0) - delay, 0.0)) / dt)) + 2
    sos = butter(4, [1.0 / max_period, 1.0 / min_period], btype="bandpass", fs=1.0 / dt, output="sos")
    samples = sosfilt(sos, np.ones(n))
    return np.interp(t - delay, np.arange(n) * dt, samples, left=0.0, right=samples[-1])


_KINDS = {"ricker": ricker, "gaussian": gaussian, "gaussian_derivative": gaussian_derivative, "heaviside": heaviside,
          "filtered_heaviside": filtered_heaviside}


def from_dict(d: dict) -> SourceTimeFunction:
    """Rebuild a wavelet from :meth:`SourceTimeFunction.to_dict`."""
    kind = d.get("kind")
    if kind not in _KINDS:
        raise ValueError(f"Unknown source time function {kind!r}; valid kinds are {sorted(_KINDS)}.")
    fields = {"kind", "delay", *_NEEDS[kind]}
    unknown = sorted(k for k, v in d.items() if k not in fields and v is not None)
    if unknown:
        raise ValueError(f"Unknown field(s) {unknown} for a {kind!r} source time function; valid fields are {sorted(fields)}.")
    return SourceTimeFunction(**{k: v for k, v in d.items() if k in fields})
