"""SH (out-of-plane) waves: rho u_tt = d/dx(N du/dx) + d/dz(L du/dz) + F s(t) delta(x - x_s).

Isotropic: N = L = rho vs^2. With vertical transverse isotropy N = rho vsh^2 (horizontal
propagation) and L = rho vsv^2 (vertical propagation). The same equation on a
horizontal (x, y) domain is the map-view "membrane" surface-wave equation of Tape et
al. (2007), with vs the phase velocity. The component is "Y" (metres); the force F is
per unit length (N/m). Free surfaces are traction free; absorbing boundaries impose
the impedance sqrt(rho * mu_n) with mu_n = N nx^2 + L nz^2.
"""
from __future__ import annotations

import numpy as np

from ._kernels import reference_metric, scalar_stiffness
from .base import Physics, register, velocity_range


def _coefficients(model):
    rho = model["rho"]
    if "vs" in model:
        n = l = rho * model["vs"] ** 2
    else:
        n = rho * model["vsh"] ** 2
        l = rho * model["vsv"] ** 2
    return np.stack([n, np.zeros_like(n), l], axis=1)


def _impedance(coeff, mass, normals):
    """(n, 1, 1) boundary damping per unit boundary length, sqrt(rho mu_n) with
    mu_n = N nx^2 + L nz^2. SH is a 2D (out-of-plane) equation: normals must be (n, 2)."""
    if normals.ndim != 2 or normals.shape[1] != 2:
        raise ValueError(
            "The 'sh' physics is 2D only (the out-of-plane component of a 2D section); its boundary "
            f"normals must be (n, 2), but {normals.shape} were given. For 3D meshes use physics='elastic'."
        )
    mu_n = coeff[:, 0] * normals[:, 0] ** 2 + coeff[:, 2] * normals[:, 1] ** 2
    return np.sqrt(mass * mu_n)[:, None, None]


def _velocities(model):
    return ["vs"] if "vs" in model else ["vsh", "vsv"]


SH = register(
    Physics(
        name="sh",
        components=("Y",),
        quantity="displacement",
        units="m",
        parameter_sets=(("vs", "rho"), ("vsh", "vsv", "rho")),
        coefficients=_coefficients,
        mass_density=lambda m: m["rho"],
        impedance=_impedance,
        max_velocity=lambda m: velocity_range(m, _velocities(m))[1],
        min_velocity=lambda m: velocity_range(m, _velocities(m))[0],
        kernel=scalar_stiffness,
        kernel_material=reference_metric,
        description=__doc__,
    )
)
