"""What the forward run keeps for the adjoint: the wavefield in full, as checkpoints, or decimated.

``keep_forward=True`` in ``engine.simulate`` keeps u^n either in full
(fast, memory (N + 1) fields), or as checkpoints every ~sqrt(N) steps with recomputation
of one segment at a time during the adjoint (memory about 4 sqrt(N) fields), chosen by a
memory limit; or, approximately, every ``sampling_interval``-th step (``mode="decimated"``):
the sums over n above are then sampled every s-th step (trapezoid weights). Each is a sum
of products of two band-limited time series, so sampling is nearly exact while s dt stays
well below the shortest period: measured relative errors 1e-6 (s = 2) and 1e-5 (s = 4) at
~35 steps per shortest period, 5e-3 at s = 8 (tests/engine/test_adjoint.py: a 0.6 s
record whose adjoint source a 5 % taper cuts off at the end); 2.6e-10 (s = 4) and
8.5e-9 (s = 5) in float64 on the 100 x 100 benchmark (41 steps per shortest period), far
below the 1.8e-5 that float32 roundoff leaves in an exact gradient.
``sampling_interval_for`` gives the largest s with s dt <= 1/8 of the shortest period.
The stores' buffers come from ``engine.storage_buffers``, which keeps a dead store's
mapped pages for the next gradient of a worker.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import storage_buffers
from .operator import WaveOperator
from .receivers import ReceiverTerms
from .sources import SourceTerms
from .timestepping import WavefieldState, run_time_loop

__all__ = ["StoragePolicy", "ForwardStore", "sampling_interval_for"]

_MODES = ("auto", "full", "checkpoint", "decimated")


@dataclass(frozen=True)
class StoragePolicy:
    """How the forward wavefield is kept for the adjoint.

    mode : "auto" (full if it fits in ``memory_limit_bytes``, else checkpoints),
        "full", "checkpoint" (bounded memory, one extra forward run), or "decimated"
        (every ``sampling_interval``-th step; approximate gradient, fastest, least memory;
        keep s dt below ~1/8 of the shortest period, see the module docstring).
    memory_limit_bytes : the budget "auto" compares the full storage with (default 4 GiB).
    sampling_interval : steps between stored fields in "decimated" mode.
    checkpoint_interval : steps between checkpoints (default ceil(sqrt(N))).
    """

    mode: str = "auto"
    memory_limit_bytes: int = 4 * 1024**3
    sampling_interval: int = 1
    checkpoint_interval: int | None = None

    def __post_init__(self):
        if self.mode not in _MODES:
            raise ValueError(f"The 'mode' parameter must be one of {list(_MODES)}, but {self.mode!r} was given.")
        if int(self.sampling_interval) < 1:
            raise ValueError(f"The 'sampling_interval' parameter must be >= 1, but {self.sampling_interval!r} was given.")


def sampling_interval_for(dt: float, shortest_period: float, samples_per_period: float = 8.0) -> int:
    """The largest decimated-storage interval s with s dt <= shortest_period /
    samples_per_period (and at least 1). The default 8 is the guideline under which the
    sampled sums stay near exact (measured on the 100 x 100 benchmark, 41 steps per
    shortest period: s = 4 and 5 change the float64 gradient by 1e-10 to 1e-8, below
    float32 roundoff, which is 2e-5)."""
    if not dt > 0 or not shortest_period > 0:
        raise ValueError(f"dt and the shortest period must be positive, but {dt!r} and {shortest_period!r} were given.")
    return max(1, int(np.floor(shortest_period / (samples_per_period * dt) * (1 + 1e-12))))


class ForwardStore:
    """Keeps (or can recompute) the forward displacement u^n for the adjoint pass.

    It is a :class:`~engine.timestepping.StepTask`: the forward time loop hands it every step.
    """

    def __init__(self, operator: WaveOperator, dt: float, n_steps: int, policy: StoragePolicy):
        self.operator, self.dt, self.n_steps = operator, dt, n_steps
        shape = (operator.mesh.n_global, operator.n_components)
        self.field_shape = shape
        field_bytes = int(np.prod(shape)) * np.dtype(operator.dtype).itemsize
        mode = policy.mode
        if mode == "auto":
            mode = "full" if (n_steps + 1) * field_bytes <= policy.memory_limit_bytes else "checkpoint"
        self.mode = mode
        self.interval = int(policy.sampling_interval) if mode == "decimated" else 1
        self.checkpoint_interval = int(policy.checkpoint_interval or np.ceil(np.sqrt(n_steps + 1)))
        self.sources: SourceTerms | None = None  # set by simulate (needed to recompute)
        self.fields: dict[int, np.ndarray] = {}
        self.checkpoints: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._segment: tuple[int, int] | None = None
        self._segment_buffers: list[np.ndarray] = []
        if mode == "full":
            self._full = storage_buffers.take((n_steps + 1,) + shape, operator.dtype)
        elif mode == "decimated":  # steps 0, s, 2s, ... and the last one, in consecutive slots
            self._full = storage_buffers.take((n_steps // self.interval + 2,) + shape, operator.dtype)

    @classmethod
    def create(cls, operator, dt, n_steps, policy=True) -> "ForwardStore":
        return cls(operator, dt, n_steps, policy if isinstance(policy, StoragePolicy) else StoragePolicy())

    # --- StepTask --------------------------------------------------------------------
    def should_run(self, step: int) -> bool:
        if self.mode == "full":
            return True
        if self.mode == "decimated":
            return step % self.interval == 0 or step == self.n_steps
        return step % self.checkpoint_interval == 0

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None:
        if self.mode == "full":
            self._full[step] = u
        elif self.mode == "decimated":
            slot = self._full[self._slot(step)]
            slot[...] = u
            self.fields[step] = slot
        else:
            self.checkpoints[step] = (u.copy(), v.copy())

    @property
    def nbytes(self) -> int:
        """Bytes held now (what the memory bound refers to)."""
        if self.mode in ("full", "decimated"):
            return self._full.nbytes
        segment = sum(a.nbytes for a in self._segment_buffers)
        return segment + sum(u.nbytes + v.nbytes for u, v in self.checkpoints.values())

    def _slot(self, step: int) -> int:
        return step // self.interval if step % self.interval == 0 else self.n_steps // self.interval + 1

    # --- access during the adjoint ---------------------------------------------------------
    def field(self, step: int) -> np.ndarray:
        """u^step (u^{-1} = 0 and u^{N+1} is never needed).

        In checkpoint mode the array is a view into a segment buffer: it stays valid until
        the second recomputation after the call (enough for the steps k-1, k, k+1 of one
        time step, asked for in any order)."""
        if step < 0:
            return np.zeros(self.field_shape, dtype=self.operator.dtype)
        if self.mode == "full":
            return self._full[step]
        if self.mode == "decimated":
            return self.fields[step]
        start = (step // self.checkpoint_interval) * self.checkpoint_interval
        if self._segment is None or not self._segment[0] <= step <= self._segment[1]:
            self._recompute_segment(start)
        return self.fields[step]

    def _recompute_segment(self, start: int) -> None:
        """Re-run the forward from the checkpoint at ``start`` over one segment, keeping
        u^{start-1} .. u^{start+interval+1} (two segment buffers, allocated on first use
        and reused by every segment)."""
        stop = min(start + self.checkpoint_interval, self.n_steps)
        if not self._segment_buffers:
            shape = (self.checkpoint_interval + 3,) + self.field_shape
            self._segment_buffers = [storage_buffers.take(shape, self.operator.dtype) for _ in range(2)]
        # Two buffers used in turn, so the fields handed out from the previous segment
        # stay valid while a caller that straddles two segments still holds them.
        self._segment_buffers.reverse()
        u0, v0 = self.checkpoints[start]
        keep = _Keep(self._segment_buffers[0], first_step=start - 1)
        if start > 0:
            keep.run(start - 1, u0 - self.dt * v0, v0)  # u^{start-1} from the velocity form
        state = WavefieldState(u0.copy(), v0.copy(), start)
        no_rec = ReceiverTerms(np.zeros((0, 1), np.int64), np.zeros((0, 1), self.operator.dtype))
        run_time_loop(self.operator, self.sources, no_rec, self.dt, min(stop + 1, self.n_steps), [keep],
                      state=state, record=np.zeros((0, self.operator.n_components, self.n_steps + 1), self.operator.dtype))
        self.fields = keep.fields
        self._segment = (start - 1, min(stop + 1, self.n_steps))


class _Keep:
    """Step task that copies u^step into consecutive slots of a preallocated buffer."""

    def __init__(self, buffer: np.ndarray, first_step: int):
        self.buffer, self.first_step = buffer, first_step
        self.fields: dict[int, np.ndarray] = {}

    def should_run(self, step):
        return True

    def run(self, step, u, v):
        slot = self.buffer[step - self.first_step]
        slot[...] = u
        self.fields[step] = slot
