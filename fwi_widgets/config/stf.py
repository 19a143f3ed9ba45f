"""Source time functions as configurations (``sn.simple_config.stf.*``, Salvus' names).

Each wavelet is a frozen, serialisable configuration; :meth:`to_engine` gives the
engine's :class:`engine.stf.SourceTimeFunction`. A wavelet multiplies the event's moment
tensor (``engine.sources``: the body force is ``stf(t) * M``), so what the engine takes
is the *moment* as a function of time, normalised to a final value of 1 for a step.

Times. A wavelet is described with its centre at the event's (centroid) origin time,
t = 0, as Salvus and SPECFEM describe them; the engine's time loop starts at its own
t = 0 with everything at rest, so :meth:`to_engine` delays the wavelet by
:attr:`delay_in_seconds` (engine time of the centre), chosen so that it starts from
~0 (below 1e-6 of its peak; see each class). A simulation therefore starts at
``-delay_in_seconds`` relative to the origin time
(:attr:`~fwi_widgets.config.simulation.SimulationConfiguration.start_time`): engine time
tau is origin time ``tau + start_time``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import engine

from ._base import Configuration, positive, register

__all__ = ["Wavelet", "GaussianRate", "FilteredHeaviside", "Ricker", "WAVELETS"]

#: SPECFEM's ``SOURCE_DECAY_MIMIC_TRIANGLE``: a Gaussian moment rate exp(-(t / a)^2) with
#: a = half_duration / 1.628 mimics a triangle of that half duration (Global CMT's).
SOURCE_DECAY_MIMIC_TRIANGLE = 1.628

#: Delay of a Gaussian wavelet's centre, in standard deviations of its moment rate: the
#: rate there is exp(-12.5) = 3.7e-6 of its peak and the moment 2.9e-7 of its final value.
_GAUSSIAN_DELAY_IN_SIGMAS = 5.0


class Wavelet(Configuration):
    """What every wavelet configuration gives: the engine's wavelet and its delay."""

    @property
    def delay_in_seconds(self) -> float:
        """The engine time (s) of the wavelet's centre (its value at t = 0 of the origin time)
        in :meth:`to_engine`: the least delay at which it starts from ~0."""
        raise NotImplementedError

    def to_engine(self, delay: float | None = None) -> engine.stf.SourceTimeFunction:
        """The engine's wavelet, centred at engine time ``delay`` (default :attr:`delay_in_seconds`)."""
        raise NotImplementedError

    def _delay(self, delay) -> float:
        return self.delay_in_seconds if delay is None else positive("delay", delay, allow_zero=True)


@register
@dataclass(frozen=True)
class GaussianRate(Wavelet):
    """A Gaussian moment-rate function: the moment is an error-function step from 0 to 1.

    ``GaussianRate(half_duration_in_seconds=h)`` is SPECFEM3D_GLOBE's source time
    function (``comp_source_time_function``) and Global CMT's half duration: moment rate
    ``exp(-(t / a)^2) / (sqrt(pi) a)`` and moment ``(1 + erf(t / a)) / 2`` with
    ``a = h / 1.628`` (``SOURCE_DECAY_MIMIC_TRIANGLE``), i.e. a standard deviation of the
    rate ``sigma = a / sqrt(2) = h / 2.302``. The moment rises from 1.1 % to 98.9 % of its
    final value between ``-h`` and ``+h``, as a triangle of half duration ``h`` would from
    0 to 100 %.

    Engine wavelet: ``engine.stf.heaviside(half_duration=h / sqrt(2), delay=5 sigma)``.
    The engine's own ``half_duration`` is ``1.628 sigma`` (its ``sigma`` property), a
    factor sqrt(2) wider than SPECFEM's convention, hence the ``h / sqrt(2)``. The delay,
    5 sigma = 2.17 h, starts the rate at 3.7e-6 of its peak and the moment at 2.9e-7.

    The moment rate's spectrum is ``exp(-(pi f a)^2)`` of its value at f = 0: h = 2 T
    leaves 3.4e-7 of it at the period T (the tutorial's 140 s at 70 s), h = T / 2 leaves
    0.39. A wavelet that broad needs observed data processed to match (convolved with it).
    """

    half_duration_in_seconds: float

    def __post_init__(self):
        positive("half_duration_in_seconds", self.half_duration_in_seconds)

    @property
    def sigma_in_seconds(self) -> float:
        """Standard deviation of the moment rate (s): ``h / (1.628 sqrt(2))``."""
        return float(self.half_duration_in_seconds) / (SOURCE_DECAY_MIMIC_TRIANGLE * math.sqrt(2.0))

    @property
    def delay_in_seconds(self) -> float:
        return _GAUSSIAN_DELAY_IN_SIGMAS * self.sigma_in_seconds

    def to_engine(self, delay: float | None = None) -> engine.stf.SourceTimeFunction:
        return engine.stf.heaviside(float(self.half_duration_in_seconds) / math.sqrt(2.0), delay=self._delay(delay))


@register
@dataclass(frozen=True)
class FilteredHeaviside(Wavelet):
    """A unit step band-passed to [1 / max_period, 1 / min_period] (what the 2D workflow uses).

    Engine wavelet: ``engine.stf.filtered_heaviside(min_period, max_period)``, a causal
    4th-order Butterworth band-pass of a step at the delay: it is exactly 0 before the
    delay, so the delay is 0 (the wavelet begins at the origin time; being causal, its
    energy arrives a fraction of a period later).
    """

    min_period_in_seconds: float
    max_period_in_seconds: float

    def __post_init__(self):
        lo = positive("min_period_in_seconds", self.min_period_in_seconds)
        hi = positive("max_period_in_seconds", self.max_period_in_seconds)
        if not hi > lo:
            raise ValueError(f"The 'max_period_in_seconds' parameter must exceed the minimum period {lo!r}, but "
                             f"{hi!r} was given.")

    @property
    def delay_in_seconds(self) -> float:
        return 0.0

    def to_engine(self, delay: float | None = None) -> engine.stf.SourceTimeFunction:
        return engine.stf.filtered_heaviside(float(self.min_period_in_seconds), float(self.max_period_in_seconds),
                                             delay=self._delay(delay))


@register
@dataclass(frozen=True)
class Ricker(Wavelet):
    """A Ricker wavelet (second derivative of a Gaussian) of peak frequency ``center_frequency`` (Hz).

    Engine wavelet: ``engine.stf.ricker(center_frequency, delay=1.2 / f)``: peak value 1
    at the delay; 1.2 / f starts it at -2e-5 of its peak (the engine's default).
    Used as the moment, it is a zero-mean moment history (no static offset).
    """

    center_frequency: float

    def __post_init__(self):
        positive("center_frequency", self.center_frequency)

    @property
    def delay_in_seconds(self) -> float:
        return 1.2 / float(self.center_frequency)

    def to_engine(self, delay: float | None = None) -> engine.stf.SourceTimeFunction:
        return engine.stf.ricker(float(self.center_frequency), delay=self._delay(delay))


#: The wavelet configurations, by name.
WAVELETS = {cls.__name__: cls for cls in (GaussianRate, FilteredHeaviside, Ricker)}
