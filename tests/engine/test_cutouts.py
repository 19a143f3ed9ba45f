"""Cutouts (``engine.cutouts``): the half-cosine taper in 2D and 3D, straight-line
distances (on a chunk the chord through the Earth, from independently converted
geocentric positions), continuity across elements, the source x receiver mask, and the
errors at the boundary."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine
from engine.cutouts import cutout_mask, cutout_taper


def _formula(d, radius, width):
    """The taper written out: 0 to radius, half cosine over width, then 1."""
    s = np.clip((d - radius) / width, 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * s))


def _nearest(points, centres):
    """Brute-force distance of every point (..., ndim) to the nearest centre (n, ndim)."""
    return np.min([np.linalg.norm(points - c, axis=-1) for c in np.asarray(centres, float)], axis=0)


def _copies_agree(mesh, values):
    """Largest difference between copies of one global node (shared by elements)."""
    flat, v = mesh.ibool.ravel(), values.ravel()
    hi = np.full(mesh.n_global, -np.inf)
    lo = np.full(mesh.n_global, np.inf)
    np.maximum.at(hi, flat, v)
    np.minimum.at(lo, flat, v)
    return float(np.max(hi - lo))


@functools.lru_cache(maxsize=None)
def _rectangle():
    # Curved top so the geometry varies from point to point (as test_smoothing's small_mesh).
    return engine.mesh.rectangle(x=(0.0, 1200.0), z=(-1200.0, 0.0), elements=(12, 12),
                                 topography=lambda x: 60.0 * np.sin(x / 300.0))


@functools.lru_cache(maxsize=None)
def _box():
    return engine.mesh.box(x=(0.0, 3000.0), y=(0.0, 2000.0), z=(-2000.0, 0.0), elements=(3, 2, 2), order=4)


@functools.lru_cache(maxsize=None)
def _chunk():
    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    return engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 200e3, prem, min_period_in_seconds=150.0, order=4)


def _geocentric_xyz(latitude, longitude, depth):
    """Earth-centred position written out here, not taken from the engine: geocentric
    latitude (the engine's convention, see engine.geographic), sphere of 6371 km."""
    lat, lon, r = np.radians(latitude), np.radians(longitude), 6371e3 - depth
    return np.array([r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)])


# --- 2D: the behaviour engine.smoothing.cutout_taper had --------------------------------
def test_2d_taper_shape():
    mesh = _rectangle()
    centres = [(300.0, -600.0), (900.0, -300.0)]
    taper = cutout_taper(mesh, centres, radius=100.0, taper_width=200.0)
    pts = mesh.coordinates
    d = np.min([np.hypot(pts[..., 0] - cx, pts[..., 1] - cz) for cx, cz in centres], axis=0)
    assert taper.shape == mesh.point_shape
    assert np.all(taper[d <= 100.0] == 0.0) and np.any(d <= 100.0)
    assert np.all(taper[d >= 300.0] == 1.0)
    ramp = (d > 100.0) & (d < 300.0)
    assert np.all((taper[ramp] > 0.0) & (taper[ramp] < 1.0))
    order = np.argsort(d, axis=None)
    assert np.all(np.diff(taper.reshape(-1)[order]) >= 0.0)  # monotone in the distance
    np.testing.assert_allclose(taper, cutout_taper(mesh, np.array(centres), 100.0, 200.0))
    # Default width = radius: half way up at 1.5 radius.
    one = cutout_taper(mesh, (600.0, -600.0), radius=200.0)
    r = np.hypot(pts[..., 0] - 600.0, pts[..., 1] + 600.0)
    np.testing.assert_allclose(one, _formula(r, 200.0, 200.0), atol=1e-14)
    assert np.all(cutout_taper(mesh, np.zeros((0, 2)), 50.0) == 1.0)
    assert np.all(cutout_taper(mesh, [], 50.0) == 1.0)


# --- 3D box --------------------------------------------------------------------------------
def test_3d_box_taper_zero_inside_one_outside_formula_between():
    mesh = _box()
    centres = [(1500.0, 1000.0, -1000.0), (400.0, 1700.0, -100.0)]
    radius, width = 300.0, 400.0
    taper = cutout_taper(mesh, centres, radius, width)
    d = _nearest(mesh.coordinates, centres)
    assert taper.shape == mesh.point_shape == (12, 5, 5, 5)
    assert np.any(d <= radius) and np.all(taper[d <= radius] == 0.0)
    assert np.all(taper[d >= radius + width] == 1.0)
    ramp = (d > radius) & (d < radius + width)
    assert np.count_nonzero(ramp) > 20 and np.all((taper[ramp] > 0.0) & (taper[ramp] < 1.0))
    np.testing.assert_allclose(taper, _formula(d, radius, width), rtol=0, atol=1e-12)
    order = np.argsort(d, axis=None)
    assert np.all(np.diff(taper.reshape(-1)[order]) >= 0.0)
    # Continuous across elements: every copy of a shared node has the same value.
    assert _copies_agree(mesh, taper) == 0.0
    # A single (3,) centre is one centre; the default width is the radius.
    np.testing.assert_array_equal(cutout_taper(mesh, centres[0], radius),
                                  cutout_taper(mesh, [centres[0]], radius, radius))


@pytest.mark.parametrize("fraction, expected", [(1.0 / 3.0, 0.25), (0.5, 0.5), (2.0 / 3.0, 0.75)])
def test_3d_half_cosine_at_a_known_distance(fraction, expected):
    # A centre placed at a known distance from one GLL node, along an oblique direction:
    # (1 - cos(pi f)) / 2 is 1/4, 1/2, 3/4 at f = 1/3, 1/2, 2/3 of the taper width.
    mesh = _box()
    radius, width = 250.0, 600.0
    node = mesh.global_coordinates[int(np.argmin(np.linalg.norm(mesh.global_coordinates - (1500.0, 1000.0, -1000.0), axis=1)))]
    direction = np.array([2.0, -1.0, 2.0]) / 3.0  # unit length
    centre = node + (radius + fraction * width) * direction
    taper = cutout_taper(mesh, [centre], radius, width)
    at_node = taper[np.all(np.isclose(mesh.coordinates, node, rtol=0, atol=1e-9), axis=-1)]
    assert at_node.size >= 1  # the node and its copies in the neighbouring elements
    np.testing.assert_allclose(at_node, expected, rtol=0, atol=1e-12)


# --- spherical chunk: Geographic centres, chord distances -------------------------------
def test_chunk_geographic_centre_matches_independent_chord_distance():
    mesh = _chunk()
    assert engine.earth.EARTH_RADIUS == 6371e3  # the sphere _geocentric_xyz writes out
    where = dict(latitude=46.3, longitude=16.2, depth_in_meters=35e3)
    radius, width = 60e3, 120e3
    taper = cutout_taper(mesh, engine.Geographic(**where), radius, width)
    centre = _geocentric_xyz(where["latitude"], where["longitude"], where["depth_in_meters"])
    d = np.linalg.norm(mesh.coordinates - centre, axis=-1)  # the chord, through the Earth
    np.testing.assert_allclose(taper, _formula(d, radius, width), rtol=0, atol=1e-9)
    assert np.any(taper == 0.0) and np.any((taper > 0.0) & (taper < 1.0)) and np.any(taper == 1.0)
    # Zero at the mesh point nearest to the centre, at depth.
    nearest = np.unravel_index(np.argmin(d), d.shape)
    assert d[nearest] < radius and taper[nearest] == 0.0
    assert _copies_agree(mesh, taper) == 0.0
    # One Geographic, a list of one, and its Cartesian position give the same factor.
    np.testing.assert_array_equal(cutout_taper(mesh, [engine.Geographic(**where)], radius, width), taper)
    np.testing.assert_allclose(cutout_taper(mesh, centre, radius, width), taper, rtol=0, atol=1e-9)


def test_chunk_cutout_sits_on_the_engine_position():
    # A centre at a GLL point, as a Geographic: the engine's conversion must bring it back
    # onto that point (a geographic-vs-geocentric mix-up would move it by up to 21 km,
    # far outside a 1 km radius).
    mesh = _chunk()
    point = mesh.coordinates[37, 2, 1, 3]
    where = engine.Geographic.from_cartesian(point)
    assert where.depth_in_meters > 10e3  # a point at depth, away from the equator
    taper = cutout_taper(mesh, where, radius=1e3, taper_width=1e3)
    assert taper[37, 2, 1, 3] == 0.0
    assert np.count_nonzero(taper < 1.0) == np.count_nonzero(np.all(np.isclose(mesh.coordinates, point, rtol=0, atol=1e-3), axis=-1))


def test_chunk_mask_is_the_product_and_matches_receiver_positions():
    mesh = _chunk()
    source = engine.Geographic(44.0, 14.0, 50e3)
    stations = [engine.Geographic(47.0, 17.5, 0.0), engine.Geographic(43.0, 18.0, 0.0)]
    mask = cutout_mask(mesh, sources=[source], receivers=stations, source_radius=80e3, receiver_radius=50e3,
                       taper_width=100e3)
    expected = cutout_taper(mesh, source, 80e3, 100e3) * cutout_taper(mesh, stations, 50e3, 100e3)
    np.testing.assert_array_equal(mask, expected)
    assert mask.min() == 0.0 and mask.max() == 1.0
    # The receivers' own Cartesian positions (engine.Receivers converts them) give the same.
    rec = engine.Receivers(stations, names=["A", "B"])
    np.testing.assert_array_equal(cutout_mask(mesh, receivers=rec.locations, receiver_radius=50e3, taper_width=100e3),
                                  cutout_taper(mesh, stations, 50e3, 100e3))


# --- cutout_mask -----------------------------------------------------------------------
def test_mask_kinds_and_defaults_2d():
    mesh = _rectangle()
    src, recs = [(600.0, -600.0)], [(200.0, 0.0), (1000.0, 0.0)]
    both = cutout_mask(mesh, src, recs, source_radius=150.0, receiver_radius=80.0)
    np.testing.assert_array_equal(both, cutout_taper(mesh, src, 150.0) * cutout_taper(mesh, recs, 80.0))
    np.testing.assert_array_equal(cutout_mask(mesh, src, recs, source_radius=150.0),
                                  cutout_taper(mesh, src, 150.0))  # no receiver radius: no receiver cutout
    np.testing.assert_array_equal(cutout_mask(mesh, src, recs, receiver_radius=80.0), cutout_taper(mesh, recs, 80.0))
    assert np.all(cutout_mask(mesh) == 1.0) and cutout_mask(mesh).shape == mesh.point_shape
    assert np.all(cutout_mask(mesh, receivers=[], source_radius=10.0, receiver_radius=10.0) == 1.0)
    # One taper width for both kinds.
    np.testing.assert_array_equal(cutout_mask(mesh, src, recs, 150.0, 80.0, taper_width=40.0),
                                  cutout_taper(mesh, src, 150.0, 40.0) * cutout_taper(mesh, recs, 80.0, 40.0))


# --- errors at the boundary ------------------------------------------------------------
@pytest.mark.parametrize(
    "mesh_name, kwargs, message",
    [
        ("rectangle", dict(centres=[(0.0, 0.0)], radius=-1.0), "The 'radius' parameter must be positive, but -1.0 was given."),
        ("box", dict(centres=[(0.0, 0.0, 0.0)], radius=0), "The 'radius' parameter must be positive, but 0.0 was given."),
        ("box", dict(centres=[(0.0, 0.0, 0.0)], radius=10.0, taper_width=-5.0),
         "The 'taper_width' parameter must be positive, but -5.0 was given."),
        ("rectangle", dict(centres=[(0.0, 0.0, 1.0)], radius=10.0),
         "The 'centres' parameter must be finite positions shaped (n, 2), but an array shaped (1, 3) was given."),
        ("box", dict(centres=[(0.0, 1.0)], radius=10.0),
         "The 'centres' parameter must be finite positions shaped (n, 3), but an array shaped (1, 2) was given."),
        ("box", dict(centres=np.zeros((2, 3, 1)), radius=10.0), "The 'centres' parameter must be finite positions shaped (n, 3)"),
        ("box", dict(centres=[(np.nan, 0.0, 0.0)], radius=10.0), "The 'centres' parameter must be finite positions shaped"),
        ("box", dict(centres=engine.Geographic(45.0, 15.0, 1e3), radius=10.0),
         "The 'centres' parameter holds engine.Geographic positions, which need a spherical mesh "
         "(engine.mesh.spherical_chunk), but this mesh has Cartesian axes ('x', 'y', 'z'); give the centres as "
         "positions shaped (n, 3) in m instead."),
        ("rectangle", dict(centres=[engine.Geographic(45.0, 15.0)], radius=10.0), "The 'centres' parameter holds engine.Geographic"),
        ("chunk", dict(centres=[engine.Geographic(45.0, 15.0), (0.0, 0.0, 6371e3)], radius=10.0),
         "The 'centres' parameter must be all engine.Geographic positions or all mesh coordinates, but a mix was given "
         "(1 Geographic of 2)."),
    ],
)
def test_taper_errors(mesh_name, kwargs, message):
    mesh = {"rectangle": _rectangle, "box": _box, "chunk": _chunk}[mesh_name]()
    with pytest.raises(ValueError) as info:
        cutout_taper(mesh, **kwargs)
    assert str(info.value).startswith(message)


def test_taper_refuses_non_numbers():
    with pytest.raises(TypeError, match=r"The 'centres' parameter must be positions shaped \(n, 3\)"):
        cutout_taper(_box(), [("a", "b", "c")], 10.0)
    with pytest.raises(TypeError, match="The 'radius' parameter must be a number"):
        cutout_taper(_box(), [(0.0, 0.0, 0.0)], "far")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sources=[(0.0, 0.0, 0.0)], source_radius=-3.0), "The 'source_radius' parameter must be positive, but -3.0 was given."),
        (dict(receivers=[(0.0, 0.0, 0.0)], receiver_radius=0.0), "The 'receiver_radius' parameter must be positive"),
        (dict(receivers=[(0.0, 0.0)], receiver_radius=5.0), "The 'receivers' parameter must be finite positions shaped (n, 3)"),
        # Checked even where that kind has no radius: a wrong position is a mistake either way.
        (dict(sources=[(0.0, 0.0)], receiver_radius=5.0), "The 'sources' parameter must be finite positions shaped (n, 3)"),
        (dict(receivers=[engine.Geographic(0.0, 0.0)], receiver_radius=5.0), "The 'receivers' parameter holds engine.Geographic"),
        (dict(source_radius=5.0, taper_width=-1.0), "The 'taper_width' parameter must be positive"),
    ],
)
def test_mask_errors(kwargs, message):
    with pytest.raises(ValueError) as info:
        cutout_mask(_box(), **kwargs)
    assert str(info.value).startswith(message)
