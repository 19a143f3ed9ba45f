"""Fixtures shared by the engine tests."""
from __future__ import annotations

import numba
import pytest


@pytest.fixture(scope="module")
def one_numba_thread():
    """Run a module's kernels on one Numba thread, restored afterwards. For the 3D
    modules whose figures must not depend on the machine's load: on a shared 2-core
    machine two threads wait at every barrier for a descheduled one (measured 2-100x
    slower per step while other processes ran)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)
