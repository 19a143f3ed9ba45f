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
The K term is accumulated per point by the stiffness kernel fused with the adjoint's own
K l (the gradient of l is computed once); M and C terms by pointwise kernels. The chain
rule from the physics coefficients to the model parameters (vp, vs, rho, vsv, ...) uses
complex-step derivatives of the physics' own formulas, so it is exact and cannot drift
from them. The sponge layer's strength (set from the maximum velocity) is treated as a
constant: a numerical device, not a model parameter.

Forward storage: ``keep_forward=True`` in ``engine.simulate`` keeps u^n either in full
(fast, memory (N + 1) fields), or as checkpoints every ~sqrt(N) steps with recomputation
of one segment at a time during the adjoint (memory about 4 sqrt(N) fields), chosen by a
memory limit; or, approximately, every ``sampling_interval``-th step (``mode="decimated"``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr
from numba import prange

from ._jit import kernel, parallel_kernel
from . import _stepping_kernels as sk
from .operator import WaveOperator
from .receivers import ReceiverTerms
from .sources import SourceTerms

__all__ = ["StoragePolicy", "ForwardStore", "gradient", "volumetric_kernel"]

_MODES = ("auto", "full", "checkpoint", "decimated")


@dataclass(frozen=True)
class StoragePolicy:
    """How the forward wavefield is kept for the adjoint.

    mode : "auto" (full if it fits in ``memory_limit_bytes``, else checkpoints),
        "full", "checkpoint" (bounded memory, one extra forward run), or "decimated"
        (every ``sampling_interval``-th step; approximate gradient, fastest, least memory).
    memory_limit_bytes : the budget "auto" compares the full storage with (default 4 GiB).
    sampling_interval : steps between stored fields in "decimated" mode.
    checkpoint_interval : steps between checkpoints (default ceil(sqrt(N))).
    """

    mode: str = "auto"
    memory_limit_bytes: int = 4 * 1024**3
    sampling_interval: int = 1
    checkpoint_interval: int | None = None

    def __post_init__(self):
        if self.mode not in _MODES:
            raise ValueError(f"The 'mode' parameter must be one of {list(_MODES)}, but {self.mode!r} was given.")
        if int(self.sampling_interval) < 1:
            raise ValueError(f"The 'sampling_interval' parameter must be >= 1, but {self.sampling_interval!r} was given.")


class ForwardStore:
    """Keeps (or can recompute) the forward displacement u^n for the adjoint pass.

    It is a :class:`~engine.solver.StepTask`: the forward time loop hands it every step.
    """

    def __init__(self, operator: WaveOperator, dt: float, n_steps: int, policy: StoragePolicy):
        self.operator, self.dt, self.n_steps = operator, dt, n_steps
        shape = (operator.mesh.n_global, operator.n_components)
        self.field_shape = shape
        field_bytes = int(np.prod(shape)) * np.dtype(operator.dtype).itemsize
        mode = policy.mode
        if mode == "auto":
            mode = "full" if (n_steps + 1) * field_bytes <= policy.memory_limit_bytes else "checkpoint"
        self.mode = mode
        self.interval = int(policy.sampling_interval) if mode == "decimated" else 1
        self.checkpoint_interval = int(policy.checkpoint_interval or np.ceil(np.sqrt(n_steps + 1)))
        self.sources: SourceTerms | None = None  # set by simulate (needed to recompute)
        self.fields: dict[int, np.ndarray] = {}
        self.checkpoints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._segment: tuple[int, int] | None = None
        self._segment_buffers: list[np.ndarray] = []
        if mode == "full":
            self._full = _prefaulted_empty((n_steps + 1,) + shape, operator.dtype)

    @classmethod
    def create(cls, operator, dt, n_steps, policy=True) -> "ForwardStore":
        return cls(operator, dt, n_steps, policy if isinstance(policy, StoragePolicy) else StoragePolicy())

    # --- StepTask --------------------------------------------------------------------
    def should_run(self, step: int) -> bool:
        if self.mode == "full":
            return True
        if self.mode == "decimated":
            return step % self.interval == 0 or step == self.n_steps
        return step % self.checkpoint_interval == 0

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None:
        if self.mode == "full":
            self._full[step] = u
        elif self.mode == "decimated":
            self.fields[step] = u.copy()
        else:
            self.checkpoints[step] = (u.copy(), v.copy())

    @property
    def nbytes(self) -> int:
        """Bytes held now (what the memory bound refers to)."""
        if self.mode == "full":
            return self._full.nbytes
        if self.mode == "decimated":
            return sum(a.nbytes for a in self.fields.values())
        segment = sum(a.nbytes for a in self._segment_buffers)
        return segment + sum(u.nbytes + v.nbytes for u, v in self.checkpoints.values())

    # --- access during the adjoint ---------------------------------------------------------
    def field(self, step: int) -> np.ndarray:
        """u^step (u^{-1} = 0 and u^{N+1} is never needed).

        In checkpoint mode the array is a view into a segment buffer: it stays valid until
        the second recomputation after the call (enough for the steps k-1, k, k+1 of one
        time step, asked for in any order)."""
        if step < 0:
            return np.zeros(self.field_shape, dtype=self.operator.dtype)
        if self.mode == "full":
            return self._full[step]
        if self.mode == "decimated":
            return self.fields[step]
        start = (step // self.checkpoint_interval) * self.checkpoint_interval
        if self._segment is None or not self._segment[0] <= step <= self._segment[1]:
            self._recompute_segment(start)
        return self.fields[step]

    def _recompute_segment(self, start: int) -> None:
        """Re-run the forward from the checkpoint at ``start`` over one segment, keeping
        u^{start-1} .. u^{start+interval+1} (two segment buffers, allocated on first use
        and reused by every segment)."""
        from .solver import WavefieldState, run_time_loop

        stop = min(start + self.checkpoint_interval, self.n_steps)
        if not self._segment_buffers:
            shape = (self.checkpoint_interval + 3,) + self.field_shape
            self._segment_buffers = [np.empty(shape, self.operator.dtype), np.empty(shape, self.operator.dtype)]
        # Two buffers used in turn, so the fields handed out from the previous segment
        # stay valid while a caller that straddles two segments still holds them.
        self._segment_buffers.reverse()
        u0, v0 = self.checkpoints[start]
        keep = _Keep(self._segment_buffers[0], first_step=start - 1)
        if start > 0:
            keep.run(start - 1, u0 - self.dt * v0, v0)  # u^{start-1} from the velocity form
        state = WavefieldState(u0.copy(), v0.copy(), start)
        no_rec = ReceiverTerms(np.zeros((0, 1), np.int64), np.zeros((0, 1), self.operator.dtype))
        run_time_loop(self.operator, self.sources, no_rec, self.dt, min(stop + 1, self.n_steps), [keep],
                      state=state, record=np.zeros((0, self.operator.n_components, self.n_steps + 1), self.operator.dtype))
        self.fields = keep.fields
        self._segment = (start - 1, min(stop + 1, self.n_steps))


def _prefaulted_empty(shape: tuple, dtype) -> np.ndarray:
    """A large array whose pages are mapped up front (MAP_POPULATE, Linux): touching a
    fresh page per step costs a page fault each, which in a virtual machine doubled the
    forward run's time; populating the mapping in one call is ~20x cheaper."""
    import mmap

    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    flags = getattr(mmap, "MAP_POPULATE", 0) | mmap.MAP_PRIVATE | getattr(mmap, "MAP_ANONYMOUS", 0)
    try:
        buffer = mmap.mmap(-1, max(nbytes, 1), flags=flags)
    except (OSError, ValueError, TypeError):
        return np.empty(shape, dtype=dtype)
    return np.frombuffer(buffer, dtype=dtype, count=int(np.prod(shape))).reshape(shape)


class _Keep:
    """Step task that copies u^step into consecutive slots of a preallocated buffer."""

    def __init__(self, buffer: np.ndarray, first_step: int):
        self.buffer, self.first_step = buffer, first_step
        self.fields: dict[int, np.ndarray] = {}

    def should_run(self, step):
        return True

    def run(self, step, u, v):
        slot = self.buffer[step - self.first_step]
        slot[...] = u
        self.fields[step] = slot


# --- kernels of the adjoint's M and C terms -------------------------------------------------
@parallel_kernel
def _accumulate_mass_term(lam, u_next, u_now, u_prev, weight, out):
    """out[i] += weight * lam[i] (u^{k+1} - 2 u^k + u^{k-1})[i] on flat (n_global * n_comp,)
    views; the components are summed once at the end. Flat and branch-free so that it
    vectorises (the per-point loop over components did not: 8x slower)."""
    for i in prange(lam.shape[0]):
        out[i] += weight * (lam[i] * (u_next[i] - 2.0 * u_now[i] + u_prev[i]))


@kernel
def _accumulate_damping_term(lam, u_next, u_prev, idx, weight, out):
    """out[b] += weight * lam[g] (u^{k+1} - u^{k-1})[g]^T at the damped points g = idx[b]."""
    for b in range(idx.shape[0]):
        g = idx[b]
        for c in range(lam.shape[1]):
            for d in range(lam.shape[1]):
                out[b, c, d] += weight * lam[g, c] * (u_next[g, d] - u_prev[g, d])


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
    rec = ReceiverTerms.build(sim.receivers, sim.mesh, op.dtype)
    nc, n_rec = op.n_components, len(rec.nodes)
    # The adjoint "source" l at reversed step m is dJ/dd^{N-m} / dt^2 on receiver weights.
    weights = np.zeros((n_rec * nc, rec.nodes.shape[1], nc), dtype=op.dtype)
    for r in range(n_rec):
        for c in range(nc):
            weights[r * nc + c, :, c] = rec.weights[r]
    reversed_samples = samples[:, :, ::-1].reshape(n_rec * nc, n + 1) / dt**2
    adj_src = SourceTerms(np.repeat(rec.nodes, nc, axis=0), weights, np.ascontiguousarray(reversed_samples, op.dtype))

    arrays = op.stepping_arrays(dt)
    lam = np.zeros(fwd.field_shape, op.dtype)
    vel = np.zeros_like(lam)
    klam = np.empty_like(lam)
    corr = np.zeros((len(arrays["damp_idx"]), nc), op.dtype)
    sens = op.new_sensitivity()
    mass_term = np.zeros(lam.size)  # per point and component, summed below
    damp_term = np.zeros((len(arrays["damp_idx"]), nc, nc))
    dt_typed = op.dtype(dt)
    flat = (lam.reshape(-1), vel.reshape(-1), klam.reshape(-1), arrays["minv_dt"].reshape(-1))
    no_rec = np.zeros((0, 1), np.int64), np.zeros((0, 1), op.dtype), np.zeros((0, nc, 1), op.dtype)
    interval = fwd.interval
    for m in range(n + 1):
        k = n - m  # l^k is in `lam` now
        if m > 0 and k % interval == 0:
            u_prev, u_now = fwd.field(k - interval), fwd.field(k)
            u_next = fwd.field(k + interval) if k + interval <= n else u_now
            # The mass term first: it streams u^k from the (large, uncached) store in order,
            # so the stiffness kernel's indirect gathers of u^k then hit the cache.
            # Decimated: each kept step stands for `interval` steps; second differences scale by 1/interval^2.
            _accumulate_mass_term(flat[0], u_next.reshape(-1), u_now.reshape(-1), u_prev.reshape(-1), float(1.0 / interval),
                                  mass_term)
            op.stiffness_and_sensitivity(lam, klam, u_now, sens)
            _accumulate_damping_term(lam, u_next, u_prev, arrays["damp_idx"], 1.0, damp_term)
        elif m < n:
            op.stiffness(lam, klam)
        if m == n:
            break
        sk.add_sources_and_damping(klam, vel, adj_src.nodes, adj_src.weights, adj_src.samples, m, arrays["damp_idx"],
                                   arrays["damp_p"], arrays["damp_q"], arrays["minv_dt"], corr)
        sk.leapfrog_update(flat[0], flat[1], flat[2], flat[3], dt_typed)
        sk.finish_step(lam, vel, corr, arrays["damp_idx"], dt_typed, *no_rec, 0)
    sens *= interval
    mass_term = mass_term.reshape(lam.shape).sum(axis=1)
    return _chain_rule(op, sens, mass_term, damp_term, arrays["damp_idx"], dt, parameters)


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
    per_sample = adj * sim.dt
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
    n_elem = mesh.n_elements
    g_coeff = -dt**2 * op.blocks.from_blocks(sens, n_elem).astype(np.float64)  # (n_elem, n_coeff, ngll, ngll)
    jw = mesh.quadrature_weights()
    g_mass = -mass_term[mesh.ibool] * jw
    # Damping C: Stacey blocks w * Z(coeff, mass, n) per face point, plus the sponge 2 d M.
    row = {int(g): b for b, g in enumerate(damp_idx)}
    h = 1e-30
    for side in mesh.absorbing:
        for e, f in mesh.side_sets[side]:
            e, f = int(e), int(f)
            nodes, w, normals = mesh.face_geometry(e, f)
            j, i = mesh.face_points(f)
            keep = [q for q, g in enumerate(nodes) if int(g) in row]
            if not keep:
                continue
            s = damp_term[[row[int(nodes[q])] for q in keep]]  # (n, nc, nc)
            coeff = op.coefficients[e][:, j[keep], i[keep]].T.astype(complex)
            mass = op.mass_density[e][j[keep], i[keep]].astype(complex)
            factor = -0.5 * dt * w[keep]
            for c in range(coeff.shape[1]):
                pert = coeff.copy()
                pert[:, c] += 1j * h
                dz = physics.impedance(pert, mass, normals[keep]).imag / h
                g_coeff[e, c, j[keep], i[keep]] += factor * np.einsum("pab,pab->p", s, dz)
            dz = physics.impedance(coeff, mass + 1j * h, normals[keep]).imag / h
            g_mass[e, j[keep], i[keep]] += factor * np.einsum("pab,pab->p", s, dz)
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
        pert = dict(base)
        pert[p] = base[p] + 1j * h
        dcoeff = physics.coefficients(pert).imag / h
        dmass = np.asarray(physics.mass_density(pert)).imag / h
        out[p] = np.einsum("ecji,ecji->eji", g_coeff, dcoeff) + g_mass * dmass
    return out


def volumetric_kernel(grad: np.ndarray, mesh) -> np.ndarray:
    """Gradient per point divided by its quadrature weight: a sensitivity density
    (per m^2 in 2D) that is independent of the mesh, for plots."""
    return grad / mesh.quadrature_weights()
