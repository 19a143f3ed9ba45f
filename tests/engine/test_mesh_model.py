"""Mesh geometry, numbering, location and the Model constructors and checks."""
import numpy as np
import pytest
import xarray as xr

import engine


@pytest.fixture(scope="module")
def mesh():
    return engine.mesh.rectangle(x=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(8, 4), order=4)


def test_global_numbering_and_area(mesh):
    assert mesh.n_global == (8 * 4 + 1) * (4 * 4 + 1)
    assert np.isclose(mesh.quadrature_weights().sum(), 2000.0 * 1000.0, rtol=1e-13)
    # Points shared by elements have identical coordinates in each element.
    np.testing.assert_allclose(mesh.global_coordinates[mesh.ibool], mesh.coordinates, atol=1e-9)


@pytest.mark.parametrize("n_threads", [1, 2, 3, 7])
def test_block_schedule_runs_every_element_once_and_parallel_tasks_share_no_point(n_threads):
    from engine.physics._blocks import ElementBlocks

    m = engine.mesh.rectangle(x=(0.0, 3000.0), z=(-2000.0, 0.0), elements=(30, 20), order=4)
    blocks = ElementBlocks.from_mesh(m, n_threads=n_threads)
    valid = np.arange(blocks.elements.shape[1])[None, :] < blocks.count[:, None]
    np.testing.assert_array_equal(np.sort(blocks.elements[valid]), np.arange(m.n_elements))
    phases, tasks = blocks.schedule
    assert phases[0] == 0 and phases[-1] == len(tasks) - 1 and tasks[-1] == len(blocks.count)
    if n_threads == 1:
        assert len(phases) == 2 and len(tasks) == 2  # one task over the whole mesh, in order
    for p in range(len(phases) - 1):
        owner = {}
        for t in range(phases[p], phases[p + 1]):
            elements = blocks.elements[tasks[t]:tasks[t + 1]][valid[tasks[t]:tasks[t + 1]]]
            for g in np.unique(m.ibool[elements]):
                assert owner.setdefault(int(g), t) == t, f"point {g} in tasks {owner[int(g)]} and {t} of phase {p}"


def test_stiffness_does_not_depend_on_the_schedule():
    from engine.operator import WaveOperator
    from engine.physics import get
    from engine.physics import _blocks
    from engine.stiffness import StiffnessOperator

    m = engine.mesh.rectangle(x=(0.0, 3000.0), z=(-2000.0, 0.0), elements=(30, 20), order=4)
    model = engine.Model.isotropic(m, vp=3000.0, vs=1700.0, rho=2500.0)
    u = np.random.default_rng(0).standard_normal((m.n_global, 2))
    results = []
    for n_threads in (1, 4):
        op = WaveOperator(m, model, get("elastic"), np.float64)
        blocks = _blocks.ElementBlocks.from_mesh(m, n_threads=n_threads)
        stiffness = StiffnessOperator.build(m, op.coefficients, op.physics.kernel, op.physics.kernel_material, 2,
                                            np.float64, blocks=blocks)
        assert len(stiffness.blocks.tasks) > 2 or n_threads == 1
        ku = np.empty_like(u)
        stiffness.apply(u, ku)
        results.append(ku)
    np.testing.assert_allclose(results[0], results[1], rtol=0, atol=1e-13 * np.abs(results[0]).max())


def test_element_size_option_and_side_sets():
    m = engine.mesh.rectangle(x=(0, 1000), z=(-500, 0), element_size=100.0, absorbing=("left", "bottom"))
    assert m.n_elements == 10 * 5
    assert len(m.side_sets["free_surface"]) == 10 + 5  # top and right
    assert len(m.side_sets["absorbing"]) == 5 + 10


def test_face_normals_point_outward(mesh):
    for side, expected in (("left", (-1, 0)), ("right", (1, 0)), ("bottom", (0, -1)), ("top", (0, 1))):
        e, f = mesh.side_sets[side][0]
        _, weights, normals = mesh.face_geometry(int(e), int(f))
        np.testing.assert_allclose(normals, np.broadcast_to(expected, normals.shape), atol=1e-12)
    total = sum(mesh.face_geometry(int(e), int(f))[1].sum() for e, f in mesh.side_sets["bottom"])
    assert np.isclose(total, 2000.0)


def test_topography_follows_the_function_and_integrates_area():
    topo = lambda x: 50.0 * np.sin(2 * np.pi * x / 1000.0)  # noqa: E731
    m = engine.mesh.rectangle(x=(0, 2000), z=(-1000, 0), elements=(20, 10), topography=topo)
    top = m.global_coordinates[np.isclose(m.global_coordinates[:, 1], topo(m.global_coordinates[:, 0]), atol=1e-9)]
    assert len(top) == 20 * 4 + 1
    # Two full periods of sine add no area; the order-4 geometry integrates it to ~1e-9.
    assert np.isclose(m.quadrature_weights().sum(), 2.0e6, rtol=1e-9)


def test_interpolation_is_exact_for_polynomials(mesh):
    f = 1e-6 * mesh.coordinates[..., 0] ** 3 - 2e-3 * mesh.coordinates[..., 1] ** 2
    pts = np.random.default_rng(1).uniform([0, -1000], [2000, 0], (50, 2))
    e, w = mesh.interpolation_matrix(pts)
    np.testing.assert_allclose(np.einsum("pji,pji->p", w, f[e]), 1e-6 * pts[:, 0] ** 3 - 2e-3 * pts[:, 1] ** 2, rtol=1e-10)


def test_locate_outside_is_a_clear_error(mesh):
    with pytest.raises(ValueError, match="outside the mesh"):
        mesh.locate((5000.0, -10.0))


def test_model_value_forms(mesh):
    grid = xr.DataArray(
        np.full((5, 3), 2500.0), dims=("x", "z"), coords={"x": np.linspace(-10, 2010, 5), "z": np.linspace(-1010, 10, 3)}
    )
    m = engine.Model.isotropic(mesh, vp=lambda x, z: 3000.0 + 0.1 * x, vs=grid, rho=2200.0)
    assert m["vp"].shape == mesh.point_shape
    np.testing.assert_allclose(m["vp"], 3000.0 + 0.1 * mesh.coordinates[..., 0])
    np.testing.assert_allclose(m["vs"], 2500.0)
    per_global = engine.Model.isotropic(mesh, vp=np.full(mesh.n_global, 3.0e3), rho=1.0)
    assert per_global["vp"].shape == mesh.point_shape
    ds = m.to_xarray(shape=(21, 11))
    np.testing.assert_allclose(ds["vp"].values, 3000.0 + 0.1 * ds["x"].values[:, None] * np.ones((1, 11)), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(vp=-1.0, vs=1.0, rho=1.0), "'vp' values must be positive"),
        (dict(vp=np.nan, vs=1.0, rho=1.0), "must be finite"),
        (dict(vp=1.0, vs=1.0, rho=1.0, vq=2.0), "Unknown model parameter"),
    ],
)
def test_model_errors(mesh, kwargs, message):
    with pytest.raises(ValueError, match=message):
        engine.Model(mesh, **kwargs)


def test_elastic_refuses_vs_above_vp_over_sqrt2(mesh):
    model = engine.Model.isotropic(mesh, vp=3000.0, vs=2200.0, rho=2000.0)
    src = engine.Source.point_force((1000.0, -500.0), (0.0, 1.0), engine.stf.ricker(10.0))
    with pytest.raises(ValueError, match=r"vs < vp / sqrt\(2\)"):
        engine.simulate(mesh, model, [src], engine.Receivers([(10.0, 0.0)]), end_time=0.1)


def test_physics_needs_its_parameters(mesh):
    model = engine.Model.isotropic(mesh, vp=3000.0, rho=2000.0)
    src = engine.Source.point_force((1000.0, -500.0), 1.0, engine.stf.ricker(10.0))
    with pytest.raises(ValueError, match=r"needs the model parameters \(vs, rho\)"):
        engine.simulate(mesh, model, [src], engine.Receivers([(10.0, 0.0)]), end_time=0.1, physics="sh")
    with pytest.raises(ValueError, match="Unknown physics 'viscous'; valid names are"):
        engine.simulate(mesh, model, [src], engine.Receivers([(10.0, 0.0)]), end_time=0.1, physics="viscous")
