"""The wave operator's boundary terms from ``Mesh.faces``, in 2D and 3D.

* 2D, curved: the Stacey damping assembled from ``mesh.faces`` equals the old per-face
  loop over ``face_geometry`` bit for bit, and an independent per-face computation (normals
  from the face's own tangent, oriented away from the element's centre; the impedance
  written out) to roundoff, on a topography mesh absorbing on all four sides.
* 3D box: the damping of the x0 side sums to rho vp A on the normal component and
  rho vs A on the two tangential ones (A the side's area), exactly up to roundoff; on a
  curved top (topography) its trace sums to rho (vp + 2 vs) A.
* Impedances for any dimension: Z n = rho vp n, Z t = rho vs t; acoustic 1/(rho c); SH
  refuses 3D normals. Dirichlet points and sponge distances on a box.
"""
import numpy as np
import pytest

import engine
from engine.operator import WaveOperator, dirichlet_points, distance_to_sides, stacey_damping
from engine.physics import get

RHO, VP, VS = 2200.0, 3000.0, 1700.0


def _smooth(a):
    return lambda x, z: 1.0 + a * np.sin(x / 150.0) * np.cos(z / 170.0)


@pytest.fixture(scope="module")
def curved():
    mesh = engine.mesh.rectangle(x=(0, 1000.0), z=(-600.0, 0.0), elements=(6, 4), order=4,
                                 absorbing=("left", "right", "bottom", "top"),
                                 topography=lambda x: 60.0 * np.sin(x / 170.0) + 20.0 * np.cos(x / 90.0))
    model = engine.Model.vti(mesh, vpv=lambda x, z: 3000 * _smooth(0.05)(x, z), vph=3200.0,
                             vsv=lambda x, z: 1700 * _smooth(0.04)(x, z), vsh=1800.0,
                             eta=lambda x, z: 0.9 * _smooth(0.02)(x, z), rho=lambda x, z: 2200 * _smooth(0.03)(x, z))
    return mesh, model


def _legacy_loop(mesh, physics, coeff, mass):
    """The per-face loop the operator used before Mesh.faces (2D only)."""
    nc = physics.n_components
    dense = np.zeros((mesh.n_global, nc, nc))
    for side in mesh.absorbing:
        for e, f in mesh.side_sets[side]:
            nodes, weights, normals = mesh.face_geometry(int(e), int(f))
            j, i = mesh.face_points(int(f))
            z = physics.impedance(coeff[e][:, j, i].T, mass[e][j, i], normals)
            np.add.at(dense, nodes, weights[:, None, None] * z)
    return dense


def _independent_2d(mesh, coeff, mass):
    """Elastic VTI Stacey damping from first principles, face by face."""
    n = mesh.gll.n_points
    d, w = mesh.gll.derivative, mesh.gll.weights
    dense = np.zeros((mesh.n_global, 2, 2))
    for side in mesh.absorbing:
        for e, f in mesh.side_sets[side]:
            e, f = int(e), int(f)
            c = mesh.coordinates[e]  # (j, i, 2)
            if f in (0, 1):  # xi fixed: the face runs along j
                i0 = 0 if f == 0 else n - 1
                pts, jj, ii = c[:, i0], np.arange(n), np.full(n, i0)
            else:
                j0 = 0 if f == 2 else n - 1
                pts, jj, ii = c[j0, :], np.full(n, j0), np.arange(n)
            tangent = d @ pts  # d x / d s along the face, (n, 2)
            length = np.hypot(tangent[:, 0], tangent[:, 1])
            normal = np.stack([-tangent[:, 1], tangent[:, 0]], axis=1) / length[:, None]
            centre = c.reshape(-1, 2).mean(axis=0)
            normal *= np.sign(np.sum(normal * (pts - centre), axis=1))[:, None]  # away from the element
            a, cc, l = coeff[e, 0, jj, ii], coeff[e, 2, jj, ii], coeff[e, 3, jj, ii]
            rho = mass[e, jj, ii]
            for p in range(n):
                nx, nz = normal[p]
                vp_n = np.sqrt((a[p] * nx**2 + cc[p] * nz**2) / rho[p])
                vs = np.sqrt(l[p] / rho[p])
                nn = np.outer(normal[p], normal[p])
                z = rho[p] * (vp_n * nn + vs * (np.eye(2) - nn))
                dense[mesh.ibool[e, jj[p], ii[p]]] += w[p] * length[p] * z
    return dense


def test_stacey_damping_from_faces_on_a_curved_2d_mesh(curved):
    mesh, model = curved
    physics = get("elastic")
    coeff, mass = physics.coefficients(model), physics.mass_density(model)
    dense = stacey_damping(mesh, physics, coeff, mass)
    assert np.array_equal(dense, _legacy_loop(mesh, physics, coeff, mass))  # 2D results stay bit-identical
    reference = _independent_2d(mesh, coeff, mass)
    scale = np.abs(reference).max()
    assert scale > 0 and np.count_nonzero(np.abs(reference).sum(axis=(1, 2))) == 2 * (6 + 4) * 4  # the perimeter
    np.testing.assert_allclose(dense, reference, rtol=0, atol=1e-12 * scale)
    # The operator's blocks are these (no sponge, no Dirichlet points for elastic).
    op = WaveOperator(mesh, model, physics, np.float64)
    assert np.array_equal(op.damping_blocks, dense[op.damping_nodes])
    assert np.array_equal(np.sort(op.damping_nodes), np.nonzero(np.abs(dense).sum(axis=(1, 2)))[0])


@pytest.fixture(scope="module")
def box():
    return engine.mesh.box(x=(0.0, 300.0), y=(-100.0, 200.0), z=(-250.0, 0.0), elements=(3, 4, 2), order=3,
                           absorbing=("x0", "x1", "y0", "y1", "z0"))


def test_3d_x0_damping_integrates_to_rho_v_times_area(box):
    model = engine.Model.isotropic(box, vp=VP, vs=VS, rho=RHO)
    physics = get("elastic")
    dense = stacey_damping(box, physics, physics.coefficients(model), physics.mass_density(model), sides=("x0",))
    area = 300.0 * 250.0  # the x0 side spans y and z
    total = dense.sum(axis=0)
    expected = np.diag([RHO * VP * area, RHO * VS * area, RHO * VS * area])
    np.testing.assert_allclose(total, expected, rtol=1e-13, atol=1e-13 * RHO * VP * area)
    touched = np.nonzero(np.abs(dense).sum(axis=(1, 2)))[0]
    assert np.all(np.abs(box.global_coordinates[touched, 0]) < 1e-9)  # only points on x = 0
    assert len(touched) == (4 * 3 + 1) * (2 * 3 + 1)


def test_3d_curved_top_damping_trace_is_rho_vp_plus_two_vs_times_area():
    mesh = engine.mesh.box(x=(0.0, 400.0), y=(0.0, 300.0), z=(-300.0, 0.0), elements=(3, 3, 2), order=4,
                           absorbing=("z1", "x0"), topography=lambda x, y: 40.0 * np.sin(x / 90.0) * np.cos(y / 70.0))
    model = engine.Model.isotropic(mesh, vp=VP, vs=VS, rho=RHO)
    physics = get("elastic")
    dense = stacey_damping(mesh, physics, physics.coefficients(model), physics.mass_density(model), sides=("z1",))
    faces = mesh.faces("z1")
    assert faces.area > 400.0 * 300.0 * (1 + 1e-3)  # the surface is curved
    np.testing.assert_allclose(np.trace(dense.sum(axis=0)), RHO * (VP + 2 * VS) * faces.area, rtol=1e-13)
    # Normal component: sum of w n^T Z n = rho vp A.
    n = faces.normals.reshape(-1, 3)
    w = faces.weights.reshape(-1)
    z = physics.impedance(np.repeat(physics.coefficients(model)[:1, :, 0, 0, 0], len(w), axis=0),
                          np.full(len(w), RHO), n)
    np.testing.assert_allclose((w * np.einsum("pa,pab,pb->p", n, z, n)).sum(), RHO * VP * faces.area, rtol=1e-13)


def test_impedances_for_any_dimension():
    rng = np.random.default_rng(0)
    n = rng.standard_normal((50, 3))
    n /= np.linalg.norm(n, axis=1)[:, None]
    t = np.cross(n, rng.standard_normal((50, 3)))
    t /= np.linalg.norm(t, axis=1)[:, None]
    a, l = RHO * VP**2, RHO * VS**2
    coeff = np.tile([a, a - 2 * l, a, l], (50, 1))
    mass = np.full(50, RHO)
    z = get("elastic").impedance(coeff, mass, n)
    assert z.shape == (50, 3, 3)
    np.testing.assert_allclose(z, np.swapaxes(z, 1, 2), rtol=0, atol=1e-9)
    np.testing.assert_allclose(np.einsum("pab,pb->pa", z, n), RHO * VP * n, rtol=1e-13, atol=1e-9)
    np.testing.assert_allclose(np.einsum("pab,pb->pa", z, t), RHO * VS * t, rtol=1e-13, atol=1e-9)
    # VTI at the boundary: a vertical normal sees C (vpv), a horizontal one A (vph), in 2D and 3D.
    c = RHO * 2800.0**2
    vti = np.array([[a, a - 2 * l, c, l]])
    for normal, vp in (([0.0, 0.0, 1.0], 2800.0), ([0.0, 1.0, 0.0], VP), ([1.0, 0.0], VP), ([0.0, -1.0], 2800.0)):
        normal = np.array([normal])
        zz = get("elastic").impedance(vti, np.array([RHO]), normal)[0]
        np.testing.assert_allclose(normal[0] @ zz @ normal[0], RHO * vp, rtol=1e-14)
    acoustic = get("acoustic").impedance(np.tile([1 / RHO, 0.0, 1 / RHO], (50, 1)), 1 / (RHO * VP**2) * np.ones(50), n)
    np.testing.assert_allclose(acoustic[:, 0, 0], 1 / (RHO * VP), rtol=1e-14)
    with pytest.raises(ValueError, match="2D only"):
        get("sh").impedance(np.tile([l, 0.0, l], (50, 1)), mass, n)


def test_dirichlet_points_and_sponge_distance_on_a_box(box):
    held = dirichlet_points(box, "free_surface")
    z = box.global_coordinates[:, 2]
    assert np.array_equal(held, np.abs(z) < 1e-9)
    assert not dirichlet_points(box, "no_such_side").any()
    dist = distance_to_sides(box, ["x0", "z0"])
    x = box.global_coordinates[:, 0]
    np.testing.assert_allclose(dist, np.minimum(x - 0.0, z + 250.0), rtol=0, atol=1e-9)
    assert distance_to_sides(box, []) is None
