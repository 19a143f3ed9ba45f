"""Verification of the 2D spectral-element engine against independent references.

* homogeneous full-space analytical solutions (``tests/engine/analytical.py``) for the
  acoustic, SH and elastic (point force and moment tensor) physics, at the default
  resolution and at a verification resolution;
* the convergence rate of the error as the elements shrink (order 4, fixed small dt);
* reciprocity (swap source and receiver) in a heterogeneous model with absorbing sides;
* VTI models that reduce to the isotropic ones, and an anisotropic SH solution;
* the CFL refusal and sharpness, float32 vs float64, velocity / acceleration outputs.

Energy conservation, topography and absorbing boundaries: ``test_energy_absorbing.py``.

"Default resolution" here means what a user gets without tuning: order 4, elements
one minimum wavelength wide, ``h = v_min / f_max`` with ``f_max = stf.max_frequency``
(2.5 f0 for a Ricker), and the engine's default time step (half the CFL bound).
Run ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

import engine
from engine.operator import WaveOperator
from engine.physics import get as get_physics
from engine.receivers import ReceiverTerms
from engine.solver import run_time_loop
from engine.sources import SourceTerms
from tests.engine import analytical as an

# --- the full-space problem --------------------------------------------------------------
F0 = 10.0  # Hz, Ricker centre frequency
VP, VS, RHO = 3000.0, 1800.0, 2200.0
STF = engine.stf.ricker(F0)  # delay 1.2 / f0 = 0.12 s; starts from ~1e-5 of its peak
HALF = 1100.0  # m, half width of the square domain [-HALF, HALF]^2, all sides absorbing
# Off every element edge of the meshes used below (a source on an edge is a different
# test: see test_moment_tensor_on_element_corner).
SOURCE = (13.0, -7.0)
_DIST = (250.0, 350.0, 450.0, 500.0, 300.0, 400.0)  # m: 1.4 to 2.8 S wavelengths at f0
_AZ = np.deg2rad((15.0, 75.0, 130.0, 200.0, 250.0, 310.0))
RECEIVERS = [(SOURCE[0] + r * np.cos(a), SOURCE[1] + r * np.sin(a)) for r, a in zip(_DIST, _AZ)]
END_TIME = 0.57  # s: the S pulse has passed the farthest receiver (500 / 1800 + 0.24)
MT = ((1.0, 0.4), (0.4, -0.6))  # N m / m, a generic (non-isotropic) moment tensor
FORCE = (0.3, 1.0)  # N / m
DEFAULT_FACTOR = 1.0 / 1.5  # element size / minimum wavelength at the default resolution
FINE_FACTOR = 0.8  # the verification resolution: 1.25 elements per minimum wavelength
FINE_DT_DIVISOR = 4  # and a quarter of the default dt


def _earliest_reflection(receivers, source, half, speed) -> float:
    """Earliest arrival (s) of a wave reflected once by a side of [-half, half]^2 (image sources)."""
    sx, sz = source
    images = [(-2 * half - sx, sz), (2 * half - sx, sz), (sx, -2 * half - sz), (sx, 2 * half - sz)]
    rec = np.asarray(receivers)
    return min(float(np.min(np.hypot(rec[:, 0] - ix, rec[:, 1] - iz))) for ix, iz in images) / speed


# Boundary reflections must not reach any receiver in the window, so that the Stacey
# boundaries' few-percent reflections do not pollute the comparison with a full space.
# The Ricker is below 1e-3 of its peak until 0.02 s, hence the margin.
assert _earliest_reflection(RECEIVERS, SOURCE, HALF, VP) + 0.02 > END_TIME


@dataclass(frozen=True)
class Case:
    """One physics / source combination with its analytical solution."""

    physics: str
    model: dict
    source: Callable[[object], engine.Source]
    exact: Callable[[list, np.ndarray], np.ndarray]  # (receivers, t) -> (n_rec, n_comp, n_t)
    v_min: float


CASES = {
    "acoustic": Case(
        "acoustic", dict(vp=VP, rho=RHO), lambda stf: engine.Source.pressure(SOURCE, stf),
        lambda rec, t: an.acoustic_pressure(rec, SOURCE, VP, RHO, STF, t)[:, None], VP,
    ),
    "sh": Case(
        "sh", dict(vs=VS, rho=RHO), lambda stf: engine.Source.point_force(SOURCE, 1.0, stf),
        lambda rec, t: an.sh_displacement(rec, SOURCE, VS, RHO, STF, t)[:, None], VS,
    ),
    "elastic_force": Case(
        "elastic", dict(vp=VP, vs=VS, rho=RHO), lambda stf: engine.Source.point_force(SOURCE, FORCE, stf),
        lambda rec, t: an.elastic_displacement(rec, SOURCE, VP, VS, RHO, STF, t, force=FORCE), VS,
    ),
    "elastic_moment": Case(
        "elastic", dict(vp=VP, vs=VS, rho=RHO), lambda stf: engine.Source.moment_tensor(SOURCE, MT, stf),
        lambda rec, t: an.elastic_moment_tensor_displacement(rec, SOURCE, VP, VS, RHO, STF, t, tensor=MT), VS,
    ),
}


def _square_mesh(factor: float, v_min: float, half: float = HALF, absorbing=("left", "right", "bottom", "top")):
    """Order-4 mesh of [-half, half]^2 with elements ``factor`` minimum wavelengths wide."""
    h_target = factor * v_min / STF.max_frequency
    n = int(round(2 * half / h_target))
    return engine.mesh.rectangle(x=(-half, half), z=(-half, half), elements=(n, n), order=4, absorbing=absorbing)


@functools.lru_cache(maxsize=None)
def _analytical(name: str, times: tuple) -> np.ndarray:
    return CASES[name].exact(RECEIVERS, np.asarray(times))


@functools.lru_cache(maxsize=None)
def run_case(name: str, factor: float, dt: float | None = None, dt_divisor: int = 1) -> dict:
    """Simulate one case and compare with the analytical solution (cached per process).

    ``dt=None`` takes the engine's default time step divided by ``dt_divisor``.
    Returns the relative L2 error over all receivers, components and samples, the
    worst single receiver, the element size and the time step.
    """
    case = CASES[name]
    mesh = _square_mesh(factor, case.v_min)
    model = engine.Model.isotropic(mesh, **case.model)
    operator = WaveOperator(mesh, model, get_physics(case.physics), np.float64)
    if dt is None and dt_divisor != 1:
        dt = 0.5 * operator.stable_dt() / dt_divisor
    sim = engine.simulate(mesh, model, [case.source(STF)], engine.Receivers(RECEIVERS), END_TIME,
                          physics=case.physics, dt=dt, operator=operator)
    exact = _analytical(name, tuple(sim.times))
    diff = sim.seismograms.values - exact
    per_receiver = np.linalg.norm(diff, axis=(1, 2)) / np.linalg.norm(exact, axis=(1, 2))
    return {
        "error": float(np.linalg.norm(diff) / np.linalg.norm(exact)),
        "worst_receiver": float(per_receiver.max()),
        "h": float(2 * HALF / int(round(np.sqrt(mesh.n_elements)))),
        "dt": sim.dt,
        "steps": sim.n_steps,
    }


def _report(label: str, r: dict) -> None:
    print(f"\n{label}: relative L2 error {r['error']:.3e} (worst receiver {r['worst_receiver']:.3e}), "
          f"h = {r['h']:.1f} m, dt = {r['dt']:.3e} s, {r['steps']} steps")


# --- 1. analytical solutions ----------------------------------------------------------------
# The default resolution is the application's default: order 4, 1.5 elements per minimum
# wavelength (lambda_min = v_min / (2.5 f0) for a Ricker), and the engine's default dt
# (half the CFL bound). Measured (float64): acoustic 4.8e-3, SH 6.9e-3, elastic force
# 3.1e-3, elastic moment tensor 6.5e-3. (At 0.85 of the CFL bound the second-order time
# error dominates: 1.3-2.0 %.)
@pytest.mark.parametrize("name", list(CASES))
def test_matches_analytical_at_default_resolution(name):
    r = run_case(name, DEFAULT_FACTOR)
    _report(f"{name} at the default resolution", r)
    assert r["error"] <= 0.01  # the target


@pytest.mark.parametrize("name", list(CASES))
def test_matches_analytical_at_verification_resolution(name):
    """1.25 elements per minimum wavelength and a quarter of the default dt: <= 1 %.

    Measured: acoustic 2.6e-3, SH 3.0e-3, elastic force 1.9e-3, moment tensor 6.6e-3
    (the 1 % limit is the issue's target)."""
    r = run_case(name, FINE_FACTOR, dt_divisor=FINE_DT_DIVISOR)
    _report(f"{name} at h = {FINE_FACTOR} lambda_min, dt = default / {FINE_DT_DIVISOR}", r)
    assert r["error"] <= 0.01


# --- 2. convergence in h ---------------------------------------------------------------
CONVERGENCE_FACTORS = (1.5, 1.25, 1.0)  # element size / minimum wavelength
# Fixed dt, 1/5 to 1/7 of the meshes' default: the time error (second order; measured
# ~1e-3 for SH at this dt) stays well below the finest spatial error (~1e-2).
CONVERGENCE_DT = 5e-4


@pytest.mark.parametrize("name", list(CASES))
def test_convergence_rate_in_element_size(name):
    results = [run_case(name, f, dt=CONVERGENCE_DT) for f in CONVERGENCE_FACTORS]
    h = np.array([r["h"] for r in results])
    err = np.array([r["error"] for r in results])
    rate = np.polyfit(np.log(h), np.log(err), 1)[0]
    print(f"\n{name} convergence (order 4, dt = {CONVERGENCE_DT:g} s): "
          + ", ".join(f"h={a:.1f} m: {e:.2e}" for a, e in zip(h, err)) + f"; fitted rate {rate:.2f}")
    # Measured rates: acoustic 5.7, SH 6.8, elastic force 6.8, moment tensor 4.5 (its
    # gradient-of-delta source converges slowest). 4 is the floor; a low-order
    # defect (a wrong weight, a lumped source, a time shift) gives 2 or less.
    assert rate >= 4.0
    assert np.all(np.diff(err) < 0)


def test_moment_tensor_on_element_corner():
    """A moment tensor exactly on an element corner must be as accurate as one inside.

    ``Mesh.interpolation`` picks one of the elements that share the point, and the
    source uses that element's one-sided basis gradients (discontinuous across the
    edge), so a tensor on an edge or corner injects a biased force pattern.
    """
    inside = run_case("elastic_moment", FINE_FACTOR, dt_divisor=FINE_DT_DIVISOR)
    corner = (0.0, 0.0)
    mesh = _square_mesh(FINE_FACTOR, VS)  # 38 x 38 elements: (0, 0) is a corner
    assert int(round(np.sqrt(mesh.n_elements))) % 2 == 0
    model = engine.Model.isotropic(mesh, vp=VP, vs=VS, rho=RHO)
    recs = [(x - SOURCE[0], z - SOURCE[1]) for x, z in RECEIVERS]  # same offsets as the inside case
    sim = engine.simulate(mesh, model, [engine.Source.moment_tensor(corner, MT, STF)], engine.Receivers(recs),
                          END_TIME, physics="elastic", dt=inside["dt"])
    exact = an.elastic_moment_tensor_displacement(recs, corner, VP, VS, RHO, STF, sim.times, tensor=MT)
    err = np.linalg.norm(sim.seismograms.values - exact) / np.linalg.norm(exact)
    print(f"\nmoment tensor inside an element: {inside['error']:.2e}; on an element corner: {err:.2e}")
    # Same mesh and dt: the corner source should be within a factor 1.5 of the interior one.
    assert err <= 1.5 * inside["error"]


# --- 5. reciprocity ----------------------------------------------------------------------
A, B = (-250.0, 130.0), (310.0, -220.0)


def _anomaly(x, z):
    """A smooth Gaussian anomaly (dimensionless, peak 1 at (100, -50), width 300 m)."""
    return np.exp(-((x - 100.0) ** 2 + (z + 50.0) ** 2) / 300.0**2)


def _heterogeneous(mesh, physics):
    rho = lambda x, z: RHO * (1.0 + 0.1 * _anomaly(x, z))  # noqa: E731
    vp = lambda x, z: VP * (1.0 + 0.1 * _anomaly(x, z)) + 0.05 * x  # noqa: E731
    vs = lambda x, z: VS * (1.0 - 0.15 * _anomaly(x, z)) - 0.03 * z  # noqa: E731
    params = {"acoustic": dict(vp=vp, rho=rho), "sh": dict(vs=vs, rho=rho), "elastic": dict(vp=vp, vs=vs, rho=rho)}
    return engine.Model.isotropic(mesh, **params[physics])


@functools.lru_cache(maxsize=None)
def _reciprocity_operator(physics):
    """One operator (M, C, K) serves all runs of a physics: the runs differ only in the source."""
    mesh = engine.mesh.rectangle(x=(-720.0, 720.0), z=(-720.0, 720.0), elements=(20, 20), order=4,
                                 absorbing=("left", "right", "bottom", "top"))
    # A sponge on the elastic runs: the mass-proportional damping is symmetric too.
    return WaveOperator(mesh, _heterogeneous(mesh, physics), get_physics(physics), np.float64,
                        sponge_width=200.0 if physics == "elastic" else None)


def _reciprocity_run(physics, at, force):
    op = _reciprocity_operator(physics)
    other = B if at == A else A
    src = engine.Source.pressure(at, STF) if physics == "acoustic" else engine.Source.point_force(at, force, STF)
    sim = engine.simulate(op.mesh, op.model, [src], engine.Receivers([other]), 0.5, physics=physics, dt=1.5e-3,
                          operator=op)
    return sim.seismograms.values[0]  # (n_comp, n_t)


@pytest.mark.parametrize("physics", ["acoustic", "sh", "elastic"])
def test_reciprocity_heterogeneous_absorbing(physics):
    n_comp = get_physics(physics).n_components
    unit = np.eye(n_comp)
    from_a = [_reciprocity_run(physics, A, unit[i]) for i in range(n_comp)]  # [i] -> (j, t) at B
    from_b = [_reciprocity_run(physics, B, unit[j]) for j in range(n_comp)]  # [j] -> (i, t) at A
    scale = max(np.abs(s).max() for s in from_a)
    worst = 0.0
    for i in range(n_comp):
        for j in range(n_comp):
            diff = np.abs(from_a[i][j] - from_b[j][i]).max() / scale
            worst = max(worst, diff)
    print(f"\n{physics} reciprocity: max |G_ji(B, A) - G_ij(A, B)| / max |G| = {worst:.2e}")
    # M, C and K are symmetric and receivers use the force's own Lagrange weights, so
    # the discrete Green's function is symmetric to roundoff (measured ~1e-14); 1e-10
    # is far tighter than the 1e-6 yet far above float64 roundoff.
    assert worst <= 1e-10


# --- 6. VTI ------------------------------------------------------------------------------
@pytest.mark.parametrize("physics", ["elastic", "sh"])
def test_vti_reduces_to_isotropic(physics):
    mesh = engine.mesh.rectangle(x=(-720.0, 720.0), z=(-720.0, 720.0), elements=(16, 16), order=4,
                                 absorbing=("left", "right", "bottom"))
    if physics == "elastic":
        iso = engine.Model.isotropic(mesh, vp=VP, vs=VS, rho=RHO)
        vti = engine.Model.vti(mesh, vpv=VP, vph=VP, vsv=VS, vsh=VS, eta=1.0, rho=RHO)
        src = engine.Source.moment_tensor(SOURCE, MT, STF)
    else:
        iso = engine.Model.isotropic(mesh, vs=VS, rho=RHO)
        vti = engine.Model.vti(mesh, vsv=VS, vsh=VS, eta=1.0, rho=RHO)
        src = engine.Source.point_force(SOURCE, 1.0, STF)
    rec = engine.Receivers(RECEIVERS[:3])
    a = engine.simulate(mesh, iso, [src], rec, 0.4, physics=physics, dt=1.5e-3).seismograms.values
    b = engine.simulate(mesh, vti, [src], rec, 0.4, physics=physics, dt=1.5e-3).seismograms.values
    rel = np.abs(a - b).max() / np.abs(a).max()
    print(f"\n{physics}: VTI with isotropic parameters vs isotropic: {rel:.2e}")
    # The same Love coefficients (F = eta (A - 2L) = lambda) up to one rounding each.
    assert rel <= 1e-12


def test_sh_anisotropic_matches_analytical():
    vsh, vsv = 2000.0, 1500.0  # N / L = 1.78: strongly elliptical wavefronts
    half = 850.0  # enough: no P wave here, and SH reflections need 0.8 s to come back
    assert _earliest_reflection(RECEIVERS, SOURCE, half, vsh) > END_TIME
    mesh = _square_mesh(FINE_FACTOR, vsv, half=half)
    model = engine.Model.vti(mesh, vsh=vsh, vsv=vsv, rho=RHO)
    operator = WaveOperator(mesh, model, get_physics("sh"), np.float64)
    dt = 0.5 * operator.stable_dt() / FINE_DT_DIVISOR
    sim = engine.simulate(mesh, model, [engine.Source.point_force(SOURCE, 1.0, STF)], engine.Receivers(RECEIVERS),
                          END_TIME, physics="sh", dt=dt, operator=operator)
    exact = an.sh_anisotropic_displacement(RECEIVERS, SOURCE, vsh, vsv, RHO, STF, sim.times)[:, None]
    err = np.linalg.norm(sim.seismograms.values - exact) / np.linalg.norm(exact)
    print(f"\nanisotropic SH (vsh={vsh:g}, vsv={vsv:g}) at h = {FINE_FACTOR} lambda_min, dt = default / "
          f"{FINE_DT_DIVISOR}: relative L2 error {err:.2e}")
    assert err <= 0.01  # the same target and resolution as the isotropic cases


# --- 7. the rest -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_elastic():
    """A small elastic problem: mesh, model, source, receivers (shared by the tests below)."""
    mesh = engine.mesh.rectangle(x=(-720.0, 720.0), z=(-720.0, 0.0), elements=(16, 8), order=4)
    model = engine.Model.isotropic(mesh, vp=lambda x, z: VP - 0.3 * z, vs=VS, rho=RHO)
    src = engine.Source.moment_tensor((30.0, -350.0), MT, STF)
    rec = engine.Receivers([(300.0, 0.0), (-200.0, -500.0)], names=["XX.A", "XX.B"])
    return mesh, model, src, rec, WaveOperator(mesh, model, get_physics("elastic"), np.float64)


def test_cfl_refusal_names_the_bound(small_elastic):
    mesh, model, src, rec, operator = small_elastic
    bound = operator.stable_dt()
    with pytest.raises(ValueError, match=f"CFL bound is {bound:.6g} s") as info:
        engine.simulate(mesh, model, [src], rec, 0.2, physics="elastic", dt=1.01 * bound, operator=operator)
    print(f"\nCFL bound {bound:.6g} s; message: {info.value}")


def test_cfl_bound_is_sharp(small_elastic):
    """The bound is a real stability limit: just below it the run stays bounded, 10 %
    above the undamped limit 2 / sqrt(lambda_max) it blows up."""
    mesh, model, src, rec, operator = small_elastic
    physics = get_physics("elastic")
    bound = operator.stable_dt()
    peaks = {}
    for factor in (0.99, 1.1 * np.sqrt(1.02)):  # the second is 1.1 x 2 / sqrt(lambda_est)
        dt = factor * bound
        n_steps = 600
        times = np.arange(n_steps + 1) * dt
        src_terms = SourceTerms.build([src], mesh, physics, times, np.float64)
        rec_terms = ReceiverTerms.build(rec, mesh, np.float64)
        _, record = run_time_loop(operator, src_terms, rec_terms, dt, n_steps)
        peaks[factor] = float(np.abs(record).max())
    stable, unstable = peaks.values()
    print(f"\nCFL bound {bound:.4g} s: peak |u| at 0.99 x bound {stable:.2e}, beyond the limit {unstable:.2e}")
    assert np.isfinite(stable) and stable < 1e-6  # a moment tensor of 1 N m / m moves nm
    assert not np.isfinite(unstable) or unstable > 1e6 * stable


def test_float32_agrees_with_float64(small_elastic):
    mesh, model, src, rec, operator = small_elastic
    runs = {
        "float64": engine.simulate(mesh, model, [src], rec, 0.5, physics="elastic", dt=1e-3, operator=operator),
        "float32": engine.simulate(mesh, model, [src], rec, 0.5, physics="elastic", dt=1e-3, precision="float32"),
    }
    a, b = (runs[p].seismograms.values for p in ("float64", "float32"))
    rel = np.linalg.norm(a - b) / np.linalg.norm(a)
    print(f"\nfloat32 vs float64: relative L2 difference {rel:.2e}")
    assert runs["float32"].info["precision"] == "float32"
    # float32 roundoff (6e-8) amplified by ~500 steps of accumulation: measured ~1e-6.
    assert rel <= 1e-5


class _DifferencedStf:
    """The central first or second difference of an STF on the time grid: the source for
    which the (linear, time-invariant) scheme's displacement equals the 'velocity' or
    'acceleration' output of a run driven by the original STF."""

    def __init__(self, stf, dt, kind):
        self.stf, self.dt, self.kind = stf, dt, kind

    def __call__(self, t):
        s, h = self.stf, self.dt
        if self.kind == "velocity":
            return (s(t + h) - s(t - h)) / (2 * h)
        return (s(t + h) - 2 * s(t) + s(t - h)) / h**2


@pytest.mark.parametrize("output", ["velocity", "acceleration"])
def test_velocity_and_acceleration_outputs(small_elastic, output):
    """Two checks: (1) the scheme is linear and time invariant, so differencing the
    source samples must give exactly the differenced output (roundoff); (2) against the
    physical derivative: a run driven by the STF's exact derivative differs by the
    O(dt^2) error of the differences only."""
    mesh, model, src, rec, operator = small_elastic
    dt, end = 1e-3, 0.5
    # Delay 11 sigma: the Gaussian is ~1e-26 at t = 0, so nothing is cut off at the start.
    gauss = engine.stf.gaussian(0.03, delay=0.2)

    def run(stf, out=None):
        s = engine.Source.moment_tensor(src.location, MT, stf)
        return engine.simulate(mesh, model, [s], rec, end, physics="elastic", dt=dt, output=out,
                               operator=operator).seismograms

    derived = run(gauss, output)
    assert derived.attrs["quantity"] == output
    exact_discrete = run(_DifferencedStf(gauss, dt, output)).values
    inner = slice(1, -1)  # the first and last samples use one-sided differences
    scale = np.abs(exact_discrete).max()
    discrete = np.abs(derived.values[..., inner] - exact_discrete[..., inner]).max() / scale
    if output == "velocity":
        physical_stf = engine.stf.gaussian_derivative(0.03, delay=0.2)
    else:
        sigma = gauss.sigma

        def physical_stf(t):  # second derivative of the unit-area Gaussian
            x = (np.asarray(t) - 0.2) / sigma
            return (x**2 - 1.0) / sigma**2 * np.exp(-0.5 * x**2) / (sigma * np.sqrt(2 * np.pi))

    physical = run(physical_stf).values
    phys_err = np.linalg.norm(derived.values[..., inner] - physical[..., inner]) / np.linalg.norm(physical)
    print(f"\n{output}: vs differenced source {discrete:.2e} (roundoff), vs exact-derivative source {phys_err:.2e}")
    assert discrete <= 1e-10  # same arithmetic up to the order of sums
    # Central differences err by (omega dt)^2 / 6 (velocity) or / 12 (acceleration):
    # ~3e-3 at the pulse's ~9 Hz peak frequency with dt = 1 ms.
    assert phys_err <= 1e-2
