"""The smoothing preconditioner P of the optimizer, built from ModelDependentSmoothing.

For each inversion parameter block of x, P applies anisotropic diffusion with lengths
``sigma = L * v_ref(x) / f_ref`` (per direction when two lengths are given), v_ref the
prior's reference velocity. It is symmetric positive definite, and the same for the
whole inversion (it depends on the prior only), as the L-BFGS memory requires.
"""
from __future__ import annotations

import numpy as np

from engine.smoothing import Smoothing, model_dependent_sigma

from ..config import ModelDependentSmoothing
from ..config._base import PARAMETER_NAMES
from .mapping import ParameterMap

__all__ = ["build_preconditioner"]


def build_preconditioner(config: ModelDependentSmoothing | None, pmap: ParameterMap):
    """A callable P(v) on x-vectors, or None without a preconditioner."""
    if config is None:
        return None
    mesh, prior = pmap.prior.mesh, pmap.prior
    smoothers = {}
    for q in pmap.blocks:
        lengths = config.smoothing_lengths_in_wavelengths[q]
        ref = config.reference_velocities.get(q, q if q.startswith("V") else "VS")
        v_ref = prior[PARAMETER_NAMES[ref]]
        sigma = model_dependent_sigma(mesh, lengths, v_ref, config.reference_frequency_in_hertz)
        smoothers[q] = Smoothing(mesh, sigma)

    def apply(v: np.ndarray) -> np.ndarray:
        out = np.empty_like(v)
        for i, q in enumerate(pmap.blocks):
            block = v[i * pmap.size:(i + 1) * pmap.size].reshape(pmap.shape)
            out[i * pmap.size:(i + 1) * pmap.size] = smoothers[q].apply_to_gradient(block).ravel()
        return out

    return apply
