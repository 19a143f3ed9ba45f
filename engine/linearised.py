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
from .model import FieldSet
from .operator import WaveOperator, face_values
from .receivers import ReceiverTerms
from .solver import _to_dataarray, differentiate

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
    direction = FieldSet(mesh, {p: np.asarray(model[p], complex) + 1j * _H * np.asarray(dm.get(p, 0.0)) for p in model})
    d_coeff = physics.coefficients(direction).imag / _H
    d_mass_density = np.asarray(physics.mass_density(direction)).imag / _H
    d_stiffness = op.stiffness_operator.with_coefficients(d_coeff)
    d_mass = mesh.assemble(d_mass_density * mesh.quadrature_weights())
    damp_nodes, damp_blocks = _damping_derivative(op, d_coeff, d_mass_density, d_mass)

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
    flat = (du.reshape(-1), dv.reshape(-1), ku.reshape(-1), arrays["minv_dt"].reshape(-1))
    for step in range(n):
        u_prev, u_now, u_next = fwd.field(step - 1), fwd.field(step), fwd.field(step + 1)
        op.stiffness(du, ku)
        d_stiffness.apply(u_now, scatter)
        bracket = scatter + (d_mass / dt**2)[:, None] * (u_next - 2 * u_now + u_prev)
        if len(damp_nodes):
            diff = (u_next - u_prev)[damp_nodes]
            bracket[damp_nodes] += np.einsum("pab,pb->pa", damp_blocks, diff) / (2 * dt)
        ku += bracket.astype(op.dtype)
        sk.add_sources_and_damping(ku, dv, *no_src, step, arrays["damp_idx"], arrays["damp_p"], arrays["damp_q"],
                                   arrays["minv_dt"], corr)
        sk.leapfrog_update(flat[0], flat[1], flat[2], flat[3], op.dtype(dt))
        sk.finish_step(du, dv, corr, arrays["damp_idx"], op.dtype(dt), rec.nodes, rec.weights, record, step + 1)
    native = _to_dataarray(record, sim.receivers, physics, sim.times, physics.quantity, physics.units, dt)
    return native if sim.output == physics.quantity else differentiate(native, sim.output)


def _damping_derivative(op: WaveOperator, d_coeff, d_mass_density, d_mass) -> tuple[np.ndarray, np.ndarray]:
    """dC in the direction: Stacey blocks w * dZ per absorbing face point, plus the sponge's
    2 d dM, any dimension. Returns (nodes (n,) sorted, blocks (n, n_comp, n_comp)): every
    non-Dirichlet absorbing-face point and every sponge point, even where dC is zero."""
    mesh, nc = op.mesh, op.n_components
    dense = np.zeros((mesh.n_global, nc, nc))
    touched = np.zeros(mesh.n_global, dtype=bool)
    for side in mesh.absorbing:
        faces = mesh.faces(side)
        coeff = face_values(faces, op.coefficients, 1) + 1j * _H * face_values(faces, d_coeff, 1)
        mass = face_values(faces, op.mass_density) + 1j * _H * face_values(faces, d_mass_density)
        dz = op.physics.impedance(coeff, mass, faces.normals.reshape(-1, mesh.ndim)).imag / _H
        nodes = faces.global_nodes.reshape(-1)
        keep = ~op.dirichlet[nodes]
        # np.add.at adds in the faces' order, as a loop over the faces would.
        np.add.at(dense, nodes[keep], faces.weights.reshape(-1)[keep, None, None] * dz[keep])
        touched[nodes[keep]] = True
    sponge = np.nonzero(op.sponge)[0]
    dense[sponge] += (2.0 * op.sponge[sponge] * d_mass[sponge])[:, None, None] * np.eye(nc)
    touched[sponge] = True
    nodes = np.nonzero(touched)[0].astype(np.int64)
    return nodes, dense[nodes]
