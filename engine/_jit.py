"""The one place that sets Numba's compilation options for every engine kernel.

Kernels are compiled with ``cache=True`` (so CI and notebooks reuse compiled code) and
``nogil=True`` (so the ``local`` execution site can run jobs in threads). ``fastmath``
is deliberately off: the verification suite compares float64 results to 1e-10.
"""
from __future__ import annotations

import numba

__all__ = ["kernel", "inline_kernel", "parallel_kernel"]

_OPTIONS = dict(cache=True, nogil=True, error_model="numpy")


def kernel(func):
    """Compile a serial kernel with the engine's options."""
    return numba.njit(**_OPTIONS)(func)


def parallel_kernel(func):
    """Compile a kernel that uses ``numba.prange``; threads follow ``numba.set_num_threads``."""
    return numba.njit(parallel=True, **_OPTIONS)(func)


def inline_kernel(func):
    """A helper inlined into its caller at Numba IR level, so loop bounds that are
    compile-time constants in the caller stay constant (and vectorise) inside it."""
    return numba.njit(inline="always", **_OPTIONS)(func)
