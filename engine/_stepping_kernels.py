"""Pointwise kernels of the explicit time step (physics-agnostic).

The scheme is the central difference (explicit Newmark, gamma = 1/2) in velocity form,
``M (v+ - v-) / dt + C (v+ + v-) / 2 + K u = f``, ``u+ = u + dt v+``, with a diagonal M
and a small ``n_comp x n_comp`` damping block C at absorbing points only. Arrays are
flattened to (n_global * n_comp,) where the loop is pointwise, so it vectorises.
"""
from __future__ import annotations

from numba import prange

from ._jit import parallel_kernel


@parallel_kernel
def add_sources_and_damping(ku, v, src_nodes, src_weights, src_samples, step, damp_idx, damp_p, damp_q, minv_dt, corr):
    """Subtract the sources from ``ku`` (so ``r = -ku`` is f - K u), then compute the
    correction that turns the undamped update into the damped one at absorbing points:
    ``corr = P v- + Q r - (v- + minv_dt r)``. Shapes: ku, v (n_global, n_comp);
    src_nodes (n_src, n_pts); src_weights (n_src, n_pts, n_comp); src_samples
    (n_src, n_steps + 1); damp_idx (n_damp,); damp_p, damp_q (n_damp, n_comp, n_comp);
    minv_dt (n_global, n_comp); corr (n_damp, n_comp)."""
    n_comp = ku.shape[1]
    for s in range(src_nodes.shape[0]):
        a = src_samples[s, step]
        for p in range(src_nodes.shape[1]):
            g = src_nodes[s, p]
            for c in range(n_comp):
                ku[g, c] -= src_weights[s, p, c] * a
    # The damping points are distinct, so their rows are independent: threads split them.
    if n_comp == 1:  # scalar physics: the same formula, without the loops over components (2.5x faster)
        for b in prange(damp_idx.shape[0]):
            g = damp_idx[b]
            corr[b, 0] = (damp_p[b, 0, 0] * v[g, 0] - damp_q[b, 0, 0] * ku[g, 0]) - (v[g, 0] - minv_dt[g, 0] * ku[g, 0])
        return
    for b in prange(damp_idx.shape[0]):
        g = damp_idx[b]
        for c in range(n_comp):
            acc = -(v[g, c] - minv_dt[g, c] * ku[g, c])
            for d in range(n_comp):
                acc += damp_p[b, c, d] * v[g, d] - damp_q[b, c, d] * ku[g, d]
            corr[b, c] = acc


@parallel_kernel
def leapfrog_update(u, v, ku, minv_dt, dt):
    """v -= minv_dt * ku; u += dt * v, on flat (n_global * n_comp,) views."""
    for i in prange(u.shape[0]):
        vi = v[i] - minv_dt[i] * ku[i]
        v[i] = vi
        u[i] += dt * vi


@parallel_kernel
def finish_step(u, v, corr, damp_idx, dt, rec_nodes, rec_weights, seismograms, step):
    """Apply the damping correction (threads split the distinct damping points), then
    record ``seismograms[:, :, step]``."""
    n_comp = u.shape[1]
    for b in prange(damp_idx.shape[0]):
        g = damp_idx[b]
        for c in range(n_comp):
            v[g, c] += corr[b, c]
            u[g, c] += dt * corr[b, c]
    for r in range(rec_nodes.shape[0]):
        for c in range(n_comp):
            acc = seismograms[r, c, step] * 0
            for p in range(rec_nodes.shape[1]):
                acc += rec_weights[r, p] * u[rec_nodes[r, p], c]
            seismograms[r, c, step] = acc

