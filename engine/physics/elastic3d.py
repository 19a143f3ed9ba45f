"""Elastic waves in 3D: rho u_tt = div sigma + f, isotropic or transversely isotropic.

Stress sigma_ij = c_ijkl e_kl with, for an isotropic model (vp, vs, rho),
c_ijkl = lambda d_ij d_kl + mu (d_ik d_jl + d_il d_jk), lambda = rho (vp^2 - 2 vs^2),
mu = rho vs^2; for a transversely isotropic model (vpv, vph, vsv, vsh, eta, rho) Love's
A = rho vph^2, C = rho vpv^2, L = rho vsv^2, N = rho vsh^2, F = eta (A - 2L) about a
symmetry axis that is z in a box and radial (the unit position vector) at every GLL
point of a spherical chunk. The axis is applied on the fly by ``ti_stiffness_3d`` (8
rows per point, not the 21 of a rotated tensor: measured as fast, and 2.6x less memory;
see ``benchmarks/bench_kernels3d.py``).

Components "X", "Y", "Z" of the mesh frame (metres); in a chunk that frame is
Earth-centred Cartesian and geographic receivers record Z (up), N, E. Point forces are
in N, moment tensors in N m (``engine.sources``). The free surface is traction free (the
natural condition of the weak form). Absorbing sides: first-order Clayton-Engquist /
Stacey damping, the traction ``-rho (v_P (n.v) n + v_SV (e_sv.v) e_sv + v_SH (e_sh.v) e_sh)``
with the phase speeds of waves travelling along the normal n (see `_impedance`).
"""
from __future__ import annotations

import numpy as np

from ._kernels import SENSITIVITY
from ._kernels3d import SENSITIVITY_KERNELS, isotropic_stiffness_3d, ti_material, ti_stiffness_3d
from .anisotropy import love_parameters
from .base import Physics, register, velocity_range

__all__ = ["ELASTIC_3D", "symmetry_axes"]

_ISO = ("vp", "vs", "rho")
_TI = ("vpv", "vph", "vsv", "vsh", "eta", "rho")
ISOTROPIC_ROWS = ("lambda", "mu")
TI_ROWS = ("A", "C", "L", "N", "F", "axis_x", "axis_y", "axis_z")


def symmetry_axes(mesh) -> np.ndarray:
    """(n_elem, 3, n, n, n) unit symmetry axis of transverse isotropy at every GLL point:
    radial in a spherical chunk (``mesh.chunk`` set), z elsewhere."""
    shape = tuple(mesh.point_shape)
    if getattr(mesh, "chunk", None) is not None:
        x = np.moveaxis(mesh.coordinates, -1, 1)  # (n_elem, 3, n, n, n)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    axis = np.zeros((shape[0], 3) + shape[1:])
    axis[:, 2] = 1.0
    return axis


def _coefficients(model) -> np.ndarray:
    """(n_elem, 2, n, n, n) (lambda, mu) for an isotropic model, or (n_elem, 8, n, n, n)
    (A, C, L, N, F, axis) for a transversely isotropic one; the model's mesh gives the axis."""
    rho = model["rho"]
    real = not np.iscomplexobj(rho)
    if all(n in model for n in _ISO):
        vp, vs = model["vp"], model["vs"]
        mu = rho * vs**2
        lam = rho * vp**2 - 2.0 * mu
        if real:
            bad = (3.0 * lam + 2.0 * mu <= 0) | (mu <= 0)
            if np.any(bad):
                raise ValueError(
                    "Elastic models need vs > 0 and vp > 2 vs / sqrt(3) (a positive bulk modulus), but "
                    f"{int(bad.sum())} points violate it (for example vp={vp[bad][0]:.6g}, vs={vs[bad][0]:.6g})."
                )
        return np.stack([lam, mu], axis=1)
    a, c, l, n, f = love_parameters(*(model[k] for k in _TI)) if real else _complex_love(model)
    if real and (np.any(l <= 0) or np.any(n <= 0) or np.any(a - n <= 0) or np.any((a - n) * c <= f**2)):
        raise ValueError("The transversely isotropic model is not positive definite (it needs L, N > 0, "
                         "A > N and (A - N) C > F^2); check eta and the velocities.")
    axes = symmetry_axes(model.mesh)  # a Model, or engine.model.FieldSet (complex-step perturbations)
    return np.concatenate([np.stack([a, c, l, n, f], axis=1), axes.astype(a.dtype)], axis=1)


def _complex_love(model):
    """Love parameters of complex-valued velocities (complex-step derivatives)."""
    vpv, vph, vsv, vsh, eta, rho = (model[k] for k in _TI)
    a, c, l, n = rho * vph**2, rho * vpv**2, rho * vsv**2, rho * vsh**2
    return a, c, l, n, eta * (a - 2.0 * l)


def _ti_kernel_material(coefficients, mesh):
    """Rows of ``ti_stiffness_3d`` from (A, C, L, N, F); the axis is the mesh's own
    (`symmetry_axes`, the values of rows 5-7), so the map is linear in A..F and a
    perturbation's coefficients (zero axis rows) give the derivative dK."""
    c = np.asarray(coefficients)
    axes = np.moveaxis(symmetry_axes(mesh), 1, -1)
    material = ti_material(*(c[:, r].real for r in range(5)), axes)
    return np.moveaxis(material, 0, 1)


def _impedance(coeff, mass, normals):
    """(n, 3, 3) Stacey damping per unit area: rho sum_k v_k p_k p_k^T over the three waves
    travelling along the normal n, with polarisations p = n (qP), e_sh = n x a / |n x a|
    (SH, horizontal) and e_sv = e_sh x n (qSV), a the symmetry axis.

    Isotropic (2 rows): v_P = vp, v_SV = v_SH = vs, the exact Clayton-Engquist impedance,
    rho (vp n n^T + vs (I - n n^T)). Transversely isotropic (8 rows): with cos = n.a,
    rho v_SH^2 = N sin^2 + L cos^2 (exact for SH), rho v_P^2 = A sin^2 + C cos^2 and
    rho v_SV^2 = L (both exact along and across the axis, where the chunk's and the box's
    absorbing sides are: their normals are radial or horizontal).
    """
    n = normals
    nn = np.einsum("pi,pj->pij", n, n)
    if coeff.shape[1] == 2:
        lam, mu = coeff[:, 0], coeff[:, 1]
        vp = np.sqrt((lam + 2.0 * mu) / mass)
        vs = np.sqrt(mu / mass)
        return mass[:, None, None] * (vp[:, None, None] * nn + vs[:, None, None] * (np.eye(3)[None] - nn))
    a, c, l, nn_mod, _ = (coeff[:, r] for r in range(5))
    axis = coeff[:, 5:8].real
    cos = np.einsum("pi,pi->p", n.real, axis)
    sin2 = 1.0 - cos**2
    e_sh = np.cross(n.real, axis)
    size = np.linalg.norm(e_sh, axis=1)
    # Along the axis every horizontal direction is SH; pick one perpendicular to n.
    along = size < 1e-12
    if np.any(along):
        helper = np.where(np.abs(n.real[along, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
        e_sh[along] = np.cross(n.real[along], helper)
        size[along] = np.linalg.norm(e_sh[along], axis=1)
    e_sh /= size[:, None]
    e_sv = np.cross(e_sh, n.real)
    v_p = np.sqrt((a * sin2 + c * cos**2) / mass)
    v_sh = np.sqrt((nn_mod * sin2 + l * cos**2) / mass)
    v_sv = np.sqrt(l / mass)
    outer = lambda e: np.einsum("pi,pj->pij", e, e)  # noqa: E731
    return mass[:, None, None] * (v_p[:, None, None] * nn + v_sv[:, None, None] * outer(e_sv)
                                  + v_sh[:, None, None] * outer(e_sh))


def _velocities(model, kind: str) -> list[str]:
    if "vp" in model:
        return ["vp", "vs"] if kind == "max" else ["vs"]
    return ["vpv", "vph", "vsv", "vsh"] if kind == "max" else ["vsv", "vsh"]


ELASTIC_3D = register(
    Physics(
        name="elastic",
        ndim=3,
        components=("X", "Y", "Z"),
        quantity="displacement",
        units="m",
        parameter_sets=(_ISO, _TI),
        coefficients=_coefficients,
        mass_density=lambda m: m["rho"],
        impedance=_impedance,
        max_velocity=lambda m: velocity_range(m, _velocities(m, "max"))[1],
        min_velocity=lambda m: velocity_range(m, _velocities(m, "min"))[0],
        kernel=None,
        kernels={2: (isotropic_stiffness_3d, lambda c, mesh: np.asarray(c).real),
                 8: (ti_stiffness_3d, _ti_kernel_material)},
        coefficient_names={2: ISOTROPIC_ROWS, 8: TI_ROWS},
        sensitivity_kernels={2: SENSITIVITY_KERNELS["isotropic"], 8: SENSITIVITY_KERNELS["ti"]},
        description=__doc__,
        sensitivity_mode=lambda m: SENSITIVITY,
    )
)
