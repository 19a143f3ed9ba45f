"""engine.earth: PREM against the values of NUMERICS.md, its variants, sides and errors."""
import numpy as np
import pytest

from engine import earth

KM = 1.0e3
TI = ("rho", "vpv", "vph", "vsv", "vsh", "eta")

# shared/design/NUMERICS.md, section "PREM": rho g/cm^3, velocities km/s (transversely
# isotropic PREM), computed from the published polynomials. (radius km, side, values)
TABLE_TI = [
    (6346.6, "below", (3.38075, 8.02206, 8.19032, 4.39602, 4.61180, 0.90039)),
    (6291.0, "below", (3.37471, 7.95906, 8.15002, 4.40883, 4.56190, 0.92201)),
    (6151.0, "above", (3.35949, 7.80045, 8.04856, 4.44109, 4.43626, 0.97646)),
    (6151.0, "below", (3.43577, 8.55895, 8.55895, 4.64390, 4.64390, 1.0)),
]
# (radius km, side, rho, vp, vs): isotropic below 220 km, the same in both variants.
TABLE_ISO = [
    (5971.0, "above", 3.54326, 8.90524, 4.76990),
    (5971.0, "below", 3.72375, 9.13392, 4.93249),
    (5701.0, "above", 3.99212, 10.26617, 5.57021),
    (5701.0, "below", 4.38074, 10.75132, 5.94513),
    (4621.0, "below", 4.99210, 12.51893, 6.81488),
]
# Every value above is printed with 5 decimals: agree to half a unit in the last one.
PRINTED = 0.5e-5 + 1e-12
RTOL = 1.5e-6  # for values quoted with 6 significant digits in the tests below


def _si(value, parameter):
    return value if parameter == "eta" else value * 1.0e3


@pytest.fixture(scope="module")
def ani():
    return earth.prem(anisotropic=True)


@pytest.fixture(scope="module")
def iso():
    return earth.prem(anisotropic=False)


@pytest.mark.parametrize("radius_km, side, values", TABLE_TI)
def test_transversely_isotropic_values_match_the_table(ani, radius_km, side, values):
    got = ani.evaluate(radius_km * KM, TI, side=side)
    for p, expected in zip(TI, values):
        assert abs(got[p] / _si(1.0, p) - expected) <= PRINTED, (p, float(got[p]), expected)


@pytest.mark.parametrize("radius_km, side, rho, vp, vs", TABLE_ISO)
@pytest.mark.parametrize("anisotropic", [True, False])
def test_isotropic_mantle_values_match_the_table(anisotropic, radius_km, side, rho, vp, vs):
    got = earth.prem(anisotropic=anisotropic).evaluate(radius_km * KM, TI, side=side)
    expected = {"rho": rho, "vpv": vp, "vph": vp, "vsv": vs, "vsh": vs, "eta": 1.0}
    for p in TI:
        assert abs(got[p] / _si(1.0, p) - expected[p]) <= PRINTED, (p, float(got[p]), expected[p])


def test_radius_constant_and_discontinuities(ani):
    assert earth.EARTH_RADIUS == 6371.0e3
    expected_km = [0, 1221.5, 3480, 3630, 5600, 5701, 5771, 5971, 6151, 6291, 6346.6, 6356, 6371]
    np.testing.assert_allclose(ani.discontinuities, np.array(expected_km) * KM, rtol=0, atol=1e-9)
    assert list(ani.discontinuities) == sorted(ani.discontinuities)
    assert ani.layers == list(zip(ani.discontinuities[:-1], ani.discontinuities[1:]))
    assert ani.radius == earth.EARTH_RADIUS
    # 80 km, 600 km and the D''/lower-mantle polynomial changes are boundaries, not jumps.
    np.testing.assert_allclose(ani.value_discontinuities,
                               np.array([1221.5, 3480, 5701, 5971, 6151, 6346.6, 6356]) * KM, atol=1e-9)


def test_crust_variants_and_their_layers():
    one = earth.prem(crust="one_layer")
    none = earth.prem(crust="none")
    assert 6356 * KM not in one.discontinuities and 6346.6 * KM in one.discontinuities
    assert 6356 * KM not in none.discontinuities and 6346.6 * KM not in none.discontinuities
    assert none.discontinuities[-2:] == (6291 * KM, 6371 * KM)
    assert one.layer_names[-1] == "crust" and none.layer_names[-1] == "lid"


@pytest.mark.parametrize("anisotropic", [True, False])
def test_crust_values_at_5_and_20_km_depth(anisotropic):
    r = earth.EARTH_RADIUS - np.array([5e3, 20e3])
    two = earth.prem(anisotropic, "prem").evaluate(r, ("rho", "vpv", "vsv", "vsh", "eta"))
    np.testing.assert_allclose(two["rho"], [2600.0, 2900.0], rtol=1e-14)
    np.testing.assert_allclose(two["vpv"], [5800.0, 6800.0], rtol=1e-14)
    np.testing.assert_allclose(two["vsv"], [3200.0, 3900.0], rtol=1e-14)
    np.testing.assert_array_equal(two["vsh"], two["vsv"])
    np.testing.assert_array_equal(two["eta"], 1.0)
    one = earth.prem(anisotropic, "one_layer").evaluate(r, ("rho", "vpv", "vsv"))
    np.testing.assert_allclose(one["rho"], 2600.0, rtol=1e-14)
    np.testing.assert_allclose(one["vpv"], 5800.0, rtol=1e-14)
    np.testing.assert_allclose(one["vsv"], 3200.0, rtol=1e-14)
    # No crust: the LID's own polynomials (in x = r / 6371 km) reach the surface.
    none = earth.prem(anisotropic, "none").evaluate(r, TI)
    x = r / earth.EARTH_RADIUS
    if anisotropic:
        expected = {"rho": 2.6910 + 0.6924 * x, "vpv": 0.8317 + 7.2180 * x, "vph": 3.5908 + 4.6172 * x,
                    "vsv": 5.8582 - 1.4678 * x, "vsh": -1.0839 + 5.7176 * x, "eta": 3.3687 - 2.4778 * x}
    else:
        vp, vs = 4.1875 + 3.9382 * x, 2.1519 + 2.3481 * x
        expected = {"rho": 2.6910 + 0.6924 * x, "vpv": vp, "vph": vp, "vsv": vs, "vsh": vs, "eta": 1.0 + 0 * x}
    for p in TI:
        np.testing.assert_allclose(none[p], _si(expected[p], p), rtol=1e-13, err_msg=p)
    # ...and below the Moho every variant is the same model.
    deep = np.linspace(0.0, 6346.6e3, 500)
    a = earth.prem(anisotropic, "prem").evaluate(deep, TI)
    for crust in ("one_layer", "none"):
        b = earth.prem(anisotropic, crust).evaluate(deep, TI)
        for p in TI:
            np.testing.assert_array_equal(a[p], b[p])


def test_isotropic_variant_equals_ti_below_220_km_and_differs_above(ani, iso):
    deep = np.linspace(0.0, 6151e3, 2001)
    a, b = ani.evaluate(deep, TI), iso.evaluate(deep, TI)
    for p in TI:
        np.testing.assert_array_equal(a[p], b[p])
    shallow = np.linspace(6152e3, 6346e3, 50)
    a, b = ani.evaluate(shallow, TI), iso.evaluate(shallow, TI)
    np.testing.assert_array_equal(a["rho"], b["rho"])
    for p in ("vpv", "vph", "vsv", "vsh", "eta"):
        # Different polynomials (vsv's two curves cross once in the LVZ, so not everywhere).
        assert np.abs(a[p] - b[p]).max() > 5e-3 * np.abs(b[p]).max(), p
        assert np.mean(np.abs(a[p] - b[p]) > 1e-3 * np.abs(b[p])) > 0.8, p
    assert ani.anisotropic and not iso.anisotropic


@pytest.mark.parametrize("model", earth.MODEL_NAMES)
def test_isotropic_regions_have_eta_one_and_equal_velocities(model):
    m = earth.by_name(model)
    r = np.linspace(0.0, earth.EARTH_RADIUS, 4001)
    v = m.evaluate(r, TI)
    iso_region = (r < 6151e3) | (r > 6346.6e3) if m.crust != "none" else (r < 6151e3)
    if not m.anisotropic:
        iso_region = np.ones_like(r, dtype=bool)
    np.testing.assert_array_equal(v["eta"][iso_region], 1.0)
    np.testing.assert_array_equal(v["vpv"][iso_region], v["vph"][iso_region])
    np.testing.assert_array_equal(v["vsv"][iso_region], v["vsh"][iso_region])
    if m.anisotropic:
        assert np.all(v["eta"][~iso_region] < 1.0)


def test_outer_core_is_fluid(ani):
    r = np.linspace(1221.5e3, 3480e3, 300)
    v = ani.evaluate(r, ("vsv", "vsh", "vpv"), layer=1)
    np.testing.assert_array_equal(v["vsv"], 0.0)
    np.testing.assert_array_equal(v["vsh"], 0.0)
    assert np.all(v["vpv"] > 8000.0)
    assert ani.fluid_layers == tuple(name == "outer_core" for name in ani.layer_names)
    # Either side of the core's bounds is solid.
    assert ani.evaluate(1221.5e3, "vsv", side="below") > 3000.0
    assert ani.evaluate(3480e3, "vsv", side="above") > 7000.0


@pytest.mark.parametrize("model", earth.MODEL_NAMES)
def test_continuous_within_each_layer(model):
    m = earth.by_name(model)
    for i, (lo, hi) in enumerate(m.layers):
        r = np.linspace(lo, hi, 20001)
        v = m.evaluate(r, TI, layer=i)
        for p in TI:
            # A jump would show up as one step far larger than its neighbours; a smooth
            # cubic over 20000 steps changes by < 1e-3 of its scale per step.
            step = np.abs(np.diff(v[p]))
            scale = max(np.abs(v[p]).max(), 1.0)
            assert step.max() < 1e-3 * scale, (m.layer_names[i], p)


@pytest.mark.parametrize("radius_km, k", [(6151.0, 8), (5971.0, 7), (5701.0, 5), (6346.6, 10)])
def test_layer_argument_on_a_discontinuity_selects_the_side(ani, radius_km, k):
    r = radius_km * KM
    assert ani.discontinuities[k] == r
    below_by_side, above_by_side = ani.evaluate(r, TI, side="below"), ani.evaluate(r, TI, side="above")
    below_by_layer, above_by_layer = ani.evaluate(r, TI, layer=k - 1), ani.evaluate(r, TI, layer=k)
    for p in ("rho", "vpv", "vsv"):
        assert below_by_layer[p] == below_by_side[p] and above_by_layer[p] == above_by_side[p]
        assert below_by_layer[p] != above_by_layer[p]
    # Default: the layer below, as SPECFEM3D_GLOBE (r_bottom < r <= r_top).
    assert ani.evaluate(r, "rho") == below_by_side["rho"]
    np.testing.assert_array_equal(ani.layer_index([r, r], side="below"), [k - 1, k - 1])
    np.testing.assert_array_equal(ani.layer_index([r, r], side="above"), [k, k])


def test_layer_array_per_gll_point_as_a_mesher_passes_it(ani):
    # Two radial elements meeting at 220 km, five GLL points each: the shared radius takes
    # each element's own value.
    r = np.concatenate([np.linspace(6100e3, 6151e3, 5), np.linspace(6151e3, 6200e3, 5)]).reshape(2, 5)
    layer = np.array([[7], [8]])  # broadcast per element
    v = ani.evaluate(r, ("vsh", "vsv"), layer=layer)
    assert v["vsh"].shape == (2, 5)
    np.testing.assert_allclose(v["vsh"][0, -1], 4643.90, rtol=RTOL)
    np.testing.assert_allclose(v["vsh"][1, 0], 4436.26, rtol=RTOL)
    # A point a rounding error outside its element's layer is accepted...
    ani.evaluate(6151e3 - 1e-6, "vsh", layer=8)
    # ...a point in the wrong layer is not.
    with pytest.raises(ValueError, match="'layer' parameter.*6200000.0"):
        ani.evaluate(6200e3, "vsh", layer=7)


def test_surface_and_centre_belong_to_their_layer(ani):
    assert ani.layer_index(earth.EARTH_RADIUS, side="above") == len(ani.layers) - 1
    assert ani.layer_index(0.0, side="below") == 0
    np.testing.assert_allclose(ani.evaluate(earth.EARTH_RADIUS, "vsv", side="above"), 3200.0)
    np.testing.assert_allclose(ani.evaluate(0.0, "rho"), 13088.5)


def test_voigt_average_vp_vs(ani, iso):
    r = np.linspace(0.0, earth.EARTH_RADIUS, 3001)
    # In an isotropic model vp and vs are the polynomials themselves.
    v = iso.evaluate(r, ("vp", "vs", "vpv", "vsv"))
    np.testing.assert_array_equal(v["vp"], v["vpv"])
    np.testing.assert_array_equal(v["vs"], v["vsv"])
    # In the TI region: from the Love parameters; close to, but not, PREM's isotropic set.
    r = np.linspace(6152e3, 6346e3, 40)
    a = ani.evaluate(r, TI + ("vp", "vs"))
    rho = a["rho"]
    A, C, L, N = rho * a["vph"] ** 2, rho * a["vpv"] ** 2, rho * a["vsv"] ** 2, rho * a["vsh"] ** 2
    F = a["eta"] * (A - 2 * L)
    mu = (A + C - 2 * F + 5 * N + 6 * L) / 15
    kappa = (4 * A + C + 4 * F - 4 * N) / 9
    np.testing.assert_allclose(a["vs"], np.sqrt(mu / rho), rtol=1e-14)
    np.testing.assert_allclose(a["vp"], np.sqrt((kappa + 4 * mu / 3) / rho), rtol=1e-14)
    b = iso.evaluate(r, ("vpv", "vsv"))
    np.testing.assert_allclose(a["vs"], b["vsv"], rtol=5e-4)
    np.testing.assert_allclose(a["vp"], b["vpv"], rtol=5e-4)
    assert np.all(a["vs"] != b["vsv"])


def test_slowest_and_fastest_velocity(ani):
    # Whole upper mantle below the crust: slowest is vsv at the Moho (4396.02 m/s).
    np.testing.assert_allclose(ani.slowest_velocity(5971e3, 6346.6e3), 4396.02, rtol=RTOL)
    # Including the crust: the upper crust's 3200 m/s.
    assert ani.slowest_velocity(6346.6e3, earth.EARTH_RADIUS) == pytest.approx(3200.0)
    # Outer core alone: vs = 0 there, so its slowest wave is P (at the CMB, ~8064.8 m/s).
    np.testing.assert_allclose(ani.slowest_velocity(1221.5e3, 3480e3), 8064.79, rtol=RTOL)
    # Per layer, indexed like layers; a layer's slow side of a discontinuity counts.
    per_layer = ani.layer_slowest_velocities()
    assert len(per_layer) == len(ani.layers)
    np.testing.assert_allclose(per_layer[7], 4643.90, rtol=RTOL)  # vs at the top of 400-220
    assert per_layer[-1] == 3200.0 and per_layer[-2] == 3900.0
    # Velocity grows with depth there: the fastest is vp at the bottom, above 400 km.
    np.testing.assert_allclose(ani.fastest_velocity(5971e3, 6151e3), 8905.24, rtol=RTOL)
    with pytest.raises(ValueError, match="'r_bottom' parameter"):
        ani.slowest_velocity(6300e3, 6200e3)


def test_by_name_matches_prem_and_lists_names_on_error():
    expected = {"prem_iso": (False, "prem"), "prem_ani": (True, "prem"),
                "prem_iso_one_crust": (False, "one_layer"), "prem_ani_one_crust": (True, "one_layer"),
                "prem_iso_no_crust": (False, "none"), "prem_ani_no_crust": (True, "none")}
    assert set(earth.MODEL_NAMES) == set(expected)
    for name, (anisotropic, crust) in expected.items():
        m = earth.by_name(name)
        assert (m.name, m.anisotropic, m.crust) == (name, anisotropic, crust)
        assert m == earth.prem(anisotropic=anisotropic, crust=crust)
        hash(m)  # immutable and usable as a key
    with pytest.raises(ValueError, match="'name' parameter.*'prem_ani_one_crust'.*'prem_x' was given"):
        earth.by_name("prem_x")


@pytest.mark.parametrize("radius", [-1.0, 6372e3, np.nan, [0.0, 7e6]])
def test_bad_radius_is_refused(ani, radius):
    with pytest.raises(ValueError, match="'radius' parameter"):
        ani.evaluate(radius, "rho")


def test_other_bad_input_is_refused(ani):
    with pytest.raises(ValueError, match="'crust' parameter.*'one_layer'.*'ocean' was given"):
        earth.prem(crust="ocean")
    with pytest.raises(ValueError, match="'anisotropic' parameter"):
        earth.prem(anisotropic="yes")
    with pytest.raises(ValueError, match="'parameters' parameter.*'vsv'.*'qmu' was given"):
        ani.evaluate(6000e3, ("rho", "qmu"))
    with pytest.raises(ValueError, match="'side' parameter"):
        ani.evaluate(6000e3, "rho", side="up")
    with pytest.raises(ValueError, match="'layer' or the 'side'"):
        ani.evaluate(6000e3, "rho", layer=7, side="below")
    with pytest.raises(ValueError, match="'layer' parameter must be a layer index"):
        ani.evaluate(6000e3, "rho", layer=99)
    with pytest.raises(ValueError, match="'layer' parameter must be an integer"):
        ani.evaluate(6000e3, "rho", layer=7.0)
    with pytest.raises(ValueError, match="'radius' parameter"):
        ani.evaluate("deep", "rho")


def test_vectorised_shapes_and_units(ani):
    r = np.full((3, 4, 5), 6000e3)
    v = ani.evaluate(r)
    assert set(v) == set(TI) and all(a.shape == (3, 4, 5) for a in v.values())
    assert 3000.0 < v["rho"].min() < 4000.0  # kg/m^3, not g/cm^3
    assert np.ndim(ani.evaluate(6000e3, "vsv")) == 0
