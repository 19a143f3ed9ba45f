"""3D models: from a 1D Earth model, from (depth, latitude, longitude) grids, in a box."""
import numpy as np
import pytest
import xarray as xr

import engine
from engine.geographic import cartesian_to_geographic

MOHO, R220 = 6346.6e3, 6151.0e3


@pytest.fixture(scope="module")
def prem():
    return engine.earth.prem(anisotropic=True, crust="one_layer")


@pytest.fixture(scope="module")
def chunk(prem):
    # 7 x 7 laterally, 4 element layers (400-220 km, LVZ, LID, crust): 196 elements.
    return engine.mesh.spherical_chunk(lat_center=45, lon_center=15, lat_extent=10, lon_extent=10,
                                       max_depth_in_meters=300e3, model=prem, min_period_in_seconds=100,
                                       elements_per_wavelength=2, order=2)


@pytest.fixture(scope="module")
def earth(chunk, prem):
    return engine.Model.from_earth(chunk, prem)


def element_radii(mesh):
    r = np.linalg.norm(mesh.coordinates, axis=-1)
    return r, r.reshape(mesh.n_elements, -1).mean(axis=1)


def test_from_earth_equals_evaluate_at_the_radii(chunk, prem, earth):
    assert earth.parameters == ("vpv", "vph", "vsv", "vsh", "eta", "rho")
    r, centre = element_radii(chunk)
    # Each element's layer from its centre's radius (independent of point_layers).
    layer = prem.layer_index(centre)[:, None, None, None] * np.ones(chunk.point_shape, dtype=np.int64)
    expected = prem.evaluate(np.minimum(r, prem.radius), layer=layer)
    for name, values in expected.items():
        np.testing.assert_allclose(earth[name], values, rtol=1e-14, err_msg=name)
        assert earth[name].shape == chunk.point_shape
    iso = engine.earth.prem(anisotropic=False, crust="one_layer")
    m = engine.Model.from_earth(chunk, iso)
    assert m.parameters == ("vp", "vs", "rho")
    np.testing.assert_allclose(m["vs"], iso.evaluate(np.minimum(r, iso.radius), "vs", layer=layer), rtol=1e-14)
    sub = engine.Model.from_earth(chunk, "prem_ani_one_crust", parameters="vsh")
    assert sub.parameters == ("vsh",)
    np.testing.assert_array_equal(sub["vsh"], earth["vsh"])


@pytest.mark.parametrize("radius, above, below", [
    (MOHO, dict(vsv=3200.0, vsh=3200.0, rho=2600.0), "lid"),
    (R220, "lvz", "upper_mantle_400_220"),
])
def test_discontinuity_keeps_both_sides(chunk, prem, earth, radius, above, below):
    r, centre = element_radii(chunk)
    on = np.abs(r - radius) < 1.0
    up = on & (centre[:, None, None, None] > radius)
    down = on & (centre[:, None, None, None] < radius)
    assert up.any() and down.any() and not (on & ~up & ~down).any()
    names = list(prem.layer_names)
    for name in ("vsv", "vsh", "rho", "vpv"):
        if isinstance(above, dict):
            if name in above:
                np.testing.assert_allclose(earth[name][up], above[name], rtol=1e-14)
        else:
            np.testing.assert_allclose(earth[name][up], prem.evaluate(r[up], name, layer=names.index(above)), rtol=1e-14)
        np.testing.assert_allclose(earth[name][down], prem.evaluate(r[down], name, layer=names.index(below)), rtol=1e-14)
    # Two distinct values at the same radius (same global point, two elements).
    assert abs(earth["vsh"][up].mean() - earth["vsh"][down].mean()) > 50.0
    assert np.all(earth["rho"][up] < earth["rho"][down])


def geo(mesh):
    lat, lon, depth = cartesian_to_geographic(mesh.coordinates)
    return depth, lat, lon


def box_perturbation(value=0.02):
    """Nodes such that trilinear interpolation is exactly `value` in depth 50-250 km, lat 43-47,
    lon 13-17, and exactly 0 outside depth 40-260 km, lat 42.9-47.1, lon 12.9-17.1 (the grid
    itself stops at lat 42 / 48 and lon 12 / 18, inside the chunk)."""
    depth = np.array([0.0, 40.0, 50.0, 250.0, 260.0, 400.0]) * 1e3
    lat = np.array([42.0, 42.9, 43.0, 47.0, 47.1, 48.0])
    lon = np.array([12.0, 12.9, 13.0, 17.0, 17.1, 18.0]) + 0.0
    inner = np.zeros(6)
    inner[2:4] = 1.0
    d = value * inner[:, None, None] * inner[None, :, None] * inner[None, None, :]
    return xr.Dataset({"vsv": (("depth", "latitude", "longitude"), d)},
                      coords={"depth": depth, "latitude": lat, "longitude": lon})


def test_relative_perturbation_in_a_box(chunk, prem, earth):
    ds = box_perturbation(0.02)
    m = engine.Model.from_dataset(chunk, ds, background=earth, kind="relative")
    depth, lat, lon = geo(chunk)
    eps = 1e-6
    inside = (depth > 50e3 - eps) & (depth < 250e3 + eps) & (lat > 43 + 1e-9) & (lat < 47 - 1e-9) & (lon > 13 + 1e-9) & (lon < 17 - 1e-9)
    outside = (depth < 40e3) | (depth > 260e3) | (lat < 42.9) | (lat > 47.1) | (lon < 12.9) | (lon > 17.1)
    assert inside.sum() > 100 and outside.sum() > 100
    assert ((lat < 42) | (lat > 48)).any()  # some points lie outside the grid altogether
    np.testing.assert_allclose(m["vsv"][inside], 1.02 * earth["vsv"][inside], rtol=1e-12)
    np.testing.assert_array_equal(m["vsv"][outside], earth["vsv"][outside])
    ratio = m["vsv"] / earth["vsv"]
    assert ratio.min() >= 1.0 - 1e-12 and ratio.max() <= 1.02 + 1e-12
    for name in ("vpv", "vph", "vsh", "eta", "rho"):
        np.testing.assert_array_equal(m[name], earth[name])
    # The 220 km discontinuity lies inside: both sides keep their own (scaled) values.
    r, centre = element_radii(chunk)
    on = (np.abs(r - R220) < 1.0) & inside
    up, down = on & (centre[:, None, None, None] > R220), on & (centre[:, None, None, None] < R220)
    assert up.any() and down.any()
    np.testing.assert_allclose(m["vsv"][up], 1.02 * earth["vsv"][up], rtol=1e-12)
    np.testing.assert_allclose(m["vsv"][down], 1.02 * earth["vsv"][down], rtol=1e-12)
    # An Earth model as background gives the same; "vs" perturbs vsv and vsh together.
    same = engine.Model.from_dataset(chunk, ds, background=prem, kind="relative")
    np.testing.assert_array_equal(same["vsv"], m["vsv"])
    both = engine.Model.from_dataset(chunk, ds.rename(vsv="vs"), background=earth, kind="relative")
    np.testing.assert_allclose(both["vsh"][inside], 1.02 * earth["vsh"][inside], rtol=1e-12)
    np.testing.assert_array_equal(both["vsv"], m["vsv"])


def test_absolute_values_reproduced(chunk, earth):
    depth, lat, lon = geo(chunk)
    # Trilinear interpolation reproduces a function linear in each coordinate exactly.
    gd, gla, glo = np.linspace(-1e3, 310e3, 7), np.linspace(38.0, 52.0, 5), np.linspace(4.0, 26.0, 6)
    f = lambda d, la, lo: 4000.0 + 2e-3 * d + 10.0 * la - 5.0 * lo + 1e-4 * d * (la - 45.0)
    values = f(gd[:, None, None], gla[None, :, None], glo[None, None, :])
    ds = xr.Dataset({"vsv": (("depth", "latitude", "longitude"), values)},
                    coords={"depth": gd, "latitude": gla, "longitude": glo})
    m = engine.Model.from_dataset(chunk, ds)
    assert m.parameters == ("vsv",)
    np.testing.assert_allclose(m["vsv"], f(depth, lat, lon), rtol=1e-12)
    # The grid's nodes placed on GLL points: the node values come back there.
    e, k, j, i = 100, 1, 2, 0
    d0, la0, lo0 = depth[e, k, j, i], lat[e, k, j, i], lon[e, k, j, i]
    rng = np.random.default_rng(0)
    axes = dict(depth=np.array([d0 - 2e4, d0, d0 + 3e4]), latitude=np.array([la0 - 1, la0, la0 + 0.5]),
                longitude=np.array([lo0 - 0.7, lo0, lo0 + 1.0]))
    node = rng.uniform(3000.0, 5000.0, (3, 3, 3))
    ds = xr.Dataset({"vsv": (("longitude", "depth", "latitude"), np.transpose(node, (2, 0, 1)))}, coords=axes)
    m = engine.Model.from_dataset(chunk, ds, background=earth)
    assert m["vsv"][e, k, j, i] == pytest.approx(node[1, 1, 1], rel=1e-12)
    depth_in = (depth >= axes["depth"][0]) & (depth <= axes["depth"][-1])
    in_grid = depth_in & (lat >= axes["latitude"][0]) & (lat <= axes["latitude"][-1]) & \
        (lon >= axes["longitude"][0]) & (lon <= axes["longitude"][-1])
    np.testing.assert_array_equal(m["vsv"][~in_grid], earth["vsv"][~in_grid])  # the background outside
    assert m["vsv"][in_grid].min() >= node.min() - 1e-9 and m["vsv"][in_grid].max() <= node.max() + 1e-9
    # The plain constructor takes a geographic grid too, when it covers the mesh.
    full = engine.Model(chunk, vsv=xr.DataArray(values, dims=("depth", "latitude", "longitude"),
                                                coords={"depth": gd, "latitude": gla, "longitude": glo}))
    np.testing.assert_allclose(full["vsv"], f(depth, lat, lon), rtol=1e-12)


def test_longitudes_0_to_360(prem):
    mesh = engine.mesh.spherical_chunk(0.0, -5.0, 8.0, 8.0, 100e3, prem, 400.0, elements_per_wavelength=1, order=2)
    gd, gla, glo = np.array([-1e3, 200e3]), np.array([-10.0, 10.0]), np.array([350.0, 360.0]) + np.array([-5.0, 5.0])
    values = 3000.0 + 10.0 * glo[None, None, :] + 0 * gd[:, None, None] + 0 * gla[None, :, None]
    ds = xr.Dataset({"vsv": (("depth", "latitude", "longitude"), values)}, coords={"depth": gd, "latitude": gla, "longitude": glo})
    m = engine.Model.from_dataset(mesh, ds)
    _, _, lon = geo(mesh)
    np.testing.assert_allclose(m["vsv"], 3000.0 + 10.0 * (lon % 360.0), rtol=1e-12)


def test_box_datasets_on_mesh_axes():
    box = engine.mesh.box(x=(0.0, 1000.0), y=(0.0, 800.0), z=(-600.0, 0.0), elements=(3, 2, 2), order=2)
    x, y, z = (box.coordinates[..., k] for k in range(3))
    gx, gy, gz = np.linspace(0, 1000, 4), np.linspace(0, 800, 3), np.linspace(-600, 0, 5)
    f = lambda x, y, z: 3000.0 + 0.5 * x - 0.25 * y + 0.1 * z
    ds = xr.Dataset({"vp": (("z", "y", "x"), f(gx[None, None, :], gy[None, :, None], gz[:, None, None]))},
                    coords={"x": gx, "y": gy, "z": gz})
    m = engine.Model.from_dataset(box, ds)
    np.testing.assert_allclose(m["vp"], f(x, y, z), rtol=1e-12)
    bg = engine.Model.isotropic(box, vp=3000.0, vs=1700.0, rho=2000.0)
    rel = xr.Dataset({"vs": (("x", "y", "z"), np.full((4, 3, 5), -0.05))}, coords={"x": gx, "y": gy, "z": gz})
    m = engine.Model.from_dataset(box, rel, background=bg, kind="relative")
    np.testing.assert_allclose(m["vs"], 0.95 * 1700.0, rtol=1e-14)
    np.testing.assert_array_equal(m["vp"], bg["vp"])
    with pytest.raises(ValueError, match=r"'vp' must have dims \['x', 'y', 'z'\]"):
        engine.Model.from_dataset(box, box_perturbation().rename(vsv="vp"))
    with pytest.raises(ValueError, match="Model.from_earth must be a spherical chunk.*no radius"):
        engine.Model.from_earth(box, engine.earth.prem())


def test_transversely_isotropic_and_vti_alias(chunk):
    kw = dict(vpv=8000.0, vph=8200.0, vsv=4400.0, vsh=4600.0, eta=0.9, rho=3300.0)
    a = engine.Model.transversely_isotropic(chunk, **kw)
    b = engine.Model.vti(chunk, **kw)
    assert a.parameters == b.parameters == ("vpv", "vph", "vsv", "vsh", "eta", "rho")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert engine.Model.transversely_isotropic(chunk, vpv=1.0, vph=1.0, vsv=0.5, vsh=0.5, rho=1.0)["eta"].max() == 1.0


def test_bad_inputs_name_the_parameter(chunk, earth):
    ds = box_perturbation()
    with pytest.raises(ValueError, match="'vs_wrong' is not a model parameter"):
        engine.Model.from_dataset(chunk, ds.rename(vsv="vs_wrong"), background=earth, kind="relative")
    cart = xr.Dataset({"vsv": (("x", "y", "z"), np.zeros((2, 2, 2)))}, coords={a: [0.0, 1.0] for a in "xyz"})
    with pytest.raises(ValueError, match=r"'vsv' must have dims \['depth', 'latitude', 'longitude'\].*\['x', 'y', 'z'\]"):
        engine.Model.from_dataset(chunk, cart, background=earth)
    with pytest.raises(ValueError, match="relative dataset needs a 'background'"):
        engine.Model.from_dataset(chunk, ds, kind="relative")
    with pytest.raises(ValueError, match="'kind' parameter must be one of"):
        engine.Model.from_dataset(chunk, ds, background=earth, kind="percent")
    with pytest.raises(ValueError, match="'vp' is a relative perturbation, but the background has no 'vp'"):
        engine.Model.from_dataset(chunk, ds.rename(vsv="vp"), background=engine.Model(chunk, vs=1.0), kind="relative")
    with pytest.raises(ValueError, match="'vs' holds absolute values, but the background is transversely isotropic"):
        engine.Model.from_dataset(chunk, ds.rename(vsv="vs"), background=earth)
    with pytest.raises(ValueError, match="does not cover .* no background value"):
        engine.Model.from_dataset(chunk, ds.assign(vsv=ds["vsv"] + 4000.0))
    with pytest.raises(ValueError, match="covers no point of the mesh"):
        engine.Model.from_dataset(chunk, ds.assign_coords(depth=ds["depth"] / 1e3 + 1e6), background=earth, kind="relative")
    with pytest.raises(ValueError, match="unnamed DataArray"):
        engine.Model.from_dataset(chunk, xr.DataArray(ds["vsv"].values, dims=ds["vsv"].dims, coords=ds["vsv"].coords))
    with pytest.raises(ValueError, match=r"'parameters' parameter must name some of .*\['vsx'\]"):
        engine.Model.from_earth(chunk, engine.earth.prem(crust="one_layer"), parameters=["vsv", "vsx"])
    with pytest.raises(TypeError, match="'earth_model' parameter"):
        engine.Model.from_earth(chunk, 42)
    with pytest.raises(ValueError, match="layer boundaries of the mesh's model"):
        engine.Model.from_earth(chunk, engine.earth.prem(crust="prem"))
    with pytest.raises(ValueError, match="'background' model must live on the same mesh"):
        box = engine.mesh.box(x=(0.0, 1.0), y=(0.0, 1.0), z=(-1.0, 0.0), elements=(1, 1, 1), order=1)
        engine.Model.from_dataset(chunk, ds, background=engine.Model(box, vsv=1.0), kind="relative")
