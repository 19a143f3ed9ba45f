"""Stiffness kernels K u for the 2D physics, on blocked elements (see ``_blocks``).

Two kernels serve every 2D physics:

* ``scalar_stiffness``: K u = -div(C grad u) for a scalar field with a symmetric 2 x 2
  coefficient C = [[cxx, cxz], [cxz, czz]] per point (SH: cxx = N, czz = L;
  acoustic: cxx = czz = 1/rho; smoothing: the diffusion tensor). Its ``material`` is
  the reference-space metric G = w w |J| J^-1 C J^-T (:func:`reference_metric`), which
  folds geometry and material into 3 numbers per point; ``sens`` still refers to C.
* ``vector_stiffness``: K u = -div(sigma) for P-SV with sigma_xx = c11 e_xx + c13 e_zz,
  sigma_zz = c13 e_xx + c33 e_zz, sigma_xz = 2 c55 e_xz (isotropic or VTI).

The weak form is ``u' K u = sum over points of w w |J| grad(u')^T C grad(u)``, so K is
symmetric positive semi-definite; the kernels return +K u. When ``accumulate`` is
``SENSITIVITY`` they also add, for a second field ``fwd``, the derivative of ``u^T K fwd``
with respect to every coefficient at every point into ``sens`` (the adjoint's sensitivity
kernels, fused with the adjoint's own K u so the gradient of u is computed once).
``ISOTROPIC_SENSITIVITY`` (P-SV only) is for models whose coefficients move as
c11 = c33 = lambda + 2 mu, c13 = lambda, c55 = mu: it adds d/d lambda into the c13 slot and
d/d mu into the c55 slot and leaves the others alone. The chain rule through c13 and c55
then gives the same gradient from half the accumulator traffic (11 % off the fused
kernel in an interleaved A/B).

Arguments (grouped; shapes):
    u, ku      : (n_global, n_comp) field and output K u, overwritten.
    ibool      : (n_blocks, ngll, ngll, L) int32; count (n_blocks,) valid lanes;
    schedule   : (phases, tasks) of ``ElementBlocks``: phases run in turn, the tasks of a
                 phase in parallel (they share no point), the blocks of a task in order.
    geom       : (n_blocks, 5, ngll, ngll, L): d xi/dx, d xi/dz, d eta/dx, d eta/dz, w w |J|.
    material   : (n_blocks, n_coeff, ngll, ngll, L).
    dmat       : (ngll, ngll), ``dmat[p, q] = l_q'(xi_p)``.
    fwd        : (n_global, n_comp) second field (any shape when not accumulating).
    sens       : (n_blocks, n_coeff, ngll, ngll, L) accumulator (the field's precision).
    accumulate : NO_SENSITIVITY, SENSITIVITY or ISOTROPIC_SENSITIVITY (an int).
    points     : tuple of length ngll (compile-time loop bound).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._fpenv import flush_subnormals, restore_fpenv
from .._jit import inline_kernel, parallel_kernel
from ._blocks import LANES as L

# What the kernels accumulate into ``sens`` besides computing K u (the ``accumulate`` argument).
NO_SENSITIVITY, SENSITIVITY, ISOTROPIC_SENSITIVITY = 0, 1, 2

# How the loops are written, and why (measured on the 100 x 100 order-4 benchmark):
# every sum over the GLL index k is accumulated in a local variable inside the lane loop
# (``for l: acc = ...; for k: acc += ...``). Numba unrolls the constant k loop and
# vectorises the lane loop, with no stores in between. Accumulating into the scratch
# array (``for k: for l: out[l] += ...``) instead made LLVM keep every partial sum in
# memory behind aliasing checks, and the kernel was 2.1x slower.


@inline_kernel
def _gather(field, comp, b, ibool, out, points):
    """out[j, i, l] = field[ibool[b, j, i, l], comp]."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                out[j, i, l] = field[ibool[b, j, i, l], comp]


@inline_kernel
def _gather_pair(field, b, ibool, out_x, out_z, points):
    """out_x, out_z = field[ibool[b], 0], field[ibool[b], 1]: both components of a point
    from one index load and one cache line (two ``_gather`` passes cost 15 % more on
    the elastic stiffness kernel, 1 thread, interleaved A/B)."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                g = ibool[b, j, i, l]
                out_x[j, i, l] = field[g, 0]
                out_z[j, i, l] = field[g, 1]


@inline_kernel
def _d_xi(s, dmat, j, i, l, points):
    """d s / d xi at GLL point (j, i) of lane l: sum_k l_k'(xi_i) s[j, k]."""
    acc = dmat[i, 0] * s[j, 0, l]
    for k in range(1, len(points)):
        acc += dmat[i, k] * s[j, k, l]
    return acc


@inline_kernel
def _d_eta(s, dmat, j, i, l, points):
    """d s / d eta at GLL point (j, i) of lane l: sum_k l_k'(eta_j) s[k, i]."""
    acc = dmat[j, 0] * s[0, i, l]
    for k in range(1, len(points)):
        acc += dmat[j, k] * s[k, i, l]
    return acc


@inline_kernel
def _weak_divergence(t1, t2, dmat, j, i, l, points):
    """sum_k l_i'(xi_k) t1[j, k] + l_j'(eta_k) t2[k, i]: the test-function side of the
    weak form (the transpose of ``_d_xi`` / ``_d_eta`` applied to the fluxes)."""
    acc = dmat[0, i] * t1[j, 0, l] + dmat[0, j] * t2[0, i, l]
    for k in range(1, len(points)):
        acc += dmat[k, i] * t1[j, k, l] + dmat[k, j] * t2[k, i, l]
    return acc


@inline_kernel
def _physical_gradient(b, geom, j, i, l, d_xi, d_eta):
    """(d/dx, d/dz) at one point from the reference derivatives."""
    gx = d_xi * geom[b, 0, j, i, l] + d_eta * geom[b, 2, j, i, l]
    gz = d_xi * geom[b, 1, j, i, l] + d_eta * geom[b, 3, j, i, l]
    return gx, gz


@inline_kernel
def _scatter(ku, comp, b, ibool, count, values, points):
    """ku[ibool[b, j, i, l], comp] += values[j, i, l] for the block's valid lanes."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(count[b]):
                ku[ibool[b, j, i, l], comp] += values[j, i, l]


@inline_kernel
def _scalar_flux(b, material, j, i, l, d1, d2):
    """Flux in reference coordinates with the precomputed metric G = w w |J| J^-1 C J^-T:
    3 loads and 4 multiply-adds per point."""
    t1 = material[b, 0, j, i, l] * d1 + material[b, 1, j, i, l] * d2
    t2 = material[b, 1, j, i, l] * d1 + material[b, 2, j, i, l] * d2
    return t1, t2


@inline_kernel
def _zero_in_parallel(ku):
    """ku = 0, split over the threads like the point-wise kernels: thread t zeroes the
    range it also updates (the chunks of the schedule follow the global numbering). A
    serial ``ku[:] = 0`` left every line of ku in the main thread's cache, and the other
    thread then pulled its half across: 2-thread acoustic steps 0.48 -> 0.35 ms."""
    flat = ku.reshape(-1)
    for i in prange(flat.shape[0]):
        flat[i] = 0.0


@parallel_kernel
def scalar_stiffness(u, ku, ibool, count, schedule, geom, material, dmat, fwd, sens, accumulate, points):
    ngll = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()  # see engine._fpenv
            s = np.empty((ngll, ngll, L), dtype=u.dtype)
            f = np.empty((ngll, ngll, L), dtype=u.dtype)
            t1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            t2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather(u, 0, b, ibool, s, points)
                if accumulate != NO_SENSITIVITY:
                    _gather(fwd, 0, b, ibool, f, points)
                    for j in range(ngll):
                        for i in range(ngll):
                            for l in range(L):
                                d1 = _d_xi(s, dmat, j, i, l, points)
                                d2 = _d_eta(s, dmat, j, i, l, points)
                                # sens += d(grad(u)^T C grad(fwd) w w |J|)/d(cxx, cxz, czz).
                                jw = geom[b, 4, j, i, l]
                                dudx, dudz = _physical_gradient(b, geom, j, i, l, d1, d2)
                                dfdx, dfdz = _physical_gradient(b, geom, j, i, l, _d_xi(f, dmat, j, i, l, points),
                                                                _d_eta(f, dmat, j, i, l, points))
                                sens[b, 0, j, i, l] += jw * dudx * dfdx
                                sens[b, 1, j, i, l] += jw * (dudx * dfdz + dudz * dfdx)
                                sens[b, 2, j, i, l] += jw * dudz * dfdz
                                t1[j, i, l], t2[j, i, l] = _scalar_flux(b, material, j, i, l, d1, d2)
                else:
                    for j in range(ngll):
                        for i in range(ngll):
                            for l in range(L):
                                d1 = _d_xi(s, dmat, j, i, l, points)
                                d2 = _d_eta(s, dmat, j, i, l, points)
                                t1[j, i, l], t2[j, i, l] = _scalar_flux(b, material, j, i, l, d1, d2)
                for j in range(ngll):
                    for i in range(ngll):
                        for l in range(L):
                            s[j, i, l] = _weak_divergence(t1, t2, dmat, j, i, l, points)
                _scatter(ku, 0, b, ibool, count, s, points)
            restore_fpenv(fpenv)


@inline_kernel
def _displacement_gradient(b, geom, sx, sz, dmat, j, i, l, points):
    """(d ux/dx, d ux/dz, d uz/dx, d uz/dz) at one point from the gathered components."""
    uxx, uxz = _physical_gradient(b, geom, j, i, l, _d_xi(sx, dmat, j, i, l, points), _d_eta(sx, dmat, j, i, l, points))
    uzx, uzz = _physical_gradient(b, geom, j, i, l, _d_xi(sz, dmat, j, i, l, points), _d_eta(sz, dmat, j, i, l, points))
    return uxx, uxz, uzx, uzz


@inline_kernel
def _elastic_flux(b, geom, material, j, i, l, duxdx, duxdz, duzdx, duzdz):
    """w w |J| J^-1 sigma: the stress mapped to reference coordinates, (x, z) rows for
    d/d xi (first two) and d/d eta (last two)."""
    xix = geom[b, 0, j, i, l]
    xiz = geom[b, 1, j, i, l]
    gax = geom[b, 2, j, i, l]
    gaz = geom[b, 3, j, i, l]
    jw = geom[b, 4, j, i, l]
    c13 = material[b, 1, j, i, l]
    sxx = material[b, 0, j, i, l] * duxdx + c13 * duzdz
    szz = c13 * duxdx + material[b, 2, j, i, l] * duzdz
    sxz = material[b, 3, j, i, l] * (duxdz + duzdx)
    return (jw * (sxx * xix + sxz * xiz), jw * (sxz * xix + szz * xiz),
            jw * (sxx * gax + sxz * gaz), jw * (sxz * gax + szz * gaz))


@inline_kernel
def _elastic_point(b, geom, material, dmat, sx, sz, a1, a2, a3, a4, j, i, l, points):
    """Write the reference flux of the field (sx, sz) at one point into a1..a4 and return
    the strain terms the sensitivity needs: (e_xx, e_zz, 2 e_xz)."""
    uxx, uxz, uzx, uzz = _displacement_gradient(b, geom, sx, sz, dmat, j, i, l, points)
    a1[j, i, l], a2[j, i, l], a3[j, i, l], a4[j, i, l] = _elastic_flux(b, geom, material, j, i, l, uxx, uxz, uzx, uzz)
    return uxx, uzz, uxz + uzx


@parallel_kernel
def vector_stiffness(u, ku, ibool, count, schedule, geom, material, dmat, fwd, sens, accumulate, points):
    ngll = len(points)
    _zero_in_parallel(ku)
    phases, tasks = schedule
    for p in range(phases.shape[0] - 1):
        for t in prange(phases[p], phases[p + 1]):
            fpenv = flush_subnormals()  # see engine._fpenv
            sx = np.empty((ngll, ngll, L), dtype=u.dtype)
            sz = np.empty((ngll, ngll, L), dtype=u.dtype)
            fx = np.empty((ngll, ngll, L), dtype=u.dtype)
            fz = np.empty((ngll, ngll, L), dtype=u.dtype)
            a1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a3 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a4 = np.empty((ngll, ngll, L), dtype=u.dtype)
            q = np.empty((3, ngll, ngll, L), dtype=u.dtype)
            e = np.empty((3, ngll, ngll, L), dtype=u.dtype)
            for b in range(tasks[t], tasks[t + 1]):
                _gather_pair(u, b, ibool, sx, sz, points)
                if accumulate != NO_SENSITIVITY:
                    # Three passes: the forward field's strain weighted by w w |J| (q), the
                    # adjoint field's flux keeping its strain (e), then sens += e q. Packing
                    # q and e into one array each and keeping the passes apart is what
                    # vectorised; one fused pass over a dozen arrays did not (LLVM gives up
                    # on the runtime alias checks) and was slower.
                    _gather_pair(fwd, b, ibool, fx, fz, points)
                    for j in range(ngll):
                        for i in range(ngll):
                            for l in range(L):
                                fxx, fxz, fzx, fzz = _displacement_gradient(b, geom, fx, fz, dmat, j, i, l, points)
                                jw = geom[b, 4, j, i, l]
                                q[0, j, i, l] = jw * fxx
                                q[1, j, i, l] = jw * fzz
                                q[2, j, i, l] = jw * (fxz + fzx)
                    for j in range(ngll):
                        for i in range(ngll):
                            for l in range(L):
                                e[0, j, i, l], e[1, j, i, l], e[2, j, i, l] = _elastic_point(
                                    b, geom, material, dmat, sx, sz, a1, a2, a3, a4, j, i, l, points)
                    if accumulate == ISOTROPIC_SENSITIVITY:
                        for j in range(ngll):
                            for i in range(ngll):
                                for l in range(L):
                                    # d/d lambda = d/d(c11 + c13 + c33); d/d mu = d/d(2 c11 + 2 c33 + c55).
                                    exx, ezz, qxx, qzz = e[0, j, i, l], e[1, j, i, l], q[0, j, i, l], q[1, j, i, l]
                                    sens[b, 1, j, i, l] += (exx + ezz) * (qxx + qzz)
                                    sens[b, 3, j, i, l] += 2.0 * (exx * qxx + ezz * qzz) + e[2, j, i, l] * q[2, j, i, l]
                    else:
                        for j in range(ngll):
                            for i in range(ngll):
                                for l in range(L):
                                    # sens += d(e(u) : c : e(fwd) w w |J|)/d(c11, c13, c33, c55).
                                    sens[b, 0, j, i, l] += e[0, j, i, l] * q[0, j, i, l]
                                    sens[b, 1, j, i, l] += e[0, j, i, l] * q[1, j, i, l] + e[1, j, i, l] * q[0, j, i, l]
                                    sens[b, 2, j, i, l] += e[1, j, i, l] * q[1, j, i, l]
                                    sens[b, 3, j, i, l] += e[2, j, i, l] * q[2, j, i, l]
                else:
                    for j in range(ngll):
                        for i in range(ngll):
                            for l in range(L):
                                _elastic_point(b, geom, material, dmat, sx, sz, a1, a2, a3, a4, j, i, l, points)
                for j in range(ngll):
                    for i in range(ngll):
                        for l in range(L):
                            sx[j, i, l] = _weak_divergence(a1, a3, dmat, j, i, l, points)
                            sz[j, i, l] = _weak_divergence(a2, a4, dmat, j, i, l, points)
                for j in range(ngll):
                    for i in range(ngll):
                        for l in range(count[b]):
                            g = ibool[b, j, i, l]
                            ku[g, 0] += sx[j, i, l]
                            ku[g, 1] += sz[j, i, l]
            restore_fpenv(fpenv)


def reference_metric(coefficients: np.ndarray, mesh) -> np.ndarray:
    """G = w w |J| J^-1 C J^-T per point from C = (cxx, cxz, czz), shaped like the input
    (n_elem, 3, ngll, ngll): what ``scalar_stiffness`` takes as its material. Linear in C."""
    inv = mesh.inverse_jacobian  # [e, j, i, a, d] = d xi_a / d x_d
    w = mesh.gll.weights
    jw = mesh.jacobian * (w[:, None] * w[None, :])
    c = np.stack([np.stack([coefficients[:, 0], coefficients[:, 1]], -1),
                  np.stack([coefficients[:, 1], coefficients[:, 2]], -1)], -2)  # (n, j, i, 2, 2)
    g = np.einsum("njiap,njipq,njibq->njiab", inv, c, inv) * jw[..., None, None]
    return np.stack([g[..., 0, 0], g[..., 0, 1], g[..., 1, 1]], axis=1)
