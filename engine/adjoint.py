"""Exact discrete adjoint: gradients of a misfit with respect to the model's own arrays.

The forward scheme (see ``engine.solver``) is, in displacement form,
``A u^{n+1} = 2 M u^n - B u^{n-1} - dt^2 K u^n + dt^2 f^n`` with ``A = M + dt/2 C``,
``B = M - dt/2 C``, u^0 = u^{-1} = 0, and the recorded data ``d^n = R u^n`` (n = 0..N).
For a misfit J(d), the Lagrange multipliers obey the same recursion backwards,
``A l^{k-1} = R^T dJ/dd^k + 2 M l^k - dt^2 K l^k - B l^{k+1}`` (l^N = l^{N+1} = 0), which
is the forward time loop run on the reversed adjoint source. Then

``dJ/dm = - sum_{n=0}^{N-1} l^n . [dM/dm (u^{n+1} - 2u^n + u^{n-1})
          + dt/2 dC/dm (u^{n+1} - u^{n-1}) + dt^2 dK/dm u^n]``,

the exact derivative of the discrete misfit (a Taylor test agrees to ~1e-8 and better).
The M and C terms are summed by parts in time (u^0 = u^{-1} = 0, l^N = l^{N+1} = 0):
``sum_n l^n (u^{n+1} - 2u^n + u^{n-1}) = sum_{n=1}^{N} u^n (l^{n+1} - 2l^n + l^{n-1})`` and
``sum_n l^n (u^{n+1} - u^{n-1}) = sum_{n=1}^{N} u^n (l^{n-1} - l^{n+1})``, so every term needs
u^n at step n only, and the differences of l come from the adjoint's own leapfrog.
The K term is accumulated per point by the stiffness kernel fused with the adjoint's own
K l (the gradient of l is computed once); M and C terms by pointwise kernels. The chain
rule from the physics coefficients to the model parameters (vp, vs, rho, vsv, ...) uses
complex-step derivatives of the physics' own formulas, so it is exact and cannot drift
from them. The sponge layer's strength (set from the maximum velocity) is treated as a
constant: a numerical device, not a model parameter.

Forward storage (full, checkpointed, decimated) is ``engine.storage``.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from numba import prange

from ._jit import kernel, parallel_kernel
from . import _stepping_kernels as sk
from .model import FieldSet
from .operator import WaveOperator
from .receivers import ReceiverTerms
from .sources import SourceTerms
from .storage import ForwardStore, StoragePolicy, sampling_interval_for  # noqa: F401  (the adjoint's inputs)

__all__ = ["StoragePolicy", "ForwardStore", "gradient", "volumetric_kernel", "sampling_interval_for"]

# --- kernels of the adjoint's M and C terms -------------------------------------------------
# Both terms are summed by parts in time (see ``gradient``): u^k times the adjoint's
# velocity change, which the adjoint's own leapfrog computes anyway. Only u^k is needed
# at a step (not u^{k-1}, u^{k+1}), and a decimated sum samples a product of two smooth
# time series instead of a wide second difference.
@parallel_kernel
def _leapfrog_accumulating(lam, vel, klam, minv_dt, dt, fwd, out):
    """The adjoint's leapfrog (``_stepping_kernels.leapfrog_update``) that also adds
    fwd[i] * (velocity change)[i] into out[i], on flat (n_global * n_comp,) views."""
    for i in prange(lam.shape[0]):
        dv = -minv_dt[i] * klam[i]
        vi = vel[i] + dv
        vel[i] = vi
        lam[i] += dt * vi
        out[i] += fwd[i] * dv


@kernel
def _accumulate_damped_points(fwd, vel, vel_before, corr, idx, out, damp_out):
    """At the damped points g = idx[b]: the damping correction's share of the velocity
    change into out (flat, as in ``_leapfrog_accumulating``), and the damping term
    damp_out[b] += (v^{new} + v^{old})[g] fwd[g]^T."""
    nc = fwd.shape[1]
    for b in range(idx.shape[0]):
        g = idx[b]
        for c in range(nc):
            out[g * nc + c] += fwd[g, c] * corr[b, c]
            for d in range(nc):
                damp_out[b, c, d] += (vel[g, c] + vel_before[b, c]) * fwd[g, d]


def gradient(sim, adjoint_source, parameters=None) -> dict[str, np.ndarray]:
    """Gradient of a misfit with respect to the model's own parameter arrays.

    Parameters
    ----------
    sim : a :class:`~engine.solver.Simulation` run with ``keep_forward=True``.
    adjoint_source : the misfit's adjoint source, ``(1/dt) dJ/d(seismogram samples)``
        (what ``engine.misfit.*`` return), a DataArray (receiver, component, time) on the
        simulation's time axis, or an array of that shape.
    parameters : names to return (default: every parameter of the model; those the
        physics does not use, such as vsh in P-SV, get zeros).

    Returns
    -------
    dict name -> array shaped like ``model[name]`` with ``dJ/dm``, so that
    ``J(m + dm) - J(m) ~= sum_p (g[p] * dm[p]).sum()``.
    """
    fwd = sim.forward
    if fwd is None:
        raise ValueError("The simulation kept no forward wavefield; run engine.simulate(..., keep_forward=True).")
    op: WaveOperator = sim.operator
    dt, n = sim.dt, sim.n_steps
    samples = _displacement_adjoint_samples(sim, adjoint_source)  # dJ/d(u-record)^k, (n_rec, n_comp, N+1)
    rec = sim.receiver_terms or ReceiverTerms.build(sim.receivers, sim.mesh, op.dtype)
    nc, n_rec = op.n_components, len(rec.nodes)
    # The adjoint "source" l at reversed step m is dJ/dd^{N-m} / dt^2 on receiver weights.
    weights = np.zeros((n_rec * nc, rec.nodes.shape[1], nc), dtype=op.dtype)
    for r in range(n_rec):
        for c in range(nc):
            weights[r * nc + c, :, c] = rec.weights[r]
    reversed_samples = samples[:, :, ::-1].reshape(n_rec * nc, n + 1) / dt**2
    adj_src = SourceTerms(np.repeat(rec.nodes, nc, axis=0), weights, np.ascontiguousarray(reversed_samples, op.dtype))

    arrays = op.stepping_arrays(dt)
    damp_idx = arrays["damp_idx"]
    lam = np.zeros(fwd.field_shape, op.dtype)
    vel = np.zeros_like(lam)
    klam = np.empty_like(lam)
    corr = np.zeros((len(damp_idx), nc), op.dtype)
    vel_before = np.zeros_like(corr)
    sens = op.new_sensitivity()
    # sum_k u^k (v_new - v_old)^k per point and component, in the run's precision like
    # `sens` (float32 halves this read-modify-write stream; float64 runs stay exact).
    mass_sum = np.zeros(lam.size, op.dtype)
    damp_sum = np.zeros((len(damp_idx), nc, nc))  # sum_k (v_new + v_old)^k u^k^T at damped points
    dt_typed = op.dtype(dt)
    flat = (lam.reshape(-1), vel.reshape(-1), klam.reshape(-1), arrays["minv_dt"].reshape(-1))
    no_rec = np.zeros((0, 1), np.int64), np.zeros((0, 1), op.dtype), np.zeros((0, nc, 1), op.dtype)
    interval = fwd.interval
    weights = _sample_weights(n, interval)
    for m in range(n):
        k = n - m  # l^k is in `lam` now; this step makes l^{k-1}
        sampled = k in weights
        if sampled:
            u_now = fwd.field(k)
            if weights[k] != interval:  # an end of the decimated sum: weight it through u^k
                u_now = u_now * op.dtype(weights[k] / interval)
            op.stiffness_and_sensitivity(lam, klam, u_now, sens)
        else:
            op.stiffness(lam, klam)
        sk.add_sources_and_damping(klam, vel, adj_src.nodes, adj_src.weights, adj_src.samples, m, damp_idx,
                                   arrays["damp_p"], arrays["damp_q"], arrays["minv_dt"], corr)
        if sampled:
            vel_before[...] = vel[damp_idx]
            _leapfrog_accumulating(*flat, dt_typed, u_now.reshape(-1), mass_sum)
        else:
            sk.leapfrog_update(*flat, dt_typed)
        sk.finish_step(lam, vel, corr, damp_idx, dt_typed, *no_rec, 0)
        if sampled:
            _accumulate_damped_points(u_now, vel, vel_before, corr, damp_idx, mass_sum, damp_sum)
    # l^{k+1} - 2 l^k + l^{k-1} = dt (v_new - v_old) and l^{k-1} - l^{k+1} = dt (v_new + v_old).
    # Decimated: each sampled step stands for `interval` steps (the ends weighted in u^k).
    sens *= interval
    mass_term = (dt * interval) * mass_sum.reshape(lam.shape).sum(axis=1, dtype=np.float64)
    return _chain_rule(op, sens, mass_term, (dt * interval) * damp_sum, damp_idx, dt, parameters)


def _sample_weights(n_steps: int, interval: int) -> dict[int, float]:
    """Steps k (1..N) at which the adjoint samples its sums over time, and their weights.

    Every step has weight 1 for an exact gradient (``interval`` 1). Decimated, the sums
    sample the products at k = N and every multiple of ``interval``, with trapezoid
    weights (u^0 = 0 closes the lower end) plus the half step that the Euler-Maclaurin
    formula adds at the top: the product there need not vanish (an adjoint source that
    is not tapered to zero at the end), and a plain rectangle rule made that end the
    largest error."""
    steps = sorted({n_steps} | set(range(interval, n_steps + 1, interval)), reverse=True) + [0]
    weights = {}
    for i, k in enumerate(steps[:-1]):
        above = steps[i - 1] if i > 0 else k
        weights[k] = 0.5 * (above - steps[i + 1]) + (0.5 if i == 0 else 0.0)
    return weights


def _displacement_adjoint_samples(sim, adjoint_source) -> np.ndarray:
    """dJ/d(recorded field samples), (n_rec, n_comp, N+1) float64, from the misfit's
    adjoint source (a density in time) and the output conversion's transpose."""
    expected = sim.seismograms.shape
    if isinstance(adjoint_source, xr.DataArray):
        adj = adjoint_source.transpose("receiver", "component", "time")
        if adj.shape != expected or not np.allclose(adj["time"].values, sim.times, rtol=0, atol=1e-9 * sim.times[-1]):
            raise ValueError(
                f"The adjoint source must be on the simulation's receivers, components and time axis "
                f"{expected}, but it has shape {adj.shape}; compute it from sim.seismograms."
            )
        adj = adj.values
    else:
        adj = np.asarray(adjoint_source, dtype=float)
        if adj.shape != expected:
            raise ValueError(f"The adjoint source must have shape {expected}, but {adj.shape} was given.")
    # Z/N/E records (Geographic receivers) were rotated from the mesh frame: rotate back
    # (the rotation is per receiver and commutes with the time differencing below).
    per_sample = sim.receivers.to_mesh_frame(adj * sim.dt)
    if sim.output == "velocity":
        return _gradient_transpose(per_sample, sim.dt)
    if sim.output == "acceleration":
        out = np.zeros_like(per_sample)
        inner = per_sample[..., 1:-1] / sim.dt**2
        out[..., 2:] += inner
        out[..., 1:-1] -= 2 * inner
        out[..., :-2] += inner
        return out
    return per_sample


def _gradient_transpose(a: np.ndarray, dt: float) -> np.ndarray:
    """Transpose of ``np.gradient(x, dt)`` (central inside, one-sided first order at ends)."""
    out = np.zeros_like(a)
    out[..., 0] -= a[..., 0] / dt
    out[..., 1] += a[..., 0] / dt
    out[..., -1] += a[..., -1] / dt
    out[..., -2] -= a[..., -1] / dt
    inner = a[..., 1:-1] / (2 * dt)
    out[..., 2:] += inner
    out[..., :-2] -= inner
    return out


def _chain_rule(op: WaveOperator, sens, mass_term, damp_term, damp_idx, dt, parameters) -> dict:
    """From d/d(coefficients, mass density) per point to d/d(model parameters)."""
    mesh, model, physics = op.mesh, op.model, op.physics
    # (n_elem, n_coeff, *point_axes); rows past the kernel's sensitivity slots (a TI
    # axis) are not parameters and only get boundary terms, which nothing depends on.
    g_sens = -dt**2 * op.stiffness_operator.sensitivity_per_element(sens).astype(np.float64)
    g_coeff = np.zeros(op.coefficients.shape)
    g_coeff[:, :g_sens.shape[1]] = g_sens
    jw = mesh.quadrature_weights()
    g_mass = -mass_term[mesh.ibool] * jw
    # Damping C: Stacey blocks w * Z(coeff, mass, n) per face point, plus the sponge 2 d M.
    h = 1e-30
    faces = _absorbing_face_points(mesh, damp_idx)
    if faces is not None:
        e, local, rows, w, normals = faces
        point = (e,) + local  # index of each face point in a per-point array
        s = damp_term[rows]  # (n, nc, nc)
        coeff = op.coefficients[(e, slice(None)) + local].astype(complex)  # (n, n_coeff)
        mass = op.mass_density[point].astype(complex)
        factor = -0.5 * dt * w
        for c in range(coeff.shape[1]):
            pert = coeff.copy()
            pert[:, c] += 1j * h
            dz = physics.impedance(pert, mass, normals).imag / h
            np.add.at(g_coeff, (e, c) + local, factor * np.einsum("pab,pab->p", s, dz))
        dz = physics.impedance(coeff, mass + 1j * h, normals).imag / h
        np.add.at(g_mass, point, factor * np.einsum("pab,pab->p", s, dz))
    if np.any(op.sponge):
        trace = np.zeros(mesh.n_global)
        trace[damp_idx] = np.einsum("paa->p", damp_term)
        g_mass += -0.5 * dt * (2.0 * op.sponge * trace)[mesh.ibool] * jw
    names = list(model) if parameters is None else list(parameters)
    unknown = [p for p in names if p not in model]
    if unknown:
        raise ValueError(f"Unknown parameter(s) {unknown} for the gradient; the model has {list(model)}.")
    base = {p: np.asarray(model[p], dtype=complex) for p in model}
    out = {}
    for p in names:
        pert = FieldSet(mesh, base)
        pert[p] = base[p] + 1j * h
        dcoeff = physics.coefficients(pert).imag / h
        dmass = np.asarray(physics.mass_density(pert)).imag / h
        out[p] = np.einsum("ec...,ec...->e...", g_coeff, dcoeff) + g_mass * dmass
    return out


def _absorbing_face_points(mesh, damp_idx):
    """Every point of every absorbing face that has a damping block, stacked side by side
    in the faces' order, any dimension: (element (n,), local point indices (a tuple of ndim
    (n,) arrays: (j, i) in 2D, (k, j, i) in 3D), row in damp_idx (n,), quadrature weight (n,),
    outward normal (n, ndim)), or None."""
    row = np.full(mesh.n_global, -1, dtype=np.int64)
    row[damp_idx] = np.arange(len(damp_idx))
    parts = []
    for side in mesh.absorbing:
        faces = mesh.faces(side)
        nodes = faces.global_nodes.reshape(-1)
        keep = row[nodes] >= 0
        elements = np.repeat(faces.elements, faces.global_nodes.shape[1])
        local = tuple(a.reshape(-1)[keep] for a in faces.local_indices)
        parts.append((elements[keep], local, row[nodes[keep]], faces.weights.reshape(-1)[keep],
                      faces.normals.reshape(-1, mesh.ndim)[keep]))
    if not parts:
        return None
    e, local, rows, w, normals = zip(*parts)
    return (np.concatenate(e), tuple(np.concatenate(a) for a in zip(*local)), np.concatenate(rows),
            np.concatenate(w), np.concatenate(normals))


def volumetric_kernel(grad: np.ndarray, mesh) -> np.ndarray:
    """Gradient per point divided by its quadrature weight: a sensitivity density
    (per m^2 in 2D) that is independent of the mesh, for plots."""
    return grad / mesh.quadrature_weights()
