"""The exact discrete energy of the central-difference scheme, as a step task (2D and 3D tests)."""
from __future__ import annotations

import numpy as np

from engine.operator import WaveOperator


class EnergyMonitor:
    """A step task that records E_n from step ``start`` on, in float64.

    ``u`` and ``v`` come from the time loop as u^n and v^{n-1/2}; u^{n-1} is kept from
    the previous call. The energy uses a float64 operator even for float32 runs, so it
    measures the drift of the float32 state, not the roundoff of the measurement.
    """

    def __init__(self, operator64: WaveOperator, start: int):
        self.op, self.start = operator64, start
        self.previous = None
        self.energy: list[float] = []
        self.steps: list[int] = []
        self._ku = np.empty((operator64.mesh.n_global, operator64.n_components))

    def should_run(self, step: int) -> bool:
        return step >= self.start - 1

    def run(self, step: int, u: np.ndarray, v: np.ndarray) -> None:
        u64 = np.array(u, dtype=np.float64)
        if self.previous is not None:
            self.op.stiffness(u64, self._ku)
            v64 = np.asarray(v, dtype=np.float64)
            kinetic = 0.5 * np.sum(self.op.mass[:, None] * v64 * v64)
            self.energy.append(kinetic + 0.5 * np.sum(self.previous * self._ku))
            self.steps.append(step)
        self.previous = u64
