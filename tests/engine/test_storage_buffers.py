"""The pool of forward-store buffers (engine.storage_buffers): a store's pages are
reused by the next gradient, never while a view of them is alive, and reuse cannot
change a gradient (stale contents are never read)."""
import numpy as np
import pytest

import engine
from engine import storage_buffers


@pytest.fixture(autouse=True)
def empty_pool():
    storage_buffers.release_idle()
    yield
    storage_buffers.set_idle_limit(4 * 1024**3)
    storage_buffers.release_idle()


def _address(a):
    return a.__array_interface__["data"][0]


def test_a_dead_buffer_is_reused_by_the_next_store_of_a_size_it_fits():
    a = storage_buffers.take((10, 1000, 2), np.float32)
    a[...] = 1.0
    address = _address(a)
    del a
    assert storage_buffers.idle_bytes() == 10 * 1000 * 2 * 4
    b = storage_buffers.take((9, 1000, 2), np.float32)  # smaller, within 2x: reused
    assert _address(b) == address and b.shape == (9, 1000, 2) and b.dtype == np.float32
    assert storage_buffers.idle_bytes() == 0


def test_a_buffer_with_a_live_view_is_not_reused():
    a = storage_buffers.take((4, 256), np.float64)
    view = a[2]
    address = _address(a)
    del a
    assert storage_buffers.idle_bytes() == 0  # the view keeps it
    b = storage_buffers.take((4, 256), np.float64)
    assert _address(b) != address
    assert not np.shares_memory(view, b)
    del view
    assert storage_buffers.idle_bytes() == 4 * 256 * 8


def test_a_request_no_idle_buffer_fits_unmaps_them_first():
    a = storage_buffers.take((1000,), np.float64)
    del a
    big = storage_buffers.take((10_000,), np.float64)  # > 2x: not reused, idle ones dropped
    assert storage_buffers.idle_bytes() == 0
    del big
    assert storage_buffers.idle_bytes() == 80_000


def test_the_idle_limit_bounds_what_the_pool_holds():
    storage_buffers.set_idle_limit(0)
    a = storage_buffers.take((1000,), np.float64)
    del a
    assert storage_buffers.idle_bytes() == 0
    with pytest.raises(ValueError, match="idle limit"):
        storage_buffers.set_idle_limit(-1)


@pytest.mark.parametrize("mode", ["full", "decimated"])
def test_a_reused_store_gives_the_same_gradient(mode):
    """Fill the pooled buffer with NaN between two gradients: any stale value the adjoint
    read would show up in the second gradient."""
    mesh = engine.mesh.rectangle(x=(0, 1000.0), z=(-600.0, 0.0), elements=(6, 4), absorbing=("left", "right", "bottom"))
    model = engine.Model.isotropic(mesh, vp=3000.0, vs=1700.0, rho=2200.0)
    src = engine.Source.point_force((430.0, -310.0), (0.0, 1.0), engine.stf.ricker(15.0))
    rec = engine.Receivers([(200.0, -5.0), (800.0, -100.0)])
    policy = engine.StoragePolicy(mode=mode, sampling_interval=2)

    def one_gradient():
        sim = engine.simulate(mesh, model, [src], rec, end_time=0.2, keep_forward=policy)
        return engine.gradient(sim, sim.seismograms)

    first = one_gradient()
    assert storage_buffers.idle_bytes() > 0
    stale = storage_buffers.take((storage_buffers.idle_bytes() // 8,), np.float64)
    stale[...] = np.nan
    del stale
    second = one_gradient()
    for p in ("vp", "vs", "rho"):
        assert np.all(np.isfinite(second[p]))
        np.testing.assert_array_equal(second[p], first[p])
