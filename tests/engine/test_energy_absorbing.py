"""Energy conservation without absorbing boundaries, curved (topography) meshes, and the
reflections left by the absorbing boundaries (Stacey, Stacey + sponge).

The scheme is the central difference ``M (v+ - v-) / dt + C (v+ + v-) / 2 + K u^n = f^n``,
``u^{n+1} = u^n + dt v+``. Without damping and after the source has stopped,
``E_n = 1/2 v^{n-1/2} . M v^{n-1/2} + 1/2 u^n . K u^{n-1}`` is conserved exactly (the
two half-step changes cancel), so its drift measures roundoff only.
Run ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine
from engine.operator import WaveOperator
from engine.physics import get as get_physics
from tests.engine.energy import EnergyMonitor

VP, VS, RHO = 3000.0, 1800.0, 2200.0
MODELS = {"acoustic": dict(vp=VP, rho=RHO), "sh": dict(vs=VS, rho=RHO), "elastic": dict(vp=VP, vs=VS, rho=RHO)}


def _source(physics: str, location, stf) -> engine.Source:
    if physics == "acoustic":
        return engine.Source.pressure(location, stf)
    return engine.Source.point_force(location, 1.0 if physics == "sh" else (0.6, 0.8), stf)


STF = engine.stf.ricker(10.0, delay=0.15)
SOURCE_END = 0.45  # s: the Ricker is below 1e-30 of its peak from here on
STEPS_AFTER = 5000


@functools.lru_cache(maxsize=None)
def energy_run(physics: str, precision: str, topography: bool = False, absorbing: tuple = (), steps: int = STEPS_AFTER):
    """Relative energy drift max |E_n - E_start| / E_start over ``steps`` steps after the
    source has stopped, on a coarse mesh (10 x 10 elements of order 4)."""
    top = (lambda x: 120.0 * np.sin(2 * np.pi * x / 1300.0) + 60.0 * np.cos(2 * np.pi * x / 700.0)) if topography else None
    mesh = engine.mesh.rectangle(x=(0.0, 2000.0), z=(-2000.0, 0.0), elements=(10, 10), order=4,
                                 absorbing=absorbing, topography=top)
    model = engine.Model.isotropic(mesh, **MODELS[physics])
    phys = get_physics(physics)
    op64 = WaveOperator(mesh, model, phys, np.float64)
    op = op64 if precision == "float64" else WaveOperator(mesh, model, phys, np.float32)
    dt = 0.85 * op.stable_dt()
    start = int(np.ceil(SOURCE_END / dt))
    assert abs(STF(start * dt)) < 1e-20  # the source has really stopped
    monitor = EnergyMonitor(op64, start)
    engine.simulate(mesh, model, [_source(physics, (830.0, -1170.0), STF)], engine.Receivers([(1000.0, -500.0)]),
                    (start + steps) * dt, physics=physics, dt=dt, precision=precision, tasks=[monitor], operator=op)
    energy = np.array(monitor.energy)
    return energy, float(np.max(np.abs(energy - energy[0])) / energy[0])


@pytest.mark.parametrize("physics", ["acoustic", "sh", "elastic"])
def test_energy_conserved_float64(physics):
    energy, drift = energy_run(physics, "float64")
    print(f"\n{physics} float64: relative energy drift over {len(energy) - 1} steps: {drift:.2e}")
    assert len(energy) == STEPS_AFTER + 1
    # Exact conservation up to roundoff: measured ~5e-16 to 1e-15; 1e-11 leaves room for
    # a random walk of 5000 roundoffs of 1e-16 with any summation order.
    assert drift <= 1e-11


@pytest.mark.parametrize("physics", ["acoustic", "sh", "elastic"])
def test_energy_conserved_float32(physics):
    _, drift = energy_run(physics, "float32")
    print(f"\n{physics} float32: relative energy drift over {STEPS_AFTER} steps: {drift:.2e}")
    # float32 roundoff (6e-8 a step, partly systematic): measured 1e-7 to 3e-7.
    assert drift <= 1e-5


def test_topography_mesh_conserves_energy():
    """Curved elements (the GLL points follow a two-harmonic surface): the operator
    stays symmetric and the scheme conservative, so the energy is constant too."""
    energy, drift = energy_run("elastic", "float64", topography=True, steps=2000)
    print(f"\nelastic float64 with topography, no absorbing side: drift over 2000 steps {drift:.2e}")
    assert drift <= 1e-11


def test_topography_mesh_with_absorbing_sides_is_stable():
    """With topography, a free top and absorbing sides at the default dt, the energy
    after the source only decreases (the damping is dissipative) and stays finite."""
    energy, _ = energy_run("elastic", "float64", topography=True, absorbing=("left", "right", "bottom"), steps=3000)
    ratio = energy[-1] / energy[0]
    growth = np.max(np.diff(energy)) / energy[0]
    print(f"\nelastic with topography and absorbing sides: E_end / E_start = {ratio:.2e} after 3000 steps, "
          f"largest one-step increase {growth:.1e}")
    assert np.all(np.isfinite(energy))
    assert growth <= 1e-12  # never grows beyond roundoff (C is positive semi-definite)
    assert ratio < 0.1  # most of the energy has left the domain


# --- absorbing boundaries ---------------------------------------------------------------------
H = 72.0  # m: element size, one minimum S wavelength at 25 Hz (the Ricker's f_max)
N_SMALL = 20  # elements across the test domain [-720, 720]^2, all four sides absorbing
EXTRA = 12  # elements added on each side for the reflection-free reference
ABSORB_STF = engine.stf.ricker(10.0)
ABSORB_SOURCE = (-7.0, 11.0)
# Receivers between the source and the sides (normal and oblique incidence), outside the sponge.
ABSORB_RECEIVERS = [(280.0, 0.0), (0.0, -280.0), (-200.0, 200.0), (280.0, -280.0)]
ABSORB_END = 0.95  # s: the reflections of the test domain's sides have passed the receivers
SPONGE = 360.0  # m: 1.2 P and 2 S wavelengths at 10 Hz


def _reference_reflection_time(half: float) -> float:
    """Earliest arrival (s) at the receivers of a P wave reflected by a side of [-half, half]^2."""
    sx, sz = ABSORB_SOURCE
    rec = np.asarray(ABSORB_RECEIVERS)
    images = [(-2 * half - sx, sz), (2 * half - sx, sz), (sx, -2 * half - sz), (sx, 2 * half - sz)]
    return min(float(np.min(np.hypot(rec[:, 0] - ix, rec[:, 1] - iz))) for ix, iz in images) / VP


def _absorb_run(physics, n, dt=None, sponge_width=None):
    half = n * H / 2
    mesh = engine.mesh.rectangle(x=(-half, half), z=(-half, half), elements=(n, n), order=4,
                                 absorbing=("left", "right", "bottom", "top"))
    model = engine.Model.isotropic(mesh, **MODELS[physics])
    return engine.simulate(mesh, model, [_source(physics, ABSORB_SOURCE, ABSORB_STF)],
                           engine.Receivers(ABSORB_RECEIVERS), ABSORB_END, physics=physics, dt=dt,
                           sponge_width=sponge_width)


@functools.lru_cache(maxsize=None)
def reflected_fractions(physics: str) -> dict:
    """Energy reflected back to the receivers / incident energy there, per boundary kind.

    The reference runs on a domain 12 elements larger on each side, with the same nodes
    inside the test domain and the same dt, so the difference of the seismograms is the
    reflected wave exactly (plus nothing else)."""
    # The ref's own reflections arrive after the window (0.02 s: the Ricker's onset).
    assert _reference_reflection_time((N_SMALL + 2 * EXTRA) * H / 2) + 0.02 > ABSORB_END
    # ... while the test domain's own reflections arrive well inside it.
    assert _reference_reflection_time(N_SMALL * H / 2) < 0.5 * ABSORB_END
    ref = _absorb_run(physics, N_SMALL + 2 * EXTRA)
    incident = np.sum(ref.seismograms.values**2)
    out = {}
    for label, width in (("stacey", None), ("stacey+sponge", SPONGE)):
        sim = _absorb_run(physics, N_SMALL, dt=ref.dt, sponge_width=width)
        out[label] = float(np.sum((sim.seismograms.values - ref.seismograms.values) ** 2) / incident)
    print(f"\n{physics}: reflected / incident energy at the receivers: Stacey {out['stacey']:.2e}, "
          f"Stacey + {SPONGE:g} m sponge {out['stacey+sponge']:.2e}")
    return out


# Limits just above the measured fractions (in energy; amplitude ratio = square root):
# Stacey 7.9e-4 elastic, 1.4e-4 SH, 1.1e-3 acoustic; with the 360 m sponge (1.2 P and 2 S
# wavelengths) 1.5e-3, 1.2e-3, 5.1e-3: a layer this thin does not improve on Stacey (its
# own impedance change reflects); it is meant for layers of several wavelengths.
STACEY_LIMITS = {"elastic": 1.2e-3, "sh": 2.5e-4, "acoustic": 1.6e-3}
SPONGE_LIMITS = {"elastic": 2.0e-3, "sh": 1.6e-3, "acoustic": 6.5e-3}


@pytest.mark.parametrize("physics", ["elastic", "sh", "acoustic"])
def test_stacey_reflection(physics):
    assert reflected_fractions(physics)["stacey"] <= STACEY_LIMITS[physics]


@pytest.mark.parametrize("physics", ["elastic", "sh", "acoustic"])
def test_sponge_reflection(physics):
    assert reflected_fractions(physics)["stacey+sponge"] <= SPONGE_LIMITS[physics]
