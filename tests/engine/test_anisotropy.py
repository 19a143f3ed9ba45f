"""Tensor algebra of engine.physics.anisotropy: Voigt maps, rotations, Christoffel speeds."""
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

import engine
from engine.physics import anisotropy as an

# PREM's anisotropic LID at 100 km depth (radius 6271 km), eta != 1.
_X = 6271.0 / 6371.0
RHO = 1000 * (2.6910 + 0.6924 * _X)
VPV, VPH = 1000 * (0.8317 + 7.2180 * _X), 1000 * (3.5908 + 4.6172 * _X)
VSV, VSH = 1000 * (5.8582 - 1.4678 * _X), 1000 * (-1.0839 + 5.7176 * _X)
ETA = 3.3687 - 2.4778 * _X


def rotations(n, seed=0):
    return Rotation.random(n, random_state=seed).as_matrix()


def ti():
    return an.ti_voigt(*an.love_parameters(VPV, VPH, VSV, VSH, ETA, RHO))


def random_stiffness(n, seed=1):
    """Random symmetric positive definite (n, 6, 6) matrices (general anisotropy)."""
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(n, 6, 6))
    return 1e10 * (m @ np.swapaxes(m, -1, -2) + 6 * np.eye(6))


def test_love_parameters_and_inverse():
    a, c, l, n, f = an.love_parameters(VPV, VPH, VSV, VSH, ETA, RHO)
    assert a == pytest.approx(RHO * VPH**2, rel=1e-15) and c == pytest.approx(RHO * VPV**2, rel=1e-15)
    assert l == pytest.approx(RHO * VSV**2, rel=1e-15) and n == pytest.approx(RHO * VSH**2, rel=1e-15)
    assert f == pytest.approx(ETA * (a - 2 * l), rel=1e-15)
    back = an.velocities_from_love(a, c, l, n, f, RHO)
    np.testing.assert_allclose(back, (VPV, VPH, VSV, VSH, ETA), rtol=1e-14)


def test_ti_voigt_slots():
    a, c, l, n, f = an.love_parameters(VPV, VPH, VSV, VSH, ETA, RHO)
    v = ti()
    expected = np.zeros((6, 6))
    expected[0, 0] = expected[1, 1] = a
    expected[2, 2] = c
    expected[0, 1] = expected[1, 0] = a - 2 * n
    expected[0, 2] = expected[2, 0] = expected[1, 2] = expected[2, 1] = f
    expected[3, 3] = expected[4, 4] = l
    expected[5, 5] = n
    np.testing.assert_array_equal(v, expected)
    # The tensor: c_1111 = A, c_3333 = C, c_1122 = A - 2N, c_1133 = F, c_2323 = c_1313 = L, c_1212 = N
    t = an.voigt_to_tensor(v)
    assert t[0, 0, 0, 0] == a and t[2, 2, 2, 2] == c and t[0, 0, 1, 1] == a - 2 * n and t[1, 1, 2, 2] == f
    assert t[1, 2, 1, 2] == t[2, 1, 1, 2] == t[0, 2, 2, 0] == l and t[0, 1, 1, 0] == n
    assert an.PACKED_ORDER[:7] == ("c11", "c12", "c13", "c14", "c15", "c16", "c22") and an.PACKED_ORDER[-1] == "c66"
    packed = an.pack(v)
    assert packed.shape == (21,)
    assert packed[an.PACKED_ORDER.index("c13")] == f and packed[an.PACKED_ORDER.index("c66")] == n
    np.testing.assert_array_equal(an.unpack(packed), v)


def test_ti_equals_isotropy_when_isotropic():
    vp, vs, rho = 8000.0, 4500.0, 3300.0
    v = an.ti_voigt(*an.love_parameters(vp, vp, vs, vs, 1.0, rho))
    mu = rho * vs**2
    lam = rho * vp**2 - 2 * mu
    np.testing.assert_allclose(v, an.isotropic_voigt(lam, mu), rtol=1e-15)
    t = an.voigt_to_tensor(v)
    d = np.eye(3)
    iso = lam * np.einsum("ij,kl->ijkl", d, d) + mu * (np.einsum("ik,jl->ijkl", d, d) + np.einsum("il,jk->ijkl", d, d))
    np.testing.assert_allclose(t, iso, rtol=1e-15, atol=0)


def test_voigt_tensor_round_trip_and_symmetries():
    c = random_stiffness(4)
    t = an.voigt_to_tensor(c)
    np.testing.assert_array_equal(an.tensor_to_voigt(t), c)
    for perm in ("ijkl->jikl", "ijkl->ijlk", "ijkl->klij"):
        np.testing.assert_array_equal(np.einsum("..." + perm.split("->")[0] + "->..." + perm.split("->")[1], t), t)


def test_isotropic_tensor_is_invariant_under_rotation():
    c = an.isotropic_voigt(7.0e10, 3.0e10)
    r = rotations(50)
    out = an.rotate(c, r)
    np.testing.assert_allclose(out, np.broadcast_to(c, out.shape), rtol=0, atol=1e-12 * np.abs(c).max())
    t = an.voigt_to_tensor(c)
    np.testing.assert_allclose(an.rotate(t, r), np.broadcast_to(t, (50, 3, 3, 3, 3)), rtol=0, atol=1e-12 * np.abs(c).max())
    np.testing.assert_allclose(an.rotate_voigt(c, r), np.broadcast_to(c, out.shape), rtol=0, atol=1e-12 * np.abs(c).max())


def test_rotation_then_inverse_is_identity_and_bond_agrees():
    c = random_stiffness(20)
    r = rotations(20, seed=3)
    rotated = an.rotate(c, r)
    scale = np.abs(c).max()
    np.testing.assert_allclose(an.rotate(rotated, np.swapaxes(r, -1, -2)), c, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(an.rotate_voigt(c, r), rotated, rtol=0, atol=1e-12 * scale)
    # Composition: rotating by r1 then r2 is rotating by r2 @ r1.
    r2 = rotations(20, seed=4)
    np.testing.assert_allclose(an.rotate(rotated, r2), an.rotate(c, r2 @ r), rtol=0, atol=1e-12 * scale)
    # Rotation keeps the eigenvalues of the Kelvin (Mandel) form, a frame-independent check.
    kelvin = np.diag([1, 1, 1, np.sqrt(2), np.sqrt(2), np.sqrt(2)])
    np.testing.assert_allclose(np.linalg.eigvalsh(kelvin @ rotated @ kelvin), np.linalg.eigvalsh(kelvin @ c @ kelvin),
                               rtol=1e-12)


def test_christoffel_along_and_across_the_axis():
    c = ti()
    np.testing.assert_allclose(an.christoffel(c, RHO, [0, 0, 1]), sorted([VSV, VSV, VPV]), rtol=1e-14)
    for azimuth in (0.0, 30.0, 90.0):
        phi = np.radians(azimuth)
        v = an.christoffel(c, RHO, [np.cos(phi), np.sin(phi), 0.0])
        np.testing.assert_allclose(v, sorted([VSV, VSH, VPH]), rtol=1e-14)  # qSV = vsv, SH = vsh, qP = vph
    # Tensor and Voigt inputs agree; directions need not be unit vectors.
    np.testing.assert_allclose(an.christoffel(an.voigt_to_tensor(c), RHO, [0, 0, 5.0]), sorted([VSV, VSV, VPV]), rtol=1e-14)


@pytest.mark.parametrize("angle", [10.0, 45.0, 70.0])
def test_christoffel_matches_loves_formula(angle):
    a, cc, l, n, f = an.love_parameters(VPV, VPH, VSV, VSH, ETA, RHO)
    s, c = np.sin(np.radians(angle)), np.cos(np.radians(angle))
    root = np.sqrt(((a - l) * s**2 - (cc - l) * c**2) ** 2 + 4 * (f + l) ** 2 * s**2 * c**2)
    qp = np.sqrt(0.5 * ((a + l) * s**2 + (cc + l) * c**2 + root) / RHO)
    qsv = np.sqrt(0.5 * ((a + l) * s**2 + (cc + l) * c**2 - root) / RHO)
    sh = np.sqrt((n * s**2 + l * c**2) / RHO)
    for azimuth in (0.0, 50.0):
        phi = np.radians(azimuth)
        v = an.christoffel(ti(), RHO, [s * np.cos(phi), s * np.sin(phi), c])
        np.testing.assert_allclose(v, sorted([qp, qsv, sh]), rtol=1e-13)


def test_radial_frames():
    pts = engine.geographic.geographic_to_cartesian([90.0, 0.0, 0.0, 45.0, -30.0], [0.0, 0.0, 90.0, 15.0, -120.0], 1e5)
    r = an.radial_frames(pts)
    np.testing.assert_allclose(r @ np.swapaxes(r, -1, -2), np.broadcast_to(np.eye(3), r.shape), atol=1e-15)
    np.testing.assert_allclose(np.linalg.det(r), 1.0, rtol=1e-14)
    np.testing.assert_allclose(r[..., 2], pts / np.linalg.norm(pts, axis=-1, keepdims=True), atol=1e-15)
    np.testing.assert_allclose(r[0], np.eye(3), atol=1e-15)  # north pole: (e_theta, e_phi, e_r) = (x, y, z)
    np.testing.assert_allclose(r[3][:, 0] @ [0, 0, 1], -np.cos(np.radians(45.0)), rtol=1e-14)  # e_theta points south
    np.testing.assert_array_equal(an.vertical_frames((2, 3)), np.broadcast_to(np.eye(3), (2, 3, 3, 3)))


def test_radially_rotated_tensor_at_the_pole_and_the_equator():
    a, c, l, n, f = an.love_parameters(VPV, VPH, VSV, VSH, ETA, RHO)
    local = ti()
    pole, eq0, eq90 = engine.geographic.geographic_to_cartesian([90.0, 0.0, 0.0], [0.0, 0.0, 90.0], 0.0)
    tol = dict(rtol=0, atol=1e-12 * a)
    np.testing.assert_allclose(an.rotate(local, an.radial_frames(pole)), local, **tol)
    for point, axis in ((eq0, 0), (eq90, 1)):
        t = an.voigt_to_tensor(an.rotate(local, an.radial_frames(point)))
        h1, h2 = [k for k in range(3) if k != axis]  # the two horizontal (isotropy-plane) axes
        assert t[axis, axis, axis, axis] == pytest.approx(c, rel=1e-12)
        assert t[h1, h1, h1, h1] == pytest.approx(a, rel=1e-12) and t[h2, h2, h2, h2] == pytest.approx(a, rel=1e-12)
        assert t[h1, h1, h2, h2] == pytest.approx(a - 2 * n, rel=1e-12)
        assert t[axis, axis, h1, h1] == pytest.approx(f, rel=1e-12) and t[axis, axis, h2, h2] == pytest.approx(f, rel=1e-12)
        assert t[axis, h1, axis, h1] == pytest.approx(l, rel=1e-12) and t[h1, h2, h1, h2] == pytest.approx(n, rel=1e-12)
        direction = np.eye(3)[axis]
        np.testing.assert_allclose(an.christoffel(t, RHO, direction), sorted([VSV, VSV, VPV]), rtol=1e-12)
        np.testing.assert_allclose(an.christoffel(t, RHO, np.eye(3)[h1]), sorted([VSV, VSH, VPH]), rtol=1e-12)


def test_packed_coefficients_box_and_chunk():
    box = engine.mesh.box(x=(0.0, 2.0), y=(0.0, 2.0), z=(-2.0, 0.0), elements=(2, 2, 2), order=2)
    model = engine.Model.transversely_isotropic(box, vpv=VPV, vph=VPH, vsv=VSV, vsh=VSH, eta=ETA, rho=RHO)
    packed = an.packed_coefficients(model, box)
    assert packed.shape == (box.n_elements, 21, 3, 3, 3)
    np.testing.assert_array_equal(packed[:, :, 1, 2, 0], np.broadcast_to(an.pack(ti()), (box.n_elements, 21)))
    iso = engine.Model.isotropic(box, vp=8000.0, vs=4500.0, rho=3300.0)
    np.testing.assert_allclose(an.packed_coefficients(iso, box)[0, :, 0, 0, 0],
                               an.pack(an.isotropic_voigt(3300.0 * (8000.0**2 - 2 * 4500.0**2), 3300.0 * 4500.0**2)), rtol=1e-15)

    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    chunk = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 300e3, prem, 200.0, elements_per_wavelength=1, order=2)
    earth = engine.Model.from_earth(chunk, prem)
    c21 = an.packed_coefficients(earth, chunk, block=5)  # several blocks
    assert c21.shape == (chunk.n_elements, 21) + chunk.point_shape[1:]
    c = an.unpack(np.moveaxis(c21, 1, -1))
    radial = chunk.coordinates / np.linalg.norm(chunk.coordinates, axis=-1, keepdims=True)
    speeds = an.christoffel(c, earth["rho"], radial)
    expected = np.sort(np.stack([earth["vsv"], earth["vsv"], earth["vpv"]], axis=-1), axis=-1)
    np.testing.assert_allclose(speeds, expected, rtol=1e-10)
    # Back in the local frame every point has the TI form of its own Love parameters.
    local = an.rotate_voigt(c, np.swapaxes(an.radial_frames(chunk.coordinates), -1, -2))
    love = an.love_parameters(*(earth[k] for k in ("vpv", "vph", "vsv", "vsh", "eta", "rho")))
    np.testing.assert_allclose(local, an.ti_voigt(*love), rtol=0, atol=1e-11 * np.abs(c).max())


def test_errors_name_the_problem():
    box = engine.mesh.box(x=(0.0, 2.0), y=(0.0, 2.0), z=(-2.0, 0.0), elements=(1, 1, 1), order=1)
    with pytest.raises(ValueError, match=r"missing \['vph', 'vsh'\]"):
        an.packed_coefficients(engine.Model(box, vpv=1.0, vsv=0.5, rho=1.0), box)
    rect = engine.mesh.rectangle(x=(0.0, 1.0), z=(-1.0, 0.0), elements=(1, 1), order=1)
    with pytest.raises(ValueError, match="3D"):
        an.packed_coefficients(engine.Model.isotropic(rect, vp=2.0, vs=1.0, rho=1.0), rect)
    with pytest.raises(ValueError, match="'c' parameter"):
        an.rotate(np.zeros((5, 5)), np.eye(3))
    with pytest.raises(ValueError, match="'R' parameter"):
        an.rotate(ti(), np.eye(2))
    with pytest.raises(ValueError, match="'direction'"):
        an.christoffel(ti(), RHO, [0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="centre"):
        an.radial_frames([0.0, 0.0, 0.0])
