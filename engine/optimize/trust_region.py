"""Trust-region driver: stateless stages for an interruptible inversion.

One iteration of the app, between which the process may stop and resume elsewhere:

1. :func:`propose_step` at the current model ``x`` with gradient ``g``;
2. the caller evaluates the control-group misfit at ``x + step``:
   ``ared = f_cg(x) - f_cg(x + step)``;
3. :func:`decide` accepts or rejects and updates the radius (a rejected step is
   proposed again at the same model with the smaller radius);
4. after an accepted step, once the gradient at the new model is known,
   :func:`update_memory` adds ``s = step``, ``y = g_new - g_old`` (control group).

Everything carried between stages is small and serialisable:
:class:`TrustRegion` (settings), :class:`TrustRegionState` (radius, L-BFGS memory,
counters) and :class:`StepProposal`. The caller keeps ``x`` and ``g``.

Rules (NUMERICS.md, "Trust region"): ``rho = ared / pred``; reject if
``pred <= 0`` (and reset the L-BFGS memory) or ``rho <= eta_accept``;
``rho < eta_shrink``: radius / ``shrink_factor``; ``rho > eta_grow`` and the step
reached the boundary: radius * ``grow_factor`` (up to ``max_trust_region_radius``);
else the radius is kept.

The problem is posed in the scaled space ``x = (m - m_prior) / m_prior``
(:func:`to_scaled`, :func:`from_scaled`, :func:`gradient_to_scaled`), where every
entry is a dimensionless relative deviation, so one radius fits all parameters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .dogleg import get_norm, dogleg_step, predicted_reduction
from .lbfgs import (
    ArrayFormat,
    LBFGSMemory,
    Preconditioner,
    _check_array_format,
    apply_preconditioner,
    as_vector,
)


# ----------------------------------------------------------------- settings
def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"The '{name}' parameter must be a number, but {value!r} was given.")
    if not value > 0:
        raise ValueError(f"The '{name}' parameter must be positive, but {value!r} was given.")


@dataclass(frozen=True)
class TrustRegion:
    """Trust-region settings (validated on construction).

    Parameters
    ----------
    initial_trust_region_linf : float
        L-infinity norm of the first step in the scaled space (0.02: no parameter
        changes by more than 2 % of its prior value).
    max_trust_region_radius : float or None
        Upper bound of the radius when it grows (in ``norm``); None: unbounded.
    eta_accept : float
        Accept a step if ``rho > eta_accept``.
    eta_shrink : float
        Shrink the radius if ``rho < eta_shrink``.
    eta_grow : float
        Grow the radius if ``rho > eta_grow`` and the step reached the boundary.
    shrink_factor, grow_factor : float
        Radius divisor and multiplier, both > 1.
    max_pairs : int
        L-BFGS memory length.
    norm : {"l2", "linf"}
        Trust-region norm in the scaled space.
    """

    initial_trust_region_linf: float = 0.02
    max_trust_region_radius: float | None = None
    eta_accept: float = 1e-4
    eta_shrink: float = 0.25
    eta_grow: float = 0.75
    shrink_factor: float = 4.0
    grow_factor: float = 2.0
    max_pairs: int = 5
    norm: str = "l2"

    def __post_init__(self) -> None:
        _check_positive("initial_trust_region_linf", self.initial_trust_region_linf)
        if self.max_trust_region_radius is not None:
            _check_positive("max_trust_region_radius", self.max_trust_region_radius)
        for name in ("eta_accept", "eta_shrink", "eta_grow"):
            _check_positive(name, getattr(self, name))
        if not self.eta_accept <= self.eta_shrink < self.eta_grow < 1.0:
            raise ValueError(
                "The 'eta_accept', 'eta_shrink' and 'eta_grow' parameters must satisfy "
                "eta_accept <= eta_shrink < eta_grow < 1, but "
                f"{self.eta_accept!r}, {self.eta_shrink!r}, {self.eta_grow!r} were given."
            )
        for name in ("shrink_factor", "grow_factor"):
            value = getattr(self, name)
            _check_positive(name, value)
            if not value > 1:
                raise ValueError(
                    f"The '{name}' parameter must be greater than 1, but {value!r} was given."
                )
        if isinstance(self.max_pairs, bool) or not isinstance(self.max_pairs, (int, np.integer)):
            raise TypeError(
                f"The 'max_pairs' parameter must be an int, but {self.max_pairs!r} was given."
            )
        _check_positive("max_pairs", self.max_pairs)
        get_norm(self.norm)

    def initial_state(self) -> TrustRegionState:
        """A fresh state: no radius yet, an empty memory of ``max_pairs`` pairs."""
        return TrustRegionState(memory=LBFGSMemory(max_pairs=self.max_pairs))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the settings."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrustRegion:
        """Rebuild (and validate) settings from :meth:`to_dict` output."""
        return cls(**d)


# -------------------------------------------------------------------- state
@dataclass
class TrustRegionState:
    """What the optimizer carries between stages (the caller keeps ``x`` and ``g``).

    Attributes
    ----------
    radius : float or None
        Current trust-region radius (scaled units, in the settings' norm); None
        before the first step.
    memory : LBFGSMemory
        Curvature pairs of the accepted steps.
    iteration : int
        Number of accepted steps.
    rejections : int
        Steps rejected in a row at the current model.
    """

    radius: float | None = None
    memory: LBFGSMemory = field(default_factory=LBFGSMemory)
    iteration: int = 0
    rejections: int = 0

    def copy(self) -> TrustRegionState:
        """An independent copy (the memory's arrays are shared: never mutated)."""
        return dataclasses.replace(self, memory=self.memory.copy())

    def to_dict(self, arrays: ArrayFormat = "list") -> dict[str, Any]:
        """Serialise; ``arrays`` as in :meth:`LBFGSMemory.to_dict`."""
        return {
            "radius": None if self.radius is None else float(self.radius),
            "iteration": int(self.iteration),
            "rejections": int(self.rejections),
            "memory": self.memory.to_dict(arrays),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrustRegionState:
        """Rebuild a state from :meth:`to_dict` output."""
        return cls(
            radius=None if d["radius"] is None else float(d["radius"]),
            memory=LBFGSMemory.from_dict(d["memory"]),
            iteration=int(d["iteration"]),
            rejections=int(d["rejections"]),
        )


@dataclass(frozen=True)
class StepProposal:
    """A trial step and its model prediction (result of :func:`propose_step`).

    Attributes
    ----------
    step : numpy.ndarray, shape (n,)
        Trial step in the scaled space; the trial model is ``x + step``.
    step_dual : numpy.ndarray or None, shape (n,)
        ``P^-1 step`` when preconditioned (needed by :func:`update_memory`), else None.
    pred : float
        Predicted misfit reduction ``-(g.p + 1/2 p.B p)``.
    norm_update : float
        Norm of the step in the trust-region norm.
    radius : float
        Radius the step was computed for.
    kind : str
        "steepest_descent" (first step), "newton", "cauchy_boundary" or "dogleg".
    hit_boundary : bool
        Whether the step reached the trust-region boundary.
    """

    step: np.ndarray
    step_dual: np.ndarray | None
    pred: float
    norm_update: float
    radius: float
    kind: str
    hit_boundary: bool

    def to_dict(self, arrays: ArrayFormat = "list") -> dict[str, Any]:
        """Serialise; ``arrays`` as in :meth:`LBFGSMemory.to_dict`."""
        conv = _check_array_format(arrays)
        return {
            "step": conv(self.step),
            "step_dual": None if self.step_dual is None else conv(self.step_dual),
            "pred": float(self.pred),
            "norm_update": float(self.norm_update),
            "radius": float(self.radius),
            "kind": self.kind,
            "hit_boundary": bool(self.hit_boundary),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StepProposal:
        """Rebuild a proposal from :meth:`to_dict` output."""
        dual = d["step_dual"]
        return cls(
            step=np.array(d["step"], dtype=np.float64),
            step_dual=None if dual is None else np.array(dual, dtype=np.float64),
            pred=float(d["pred"]),
            norm_update=float(d["norm_update"]),
            radius=float(d["radius"]),
            kind=str(d["kind"]),
            hit_boundary=bool(d["hit_boundary"]),
        )


@dataclass(frozen=True)
class Decision:
    """Outcome of :func:`decide`.

    Attributes
    ----------
    accepted : bool
    rho : float or None
        ``ared / pred`` (None when ``pred <= 0``).
    radius : float
        New radius.
    reason : str
        Human-readable rule that fired, e.g. "rho = 0.12 < 0.25: step accepted,
        radius divided by 4".
    state : TrustRegionState
        New state (the input state is not modified).
    pred, ared : float
        The predicted and actual reductions compared.
    """

    accepted: bool
    rho: float | None
    radius: float
    reason: str
    state: TrustRegionState
    pred: float
    ared: float


# ------------------------------------------------------------------- stages
def propose_step(
    settings: TrustRegion,
    state: TrustRegionState,
    x: np.ndarray,
    g: np.ndarray,
    precondition: Preconditioner | None = None,
) -> StepProposal:
    """Propose a trial step at the model ``x`` with gradient ``g``.

    First step (``state.radius is None``): ``-P g`` scaled so that its L-infinity norm
    is ``initial_trust_region_linf``; its norm in the trust-region norm becomes the
    radius. Later: :func:`~engine.optimize.dogleg.dogleg_step` in ``state.radius``.

    Parameters
    ----------
    settings : TrustRegion
    state : TrustRegionState
        Not modified.
    x : numpy.ndarray, shape (n,)
        Current scaled model (only its shape is used: the step does not depend on it).
    g : numpy.ndarray, shape (n,)
        Gradient at ``x`` in the scaled space (control group), nonzero.
    precondition : callable, optional
        Symmetric positive ``P(v) -> array``, the same at every call.

    Returns
    -------
    StepProposal
    """
    x = as_vector(x, "x")
    g = as_vector(g, "g", x.size)
    if not np.any(g):
        raise ValueError("The 'g' parameter must be nonzero, but a zero gradient was given.")
    nrm = get_norm(settings.norm)
    if state.radius is None:
        d = -apply_preconditioner(precondition, g)
        factor = settings.initial_trust_region_linf / float(np.max(np.abs(d)))
        p = factor * d
        p_dual = -factor * g if precondition is not None else None
        if state.memory.n_pairs:
            state.memory._check_precondition(precondition)
        radius = nrm.value(p)
        return StepProposal(
            step=p,
            step_dual=p_dual,
            pred=predicted_reduction(g, p, state.memory, p_dual),
            norm_update=radius,
            radius=radius,
            kind="steepest_descent",
            hit_boundary=True,
        )
    r = dogleg_step(g, state.radius, state.memory, precondition, settings.norm)
    return StepProposal(
        step=r.step,
        step_dual=r.step_dual,
        pred=r.predicted_reduction,
        norm_update=r.norm,
        radius=float(state.radius),
        kind=r.kind,
        hit_boundary=r.hit_boundary,
    )


def decide(
    settings: TrustRegion, state: TrustRegionState, proposal: StepProposal, ared: float
) -> Decision:
    """Accept or reject a trial step and update the radius.

    Parameters
    ----------
    settings : TrustRegion
    state : TrustRegionState
        State the proposal was made from (not modified).
    proposal : StepProposal
    ared : float
        Actual reduction ``f_cg(x) - f_cg(x + step)`` over the control group (misfit
        units; positive when the misfit decreased). A non-finite value (a failed
        simulation) rejects the step and shrinks the radius.

    Returns
    -------
    Decision
        With the new state; after an accepted step, call :func:`update_memory` once
        the gradient at the new model is known.

    Examples
    --------
    >>> import numpy as np
    >>> from engine.optimize import TrustRegion, propose_step, decide
    >>> settings = TrustRegion()
    >>> state = settings.initial_state()
    >>> prop = propose_step(settings, state, np.zeros(2), np.array([1.0, -2.0]))
    >>> decide(settings, state, prop, ared=0.5 * prop.pred).reason
    'rho = 0.5: step accepted, radius kept'
    """
    pred = float(proposal.pred)
    ared = float(ared)
    radius = float(proposal.radius)
    new = state.copy()
    rho: float | None
    if not pred > 0.0:
        new.memory.reset()
        accepted, rho = False, None
        reason = f"pred = {pred:.3g} <= 0: step rejected, L-BFGS memory reset"
    elif not math.isfinite(ared):
        accepted, rho = False, None
        radius /= settings.shrink_factor
        reason = (
            f"ared = {ared}: step rejected, radius divided by {settings.shrink_factor:g}"
        )
    else:
        rho = ared / pred
        accepted = rho > settings.eta_accept
        verdict = "step accepted" if accepted else "step rejected"
        if not accepted and rho >= settings.eta_shrink:
            # Only reachable with eta_accept == eta_shrink.
            radius /= settings.shrink_factor
            reason = (
                f"rho = {rho:.3g} <= {settings.eta_accept:g}: {verdict}, "
                f"radius divided by {settings.shrink_factor:g}"
            )
        elif rho < settings.eta_shrink:
            radius /= settings.shrink_factor
            reason = (
                f"rho = {rho:.3g} < {settings.eta_shrink:g}: {verdict}, "
                f"radius divided by {settings.shrink_factor:g}"
            )
        elif rho > settings.eta_grow and proposal.hit_boundary:
            grown = radius * settings.grow_factor
            cap = settings.max_trust_region_radius
            radius = grown if cap is None else min(grown, max(cap, radius))
            capped = "" if radius == grown else f" (capped at {radius:.3g})"
            reason = (
                f"rho = {rho:.3g} > {settings.eta_grow:g} and the step reached the "
                f"boundary: {verdict}, radius multiplied by {settings.grow_factor:g}{capped}"
            )
        else:
            reason = f"rho = {rho:.3g}: {verdict}, radius kept"
    new.radius = radius
    if accepted:
        new.iteration += 1
        new.rejections = 0
    else:
        new.rejections += 1
    return Decision(
        accepted=accepted, rho=rho, radius=radius, reason=reason, state=new, pred=pred, ared=ared
    )


def update_memory(
    state: TrustRegionState,
    s: np.ndarray | StepProposal,
    y: np.ndarray,
    precondition: Preconditioner | None = None,
    s_dual: np.ndarray | None = None,
) -> TrustRegionState:
    """Add the curvature pair of an accepted step; return the new state.

    Parameters
    ----------
    state : TrustRegionState
        State returned by :func:`decide` (not modified).
    s : numpy.ndarray, shape (n,), or StepProposal
        The accepted step. Pass the :class:`StepProposal` itself when preconditioned:
        its ``step_dual`` (``P^-1 s``) is then used.
    y : numpy.ndarray, shape (n,)
        ``g_new - g_old`` in the scaled space, both on the control group.
    precondition : callable, optional
        The same ``P`` as in :func:`propose_step`.
    s_dual : numpy.ndarray, shape (n,), optional
        ``P^-1 s`` when ``s`` is an array and a preconditioner is used.

    Returns
    -------
    TrustRegionState
        A pair skipped by the curvature condition leaves the pairs unchanged and
        says why in ``state.memory.last_skip_reason``.
    """
    if isinstance(s, StepProposal):
        if s_dual is not None:
            raise ValueError(
                "The 's_dual' parameter must be None when 's' is a StepProposal, "
                "but an array was given."
            )
        s, s_dual = s.step, s.step_dual
    new = state.copy()
    new.memory.add_pair(s, y, s_dual=s_dual, precondition=precondition)
    return new


# ----------------------------------------------------------- convenience loop
@dataclass
class OptimizeResult:
    """Result of :func:`minimize`.

    Attributes
    ----------
    x : numpy.ndarray, shape (n,)
        Best (last accepted) point.
    fun : float
    grad : numpy.ndarray, shape (n,)
    success : bool
        True if the gradient tolerance was met.
    message : str
    n_iterations : int
        Proposals made (each costs one function evaluation).
    n_accepted : int
    n_evaluations : int
        Calls of ``fun_and_grad`` (``n_iterations + 1``).
    history : list of dict
        One entry per proposal: "f" and "gnorm" (at the current point), "radius",
        "kind", "pred", "ared", "rho", "accepted", "reason".
    state : TrustRegionState
    """

    x: np.ndarray
    fun: float
    grad: np.ndarray
    success: bool
    message: str
    n_iterations: int
    n_accepted: int
    n_evaluations: int
    history: list[dict[str, Any]]
    state: TrustRegionState


def minimize(
    fun_and_grad: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x0: np.ndarray,
    settings: TrustRegion | None = None,
    max_iterations: int = 200,
    precondition: Preconditioner | None = None,
    gtol: float = 1e-8,
    min_radius: float = 1e-14,
) -> OptimizeResult:
    """Minimise a function with the trust-region L-BFGS dogleg method.

    Drives :func:`propose_step`, :func:`decide` and :func:`update_memory` in a loop,
    for tests and small problems (the app runs the same stages as separate tasks).

    Parameters
    ----------
    fun_and_grad : callable
        ``fun_and_grad(x) -> (f, g)``, ``g`` of shape (n,).
    x0 : numpy.ndarray, shape (n,)
        Starting point.
    settings : TrustRegion, optional
        Defaults to ``TrustRegion()``.
    max_iterations : int
        Maximum number of proposals.
    precondition : callable, optional
        Symmetric positive ``P(v) -> array``.
    gtol : float
        Stop when ``max |g| <= gtol``.
    min_radius : float
        Stop when the radius falls below this (no further progress possible).

    Returns
    -------
    OptimizeResult

    Examples
    --------
    >>> import numpy as np
    >>> from engine.optimize import minimize
    >>> res = minimize(lambda x: (float(x @ x), 2 * x), np.array([1.0, -2.0]))
    >>> res.success, bool(np.abs(res.x).max() < 1e-8)
    (True, True)
    """
    settings = TrustRegion() if settings is None else settings
    x = as_vector(x0, "x0").copy()
    f, g = fun_and_grad(x)
    f, g = float(f), as_vector(g, "g", x.size)
    state = settings.initial_state()
    history: list[dict[str, Any]] = []
    n_accepted = 0
    message = f"maximum number of iterations ({max_iterations}) reached"
    success = False
    for _ in range(max_iterations):
        if float(np.max(np.abs(g))) <= gtol:
            success, message = True, f"max |g| <= gtol = {gtol:g}"
            break
        if state.radius is not None and state.radius < min_radius:
            message = f"radius {state.radius:.3g} below min_radius = {min_radius:g}"
            break
        proposal = propose_step(settings, state, x, g, precondition)
        f_trial, g_trial = fun_and_grad(x + proposal.step)
        ared = f - float(f_trial)
        decision = decide(settings, state, proposal, ared)
        history.append(
            {
                "f": f,
                "gnorm": float(np.linalg.norm(g)),
                "radius": proposal.radius,
                "kind": proposal.kind,
                "pred": proposal.pred,
                "ared": ared,
                "rho": decision.rho,
                "accepted": decision.accepted,
                "reason": decision.reason,
            }
        )
        state = decision.state
        if decision.accepted:
            g_trial = as_vector(g_trial, "g", x.size)
            state = update_memory(state, proposal, g_trial - g, precondition)
            x, f, g = x + proposal.step, float(f_trial), g_trial
            n_accepted += 1
    else:
        if float(np.max(np.abs(g))) <= gtol:
            success, message = True, f"max |g| <= gtol = {gtol:g}"
    return OptimizeResult(
        x=x,
        fun=f,
        grad=g,
        success=success,
        message=message,
        n_iterations=len(history),
        n_accepted=n_accepted,
        n_evaluations=len(history) + 1,
        history=history,
        state=state,
    )


# ------------------------------------------------------------- scaled space
def _check_prior(m_prior: Any) -> np.ndarray:
    prior = np.asarray(m_prior, dtype=np.float64)
    if not np.all(np.isfinite(prior)) or np.any(prior == 0.0):
        raise ValueError(
            "The 'm_prior' parameter must be finite and nonzero everywhere (it divides "
            "the model), but it holds zeros, NaN or inf."
        )
    return prior


def to_scaled(m: np.ndarray, m_prior: np.ndarray) -> np.ndarray:
    """Relative deviation from the prior: ``x = (m - m_prior) / m_prior``.

    Parameters
    ----------
    m, m_prior : numpy.ndarray, same shape
        Physical model and prior (any units, e.g. m/s; the same for both); the prior
        must be nonzero.

    Returns
    -------
    numpy.ndarray
        Dimensionless ``x`` (0.02 = 2 % above the prior).
    """
    prior = _check_prior(m_prior)
    return (np.asarray(m, dtype=np.float64) - prior) / prior


def from_scaled(x: np.ndarray, m_prior: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_scaled`: ``m = m_prior (1 + x)`` (units of ``m_prior``)."""
    prior = _check_prior(m_prior)
    return prior * (1.0 + np.asarray(x, dtype=np.float64))


def gradient_to_scaled(g_m: np.ndarray, m_prior: np.ndarray) -> np.ndarray:
    """Gradient in the scaled space: ``g_x = m_prior * g_m`` (chain rule, dm/dx = m_prior).

    Parameters
    ----------
    g_m : numpy.ndarray
        ``dJ/dm`` (misfit units per unit of ``m``).
    m_prior : numpy.ndarray, same shape

    Returns
    -------
    numpy.ndarray
        ``dJ/dx`` (misfit units). A scaled parameter that drives several physical ones
        (VP -> VPV, VPH) gets the sum of their scaled gradients: the caller sums.
    """
    prior = _check_prior(m_prior)
    return prior * np.asarray(g_m, dtype=np.float64)
