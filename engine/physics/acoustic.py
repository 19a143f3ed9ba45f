"""Acoustic waves in pressure: (1/kappa) p_tt - div((1/rho) grad p) = s(t) delta(x - x_s).

kappa = rho vp^2 (Pa), p in Pa. Every term has units 1/s^2, so in 2D the source s(t) is
in m^2/s^2: the second time derivative of the injected area per unit length. In a
homogeneous medium ``p = rho * (G * s)`` with G the 2D Green's function of
(1/c^2) G_tt - Laplacian G = delta(x) delta(t). The free surface is p = 0; absorbing
boundaries impose (1/rho) dp/dn = -1/(rho vp) dp/dt (first-order Clayton-Engquist).
"""
from __future__ import annotations

import numpy as np

from ._kernels import reference_metric, scalar_stiffness
from .base import Physics, register, velocity_range


def _coefficients(model):
    inv_rho = 1.0 / model["rho"]
    return np.stack([inv_rho, np.zeros_like(inv_rho), inv_rho], axis=1)


def _mass_density(model):
    return 1.0 / (model["rho"] * model["vp"] ** 2)


def _impedance(coeff, mass, normals):
    """(n, 1, 1) boundary damping per unit boundary measure, any dimension: 1/(rho c).

    It does not depend on the normals (n, ndim): 1/(rho c) = sqrt(mass * (1/rho)) since
    mass = 1/(rho c^2), and slot 0 of the coefficients is 1/rho (the first diagonal entry
    of the isotropic tensor (1/rho) I)."""
    return np.sqrt(mass * coeff[:, 0])[:, None, None]


ACOUSTIC = register(
    Physics(
        name="acoustic",
        components=("P",),
        quantity="pressure",
        units="Pa",
        parameter_sets=(("vp", "rho"),),
        coefficients=_coefficients,
        mass_density=_mass_density,
        impedance=_impedance,
        max_velocity=lambda m: velocity_range(m, ["vp"])[1],
        min_velocity=lambda m: velocity_range(m, ["vp"])[0],
        kernel=scalar_stiffness,
        kernel_material=reference_metric,
        dirichlet_free_surface=True,
        description=__doc__,
    )
)
