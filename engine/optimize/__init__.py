"""Trust-region optimizer with an L-BFGS model and dogleg steps (pure numpy).

Designed for an inversion run as interruptible stages: every function is stateless
and everything carried between calls is a small serialisable object
(:class:`TrustRegion`, :class:`TrustRegionState`, :class:`LBFGSMemory`,
:class:`StepProposal`, each with ``to_dict`` / ``from_dict``). See
:mod:`engine.optimize.trust_region` for the stages and rules,
:mod:`engine.optimize.dogleg` for the step, :mod:`engine.optimize.lbfgs` for the model.
"""

from .dogleg import NORMS, DoglegStep, TrustRegionNorm, dogleg_step, get_norm, predicted_reduction
from .lbfgs import LBFGSMemory, Preconditioner
from .trust_region import (
    Decision,
    OptimizeResult,
    StepProposal,
    TrustRegion,
    TrustRegionState,
    decide,
    from_scaled,
    gradient_to_scaled,
    minimize,
    propose_step,
    to_scaled,
    update_memory,
)

__all__ = [
    "NORMS",
    "Decision",
    "DoglegStep",
    "LBFGSMemory",
    "OptimizeResult",
    "Preconditioner",
    "StepProposal",
    "TrustRegion",
    "TrustRegionNorm",
    "TrustRegionState",
    "decide",
    "dogleg_step",
    "from_scaled",
    "get_norm",
    "gradient_to_scaled",
    "minimize",
    "predicted_reduction",
    "propose_step",
    "to_scaled",
    "update_memory",
]
