"""Page-mapped buffers for the forward wavefield stores, kept between gradients.

An FWI worker computes one gradient after another (events, then iterations), and each
needs a store of the same size. Mapping gigabytes of fresh pages is not free: in this
project's 2-vCPU VM, ``MAP_POPULATE`` of a 2.4 GB store took 1.5-3 s, a quarter of the
8000-step forward run that fills it. So a store's buffer is not unmapped when the store
dies: it goes back to this pool, and the next store of a size it fits takes it with its
pages already mapped (measured: forward with storage 13.4 -> 10.1 s, 8000 steps).

The pool keeps at most 4 GiB of idle buffers (the default full-storage budget of
``engine.StoragePolicy``; :func:`set_idle_limit` changes it); :func:`release_idle` hands
them back to the operating system now (a notebook that is done with gradients, a test of
peak memory).
A buffer only returns to the pool once no array view of it is left, so reuse can never
overwrite a field that somebody still holds.
"""
from __future__ import annotations

import mmap
import threading
import weakref

import numpy as np

__all__ = ["take", "release_idle", "idle_bytes", "set_idle_limit"]

# Reentrant: a garbage collection inside a locked section may finalize a dead store's
# array and call _give_back on the same thread.
_lock = threading.RLock()
_idle: list[mmap.mmap] = []
_idle_limit = 4 * 1024**3


def take(shape: tuple, dtype) -> np.ndarray:
    """An uninitialised array of ``shape`` whose pages are mapped (an idle buffer of the
    pool if one fits, else a fresh ``MAP_POPULATE`` mapping). It returns to the pool when
    the array and every view of it are gone."""
    count = int(np.prod(shape))
    nbytes = max(count * np.dtype(dtype).itemsize, 1)
    buffer = _take_idle(nbytes)
    if buffer is None:
        buffer = _map_populated(nbytes)
        if buffer is None:  # no anonymous mmap on this platform: a plain array, never pooled
            return np.empty(shape, dtype=dtype)
    # Every view of the result has this flat array as its base (numpy collapses chains of
    # views to the first array that does not own its data), so it dies with the last view.
    flat = np.frombuffer(buffer, dtype=dtype, count=count)
    weakref.finalize(flat, _give_back, buffer)
    return flat.reshape(shape)


def release_idle() -> int:
    """Unmap every idle buffer now; returns the bytes given back."""
    with _lock:
        freed = sum(len(b) for b in _idle)
        _idle.clear()
    return freed


def idle_bytes() -> int:
    """Bytes the pool holds for the next store."""
    with _lock:
        return sum(len(b) for b in _idle)


def set_idle_limit(nbytes: int) -> None:
    """Keep at most ``nbytes`` of idle buffers (0: unmap each store's buffer when it dies)."""
    global _idle_limit
    if int(nbytes) < 0:
        raise ValueError(f"The idle limit must be >= 0 bytes, but {nbytes!r} was given.")
    with _lock:
        _idle_limit = int(nbytes)
        _trim()


def _take_idle(nbytes: int):
    """The smallest idle buffer of at least ``nbytes`` (and at most twice that, so a small
    store does not pin a large buffer), or None after unmapping the idle ones: a store
    that fits none of them would otherwise add its size to theirs at the peak."""
    with _lock:
        fitting = [b for b in _idle if nbytes <= len(b) <= 2 * nbytes]
        if fitting:
            best = min(fitting, key=len)
            _idle.remove(best)
            return best
        _idle.clear()
        return None


def _give_back(buffer) -> None:
    with _lock:
        _idle.append(buffer)
        _trim()


def _trim() -> None:
    """Drop the oldest idle buffers beyond the limit (called with the lock held)."""
    while _idle and sum(len(b) for b in _idle) > _idle_limit:
        _idle.pop(0)


def _map_populated(nbytes: int):
    """A private anonymous mapping with its pages mapped up front (MAP_POPULATE, Linux):
    touching a fresh page per step costs a page fault each, which in a virtual machine
    doubled the forward run's time; populating the mapping in one call is ~20x cheaper."""
    flags = getattr(mmap, "MAP_POPULATE", 0) | mmap.MAP_PRIVATE | getattr(mmap, "MAP_ANONYMOUS", 0)
    try:
        return mmap.mmap(-1, nbytes, flags=flags)
    except (OSError, ValueError, TypeError):
        return None
