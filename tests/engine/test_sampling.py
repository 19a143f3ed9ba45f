"""The one sampler (``engine.sampling``): exact at arbitrary points, analytic location in
a chunk equal to the generic search, and the plot grids of a chunk (depth slices,
great-circle sections, ``Model.to_xarray``) carrying PREM's values and discontinuities."""
from __future__ import annotations

import functools

import numpy as np
import pytest

import engine
from engine import sampling
from engine.geographic import EARTH_RADIUS, geographic_to_cartesian


@functools.lru_cache(maxsize=None)
def _chunk():
    prem = engine.earth.prem(anisotropic=True, crust="one_layer")
    mesh = engine.mesh.spherical_chunk(45.0, 15.0, 20.0, 16.0, 600e3, prem, min_period_in_seconds=120.0, order=4)
    return mesh, prem, engine.Model.from_earth(mesh, prem)


def test_box_sampler_is_exact_for_polynomials_of_the_order():
    mesh = engine.mesh.box(x=(0.0, 300.0), y=(-100.0, 200.0), z=(-200.0, 0.0), elements=(3, 2, 2), order=3)
    x, y, z = np.moveaxis(mesh.coordinates, -1, 0)
    field = x**3 - 2.0 * x * y**2 + 3.0 * y * z**2 + z**3  # degree 3 in each variable
    rng = np.random.default_rng(0)
    pts = rng.uniform([0.0, -100.0, -200.0], [300.0, 200.0, 0.0], size=(50, 3))
    exact = pts[:, 0]**3 - 2 * pts[:, 0] * pts[:, 1]**2 + 3 * pts[:, 1] * pts[:, 2]**2 + pts[:, 2]**3
    got = sampling.sample(mesh, field, pts)
    np.testing.assert_allclose(got, exact, rtol=1e-10, atol=1e-9 * np.abs(exact).max())
    # a global field gives the same; a point outside gives NaN
    glob = np.zeros(mesh.n_global)
    glob[mesh.ibool] = field
    np.testing.assert_allclose(sampling.sample(mesh, glob, pts), got, rtol=1e-12)
    assert np.isnan(sampling.sample(mesh, field, [[400.0, 0.0, -10.0]])[0])


def test_sampler_refuses_fields_and_points_of_the_wrong_shape():
    mesh = engine.mesh.box(x=(0.0, 1.0), y=(0.0, 1.0), z=(0.0, 1.0), elements=(1, 1, 1), order=2)
    with pytest.raises(ValueError, match=r"shaped \(n, 3\)"):
        sampling.Sampler(mesh, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="per element point"):
        sampling.Sampler(mesh, [[0.5, 0.5, 0.5]])(np.zeros(7))
    with pytest.raises(ValueError, match="spherical chunk"):
        sampling.depth_slice(mesh, np.zeros(mesh.point_shape), 0.1)


def test_chunk_location_is_the_generic_search():
    """The analytic inversion of the chunk's mapping finds the element and the local
    coordinates that the KD-tree and Newton search finds (interpolated values agree)."""
    mesh, _, _ = _chunk()
    rng = np.random.default_rng(1)
    lat = rng.uniform(37.0, 53.0, 300)
    lon = rng.uniform(9.0, 21.0, 300)
    depth = rng.uniform(0.0, 600e3, 300)
    pts = geographic_to_cartesian(lat, lon, depth)
    field = np.sin(mesh.coordinates[..., 0] / 3e5) * np.cos(mesh.coordinates[..., 2] / 2e5)
    analytic = sampling.Sampler(mesh, pts)
    generic_elements, generic_weights = mesh.interpolation_matrix(pts)
    assert np.array_equal(analytic.inside, generic_elements >= 0)
    generic = np.einsum("pkji,pkji->p", generic_weights, field[np.maximum(generic_elements, 0)])
    # Not to roundoff: the search inverts the degree-4 interpolant of the geometry, the
    # analytic path the exact mapping; inside an element they differ by the geometry's
    # interpolation error (measured 1e-11 of the field's range here).
    np.testing.assert_allclose(analytic(field)[analytic.inside], generic[analytic.inside], rtol=0, atol=1e-9)
    assert analytic.inside.mean() > 0.9  # the random points are mostly inside the chunk


def test_depth_slice_and_section_carry_prem_and_its_discontinuities():
    mesh, prem, model = _chunk()
    sl = sampling.depth_slice(mesh, model, 150e3, n_points=41)
    assert sl.vsv.dims == ("latitude", "longitude") and float(sl.depth) == 150e3
    inside = np.isfinite(sl.vsv.values)
    assert 0.5 < inside.mean() < 1.0  # the chunk's outline is not a latitude-longitude box
    expected = prem.evaluate(EARTH_RADIUS - 150e3, ["vsv", "vsh"])
    for name in ("vsv", "vsh"):
        np.testing.assert_allclose(sl[name].values[inside], expected[name], rtol=1e-10)
    # 220 km: the anisotropic lid above, isotropic below; each side keeps its own value.
    above, below = 220e3 - 1.0, 220e3 + 1.0
    sec = sampling.great_circle_section(mesh, model, (40.0, 12.0), (50.0, 18.0), depths=[above, below], n_points=11)
    assert sec.vsh.dims == ("depth", "distance") and sec.latitude.dims == ("distance",)
    for depth, side in ((above, "below"), (below, "above")):
        radius = EARTH_RADIUS - depth
        ref = prem.evaluate(radius, ["vsh", "vsv"], side=side)  # the side the point is on, seen from the boundary
        np.testing.assert_allclose(sec.vsh.sel(depth=depth).values, ref["vsh"], rtol=1e-6)
    jump = float(sec.vsh.sel(depth=above)[5] - sec.vsh.sel(depth=below)[5])
    assert abs(jump) > 50.0  # m/s: PREM's vsh jumps by about 130 m/s at 220 km
    np.testing.assert_allclose(sec.latitude.values[[0, -1]], [40.0, 50.0], atol=1e-9)
    np.testing.assert_allclose(sec.distance.values[-1], np.degrees(np.arccos(
        geographic_to_cartesian(40.0, 12.0) @ geographic_to_cartesian(50.0, 18.0) / EARTH_RADIUS**2)), rtol=1e-12)


def test_model_to_xarray_on_a_chunk_is_a_geographic_grid():
    mesh, prem, model = _chunk()
    grid = model.to_xarray(shape=(13, 21, 21))
    assert grid.vsv.dims == engine.model.GEOGRAPHIC_DIMS
    assert grid.depth.values[0] == 0.0 and grid.depth.values[-1] == pytest.approx(600e3)
    depth = np.broadcast_to(grid.depth.values[:, None, None], grid.vsv.shape)
    inside = np.isfinite(grid.vsv.values)
    assert 0.5 < inside.mean() < 1.0
    radius = EARTH_RADIUS - depth[inside]
    # A grid depth on a discontinuity (the surface, 80 km...) may take either side's value.
    below, above = (prem.evaluate(radius, "vsv", side=s) for s in ("below", "above"))
    got = grid.vsv.values[inside]
    assert np.all(np.isclose(got, below, rtol=1e-9) | np.isclose(got, above, rtol=1e-9))
