"""3D meshes: box, spherical chunk, faces of hexahedra, and geographic positions.

Exact references: a box's volume and side areas; the volume under a polynomial
topography; a gnomonic chunk's volume, free-surface, bottom and side areas from the
solid angle of its spherical quadrilateral (verified independently here).
"""
import numpy as np
import pytest
from scipy import integrate

import engine
from engine.earth import EARTH_RADIUS
from engine.geographic import (
    Geographic,
    cartesian_to_geographic,
    geocentric_to_geographic_latitude,
    geographic_to_cartesian,
    geographic_to_geocentric_latitude,
)
from engine.mesh import point_layers

SIDES_BOX = ("x0", "x1", "y0", "y1", "z0", "z1")
SIDES_CHUNK = ("r0", "r1", "t0", "t1", "p0", "p1")


def solid_angle(a: float, b: float) -> float:
    """Solid angle of the gnomonic patch |atan X| <= a, |atan Y| <= b (half-angles in rad)."""
    return 4.0 * np.arcsin(np.sin(a) * np.sin(b))


def element_radii(mesh):
    r = np.linalg.norm(mesh.coordinates, axis=-1).reshape(mesh.n_elements, -1)
    return r.min(axis=1), r.max(axis=1)


# --------------------------------------------------------------------------- geographic
def test_geographic_cartesian_round_trip_and_frame():
    p = Geographic(latitude=35.03, longitude=26.85, depth_in_meters=24e3)
    xyz = p.to_cartesian()
    assert np.isclose(np.linalg.norm(xyz), EARTH_RADIUS - 24e3, rtol=1e-15)
    back = Geographic.from_cartesian(xyz)
    assert np.allclose([back.latitude, back.longitude, back.depth_in_meters], [35.03, 26.85, 24e3], rtol=0, atol=1e-8)
    q = p.local_frame()
    assert np.allclose(q.T @ q, np.eye(3), atol=1e-15)
    assert np.allclose(np.cross(q[:, 0], q[:, 1]), q[:, 2], atol=1e-15)  # (r, theta, phi) right-handed
    assert np.allclose(q[:, 0], xyz / np.linalg.norm(xyz), atol=1e-15)
    # e_theta points south: moving along it lowers the latitude.
    lat_s, _, _ = cartesian_to_geographic(xyz + 1000.0 * q[:, 1])
    assert lat_s < p.latitude
    zne = Geographic(0.0, 0.0).zne()
    assert np.allclose(zne, [[1, 0, 0], [0, 0, 1], [0, 1, 0]], atol=1e-15)  # Z = x, N = z, E = y at (0, 0)
    # Vectorised forms agree with the scalar ones.
    lats, lons = np.array([0.0, 45.0, -90.0]), np.array([10.0, -120.0, 33.0])
    pts = geographic_to_cartesian(lats, lons, 1e3)
    la, lo, de = cartesian_to_geographic(pts)
    assert np.allclose(la, lats, atol=1e-12) and np.allclose(de, 1e3, atol=1e-6)
    assert np.allclose(lo[:2], lons[:2], atol=1e-12)


def test_geocentric_latitude_conversion():
    f = 1.0 / 299.8
    lat = np.array([-90.0, -45.0, 0.0, 30.0, 45.0, 89.0, 90.0])
    expected = np.degrees(np.arctan((1 - f) ** 2 * np.tan(np.radians(np.clip(lat, -89.999999, 89.999999)))))
    got = geographic_to_geocentric_latitude(lat)
    assert np.allclose(got[1:-1], expected[1:-1], atol=1e-12)
    assert got[0] == -90.0 and got[-1] == 90.0 and got[2] == 0.0
    assert np.allclose(geocentric_to_geographic_latitude(got), lat, atol=1e-12)
    assert 0.19 < 45.0 - got[4] < 0.20  # the largest difference, at 45 degrees


@pytest.mark.parametrize("kwargs, message", [
    (dict(latitude=91.0, longitude=0.0), "between -90 and 90"),
    (dict(latitude=float("nan"), longitude=0.0), "latitude"),
    (dict(latitude=0.0, longitude=float("inf")), "longitude"),
    (dict(latitude=0.0, longitude=0.0, depth_in_meters=7e6), "less than the Earth's radius"),
    (dict(latitude="45", longitude=0.0), "latitude"),
])
def test_geographic_refusals(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Geographic(**kwargs)


# --------------------------------------------------------------------------------- box
@pytest.mark.parametrize("order", [1, 4])
def test_box_volume_areas_normals(order):
    m = engine.mesh.box(x=(-100.0, 2900.0), y=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(3, 2, 2), order=order)
    n = order
    assert m.ndim == 3 and m.axis_names == ("x", "y", "z")
    assert m.point_shape == (12, n + 1, n + 1, n + 1)
    assert m.n_global == (3 * n + 1) * (2 * n + 1) * (2 * n + 1)
    assert np.isclose(m.quadrature_weights().sum(), 3000.0 * 2000.0 * 1000.0, rtol=1e-14)
    areas = {"x0": 2e6, "x1": 2e6, "y0": 3e6, "y1": 3e6, "z0": 6e6, "z1": 6e6}
    outward = {"x0": (-1, 0, 0), "x1": (1, 0, 0), "y0": (0, -1, 0), "y1": (0, 1, 0), "z0": (0, 0, -1), "z1": (0, 0, 1)}
    for side in SIDES_BOX:
        f = m.faces(side)
        assert np.isclose(f.area, areas[side], rtol=1e-14)
        assert np.allclose(f.normals, outward[side], atol=1e-12)
        # The face's global nodes are the points on that side.
        axis, value = {"x": 0, "y": 1, "z": 2}[side[0]], m.bounds[{"x": 0, "y": 1, "z": 2}[side[0]], int(side[1])]
        assert np.allclose(m.global_coordinates[f.global_nodes, axis], value)
        assert f.global_nodes.shape == f.weights.shape == (f.n_faces, (n + 1) ** 2)
    assert m.faces("z1") is m.faces("z1")  # computed once
    assert set(m.absorbing) == {"x0", "x1", "y0", "y1", "z0"}
    assert len(m.side_sets["free_surface"]) == 6 and len(m.side_sets["absorbing"]) == 2 * 4 + 2 * 6 + 6
    assert np.all(m.jacobian > 0)


def test_box_element_size_and_refusals():
    m = engine.mesh.box(x=(0.0, 1000.0), y=(0.0, 500.0), z=(-300.0, 0.0), element_size=250.0, order=2)
    assert m.n_elements == 4 * 2 * 2
    with pytest.raises(ValueError, match="three positive integer counts"):
        engine.mesh.box(x=(0.0, 1.0), y=(0.0, 1.0), z=(-1.0, 0.0), elements=(2, 2))
    with pytest.raises(ValueError, match="min < max"):
        engine.mesh.box(x=(1.0, 0.0), y=(0.0, 1.0), z=(-1.0, 0.0), elements=(2, 2, 2))
    with pytest.raises(ValueError, match="string"):
        engine.mesh.box(x=(0.0, 1.0), y=(0.0, 1.0), z=(-1.0, 0.0), elements=(2, 2, 2), absorbing="z0")
    with pytest.raises(ValueError, match="above the bottom"):
        engine.mesh.box(x=(0.0, 1.0), y=(0.0, 1.0), z=(-1.0, 0.0), elements=(2, 2, 2), topography=lambda x, y: -2.0 + 0 * x)
    with pytest.raises(ValueError, match="spherical mesh"):
        m.position(Geographic(0.0, 0.0))


@pytest.mark.parametrize("order", [2, 4])
def test_box_topography_volume_and_surface(order):
    # z_top = 100 + 0.5 x (1 - x / Lx) y / Ly: quadratic in x, linear in y, so GLL
    # quadrature integrates it exactly: int (z_top - z0) = Lx Ly (100 - z0) + 0.5 (Lx^2 / 6) (Ly / 2).
    lx, ly, z0 = 2000.0, 1000.0, -800.0

    def z_top(x, y):
        return 100.0 + 0.5 * x * (1.0 - x / lx) * y / ly

    m = engine.mesh.box(x=(0.0, lx), y=(0.0, ly), z=(z0, 0.0), elements=(4, 2, 3), order=order, topography=z_top)
    exact = lx * ly * (100.0 - z0) + 0.5 * (lx**2 / 6.0) * (ly / 2.0)
    assert np.isclose(m.quadrature_weights().sum(), exact, rtol=1e-13)
    top = m.faces("z1")
    pts = m.global_coordinates[top.global_nodes]
    assert np.allclose(pts[..., 2], z_top(pts[..., 0], pts[..., 1]), rtol=0, atol=1e-9)  # on the exact surface
    assert np.allclose(np.linalg.norm(top.normals, axis=-1), 1.0, atol=1e-14)
    # The interpolated surface is the exact one (z_top is a polynomial of degree <= 2), so
    # the normals are (-dz/dx, -dz/dy, 1) normalised.
    x, y = pts[..., 0], pts[..., 1]
    n = np.stack([-0.5 * (1.0 - 2.0 * x / lx) * y / ly, -0.5 * x * (1.0 - x / lx) / ly, np.ones_like(x)], axis=-1)
    assert np.allclose(top.normals, n / np.linalg.norm(n, axis=-1, keepdims=True), atol=1e-12)
    # The bottom is flat; the outward normals of the sides are unchanged by the stretch.
    assert np.isclose(m.faces("z0").area, lx * ly, rtol=1e-14)
    assert np.allclose(m.faces("x1").normals, (1, 0, 0), atol=1e-12)
    assert np.all(m.jacobian > 0)


def test_faces_2d_is_face_geometry():
    m = engine.mesh.rectangle(x=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(4, 3), order=3,
                              topography=lambda x: 50.0 * np.sin(x / 400.0))
    for side in ("left", "right", "bottom", "top", "absorbing"):
        f = m.faces(side)
        for row, (e, face) in enumerate(m.side_sets[side]):
            nodes, w, normal = m.face_geometry(int(e), int(face))
            assert np.array_equal(f.global_nodes[row], nodes)
            assert np.array_equal(f.weights[row], w) and np.array_equal(f.normals[row], normal)
            j, i = f.local_indices
            assert np.array_equal(m.ibool[e][j[row], i[row]], nodes)
    with pytest.raises(ValueError, match="Unknown side set"):
        m.faces("r1")


# ----------------------------------------------------------------------- chunk: geometry
def test_solid_angle_formula():
    # A cube face (half-angles pi/4) is a sixth of the sphere.
    assert np.isclose(solid_angle(np.pi / 4, np.pi / 4), 4 * np.pi / 6, rtol=1e-15)
    # Against direct integration of dOmega = dX dY / (1 + X^2 + Y^2)^(3/2) on the tangent plane.
    for a, b in ((np.radians(5.0), np.radians(7.5)), (np.radians(20.0), np.radians(45.0))):
        num, _ = integrate.dblquad(lambda y, x: (1 + x * x + y * y) ** -1.5, -np.tan(a), np.tan(a),
                                   lambda x: -np.tan(b), lambda x: np.tan(b), epsabs=1e-14, epsrel=1e-13)
        assert np.isclose(solid_angle(a, b), num, rtol=1e-12)


def _chunk_exact(chunk):
    a, b = chunk.half_widths
    r0, r1 = chunk.r_bottom, chunk.r_top
    omega = solid_angle(a, b)

    def plane_angle(u, v):
        return np.arccos(np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v))

    ta, tb = np.tan(a), np.tan(b)
    angle_p = plane_angle(np.array([ta, -tb, 1.0]), np.array([ta, tb, 1.0]))  # a side of constant xi
    angle_t = plane_angle(np.array([-ta, tb, 1.0]), np.array([ta, tb, 1.0]))  # a side of constant eta
    sector = (r1**2 - r0**2) / 2.0
    return {
        "volume": (r1**3 - r0**3) / 3.0 * omega,
        "r1": r1**2 * omega, "r0": r0**2 * omega,
        "p0": sector * angle_p, "p1": sector * angle_p, "t0": sector * angle_t, "t1": sector * angle_t,
    }


@pytest.mark.parametrize("lat, lon, lat_extent, lon_extent, depth", [
    (45.0, 15.0, 15.0, 10.0, 300e3),
    (-20.0, 170.0, 30.0, 40.0, 700e3),
])
def test_chunk_volume_and_areas_exact(lat, lon, lat_extent, lon_extent, depth):
    prem = engine.earth.prem(crust="one_layer")
    m = engine.mesh.spherical_chunk(lat, lon, lat_extent, lon_extent, depth, prem, min_period_in_seconds=300.0, order=4)
    exact = _chunk_exact(m.chunk)
    assert abs(m.quadrature_weights().sum() / exact["volume"] - 1.0) < 1e-10
    for side in SIDES_CHUNK:
        assert abs(m.faces(side).area / exact[side] - 1.0) < 1e-10, side
    assert np.all(m.jacobian > 0)


def test_chunk_low_order_converges():
    prem = engine.earth.prem(crust="one_layer")
    errors = []
    for period in (400.0, 200.0):  # halves the lateral element size
        m = engine.mesh.spherical_chunk(45.0, 15.0, 15.0, 10.0, 300e3, prem, min_period_in_seconds=period, order=2)
        errors.append(abs(m.quadrature_weights().sum() / _chunk_exact(m.chunk)["volume"] - 1.0))
    assert errors[0] < 1e-5 and errors[1] < errors[0] / 10.0  # ~h^4


def test_chunk_normals_frame_and_sides():
    prem = engine.earth.prem(crust="one_layer")
    m = engine.mesh.spherical_chunk(45.0, 15.0, 20.0, 30.0, 400e3, prem, min_period_in_seconds=300.0, order=2,
                                    absorbing=("r0", "t0", "t1", "p0", "p1"))
    assert m.axis_names == ("x", "y", "z") and m.ndim == 3
    centre = Geographic(45.0, 15.0).to_cartesian()
    east, north, up = m.chunk.rotation.T
    assert np.allclose(up, centre / EARTH_RADIUS, atol=1e-15)
    outward = {"p0": -east, "p1": east, "t0": north, "t1": -north}
    for side in SIDES_CHUNK:
        f = m.faces(side)
        pts = m.global_coordinates[f.global_nodes]
        radial = pts / np.linalg.norm(pts, axis=-1, keepdims=True)
        assert np.allclose(np.linalg.norm(f.normals, axis=-1), 1.0, atol=1e-14)
        if side in ("r0", "r1"):
            sign = 1.0 if side == "r1" else -1.0
            assert np.all(sign * np.einsum("fpd,fpd->fp", f.normals, radial) > 0.999)
        else:
            # A side lies in a plane through the centre: normal orthogonal to the radius.
            assert np.abs(np.einsum("fpd,fpd->fp", f.normals, radial)).max() < 1e-6
            assert np.all(f.normals @ outward[side] > 0.5)
    # t0 is the northern side, p1 the eastern one.
    lat_t0, lon_p1 = (cartesian_to_geographic(m.global_coordinates[m.faces(s).global_nodes])[i] for s, i in (("t0", 0), ("p1", 1)))
    assert lat_t0.min() > 45.0 and lon_p1.min() > 15.0
    surface = np.linalg.norm(m.global_coordinates[m.faces("r1").global_nodes], axis=-1)
    assert np.allclose(surface, EARTH_RADIUS, rtol=0, atol=1e-6)
    assert set(m.absorbing) == {"r0", "t0", "t1", "p0", "p1"}
    assert len(m.side_sets["free_surface"]) == len(m.side_sets["r1"])
    # Positions: the centre's reference coordinates, and a station inside the chunk.
    xi, eta, r = m.chunk.cartesian_to_reference(m.position(Geographic(45.0, 15.0, 10e3)))
    assert abs(xi) < 1e-14 and abs(eta) < 1e-14 and np.isclose(r, EARTH_RADIUS - 10e3)
    # (At depth 0 a point can lie a few metres above this order-2 mesh's surface, the
    # interpolant's chord between GLL points; at order 4 it is on it.)
    element, _ = m.locate(m.position(Geographic(47.3, 7.7, 100.0)))
    assert 0 <= element < m.n_elements
    with pytest.raises(ValueError, match="outside"):
        m.locate(m.position(Geographic(45.0, 60.0, 0.0)))
    assert np.allclose(m.chunk.reference_to_cartesian(1.0, 0.0, EARTH_RADIUS) @ up, EARTH_RADIUS * np.cos(np.radians(15.0)))


# ---------------------------------------------------------------------- chunk: layering
def test_chunk_honours_every_discontinuity():
    prem = engine.earth.prem(anisotropic=True, crust="prem")
    depth = 1750e3
    m = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, depth, prem, min_period_in_seconds=150.0, order=2)
    r_min, r_max = element_radii(m)
    boundaries = [r for r in prem.discontinuities if EARTH_RADIUS - depth < r < EARTH_RADIUS]
    assert 6356e3 in boundaries and 6346.6e3 in boundaries and 5701e3 in boundaries
    edges = np.unique(np.concatenate([r_min, r_max]).round(3))
    for r in boundaries + [EARTH_RADIUS - depth, EARTH_RADIUS]:
        assert np.min(np.abs(edges - r)) < 1e-3, r  # an element boundary
        assert not np.any((r_min < r - 1e-3) & (r_max > r + 1e-3)), r  # no element straddles it
    # Each element lies in its recorded model layer, so the model samples without error.
    assert np.all(m.element_layers >= 0)
    radius = np.linalg.norm(m.coordinates, axis=-1)
    layer = np.broadcast_to(m.element_layers[:, None, None, None], radius.shape)
    values = prem.evaluate(radius, ("vsv", "rho"), layer=layer)
    assert np.array_equal(point_layers(m, prem), layer)
    top = m.element_layers == prem.layer_names.index("upper_crust")
    assert np.all(values["vsv"][top] == 3200.0)
    lower = m.element_layers == prem.layer_names.index("lower_crust")
    assert np.all(values["vsv"][lower] == 3900.0)  # the Moho's points take the crust's side


def test_chunk_merged_crust():
    prem = engine.earth.prem(anisotropic=True, crust="prem")
    m = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 200e3, prem, min_period_in_seconds=150.0, order=2, merge_crust=True)
    r_min, r_max = element_radii(m)
    assert np.any((r_min < 6356e3 - 1e3) & (r_max > 6356e3 + 1e3))  # the mid crust is not honoured
    assert np.min(np.abs(np.concatenate([r_min, r_max]) - 6346.6e3)) < 1e-3  # the Moho is
    crust = m.chunk.radial_layers[-1]
    assert (crust.r_bottom, crust.r_top, crust.model_layer) == (6346.6e3, EARTH_RADIUS, -1)
    assert crust.name == "lower_crust+upper_crust" and crust.slowest_velocity == 3200.0
    merged = m.element_layers == -1
    assert merged.sum() == np.prod(m.chunk.lateral_elements)
    layers = point_layers(m, prem)
    radius = np.linalg.norm(m.coordinates, axis=-1)
    vs = prem.evaluate(radius, "vsv", layer=layers)
    on_moho = merged[:, None, None, None] & (np.abs(radius - 6346.6e3) < 1e-3)
    assert on_moho.any() and np.all(vs[on_moho] == 3900.0)  # a merged element's bottom is crust
    # The one-layer model: merged by default (no mid-crust boundary), one model layer.
    one = engine.earth.prem(anisotropic=True, crust="one_layer")
    m1 = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 200e3, one, min_period_in_seconds=150.0, order=2)
    assert m1.chunk.radial_layers[-1].model_layer == one.layer_names.index("crust")
    assert [layer.r_bottom for layer in m1.chunk.radial_layers] == [layer.r_bottom for layer in m.chunk.radial_layers]
    with pytest.raises(ValueError, match="layer boundaries"):
        point_layers(m1, prem)


def test_continental_chunk_sizing():
    """The tutorial's chunk (40 x 40 degrees, 1750 km, 70 s, 2 elements per wavelength,
    anisotropic PREM with one crust). Sizes do not depend on the order, so it is built at
    order 1 (fast); the order-4 point count follows from the structured grid."""
    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    m = engine.mesh.spherical_chunk(45.0, 15.0, 40.0, 40.0, 1750e3, prem, min_period_in_seconds=70.0,
                                    elements_per_wavelength=2.0, order=1)
    layers = m.chunk.radial_layers
    assert [(layer.name, layer.n_elements) for layer in layers] == [
        ("lower_mantle", 5), ("lower_mantle_top", 1), ("transition_zone_670_600", 1),
        ("transition_zone_600_400", 2), ("upper_mantle_400_220", 2), ("lvz", 1), ("lid", 1), ("crust", 1),
    ]
    for layer in layers:  # every element thinner than its wavelength / 2
        assert (layer.r_top - layer.r_bottom) / layer.n_elements <= layer.wavelength / 2.0
    n_xi, n_eta = m.chunk.lateral_elements
    assert (n_xi, n_eta) == (40, 40)  # 4448 km of surface arc over 224 km / 2 (crust vs 3200 m/s)
    assert EARTH_RADIUS * np.radians(40.0) / n_xi <= 3200.0 * 70.0 / 2.0
    n_r = sum(layer.n_elements for layer in layers)
    assert m.n_elements == n_xi * n_eta * n_r == 22400
    assert m.n_global == (n_xi + 1) * (n_eta + 1) * (n_r + 1)
    order = 4
    assert (order * n_xi + 1) * (order * n_eta + 1) * (order * n_r + 1) == 1_477_497


@pytest.mark.parametrize("kwargs, message", [
    (dict(lat_extent=91.0), "0 < width <= 90"),
    (dict(lon_extent=0.0), "0 < width <= 90"),
    (dict(lon_extent=-5.0), "lon_extent"),
    (dict(max_depth_in_meters=3000e3), "core-mantle boundary"),
    (dict(max_depth_in_meters=0.0), "core-mantle boundary"),
    (dict(max_depth_in_meters=-1.0), "max_depth_in_meters"),
    (dict(min_period_in_seconds=0.0), "min_period_in_seconds"),
    (dict(min_period_in_seconds=-70.0), "min_period_in_seconds"),
    (dict(elements_per_wavelength=0.0), "elements_per_wavelength"),
    (dict(lat_center=95.0), "lat_center"),
    (dict(absorbing="r0"), "string"),
    (dict(absorbing=("bottom",)), "Unknown sides"),
    (dict(merge_crust="yes"), "merge_crust"),
])
def test_chunk_refusals(kwargs, message):
    args = dict(lat_center=45.0, lon_center=15.0, lat_extent=10.0, lon_extent=10.0, max_depth_in_meters=100e3,
                model=engine.earth.prem(), min_period_in_seconds=200.0, order=1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        engine.mesh.spherical_chunk(**args)
    with pytest.raises(TypeError, match="EarthModel1D"):
        engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 100e3, "prem", 200.0)


def test_chunk_to_the_core_mantle_boundary():
    prem = engine.earth.prem(crust="one_layer")
    m = engine.mesh.spherical_chunk(0.0, 0.0, 5.0, 5.0, 2891e3, prem, min_period_in_seconds=400.0, order=1)
    assert np.isclose(element_radii(m)[0].min(), 3480e3, rtol=0, atol=1e-3)
    assert m.chunk.radial_layers[0].name == "d_double_prime"
