"""Taylor tests of the 3D gradient: ``engine.gradient`` on a box (acoustic, elastic
isotropic, transversely isotropic) and on a curved chunk of transversely isotropic PREM
(radial axis, Stacey on the sides, a Global CMT source, Z/N/E receivers), float64, and the
dot-product test of the 3D Born operator against the adjoint.

For a direction dm, ``J(m + h dm) - J(m) = h g.dm + O(h^2)``: the second-order
remainder must fall with slope 2 in h and the ratio ``(J(m + h dm) - J(m)) / (h g.dm)``
must approach 1 linearly, 10x closer per decade of h (measured 1 - ratio 3e-6 to 6e-5 at
h = 1e-5). The chunk case also keeps the forward wavefield as checkpoints. The issue's
1e-6 at the best h (on purpose-built directions) is for the 3D gradient issue to show.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine

pytestmark = pytest.mark.usefixtures("one_numba_thread")

H = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5)
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
    grad = engine.gradient(sim, adj)
    assert set(grad) == set(model)
    # Positive perturbations (a random size per point): a random sign would let g.dm cancel
    # between parameters and leave the second-order term in front.
    dm = {p: rng.uniform(0.0, 1.0, model[p].shape) * 0.01 * float(np.abs(model[p]).mean()) for p in model}
    predicted = sum(float((grad[p] * dm[p]).sum()) for p in model)
    remainders, ratios = [], []
    for h in H:
        perturbed = model.replace(**{p: model[p] + h * dm[p] for p in model})
        j1, _ = engine.misfit.l2(observed, engine.simulate(mesh, perturbed, src, rec, end_time=end, physics=physics,
                                                           dt=dt).seismograms)
        remainders.append(abs(j1 - j0 - h * predicted))
        ratios.append((j1 - j0) / (h * predicted))
    print(f"\n3D Taylor {name}: ratios " + ", ".join(f"{r:.9f}" for r in ratios))
    slope = np.polyfit(np.log(H), np.log(remainders), 1)[0]
    assert 1.8 < slope < 2.2  # second-order remainder
    # 1 - ratio is the second-order term over the first: it falls 10x per decade of h
    # (a wrong gradient leaves it at a plateau).
    first = np.abs(1.0 - np.array(ratios))
    assert np.all((first[1:] / first[:-1] > 0.05) & (first[1:] / first[:-1] < 0.2))
    assert first[-1] < 5e-4


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
