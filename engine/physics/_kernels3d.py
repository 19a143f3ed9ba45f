"""Stiffness kernels K u on hexahedra, on blocked elements (see ``_blocks``).

The 3D counterparts of ``_kernels``: the same blocking (``LANES`` elements per SIMD
block, lane index innermost), the same conflict-free phase/task schedule, parallel
zeroing of ``ku`` and subnormals flushed while a task runs. The weak form is
``u' K u = sum over points of w_i w_j w_k |J| grad(u')^T C grad(u)``, so K is symmetric
positive semi-definite and the kernels return +K u (= -div(C grad u) weakly).

Kernels (material rows per point in brackets):

* ``scalar_stiffness_3d`` [6]: a scalar field with a symmetric 3 x 3 coefficient C
  (acoustic: C = 1/rho I, as the 2D acoustic physics; smoothing: a diffusion tensor).
  Its material is the reference-space metric G = w w w |J| J^-1 C J^-T
  (:func:`reference_metric_3d`, rows G00, G01, G02, G11, G12, G22), which folds geometry
  and material into 6 numbers per point, and it does not read ``geom``.
* ``scalar_stiffness_3d_pointwise`` [1]: the same operator for an isotropic C = m I from
  the scalar m and the geometry on the fly (11 loads per point instead of 6); kept to
  measure the choice (see ``benchmarks/bench_kernels3d.py``).
* ``isotropic_stiffness_3d`` [2]: elasticity with (lambda, mu).
* ``anisotropic_stiffness_3d`` [21]: elasticity with the full symmetric Voigt matrix
  c_IJ, I <= J, in the order c11 c12 c13 c14 c15 c16 c22 c23 ... c66 (Voigt 1..6 = xx,
  yy, zz, yz, xz, xy), e.g. a transversely isotropic medium rotated to a radial axis
  (``engine.physics.anisotropy``: ``pack(rotate(ti_voigt(A, C, L, N, F), frame))``).
* ``ti_stiffness_3d`` [8]: transverse isotropy about a per-point unit axis n, with no
  rotation stored: sigma = a tr(e) I + 2 N e + b (e_nn I + tr(e) n n^T)
  + 2 c (n (e n)^T + (e n) n^T) + d e_nn n n^T, where a = A - 2N, b = F - A + 2N,
  c = L - N, d = A + C - 2F - 4L and e_nn = n.e.n (the tensor of Spencer's form; in the
  frame with n = e_3 it is c11 = c22 = A, c33 = C, c12 = A - 2N, c13 = F, c44 = c55 = L,
  c66 = N). Material rows (a, N, b, c, d, n_x, n_y, n_z) from :func:`ti_material`.

Arguments (grouped; shapes):
    u, ku      : (n_global, n_comp) field and output K u (overwritten); n_comp = 1 for
                 the scalar kernels, 3 (x, y, z) for the elastic ones.
    ibool      : (n_blocks, ngll, ngll, ngll, L) int32; count (n_blocks,) valid lanes.
    schedule   : (phases, tasks) of ``ElementBlocks``.
    geom       : (n_blocks, 10, ngll, ngll, ngll, L): row 3 a + b = d xi_a / d x_b,
                 row 9 = w_i w_j w_k |J| (``ElementBlocks.geometry``).
    material   : (n_blocks, n_coeff, ngll, ngll, ngll, L), the field's precision.
    dmat       : (ngll, ngll), ``dmat[p, q] = l_q'(xi_p)``.
    points     : tuple of length ngll (compile-time loop bound).

Point arrays are indexed ``[k, j, i, l]`` (zeta, eta, xi, lane), as the mesh's
``[e, k, j, i]``.

Sensitivity kernels (the adjoint's gradients), one per kind that has one, found with
:func:`sensitivity_kernel`. They take ``(u, ku, ibool, count, schedule, geom, material,
dmat, fwd, sens, points)``: the plain kernel's arguments plus ``fwd`` (n_global, n_comp)
and ``sens`` (n_blocks, n_slots, ngll, ngll, ngll, L) in the field's precision. They
overwrite ``ku`` with K u exactly as the plain kernel does and add into ``sens``, at every
point, the derivative of ``u^T K fwd`` with respect to the point's coefficients (w = w w w
|J|, e() the strain, tr its trace). Slots, in order:

* ``scalar_stiffness_sensitivity_3d`` [1]: d/dm for C = m I (the acoustic m = 1/rho),
  w grad(u) . grad(fwd). It refers to C, not to the metric the kernel reads, and uses
  ``geom`` for the gradient of ``fwd``.
* ``isotropic_stiffness_sensitivity_3d`` [2]: d/d lambda = w tr e(u) tr e(fwd),
  d/d mu = w 2 e(u) : e(fwd).
* ``ti_stiffness_sensitivity_3d`` [5]: d/dA, d/dC, d/dL, d/dN, d/dF (Love), chain-ruled
  from the kernel's (a, N, b, c, d), which are linear in them; the axis is not a parameter.

As ``_kernels.vector_stiffness``, the elastic ones run three passes per block: ``fwd``'s
strain times w into a packed scratch, ``u``'s flux keeping its strain in another, the
products into ``sens``; then the weak divergence and scatter of the plain kernel. The
scalar one stores w J^-1 grad(fwd) in the first pass and adds its dot product with the
reference gradient of ``u`` in the flux pass (no geometry read there). On an 8 x 8 x 8
order-4 box, 1 thread, each costs 1.6-2.0x its plain kernel. The
anisotropic kernel has no sensitivity counterpart yet (it would take 21 slots:
e_I q_J + e_J q_I for I < J).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import prange

from .._fpenv import flush_subnormals, restore_fpenv
from .._jit import inline_kernel, parallel_kernel
from ..mesh import Mesh
from ._blocks import LANES as L
from ._blocks import ElementBlocks
from ._kernels import _zero_in_parallel

__all__ = [
    "scalar_stiffness_3d",
    "scalar_stiffness_3d_pointwise",
    "isotropic_stiffness_3d",
    "anisotropic_stiffness_3d",
    "ti_stiffness_3d",
    "scalar_stiffness_sensitivity_3d",
    "isotropic_stiffness_sensitivity_3d",
    "ti_stiffness_sensitivity_3d",
    "SENSITIVITY_KERNELS",
    "SENSITIVITY_SLOTS",
    "sensitivity_kernel",
    "reference_metric_3d",
    "ti_material",
    "KINDS",
    "Stiffness3D",
    "stiffness_3d",
]

# Voigt index of the symmetric pair (p, q), and the 21 upper-triangle slots (I <= J).
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
VOIGT21 = tuple((a, b) for a in range(6) for b in range(a, 6))


# --- point helpers ----------------------------------------------------------------------
@inline_kernel
def _gather(field, comp, b, ibool, out, points):
    """out[k, j, i, l] = field[ibool[b, k, j, i, l], comp]."""
    n = len(points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(L):
                    out[k, j, i, l] = field[ibool[b, k, j, i, l], comp]


@inline_kernel
def _gather_vector(field, b, ibool, sx, sy, sz, points):
    """The three components of every point from one index load."""
    n = len(points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(L):
                    g = ibool[b, k, j, i, l]
                    sx[k, j, i, l] = field[g, 0]
                    sy[k, j, i, l] = field[g, 1]
                    sz[k, j, i, l] = field[g, 2]


@inline_kernel
def _reference_derivatives(s, dmat, k, j, i, l, points):
    """(d/d xi, d/d eta, d/d zeta) of s at point (k, j, i) of lane l."""
    d1 = dmat[i, 0] * s[k, j, 0, l]
    d2 = dmat[j, 0] * s[k, 0, i, l]
    d3 = dmat[k, 0] * s[0, j, i, l]
    for m in range(1, len(points)):
        d1 += dmat[i, m] * s[k, j, m, l]
        d2 += dmat[j, m] * s[k, m, i, l]
        d3 += dmat[k, m] * s[m, j, i, l]
    return d1, d2, d3


@inline_kernel
def _weak_divergence(t1, t2, t3, dmat, k, j, i, l, points):
    """sum_m l_i'(xi_m) t1[k, j, m] + l_j'(eta_m) t2[k, m, i] + l_k'(zeta_m) t3[m, j, i]:
    the transpose of ``_reference_derivatives`` applied to the reference fluxes."""
    acc = dmat[0, i] * t1[k, j, 0, l] + dmat[0, j] * t2[k, 0, i, l] + dmat[0, k] * t3[0, j, i, l]
    for m in range(1, len(points)):
        acc += dmat[m, i] * t1[k, j, m, l] + dmat[m, j] * t2[k, m, i, l] + dmat[m, k] * t3[m, j, i, l]
    return acc


@inline_kernel
def _physical_gradient(b, geom, k, j, i, l, d1, d2, d3):
    """(d/dx, d/dy, d/dz) from the reference derivatives: g_b = sum_a d_a d xi_a/d x_b."""
    gx = d1 * geom[b, 0, k, j, i, l] + d2 * geom[b, 3, k, j, i, l] + d3 * geom[b, 6, k, j, i, l]
    gy = d1 * geom[b, 1, k, j, i, l] + d2 * geom[b, 4, k, j, i, l] + d3 * geom[b, 7, k, j, i, l]
    gz = d1 * geom[b, 2, k, j, i, l] + d2 * geom[b, 5, k, j, i, l] + d3 * geom[b, 8, k, j, i, l]
    return gx, gy, gz


@inline_kernel
def _reference_flux(b, geom, k, j, i, l, vx, vy, vz):
    """w w w |J| J^-1 v: a physical vector (a row of the stress) in reference coordinates."""
    jw = geom[b, 9, k, j, i, l]
    t1 = jw * (geom[b, 0, k, j, i, l] * vx + geom[b, 1, k, j, i, l] * vy + geom[b, 2, k, j, i, l] * vz)
    t2 = jw * (geom[b, 3, k, j, i, l] * vx + geom[b, 4, k, j, i, l] * vy + geom[b, 5, k, j, i, l] * vz)
    t3 = jw * (geom[b, 6, k, j, i, l] * vx + geom[b, 7, k, j, i, l] * vy + geom[b, 8, k, j, i, l] * vz)
    return t1, t2, t3


@inline_kernel
def _scatter(ku, comp, b, ibool, count, values, points):
    """ku[ibool[b, k, j, i, l], comp] += values[k, j, i, l] for the block's valid lanes."""
    n = len(points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(count[b]):
                    ku[ibool[b, k, j, i, l], comp] += values[k, j, i, l]


# --- scalar ------------------------------------------------------------------------------
@parallel_kernel
def scalar_stiffness_3d(u, ku, ibool, count, schedule, geom, material, dmat, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()  # see engine._fpenv
            s = np.empty((n, n, n, L), dtype=u.dtype)
            t1 = np.empty((n, n, n, L), dtype=u.dtype)
            t2 = np.empty((n, n, n, L), dtype=u.dtype)
            t3 = np.empty((n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather(u, 0, b, ibool, s, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                d1, d2, d3 = _reference_derivatives(s, dmat, k, j, i, l, points)
                                g00 = material[b, 0, k, j, i, l]
                                g01 = material[b, 1, k, j, i, l]
                                g02 = material[b, 2, k, j, i, l]
                                g11 = material[b, 3, k, j, i, l]
                                g12 = material[b, 4, k, j, i, l]
                                g22 = material[b, 5, k, j, i, l]
                                t1[k, j, i, l] = g00 * d1 + g01 * d2 + g02 * d3
                                t2[k, j, i, l] = g01 * d1 + g11 * d2 + g12 * d3
                                t3[k, j, i, l] = g02 * d1 + g12 * d2 + g22 * d3
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                s[k, j, i, l] = _weak_divergence(t1, t2, t3, dmat, k, j, i, l, points)
                _scatter(ku, 0, b, ibool, count, s, points)
            restore_fpenv(fpenv)


@parallel_kernel
def scalar_stiffness_3d_pointwise(u, ku, ibool, count, schedule, geom, material, dmat, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            s = np.empty((n, n, n, L), dtype=u.dtype)
            t1 = np.empty((n, n, n, L), dtype=u.dtype)
            t2 = np.empty((n, n, n, L), dtype=u.dtype)
            t3 = np.empty((n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather(u, 0, b, ibool, s, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                d1, d2, d3 = _reference_derivatives(s, dmat, k, j, i, l, points)
                                gx, gy, gz = _physical_gradient(b, geom, k, j, i, l, d1, d2, d3)
                                m = material[b, 0, k, j, i, l]
                                t1[k, j, i, l], t2[k, j, i, l], t3[k, j, i, l] = _reference_flux(
                                    b, geom, k, j, i, l, m * gx, m * gy, m * gz)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                s[k, j, i, l] = _weak_divergence(t1, t2, t3, dmat, k, j, i, l, points)
                _scatter(ku, 0, b, ibool, count, s, points)
            restore_fpenv(fpenv)


# --- elastic -----------------------------------------------------------------------------
@inline_kernel
def _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points):
    """Voigt strain (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) at one point."""
    a1, a2, a3 = _reference_derivatives(sx, dmat, k, j, i, l, points)
    uxx, uxy, uxz = _physical_gradient(b, geom, k, j, i, l, a1, a2, a3)
    a1, a2, a3 = _reference_derivatives(sy, dmat, k, j, i, l, points)
    uyx, uyy, uyz = _physical_gradient(b, geom, k, j, i, l, a1, a2, a3)
    a1, a2, a3 = _reference_derivatives(sz, dmat, k, j, i, l, points)
    uzx, uzy, uzz = _physical_gradient(b, geom, k, j, i, l, a1, a2, a3)
    return uxx, uyy, uzz, uyz + uzy, uxz + uzx, uxy + uyx


@inline_kernel
def _store_flux(b, geom, flux, k, j, i, l, sxx, syy, szz, syz, sxz, sxy):
    """flux[3 c + a] = (w w w |J| J^-1 sigma)_a of component c, for the weak divergence."""
    flux[0, k, j, i, l], flux[1, k, j, i, l], flux[2, k, j, i, l] = _reference_flux(b, geom, k, j, i, l, sxx, sxy, sxz)
    flux[3, k, j, i, l], flux[4, k, j, i, l], flux[5, k, j, i, l] = _reference_flux(b, geom, k, j, i, l, sxy, syy, syz)
    flux[6, k, j, i, l], flux[7, k, j, i, l], flux[8, k, j, i, l] = _reference_flux(b, geom, k, j, i, l, sxz, syz, szz)


@inline_kernel
def _weak_divergence_packed(flux, c, dmat, k, j, i, l, points):
    """``_weak_divergence`` of component c of the packed fluxes (rows 3 c, 3 c + 1, 3 c + 2),
    indexed directly rather than through ``flux[r]`` views."""
    r = 3 * c
    acc = dmat[0, i] * flux[r, k, j, 0, l] + dmat[0, j] * flux[r + 1, k, 0, i, l] + dmat[0, k] * flux[r + 2, 0, j, i, l]
    for m in range(1, len(points)):
        acc += dmat[m, i] * flux[r, k, j, m, l] + dmat[m, j] * flux[r + 1, k, m, i, l] + dmat[m, k] * flux[r + 2, m, j, i, l]
    return acc


@inline_kernel
def _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points):
    """ku[g] += the weak divergence of the fluxes, all three components (sx, sy, sz reused)."""
    n = len(points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(L):
                    sx[k, j, i, l] = _weak_divergence_packed(flux, 0, dmat, k, j, i, l, points)
                    sy[k, j, i, l] = _weak_divergence_packed(flux, 1, dmat, k, j, i, l, points)
                    sz[k, j, i, l] = _weak_divergence_packed(flux, 2, dmat, k, j, i, l, points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(count[b]):
                    g = ibool[b, k, j, i, l]
                    ku[g, 0] += sx[k, j, i, l]
                    ku[g, 1] += sy[k, j, i, l]
                    ku[g, 2] += sz[k, j, i, l]


@parallel_kernel
def isotropic_stiffness_3d(u, ku, ibool, count, schedule, geom, material, dmat, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            sx = np.empty((n, n, n, L), dtype=u.dtype)
            sy = np.empty((n, n, n, L), dtype=u.dtype)
            sz = np.empty((n, n, n, L), dtype=u.dtype)
            flux = np.empty((9, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather_vector(u, b, ibool, sx, sy, sz, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                exx, eyy, ezz, gyz, gxz, gxy = _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points)
                                lam = material[b, 0, k, j, i, l]
                                mu = material[b, 1, k, j, i, l]
                                ltr = lam * (exx + eyy + ezz)
                                m2 = mu + mu
                                _store_flux(b, geom, flux, k, j, i, l, ltr + m2 * exx, ltr + m2 * eyy, ltr + m2 * ezz,
                                            mu * gyz, mu * gxz, mu * gxy)
                _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points)
            restore_fpenv(fpenv)


@inline_kernel
def _voigt_stress(material, b, k, j, i, l, e1, e2, e3, e4, e5, e6):
    """sigma_I = sum_J c_IJ e_J with the 21 upper-triangle coefficients."""
    c11 = material[b, 0, k, j, i, l]
    c12 = material[b, 1, k, j, i, l]
    c13 = material[b, 2, k, j, i, l]
    c14 = material[b, 3, k, j, i, l]
    c15 = material[b, 4, k, j, i, l]
    c16 = material[b, 5, k, j, i, l]
    c22 = material[b, 6, k, j, i, l]
    c23 = material[b, 7, k, j, i, l]
    c24 = material[b, 8, k, j, i, l]
    c25 = material[b, 9, k, j, i, l]
    c26 = material[b, 10, k, j, i, l]
    c33 = material[b, 11, k, j, i, l]
    c34 = material[b, 12, k, j, i, l]
    c35 = material[b, 13, k, j, i, l]
    c36 = material[b, 14, k, j, i, l]
    c44 = material[b, 15, k, j, i, l]
    c45 = material[b, 16, k, j, i, l]
    c46 = material[b, 17, k, j, i, l]
    c55 = material[b, 18, k, j, i, l]
    c56 = material[b, 19, k, j, i, l]
    c66 = material[b, 20, k, j, i, l]
    s1 = c11 * e1 + c12 * e2 + c13 * e3 + c14 * e4 + c15 * e5 + c16 * e6
    s2 = c12 * e1 + c22 * e2 + c23 * e3 + c24 * e4 + c25 * e5 + c26 * e6
    s3 = c13 * e1 + c23 * e2 + c33 * e3 + c34 * e4 + c35 * e5 + c36 * e6
    s4 = c14 * e1 + c24 * e2 + c34 * e3 + c44 * e4 + c45 * e5 + c46 * e6
    s5 = c15 * e1 + c25 * e2 + c35 * e3 + c45 * e4 + c55 * e5 + c56 * e6
    s6 = c16 * e1 + c26 * e2 + c36 * e3 + c46 * e4 + c56 * e5 + c66 * e6
    return s1, s2, s3, s4, s5, s6


@parallel_kernel
def anisotropic_stiffness_3d(u, ku, ibool, count, schedule, geom, material, dmat, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            sx = np.empty((n, n, n, L), dtype=u.dtype)
            sy = np.empty((n, n, n, L), dtype=u.dtype)
            sz = np.empty((n, n, n, L), dtype=u.dtype)
            flux = np.empty((9, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather_vector(u, b, ibool, sx, sy, sz, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                e1, e2, e3, e4, e5, e6 = _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points)
                                s1, s2, s3, s4, s5, s6 = _voigt_stress(material, b, k, j, i, l, e1, e2, e3, e4, e5, e6)
                                _store_flux(b, geom, flux, k, j, i, l, s1, s2, s3, s4, s5, s6)
                _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points)
            restore_fpenv(fpenv)


@inline_kernel
def _ti_stress(material, b, k, j, i, l, exx, eyy, ezz, gyz, gxz, gxy):
    """Stress of transverse isotropy about the unit axis n (module docstring)."""
    ca = material[b, 0, k, j, i, l]
    cn = material[b, 1, k, j, i, l]
    cb = material[b, 2, k, j, i, l]
    cc = material[b, 3, k, j, i, l]
    cd = material[b, 4, k, j, i, l]
    nx = material[b, 5, k, j, i, l]
    ny = material[b, 6, k, j, i, l]
    nz = material[b, 7, k, j, i, l]
    eyz = 0.5 * gyz
    exz = 0.5 * gxz
    exy = 0.5 * gxy
    # e n, e_nn = n.e.n, tr e.
    enx = exx * nx + exy * ny + exz * nz
    eny = exy * nx + eyy * ny + eyz * nz
    enz = exz * nx + eyz * ny + ezz * nz
    enn = enx * nx + eny * ny + enz * nz
    tr = exx + eyy + ezz
    iso = ca * tr + cb * enn  # times I
    axial = cb * tr + cd * enn  # times n n^T
    c2 = cc + cc  # times (n (e n)^T + (e n) n^T)
    n2 = cn + cn  # times e
    sxx = iso + n2 * exx + axial * nx * nx + 2.0 * c2 * nx * enx
    syy = iso + n2 * eyy + axial * ny * ny + 2.0 * c2 * ny * eny
    szz = iso + n2 * ezz + axial * nz * nz + 2.0 * c2 * nz * enz
    syz = n2 * eyz + axial * ny * nz + c2 * (ny * enz + nz * eny)
    sxz = n2 * exz + axial * nx * nz + c2 * (nx * enz + nz * enx)
    sxy = n2 * exy + axial * nx * ny + c2 * (nx * eny + ny * enx)
    return sxx, syy, szz, syz, sxz, sxy


@parallel_kernel
def ti_stiffness_3d(u, ku, ibool, count, schedule, geom, material, dmat, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            sx = np.empty((n, n, n, L), dtype=u.dtype)
            sy = np.empty((n, n, n, L), dtype=u.dtype)
            sz = np.empty((n, n, n, L), dtype=u.dtype)
            flux = np.empty((9, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather_vector(u, b, ibool, sx, sy, sz, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                e1, e2, e3, e4, e5, e6 = _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points)
                                s1, s2, s3, s4, s5, s6 = _ti_stress(material, b, k, j, i, l, e1, e2, e3, e4, e5, e6)
                                _store_flux(b, geom, flux, k, j, i, l, s1, s2, s3, s4, s5, s6)
                _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points)
            restore_fpenv(fpenv)


# --- materials (numpy, once per model) ---------------------------------------------------
def reference_metric_3d(coefficients: np.ndarray, mesh: Mesh) -> np.ndarray:
    """G = w w w |J| J^-1 C J^-T per point: what ``scalar_stiffness_3d`` takes.

    ``coefficients`` is (n_elem, 1, n, n, n) for C = m I (the acoustic 1/rho) or
    (n_elem, 6, n, n, n) for (cxx, cxy, cxz, cyy, cyz, czz). Returns (n_elem, 6, n, n, n)
    with rows G00, G01, G02, G11, G12, G22. Linear in C.
    """
    coefficients = np.asarray(coefficients, dtype=float)
    inv = mesh.inverse_jacobian  # [e, k, j, i, a, d] = d xi_a / d x_d
    jw = mesh.quadrature_weights()
    if coefficients.shape[1] == 1:
        g = np.einsum("ekjiap,ekjibp->ekjiab", inv, inv) * (jw * coefficients[:, 0])[..., None, None]
    else:
        c = _symmetric3(coefficients)
        g = np.einsum("ekjiap,ekjipq,ekjibq->ekjiab", inv, c, inv) * jw[..., None, None]
    return np.stack([g[..., 0, 0], g[..., 0, 1], g[..., 0, 2], g[..., 1, 1], g[..., 1, 2], g[..., 2, 2]], axis=1)


def _symmetric3(six: np.ndarray) -> np.ndarray:
    """(n, 6, ...) rows (xx, xy, xz, yy, yz, zz) -> (n, ..., 3, 3)."""
    xx, xy, xz, yy, yz, zz = (six[:, r] for r in range(6))
    return np.stack([np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1), np.stack([xz, yz, zz], -1)], -2)


def ti_material(a, c, l, n, f, axis) -> np.ndarray:
    """Rows of ``ti_stiffness_3d`` from Love's A, C, L, N, F (Pa, arrays of one shape S)
    and the symmetry axis (S + (3,), any length, normalised here): (8,) + S."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    a, c, l, n, f = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, c, l, n, f)))
    return np.stack([a - 2 * n, n, f - a + 2 * n, l - n, a + c - 2 * f - 4 * l,
                     axis[..., 0], axis[..., 1], axis[..., 2]])


# --- the operator ------------------------------------------------------------------------
@dataclass(frozen=True)
class Kind:
    """One 3D stiffness kind: its kernel, field components, coefficient rows in, and
    the map from coefficients (n_elem, n_in, n, n, n) to kernel material rows."""

    kernel: Callable
    n_components: int
    coefficients: str
    material: Callable


KINDS: dict[str, Kind] = {
    "scalar": Kind(scalar_stiffness_3d, 1, "m (1 row, C = m I) or (cxx, cxy, cxz, cyy, cyz, czz)", reference_metric_3d),
    "scalar_pointwise": Kind(scalar_stiffness_3d_pointwise, 1, "m (1 row, C = m I)", lambda c, mesh: np.asarray(c, float)),
    "isotropic": Kind(isotropic_stiffness_3d, 3, "(lambda, mu)", lambda c, mesh: np.asarray(c, float)),
    "anisotropic": Kind(anisotropic_stiffness_3d, 3, "the 21 Voigt c_IJ, I <= J", lambda c, mesh: np.asarray(c, float)),
    "ti": Kind(ti_stiffness_3d, 3, "(A, C, L, N, F, axis_x, axis_y, axis_z)",
               lambda c, mesh: np.moveaxis(ti_material(*(c[:, r] for r in range(5)), np.moveaxis(c[:, 5:8], 1, -1)), 0, 1)),
}
_ROWS = {"scalar": (1, 6), "scalar_pointwise": (1,), "isotropic": (2,), "anisotropic": (21,), "ti": (8,)}


@dataclass(frozen=True, eq=False)
class Stiffness3D:
    """K u on a hexahedral mesh: blocks, geometry, material and derivative matrix, with
    :meth:`apply`. Build it with :func:`stiffness_3d`."""

    kind: str
    n_components: int
    blocks: ElementBlocks
    geom: np.ndarray
    material: np.ndarray
    dmat: np.ndarray
    kernel: Callable

    def apply(self, u: np.ndarray, ku: np.ndarray) -> np.ndarray:
        """ku = K u for u, ku (n_global, n_components) C-contiguous arrays of the operator's dtype."""
        b = self.blocks
        self.kernel(u, ku, b.ibool, b.count, b.schedule, self.geom, self.material, self.dmat, b.points)
        return ku

    __call__ = apply


def stiffness_3d(mesh: Mesh, coefficients: np.ndarray, kind: str, dtype=np.float64,
                 n_threads: int | None = None) -> Stiffness3D:
    """The stiffness operator of a 3D mesh.

    Parameters
    ----------
    mesh : a hexahedral `Mesh` (``engine.mesh.box``, ``engine.mesh.spherical_chunk``).
    coefficients : (n_elem, n_rows, n, n, n) per-point coefficients in SI units (Pa for
        elastic moduli, m^3/kg for the acoustic 1/rho); the rows of each kind are in
        `KINDS` (``KINDS[kind].coefficients``).
    kind : "scalar", "scalar_pointwise", "isotropic", "anisotropic" or "ti".
    dtype : np.float32 or np.float64, the precision of u, ku and the kernel.
    n_threads : the thread count to cut the schedule for (default: Numba's current).

    >>> import numpy as np, engine
    >>> m = engine.mesh.box(x=(0.0, 2.0), y=(0.0, 2.0), z=(0.0, 2.0), elements=(2, 2, 2), order=2)
    >>> op = stiffness_3d(m, np.ones((m.n_elements, 1) + m.point_shape[1:]), "scalar")
    >>> u = m.global_coordinates[:, :1].copy()  # u = x: K u integrates grad u . grad v
    >>> float(u[:, 0] @ op.apply(u, np.empty_like(u))[:, 0])  # = volume * |grad u|^2
    8.0
    """
    if kind not in KINDS:
        raise ValueError(f"The 'kind' parameter must be one of {sorted(KINDS)}, but {kind!r} was given.")
    if mesh.ndim != 3:
        raise ValueError(f"stiffness_3d needs a hexahedral (3D) mesh, but a mesh with ndim = {mesh.ndim} was given.")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"The 'dtype' parameter must be float32 or float64, but {dtype} was given.")
    coefficients = np.asarray(coefficients, dtype=float)
    expected = [(mesh.n_elements, r) + mesh.point_shape[1:] for r in _ROWS[kind]]
    if coefficients.shape not in expected:
        raise ValueError(f"The 'coefficients' of kind {kind!r} must be shaped {' or '.join(map(str, expected))} "
                         f"({KINDS[kind].coefficients}), but {coefficients.shape} was given.")
    spec = KINDS[kind]
    blocks = ElementBlocks.from_mesh(mesh, n_threads)
    return Stiffness3D(
        kind=kind,
        n_components=spec.n_components,
        blocks=blocks,
        geom=blocks.geometry(mesh, dtype),
        material=blocks.to_blocks(spec.material(coefficients, mesh), dtype),
        dmat=np.ascontiguousarray(mesh.gll.derivative, dtype=dtype),
        kernel=spec.kernel,
    )


# --- sensitivity kernels (the adjoint's) ----------------------------------------------------
# Each computes ku = K u exactly as its plain kernel (same arithmetic, same order) and adds
# into ``sens`` the derivative of u^T K fwd with respect to its coefficients per point
# (slots in the module docstring). As in ``_kernels.vector_stiffness`` the work is split in
# passes over packed scratch arrays: the forward field's gradient (or strain) times
# w w w |J| (q), the adjoint field's flux keeping its own gradient (or strain) (e), then
# the products into ``sens``.
@inline_kernel
def _weighted_strain_pass(b, geom, fx, fy, fz, dmat, q, points):
    """q[:, k, j, i, l] = w w w |J| times the Voigt strain of the gathered field (fx, fy, fz)."""
    n = len(points)
    for k in range(n):
        for j in range(n):
            for i in range(n):
                for l in range(L):
                    e1, e2, e3, e4, e5, e6 = _strain(b, geom, fx, fy, fz, dmat, k, j, i, l, points)
                    jw = geom[b, 9, k, j, i, l]
                    q[0, k, j, i, l] = jw * e1
                    q[1, k, j, i, l] = jw * e2
                    q[2, k, j, i, l] = jw * e3
                    q[3, k, j, i, l] = jw * e4
                    q[4, k, j, i, l] = jw * e5
                    q[5, k, j, i, l] = jw * e6


@parallel_kernel
def isotropic_stiffness_sensitivity_3d(u, ku, ibool, count, schedule, geom, material, dmat, fwd, sens, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            sx = np.empty((n, n, n, L), dtype=u.dtype)
            sy = np.empty((n, n, n, L), dtype=u.dtype)
            sz = np.empty((n, n, n, L), dtype=u.dtype)
            flux = np.empty((9, n, n, n, L), dtype=u.dtype)
            q = np.empty((6, n, n, n, L), dtype=u.dtype)
            e = np.empty((6, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                # The forward field first (sx, sy, sz are free until u is gathered).
                _gather_vector(fwd, b, ibool, sx, sy, sz, points)
                _weighted_strain_pass(b, geom, sx, sy, sz, dmat, q, points)
                _gather_vector(u, b, ibool, sx, sy, sz, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                exx, eyy, ezz, gyz, gxz, gxy = _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points)
                                e[0, k, j, i, l] = exx
                                e[1, k, j, i, l] = eyy
                                e[2, k, j, i, l] = ezz
                                e[3, k, j, i, l] = gyz
                                e[4, k, j, i, l] = gxz
                                e[5, k, j, i, l] = gxy
                                lam = material[b, 0, k, j, i, l]
                                mu = material[b, 1, k, j, i, l]
                                ltr = lam * (exx + eyy + ezz)
                                m2 = mu + mu
                                _store_flux(b, geom, flux, k, j, i, l, ltr + m2 * exx, ltr + m2 * eyy, ltr + m2 * ezz,
                                            mu * gyz, mu * gxz, mu * gxy)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                # d/d lambda = w|J| tr e(u) tr e(fwd); d/d mu = w|J| 2 e(u) : e(fwd).
                                sens[b, 0, k, j, i, l] += ((e[0, k, j, i, l] + e[1, k, j, i, l] + e[2, k, j, i, l])
                                                           * (q[0, k, j, i, l] + q[1, k, j, i, l] + q[2, k, j, i, l]))
                                sens[b, 1, k, j, i, l] += (2.0 * (e[0, k, j, i, l] * q[0, k, j, i, l]
                                                                  + e[1, k, j, i, l] * q[1, k, j, i, l]
                                                                  + e[2, k, j, i, l] * q[2, k, j, i, l])
                                                           + e[3, k, j, i, l] * q[3, k, j, i, l]
                                                           + e[4, k, j, i, l] * q[4, k, j, i, l]
                                                           + e[5, k, j, i, l] * q[5, k, j, i, l])
                _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points)
            restore_fpenv(fpenv)


@parallel_kernel
def ti_stiffness_sensitivity_3d(u, ku, ibool, count, schedule, geom, material, dmat, fwd, sens, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            sx = np.empty((n, n, n, L), dtype=u.dtype)
            sy = np.empty((n, n, n, L), dtype=u.dtype)
            sz = np.empty((n, n, n, L), dtype=u.dtype)
            flux = np.empty((9, n, n, n, L), dtype=u.dtype)
            q = np.empty((6, n, n, n, L), dtype=u.dtype)
            e = np.empty((6, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather_vector(fwd, b, ibool, sx, sy, sz, points)
                _weighted_strain_pass(b, geom, sx, sy, sz, dmat, q, points)
                _gather_vector(u, b, ibool, sx, sy, sz, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                e1, e2, e3, e4, e5, e6 = _strain(b, geom, sx, sy, sz, dmat, k, j, i, l, points)
                                e[0, k, j, i, l] = e1
                                e[1, k, j, i, l] = e2
                                e[2, k, j, i, l] = e3
                                e[3, k, j, i, l] = e4
                                e[4, k, j, i, l] = e5
                                e[5, k, j, i, l] = e6
                                s1, s2, s3, s4, s5, s6 = _ti_stress(material, b, k, j, i, l, e1, e2, e3, e4, e5, e6)
                                _store_flux(b, geom, flux, k, j, i, l, s1, s2, s3, s4, s5, s6)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                _ti_sensitivity(sens, material, e, q, b, k, j, i, l)
                _divergence_scatter(ku, b, ibool, count, flux, sx, sy, sz, dmat, points)
            restore_fpenv(fpenv)


@inline_kernel
def _ti_sensitivity(sens, material, e, q, b, k, j, i, l):
    """sens[b, :5] += d(e(u) : sigma(fwd) w w w |J|)/d(A, C, L, N, F) at one point.

    With W = e(u) : sigma(e(fwd)) (q carries w w w |J|), the derivatives with respect to
    the kernel's scalars are W_a = tr tr', W_N = 2 e : e', W_b = tr e'_nn + e_nn tr',
    W_c = 4 (e n).(e' n), W_d = e_nn e'_nn; then the chain rule through a = A - 2N,
    b = F - A + 2N, c = L - N, d = A + C - 2F - 4L."""
    nx = material[b, 5, k, j, i, l]
    ny = material[b, 6, k, j, i, l]
    nz = material[b, 7, k, j, i, l]
    uxx = e[0, k, j, i, l]
    uyy = e[1, k, j, i, l]
    uzz = e[2, k, j, i, l]
    uyz = 0.5 * e[3, k, j, i, l]
    uxz = 0.5 * e[4, k, j, i, l]
    uxy = 0.5 * e[5, k, j, i, l]
    fxx = q[0, k, j, i, l]
    fyy = q[1, k, j, i, l]
    fzz = q[2, k, j, i, l]
    fyz = 0.5 * q[3, k, j, i, l]
    fxz = 0.5 * q[4, k, j, i, l]
    fxy = 0.5 * q[5, k, j, i, l]
    unx = uxx * nx + uxy * ny + uxz * nz
    uny = uxy * nx + uyy * ny + uyz * nz
    unz = uxz * nx + uyz * ny + uzz * nz
    fnx = fxx * nx + fxy * ny + fxz * nz
    fny = fxy * nx + fyy * ny + fyz * nz
    fnz = fxz * nx + fyz * ny + fzz * nz
    unn = unx * nx + uny * ny + unz * nz
    fnn = fnx * nx + fny * ny + fnz * nz
    utr = uxx + uyy + uzz
    ftr = fxx + fyy + fzz
    wa = utr * ftr
    wn = 2.0 * (uxx * fxx + uyy * fyy + uzz * fzz + 2.0 * (uyz * fyz + uxz * fxz + uxy * fxy))
    wb = utr * fnn + unn * ftr
    wc = 4.0 * (unx * fnx + uny * fny + unz * fnz)
    wd = unn * fnn
    sens[b, 0, k, j, i, l] += wa - wb + wd  # A
    sens[b, 1, k, j, i, l] += wd  # C
    sens[b, 2, k, j, i, l] += wc - 4.0 * wd  # L
    sens[b, 3, k, j, i, l] += wn - 2.0 * wa + 2.0 * wb - wc  # N
    sens[b, 4, k, j, i, l] += wb - 2.0 * wd  # F


@parallel_kernel
def scalar_stiffness_sensitivity_3d(u, ku, ibool, count, schedule, geom, material, dmat, fwd, sens, points):
    n = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()
            s = np.empty((n, n, n, L), dtype=u.dtype)
            t1 = np.empty((n, n, n, L), dtype=u.dtype)
            t2 = np.empty((n, n, n, L), dtype=u.dtype)
            t3 = np.empty((n, n, n, L), dtype=u.dtype)
            q = np.empty((3, n, n, n, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                # The forward field's gradient in reference coordinates, r = w w w |J| J^-1 grad(fwd)
                # (s is free until u is gathered): then grad(u) . grad(fwd) w w w |J| = d_ref(u) . r,
                # and the pass over u needs no geometry.
                _gather(fwd, 0, b, ibool, s, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                d1, d2, d3 = _reference_derivatives(s, dmat, k, j, i, l, points)
                                gx, gy, gz = _physical_gradient(b, geom, k, j, i, l, d1, d2, d3)
                                q[0, k, j, i, l], q[1, k, j, i, l], q[2, k, j, i, l] = _reference_flux(
                                    b, geom, k, j, i, l, gx, gy, gz)
                _gather(u, 0, b, ibool, s, points)
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                d1, d2, d3 = _reference_derivatives(s, dmat, k, j, i, l, points)
                                # d/dm (C = m I) = w w w |J| grad(u) . grad(fwd).
                                sens[b, 0, k, j, i, l] += (d1 * q[0, k, j, i, l] + d2 * q[1, k, j, i, l]
                                                           + d3 * q[2, k, j, i, l])
                                g00 = material[b, 0, k, j, i, l]
                                g01 = material[b, 1, k, j, i, l]
                                g02 = material[b, 2, k, j, i, l]
                                g11 = material[b, 3, k, j, i, l]
                                g12 = material[b, 4, k, j, i, l]
                                g22 = material[b, 5, k, j, i, l]
                                t1[k, j, i, l] = g00 * d1 + g01 * d2 + g02 * d3
                                t2[k, j, i, l] = g01 * d1 + g11 * d2 + g12 * d3
                                t3[k, j, i, l] = g02 * d1 + g12 * d2 + g22 * d3
                for k in range(n):
                    for j in range(n):
                        for i in range(n):
                            for l in range(L):
                                s[k, j, i, l] = _weak_divergence(t1, t2, t3, dmat, k, j, i, l, points)
                _scatter(ku, 0, b, ibool, count, s, points)
            restore_fpenv(fpenv)


SENSITIVITY_KERNELS: dict[str, tuple[Callable, int]] = {
    "scalar": (scalar_stiffness_sensitivity_3d, 1),
    "isotropic": (isotropic_stiffness_sensitivity_3d, 2),
    "ti": (ti_stiffness_sensitivity_3d, 5),
}
SENSITIVITY_SLOTS: dict[str, tuple[str, ...]] = {
    "scalar": ("m",),
    "isotropic": ("lambda", "mu"),
    "ti": ("A", "C", "L", "N", "F"),
}


def sensitivity_kernel(kind: str) -> tuple[Callable, int]:
    """(kernel, n_slots) of the 3D sensitivity kernel of a stiffness kind ("scalar",
    "isotropic" or "ti"); the kernel takes ``(u, ku, ibool, count, schedule, geom, material,
    dmat, fwd, sens, points)`` with ``sens`` (n_blocks, n_slots, ngll, ngll, ngll, LANES) in
    the field's precision, slots as in ``SENSITIVITY_SLOTS[kind]``.

    >>> sensitivity_kernel("ti")[1]
    5
    """
    if kind not in SENSITIVITY_KERNELS:
        raise ValueError(f"The 'kind' parameter must be one of {sorted(SENSITIVITY_KERNELS)} "
                         f"(3D kinds with a sensitivity kernel), but {kind!r} was given.")
    return SENSITIVITY_KERNELS[kind]
