"""P-SV elastic waves: rho u_tt = div sigma + f s(t) delta(x - x_s) (+ moment tensors).

Stress in the x-z plane with a vertical symmetry axis: sigma_xx = A e_xx + F e_zz,
sigma_zz = F e_xx + C e_zz, sigma_xz = 2 L e_xz, with A = rho vph^2, C = rho vpv^2,
L = rho vsv^2, F = eta (A - 2L) (vsh does not enter P-SV). Isotropic: A = C = rho vp^2,
L = rho vs^2, F = A - 2L. Components "X", "Z" (metres); point forces are per unit
length (N/m), moment tensors in N m / m. Absorbing boundaries: Stacey's
rho (vp_n n n^T + vs (I - n n^T)).
"""
from __future__ import annotations

import numpy as np

from ._kernels import ISOTROPIC_SENSITIVITY, SENSITIVITY, vector_stiffness
from .base import Physics, register, velocity_range

_ISO = ("vp", "vs", "rho")
_VTI = ("vpv", "vph", "vsv", "eta", "rho")


def love_parameters(model) -> tuple:
    """(A, C, F, L) arrays from an isotropic or VTI model, with physical checks."""
    rho = model["rho"]
    if all(n in model for n in _ISO):
        vp, vs = model["vp"], model["vs"]
        bad = np.zeros(1, bool) if np.iscomplexobj(vp) else vs >= vp / np.sqrt(2.0)
        if np.any(bad):
            raise ValueError(
                "Elastic models need vs < vp / sqrt(2) (a non-negative Lame lambda), but "
                f"{int(bad.sum())} points violate it (for example vp={vp[bad][0]:.6g}, vs={vs[bad][0]:.6g})."
            )
        a = rho * vp**2
        l = rho * vs**2
        return a, a, a - 2.0 * l, l
    a = rho * model["vph"] ** 2
    c = rho * model["vpv"] ** 2
    l = rho * model["vsv"] ** 2
    f = model["eta"] * (a - 2.0 * l)
    if not np.iscomplexobj(a) and (np.any(a * c - f**2 <= 0) or np.any(l <= 0)):
        raise ValueError(
            "The VTI model is not positive definite (it needs A C > F^2 and vsv > 0); check eta and the velocities."
        )
    return a, c, f, l


def _coefficients(model):
    a, c, f, l = love_parameters(model)
    return np.stack([a, f, c, l], axis=1)


def _impedance(coeff, mass, normals):
    """(n, ndim, ndim) Stacey damping per unit boundary measure, any dimension:
    ``rho (vp_n n n^T + vs (I - n n^T))`` for normals (n, ndim).

    Coefficient slots (A, F, C, L) as `_coefficients` gives them; the symmetry axis is the
    last mesh axis (z up). Isotropic (A = C): vp_n = vp and this is the exact first-order
    Clayton-Engquist / Stacey impedance in 2D and 3D. VTI: the impedance keeps the
    isotropic form (an approximation at the boundary, not the anisotropic impedance
    sqrt(rho Christoffel(n))), with rho vp_n^2 = A |n_h|^2 + C n_z^2 (|n_h|^2 the horizontal
    part of the normal: nx^2 in 2D, nx^2 + ny^2 in 3D) and vs from L (vsv).
    """
    ndim = normals.shape[1]
    n_h2 = np.sum(normals[:, :-1] ** 2, axis=1)  # in 2D the sum of one term: nx^2 exactly
    vp_n = np.sqrt((coeff[:, 0] * n_h2 + coeff[:, 2] * normals[:, -1] ** 2) / mass)
    vs_n = np.sqrt(coeff[:, 3] / mass)
    nn = np.einsum("pi,pj->pij", normals, normals)
    eye = np.eye(ndim)[None]
    return mass[:, None, None] * (vp_n[:, None, None] * nn + vs_n[:, None, None] * (eye - nn))


def _velocities(model):
    return ["vp", "vs"] if "vp" in model else ["vpv", "vph", "vsv"]


ELASTIC = register(
    Physics(
        name="elastic",
        components=("X", "Z"),
        quantity="displacement",
        units="m",
        parameter_sets=(_ISO, _VTI),
        coefficients=_coefficients,
        mass_density=lambda m: m["rho"],
        impedance=_impedance,
        max_velocity=lambda m: velocity_range(m, _velocities(m))[1],
        min_velocity=lambda m: velocity_range(m, ["vs"] if "vs" in m else ["vsv"])[0],
        kernel=vector_stiffness,
        description=__doc__,
        # An isotropic model moves its coefficients only as (lambda, mu): half the accumulators.
        sensitivity_mode=lambda m: ISOTROPIC_SENSITIVITY if all(n in m for n in _ISO) else SENSITIVITY,
    )
)
