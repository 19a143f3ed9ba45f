"""3D: energy conservation without absorbing sides, and source-receiver reciprocity.

Energy. The scheme is the central difference ``M (v+ - v-) / dt + C (v+ + v-) / 2 +
K u^n = f^n``, ``u^{n+1} = u^n + dt v+``. With no absorbing side (``absorbing=()``, so
C = 0) and after the source has stopped, ``E_n = 1/2 v^{n-1/2} . M v^{n-1/2} +
1/2 u^n . K u^{n-1}`` is conserved exactly when K is symmetric (the two half-step
changes cancel), so its drift measures roundoff only; a non-symmetric K (a wrong
geometric factor on curved elements, a transposed TI term) or a damping left on
shows up as a drift many orders above roundoff. Checked on a mildly
heterogeneous box (elastic float64 and float32, acoustic with every side a p = 0
free surface) and on a curved spherical chunk with PREM (transversely isotropic below
the Moho), every side traction-free.

Reciprocity. With M, C (Stacey, absorbing sides on) and K symmetric, the discrete
scheme's Green's function is symmetric: ``G_ji(B, A; t) = G_ij(A, B; t)`` at every
time step (receivers interpolate with the same Lagrange weights a point force
spreads with). And the moment tensor's nodal vector ``w_a = M d phi_a / dx (x_A)``
is the transpose of "record ``sum_a w_a . u_a``" (the discrete ``M : strain`` at A),
so ``u_j(B)`` from a moment tensor at A equals ``sum_a w_a . u_a(t)`` from a force
e_j at B. Checked on a spherical chunk with curved elements, PREM (a Moho on an
element boundary, depth-dependent and transversely isotropic material) and the
Stacey damping on its five absorbing sides; A and B lie strictly inside elements.

Measured figures are stated next to each tolerance; run ``pytest -s`` to see them.

Threads: the module runs the Numba kernels on one thread (restored afterwards). On the
shared 2-core test machine, while other processes run, the 2-thread (OpenMP) kernels
become 10-100x slower per call (1-20 ms instead of 0.15 ms a step on the box): the file
took 105-180 s on two threads against ~20 s on one. The figures differ from a 2-thread
run by roundoff only (the element schedule is cut for the thread count at build time,
which changes the summation order).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine
from engine.operator import WaveOperator
from engine.physics import get as get_physics
from engine.sources import SourceTerms
from tests.engine.energy import EnergyMonitor

G = engine.Geographic


pytestmark = pytest.mark.usefixtures("one_numba_thread")  # see the module docstring


STEPS_AFTER = 5000  # steps run after the source has stopped


def _source_end(stf, f0: float) -> float:
    """A time after which the Ricker ``stf`` (peak 1) is below 1e-20: |t - delay| > 2.5 / f0
    gives (1 - 2 a) exp(-a), a = (2.5 pi)^2, i.e. 2e-25 (and less later)."""
    return stf.delay + 2.5 / f0


def energy_drift(mesh, model, physics: str, source: engine.Source, f0: float, precision: str = "float64",
                 steps: int = STEPS_AFTER, operator: WaveOperator | None = None) -> tuple[np.ndarray, float, object]:
    """(E_n, relative drift max |E_n - E_start| / E_start, the Simulation) over ``steps``
    steps after the source has stopped, at dt = 0.85 x the CFL bound."""
    phys = get_physics(physics, 3)
    op64 = operator or WaveOperator(mesh, model, phys, np.float64)
    op = op64 if precision == "float64" else WaveOperator(mesh, model, phys, np.float32)
    dt = 0.85 * op.stable_dt()
    start = int(np.ceil(_source_end(source.stf, f0) / dt))
    tail = source.stf(np.arange(start, start + steps + 1) * dt)
    assert np.max(np.abs(tail)) < 1e-20  # the source has really stopped
    monitor = EnergyMonitor(op64, start)
    sim = engine.simulate(mesh, model, [source], engine.Receivers([mesh.global_coordinates[0]]), (start + steps) * dt,
                          physics=physics, dt=dt, precision=precision, tasks=[monitor], operator=op)
    energy = np.array(monitor.energy)
    assert monitor.steps == list(range(start, start + steps + 1))
    assert np.all(np.isfinite(energy)) and energy[0] > 0
    return energy, float(np.max(np.abs(energy - energy[0])) / energy[0]), sim


# --- the box ------------------------------------------------------------------------------
BOX_F0 = 2.0  # Hz: f_max = 5 Hz, a minimum S wavelength of ~0.7 element (the default resolution)
BOX_STF = engine.stf.ricker(BOX_F0, delay=1.5 / BOX_F0)  # 1e-8 of its peak at t = 0
BOX_SOURCE = (812.3, 1133.7, -1241.9)  # inside an element of the 4 x 4 x 4 mesh (500 m elements)
BOX_TENSOR = [[1.0, 0.3, -0.2], [0.3, -0.5, 0.4], [-0.2, 0.4, 0.8]]  # N m


def _bump(x, y, z):
    """A smooth anomaly, peak 1 at (1100, 900, -800) m, width 600 m."""
    return np.exp(-((x - 1100.0) ** 2 + (y - 900.0) ** 2 + (z + 800.0) ** 2) / 600.0**2)


@functools.lru_cache(maxsize=None)
def _box():
    """[0, 2000]^2 x [-2000, 0] m, 4 x 4 x 4 order-4 elements, every side free; +-10 %
    anomalies and depth gradients in vp, vs and rho."""
    mesh = engine.mesh.box(x=(0.0, 2000.0), y=(0.0, 2000.0), z=(-2000.0, 0.0), elements=(4, 4, 4), order=4,
                           absorbing=())
    elastic = engine.Model.isotropic(mesh, vp=lambda x, y, z: 3000.0 * (1.0 + 0.1 * _bump(x, y, z)) - 0.2 * z,
                                     vs=lambda x, y, z: 1800.0 * (1.0 - 0.1 * _bump(x, y, z)) - 0.1 * z,
                                     rho=lambda x, y, z: 2200.0 * (1.0 + 0.05 * _bump(x, y, z)))
    acoustic = engine.Model.isotropic(mesh, vp=elastic["vp"], rho=elastic["rho"])
    return mesh, elastic, acoustic


@functools.lru_cache(maxsize=None)
def box_energy(physics: str, precision: str):
    mesh, elastic, acoustic = _box()
    if physics == "acoustic":
        return energy_drift(mesh, acoustic, "acoustic", engine.Source.pressure(BOX_SOURCE, BOX_STF), BOX_F0, precision)
    return energy_drift(mesh, elastic, "elastic", engine.Source.moment_tensor(BOX_SOURCE, BOX_TENSOR, BOX_STF),
                        BOX_F0, precision)


def test_box_elastic_energy_conserved_float64():
    energy, drift, _ = box_energy("elastic", "float64")
    print(f"\nbox elastic float64: relative energy drift over {len(energy) - 1} steps: {drift:.2e}")
    assert len(energy) == STEPS_AFTER + 1
    # Measured 3.1e-16. 1e-11 leaves room for a random walk of 5000 steps of float64
    # roundoff (1e-16 each, any summation order), yet is far below what a scheme that
    # does not conserve gives: a non-symmetric part of 1e-6 (relative) added to K drifts
    # by 2.7e-6 in 1000 steps; the damped chunk below loses 99.9 %.
    assert drift <= 1e-11


def test_box_elastic_energy_conserved_float32():
    energy, drift, _ = box_energy("elastic", "float32")
    print(f"\nbox elastic float32: relative energy drift over {len(energy) - 1} steps: {drift:.2e}")
    # A float32 state is rounded every step (6e-8 relative, partly systematic): measured
    # 3.5e-8 to 7.9e-8 (the figure moves with the thread count's summation order). A random walk of
    # 5000 such roundoffs is sqrt(5000) x 6e-8 = 4e-6: hence 1e-5.
    assert drift <= 1e-5


def test_box_acoustic_energy_conserved_with_p_zero_on_every_side():
    """absorbing=() makes every side a free surface, which for the acoustic (pressure)
    physics is p = 0 held at the boundary points: they are all held (and only they),
    they stay exactly zero, and the energy is still conserved."""
    mesh, _, acoustic = _box()
    energy, drift, sim = box_energy("acoustic", "float64")
    print(f"\nbox acoustic float64 (p = 0 on every side): relative energy drift over {len(energy) - 1} steps: "
          f"{drift:.2e}")
    on_boundary = np.zeros(mesh.n_global, dtype=bool)
    for side in ("x0", "x1", "y0", "y1", "z0", "z1"):
        on_boundary[mesh.faces(side).global_nodes.ravel()] = True
    assert np.array_equal(sim.operator.dirichlet, on_boundary)
    assert np.all(sim.final_state.u[on_boundary] == 0.0) and np.all(sim.final_state.v[on_boundary] == 0.0)
    assert np.abs(sim.final_state.u).max() > 0.0
    assert drift <= 1e-11  # measured 2.9e-16 to 5.8e-16; the tolerance as for the elastic box


# --- the spherical chunk -------------------------------------------------------------------
PREM = engine.earth.prem(anisotropic=True, crust="one_layer")  # TI from the Moho to 220 km depth
CHUNK_PERIOD = 60.0  # s: 3 x 3 degrees and 150 km deep give 4 x 4 x 3 elements
CHUNK_F0 = 1.0 / (2.5 * CHUNK_PERIOD)  # the Ricker whose f_max is the mesh's resolved frequency
CHUNK_STF = engine.stf.ricker(CHUNK_F0, delay=1.5 / CHUNK_F0)  # delay 225 s
ABSORBING = ("r0", "t0", "t1", "p0", "p1")
A = G(45.37, 14.41, 12e3)  # in the (one-layer) crust
B = G(44.71, 15.58, 112e3)  # below the Moho and the TI lid, ~1.1 degrees and 100 km deeper
MT_A = np.array([[1.0, 0.3, -0.5], [0.3, -0.4, 0.2], [-0.5, 0.2, 0.7]]) * 1e17  # N m, mesh frame


@functools.lru_cache(maxsize=None)
def _chunk(absorbing: tuple) -> WaveOperator:
    """The chunk (45 N, 15 E, 3 x 3 degrees, 150 km deep, order 4), PREM from_earth, float64 operator."""
    mesh = engine.mesh.spherical_chunk(45.0, 15.0, 3.0, 3.0, 150e3, PREM, CHUNK_PERIOD, order=4, absorbing=absorbing)
    # Radial element boundaries at the Moho (24.4 km) and at 80 km: curved, 4 x 4 x 3.
    assert mesh.chunk.lateral_elements == (4, 4) and mesh.n_elements == 48
    model = engine.Model.from_earth(mesh, PREM)
    assert "vph" in model  # transversely isotropic: the TI kernel and TI Stacey impedance
    return WaveOperator(mesh, model, get_physics("elastic", 3), np.float64)


def test_chunk_energy_conserved():
    op = _chunk(())
    src = engine.Source.moment_tensor(A, MT_A, CHUNK_STF)
    energy, drift, _ = energy_drift(op.mesh, op.model, "elastic", src, CHUNK_F0, operator=op)
    print(f"\nchunk (PREM, curved, all sides free) float64: relative energy drift over {len(energy) - 1} steps: "
          f"{drift:.2e}")
    assert drift <= 1e-11  # measured 2.0e-16 to 2.2e-16; the tolerance as for the box


def test_chunk_absorbing_sides_only_remove_energy():
    """The control for the drift measure: with the five Stacey sides on, the same E_n
    must never grow (C is symmetric positive semi-definite: E_{n+1} - E_n =
    -dt/4 (v+ + v-) . C (v+ + v-)) and must fall well below its start."""
    op = _chunk(ABSORBING)
    src = engine.Source.moment_tensor(A, MT_A, CHUNK_STF)
    energy, _, _ = energy_drift(op.mesh, op.model, "elastic", src, CHUNK_F0, steps=1000, operator=op)
    growth = float(np.max(np.diff(energy)) / energy[0])
    print(f"\nchunk with absorbing sides: E_end / E_start = {energy[-1] / energy[0]:.2e} after 1000 steps, "
          f"largest one-step increase {growth:.1e}")
    # Measured: E_end / E_start = 1.3e-3, and E decreases at every step.
    assert growth <= 1e-13  # never beyond roundoff
    assert energy[-1] < 0.1 * energy[0]


# --- reciprocity -------------------------------------------------------------------------------
RECIPROCITY_END = 520.0  # s: the Ricker (delay 225 s, main lobe +-100 s) has passed A and B


class StrainRecorder:
    """Records ``sum_a w_a . u_a`` at every step: with the nodal weights ``w`` of a moment
    tensor M at x_A (``SourceTerms.build``), the discrete ``M : strain(x_A)``."""

    def __init__(self, nodes: np.ndarray, weights: np.ndarray):
        self.nodes, self.weights = nodes, weights
        self.values: dict[int, float] = {}

    def should_run(self, step: int) -> bool:
        return True

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None:
        self.values[step] = float(np.sum(self.weights * u[self.nodes]))


def _run(source, receiver: engine.Geographic, tasks=()):
    """One run on the absorbing chunk, recorded at ``receiver`` in the mesh frame (X, Y, Z)."""
    op = _chunk(ABSORBING)
    sim = engine.simulate(op.mesh, op.model, [source], engine.Receivers([receiver.to_cartesian()]), RECIPROCITY_END,
                          physics="elastic", operator=op, tasks=tasks)
    assert tuple(sim.seismograms.component.values) == ("X", "Y", "Z")  # no Z/N/E rotation
    return sim


@functools.lru_cache(maxsize=None)
def reciprocity_runs() -> dict:
    """Seven runs: forces e_i at A (recorded at B), forces e_j at B (recorded at A, and
    the moment tensor's M : strain at A), and the moment tensor at A (recorded at B)."""
    op = _chunk(ABSORBING)
    for p in (A, B):  # strictly inside an element: no face, edge or corner
        _, xi = op.mesh.locate(p.to_cartesian())
        assert np.max(np.abs(xi)) < 0.8
    mt = engine.Source.moment_tensor(A, MT_A, CHUNK_STF)
    terms = SourceTerms.build([mt], op.mesh, op.physics, np.zeros(1), np.float64)
    unit = np.eye(3)
    from_a = np.array([_run(engine.Source.point_force(A, unit[i], CHUNK_STF), B).seismograms.values[0]
                       for i in range(3)])  # [i, j, t]: u_j(B) from e_i at A
    from_b, strain = [], []
    for j in range(3):
        recorder = StrainRecorder(terms.nodes[0], terms.weights[0])
        sim = _run(engine.Source.point_force(B, unit[j], CHUNK_STF), A, tasks=[recorder])
        from_b.append(sim.seismograms.values[0])
        assert sorted(recorder.values) == list(range(sim.n_steps + 1))
        strain.append([recorder.values[n] for n in range(sim.n_steps + 1)])
    moment = _run(mt, B).seismograms.values[0]  # [j, t]: u_j(B) from M at A
    return dict(from_a=from_a, from_b=np.array(from_b), strain=np.array(strain), moment=moment, dt=sim.dt)


def test_reciprocity_point_forces_chunk():
    r = reciprocity_runs()
    from_a, from_b = r["from_a"], r["from_b"]  # from_b[j, i, t]: u_i(A) from e_j at B
    scale = np.abs(from_a).max()
    worst = np.abs(from_a - from_b.transpose(1, 0, 2)).max() / scale
    print(f"\nchunk reciprocity (forces): max |G_ji(B, A) - G_ij(A, B)| / max |G| = {worst:.2e} "
          f"over {from_a.shape[-1] - 1} steps (dt = {r['dt']:.3g} s); last sample / max: "
          f"{np.abs(from_a[..., -1]).max() / scale:.1e}")
    # Every one of the nine pairs carries a signal (>= 1 % of the largest).
    assert np.abs(from_a).max(axis=-1).min() > 0.01 * scale
    # M, C and K are symmetric and the receivers use the forces' own Lagrange weights,
    # so the discrete Green's tensor is symmetric to roundoff: measured 4.8e-14. The
    # issue asks for 1e-6; 1e-10 is far tighter yet far above float64 roundoff, and far
    # below a wrong pairing (not transposing i, j: 0.27; a one-step shift: 0.014).
    assert worst <= 1e-10


def test_reciprocity_moment_tensor_chunk():
    r = reciprocity_runs()
    moment, strain = r["moment"], r["strain"]  # [j, t]: u_j(B) from M at A; M : strain(A) from e_j at B
    scale = np.abs(moment).max()
    worst = np.abs(moment - strain).max() / scale
    print(f"\nchunk reciprocity (moment tensor): max |u_j(B; M at A) - (M : strain)(A; e_j at B)| / max = {worst:.2e}")
    assert np.abs(moment).max(axis=-1).min() > 0.01 * scale
    assert worst <= 1e-10  # measured 4.0e-14 (a one-step shift: 0.013); as for the forces
