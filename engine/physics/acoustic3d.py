"""Acoustic waves in 3D, in pressure: (1/kappa) p_tt - div((1/rho) grad p) = s(t) delta(x - x_s).

kappa = rho vp^2 (Pa), p in Pa. The left side is in 1/s^2 and delta in 1/m^3, so the
source s(t) is in m^3/s^2: the second time derivative of the injected volume. In a homogeneous
medium ``p(x, t) = rho s(t - r/c) / (4 pi r)``. The free surface is p = 0; absorbing
boundaries impose (1/rho) dp/dn = -1/(rho vp) dp/dt (first-order Clayton-Engquist), as in 2D.
"""
from __future__ import annotations

import numpy as np

from ._kernels3d import SENSITIVITY_KERNELS, reference_metric_3d, scalar_stiffness_3d
from .acoustic import _impedance
from .base import Physics, register, velocity_range

__all__ = ["ACOUSTIC_3D"]


def _coefficients(model) -> np.ndarray:
    """(n_elem, 1, n, n, n): 1/rho, the isotropic coefficient C = (1/rho) I."""
    return (1.0 / model["rho"])[:, None]


ACOUSTIC_3D = register(
    Physics(
        name="acoustic",
        ndim=3,
        components=("P",),
        quantity="pressure",
        units="Pa",
        parameter_sets=(("vp", "rho"),),
        coefficients=_coefficients,
        mass_density=lambda m: 1.0 / (m["rho"] * m["vp"] ** 2),
        impedance=_impedance,
        max_velocity=lambda m: velocity_range(m, ["vp"])[1],
        min_velocity=lambda m: velocity_range(m, ["vp"])[0],
        kernel=scalar_stiffness_3d,
        kernel_material=reference_metric_3d,
        dirichlet_free_surface=True,
        coefficient_names={1: ("1/rho",)},
        sensitivity_kernels={1: SENSITIVITY_KERNELS["scalar"]},
        description=__doc__,
    )
)
