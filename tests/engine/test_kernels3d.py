"""Verification of the 3D stiffness kernels (engine.physics._kernels3d).

An independent dense reference assembles K element by element with plain numpy from the
mesh's own basis (B = grad of the Lagrange basis at the GLL points, K_e = B^T C B w |J|)
and is compared with the blocked kernels on a box with topography (curved elements) and
on a small spherical chunk, with random per-point material. Plus symmetry, definiteness,
null spaces, exact strain energy of linear fields, the 21-coefficient kernel against the
isotropic and TI ones, float32 against float64, and 1 against 2 threads.

Meshes are order 2 so that every kernel compiles once per precision (the compiled code
is cached on disk by Numba).
"""
from __future__ import annotations

import numba
import numpy as np
import pytest

import engine
from engine.earth import prem
from engine.physics import _kernels3d as k3

ORDER = 2
ROWS = {"scalar": 6, "scalar_pointwise": 1, "isotropic": 2, "anisotropic": 21, "ti": 8}
PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


# --- meshes and materials -----------------------------------------------------------------
@pytest.fixture(scope="module")
def box():
    """4 x 3 x 2 elements with a smooth topography, so elements are curved."""
    return engine.mesh.box(x=(0.0, 4000.0), y=(0.0, 3000.0), z=(-2000.0, 0.0), elements=(4, 3, 2), order=ORDER,
                           topography=lambda x, y: 150.0 * np.sin(x / 1500.0) * np.cos(y / 1100.0))


@pytest.fixture(scope="module")
def chunk():
    """A tiny curved chunk: 10 x 10 degrees, 200 km deep, 4 x 4 x 4 elements."""
    return engine.mesh.spherical_chunk(45.0, 10.0, 10.0, 10.0, 200e3, prem(), 200.0, order=ORDER)


@pytest.fixture(scope="module")
def flat_box():
    """Undistorted: 6 x 4 x 3 = 72 elements, enough for a 2-thread schedule to split."""
    return engine.mesh.box(x=(0.0, 6.0), y=(0.0, 4.0), z=(0.0, 3.0), elements=(6, 4, 3), order=ORDER)


def _per_point(mesh, rows):
    return (mesh.n_elements, rows) + mesh.point_shape[1:]


def _random_rotations(rng, shape):
    q, r = np.linalg.qr(rng.standard_normal(shape + (3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=-2, axis2=-1))[..., None, :]
    det = np.linalg.det(q)
    q[..., :, 2] *= det[..., None]  # proper rotations
    return q


def _random_coefficients(mesh, kind, rng, scale=1.0):
    """Random per-point coefficients (positive definite) of each kind."""
    shape = mesh.point_shape
    if kind == "scalar":
        a = rng.standard_normal(shape + (3, 3))
        c = np.einsum("...ij,...kj->...ik", a, a) + np.eye(3)
        return scale * np.stack([c[..., 0, 0], c[..., 0, 1], c[..., 0, 2], c[..., 1, 1], c[..., 1, 2], c[..., 2, 2]], 1)
    if kind == "scalar_pointwise":
        return scale * (1.0 + rng.random(_per_point(mesh, 1)))
    if kind == "isotropic":
        return scale * (1.0 + rng.random(_per_point(mesh, 2)))
    if kind == "anisotropic":
        a = rng.standard_normal(shape + (6, 6))
        c = np.einsum("...ij,...kj->...ik", a, a) + 6 * np.eye(6)
        return scale * np.stack([c[..., i, j] for i in range(6) for j in range(i, 6)], axis=1)
    if kind == "ti":
        lam = 1.0 + rng.random((5,) + shape)
        a_, c_, l_, n_ = 4 + lam[0], 3 + lam[1], lam[2], lam[3]
        f_ = 0.9 * (a_ - 2 * l_) * (0.8 + 0.2 * lam[4] / 2)
        axis = rng.standard_normal(shape + (3,))
        return np.concatenate([scale * np.stack([a_, c_, l_, n_, f_], 1), np.moveaxis(axis, -1, 1)], axis=1)
    raise AssertionError(kind)


# --- the independent dense reference --------------------------------------------------------
def _tensor_from_voigt21(c21):
    """(..., 21) -> (..., 3, 3, 3, 3), written here independently of the module."""
    v = np.zeros(c21.shape[:-1] + (6, 6))
    s = 0
    for i in range(6):
        for j in range(i, 6):
            v[..., i, j] = v[..., j, i] = c21[..., s]
            s += 1
    voigt = np.zeros((3, 3), dtype=int)
    for n, (p, q) in enumerate(PAIRS):
        voigt[p, q] = voigt[q, p] = n
    idx = voigt[:, :, None, None], voigt[None, None, :, :]
    return v[..., idx[0], idx[1]]


def _ti_local_voigt21(a, c, l, n, f):
    v = np.zeros(a.shape + (6, 6))
    v[..., 0, 0] = v[..., 1, 1] = a
    v[..., 2, 2] = c
    v[..., 0, 1] = v[..., 1, 0] = a - 2 * n
    v[..., 0, 2] = v[..., 2, 0] = v[..., 1, 2] = v[..., 2, 1] = f
    v[..., 3, 3] = v[..., 4, 4] = l
    v[..., 5, 5] = n
    return np.stack([v[..., i, j] for i in range(6) for j in range(i, 6)], axis=-1)


def _frame_with_axis(axis):
    """Columns (e1, e2, n): any orthonormal frame whose third axis is n."""
    n = axis / np.linalg.norm(axis, axis=-1, keepdims=True)
    helper = np.where(np.abs(n[..., :1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
    e1 = np.cross(helper, n)
    e1 /= np.linalg.norm(e1, axis=-1, keepdims=True)
    return np.stack([e1, np.cross(n, e1), n], axis=-1)


def _rotate(c, r):
    return np.einsum("...ia,...jb,...kc,...ld,...abcd->...ijkl", r, r, r, r, c, optimize=True)


def _cijkl(mesh, kind, coefficients):
    """(n_e, n, n, n, 3, 3, 3, 3) elastic tensor, or (..., 3, 3) scalar coefficient."""
    c = np.moveaxis(coefficients, 1, -1)
    if kind == "scalar":
        xx, xy, xz, yy, yz, zz = np.moveaxis(c, -1, 0)
        return np.stack([np.stack([xx, xy, xz], -1), np.stack([xy, yy, yz], -1), np.stack([xz, yz, zz], -1)], -2)
    if kind == "scalar_pointwise":
        return c[..., 0, None, None] * np.eye(3)
    if kind == "isotropic":
        d = np.eye(3)
        lam, mu = c[..., 0], c[..., 1]
        return (lam[..., None, None, None, None] * np.einsum("ij,kl->ijkl", d, d)
                + mu[..., None, None, None, None] * (np.einsum("ik,jl->ijkl", d, d) + np.einsum("il,jk->ijkl", d, d)))
    if kind == "anisotropic":
        return _tensor_from_voigt21(c)
    if kind == "ti":
        local = _tensor_from_voigt21(_ti_local_voigt21(*(c[..., r] for r in range(5))))
        return _rotate(local, _frame_with_axis(c[..., 5:8]))
    raise AssertionError(kind)


def _dense_apply(mesh, kind, coefficients, u):
    """K u from element matrices K_e = sum_p w_p |J_p| B_p^T C_p B_p, in plain numpy."""
    n = mesh.gll.n_points
    d, eye = mesh.gll.derivative, np.eye(n)
    # Reference gradient of basis function q at point p (p, q flattened as (k, j, i)).
    bref = np.stack([np.kron(np.kron(eye, eye), d), np.kron(np.kron(eye, d), eye), np.kron(np.kron(d, eye), eye)])
    npts = n ** 3
    inv = mesh.inverse_jacobian.reshape(mesh.n_elements, npts, 3, 3)
    jw = mesh.quadrature_weights().reshape(mesh.n_elements, npts)
    c = _cijkl(mesh, kind, coefficients)
    c = c.reshape((mesh.n_elements, npts) + c.shape[4:])
    nodes = mesh.ibool.reshape(mesh.n_elements, npts)
    ku = np.zeros_like(u)
    for e in range(mesh.n_elements):
        g = np.einsum("pab,apq->pbq", inv[e], bref)  # d phi_q / d x_b at p
        ue = u[nodes[e]]
        if u.shape[1] == 1:
            ke = np.einsum("pbq,pbc,pcr->qr", g, c[e] * jw[e][:, None, None], g)
            ku[:, 0] += np.bincount(nodes[e], ke @ ue[:, 0], minlength=len(u))
        else:
            # B[(p, i, j), (q, m)] = d phi_q/d x_j delta_im: the displacement gradient.
            b = np.einsum("pjq,im->pijqm", g, np.eye(3)).reshape(npts * 9, npts * 3)
            cw = (c[e] * jw[e][:, None, None, None, None]).reshape(npts, 9, 9)
            cb = np.einsum("pab,pbr->par", cw, b.reshape(npts, 9, npts * 3)).reshape(npts * 9, npts * 3)
            ke = b.T @ cb
            kue = (ke @ ue.reshape(-1)).reshape(npts, 3)
            for comp in range(3):
                ku[:, comp] += np.bincount(nodes[e], kue[:, comp], minlength=len(u))
    return ku


def _apply(op, u):
    u = np.ascontiguousarray(u, dtype=op.dmat.dtype)
    return op.apply(u, np.empty_like(u))


def _relative(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# --- tests ----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", list(ROWS))
@pytest.mark.parametrize("mesh_name", ["box", "chunk"])
def test_against_dense_reference(kind, mesh_name, request):
    mesh = request.getfixturevalue(mesh_name)
    rng = np.random.default_rng(1)
    coefficients = _random_coefficients(mesh, kind, rng)
    op = k3.stiffness_3d(mesh, coefficients, kind, np.float64)
    u = rng.standard_normal((mesh.n_global, op.n_components))
    assert _relative(_apply(op, u), _dense_apply(mesh, kind, coefficients, u)) < 1e-12


def test_scalar_isotropic_metric_matches_pointwise(chunk):
    rng = np.random.default_rng(2)
    m = 1.0 + rng.random(_per_point(chunk, 1))
    u = rng.standard_normal((chunk.n_global, 1))
    a = _apply(k3.stiffness_3d(chunk, m, "scalar"), u)
    b = _apply(k3.stiffness_3d(chunk, m, "scalar_pointwise"), u)
    assert _relative(a, b) < 1e-13


@pytest.mark.parametrize("kind", list(ROWS))
def test_symmetric_positive_semidefinite(kind, chunk):
    rng = np.random.default_rng(3)
    op = k3.stiffness_3d(chunk, _random_coefficients(chunk, kind, rng), kind)
    u, v = rng.standard_normal((2, chunk.n_global, op.n_components))
    vku, ukv = np.vdot(v, _apply(op, u)), np.vdot(u, _apply(op, v))
    assert abs(vku - ukv) <= 1e-12 * np.sqrt(np.vdot(u, _apply(op, u)) * np.vdot(v, _apply(op, v)))
    for w in (u, v, u - 3 * v):
        assert np.vdot(w, _apply(op, w)) > 0.0


@pytest.mark.parametrize("kind", list(ROWS))
def test_null_space(kind, chunk):
    """Translations (scalar: constants) and, for elastic kinds, rigid rotations."""
    rng = np.random.default_rng(4)
    op = k3.stiffness_3d(chunk, _random_coefficients(chunk, kind, rng), kind)
    x = chunk.global_coordinates
    scale = np.linalg.norm(_apply(op, rng.standard_normal((chunk.n_global, op.n_components))))
    fields = [np.ones((chunk.n_global, op.n_components)) * rng.standard_normal(op.n_components)]
    if op.n_components == 3:
        w = rng.standard_normal((3, 3))
        w = (w - w.T) / np.abs(x).max()
        fields.append(x @ w.T + rng.standard_normal(3))
    for u in fields:
        assert np.linalg.norm(_apply(op, u)) <= 1e-12 * scale * np.linalg.norm(u) / np.sqrt(u.size)


@pytest.mark.parametrize("mesh_name", ["box", "chunk"])
@pytest.mark.parametrize("kind", ["scalar", "isotropic", "anisotropic", "ti"])
def test_linear_field_gives_exact_strain_energy(kind, mesh_name, request):
    """u = A x with constant C: u.K u = volume * grad u : C : grad u."""
    mesh = request.getfixturevalue(mesh_name)
    rng = np.random.default_rng(5)
    one = _random_coefficients(mesh, kind, rng)[:1, :, :1, :1, :1]
    coefficients = np.broadcast_to(one, _per_point(mesh, one.shape[1])).copy()
    op = k3.stiffness_3d(mesh, coefficients, kind)
    volume = mesh.quadrature_weights().sum()
    x = mesh.global_coordinates - mesh.global_coordinates.mean(axis=0)
    a = rng.standard_normal((op.n_components, 3)) / np.abs(x).max()
    u = x @ a.T
    c = _cijkl(mesh, kind, one)[0, 0, 0, 0]
    expected = volume * (a @ c @ a.T)[0, 0] if kind == "scalar" else volume * np.einsum("ij,ijkl,kl->", a, c, a)
    assert abs(np.vdot(u, _apply(op, u)) - expected) <= 1e-12 * abs(expected)


def test_anisotropic_kernel_reproduces_isotropic_and_ti(chunk):
    rng = np.random.default_rng(6)
    u = rng.standard_normal((chunk.n_global, 3))
    lam_mu = _random_coefficients(chunk, "isotropic", rng)
    lam, mu = lam_mu[:, 0], lam_mu[:, 1]
    c21 = np.zeros(_per_point(chunk, 21))
    for s, (i, j) in enumerate((i, j) for i in range(6) for j in range(i, 6)):
        c21[:, s] = (lam + 2 * mu if i == j < 3 else lam if i < 3 and j < 3 else mu if i == j else 0.0)
    iso = _apply(k3.stiffness_3d(chunk, lam_mu, "isotropic"), u)
    assert _relative(_apply(k3.stiffness_3d(chunk, c21, "anisotropic"), u), iso) < 1e-13

    # TI rotated to arbitrary frames: engine.physics.anisotropy against the test's own rotation,
    # and the 21-coefficient kernel against the on-the-fly TI kernel.
    ti = _random_coefficients(chunk, "ti", rng)
    frame = _random_rotations(rng, chunk.point_shape)
    love = [ti[:, r] for r in range(5)]
    c21 = np.moveaxis(_rotated_ti(*love, frame=frame), -1, 1)
    own = _rotate(_tensor_from_voigt21(_ti_local_voigt21(*love)), frame)
    assert np.abs(_tensor_from_voigt21(np.moveaxis(c21, 1, -1)) - own).max() < 1e-12 * np.abs(own).max()
    ti_axis = np.concatenate([ti[:, :5], np.moveaxis(frame[..., :, 2], -1, 1)], axis=1)
    a = _apply(k3.stiffness_3d(chunk, c21, "anisotropic"), u)
    b = _apply(k3.stiffness_3d(chunk, ti_axis, "ti"), u)
    assert _relative(a, b) < 1e-12
    assert _relative(a, _dense_apply(chunk, "anisotropic", c21, u)) < 1e-12
    # An isotropic tensor comes back unchanged from any rotation.
    iso21 = _rotated_ti(3.0, 3.0, 1.0, 1.0, 1.0, frame=frame[0, 0, 0, 0])
    assert np.allclose(iso21, _rotated_ti(3.0, 3.0, 1.0, 1.0, 1.0), rtol=0, atol=1e-14)


def _rotated_ti(a, c, l, n, f, frame=None):
    """The 21 packed coefficients of TI (axis local z) rotated to ``frame`` (engine.physics.anisotropy)."""
    from engine.physics import anisotropy

    local = anisotropy.ti_voigt(a, c, l, n, f)
    return anisotropy.pack(local if frame is None else anisotropy.rotate(local, frame))


@pytest.mark.parametrize("kind", list(ROWS))
def test_float32_agrees_with_float64(kind, chunk):
    rng = np.random.default_rng(7)
    coefficients = _random_coefficients(chunk, kind, rng, scale=1e10)
    u = rng.standard_normal((chunk.n_global, 1 if kind.startswith("scalar") else 3))
    k64 = _apply(k3.stiffness_3d(chunk, coefficients, kind, np.float64), u)
    k32 = _apply(k3.stiffness_3d(chunk, coefficients, kind, np.float32), u)
    assert k32.dtype == np.float32
    assert _relative(k32.astype(float), k64) < 3e-6


@pytest.mark.parametrize("kind", list(ROWS))
def test_threads(kind, flat_box):
    # CI and our machines have 2 cores: a smaller pool is a broken set-up, not a reason to skip.
    assert numba.config.NUMBA_NUM_THREADS >= 2, "the thread test needs a Numba thread pool of 2 (NUMBA_NUM_THREADS)"
    rng = np.random.default_rng(8)
    coefficients = _random_coefficients(flat_box, kind, rng)
    op2 = k3.stiffness_3d(flat_box, coefficients, kind, n_threads=2)
    assert len(op2.blocks.phases) > 2 or len(op2.blocks.tasks) > 2  # the schedule did split
    op1 = k3.stiffness_3d(flat_box, coefficients, kind, n_threads=1)
    u = rng.standard_normal((flat_box.n_global, op2.n_components))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        serial = _apply(op2, u)
        one = _apply(op1, u)
        numba.set_num_threads(2)
        parallel = _apply(op2, u)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(serial, parallel)  # same schedule: the same sums in the same order
    assert _relative(one, parallel) < 1e-14  # another schedule: roundoff only


def test_blocks_3d_layout(flat_box):
    from engine.physics._blocks import LANES, ElementBlocks

    blocks = ElementBlocks.from_mesh(flat_box, n_threads=2)
    n = flat_box.gll.n_points
    assert blocks.ibool.shape == (len(blocks.elements), n, n, n, LANES)
    geom = blocks.geometry(flat_box, np.float64)
    assert geom.shape == (len(blocks.elements), 10, n, n, n, LANES)
    back = blocks.from_blocks(geom, flat_box.n_elements)
    assert np.array_equal(back[:, 9], flat_box.quadrature_weights())
    assert np.array_equal(back[:, 5], flat_box.inverse_jacobian[..., 1, 2])
    assert np.array_equal(blocks.from_blocks(blocks.ibool, flat_box.n_elements), flat_box.ibool)
    # Every element is scheduled exactly once, and no two tasks of a phase share a point.
    valid = np.arange(LANES)[None] < blocks.count[:, None]
    assert np.array_equal(np.sort(blocks.elements[valid]), np.arange(flat_box.n_elements))
    for p in range(len(blocks.phases) - 1):
        seen = np.zeros(flat_box.n_global, dtype=int)
        for t in range(blocks.phases[p], blocks.phases[p + 1]):
            els = blocks.elements[blocks.tasks[t]:blocks.tasks[t + 1]][valid[blocks.tasks[t]:blocks.tasks[t + 1]]]
            seen[np.unique(flat_box.ibool[els])] += 1
        assert seen.max() <= 1
