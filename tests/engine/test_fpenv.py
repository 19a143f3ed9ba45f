"""engine._fpenv: kernels flush subnormals while they run and give the caller back IEEE
behaviour (numpy and scipy in the same thread must still see gradual underflow)."""
import numba
import numpy as np

from engine._fpenv import _X86, flush_subnormals, restore_fpenv


@numba.njit
def _product_with_flushing(a, b, out):
    previous = flush_subnormals()
    out[0] = a[0] * b
    restore_fpenv(previous)
    out[1] = a[1] * b


def test_subnormal_results_are_flushed_inside_and_gradual_outside():
    tiny = np.float32(1e-20)
    a = np.array([tiny, tiny], dtype=np.float32)
    out = np.zeros(2, dtype=np.float32)
    _product_with_flushing(a, tiny, out)
    if _X86:
        assert out[0] == 0.0  # 1e-40 is subnormal in float32: flushed while the flags are set
    else:  # no MXCSR: the functions do nothing by design
        assert out[0] == out[1]
    assert 0.0 < out[1] < np.finfo(np.float32).tiny  # restored: gradual underflow again
    # And this thread's numpy still underflows gradually.
    assert np.float32(1e-20) * np.float32(1e-20) > 0.0
