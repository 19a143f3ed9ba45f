"""Verification of the exact discrete adjoint (engine.gradient) and the Born operator.

* Taylor tests: J(m + h dm) - J(m) against h * sum(g * dm) for every physics and
  parameterisation, over four decades of h, with checkpointing on. For an exact
  gradient the first-order remainder falls with slope 1, the second-order remainder
  with slope 2, and their ratio approaches 1 (here to <= 1e-6; roundoff in the
  float64 misfit difference floors it near 1e-9).
* Dot-product tests: <born(dm), w> = <dm, gradient(w)> to 1e-10 (both are exact discrete
  operators, derived independently; float64 roundoff is ~1e-15).
"""
import numpy as np
import pytest

import engine
from engine.linearised import born

T_END = 0.3
RECEIVERS = [(200.0, -5.0), (800.0, -100.0), (600.0, -450.0)]


@pytest.fixture(scope="module")
def mesh():
    return engine.mesh.rectangle(x=(0, 1000.0), z=(-600.0, 0.0), elements=(10, 6), absorbing=("left", "right", "bottom"))


def _smooth(amplitude):
    return lambda x, z: 1.0 + amplitude * np.sin(x / 150.0) * np.cos(z / 170.0)


def _model(mesh, kind):
    if kind == "iso":
        return engine.Model.isotropic(
            mesh, vp=lambda x, z: 3000 * _smooth(0.05)(x, z), vs=lambda x, z: 1700 * _smooth(0.04)(x, z),
            rho=lambda x, z: 2200 * _smooth(0.03)(x, z),
        )
    return engine.Model.vti(mesh, vpv=3000.0, vph=3200.0, vsv=1700.0, vsh=1800.0, eta=0.9, rho=2200.0)


def _source(physics):
    stf = engine.stf.ricker(15.0)
    if physics == "acoustic":
        return engine.Source.pressure((430.0, -310.0), stf)
    if physics == "sh":
        return engine.Source.point_force((430.0, -310.0), 1e10, stf)
    return engine.Source.moment_tensor((430.0, -310.0), ((1e10, 3e9), (3e9, -5e9)), stf)


CASES = [
    ("acoustic", "iso", ["vp", "rho"]),
    ("sh", "iso", ["vs", "rho"]),
    ("sh", "vti", ["vsh", "vsv", "rho"]),
    ("elastic", "iso", ["vp", "vs", "rho"]),
    ("elastic", "vti", ["vpv", "vph", "vsv", "eta", "rho"]),
]


@pytest.mark.parametrize("physics, kind, parameters", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_taylor(mesh, physics, kind, parameters):
    model = _model(mesh, kind)
    src, rec = _source(physics), engine.Receivers(RECEIVERS)
    policy = engine.StoragePolicy(mode="checkpoint")
    sim = engine.simulate(mesh, model, [src], rec, end_time=T_END, physics=physics, keep_forward=policy)
    observed = sim.seismograms * 0.7 + 0.1 * sim.seismograms.roll(time=7).values

    def misfit(m):
        s = engine.simulate(mesh, m, [src], rec, end_time=T_END, physics=physics, dt=sim.dt)
        return engine.misfit.l2(observed, s.seismograms, taper_fraction=0.0)[0]

    j0, adj = engine.misfit.l2(observed, sim.seismograms, taper_fraction=0.0)
    grads = engine.gradient(sim, adj)
    rng = np.random.default_rng(3)
    for p in parameters:
        dm = 0.05 * model[p] * rng.standard_normal(model[p].shape)
        predicted = float((grads[p] * dm).sum())
        assert predicted != 0.0, f"zero gradient for {p}"
        hs = 10.0 ** -np.arange(1, 8)
        changes = np.array([misfit(model.replace(**{p: model[p] + h * dm})) - j0 for h in hs])
        r1 = np.abs(changes)
        r2 = np.abs(changes - hs * predicted)
        slope1 = np.polyfit(np.log10(hs), np.log10(r1), 1)[0]
        slope2 = np.polyfit(np.log10(hs[:5]), np.log10(r2[:5]), 1)[0]  # above the roundoff floor
        ratio = changes / (hs * predicted)
        print(f"{physics}-{kind} {p}: slopes {slope1:.3f} {slope2:.3f}, best |ratio-1| {np.min(np.abs(ratio - 1)):.1e}")
        assert abs(slope1 - 1) < 0.05, (p, slope1)
        assert abs(slope2 - 2) < 0.15, (p, slope2)
        assert np.min(np.abs(ratio - 1)) < 1e-6, (p, ratio)


def _dot_case(mesh, physics, output=None, sponge=None, policy=True):
    model = _model(mesh, "iso")
    sim = engine.simulate(mesh, model, [_source(physics)], engine.Receivers(RECEIVERS), end_time=T_END,
                          physics=physics, keep_forward=policy, output=output, sponge_width=sponge)
    rng = np.random.default_rng(1)
    dm = {p: 0.01 * model[p] * rng.standard_normal(model[p].shape) for p in model}
    w = rng.standard_normal(sim.seismograms.shape)
    lhs = float((born(sim, dm).values * w).sum())
    grads = engine.gradient(sim, w / sim.dt)  # adjoint source of J(d) = sum(w * d) is w / dt
    rhs = sum(float((grads[p] * dm[p]).sum()) for p in model)
    return lhs, rhs, grads


@pytest.mark.parametrize(
    "physics, output, sponge",
    [("acoustic", None, None), ("sh", None, None), ("sh", "velocity", 150.0), ("elastic", None, None),
     ("elastic", "velocity", None), ("elastic", "acceleration", 150.0)],
)
def test_dot_product_born_vs_adjoint(mesh, physics, output, sponge):
    lhs, rhs, _ = _dot_case(mesh, physics, output, sponge)
    print(f"dot {physics} {output} sponge={sponge}: {abs(lhs - rhs) / abs(lhs):.1e}")
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_dot_product_with_checkpointed_storage(mesh):
    """born() walks forward and the adjoint backward through recomputed segments; both
    hold fields of two neighbouring segments at a segment boundary."""
    lhs, rhs, _ = _dot_case(mesh, "elastic", policy=engine.StoragePolicy(mode="checkpoint", checkpoint_interval=7))
    assert abs(lhs - rhs) <= 1e-10 * abs(lhs)


def test_checkpointing_gives_the_full_storage_gradient_with_bounded_memory(mesh):
    model = _model(mesh, "iso")
    runs = {
        mode: engine.simulate(mesh, model, [_source("elastic")], engine.Receivers(RECEIVERS), end_time=T_END,
                              physics="elastic", keep_forward=engine.StoragePolicy(mode=mode))
        for mode in ("full", "checkpoint")
    }
    sim = runs["checkpoint"]
    store = sim.forward
    field_bytes = mesh.n_global * 2 * 8
    n_checkpoints = sim.n_steps // store.checkpoint_interval + 1
    # Bound: two fields per checkpoint plus two recomputed-segment buffers (interval + 3 fields each).
    assert store.nbytes <= 2 * n_checkpoints * field_bytes
    w = np.random.default_rng(1).standard_normal(sim.seismograms.shape)
    grads = engine.gradient(sim, w / sim.dt)
    full = engine.gradient(runs["full"], w / sim.dt)
    assert store.nbytes <= (2 * n_checkpoints + 2 * (store.checkpoint_interval + 3)) * field_bytes
    assert store.nbytes < 0.5 * (sim.n_steps + 1) * field_bytes
    for p in model:
        np.testing.assert_allclose(grads[p], full[p], rtol=1e-12, atol=1e-12 * np.abs(full[p]).max())


def test_decimated_storage_error_is_measured_and_small(mesh):
    """Decimated storage samples the adjoint's sums over time (products of the forward
    and adjoint fields, the mass and damping terms summed by parts) every s-th step.
    The sampled sum of a band-limited product is exact up to aliasing, so the error stays
    tiny until s dt nears a quarter of the shortest period, then grows fast. Here a 6 Hz
    Ricker (energy to ~15 Hz), dt 1.9 ms: 35 steps per 15 Hz period."""
    model = _model(mesh, "iso")
    src = engine.Source.moment_tensor((430.0, -310.0), ((1e10, 3e9), (3e9, -5e9)), engine.stf.ricker(6.0))
    rec = engine.Receivers(RECEIVERS)
    exact_sim = engine.simulate(mesh, model, [src], rec, end_time=0.6, physics="elastic", keep_forward=True)
    errors = {}
    for taper in (0.05, 0.0):
        _, adj = engine.misfit.l2(exact_sim.seismograms * 0.7, exact_sim.seismograms, taper_fraction=taper)
        exact = engine.gradient(exact_sim, adj)
        for interval in (1, 2, 4, 8):
            sim = engine.simulate(mesh, model, [src], rec, end_time=0.6, physics="elastic",
                                  keep_forward=engine.StoragePolicy(mode="decimated", sampling_interval=interval))
            approx = engine.gradient(sim, adj)
            errors[taper, interval] = max(np.linalg.norm(approx[p] - exact[p]) / np.linalg.norm(exact[p]) for p in model)
            assert sim.forward.nbytes <= (sim.n_steps // interval + 2) * mesh.n_global * 2 * 8
    print("decimated gradient relative errors (taper, interval):", {k: f"{v:.1e}" for k, v in errors.items()})
    assert errors[0.05, 1] < 1e-13 and errors[0.0, 1] < 1e-13  # interval 1 is the exact gradient
    # Measured: tapered adjoint source 1.4e-6, 1.0e-5, 4.8e-3 at s = 2, 4, 8; untapered (its
    # onset at the end time is broadband) 3.7e-4, 7.0e-4, 8.6e-2. Bounds 3-7x above.
    assert errors[0.05, 2] < 1e-5 and errors[0.05, 4] < 5e-5 and errors[0.05, 8] < 2e-2
    assert errors[0.0, 2] < 2e-3 and errors[0.0, 4] < 3e-3
    assert errors[0.05, 2] < errors[0.05, 4] < errors[0.05, 8]


def test_gradient_needs_the_forward_and_a_matching_adjoint_source(mesh):
    model = _model(mesh, "iso")
    sim = engine.simulate(mesh, model, [_source("sh")], engine.Receivers(RECEIVERS), end_time=0.05, physics="sh")
    with pytest.raises(ValueError, match="keep_forward=True"):
        engine.gradient(sim, np.zeros(sim.seismograms.shape))
    sim = engine.simulate(mesh, model, [_source("sh")], engine.Receivers(RECEIVERS), end_time=0.05, physics="sh",
                          keep_forward=True)
    with pytest.raises(ValueError, match="adjoint source must have shape"):
        engine.gradient(sim, np.zeros((1, 1, 3)))
    with pytest.raises(ValueError, match="Unknown parameter"):
        engine.gradient(sim, np.zeros(sim.seismograms.shape), parameters=["vq"])


def test_volumetric_kernel_is_the_gradient_per_unit_area(mesh):
    """Summing kernel x area over the mesh gives back the gradient's sum: a density."""
    grad = np.random.default_rng(0).standard_normal(mesh.point_shape)
    kernel = engine.volumetric_kernel(grad, mesh)
    np.testing.assert_allclose((kernel * mesh.quadrature_weights()).sum(), grad.sum(), rtol=1e-12)
    # On a uniform mesh a uniform gradient gives a kernel varying only with the GLL weights.
    assert kernel.shape == mesh.point_shape


def test_isotropic_sensitivity_shortcut_gives_the_general_gradient(mesh):
    """Isotropic P-SV models accumulate d/d lambda and d/d mu only (2 accumulators, not 4);
    through the chain rule that must equal the general 4-coefficient path to roundoff."""
    from dataclasses import replace

    from engine.physics._kernels import ISOTROPIC_SENSITIVITY, SENSITIVITY

    model = _model(mesh, "iso")
    sim = engine.simulate(mesh, model, [_source("elastic")], engine.Receivers(RECEIVERS), end_time=T_END,
                          physics="elastic", keep_forward=True)
    assert sim.operator.stiffness_operator.sensitivity_mode == ISOTROPIC_SENSITIVITY
    w = np.random.default_rng(3).standard_normal(sim.seismograms.shape)
    shortcut = engine.gradient(sim, w)
    sim.operator.stiffness_operator = replace(sim.operator.stiffness_operator, sensitivity_mode=SENSITIVITY)
    general = engine.gradient(sim, w)
    for p in model:
        np.testing.assert_allclose(shortcut[p], general[p], rtol=1e-11, atol=1e-11 * np.abs(general[p]).max())
    vti = engine.simulate(mesh, _model(mesh, "vti"), [_source("elastic")], engine.Receivers(RECEIVERS), end_time=0.01,
                          physics="elastic", keep_forward=True)
    assert vti.operator.stiffness_operator.sensitivity_mode == SENSITIVITY


def test_sample_weights_are_ones_when_exact_and_a_trapezoid_rule_when_decimated():
    """The adjoint's sums over time: every step with weight 1 at interval 1; decimated,
    the top step plus the multiples of s with trapezoid weights (the half step of the
    Euler-Maclaurin formula at the top, u^0 = 0 at the bottom), which sum a linear
    sequence exactly."""
    from engine.adjoint import _sample_weights

    assert _sample_weights(10, 1) == {k: 1.0 for k in range(1, 11)}
    w = _sample_weights(10, 4)
    assert w == {10: 1.5, 8: 3.0, 4: 4.0}
    for n, s in ((315, 4), (2000, 5), (17, 3)):
        w = _sample_weights(n, s)
        assert set(w) == {n} | set(range(s, n + 1, s))
        linear = sum(k * wk for k, wk in w.items())  # = sum_{k=1}^{n} k
        assert abs(linear - n * (n + 1) / 2) < 1e-9


def test_sampling_interval_for_keeps_s_dt_within_an_eighth_of_the_shortest_period():
    from engine.adjoint import sampling_interval_for

    assert [sampling_interval_for(dt, 0.08) for dt in (0.001, 0.00194, 0.0025, 0.011)] == [10, 5, 4, 1]
    with pytest.raises(ValueError, match="must be positive"):
        sampling_interval_for(0.0, 0.08)
