"""Tests of engine.optimize: L-BFGS model, dogleg step, trust-region stages, scaling."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
from scipy.optimize import rosen, rosen_der

from engine import optimize
from engine.optimize import (
    LBFGSMemory,
    StepProposal,
    TrustRegion,
    TrustRegionState,
    decide,
    dogleg_step,
    from_scaled,
    gradient_to_scaled,
    minimize,
    propose_step,
    to_scaled,
    update_memory,
)
from engine.optimize import dogleg as dogleg_module
from engine.optimize import lbfgs as lbfgs_module
from engine.optimize import trust_region as trust_region_module


# ------------------------------------------------------------------ helpers
def spd(n: int, seed: int, cond: float = 100.0) -> np.ndarray:
    """A random symmetric positive definite matrix with condition number ``cond``."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.geomspace(1.0, cond, n)) @ q.T


def matrix_operator(a: np.ndarray):
    return lambda v: a @ v


def quadratic_memory(a, n_pairs, seed, p_matrix=None, max_pairs=5) -> LBFGSMemory:
    """Memory filled with random steps s and exact gradient changes y = A s."""
    rng = np.random.default_rng(seed)
    mem = LBFGSMemory(max_pairs=max_pairs)
    for _ in range(n_pairs):
        s = rng.standard_normal(a.shape[0])
        if p_matrix is None:
            assert mem.add_pair(s, a @ s)
        else:
            dual = np.linalg.solve(p_matrix, s)
            assert mem.add_pair(s, a @ s, s_dual=dual, precondition=matrix_operator(p_matrix))
    return mem


def dense_bfgs(mem: LBFGSMemory, p_matrix=None) -> tuple[np.ndarray, np.ndarray]:
    """Independent oracle: the BFGS recursions on dense matrices, B0 = H0^-1 = P^-1/gamma."""
    n = mem.s[0].size
    p_matrix = np.eye(n) if p_matrix is None else p_matrix
    h = mem.gamma * p_matrix
    b = np.linalg.inv(h)
    for s, y in zip(mem.s, mem.y):
        rho = 1.0 / (s @ y)
        v = np.eye(n) - rho * np.outer(y, s)
        h = v.T @ h @ v + rho * np.outer(s, s)
        bs = b @ s
        b = b - np.outer(bs, bs) / (s @ bs) + rho * np.outer(y, y)
    return b, h


def rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - b) / np.linalg.norm(b))


def rosen_fg(x):
    return rosen(x), rosen_der(x)


# ------------------------------------------------------------------ settings
def test_settings_error_wording():
    with pytest.raises(ValueError) as err:
        TrustRegion(initial_trust_region_linf=-0.1)
    assert str(err.value) == (
        "The 'initial_trust_region_linf' parameter must be positive, but -0.1 was given."
    )
    with pytest.raises(ValueError, match="eta_accept <= eta_shrink < eta_grow"):
        TrustRegion(eta_shrink=0.8)
    with pytest.raises(ValueError, match="greater than 1"):
        TrustRegion(shrink_factor=0.5)
    with pytest.raises(TypeError, match="'max_pairs' parameter must be an int"):
        TrustRegion(max_pairs=True)
    with pytest.raises(ValueError, match=r"\['l2', 'linf'\], but 'l1' was given"):
        TrustRegion(norm="l1")


def test_settings_round_trip():
    s = TrustRegion(max_trust_region_radius=0.5, norm="linf", max_pairs=7)
    assert TrustRegion.from_dict(json.loads(json.dumps(s.to_dict()))) == s


# ------------------------------------------------------------------ L-BFGS
@pytest.mark.parametrize("preconditioned", [False, True])
def test_lbfgs_matches_dense_bfgs(preconditioned):
    # Float64 with condition numbers <= 1e3: the two recursions agree to ~1e-12.
    n = 50
    a = spd(n, 1, cond=1e3)
    pm = spd(n, 2, cond=10.0) if preconditioned else None
    mem = quadratic_memory(a, 7, seed=3, p_matrix=pm)  # 7 > max_pairs: oldest dropped
    assert mem.n_pairs == 5
    b, h = dense_bfgs(mem, pm)
    v = np.random.default_rng(4).standard_normal(n)
    precondition = matrix_operator(pm) if preconditioned else None
    hv, hv_dual = mem.apply_inverse_with_dual(v, precondition)
    assert rel(hv, h @ v) < 1e-10
    v_dual = np.linalg.solve(pm, v) if preconditioned else None
    assert rel(mem.apply_hessian(v, v_dual), b @ v) < 1e-10
    # The dual follows P^-1 H v without P^-1 ever being applied.
    expected_dual = np.linalg.solve(pm, hv) if preconditioned else hv
    assert rel(hv_dual, expected_dual) < 1e-10


@pytest.mark.parametrize("preconditioned", [False, True])
def test_lbfgs_b_and_h_are_inverses(preconditioned):
    n = 50
    a = spd(n, 5, cond=1e3)
    pm = np.diag(np.geomspace(0.1, 10.0, n)) if preconditioned else None
    precondition = matrix_operator(pm) if preconditioned else None
    mem = quadratic_memory(a, 5, seed=6, p_matrix=pm)
    v = np.random.default_rng(7).standard_normal(n)
    hv, hv_dual = mem.apply_inverse_with_dual(v, precondition)
    # B H v = v: agreement limited by the conditioning of B (~1e3-1e4) times 1e-16.
    assert rel(mem.apply_hessian(hv, hv_dual if preconditioned else None), v) < 1e-8
    v_dual = np.linalg.solve(pm, v) if preconditioned else None
    assert rel(mem.apply_inverse(mem.apply_hessian(v, v_dual), precondition), v) < 1e-8
    # Secant condition on the newest pair: B s = y exactly (up to roundoff).
    s_dual = mem.s_dual[-1] if preconditioned else None
    assert rel(mem.apply_hessian(mem.s[-1], s_dual), mem.y[-1]) < 1e-10


def test_lbfgs_gamma_is_standard_scaling():
    n = 6
    a = spd(n, 8)
    pm = np.diag(np.arange(1.0, n + 1))
    mem = quadratic_memory(a, 2, seed=9, p_matrix=pm)
    s, y = mem.s[-1], mem.y[-1]
    assert mem.gamma == pytest.approx((s @ y) / (y @ pm @ y), rel=1e-14)


def test_curvature_skip_and_truncation():
    mem = LBFGSMemory(max_pairs=2)
    s = np.array([1.0, 0.0])
    assert mem.add_pair(s, np.array([1.0, 0.5]))
    assert mem.last_skip_reason is None
    assert not mem.add_pair(s, np.array([-1.0, 0.0]))  # s.y < 0: negative curvature
    assert "curvature condition failed" in mem.last_skip_reason
    assert not mem.add_pair(s, np.array([0.0, 1.0]))  # s.y = 0
    assert mem.n_pairs == 1
    mem.add_pair(np.array([0.0, 1.0]), np.array([0.0, 2.0]))
    mem.add_pair(np.array([1.0, 1.0]), np.array([3.0, 3.0]))
    assert mem.n_pairs == 2
    np.testing.assert_array_equal(mem.s[0], [0.0, 1.0])  # oldest dropped
    mem.reset()
    assert mem.n_pairs == 0 and mem.preconditioned is None


def test_state_update_memory_reports_skip():
    state = TrustRegion().initial_state()
    new = update_memory(state, np.array([1.0, 0.0]), np.array([-2.0, 0.0]))
    assert new.memory.n_pairs == 0
    assert "curvature condition failed" in new.memory.last_skip_reason


def test_preconditioned_memory_misuse_raises():
    pm = np.diag([1.0, 2.0])
    mem = quadratic_memory(np.eye(2), 1, seed=0, p_matrix=pm)
    with pytest.raises(ValueError, match="'precondition' parameter must be given exactly"):
        mem.apply_inverse(np.ones(2))
    with pytest.raises(ValueError, match="'v_dual' parameter"):
        mem.apply_hessian(np.ones(2))
    with pytest.raises(ValueError, match="given together"):
        mem.add_pair(np.ones(2), np.ones(2), precondition=matrix_operator(pm))
    with pytest.raises(ValueError, match="must return an array of shape"):
        mem.apply_inverse(np.ones(2), precondition=lambda v: np.ones(3))


# ------------------------------------------------------------------ dogleg
def _dogleg_setup(n=50, preconditioned=False):
    a = spd(n, 11, cond=1e2)
    pm = np.diag(np.geomspace(0.5, 2.0, n)) if preconditioned else None
    mem = quadratic_memory(a, 4, seed=12, p_matrix=pm)
    g = np.random.default_rng(13).standard_normal(n)
    precondition = matrix_operator(pm) if preconditioned else None
    return a, pm, mem, g, precondition


def _cauchy_and_newton(mem, g, pm):
    """Independent construction of the two dogleg points with dense matrices."""
    b, h = dense_bfgs(mem, pm)
    d = -(g if pm is None else pm @ g)
    p_cauchy = (-(g @ d) / (d @ b @ d)) * d
    return p_cauchy, -h @ g, b


@pytest.mark.parametrize("preconditioned", [False, True])
def test_dogleg_newton_when_radius_large(preconditioned):
    _, pm, mem, g, precondition = _dogleg_setup(preconditioned=preconditioned)
    _, p_newton, b = _cauchy_and_newton(mem, g, pm)
    r = dogleg_step(g, 1e6, mem, precondition)
    assert r.kind == "newton" and not r.hit_boundary
    assert rel(r.step, p_newton) < 1e-10
    pred_dense = -(g @ p_newton + 0.5 * p_newton @ b @ p_newton)
    assert r.predicted_reduction == pytest.approx(pred_dense, rel=1e-10)


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("preconditioned", [False, True])
def test_dogleg_cauchy_when_radius_tiny(norm, preconditioned):
    _, pm, mem, g, precondition = _dogleg_setup(preconditioned=preconditioned)
    radius = 1e-6
    r = dogleg_step(g, radius, mem, precondition, norm=norm)
    assert r.kind == "cauchy_boundary" and r.hit_boundary
    direction = -(g if pm is None else pm @ g)
    ratio = r.step / direction
    # Parallel to -P g: every entry scaled by the same positive factor (roundoff only).
    assert ratio.min() > 0 and np.ptp(ratio) < 1e-12 * ratio.max()
    # Scaling to the boundary is one multiplication: exact to a few ulps.
    assert abs(dogleg_module.get_norm(norm).value(r.step) - radius) < 1e-14 * radius


@pytest.mark.parametrize("norm", ["l2", "linf"])
@pytest.mark.parametrize("preconditioned", [False, True])
def test_dogleg_boundary_intersection_exact(norm, preconditioned):
    _, pm, mem, g, precondition = _dogleg_setup(preconditioned=preconditioned)
    p_cauchy, p_newton, _ = _cauchy_and_newton(mem, g, pm)
    value = dogleg_module.get_norm(norm).value
    assert value(p_cauchy) < value(p_newton)
    for frac in (0.01, 0.5, 0.99):
        radius = value(p_cauchy) + frac * (value(p_newton) - value(p_cauchy))
        r = dogleg_step(g, radius, mem, precondition, norm=norm)
        assert r.kind == "dogleg" and r.hit_boundary
        # Spec: on the boundary to 1e-12 (the stable quadratic root gives ~1e-16).
        assert abs(r.norm - radius) <= 1e-12 * radius
        # On the segment from the Cauchy point to the Newton point.
        seg = p_newton - p_cauchy
        t = (r.step - p_cauchy) @ seg / (seg @ seg)
        assert 0.0 < t < 1.0
        assert rel(r.step, p_cauchy + t * seg) < 1e-10


def test_pred_equals_actual_change_when_model_exact():
    # With P = A^-1 and pairs from f = 1/2 x.A x + b.x, H0 = A^-1 (gamma = 1) and every
    # BFGS update keeps H = A^-1, so B = A and pred must equal the actual reduction.
    n = 50
    a = spd(n, 21, cond=1e2)
    pm = np.linalg.inv(a)
    precondition = matrix_operator(pm)
    rng = np.random.default_rng(22)
    bvec = rng.standard_normal(n)

    def f(x):
        return 0.5 * x @ a @ x + bvec @ x

    mem = quadratic_memory(a, 3, seed=23, p_matrix=pm)
    assert mem.gamma == pytest.approx(1.0, rel=1e-12)
    v = rng.standard_normal(n)
    assert rel(mem.apply_hessian(v, np.linalg.solve(pm, v)), a @ v) < 1e-8
    x = rng.standard_normal(n)
    g = a @ x + bvec
    kinds = set()
    for radius in (1e3, 1e-3, 0.3):
        r = dogleg_step(g, radius, mem, precondition)
        kinds.add(r.kind)
        actual = f(x) - f(x + r.step)
        # Exact up to roundoff of f (|f| ~ 1e2, cond 1e2): 1e-9 relative is ample.
        assert r.predicted_reduction == pytest.approx(actual, rel=1e-9)
    # With B = A the Cauchy point along -P g = -A^-1 g is the Newton point, so only
    # "newton" and "cauchy_boundary" can occur here.
    assert kinds == {"newton", "cauchy_boundary"}


def test_pred_equals_actual_change_unpreconditioned_dogleg():
    # A = c I: gamma = 1/c and B = A exactly without a preconditioner.
    n, c = 2, 3.0
    a = c * np.eye(n)
    mem = quadratic_memory(a, 2, seed=24)
    g = np.array([1.0, -2.0])
    for radius in (10.0, 0.1):
        r = dogleg_step(g, radius, mem)
        pred_true = -(g @ r.step + 0.5 * r.step @ a @ r.step)
        assert r.predicted_reduction == pytest.approx(pred_true, rel=1e-12)


def test_dogleg_rejects_bad_input():
    with pytest.raises(ValueError, match="'radius' parameter must be positive"):
        dogleg_step(np.ones(2), -1.0, LBFGSMemory())
    with pytest.raises(ValueError, match="zero gradient"):
        dogleg_step(np.zeros(2), 1.0, LBFGSMemory())
    with pytest.raises(ValueError, match=r"one of \['l2', 'linf'\]"):
        dogleg_step(np.ones(2), 1.0, LBFGSMemory(), norm="L2")


# ------------------------------------------------------------------ first step
@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_first_step_linf_equals_initial_radius(norm):
    settings = TrustRegion(initial_trust_region_linf=0.03, norm=norm)
    g = np.array([4.0, -1.0, 0.5])
    prop = propose_step(settings, settings.initial_state(), np.zeros(3), g)
    assert prop.kind == "steepest_descent" and prop.hit_boundary
    assert np.max(np.abs(prop.step)) == pytest.approx(0.03, rel=1e-15)
    assert prop.radius == pytest.approx(dogleg_module.get_norm(norm).value(prop.step), rel=1e-15)
    np.testing.assert_allclose(prop.step, -0.03 * g / 4.0, rtol=1e-15)
    # No curvature yet: the model is linear, pred = -g.p.
    assert prop.pred == pytest.approx(-(g @ prop.step), rel=1e-15)


def test_preconditioner_changes_first_step_direction():
    settings = TrustRegion()
    g = np.array([1.0, 1.0, -1.0])
    pdiag = np.array([10.0, 1.0, 0.1])
    plain = propose_step(settings, settings.initial_state(), np.zeros(3), g)
    prec = propose_step(settings, settings.initial_state(), np.zeros(3), g, lambda v: pdiag * v)
    np.testing.assert_allclose(plain.step, [-0.02, -0.02, 0.02], rtol=1e-15)
    np.testing.assert_allclose(prec.step, -0.02 * pdiag * g / 10.0, rtol=1e-15)
    np.testing.assert_allclose(prec.step_dual, prec.step / pdiag, rtol=1e-15)


# ------------------------------------------------------------------ decide
def _state_with_radius(radius=0.1, pairs=True):
    state = TrustRegion().initial_state()
    state.radius = radius
    if pairs:
        state.memory.add_pair(np.array([1.0, 0.0]), np.array([2.0, 0.0]))
    return state


def _proposal(pred=1.0, radius=0.1, hit_boundary=True):
    return StepProposal(
        step=np.array([radius, 0.0]), step_dual=None, pred=pred, norm_update=radius,
        radius=radius, kind="dogleg" if hit_boundary else "newton", hit_boundary=hit_boundary,
    )


@pytest.mark.parametrize(
    "ared, hit, accepted, radius, reason",
    [
        (0.9, True, True, 0.2, "rho = 0.9 > 0.75 and the step reached the boundary: "
                               "step accepted, radius multiplied by 2"),
        (0.9, False, True, 0.1, "rho = 0.9: step accepted, radius kept"),
        (0.5, True, True, 0.1, "rho = 0.5: step accepted, radius kept"),
        (0.12, True, True, 0.025, "rho = 0.12 < 0.25: step accepted, radius divided by 4"),
        (1e-5, True, False, 0.025, "rho = 1e-05 < 0.25: step rejected, radius divided by 4"),
        (-3.0, True, False, 0.025, "rho = -3 < 0.25: step rejected, radius divided by 4"),
        (1e-4, True, False, 0.025, "rho = 0.0001 < 0.25: step rejected, radius divided by 4"),
    ],
)
def test_decide_rules(ared, hit, accepted, radius, reason):
    settings = TrustRegion()
    state = _state_with_radius()
    before = state.to_dict()
    d = decide(settings, state, _proposal(pred=1.0, hit_boundary=hit), ared)
    assert d.accepted is accepted
    assert d.rho == pytest.approx(ared)
    assert d.radius == pytest.approx(radius, rel=1e-15) and d.state.radius == d.radius
    assert d.reason == reason
    assert d.state.memory.n_pairs == 1  # memory changes only via update_memory / reset
    assert d.state.iteration == int(accepted) and d.state.rejections == int(not accepted)
    assert state.to_dict() == before  # input state untouched


def test_decide_growth_capped_at_max():
    settings = TrustRegion(max_trust_region_radius=0.15)
    d = decide(settings, _state_with_radius(), _proposal(), ared=1.0)
    assert d.accepted and d.radius == 0.15
    assert d.reason.endswith("(capped at 0.15)")


@pytest.mark.parametrize("pred", [0.0, -1e-3])
def test_decide_nonpositive_pred_rejects_and_resets(pred):
    settings = TrustRegion()
    state = _state_with_radius()
    d = decide(settings, state, _proposal(pred=pred), ared=1.0)
    assert not d.accepted and d.rho is None
    assert d.state.memory.n_pairs == 0 and state.memory.n_pairs == 1
    assert d.radius == 0.1
    assert d.reason.endswith("<= 0: step rejected, L-BFGS memory reset")
    # The retry at the same model is steepest descent to the (unchanged) boundary.
    g = np.array([1.0, 2.0])
    retry = propose_step(settings, d.state, np.zeros(2), g)
    assert retry.kind == "cauchy_boundary"
    assert np.linalg.norm(retry.step) == pytest.approx(0.1, rel=1e-14)


def test_decide_nonfinite_ared_rejects():
    d = decide(TrustRegion(), _state_with_radius(), _proposal(), ared=float("nan"))
    assert not d.accepted and d.radius == 0.025


def test_rejected_step_retried_with_smaller_radius():
    settings = TrustRegion()
    state = settings.initial_state()
    x = np.array([-1.2, 1.0])
    f, g = rosen_fg(x)
    first = propose_step(settings, state, x, g)
    d = decide(settings, state, first, ared=-1.0)  # pretend the misfit went up
    assert not d.accepted
    retry = propose_step(settings, d.state, x, g)
    assert retry.radius == pytest.approx(first.radius / 4, rel=1e-15)
    assert retry.norm_update == pytest.approx(first.norm_update / 4, rel=1e-14)


# ------------------------------------------------------------------ round trip
def _drive(settings, state, x, g, fg, n, precondition=None):
    """Run n proposals from (state, x, g); return the steps and the final tuple."""
    steps = []
    f = fg(x)[0]
    for _ in range(n):
        prop = propose_step(settings, state, x, g, precondition)
        steps.append(prop.step)
        f_t, g_t = fg(x + prop.step)
        dec = decide(settings, state, prop, f - f_t)
        state = dec.state
        if dec.accepted:
            state = update_memory(state, prop, g_t - g, precondition)
            x, f, g = x + prop.step, f_t, g_t
    return steps, state, x, g


@pytest.mark.parametrize("arrays", ["list", "numpy"])
@pytest.mark.parametrize("preconditioned", [False, True])
def test_state_round_trip_gives_identical_steps(arrays, preconditioned):
    settings = TrustRegion(max_pairs=4)
    pdiag = np.linspace(0.5, 2.0, 10)
    precondition = (lambda v: pdiag * v) if preconditioned else None
    x0 = np.linspace(-0.5, 1.5, 10)
    _, state, x, g = _drive(settings, settings.initial_state(), x0, rosen_der(x0), rosen_fg, 12,
                            precondition)
    assert state.memory.n_pairs == 4
    d = state.to_dict(arrays)
    if arrays == "list":
        d = json.loads(json.dumps(d))
    restored = TrustRegionState.from_dict(d)
    a, *_ = _drive(settings, state, x, g, rosen_fg, 8, precondition)
    b, *_ = _drive(settings, restored, x, g, rosen_fg, 8, precondition)
    for sa, sb in zip(a, b):
        np.testing.assert_array_equal(sa, sb)
    # A proposal too survives the trip between the "step" and "accept" stages.
    prop = propose_step(settings, restored, x, g, precondition)
    back = StepProposal.from_dict(json.loads(json.dumps(prop.to_dict())))
    np.testing.assert_array_equal(back.step, prop.step)
    assert back.pred == prop.pred and back.kind == prop.kind


# ------------------------------------------------------------------ full runs
def test_rosenbrock_2d():
    res = minimize(rosen_fg, np.array([-1.2, 1.0]), TrustRegion(), max_iterations=199)
    assert res.success, res.message
    assert np.linalg.norm(res.x - 1.0) < 1e-4
    assert res.n_iterations < 200
    assert res.history[0]["kind"] == "steepest_descent"
    kinds = {h["kind"] for h in res.history}
    assert {"newton", "dogleg"} <= kinds
    assert all((h["rho"] > 1e-4) == h["accepted"] for h in res.history)
    fs = [h["f"] for h in res.history]
    assert all(b <= a for a, b in zip(fs, fs[1:]))  # the misfit never increases


@pytest.mark.parametrize("norm", ["l2", "linf"])
def test_rosenbrock_10d(norm):
    x0 = np.tile([-1.2, 1.0], 5)
    res = minimize(rosen_fg, x0, TrustRegion(norm=norm), max_iterations=400)
    assert res.success, res.message
    assert np.linalg.norm(res.x - 1.0) < 1e-4


def test_preconditioner_speeds_up_badly_scaled_quadratic():
    # Diagonal Hessian spanning 4 decades: the Jacobi preconditioner makes it I.
    n = 50
    diag = np.geomspace(1.0, 1e4, n)
    x_true = np.linspace(-0.1, 0.1, n)

    def fg(x):
        return 0.5 * (x - x_true) @ (diag * (x - x_true)), diag * (x - x_true)

    plain = minimize(fg, np.zeros(n), max_iterations=500, gtol=1e-6)
    prec = minimize(fg, np.zeros(n), max_iterations=500, gtol=1e-6,
                    precondition=lambda v: v / diag)
    assert prec.success
    assert np.abs(prec.x - x_true).max() < 1e-6
    # Measured: 3 proposals with P, 500 (unconverged) without.
    assert 5 * prec.n_iterations < plain.n_iterations


# ------------------------------------------------------------------ scaled space
M_PRIOR = np.array([3000.0, 1800.0, 2200.0, 5.8e3])  # vp, vs (m/s), rho (kg/m^3), ...
M_TRUE = np.array([3150.0, 1750.0, 2300.0, 6.0e3])
WEIGHT = np.array([1e-6, 4e-6, 2e-6, 1e-7])


def physical_misfit(m):
    """A misfit in physical units with a cross term, and its gradient dJ/dm."""
    r = m - M_TRUE
    return float(0.5 * WEIGHT @ r**2 + 1e-7 * r[0] * r[1]), WEIGHT * r + 1e-7 * np.array(
        [r[1], r[0], 0.0, 0.0]
    )


def test_scaling_round_trip_and_finite_difference():
    m = np.array([3100.0, 1700.0, 2250.0, 5.9e3])
    x = to_scaled(m, M_PRIOR)
    np.testing.assert_allclose(x, (m - M_PRIOR) / M_PRIOR, rtol=1e-15)
    np.testing.assert_allclose(from_scaled(x, M_PRIOR), m, rtol=1e-15)
    g_x = gradient_to_scaled(physical_misfit(m)[1], M_PRIOR)
    h = 1e-6
    fd = np.array([
        (physical_misfit(from_scaled(x + h * e, M_PRIOR))[0]
         - physical_misfit(from_scaled(x - h * e, M_PRIOR))[0]) / (2 * h)
        for e in np.eye(x.size)
    ])
    # The misfit is quadratic, so central differences are exact up to roundoff
    # (|J| ~ 1e-2, eps/h ~ 1e-10): 1e-6 relative leaves a wide margin.
    np.testing.assert_allclose(g_x, fd, rtol=1e-6)
    with pytest.raises(ValueError, match="'m_prior' parameter must be finite and nonzero"):
        to_scaled(m, np.array([1.0, 0.0, 1.0, 1.0]))


def test_minimize_in_scaled_space():
    def fg_scaled(x):
        value, g_m = physical_misfit(from_scaled(x, M_PRIOR))
        return value, gradient_to_scaled(g_m, M_PRIOR)

    settings = TrustRegion()
    x0 = np.zeros(4)
    first = propose_step(settings, settings.initial_state(), x0, fg_scaled(x0)[1])
    # The first step changes the largest parameter by exactly 2 % of its prior.
    change = np.abs(from_scaled(first.step, M_PRIOR) - M_PRIOR) / M_PRIOR
    assert change.max() == pytest.approx(0.02, rel=1e-14)
    res = minimize(fg_scaled, x0, settings, max_iterations=100, gtol=1e-12)
    assert res.success, res.message
    np.testing.assert_allclose(from_scaled(res.x, M_PRIOR), M_TRUE, rtol=1e-8)


# ------------------------------------------------------------------ docs
@pytest.mark.parametrize("module", [optimize, lbfgs_module, dogleg_module, trust_region_module])
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert failed == 0
    if module in (dogleg_module, trust_region_module):
        assert attempted > 0
