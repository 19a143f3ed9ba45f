"""3D source and receiver terms on their own (no time loop): exact checks.

* A point force's nodal vector sums to F (the Lagrange basis is a partition of unity)
  and does the work F . u(x_s) on any displacement the elements reproduce (degree <= N
  in a box, linear in a curved chunk).
* A moment tensor's nodal vector ``f_a = M d phi_a / d x (x_s)`` (the weak form of
  ``f = -M . grad delta``): for ``u = A x + b``, ``sum_a f_a . u_a = M : A`` (the sign:
  ``int f . u = -int M_jk d_k delta u_j = +M_jk d_k u_j(x_s)``), zero net force, zero net
  torque for symmetric M.
* Global CMT rotation ``M_cart = Q M_sph Q^T`` (Q's columns e_r, e_theta, e_phi).
* Receivers: Z, N, E of uniform fields e_r, -e_theta, e_phi; coordinates on the seismograms;
  receivers on the chunk's curved surface are found.
"""
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import engine
from engine.receivers import ReceiverTerms, locate_in_chunk
from engine.solver import _to_dataarray

STF = engine.stf.ricker(1.0)
G = engine.Geographic

# The seed's Crete event (fwi_widgets/examples/data/events.json, GCMT C201504161807A), N m.
CRETE = dict(latitude=35.03, longitude=26.85, depth_km=24.0,
             moment_tensor={"mrr": 5.48e17, "mtt": -1.23e18, "mpp": 6.85e17,
                            "mrt": -3.62e17, "mrp": 1.8e18, "mtp": -3.05e17})
EVENTS = Path(__file__).resolve().parents[2] / "fwi_widgets" / "examples" / "data" / "events.json"


@pytest.fixture(scope="module")
def box():
    return engine.mesh.box(x=(0.0, 1000.0), y=(0.0, 1000.0), z=(-1000.0, 0.0), elements=(3, 3, 3), order=4)


def _chunk(order):
    return engine.mesh.spherical_chunk(lat_center=45.0, lon_center=15.0, lat_extent=10.0, lon_extent=10.0,
                                       max_depth_in_meters=300e3, model=engine.earth.prem(anisotropic=True, crust="one_layer"),
                                       min_period_in_seconds=200.0, elements_per_wavelength=1.0, order=order)


@pytest.fixture(scope="module")
def chunk():
    return _chunk(4)


@pytest.fixture(scope="module")
def chunk2():
    return _chunk(2)


def _weights(source, mesh):
    """Assembled (n_global, 3) nodal source vector."""
    nodes, w = source.nodal_weights(mesh, 3, "elastic")
    out = np.zeros((mesh.n_global, 3))
    np.add.at(out, nodes, w)
    return out


def _symmetric(rng, scale=1.0):
    a = rng.standard_normal((3, 3))
    return scale * (a + a.T)


# Interior points, and points on an element face, edge and corner of the (3, 3, 3) box.
BOX_POINTS = [(412.3, 377.7, -615.1), (1000.0 / 3, 550.0, -300.0), (1000.0 / 3, 2000.0 / 3, -420.0),
              (1000.0 / 3, 2000.0 / 3, -1000.0 / 3), (0.0, 0.0, 0.0)]
CHUNK_POINTS = [G(45.3, 14.2, 24e3), G(45.0, 15.0, 100e3), G(41.0, 19.0, 0.0)]


def _polynomial(x, degree):
    """A fixed vector polynomial of total degree ``degree`` in x (..., 3), scaled to O(1)."""
    s = (x - np.array([500.0, 500.0, -500.0])) / 500.0
    u = np.stack([1.0 + s[..., 0] - 2 * s[..., 1] + 0.5 * s[..., 2],
                  -0.3 + 0.7 * s[..., 2] + s[..., 0],
                  2.0 - s[..., 1] + 0.2 * s[..., 0]], axis=-1)
    if degree >= 2:
        u = u + np.stack([s[..., 0] * s[..., 1], s[..., 2] ** 2, -s[..., 0] * s[..., 2]], axis=-1)
    if degree >= 4:
        u = u + np.stack([s[..., 0] ** 2 * s[..., 1] * s[..., 2], s[..., 1] ** 4 - s[..., 0] ** 3 * s[..., 2],
                          s[..., 0] ** 2 * s[..., 2] ** 2], axis=-1)
    return u


# ------------------------------------------------------------------------ point forces


@pytest.mark.parametrize("point", BOX_POINTS)
def test_a_point_force_sums_to_the_force_and_does_exact_work_in_a_box(box, point):
    force = np.array([0.3, -1.2, 2.5])
    f = _weights(engine.Source.point_force(point, force, STF), box)
    np.testing.assert_allclose(f.sum(axis=0), force, rtol=0, atol=1e-14 * np.abs(force).max())
    for degree in (1, 2, 4):  # the order-4 basis reproduces any polynomial of degree <= 4 exactly
        u = _polynomial(box.global_coordinates, degree)
        exact = force @ _polynomial(np.asarray(point), degree)
        assert abs(np.sum(f * u) - exact) <= 1e-12 * np.abs(force).sum() * np.abs(u).max()


@pytest.mark.parametrize("point", CHUNK_POINTS)
def test_a_point_force_sums_to_the_force_and_does_exact_work_in_a_chunk(chunk, point):
    force = np.array([1.0e10, -2.0e10, 0.5e10])
    f = _weights(engine.Source.point_force(point, force, STF), chunk)
    np.testing.assert_allclose(f.sum(axis=0), force, rtol=0, atol=1e-13 * np.abs(force).max())
    # Curved elements reproduce linear fields (the coordinates are their own interpolant).
    a = np.array([[0.2, -1.0, 0.4], [1.3, 0.1, -0.7], [0.0, 0.5, 2.0]]) / 6.4e6
    b = np.array([0.1, -0.2, 0.3])
    u = chunk.global_coordinates @ a.T + b
    exact = force @ (a @ point.to_cartesian() + b)
    assert abs(np.sum(f * u) - exact) <= 1e-12 * np.abs(force).sum() * np.abs(u).max()


def test_a_force_in_zne_is_rotated_to_the_mesh_frame():
    p = G(30.0, 40.0, 5e3)
    up = engine.Source.point_force(p, (1.0, 0.0, 0.0), STF, frame="zne")
    north = engine.Source.point_force(p, (0.0, 1.0, 0.0), STF, frame="zne")
    east = engine.Source.point_force(p, (0.0, 0.0, 2.0), STF, frame="zne")
    q = p.local_frame()
    np.testing.assert_allclose(up.vector, q[:, 0], atol=1e-15)
    np.testing.assert_allclose(north.vector, -q[:, 1], atol=1e-15)
    np.testing.assert_allclose(east.vector, 2 * q[:, 2], atol=1e-15)
    assert engine.Source.point_force(p, (1.0, 2.0, 3.0), STF).vector == (1.0, 2.0, 3.0)  # mesh frame by default


# ------------------------------------------------------------------- moment tensors


def _check_moment_tensor(f, m, mesh, point_xyz):
    """Work on linear fields, net force and net torque of a nodal moment-tensor vector."""
    x = mesh.global_coordinates
    h = np.ptp(mesh.coordinates[0].reshape(-1, 3), axis=0).max()  # an element's size, m
    scale = np.abs(m).max() / h  # size of a nodal force
    rng = np.random.default_rng(7)
    for _ in range(3):
        a, b = rng.standard_normal((3, 3)), rng.standard_normal(3)
        u = (x - point_xyz) @ a.T + b  # u = A x + b' (centred for round-off)
        assert abs(np.sum(f * u) - np.sum(m * a)) <= 1e-11 * np.abs(m).max() * np.abs(a).max()
    np.testing.assert_allclose(f.sum(axis=0), 0.0, atol=1e-11 * scale)
    torque = np.cross(x - point_xyz, f).sum(axis=0)
    np.testing.assert_allclose(torque, 0.0, atol=1e-11 * scale * h)


@pytest.mark.parametrize("point", BOX_POINTS)
def test_a_moment_tensor_does_the_work_m_colon_a_with_no_net_force_or_torque_in_a_box(box, point):
    m = _symmetric(np.random.default_rng(1), 1e15)
    f = _weights(engine.Source.moment_tensor(point, m, STF), box)
    _check_moment_tensor(f, m, box, np.asarray(point))
    # Degree-4 fields too: the work is M : grad u(x_s) (interior point: one element).
    if point == BOX_POINTS[0]:
        s0, eps = np.asarray(point), 1e-3
        grad = np.stack([(_polynomial(s0 + eps * e, 4) - _polynomial(s0 - eps * e, 4)) / (2 * eps)
                         for e in np.eye(3)], axis=1)  # [j, k] = d u_j / d x_k (exact for the quartic to ~1e-9)
        u = _polynomial(box.global_coordinates, 4)
        assert abs(np.sum(f * u) - np.sum(m * grad)) <= 1e-8 * np.abs(m).max() * np.abs(grad).max()


def test_a_gcmt_moment_tensor_in_a_chunk_does_the_work_of_its_rotated_tensor(chunk):
    p = G(45.3, 14.2, CRETE["depth_km"] * 1e3)
    src = engine.Source.moment_tensor(p, CRETE["moment_tensor"], STF)
    m = np.reshape(src.vector, (3, 3))
    _check_moment_tensor(_weights(src, chunk), m, chunk, p.to_cartesian())


def test_an_explosion_pushes_outward(box):
    point = np.array(BOX_POINTS[0])
    f = _weights(engine.Source.moment_tensor(tuple(point), 1e15 * np.eye(3), STF), box)
    # sum f . (x - x_s) = tr(M) > 0: the nodal forces point away from the source.
    assert np.sum(f * (box.global_coordinates - point)) == pytest.approx(3e15, rel=1e-12)


# ---------------------------------------------------------------- GCMT rotation


def _gcmt(**values):
    out = dict.fromkeys(("mrr", "mtt", "mpp", "mrt", "mrp", "mtp"), 0.0)
    out.update(values)
    return out


def _cartesian(location, tensor):
    return np.reshape(engine.Source.moment_tensor(location, tensor, STF).vector, (3, 3))


def test_gcmt_components_at_the_north_pole():
    # e_r = z, e_theta = x (south along longitude 0), e_phi = y.
    p = G(90.0, 0.0, 10e3)
    expect = {"mrr": (2, 2), "mtt": (0, 0), "mpp": (1, 1), "mrt": (2, 0), "mrp": (2, 1), "mtp": (0, 1)}
    for key, (i, j) in expect.items():
        m = _cartesian(p, _gcmt(**{key: 1.0}))
        want = np.zeros((3, 3))
        want[i, j] = want[j, i] = 1.0
        np.testing.assert_allclose(m, want, atol=1e-15, err_msg=key)


def test_gcmt_components_on_the_equator_at_greenwich():
    # e_r = x, e_theta = -z, e_phi = y: Mrr -> Mxx, Mtt -> Mzz, Mpp -> Myy,
    # Mrt -> -Mxz, Mrp -> Mxy, Mtp -> -Myz.
    p = G(0.0, 0.0, 10e3)
    expect = {"mrr": ((0, 0), 1), "mtt": ((2, 2), 1), "mpp": ((1, 1), 1),
              "mrt": ((0, 2), -1), "mrp": ((0, 1), 1), "mtp": ((1, 2), -1)}
    for key, ((i, j), sign) in expect.items():
        m = _cartesian(p, _gcmt(**{key: 1.0}))
        want = np.zeros((3, 3))
        want[i, j] = want[j, i] = sign
        np.testing.assert_allclose(m, want, atol=1e-15, err_msg=key)


@pytest.mark.parametrize("lat, lon", [(35.03, 26.85), (-60.0, 200.0), (89.9, -30.0)])
def test_gcmt_rotation_keeps_invariants(lat, lon):
    p = G(lat, lon, 24e3)
    iso = _cartesian(p, _gcmt(mrr=2.0, mtt=2.0, mpp=2.0))
    np.testing.assert_allclose(iso, 2.0 * np.eye(3), atol=1e-15)
    mt = CRETE["moment_tensor"]
    m = _cartesian(p, mt)
    m_sph = np.array([[mt["mrr"], mt["mrt"], mt["mrp"]], [mt["mrt"], mt["mtt"], mt["mtp"]], [mt["mrp"], mt["mtp"], mt["mpp"]]])
    scale = np.abs(m_sph).max()
    assert np.trace(m) == pytest.approx(np.trace(m_sph), abs=1e-15 * scale)
    np.testing.assert_allclose(np.linalg.eigvalsh(m), np.linalg.eigvalsh(m_sph), atol=1e-14 * scale)
    assert np.array_equal(m, m.T)


def test_the_crete_event_round_trips():
    if EVENTS.exists():  # the seed's catalogue, when the application data are present
        event = next(e for e in json.loads(EVENTS.read_text()) if e["gcmt_id"] == "C201504161807A")
        assert event["moment_tensor"] == CRETE["moment_tensor"]
    p = G(CRETE["latitude"], CRETE["longitude"], CRETE["depth_km"] * 1e3)
    m = _cartesian(p, CRETE["moment_tensor"])
    q = p.local_frame()
    back = q.T @ m @ q
    names = {"mrr": (0, 0), "mtt": (1, 1), "mpp": (2, 2), "mrt": (0, 1), "mrp": (0, 2), "mtp": (1, 2)}
    for key, (i, j) in names.items():
        assert back[i, j] == pytest.approx(CRETE["moment_tensor"][key], abs=1e-14 * 2e18), key
    # Keys in any case (GCMT files write "Mrr").
    upper = {k.capitalize(): v for k, v in CRETE["moment_tensor"].items()}
    np.testing.assert_array_equal(_cartesian(p, upper), m)


# ---------------------------------------------------------------------- refusals


@pytest.mark.parametrize("make, message", [
    (lambda: engine.Source.moment_tensor((1.0, 2.0, 3.0), [[1, 2, 0], [0, 1, 0], [0, 0, 1]], STF),
     "The moment tensor must be symmetric (M_ij = M_ji)"),
    (lambda: engine.Source.moment_tensor(G(10, 10, 1e3), {"mrr": 1, "mtt": 1, "mpp": 1, "mrt": 0, "mrp": 0}, STF),
     "must have exactly the Global CMT keys ['mrr', 'mtt', 'mpp', 'mrt', 'mrp', 'mtp'] (N m; r up, t south, p east), "
     "but missing ['mtp']"),
    (lambda: engine.Source.moment_tensor(G(10, 10, 1e3), {**_gcmt(), "m0": 1.0}, STF), "unexpected ['m0']"),
    (lambda: engine.Source.moment_tensor(G(10, 10, 1e3), {**_gcmt(), "MRR": 1.0}, STF), "gives 'mrr' twice"),
    (lambda: engine.Source.moment_tensor(G(10, 10, 1e3), _gcmt(mrr="big"), STF),
     "The 'tensor['mrr']' parameter must be a finite number"),
    (lambda: engine.Source.moment_tensor((1.0, 2.0, 3.0), _gcmt(), STF), "needs an engine.Geographic location"),
    (lambda: engine.Source.moment_tensor((1.0, 2.0, 3.0), np.eye(2), STF), "must be a symmetric 3 x 3 matrix at a 3D location"),
    (lambda: engine.Source.moment_tensor((1.0, 2.0), np.eye(3), STF), "(a 3 x 3 tensor needs a 3D location)"),
    (lambda: engine.Source.point_force((1.0, 2.0), (1.0, 2.0, 3.0), STF), "at a 2D location (3 components need a 3D location (x, y, z))"),
    (lambda: engine.Source.point_force((1.0, 2.0, 3.0), (1.0, 2.0, 3.0, 4.0), STF), "components in 2D, or 3 (x, y, z) in 3D, but (1.0, 2.0, 3.0, 4.0) was given"),
    (lambda: engine.Source.point_force((1.0, 2.0, 3.0), (1.0, 2.0, 3.0), STF, frame="zne"), "needs an engine.Geographic location"),
    (lambda: engine.Source.point_force(G(1, 2), (1.0, 2.0, 3.0), STF, frame="enu"), "The 'frame' parameter must be one of"),
])
def test_bad_3d_sources_are_refused(make, message):
    with pytest.raises(ValueError) as err:
        make()
    assert message in str(err.value)


def test_a_geographic_source_needs_a_chunk_and_a_3d_source_three_components(box):
    src = engine.Source.point_force(G(45.0, 15.0, 1e3), (0.0, 0.0, 1.0), STF, name="S")
    with pytest.raises(ValueError, match="Source 'S': A Geographic location needs a spherical mesh"):
        src.nodal_weights(box, 3, "elastic")
    with pytest.raises(ValueError, match="needs a force with 3 component"):
        engine.Source.point_force((500.0, 500.0, -500.0), (0.0, 1.0), STF).nodal_weights(box, 3, "elastic")


# ----------------------------------------------------------------------- receivers


def _record(terms, field):
    """record[r, c] = sum_p w[r, p] u[nodes[r, p], c], as the time loop records it."""
    return np.einsum("rp,rpc->rc", terms.weights, field[terms.nodes])[..., None]  # one time sample


STATIONS = [G(47.3, 7.7 + 7.5, 0.0), G(41.2, 11.1, 0.0), G(44.0, 16.0, 35e3), G(48.0, 17.0, 250e3)]


def test_geographic_receivers_record_z_n_e(chunk):
    rec = engine.Receivers(STATIONS, names=["CH.BALST", "A.B", "C.D", "E.F"])
    terms = ReceiverTerms.build(rec, chunk, np.float64)
    np.testing.assert_allclose(terms.weights.sum(axis=1), 1.0, atol=1e-13)
    for r, g in enumerate(STATIONS):
        q = g.local_frame()
        for direction, want in ((q[:, 0], (1, 0, 0)), (-q[:, 1], (0, 1, 0)), (q[:, 2], (0, 0, 1))):
            field = np.tile(direction, (chunk.n_global, 1))  # a uniform displacement
            values, components = rec.recorded(_record(terms, field), ("X", "Y", "Z"))
            assert components == ("Z", "N", "E")
            np.testing.assert_allclose(values[r, :, 0], want, atol=1e-13)


def test_the_adjoint_rotation_is_the_transpose():
    rec = engine.Receivers(STATIONS)
    rng = np.random.default_rng(3)
    u, v = rng.standard_normal((len(rec), 3, 5)), rng.standard_normal((len(rec), 3, 5))
    forward, _ = rec.recorded(u, ("X", "Y", "Z"))
    assert np.sum(forward * v) == pytest.approx(np.sum(u * rec.to_mesh_frame(v)), rel=1e-13)
    np.testing.assert_allclose(rec.to_mesh_frame(forward), u, atol=1e-14)


def test_seismograms_carry_geographic_coordinates_and_z_n_e(chunk):
    rec = engine.Receivers(STATIONS[:2], names=["CH.BALST", "XX.A"])
    physics = SimpleNamespace(components=("X", "Y", "Z"), name="elastic")
    times = np.arange(4) * 0.5
    record = np.zeros((2, 3, 4))
    record[0, :, 1] = STATIONS[0].local_frame()[:, 0]  # up at the first receiver
    da = _to_dataarray(record, rec, physics, times, "displacement", "m", 0.5)
    assert list(da["component"].values) == ["Z", "N", "E"]
    np.testing.assert_allclose(da.sel(receiver="CH.BALST", time=0.5).values, [1.0, 0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(da["latitude"].values, [47.3, 41.2])
    np.testing.assert_allclose(da["longitude"].values, [15.2, 11.1])
    np.testing.assert_allclose(da["depth"].values, [0.0, 0.0])
    assert da["depth"].attrs["units"] == "m" and "x" not in da.coords


def test_box_receivers_record_x_y_z_exactly(box):
    points = [(412.3, 377.7, -615.1), (1000.0 / 3, 500.0, 0.0), (1000.0, 1000.0, -1000.0)]
    rec = engine.Receivers(points)
    terms = ReceiverTerms.build(rec, box, np.float64)
    field = _polynomial(box.global_coordinates, 4)
    values, components = rec.recorded(_record(terms, field), ("X", "Y", "Z"))
    assert components == ("X", "Y", "Z")
    np.testing.assert_allclose(values[..., 0], _polynomial(np.array(points), 4), rtol=0, atol=1e-12)
    da = _to_dataarray(values * 0, rec, SimpleNamespace(components=("X", "Y", "Z"), name="elastic"), np.zeros(1), "displacement", "m", 1.0)
    np.testing.assert_array_equal(da["y"].values, [377.7, 500.0, 1000.0])
    assert list(da["component"].values) == ["X", "Y", "Z"] and set(da.coords) >= {"x", "y", "z"}


def test_2d_seismograms_are_unchanged():
    rec = engine.Receivers([(500.0, 0.0), (1500.0, -10.0)])
    record = np.arange(12, dtype=np.float32).reshape(2, 2, 3)
    da = _to_dataarray(record, rec, SimpleNamespace(components=("X", "Z"), name="elastic"), np.arange(3.0), "displacement", "m", 1.0)
    np.testing.assert_array_equal(da.values, record.astype(np.float64))
    assert list(da["component"].values) == ["X", "Z"] and sorted(set(da.coords) - {"receiver", "component", "time"}) == ["x", "z"]
    np.testing.assert_array_equal(da["z"].values, [0.0, -10.0])


def test_receivers_refuse_a_mix_and_geographic_on_a_box(box):
    with pytest.raises(ValueError, match="all engine.Geographic positions or all mesh coordinates, but a mix"):
        engine.Receivers([G(1.0, 2.0), (1.0, 2.0, 3.0)])
    with pytest.raises(ValueError, match="A Geographic location needs a spherical mesh"):
        ReceiverTerms.build(engine.Receivers([G(1.0, 2.0)]), box, np.float64)


# ------------------------------------------------------- the chunk's curved surface


def _surface_points(mesh, n=9):
    """Geographic points at depth 0 between the GLL points of the top elements."""
    lat = np.linspace(40.05, 49.95, n) + 0.013
    lon = np.linspace(10.05, 19.95, n) + 0.017
    pts = [G(float(a), float(b), 0.0) for a in lat for b in lon]
    xi, eta, _ = mesh.chunk.cartesian_to_reference(np.stack([p.to_cartesian() for p in pts]))
    return [p for p, x, e in zip(pts, xi, eta) if abs(x) < 1 and abs(e) < 1]


@pytest.mark.parametrize("order", [4, 2])
def test_receivers_on_the_curved_surface_are_located(chunk, chunk2, order):
    mesh = chunk if order == 4 else chunk2
    pts = _surface_points(mesh)
    if order == 2:  # the discrete surface lies inside the sphere: the mesh alone misses them
        elements, _ = mesh.interpolation_matrix(np.stack([p.to_cartesian() for p in pts]))
        assert np.sum(elements < 0) > len(pts) // 2
    rec = engine.Receivers(pts)
    terms = ReceiverTerms.build(rec, mesh, np.float64)
    np.testing.assert_allclose(terms.weights.sum(axis=1), 1.0, atol=1e-12)
    # Interpolating the coordinates gives back the point within the surface's interpolation error.
    x = np.einsum("rp,rpd->rd", terms.weights, mesh.global_coordinates[terms.nodes])
    assert np.max(np.linalg.norm(x - rec.locations, axis=1)) < (1e-3 if order == 4 else 50.0)
    for g in pts[:5]:  # sources on the surface too
        f = _weights(engine.Source.point_force(g, (0.0, 0.0, 1.0), STF), mesh)
        np.testing.assert_allclose(f.sum(axis=0), (0.0, 0.0, 1.0), atol=1e-13)
        m = _weights(engine.Source.moment_tensor(g, _gcmt(mrr=1.0, mtp=0.5), STF), mesh)
        np.testing.assert_allclose(m.sum(axis=0), 0.0, atol=1e-16)


def test_points_above_the_surface_or_outside_the_chunk_are_still_refused(chunk2):
    for g in (G(45.0, 15.0, -2000.0), G(60.0, 15.0, 0.0)):
        assert locate_in_chunk(chunk2, g.to_cartesian()) is None
        with pytest.raises(ValueError, match="lie outside the mesh"):
            ReceiverTerms.build(engine.Receivers([g], names=["OUT"]), chunk2, np.float64)
