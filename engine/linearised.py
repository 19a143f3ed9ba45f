"""The linearised (Born) forward operator: dm -> d(seismograms), exactly.

Differentiating the discrete scheme ``A u^{n+1} = 2 M u^n - B u^{n-1} - dt^2 K u^n +
dt^2 f^n`` in a model direction dm gives the same recursion for du with the source

``-[dM (u^{n+1} - 2u^n + u^{n-1}) + dt/2 dC (u^{n+1} - u^{n-1}) + dt^2 dK u^n] / dt^2``.

It is derived independently of ``engine.adjoint`` and used to verify it with dot-product
tests: ``<born(dm), w> == <dm, gradient(w)>``. It is also what a Gauss-Newton method
would need. Derivatives of the physics coefficients, mass and impedance in the
direction dm are complex-step derivatives of the physics' own formulas.
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from . import _stepping_kernels as sk
from .operator import WaveOperator
from .physics._kernels import NO_SENSITIVITY
from .receivers import ReceiverTerms

__all__ = ["born"]

_H = 1e-30


def born(sim, dm: dict) -> xr.DataArray:
    """Linearised seismograms ``d(seismograms)/dm . dm`` of a run with ``keep_forward=True``.

    ``dm`` maps parameter names of the model to arrays shaped like ``model[name]``
    (missing names mean no change). Returns a DataArray shaped like ``sim.seismograms``.
    """
    fwd = sim.forward
    if fwd is None or fwd.mode == "decimated":
        raise ValueError("born() needs the exact forward wavefield: run engine.simulate(..., keep_forward=True).")
    op: WaveOperator = sim.operator
    model, physics, mesh = op.model, op.physics, op.mesh
    unknown = [p for p in dm if p not in model]
    if unknown:
        raise ValueError(f"Unknown parameter(s) {unknown} in dm; the model has {list(model)}.")
    direction = {p: np.asarray(model[p], complex) + 1j * _H * np.asarray(dm.get(p, 0.0)) for p in model}
    d_coeff = physics.coefficients(direction).imag / _H
    d_mass_density = np.asarray(physics.mass_density(direction)).imag / _H
    d_material = op.blocks.to_blocks(physics.kernel_material(d_coeff, mesh), op.dtype)
    d_mass = mesh.assemble(d_mass_density * mesh.quadrature_weights())
    d_damp = _damping_derivative(op, d_coeff, d_mass_density, d_mass)

    dt, n = sim.dt, sim.n_steps
    arrays = op.stepping_arrays(dt)
    nc = op.n_components
    du = np.zeros(fwd.field_shape, op.dtype)
    dv = np.zeros_like(du)
    ku = np.empty_like(du)
    scatter = np.empty_like(du)
    corr = np.zeros((len(arrays["damp_idx"]), nc), op.dtype)
    rec = ReceiverTerms.build(sim.receivers, mesh, op.dtype)
    record = np.zeros((len(rec.nodes), nc, n + 1), op.dtype)
    no_src = np.zeros((0, 1), np.int64), np.zeros((0, 1, nc), op.dtype), np.zeros((0, n + 1), op.dtype)
    b = op.blocks
    damp_nodes = np.array(sorted(d_damp), dtype=np.int64)
    damp_blocks = np.array([d_damp[int(g)] for g in damp_nodes]).reshape(-1, nc, nc)
    flat = (du.reshape(-1), dv.reshape(-1), ku.reshape(-1), arrays["minv_dt"].reshape(-1))
    for step in range(n):
        u_prev, u_now, u_next = fwd.field(step - 1), fwd.field(step), fwd.field(step + 1)
        op.stiffness(du, ku)
        physics.kernel(u_now, scatter, b.ibool, b.count, b.schedule, op.geom, d_material, op.dmat,
                       op._no_field, op._no_sens, NO_SENSITIVITY, b.points)
        bracket = scatter + (d_mass / dt**2)[:, None] * (u_next - 2 * u_now + u_prev)
        if len(damp_nodes):
            diff = (u_next - u_prev)[damp_nodes]
            bracket[damp_nodes] += np.einsum("pab,pb->pa", damp_blocks, diff) / (2 * dt)
        ku += bracket.astype(op.dtype)
        sk.add_sources_and_damping(ku, dv, *no_src, step, arrays["damp_idx"], arrays["damp_p"], arrays["damp_q"],
                                   arrays["minv_dt"], corr)
        sk.leapfrog_update(flat[0], flat[1], flat[2], flat[3], op.dtype(dt))
        sk.finish_step(du, dv, corr, arrays["damp_idx"], op.dtype(dt), rec.nodes, rec.weights, record, step + 1)
    from .solver import _to_dataarray, differentiate

    native = _to_dataarray(record, sim.receivers, physics, sim.times, physics.quantity, physics.units, dt)
    return native if sim.output == physics.quantity else differentiate(native, sim.output)


def _damping_derivative(op: WaveOperator, d_coeff, d_mass_density, d_mass) -> dict:
    """dC in the direction: Stacey blocks w * dZ per absorbing face point, plus the sponge's 2 d dM."""
    mesh = op.mesh
    out: dict[int, np.ndarray] = {}
    for side in mesh.absorbing:
        for e, f in mesh.side_sets[side]:
            e, f = int(e), int(f)
            nodes, w, normals = mesh.face_geometry(e, f)
            j, i = mesh.face_points(f)
            coeff = op.coefficients[e][:, j, i].T + 1j * _H * d_coeff[e][:, j, i].T
            mass = op.mass_density[e][j, i] + 1j * _H * d_mass_density[e][j, i]
            dz = op.physics.impedance(coeff, mass, normals).imag / _H
            for node, wq, block in zip(nodes, w, dz):
                if op.dirichlet[node]:
                    continue
                out.setdefault(int(node), np.zeros_like(block))
                out[int(node)] += wq * block
    eye = np.eye(op.n_components)
    for node in np.nonzero(op.sponge)[0]:
        out.setdefault(int(node), np.zeros_like(eye))
        out[int(node)] += 2.0 * op.sponge[node] * d_mass[node] * eye
    return out
