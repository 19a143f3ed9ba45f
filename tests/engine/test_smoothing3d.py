"""3D diffusion smoothing: Gaussian widths in the local (radial, lateral) frame on a box and
on a spherical chunk, the integral, symmetry and positivity, model-dependent lengths.

Widths are measured as second moments of a smoothed delta (implicit Euler makes the
variance sigma^2 exactly for a constant D away from the boundary, see engine.smoothing),
and the shape by the excess kurtosis (3 / n_steps for the n-fold convolution of one step's
kernel; a Gaussian has 0). On the chunk the moments are taken in the point's own frame:
depth below the delta for the radial width, arc lengths north and east along the sphere
for the lateral ones, so a smoothing that were isotropic in Cartesian axes, or that did
not turn with the radius, would fail them.
"""
import numpy as np
import pytest

import engine
from engine.earth import prem
from engine.smoothing import Smoothing, model_dependent_sigma, principal_frame

pytestmark = pytest.mark.usefixtures("one_numba_thread")

CENTRE = (45.0, 15.0)  # geocentric latitude, longitude of the chunk
DELTA_DEPTH = 300e3


@pytest.fixture(scope="module")
def chunk():
    # 16 x 16 degrees, 800 km deep, order 3, elements of ~100 km: 5.9 lateral and 5
    # radial standard deviations of room around the delta below.
    return engine.mesh.spherical_chunk(*CENTRE, 16.0, 16.0, 800e3, prem(crust="none"), 45.0,
                                       elements_per_wavelength=1.0, order=3)


@pytest.fixture(scope="module")
def box():
    # Curved top (topography), so the geometry factors vary from point to point.
    return engine.mesh.box(x=(0.0, 1200.0), y=(0.0, 1000.0), z=(-1000.0, 0.0), elements=(7, 6, 6), order=3,
                           topography=lambda x, y: 40.0 * np.sin(x / 300.0) * np.cos(y / 400.0))


def _delta(mesh, where):
    node = int(np.argmin(np.sum((mesh.global_coordinates - np.asarray(where)) ** 2, axis=1)))
    f = np.zeros(mesh.n_global)
    f[node] = 1.0
    return f, mesh.global_coordinates[node], node


def _moments(weights, out, offsets):
    """Variance and excess kurtosis of the density ``out`` along each offset array."""
    integral = (weights * out).sum()
    stats = []
    for d in offsets:
        var = (weights * out * d ** 2).sum() / integral
        kurt = (weights * out * d ** 4).sum() / integral / var ** 2 - 3.0
        stats.append((var, kurt))
    return integral, stats


def _local_offsets(mesh, centre):
    """Radial offset (m, up), and arc lengths north and east along the sphere of the
    centre's radius (m), of every point from ``centre``."""
    x = mesh.coordinates
    r0 = np.linalg.norm(centre)
    up = centre / r0
    east = np.cross([0.0, 0.0, 1.0], up)
    east /= np.linalg.norm(east)
    north = np.cross(up, east)
    along_up = x @ up
    return (np.linalg.norm(x, axis=-1) - r0,
            r0 * np.arctan2(x @ north, along_up),
            r0 * np.arctan2(x @ east, along_up))


def test_principal_frame_is_radial_north_east_on_the_chunk(chunk, box):
    frame = principal_frame(chunk)
    x = chunk.coordinates
    np.testing.assert_allclose(frame[..., 0, :], x / np.linalg.norm(x, axis=-1, keepdims=True), atol=1e-14)
    np.testing.assert_allclose(np.einsum("...ai,...bi->...ab", frame, frame), np.broadcast_to(np.eye(3), frame.shape),
                               atol=1e-14)
    assert np.all(frame[..., 1, 2] > 0)  # north has a positive z (pole) component here
    assert np.all(np.abs(frame[..., 2, 2]) < 1e-14)  # east is horizontal in the equatorial plane
    np.testing.assert_array_equal(principal_frame(box)[0, 0, 0, 0], np.eye(3)[[2, 0, 1]])


@pytest.mark.parametrize("which", ["box", "chunk"])
def test_stiffness_diagonal_matches_the_kernel(which, box, chunk):
    mesh = {"box": box, "chunk": chunk}[which]
    sigma = (30.0, 80.0, 50.0) if which == "box" else (40e3, 120e3, 90e3)
    smooth = Smoothing(mesh, sigma)
    diag = smooth.stiffness_diagonal()
    for node in (0, 11, mesh.n_global // 3, mesh.n_global // 2 + 7, mesh.n_global - 1):
        e = np.zeros(mesh.n_global)
        e[node] = 1.0
        assert np.isclose(smooth._stiffness(e)[node] / smooth.tau, diag[node], rtol=1e-12)


def test_delta_on_a_box_becomes_a_gaussian_with_sigma_per_direction():
    # 24 x 24 x 24 elements of 100 m (order 3) and a delta at the centre: 6 standard
    # deviations of the widest direction to every side.
    mesh = engine.mesh.box(x=(0.0, 2400.0), y=(0.0, 2400.0), z=(-2400.0, 0.0), elements=(16, 16, 16), order=3)
    sigma = (150.0, 250.0, 200.0)  # vertical, x, y
    n_steps = 8
    smooth = Smoothing(mesh, sigma, n_steps=n_steps, rtol=1e-8)
    f, centre, node = _delta(mesh, (1200.0, 1200.0, -1200.0))
    out = smooth.smooth_field(f)
    w = mesh.quadrature_weights()
    d = mesh.coordinates - centre
    integral, ((vz, kz), (vx, kx), (vy, ky)) = _moments(w, out, (d[..., 2], d[..., 0], d[..., 1]))
    # The integral is kept to rounding (K 1 = 0 plus the constant correction).
    assert abs(integral - smooth.mass[node]) <= 1e-10 * smooth.mass[node]
    # Widths: exact in theory for constant D; 1 % (stricter than the 5 % asked) leaves
    # room for the CG tolerance and the tails near the sides.
    np.testing.assert_allclose(np.sqrt([vz, vx, vy]), sigma, rtol=1e-2)
    # Shape: excess kurtosis 3 / n per axis; 0.03 absolute is 8 % of 3/8 (a coarser
    # mesh than the 2D test's, sigma 1.5-2.5 elements).
    np.testing.assert_allclose([kz, kx, ky], 3.0 / n_steps, atol=0.03)


def test_delta_on_the_chunk_smooths_radially_and_along_the_sphere(chunk):
    sigma_radial, sigma_lateral = 60e3, 150e3  # the seed's [0.2, 0.5, 0.5] wavelengths, for 300 km
    n_steps = 8
    smooth = Smoothing(chunk, (sigma_radial, sigma_lateral, sigma_lateral), n_steps=n_steps, rtol=1e-8)
    where = engine.Geographic(latitude=CENTRE[0], longitude=CENTRE[1], depth_in_meters=DELTA_DEPTH).to_cartesian()
    f, centre, node = _delta(chunk, where)
    out = smooth.smooth_field(f)
    w = chunk.quadrature_weights()
    integral, ((vr, kr), (vn, kn), (ve, ke)) = _moments(w, out, _local_offsets(chunk, centre))
    assert abs(integral - smooth.mass[node]) <= 1e-10 * smooth.mass[node]
    # 5 % on each standard deviation, as the issue asks; measured 0.03 % (8 and 16
    # steps). The departures from exactness are the sphere itself (the radial
    # diffusion's divergence term 2 (r - r0) / r, the lateral arcs' curvature), the
    # CG tolerance and the tails.
    np.testing.assert_allclose(np.sqrt([vr, vn, ve]), [sigma_radial, sigma_lateral, sigma_lateral], rtol=0.05)
    # Gaussian shape (3 / n = 0.375 for the implicit-Euler kernel; measured 0.364 and
    # 0.375), 0.05 absolute: the elements are 1 (lateral) to 3 (radial) sigmas wide.
    np.testing.assert_allclose([kr, kn, ke], 3.0 / n_steps, atol=0.05)
    # A Cartesian-isotropic D with the lateral length would be 2.5x too wide radially.
    assert np.sqrt(vr) < 0.5 * sigma_lateral


def test_chunk_smoothing_is_symmetric_positive_and_keeps_the_integral(chunk):
    vs = 4000.0 + 1e-3 * (engine.earth.EARTH_RADIUS - np.linalg.norm(chunk.coordinates, axis=-1))  # rises with depth
    sigma = model_dependent_sigma(chunk, (0.2, 0.5, 0.5), vs, 1.0 / 70.0)
    smooth = Smoothing(chunk, sigma, n_steps=4)
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((2,) + chunk.point_shape)
    pa, pb = smooth.apply_to_gradient(a), smooth.apply_to_gradient(b)
    # Dot test, scaled by the Cauchy-Schwarz bound of an SPD operator; 1e-10: the CG
    # tolerance (1e-11) is the only departure from exact symmetry.
    scale = np.sqrt((a * pa).sum() * (b * pb).sum())
    assert abs((a * pb).sum() - (pa * b).sum()) <= 1e-10 * scale
    assert (a * pa).sum() > 0 and (b * pb).sum() > 0
    w = chunk.quadrature_weights()
    assert np.isclose((w * pa).sum(), a.sum(), rtol=0, atol=1e-10 * np.abs(a).sum())
    np.testing.assert_allclose(smooth.smooth_field(np.full(chunk.point_shape, 2.5)), 2.5, rtol=1e-12)


def test_model_dependent_lengths_on_the_box_follow_the_velocity():
    mesh = engine.mesh.box(x=(0.0, 4000.0), y=(0.0, 1600.0), z=(-1600.0, 0.0), elements=(20, 8, 8), order=3)
    v = np.where(mesh.coordinates[..., 0] < 2000.0, 2000.0, 4000.0)
    sigma = model_dependent_sigma(mesh, (0.5, 1.0, 1.0), v, 10.0)
    np.testing.assert_allclose(sigma[0], 0.5 * v / 10.0)  # radial (vertical) first
    np.testing.assert_allclose(sigma[1], v / 10.0)
    smooth = Smoothing(mesh, sigma, n_steps=8, rtol=1e-8)
    w = mesh.quadrature_weights()
    widths = []
    for x in (1000.0, 3000.0):
        f, centre, _ = _delta(mesh, (x, 800.0, -800.0))
        d = mesh.coordinates - centre
        _, stats = _moments(w, smooth.smooth_field(f), (d[..., 2], d[..., 0]))
        widths.append(np.sqrt([s[0] for s in stats]))
    # Twice the velocity, twice the length (the slow spot leaks a little into the fast
    # half); 1.7 separates it clearly from 1.
    assert np.all(widths[1] / widths[0] > 1.7)


def test_smoothing_errors_in_3d(box):
    with pytest.raises(ValueError, match=r"The 'sigma' parameter must be a number, a triple \(radial, lateral, lateral\)"):
        Smoothing(box, (1.0, 2.0))
    with pytest.raises(ValueError, match="The 'lengths_in_wavelengths' parameter must be a non-negative number or one "
                                         r"per direction \(radial, lateral, lateral\)"):
        model_dependent_sigma(box, (0.2, 0.5), 3000.0, 1.0)
