"""Verification of the 3D sensitivity kernels (``_kernels3d.sensitivity_kernel``).

For the scalar (C = m I), isotropic (lambda, mu) and TI (Love's A, C, L, N, F about a
per-point axis) kinds, on a curved box and a small spherical chunk with random fields:

* ku from the sensitivity kernel equals the plain kernel's;
* K is linear in the coefficients, so for any perturbation dc of them,
  sum(sens * dc) = fwd^T K(dc) u, with K(dc) the plain operator built from dc alone
  (the TI axis kept: it is not a parameter);
* sens is symmetric in (u, fwd), accumulates, and float32 agrees with float64.
"""
from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.earth import prem
from engine.physics import _kernels3d as k3

KINDS = ("scalar", "isotropic", "ti")
SLOTS = {"scalar": 1, "isotropic": 2, "ti": 5}


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_numba_thread):
    yield


@pytest.fixture(scope="module")
def box():
    """2 x 2 x 2 elements with topography (curved elements), order 2."""
    return engine.mesh.box(x=(0.0, 2000.0), y=(0.0, 2000.0), z=(-1500.0, 0.0), elements=(2, 2, 2), order=2,
                           topography=lambda x, y: 120.0 * np.sin(x / 900.0) * np.cos(y / 700.0))


@pytest.fixture(scope="module")
def chunk():
    """A small curved spherical chunk, order 3 (ngll = 4)."""
    return engine.mesh.spherical_chunk(45.0, 15.0, 4.0, 4.0, 100e3, prem(crust="one_layer"), 200.0, order=3)


MESHES = ("box", "chunk")


def _coefficients(mesh, kind, rng, positive=True):
    """Random per-point coefficients of a kind (the rows of ``stiffness_3d``); with
    ``positive=False`` the sensitivity parameters are of any sign (a perturbation)."""
    shape = (mesh.n_elements,) + mesh.point_shape[1:]
    n = SLOTS[kind]
    if positive:
        if kind == "ti":
            r = 1.0 + rng.random((5,) + shape)
            a, c, l, nn = 4 + r[0], 3 + r[1], r[2], r[3]
            f = 0.9 * (a - 2 * l) * (0.8 + 0.1 * r[4])
            values = np.stack([a, c, l, nn, f], axis=1)
        else:
            values = 1.0 + rng.random((shape[0], n) + shape[1:])
    else:
        values = rng.standard_normal((shape[0], n) + shape[1:])
    return values


def _axis(mesh, rng):
    return rng.standard_normal((mesh.n_elements, 3) + mesh.point_shape[1:])


def _full(kind, params, axis):
    return np.concatenate([params, axis], axis=1) if kind == "ti" else params


def _setup(mesh, kind, dtype, seed=0):
    rng = np.random.default_rng(seed)
    axis = _axis(mesh, rng)
    c = _coefficients(mesh, kind, rng)
    dc = _coefficients(mesh, kind, rng, positive=False)
    op = k3.stiffness_3d(mesh, _full(kind, c, axis), kind, dtype, n_threads=1)
    dop = k3.stiffness_3d(mesh, _full(kind, dc, axis), kind, dtype, n_threads=1)
    ncomp = op.n_components
    u = rng.standard_normal((mesh.n_global, ncomp)).astype(dtype)
    fwd = rng.standard_normal((mesh.n_global, ncomp)).astype(dtype)
    return op, dop, dc, axis, u, fwd


def _run(op, kind, u, fwd, sens=None):
    kernel, n_slots = k3.sensitivity_kernel(kind)
    b = op.blocks
    if sens is None:
        sens = np.zeros((op.material.shape[0], n_slots) + op.material.shape[2:], dtype=op.material.dtype)
    ku = np.empty_like(u)
    kernel(u, ku, b.ibool, b.count, b.schedule, op.geom, op.material, op.dmat, fwd, sens, b.points)
    return ku, sens


def test_helper():
    for kind in KINDS:
        kernel, n = k3.sensitivity_kernel(kind)
        assert n == SLOTS[kind] == len(k3.SENSITIVITY_SLOTS[kind])
    assert k3.SENSITIVITY_SLOTS["ti"] == ("A", "C", "L", "N", "F")
    with pytest.raises(ValueError, match="kind"):
        k3.sensitivity_kernel("anisotropic")


@pytest.mark.parametrize("mesh_name", MESHES)
@pytest.mark.parametrize("kind", KINDS)
def test_ku_and_sensitivity_float64(mesh_name, kind, request):
    mesh = request.getfixturevalue(mesh_name)
    op, dop, dc, axis, u, fwd = _setup(mesh, kind, np.float64)
    ku, sens = _run(op, kind, u, fwd)
    # (1) K u as the plain kernel.
    ref = op.apply(u, np.empty_like(u))
    assert np.max(np.abs(ku - ref)) <= 1e-13 * np.max(np.abs(ref))
    # (2) sum(sens * dc) = fwd^T K(dc) u (K linear in the coefficients).
    per_elem = op.blocks.from_blocks(sens, mesh.n_elements)
    assert per_elem.shape == dc.shape
    lhs = np.sum(per_elem * dc)
    rhs = float(np.sum(fwd * dop.apply(u, np.empty_like(u))))
    scale = np.sum(np.abs(per_elem * dc))
    assert abs(lhs - rhs) <= 1e-12 * scale, (lhs, rhs, scale)
    # One slot at a time, so a swapped slot cannot pass.
    for s in range(SLOTS[kind]):
        one = np.zeros_like(dc)
        one[:, s] = dc[:, s]
        one_op = k3.stiffness_3d(mesh, _full(kind, one, axis), kind, np.float64, n_threads=1)
        rhs_s = float(np.sum(fwd * one_op.apply(u, np.empty_like(u))))
        lhs_s = np.sum(per_elem[:, s] * dc[:, s])
        assert abs(lhs_s - rhs_s) <= 1e-12 * np.sum(np.abs(per_elem[:, s] * dc[:, s])), (s, lhs_s, rhs_s)
    # (3) symmetric in (u, fwd); and it accumulates.
    _, sens_swapped = _run(op, kind, fwd, u)
    assert np.max(np.abs(sens_swapped - sens)) <= 1e-12 * np.max(np.abs(sens))
    _, twice = _run(op, kind, u, fwd, sens.copy())
    assert np.max(np.abs(twice - 2 * sens)) <= 1e-13 * np.max(np.abs(sens))


@pytest.mark.parametrize("kind", KINDS)
def test_float32_agrees(box, kind):
    op64, _, _, _, u, fwd = _setup(box, kind, np.float64, seed=1)
    op32, _, _, _, _, _ = _setup(box, kind, np.float32, seed=1)
    ku64, sens64 = _run(op64, kind, u, fwd)
    ku32, sens32 = _run(op32, kind, u.astype(np.float32), fwd.astype(np.float32))
    assert sens32.dtype == np.float32
    assert np.max(np.abs(ku32 - ku64)) <= 1e-5 * np.max(np.abs(ku64))
    assert np.max(np.abs(sens32 - sens64)) <= 1e-5 * np.max(np.abs(sens64))


def test_multi_phase_schedule():
    """A schedule cut for 2 threads (several phases and tasks) gives the same sensitivities."""
    mesh = engine.mesh.box(x=(0.0, 6.0), y=(0.0, 4.0), z=(0.0, 3.0), elements=(6, 4, 3), order=2)
    rng = np.random.default_rng(2)
    c = _coefficients(mesh, "isotropic", rng)
    one = k3.stiffness_3d(mesh, c, "isotropic", np.float64, n_threads=1)
    two = k3.stiffness_3d(mesh, c, "isotropic", np.float64, n_threads=2)
    assert len(two.blocks.phases) > 2
    u = rng.standard_normal((mesh.n_global, 3))
    fwd = rng.standard_normal((mesh.n_global, 3))
    ku1, s1 = _run(one, "isotropic", u, fwd)
    ku2, s2 = _run(two, "isotropic", u, fwd)
    np.testing.assert_allclose(ku2, ku1, rtol=0, atol=1e-12 * np.max(np.abs(ku1)))
    e1 = one.blocks.from_blocks(s1, mesh.n_elements)
    e2 = two.blocks.from_blocks(s2, mesh.n_elements)
    np.testing.assert_allclose(e2, e1, rtol=0, atol=1e-13 * np.max(np.abs(e1)))
