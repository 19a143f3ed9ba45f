"""The explicit time loop of ``M u_tt + C u_t + K u = f`` and the tasks it runs between steps.

One step is four Numba kernel calls (``_stepping_kernels``); the loop itself stays in
Python so that periodic work (progress, the forward store of the adjoint, snapshots,
energy monitors in tests) plugs in between steps as :class:`StepTask` objects without
the kernels growing I/O code. Time axis: ``t_n = n dt``, u(t_0) = 0; the source sample
at t_n drives the step from t_n to t_{n+1}. The forward run (``engine.solver``), the
recomputation of checkpointed segments (``engine.storage``) and the adjoint all use it.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from . import _stepping_kernels as sk
from .operator import WaveOperator
from .receivers import ReceiverTerms
from .sources import SourceTerms

__all__ = ["StepTask", "WavefieldState", "ProgressTask", "run_time_loop"]


class StepTask(Protocol):
    """Something the time loop runs between steps (after step ``n`` produced u^n)."""

    def should_run(self, step: int) -> bool: ...

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None: ...


@dataclass
class WavefieldState:
    """The time-stepping state at step n: u^n and v^{n-1/2}, (n_global, n_comp)."""

    u: np.ndarray
    v: np.ndarray
    step: int = 0


class ProgressTask:
    """Calls ``callback(step, n_steps)`` about every 1 % of the run and at the last step."""

    def __init__(self, callback, n_steps: int):
        self.callback, self.n_steps = callback, int(n_steps)
        self.every = max(1, self.n_steps // 100)

    def should_run(self, step: int) -> bool:
        return step > 0 and (step % self.every == 0 or step == self.n_steps)

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None:
        self.callback(step, self.n_steps)


def run_time_loop(operator: WaveOperator, src: SourceTerms, rec: ReceiverTerms, dt: float, n_steps: int,
                  tasks: Sequence[StepTask] = (), state: WavefieldState | None = None,
                  record: np.ndarray | None = None) -> tuple[WavefieldState, np.ndarray]:
    """Advance from ``state`` (default: rest at step 0) to step ``n_steps``."""
    dtype, nc, ng = operator.dtype, operator.n_components, operator.mesh.n_global
    arrays = operator.stepping_arrays(dt)
    if state is None:
        state = WavefieldState(np.zeros((ng, nc), dtype), np.zeros((ng, nc), dtype), 0)
    if record is None:
        record = np.zeros((len(rec.nodes), nc, n_steps + 1), dtype=dtype)
    ku = np.empty_like(state.u)
    corr = np.zeros((len(arrays["damp_idx"]), nc), dtype=dtype)
    dt_typed = dtype(dt)
    u_flat, v_flat, ku_flat = state.u.reshape(-1), state.v.reshape(-1), ku.reshape(-1)
    minv_flat = arrays["minv_dt"].reshape(-1)
    for task in tasks:
        if task.should_run(state.step):
            task.run(state.step, state.u, state.v)
    for n in range(state.step, n_steps):
        operator.stiffness(state.u, ku)
        sk.add_sources_and_damping(ku, state.v, src.nodes, src.weights, src.samples, n, arrays["damp_idx"],
                                   arrays["damp_p"], arrays["damp_q"], arrays["minv_dt"], corr)
        sk.leapfrog_update(u_flat, v_flat, ku_flat, minv_flat, dt_typed)
        sk.finish_step(state.u, state.v, corr, arrays["damp_idx"], dt_typed, rec.nodes, rec.weights, record, n + 1)
        state.step = n + 1
        for task in tasks:
            if task.should_run(n + 1):
                task.run(n + 1, state.u, state.v)
    return state, record
