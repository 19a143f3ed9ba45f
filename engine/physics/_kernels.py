"""Stiffness kernels K u for the 2D physics, on blocked elements (see ``_blocks``).

Two kernels serve every 2D physics:

* ``scalar_stiffness``: K u = -div(C grad u) for a scalar field with a symmetric 2 x 2
  coefficient C = [[cxx, cxz], [cxz, czz]] per point (SH: cxx = N, czz = L;
  acoustic: cxx = czz = 1/rho; smoothing: the diffusion tensor).
* ``vector_stiffness``: K u = -div(sigma) for P-SV with sigma_xx = c11 e_xx + c13 e_zz,
  sigma_zz = c13 e_xx + c33 e_zz, sigma_xz = 2 c55 e_xz (isotropic or VTI).

Arguments (grouped; shapes):
    u, ku      : (n_global, n_comp) field and output K u, overwritten.
    ibool      : (n_blocks, ngll, ngll, L) int32; count (n_blocks,) valid lanes;
    ptr        : (n_colours + 1,) block offsets of each colour.
    geom       : (n_blocks, 5, ngll, ngll, L): d xi/dx, d xi/dz, d eta/dx, d eta/dz, w w |J|.
    material   : (n_blocks, n_coeff, ngll, ngll, L).
    dmat       : (ngll, ngll), ``dmat[p, q] = l_q'(xi_p)``.
    points     : tuple of length ngll (compile-time loop bound).
The weak form is sum over points of w w |J| (flux . grad phi), so K is symmetric
positive semi-definite; the kernels return +K u.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from .._jit import parallel_kernel
from ._blocks import LANES as L


@parallel_kernel
def scalar_stiffness(u, ku, ibool, count, ptr, geom, material, dmat, points):
    ngll = len(points)
    ku[:] = 0.0
    for c in range(ptr.shape[0] - 1):
        for b in prange(ptr[c], ptr[c + 1]):
            ul = np.empty((ngll, ngll, L), dtype=u.dtype)
            g1 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            g2 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(L):
                        ul[j, i, l] = u[ibool[b, j, i, l], 0]
            for j in range(ngll):
                for i in range(ngll):
                    for k in range(ngll):
                        dik = dmat[i, k]
                        djk = dmat[j, k]
                        for l in range(L):
                            g1[j, i, l] += dik * ul[j, k, l]
                            g2[j, i, l] += djk * ul[k, i, l]
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(L):
                        xix = geom[b, 0, j, i, l]
                        xiz = geom[b, 1, j, i, l]
                        gax = geom[b, 2, j, i, l]
                        gaz = geom[b, 3, j, i, l]
                        jw = geom[b, 4, j, i, l]
                        dudx = g1[j, i, l] * xix + g2[j, i, l] * gax
                        dudz = g1[j, i, l] * xiz + g2[j, i, l] * gaz
                        fx = material[b, 0, j, i, l] * dudx + material[b, 1, j, i, l] * dudz
                        fz = material[b, 1, j, i, l] * dudx + material[b, 2, j, i, l] * dudz
                        g1[j, i, l] = jw * (fx * xix + fz * xiz)
                        g2[j, i, l] = jw * (fx * gax + fz * gaz)
            ul[:] = 0.0
            for j in range(ngll):
                for i in range(ngll):
                    for k in range(ngll):
                        dki = dmat[k, i]
                        dkj = dmat[k, j]
                        for l in range(L):
                            ul[j, i, l] += dki * g1[j, k, l] + dkj * g2[k, i, l]
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(count[b]):
                        ku[ibool[b, j, i, l], 0] += ul[j, i, l]


@parallel_kernel
def vector_stiffness(u, ku, ibool, count, ptr, geom, material, dmat, points):
    ngll = len(points)
    ku[:] = 0.0
    for c in range(ptr.shape[0] - 1):
        for b in prange(ptr[c], ptr[c + 1]):
            ux = np.empty((ngll, ngll, L), dtype=u.dtype)
            uz = np.empty((ngll, ngll, L), dtype=u.dtype)
            a1 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            a2 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            a3 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            a4 = np.zeros((ngll, ngll, L), dtype=u.dtype)
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(L):
                        g = ibool[b, j, i, l]
                        ux[j, i, l] = u[g, 0]
                        uz[j, i, l] = u[g, 1]
            for j in range(ngll):
                for i in range(ngll):
                    for k in range(ngll):
                        dik = dmat[i, k]
                        djk = dmat[j, k]
                        for l in range(L):
                            a1[j, i, l] += dik * ux[j, k, l]
                            a2[j, i, l] += dik * uz[j, k, l]
                            a3[j, i, l] += djk * ux[k, i, l]
                            a4[j, i, l] += djk * uz[k, i, l]
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
            ux[:] = 0.0
            uz[:] = 0.0
            for j in range(ngll):
                for i in range(ngll):
                    for k in range(ngll):
                        dki = dmat[k, i]
                        dkj = dmat[k, j]
                        for l in range(L):
                            ux[j, i, l] += dki * a1[j, k, l] + dkj * a3[k, i, l]
                            uz[j, i, l] += dki * a2[j, k, l] + dkj * a4[k, i, l]
            for j in range(ngll):
                for i in range(ngll):
                    for l in range(count[b]):
                        g = ibool[b, j, i, l]
                        ku[g, 0] += ux[j, i, l]
                        ku[g, 1] += uz[j, i, l]
