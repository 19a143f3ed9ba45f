"""Dogleg solution of the trust-region subproblem with an L-BFGS quadratic model.

Model of the misfit change for a step ``p`` (scaled model units):
``q(p) = g.p + 1/2 p.B p``, with ``B`` the L-BFGS Hessian of
:class:`~engine.optimize.lbfgs.LBFGSMemory`. The predicted reduction is
``pred = -q(p)``.

The dogleg path (Nocedal & Wright 2006, section 4.1), in the order tried:

1. ``"newton"``: the quasi-Newton point ``p_B = -H g`` if it lies inside the radius;
2. ``"cauchy_boundary"``: else, along the preconditioned steepest-descent direction
   ``d = -P g``, the model minimiser ``p_C = t* d`` (``t* = g.P g / d.B d``); if it
   lies outside the radius (or the model is linear along ``d``), ``d`` scaled to
   the boundary;
3. ``"dogleg"``: else, the point of the segment from ``p_C`` to ``p_B`` that meets the
   boundary. The norm is convex along the segment, inside at ``p_C`` and outside at
   ``p_B``, so there is exactly one such point.

With an empty memory the model is linear (no curvature known) and the step is case 2
on the boundary. Trust-region norms live in the :data:`NORMS` registry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from .lbfgs import LBFGSMemory, Preconditioner, apply_preconditioner, as_vector


# ------------------------------------------------------------------- norms
@dataclass(frozen=True)
class TrustRegionNorm:
    """A trust-region norm and the exact boundary crossing of a segment.

    Attributes
    ----------
    name : str
    value : callable
        ``value(p) -> float``, the norm of ``p``.
    segment_crossing : callable
        ``segment_crossing(a, b, radius) -> t`` in [0, 1] with
        ``value(a + t (b - a)) == radius``, given ``value(a) < radius <= value(b)``.
    """

    name: str
    value: Callable[[np.ndarray], float]
    segment_crossing: Callable[[np.ndarray, np.ndarray, float], float]


def _l2_crossing(a: np.ndarray, b: np.ndarray, radius: float) -> float:
    d = b - a
    dd = float(d @ d)
    ad = float(a @ d)
    c = float(a @ a) - radius * radius  # < 0: a is inside
    root = math.sqrt(ad * ad - dd * c)
    # The positive root of dd t^2 + 2 ad t + c = 0, in the form without cancellation
    # (for ad > 0 the textbook form subtracts two nearly equal numbers).
    t = (root - ad) / dd if ad <= 0.0 else -c / (ad + root)
    return min(max(t, 0.0), 1.0)


def _linf_crossing(a: np.ndarray, b: np.ndarray, radius: float) -> float:
    d = b - a
    moving = d != 0.0
    # Each moving coordinate reaches |.| = radius at t_i >= 0; the max-norm, convex in
    # t, first reaches the radius at the smallest of them.
    t_i = (np.copysign(radius, d[moving]) - a[moving]) / d[moving]
    return float(min(max(t_i.min(), 0.0), 1.0))


NORMS: dict[str, TrustRegionNorm] = {
    "l2": TrustRegionNorm("l2", lambda p: float(np.linalg.norm(p)), _l2_crossing),
    "linf": TrustRegionNorm(
        "linf", lambda p: float(np.max(np.abs(p))) if p.size else 0.0, _linf_crossing
    ),
}


def get_norm(name: str) -> TrustRegionNorm:
    """Return the registered trust-region norm ``name`` ("l2" or "linf")."""
    try:
        return NORMS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"The 'norm' parameter must be one of {sorted(NORMS)}, but {name!r} was given."
        ) from None


# ------------------------------------------------------------------- dogleg
@dataclass(frozen=True)
class DoglegStep:
    """Result of :func:`dogleg_step`.

    Attributes
    ----------
    step : numpy.ndarray, shape (n,)
        The step ``p`` (scaled model units).
    step_dual : numpy.ndarray or None, shape (n,)
        ``P^-1 p`` when a preconditioner was used (pass it on to
        :meth:`LBFGSMemory.add_pair`), else None.
    kind : str
        "newton", "cauchy_boundary" or "dogleg".
    hit_boundary : bool
        Whether ``norm(p) == radius`` (every kind but "newton").
    predicted_reduction : float
        ``pred = -(g.p + 1/2 p.B p)`` (misfit units).
    norm : float
        ``norm(p)`` in the trust-region norm.
    """

    step: np.ndarray
    step_dual: np.ndarray | None
    kind: str
    hit_boundary: bool
    predicted_reduction: float
    norm: float


def predicted_reduction(
    g: np.ndarray, p: np.ndarray, memory: LBFGSMemory, p_dual: np.ndarray | None = None
) -> float:
    """Return ``pred = -(g.p + 1/2 p.B p)`` for the L-BFGS model ``B`` of ``memory``.

    Parameters
    ----------
    g : numpy.ndarray, shape (n,)
        Gradient (misfit units per scaled model unit).
    p : numpy.ndarray, shape (n,)
        Step (scaled model units).
    memory : LBFGSMemory
    p_dual : numpy.ndarray, shape (n,), optional
        ``P^-1 p``; required when the memory is preconditioned.

    Returns
    -------
    float
        Predicted misfit reduction (positive for a descent step).
    """
    return -(float(g @ p) + 0.5 * float(p @ memory.apply_hessian(p, p_dual)))


def _scale(v: np.ndarray | None, factor: float) -> np.ndarray | None:
    return None if v is None else factor * v


def _segment(a: Any, b: Any, t: float) -> Any:
    return None if a is None else a + t * (b - a)


def dogleg_step(
    g: np.ndarray,
    radius: float,
    memory: LBFGSMemory,
    precondition: Preconditioner | None = None,
    norm: str = "l2",
) -> DoglegStep:
    """Solve the trust-region subproblem approximately by the dogleg method.

    Parameters
    ----------
    g : numpy.ndarray, shape (n,)
        Gradient in the scaled space (misfit units), nonzero.
    radius : float
        Trust-region radius (scaled model units, in ``norm``), positive.
    memory : LBFGSMemory
        Curvature pairs (not modified).
    precondition : callable, optional
        Symmetric positive ``P(v) -> array``; required exactly when the memory's
        pairs were added with one. Applied twice (``P g`` and inside ``H g``).
    norm : {"l2", "linf"}
        Trust-region norm (see :data:`NORMS`).

    Returns
    -------
    DoglegStep

    Examples
    --------
    >>> import numpy as np
    >>> from engine.optimize import LBFGSMemory, dogleg_step
    >>> r = dogleg_step(np.array([3.0, -4.0]), 0.5, LBFGSMemory())
    >>> r.kind, round(r.norm, 12), r.step.round(3).tolist()
    ('cauchy_boundary', 0.5, [-0.3, 0.4])
    """
    nrm = get_norm(norm)
    g = as_vector(g, "g")
    if not (isinstance(radius, (int, float, np.floating)) and math.isfinite(radius) and radius > 0):
        raise ValueError(f"The 'radius' parameter must be positive, but {radius!r} was given.")
    if not np.any(g):
        raise ValueError("The 'g' parameter must be nonzero, but a zero gradient was given.")
    d = -apply_preconditioner(precondition, g)
    d_dual = -g if precondition is not None else None

    def to_boundary() -> tuple[np.ndarray, np.ndarray | None]:
        f = radius / nrm.value(d)
        return f * d, _scale(d_dual, f)

    if memory.n_pairs == 0:
        memory._check_precondition(precondition)
        p, p_dual = to_boundary()
        kind = "cauchy_boundary"
    else:
        hg, hg_dual = memory.apply_inverse_with_dual(g, precondition)
        p_newton, p_newton_dual = -hg, (-hg_dual if precondition is not None else None)
        if nrm.value(p_newton) <= radius:
            p, p_dual, kind = p_newton, p_newton_dual, "newton"
        else:
            curvature = float(d @ memory.apply_hessian(d, d_dual))
            p_cauchy = None
            if curvature > 0.0:
                t_star = -float(g @ d) / curvature
                p_cauchy, p_cauchy_dual = t_star * d, _scale(d_dual, t_star)
            if p_cauchy is None or nrm.value(p_cauchy) >= radius:
                p, p_dual = to_boundary()
                kind = "cauchy_boundary"
            else:
                t = nrm.segment_crossing(p_cauchy, p_newton, radius)
                p = p_cauchy + t * (p_newton - p_cauchy)
                p_dual = _segment(p_cauchy_dual, p_newton_dual, t)
                kind = "dogleg"
    return DoglegStep(
        step=p,
        step_dual=p_dual,
        kind=kind,
        hit_boundary=kind != "newton",
        predicted_reduction=predicted_reduction(g, p, memory, p_dual),
        norm=nrm.value(p),
    )
