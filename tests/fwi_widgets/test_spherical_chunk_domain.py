"""sn.domain.dim3.SphericalChunkDomain: validation, JSON round trip, the chunk's geometry
(the outline and ``contains`` are where engine.mesh.spherical_chunk ends), positions of
events and stations, a project on a chunk (created, re-opened, items outside refused with
nothing written) and the map view drawing the chunk's outline.
"""
from __future__ import annotations

import json
from pathlib import Path

import ipyleaflet as L
import numpy as np
import pytest

import engine
from engine.geographic import cartesian_to_geographic, geocentric_to_geographic_latitude
from fwi_widgets import namespace as sn
from fwi_widgets.config import configuration_from_dict

Chunk = sn.domain.dim3.SphericalChunkDomain
#: The continental tutorial's domain (ARCHITECTURE.md section 4).
EUROPE = dict(lat_center=50.0, lat_extent=45.0, lon_center=5.0, lon_extent=60.0, radius_in_meter=6371e3)
ROME = sn.Event(name="rome", origin_time="2020-01-01T00:00:00Z", latitude=41.9, longitude=12.5, depth_in_m=10e3)
TOKYO = sn.Event(name="tokyo", origin_time="2011-03-11T05:46:24Z", latitude=35.7, longitude=139.7)
BFO = sn.Station(network="GR", station="BFO", latitude=48.33, longitude=8.33, elevation_in_m=589.0)

# Chunks around the globe: mid-latitude, southern, on the antimeridian (given both ways),
# on the equator, narrow, the widest allowed, centred on a pole and off a pole with it inside.
CHUNKS = {
    "europe": EUROPE,
    "south": dict(lat_center=-33.9, lat_extent=20.0, lon_center=151.2, lon_extent=35.0),
    "antimeridian": dict(lat_center=-15.0, lat_extent=30.0, lon_center=180.0, lon_extent=40.0),
    "antimeridian-east": dict(lat_center=52.0, lat_extent=10.0, lon_center=185.0, lon_extent=30.0),
    "equator": dict(lat_center=0.0, lat_extent=90.0, lon_center=0.0, lon_extent=90.0),
    "narrow": dict(lat_center=46.0, lat_extent=0.5, lon_center=8.0, lon_extent=1.0),
    "polar-cap": dict(lat_center=80.0, lat_extent=40.0, lon_center=-40.0, lon_extent=40.0),
    "south-pole": dict(lat_center=-90.0, lat_extent=30.0, lon_center=0.0, lon_extent=30.0),
}


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for folders)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


# --- validation and serialisation ------------------------------------------------------------

@pytest.mark.parametrize("changes, error, fragment", [
    (dict(lat_extent=0.0), ValueError, "The 'lat_extent' parameter must be positive, but 0.0 was given."),
    (dict(lon_extent=-5.0), ValueError, "The 'lon_extent' parameter must be positive"),
    (dict(lat_extent=90.5), ValueError, "0 < width <= 90 (the engine's spherical chunk"),
    (dict(lon_extent=120.0), ValueError,
     "The 'lon_extent' parameter must be an angular width in degrees, 0 < width <= 90"),
    (dict(lat_extent=float("nan")), ValueError, "'lat_extent' parameter must be positive"),
    (dict(lat_center=90.5), ValueError, "The 'lat_center' parameter must be >= -90.0 and <= 90.0"),
    (dict(lat_center=-91.0), ValueError, "'lat_center'"),
    (dict(lon_center=400.0), ValueError, "The 'lon_center' parameter must be >= -180.0 and <= 360.0"),
    (dict(lon_center=float("inf")), ValueError, "'lon_center' parameter must be a finite number"),
    (dict(radius_in_meter=0.0), ValueError, "The 'radius_in_meter' parameter must be positive"),
    (dict(lat_center="50"), TypeError, "The 'lat_center' parameter must be a number, but '50' was given."),
    (dict(lon_extent=True), TypeError, "'lon_extent' parameter must be a number"),
])
def test_bad_chunks_are_refused_in_traitlets_wording(changes, error, fragment):
    with pytest.raises(error) as info:
        Chunk(**dict(EUROPE, **changes))
    assert fragment in str(info.value)


def test_the_widest_chunk_and_the_poles_are_accepted():
    Chunk(lat_center=90.0, lat_extent=90.0, lon_center=-180.0, lon_extent=90.0)
    Chunk(lat_center=-90.0, lat_extent=1e-3, lon_center=360.0, lon_extent=1e-3)


@pytest.mark.parametrize("name", sorted(CHUNKS))
def test_chunk_round_trips_through_json(name):
    domain = Chunk(**CHUNKS[name])
    stored = json.loads(json.dumps(domain.to_dict()))
    assert stored["type"] == "SphericalChunkDomain"
    assert stored["radius_in_meter"] == CHUNKS[name].get("radius_in_meter", 6371e3)
    again = configuration_from_dict(stored)
    assert type(again) is Chunk and again == domain
    with pytest.raises(ValueError, match="'lat_extent' parameter must be"):  # re-validated when read back
        configuration_from_dict(dict(stored, lat_extent=100.0))


def test_salvus_names_and_dimensions():
    assert sn.SphericalChunkDomain is Chunk
    assert sn.domain.dim2.MapViewDomain is sn.MapViewDomain and sn.domain.dim2.BoxDomain is sn.BoxDomain
    assert Chunk(50.0, 45.0, 5.0, 60.0) == Chunk(**EUROPE)  # Salvus's argument order
    assert Chunk(**EUROPE).dimensions == 3 and len(Chunk(**EUROPE).axis_names) == 3
    assert sn.BoxDomain(x_min=0.0, x_max=1.0, z_min=-1.0).dimensions == 2
    assert sn.MapViewDomain(center_latitude=0.0, center_longitude=0.0, width_in_meters=1e6,
                            height_in_meters=1e6).dimensions == 2


def test_mesh_arguments_are_geocentric_and_need_the_engines_radius():
    args = Chunk(**EUROPE).mesh_arguments()
    assert args == {"lat_center": pytest.approx(49.8113674502), "lon_center": 5.0, "lat_extent": 45.0,
                    "lon_extent": 60.0}
    assert float(geocentric_to_geographic_latitude(args["lat_center"])) == pytest.approx(50.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"'radius_in_meter' parameter must be 6371000 \(m\)"):
        Chunk(**dict(EUROPE, radius_in_meter=6371.0)).mesh_arguments()


# --- geometry: where the engine's chunk ends ----------------------------------------------------

@pytest.fixture(scope="module")
def europe_mesh():
    """A coarse engine chunk of the tutorial's domain (order 2, 400 s: 11 x 8 elements)."""
    domain = Chunk(**EUROPE)
    return engine.mesh.spherical_chunk(**domain.mesh_arguments(), max_depth_in_meters=100e3,
                                       model=engine.earth.prem(crust="one_layer"), min_period_in_seconds=400.0,
                                       order=2)


def _geographic(xyz):
    lat, lon, _ = cartesian_to_geographic(xyz)
    return geocentric_to_geographic_latitude(lat), lon


def test_outline_is_the_boundary_of_the_engines_chunk(europe_mesh):
    domain, chunk = Chunk(**EUROPE), europe_mesh.chunk
    n = 25
    lat, lon = domain.outline(n=n)
    assert lat.shape == lon.shape == (4 * n,)
    t = np.linspace(-1.0, 1.0, n)
    xi = np.concatenate([t, np.ones(n), -t, -np.ones(n)])
    eta = np.concatenate([-np.ones(n), t, np.ones(n), -t])
    want_lat, want_lon = _geographic(chunk.reference_to_cartesian(xi, eta, chunk.r_top))
    # 1e-9 degrees is 0.1 mm on the ground; float64 trigonometry gives ~1e-13 here.
    np.testing.assert_allclose(lat, want_lat, rtol=0, atol=1e-9)
    np.testing.assert_allclose(lon, want_lon, rtol=0, atol=1e-9)
    assert (lat[0], lon[0]) == (lat[-1], lon[-1])  # closed


def test_every_mesh_point_is_inside_and_the_mesh_reaches_every_side(europe_mesh):
    domain = Chunk(**EUROPE)
    lat, lon = _geographic(europe_mesh.coordinates.reshape(-1, 3))
    xi, eta = domain.to_reference(lat, lon)
    assert np.max(np.abs(xi)) == pytest.approx(1.0, abs=1e-12) and np.max(np.abs(eta)) == pytest.approx(1.0, abs=1e-12)
    for side in (xi.min(), xi.max(), eta.min(), eta.max()):
        assert abs(abs(side) - 1.0) < 1e-12
    interior = (np.abs(xi) < 1 - 1e-9) & (np.abs(eta) < 1 - 1e-9)
    assert interior.sum() > 0 and np.all(domain.contains(lat[interior], lon[interior]))
    # The engine's own inverse map agrees with the domain's.
    exi, eeta, _ = europe_mesh.chunk.cartesian_to_reference(europe_mesh.coordinates.reshape(-1, 3))
    np.testing.assert_allclose(xi, exi, rtol=0, atol=1e-12)
    np.testing.assert_allclose(eta, eeta, rtol=0, atol=1e-12)


def test_sides_are_great_circles_not_parallels_or_meridians():
    domain = Chunk(**EUROPE)
    lat, lon = domain.outline(n=41)
    south, east, north = slice(0, 41), slice(41, 82), slice(82, 123)
    # The northern side peaks at its middle (the centre's meridian) and bows down to its corners.
    assert lat[north][20] == pytest.approx(float(geocentric_to_geographic_latitude(
        domain.mesh_arguments()["lat_center"] + 22.5)), abs=1e-9)
    assert lat[north][0] < lat[north][20] - 10.0 and lat[south][0] < lat[south][20]
    assert np.ptp(lon[east]) > 5.0  # the eastern side is no meridian
    # Each side lies in a plane through the Earth's centre.
    for side in (south, east, north, slice(123, 164)):
        p = engine.geographic.geographic_to_cartesian(
            engine.geographic.geographic_to_geocentric_latitude(lat[side]), lon[side])
        assert np.linalg.svd(p / np.linalg.norm(p, axis=1, keepdims=True), compute_uv=False)[-1] < 1e-12
    (la0, la1), (lo0, lo1) = domain.extent
    assert la0 == pytest.approx(lat.min(), abs=1e-3) and la1 == pytest.approx(lat.max(), abs=1e-6)
    assert lo0 == pytest.approx(lon.min(), abs=1e-3) and lo1 == pytest.approx(lon.max(), abs=1e-3)


SIDES = {"west": (-1.0, 0.0), "east": (1.0, 0.0), "south": (0.0, -1.0), "north": (0.0, 1.0)}


@pytest.mark.parametrize("name", sorted(CHUNKS))
@pytest.mark.parametrize("side", sorted(SIDES))
def test_points_just_inside_and_outside_each_side(name, side):
    domain = Chunk(**CHUNKS[name])
    sx, sy = SIDES[side]
    for along in (-0.9, 0.0, 0.7):  # at the side's middle and towards either end

        def at(depth: float) -> tuple:
            """The point ``depth`` (in reference units) inside the side, ``along`` it."""
            return domain.from_reference(sx * (1 - depth) if sx else along, sy * (1 - depth) if sy else along)

        assert domain.contains(*at(1e-7)), (side, along)
        assert not domain.contains(*at(-1e-7)), (side, along)
    # The margin is the angular distance from the side: 0.3 of the half width inside the
    # middle of the side is that many degrees (along the central great circle).
    half = (CHUNKS[name]["lon_extent"] if sy == 0.0 else CHUNKS[name]["lat_extent"]) / 2
    point = domain.from_reference(0.7 * sx, 0.7 * sy)
    assert domain.contains(*point, margin=0.3 * half * (1 - 1e-9))
    assert not domain.contains(*point, margin=0.3 * half * (1 + 1e-9))


@pytest.mark.parametrize("name", sorted(CHUNKS))
def test_outline_lies_on_the_boundary_and_the_centre_inside(name):
    domain = Chunk(**CHUNKS[name])
    lat, lon = domain.outline(n=30)
    ring = slice(0, 120)  # without the two points that close a polar cap along its pole
    xi, eta = domain.to_reference(lat[ring], lon[ring])
    np.testing.assert_allclose(np.maximum(np.abs(xi), np.abs(eta)), 1.0, rtol=0, atol=1e-9)
    assert domain.contains(domain.lat_center, domain.lon_center)
    assert domain.contains(domain.lat_center, domain.lon_center + 360.0)  # any turn of the longitude
    # The ring is drawn without jumps: successive points are close in longitude as well.
    assert np.max(np.abs(np.diff(lon[ring]))) < 30.0


def test_contains_works_on_arrays_and_refuses_a_negative_margin():
    domain = Chunk(**EUROPE)
    got = domain.contains(np.array([41.9, 35.7, -80.0]), np.array([12.5, 139.7, 5.0]))
    assert got.dtype == bool and got.tolist() == [True, False, False]
    assert domain.contains(-30.0, 5.0 + 180.0) is False  # the antipode (on the far side)
    with pytest.raises(ValueError, match="'margin' parameter must be >= 0.0"):
        domain.contains(41.9, 12.5, margin=-1.0)


def test_polar_cap_outline_closes_along_the_pole_and_bounds_reach_it():
    domain = Chunk(**CHUNKS["polar-cap"])
    assert domain.contains(90.0, 123.0) and domain.contains(89.0, -170.0)
    lat, lon = domain.outline(n=30)
    assert lat.shape == (122,) and lat[-1] == lat[-2] == 90.0
    assert abs(lon[119] - lon[0]) == pytest.approx(360.0, abs=1e-9)  # the ring goes once round the pole
    (la0, la1), (lo0, lo1) = domain.extent
    assert la1 == 90.0 and (lo0, lo1) == (-220.0, 140.0)


def test_antimeridian_chunk_uses_longitudes_next_to_its_centre():
    east, west = Chunk(**CHUNKS["antimeridian-east"]), Chunk(**dict(CHUNKS["antimeridian-east"], lon_center=-175.0))
    assert east == Chunk(**CHUNKS["antimeridian-east"]) and east != west  # stored as given
    # The map's frame is centred on the centre's longitude in [-180, 180): -175 here.
    assert east.map_longitude(-170.0) == -170.0 and east.map_longitude(170.0) == -190.0
    assert east.map_longitude(200.0) == -160.0
    np.testing.assert_allclose(east.map_longitude(np.array([-178.0, 182.0, 542.0])), [-178.0, -178.0, -178.0])
    np.testing.assert_allclose(np.array(east.outline()), np.array(west.outline()), rtol=0, atol=1e-9)
    assert east.contains(52.0, 170.0) and east.contains(52.0, -170.0) and not east.contains(52.0, 150.0)
    dateline = Chunk(**CHUNKS["antimeridian"])
    assert dateline.contains(-15.0, -179.0) and dateline.contains(-15.0, 179.0)
    (_, _), (lo0, lo1) = dateline.extent
    assert lo0 < -180.0 < lo1 and lo1 - lo0 < 60.0


# --- events and stations ----------------------------------------------------------------------

def test_positions_are_geocentric_with_depth_as_the_engine_wants_them(europe_mesh):
    domain = Chunk(**EUROPE)
    lat, lon, depth = domain.position(ROME)
    assert lat == pytest.approx(float(engine.geographic.geographic_to_geocentric_latitude(41.9)), abs=1e-12)
    assert lat < 41.9 and (lon, depth) == (12.5, 10e3)
    assert domain.position(BFO)[2] == 0.0  # on the free surface, whatever its elevation
    where = engine.Geographic(*domain.position(ROME))
    xi, eta, radius = europe_mesh.chunk.cartesian_to_reference(where.to_cartesian())
    assert (float(xi), float(eta)) == pytest.approx(tuple(float(v) for v in domain.to_reference(41.9, 12.5)), abs=1e-12)
    assert radius == pytest.approx(6361e3)
    with pytest.raises(ValueError, match="'boxed' needs 'latitude' and 'longitude' for a spherical-chunk domain"):
        domain.position(sn.Event(name="boxed", origin_time="2020-01-01", position=(0.0, 0.0)))
    with pytest.raises(TypeError, match="must be a sn.Event or sn.Station"):
        domain.position((41.9, 12.5))
    assert domain.locate(ROME) == domain.position(ROME)
    with pytest.raises(ValueError) as info:
        domain.locate(TOKYO)
    message = str(info.value)
    for fragment in ("'tokyo' at latitude 35.7, longitude 139.7 lies outside the project's domain",
                     "centred at latitude 50, longitude 5, 45 degrees north-south by 60 degrees east-west",
                     "latitudes 24.02 to 72.42, longitudes -55.33 to 65.33"):
        assert fragment in message


# --- a project on a chunk -----------------------------------------------------------------------

@pytest.fixture
def chunk_project(tmp_path):
    p = sn.Project.from_domain(path=tmp_path / "continental", domain=Chunk(**EUROPE), load_if_exists=True)
    p += sn.EventCollection(events=[ROME], stations=[BFO])
    yield p
    p.close()


def test_project_from_a_chunk_is_created_and_reopened(tmp_path, chunk_project):
    path = chunk_project.paths.root
    assert json.loads((path / "project.json").read_text())["data"]["domain"] == Chunk(**EUROPE).to_dict()
    before = snapshot(path)
    again = sn.Project.from_domain(path=path, domain=Chunk(**EUROPE), load_if_exists=True)
    assert type(again.domain) is Chunk and again.domain == Chunk(**EUROPE)
    assert again.events.list() == ["rome"] and [s.name for s in again.events.stations()] == ["GR.BFO"]
    with pytest.raises(ValueError, match=r"has a different domain"):
        sn.Project.from_domain(path=path, domain=Chunk(**dict(EUROPE, lon_extent=50.0)), load_if_exists=True)
    with pytest.raises(ValueError, match=r"has a different domain"):
        sn.Project.from_domain(path=path, domain=sn.BoxDomain(x_min=0.0, x_max=1.0, z_min=-1.0), load_if_exists=True)
    with pytest.raises(FileExistsError, match="load_if_exists=True"):
        sn.Project.from_domain(path=path, domain=Chunk(**EUROPE))
    assert snapshot(path) == before
    again.close()
    chunk_project.close()
    reopened = sn.Project(path=path)
    assert reopened.domain == Chunk(**EUROPE)
    reopened.close()


@pytest.mark.parametrize("collection, name", [
    (sn.EventCollection(events=[ROME, TOKYO]), "tokyo"),
    (sn.EventCollection(stations=[sn.Station(network="XX", station="NEW", latitude=45.0, longitude=10.0),
                                  sn.Station(network="II", station="KDAK", latitude=57.78, longitude=-152.58)]),
     "II.KDAK"),
    # Inside the latitudes and longitudes of the chunk's bounding box, but north of its
    # bowed southern side's corner (a box in latitude and longitude would hold it).
    (sn.EventCollection(events=[sn.Event(name="canaries", origin_time="2021-09-19T00:00:00Z", latitude=26.0,
                                         longitude=-30.0)]), "canaries"),
], ids=["event", "station", "corner"])
def test_items_outside_the_chunk_are_refused_and_nothing_is_written(chunk_project, collection, name):
    path = chunk_project.paths.root
    before = snapshot(path)
    with pytest.raises(ValueError) as info:
        chunk_project += collection
    message = str(info.value)
    assert f"{name!r} at latitude" in message and "lies outside the project's domain, the spherical chunk" in message
    assert "latitudes 24.02 to 72.42, longitudes -55.33 to 65.33" in message
    assert snapshot(path) == before, "a file was written"


def test_canaries_corner_case_is_really_within_the_bounding_box():
    (la0, la1), (lo0, lo1) = Chunk(**EUROPE).extent
    assert la0 < 26.0 < la1 and lo0 < -30.0 < lo1 and not Chunk(**EUROPE).contains(26.0, -30.0)


def test_membrane_physics_is_refused_on_a_chunk(chunk_project):
    chunk_project += sn.ConstantModel("prior", {"VS": 4000.0, "RHO": 3300.0})
    before = snapshot(chunk_project.paths.root)
    with pytest.raises(ValueError, match="'membrane' physics runs on a map-view domain"):
        chunk_project += sn.SimulationConfiguration(name="m", model="prior", min_period_in_seconds=70.0,
                                                    max_period_in_seconds=120.0, end_time_in_seconds=1200.0)
    assert snapshot(chunk_project.paths.root) == before


# --- the map view -----------------------------------------------------------------------------

def _layer(m, name):
    found = [layer for layer in m.layers if layer.name == name]
    assert len(found) == 1, f"expected one layer named {name!r}, got {[layer.name for layer in m.layers]}"
    return found[0]


def test_map_draws_the_chunks_outline_and_frames_it(chunk_project):
    m = chunk_project.viz.nb.domain()
    assert not any(isinstance(layer, L.TileLayer) for layer in m.layers)
    outline = _layer(m, "domain outline")
    assert isinstance(outline, L.Polygon)
    lats, lons = chunk_project.domain.outline()
    np.testing.assert_allclose(np.array(outline.locations), np.column_stack([lats, lons]))
    (la0, la1), (lo0, lo1) = chunk_project.domain.extent
    assert la0 <= m.center[0] <= la1 and lo0 <= m.center[1] <= lo1
    assert 1.0 <= m.zoom <= 4.0  # a continent, not a town
    (station,) = _layer(m, "stations").layers
    (event,) = _layer(m, "events").layers
    assert station.location == pytest.approx((48.33, 8.33)) and event.location == pytest.approx((41.9, 12.5))


def test_map_of_a_chunk_on_the_antimeridian_puts_items_beside_the_outline(tmp_path):
    domain = Chunk(**CHUNKS["antimeridian"])
    p = sn.Project.from_domain(path=tmp_path / "pacific", domain=domain)
    try:
        p += sn.EventCollection(
            events=[sn.Event(name="fiji", origin_time="2018-08-19T00:19:40Z", latitude=-18.1, longitude=-178.2)],
            stations=[sn.Station(network="IU", station="SNZO", latitude=-15.0, longitude=170.0)])
        m = p.viz.nb.domain()
        lons = np.array(_layer(m, "domain outline").locations)[:, 1]
        (event,) = _layer(m, "events").layers
        (station,) = _layer(m, "stations").layers
        for lon in (event.location[1], station.location[1]):
            assert lons.min() <= lon <= lons.max()
        assert abs(event.location[1] - station.location[1]) < 20.0  # not a whole world apart
    finally:
        p.close()


def test_a_box_project_still_has_no_map(tmp_path):
    p = sn.Project.from_domain(path=tmp_path / "box", domain=sn.BoxDomain(x_min=0.0, x_max=1.0, z_min=-1.0))
    try:
        with pytest.raises(TypeError, match="needs a project with a sn.MapViewDomain or a sn.domain.dim3"):
            p.viz.nb.domain()
    finally:
        p.close()
