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
symmetric positive semi-definite; the kernels return +K u. When ``accumulate`` is True
they also add, for a second field ``fwd``, the derivative of ``u^T K fwd`` with respect to
every coefficient at every point into ``sens`` (the adjoint's sensitivity kernels, fused
with the adjoint's own K u so the gradient of u is computed once).

Arguments (grouped; shapes):
    u, ku      : (n_global, n_comp) field and output K u, overwritten.
    ibool      : (n_blocks, ngll, ngll, L) int32; count (n_blocks,) valid lanes;
    ptr        : (n_colours + 1,) block offsets of each colour.
    geom       : (n_blocks, 5, ngll, ngll, L): d xi/dx, d xi/dz, d eta/dx, d eta/dz, w w |J|.
    material   : (n_blocks, n_coeff, ngll, ngll, L).
    dmat       : (ngll, ngll), ``dmat[p, q] = l_q'(xi_p)``.
    fwd        : (n_global, n_comp) second field (any shape when not accumulating).
    sens       : (n_blocks, n_coeff, ngll, ngll, L) accumulator (the field's precision).
    points     : tuple of length ngll (compile-time loop bound).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import inline_kernel, parallel_kernel
from ._blocks import LANES as L


@inline_kernel
def _reference_gradient(field, comp, b, ibool, dmat, g1, g2, scratch, points):
    """g1, g2 = d(field)/d xi, d(field)/d eta on block b (lanes innermost)."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                scratch[j, i, l] = field[ibool[b, j, i, l], comp]
    g1[:] = 0.0
    g2[:] = 0.0
    for j in range(ngll):
        for i in range(ngll):
            for k in range(ngll):
                dik = dmat[i, k]
                djk = dmat[j, k]
                for l in range(L):
                    g1[j, i, l] += dik * scratch[j, k, l]
                    g2[j, i, l] += djk * scratch[k, i, l]


@inline_kernel
def _transpose_derivative(t1, t2, out, dmat, points):
    """out[j, i] = sum_k dmat[k, i] t1[j, k] + dmat[k, j] t2[k, i] (the weak-form test)."""
    ngll = len(points)
    out[:] = 0.0
    for j in range(ngll):
        for i in range(ngll):
            for k in range(ngll):
                dki = dmat[k, i]
                dkj = dmat[k, j]
                for l in range(L):
                    out[j, i, l] += dki * t1[j, k, l] + dkj * t2[k, i, l]


@inline_kernel
def _physical_gradient(b, geom, j, i, l, d_xi, d_eta):
    """(d/dx, d/dz) at one point from the reference derivatives."""
    gx = d_xi * geom[b, 0, j, i, l] + d_eta * geom[b, 2, j, i, l]
    gz = d_xi * geom[b, 1, j, i, l] + d_eta * geom[b, 3, j, i, l]
    return gx, gz


@inline_kernel
def _scalar_sensitivity(b, geom, g1, g2, h1, h2, sens, points):
    """sens[b, :] += d(grad(u)^T C grad(fwd) w w |J|)/d(cxx, cxz, czz)."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                jw = geom[b, 4, j, i, l]
                dudx, dudz = _physical_gradient(b, geom, j, i, l, g1[j, i, l], g2[j, i, l])
                dfdx, dfdz = _physical_gradient(b, geom, j, i, l, h1[j, i, l], h2[j, i, l])
                sens[b, 0, j, i, l] += jw * dudx * dfdx
                sens[b, 1, j, i, l] += jw * (dudx * dfdz + dudz * dfdx)
                sens[b, 2, j, i, l] += jw * dudz * dfdz


@inline_kernel
def _vector_sensitivity(b, geom, a1, a2, a3, a4, h1, h2, h3, h4, sens, points):
    """sens[b, :] += d(e(u) : c : e(fwd) w w |J|)/d(c11, c13, c33, c55)."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                jw = geom[b, 4, j, i, l]
                uxx, uxz = _physical_gradient(b, geom, j, i, l, a1[j, i, l], a3[j, i, l])
                uzx, uzz = _physical_gradient(b, geom, j, i, l, a2[j, i, l], a4[j, i, l])
                fxx, fxz = _physical_gradient(b, geom, j, i, l, h1[j, i, l], h3[j, i, l])
                fzx, fzz = _physical_gradient(b, geom, j, i, l, h2[j, i, l], h4[j, i, l])
                sens[b, 0, j, i, l] += jw * uxx * fxx
                sens[b, 1, j, i, l] += jw * (uxx * fzz + uzz * fxx)
                sens[b, 2, j, i, l] += jw * uzz * fzz
                sens[b, 3, j, i, l] += jw * (uxz + uzx) * (fxz + fzx)


@parallel_kernel
def scalar_stiffness(u, ku, ibool, count, ptr, geom, material, dmat, fwd, sens, accumulate, points):
    ngll = len(points)
    ku[:] = 0.0
    for c in range(ptr.shape[0] - 1):
        for b in prange(ptr[c], ptr[c + 1]):
            scratch = np.empty((ngll, ngll, L), dtype=u.dtype)
            g1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            g2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            _reference_gradient(u, 0, b, ibool, dmat, g1, g2, scratch, points)
            if accumulate:
                _reference_gradient(fwd, 0, b, ibool, dmat, h1, h2, scratch, points)
                _scalar_sensitivity(b, geom, g1, g2, h1, h2, sens, points)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(L):
                        # Flux in reference coordinates with the precomputed metric
                        # G = w w |J| J^-1 C J^-T: 3 loads and 4 FMAs per point.
                        d1 = g1[j, i, l]
                        d2 = g2[j, i, l]
                        g1[j, i, l] = material[b, 0, j, i, l] * d1 + material[b, 1, j, i, l] * d2
                        g2[j, i, l] = material[b, 1, j, i, l] * d1 + material[b, 2, j, i, l] * d2
            _transpose_derivative(g1, g2, scratch, dmat, points)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(count[b]):
                        ku[ibool[b, j, i, l], 0] += scratch[j, i, l]


@inline_kernel
def _reference_gradient_vector(field, b, ibool, dmat, sx, sz, a1, a2, a3, a4, points):
    """d/d xi (a1: x, a2: z components) and d/d eta (a3, a4) of a 2-component field."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            for l in range(L):
                g = ibool[b, j, i, l]
                sx[j, i, l] = field[g, 0]
                sz[j, i, l] = field[g, 1]
    for j in range(ngll):
        for i in range(ngll):
            di0 = dmat[i, 0]
            dj0 = dmat[j, 0]
            for l in range(L):
                a1[j, i, l] = di0 * sx[j, 0, l]
                a2[j, i, l] = di0 * sz[j, 0, l]
                a3[j, i, l] = dj0 * sx[0, i, l]
                a4[j, i, l] = dj0 * sz[0, i, l]
            for k in range(1, ngll):
                dik = dmat[i, k]
                djk = dmat[j, k]
                for l in range(L):
                    a1[j, i, l] += dik * sx[j, k, l]
                    a2[j, i, l] += dik * sz[j, k, l]
                    a3[j, i, l] += djk * sx[k, i, l]
                    a4[j, i, l] += djk * sz[k, i, l]


@inline_kernel
def _transpose_derivative_vector(a1, a2, a3, a4, ox, oz, dmat, points):
    """ox = D^T-weighted sum of (a1, a3), oz of (a2, a4): the weak-form test functions."""
    ngll = len(points)
    for j in range(ngll):
        for i in range(ngll):
            d0i = dmat[0, i]
            d0j = dmat[0, j]
            for l in range(L):
                ox[j, i, l] = d0i * a1[j, 0, l] + d0j * a3[0, i, l]
                oz[j, i, l] = d0i * a2[j, 0, l] + d0j * a4[0, i, l]
            for k in range(1, ngll):
                dki = dmat[k, i]
                dkj = dmat[k, j]
                for l in range(L):
                    ox[j, i, l] += dki * a1[j, k, l] + dkj * a3[k, i, l]
                    oz[j, i, l] += dki * a2[j, k, l] + dkj * a4[k, i, l]


@parallel_kernel
def vector_stiffness(u, ku, ibool, count, ptr, geom, material, dmat, fwd, sens, accumulate, points):
    ngll = len(points)
    ku[:] = 0.0
    for c in range(ptr.shape[0] - 1):
        for b in prange(ptr[c], ptr[c + 1]):
            sx = np.empty((ngll, ngll, L), dtype=u.dtype)
            sz = np.empty((ngll, ngll, L), dtype=u.dtype)
            a1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a3 = np.empty((ngll, ngll, L), dtype=u.dtype)
            a4 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h1 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h2 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h3 = np.empty((ngll, ngll, L), dtype=u.dtype)
            h4 = np.empty((ngll, ngll, L), dtype=u.dtype)
            _reference_gradient_vector(u, b, ibool, dmat, sx, sz, a1, a2, a3, a4, points)
            if accumulate:
                _reference_gradient_vector(fwd, b, ibool, dmat, sx, sz, h1, h2, h3, h4, points)
                _vector_sensitivity(b, geom, a1, a2, a3, a4, h1, h2, h3, h4, sens, points)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(L):
                        xix = geom[b, 0, j, i, l]
                        xiz = geom[b, 1, j, i, l]
                        gax = geom[b, 2, j, i, l]
                        gaz = geom[b, 3, j, i, l]
                        jw = geom[b, 4, j, i, l]
                        duxdx = a1[j, i, l] * xix + a3[j, i, l] * gax
                        duxdz = a1[j, i, l] * xiz + a3[j, i, l] * gaz
                        duzdx = a2[j, i, l] * xix + a4[j, i, l] * gax
                        duzdz = a2[j, i, l] * xiz + a4[j, i, l] * gaz
                        c13 = material[b, 1, j, i, l]
                        sxx = material[b, 0, j, i, l] * duxdx + c13 * duzdz
                        szz = c13 * duxdx + material[b, 2, j, i, l] * duzdz
                        sxz = material[b, 3, j, i, l] * (duxdz + duzdx)
                        a1[j, i, l] = jw * (sxx * xix + sxz * xiz)
                        a2[j, i, l] = jw * (sxz * xix + szz * xiz)
                        a3[j, i, l] = jw * (sxx * gax + sxz * gaz)
                        a4[j, i, l] = jw * (sxz * gax + szz * gaz)
            _transpose_derivative_vector(a1, a2, a3, a4, sx, sz, dmat, points)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(count[b]):
                        g = ibool[b, j, i, l]
                        ku[g, 0] += sx[j, i, l]
                        ku[g, 1] += sz[j, i, l]


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
