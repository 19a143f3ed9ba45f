"""Taylor tests of the 3D gradient: ``engine.gradient`` on a box (acoustic, elastic
isotropic, transversely isotropic) and on a curved chunk of transversely isotropic PREM
(radial axis, Stacey on the sides, a Global CMT source, Z/N/E receivers), float64, and the
dot-product test of the 3D Born operator against the adjoint.

For a direction dm, ``J(m + h dm) - J(m) = h g.dm + O(h^2)``: the second-order
remainder must fall with slope 2 in h and the ratio ``(J(m + h dm) - J(m)) / (h g.dm)``
must approach 1 linearly, 10x closer per decade of h, for every parameter alone and for all
together; the symmetric difference at h = 1e-2 (0.001 % of the model) reaches 1 within 1e-6.
The misfit change is taken without cancellation (``_misfit_change``). The chunk case keeps
the forward wavefield as checkpoints.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
import xarray as xr

import engine

pytestmark = pytest.mark.usefixtures("one_numba_thread")

H = 10.0 ** -np.arange(5)  # 1 to 1e-4 (four decades), on perturbations of 0.1 % of the model
H_BEST = 1e-2  # the symmetric difference's h
G = engine.Geographic


@functools.lru_cache(maxsize=None)
def _box():
    return engine.mesh.box(x=(0.0, 3000.0), y=(0.0, 3000.0), z=(-3000.0, 0.0), elements=(3, 3, 3), order=3,
                           absorbing=("x0", "x1", "y0", "y1", "z0"))


@functools.lru_cache(maxsize=None)
def _chunk():
    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    mesh = engine.mesh.spherical_chunk(45.0, 15.0, 4.0, 4.0, 150e3, prem, 60.0, order=3)
    return mesh, engine.Model.from_earth(mesh, prem)


def _case(name):
    stf = engine.stf.ricker(3.0)
    rec = engine.Receivers([(2200.0, 900.0, 0.0), (600.0, 2500.0, -500.0)])
    force = [engine.Source.point_force((1400.0, 1600.0, -1300.0), (0.3, 0.2, 1.0), stf)]
    mesh = _box()
    if name == "acoustic":
        return (mesh, engine.Model.isotropic(mesh, vp=3000.0, rho=2200.0),
                [engine.Source.pressure((1400.0, 1600.0, -1300.0), stf)], rec, 1.0, 2e-3, "acoustic", True)
    if name == "isotropic":
        return mesh, engine.Model.isotropic(mesh, vp=3000.0, vs=1700.0, rho=2200.0), force, rec, 1.0, 2e-3, "elastic", True
    if name == "ti_box":
        model = engine.Model.transversely_isotropic(mesh, vpv=3000.0, vph=3200.0, vsv=1700.0, vsh=1800.0, eta=0.9,
                                                    rho=2200.0)
        return mesh, model, force, rec, 1.0, 2e-3, "elastic", True
    mesh, model = _chunk()
    cmt = {"mrr": 1e17, "mtt": -2e17, "mpp": 1e17, "mrt": 3e16, "mrp": -5e16, "mtp": 4e16}
    src = [engine.Source.moment_tensor(G(45.2, 14.8, 20e3), cmt, engine.stf.gaussian(8.0, delay=25.0))]
    rec = engine.Receivers([G(46.0, 15.9, 0.0), G(44.1, 13.7, 0.0)])
    return mesh, model, src, rec, 150.0, 0.25, "elastic", engine.StoragePolicy(mode="checkpoint")


def _misfit_change(observed, synthetic, adjoint_source, perturbed):
    """J(perturbed) - J(synthetic) for the L2 misfit, without the cancellation of two large
    misfits: J is quadratic in the residual, so with delta = perturbed - synthetic,
    ``J(s + delta) - J(s) = sum(adj * delta) dt + J_0(delta)`` exactly, J_0 the same misfit
    against zero data (same taper). Only the simulations' own difference is left to rounding."""
    delta = perturbed - synthetic
    dt = float(synthetic.time[1] - synthetic.time[0])
    quadratic, _ = engine.misfit.l2(xr.zeros_like(delta), delta)
    return float((adjoint_source * delta).sum()) * dt + quadratic


@pytest.mark.parametrize("name", ["acoustic", "isotropic", "ti_box", "ti_chunk"])
def test_taylor(name):
    mesh, model, src, rec, end, dt, physics, keep = _case(name)
    sim = engine.simulate(mesh, model, src, rec, end_time=end, physics=physics, dt=dt, keep_forward=keep)
    if name == "ti_chunk":
        assert sim.forward.mode == "checkpoint" and list(sim.seismograms.component.values) == ["Z", "N", "E"]
    rng = np.random.default_rng(0)
    # "Observed" data: the synthetics of a perturbed model plus noise over the whole record.
    observed = sim.seismograms * 0.9 + 0.05 * float(np.abs(sim.seismograms).max()) * rng.standard_normal(
        sim.seismograms.shape)
    j0, adj = engine.misfit.l2(observed, sim.seismograms)
    # The identity behind _misfit_change, checked on a finite perturbation.
    other = sim.seismograms * 1.01
    assert np.isclose(_misfit_change(observed, sim.seismograms, adj, other), engine.misfit.l2(observed, other)[0] - j0,
                      rtol=1e-9)
    grad = engine.gradient(sim, adj)
    assert set(grad) == set(model)
    # Every parameter alone, then all together.
    for chosen in [[p] for p in model] + [list(model)]:
        # Positive perturbations (a random size per point): a random sign would let g.dm
        # cancel between points and parameters and leave the second-order term in front.
        dm = {p: rng.uniform(0.0, 1.0, model[p].shape) * 1e-3 * float(np.abs(model[p]).mean()) for p in chosen}
        # Together, each parameter's part takes the sign that makes its g.dm add to the others'.
        dm = {p: np.sign(float((grad[p] * v).sum())) * v for p, v in dm.items()}
        predicted = sum(float((grad[p] * dm[p]).sum()) for p in chosen)
        changes = []
        for h in H:
            perturbed = model.replace(**{p: model[p] + h * dm[p] for p in chosen})
            synthetic = engine.simulate(mesh, perturbed, src, rec, end_time=end, physics=physics, dt=dt).seismograms
            changes.append(_misfit_change(observed, sim.seismograms, adj, synthetic))
        changes = np.array(changes)
        ratios = changes / (H * predicted)
        # The symmetric change (J(m + h dm) - J(m - h dm)) / (2 h g.dm) has no h^2 term in
        # its error, so it shows how close to exact the gradient is: one-sided ratios stop
        # near 1e-6 where the simulations' own rounding (about 1e-13 of a seismogram
        # after 500-600 steps, divided by h) meets the second-order term.
        below = model.replace(**{p: model[p] - H_BEST * dm[p] for p in chosen})
        synthetic = engine.simulate(mesh, below, src, rec, end_time=end, physics=physics, dt=dt).seismograms
        above = changes[list(H).index(H_BEST)]
        symmetric = (above - _misfit_change(observed, sim.seismograms, adj, synthetic)) / (2 * H_BEST * predicted)
        label = "+".join(chosen) if len(chosen) < len(model) else "all"
        print(f"\n3D Taylor {name} {label}: 1 - ratio " + ", ".join(f"{1 - r:.2e}" for r in ratios)
              + f"; symmetric at h = {H_BEST:g}: {1 - symmetric:.1e}")
        first = np.abs(1.0 - ratios)
        # Over four decades of h the first-order remainder |J(m + h dm) - J(m)| falls with
        # slope 1, the second-order one |J(m + h dm) - J(m) - h g.dm| with slope 2, and
        # 1 - ratio (their quotient) 10x per decade (a wrong gradient leaves it at a plateau).
        assert 0.95 < np.polyfit(np.log(H), np.log(np.abs(changes)), 1)[0] < 1.05
        assert 1.9 < np.polyfit(np.log(H), np.log(first * H * abs(predicted)), 1)[0] < 2.1
        assert np.all((first[1:] / first[:-1] > 0.05) & (first[1:] / first[:-1] < 0.2))
        assert first[-1] < 1e-3
        # At the best h the ratio is 1 within 1e-6.
        assert abs(1.0 - symmetric) < 1e-6


@pytest.mark.parametrize("name", ["isotropic", "ti_box", "ti_chunk"])
def test_born_and_gradient_are_adjoint(name):
    """Dot-product test of the linearised forward (``engine.linearised.born``) and the
    adjoint in 3D: <B dm, w> = <dm, B^T w> to roundoff (measured 1e-15 on the box)."""
    from engine.linearised import born

    mesh, model, src, rec, end, dt, physics, _ = _case(name)
    sim = engine.simulate(mesh, model, src, rec, end_time=end * 0.6, physics=physics, dt=dt, keep_forward=True)
    rng = np.random.default_rng(1)
    dm = {p: rng.standard_normal(model[p].shape) * 0.01 * float(np.abs(model[p]).mean()) for p in model}
    w = rng.standard_normal(sim.seismograms.shape)
    lhs = float((born(sim, dm).values * w).sum())
    grads = engine.gradient(sim, w / sim.dt)  # the adjoint source of J(d) = sum(w * d) is w / dt
    rhs = sum(float((grads[p] * dm[p]).sum()) for p in model)
    assert abs(lhs - rhs) <= 1e-10 * abs(rhs)
