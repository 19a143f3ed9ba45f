"""Verification of the 3D spectral-element engine against homogeneous full-space solutions.

The references are ``tests/engine/analytical3d.py`` (acoustic pressure source, elastic
point force and general moment tensor, each convolved with the source time function);
they never import the engine. The domain is a cube with every side absorbing, large
enough that no wave reflected by a side reaches a receiver inside the window compared,
so the figure is the engine's own discretisation error.

"Default resolution" is what the 2D suite uses: order 4, elements 1/1.5 of the minimum
wavelength ``v_min / f_max`` (``f_max = stf.max_frequency``, 2.5 f0 for a Ricker), and
the engine's default time step (half the CFL bound). The convergence rate is measured
at coarser elements with a fixed small time step, so that the time error stays below
the spatial one. Run ``pytest -s`` to see the measured figures.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from collections.abc import Callable

import numpy as np
import pytest

import engine
from engine.operator import WaveOperator
from engine.physics import get as get_physics
from tests.engine import analytical3d as an

F0 = 10.0  # Hz, Ricker centre frequency
VP, VS, RHO = 3000.0, 1800.0, 2200.0
STF = engine.stf.ricker(F0)  # delay 1.2 / f0 = 0.12 s; the pulse is over by 0.24 s
# Off every element face of the meshes below (the element sizes are about 48-96 m).
SOURCE = np.array([13.0, -7.0, 5.0])
# Six receivers 100-160 m away (0.55-0.9 S wavelengths at f0, 1.4-2.2 minimum
# wavelengths: near, intermediate and far fields all matter), in directions spread
# over the sphere.
_DIST = np.array([100.0, 115.0, 125.0, 135.0, 150.0, 160.0])
_DIRECTIONS = np.array([[1.0, 0.2, 0.1], [-0.3, 1.0, 0.4], [0.2, -0.5, 1.0],
                        [-1.0, -0.6, -0.2], [0.5, -1.0, -0.7], [0.1, 0.3, -1.0]])
RECEIVERS = SOURCE + _DIST[:, None] * _DIRECTIONS / np.linalg.norm(_DIRECTIONS, axis=1, keepdims=True)
END_TIME = 0.33  # s: the S pulse has passed the farthest receiver (160 / 1800 + 0.24)
HALF = 560.0  # m, the cube is [-HALF, HALF]^3
FORCE = np.array([0.3, -0.5, 1.0])  # N
MT = np.array([[1.0, 0.4, -0.3], [0.4, -0.6, 0.2], [-0.3, 0.2, 0.25]]) * 1e3  # N m, general (with a trace)
DEFAULT_FACTOR = 1.0 / 1.5  # element size / minimum wavelength
CONVERGENCE_FACTORS = (1.5, 1.2, 1.0)


def _earliest_reflection(speed: float) -> float:
    """Earliest arrival (s) at any receiver of a wave reflected once by a side of the cube."""
    times = []
    for axis in range(3):
        for side in (-HALF, HALF):
            image = SOURCE.copy()
            image[axis] = 2 * side - SOURCE[axis]
            times.append(np.min(np.linalg.norm(RECEIVERS - image, axis=1)) / speed)
    return min(times)


# The Ricker is below 1e-3 of its peak until 0.02 s after its start: the margin.
assert _earliest_reflection(VP) + 0.02 > END_TIME


@dataclass(frozen=True)
class Case:
    physics: str
    model: dict
    source: Callable[[], engine.Source]
    exact: Callable[[np.ndarray], np.ndarray]  # times -> (n_rec, n_comp, n_t)
    v_min: float


CASES = {
    "acoustic": Case("acoustic", dict(vp=VP, rho=RHO), lambda: engine.Source.pressure(tuple(SOURCE), STF),
                     lambda t: an.acoustic_pressure_3d(RECEIVERS, SOURCE, t, VP, RHO, STF)[:, None], VP),
    "elastic_force": Case("elastic", dict(vp=VP, vs=VS, rho=RHO),
                          lambda: engine.Source.point_force(tuple(SOURCE), tuple(FORCE), STF),
                          lambda t: an.elastic_force_displacement_3d(RECEIVERS, SOURCE, t, VP, VS, RHO, FORCE, STF), VS),
    "elastic_moment": Case("elastic", dict(vp=VP, vs=VS, rho=RHO),
                           lambda: engine.Source.moment_tensor(tuple(SOURCE), MT, STF),
                           lambda t: an.elastic_moment_tensor_displacement_3d(RECEIVERS, SOURCE, t, VP, VS, RHO, MT, STF), VS),
}


@functools.lru_cache(maxsize=None)
def _cube(n: int):
    return engine.mesh.box(x=(-HALF, HALF), y=(-HALF, HALF), z=(-HALF, HALF), elements=(n, n, n), order=4,
                           absorbing=("x0", "x1", "y0", "y1", "z0", "z1"))


@functools.lru_cache(maxsize=None)
def _operator(physics: str, n: int) -> WaveOperator:
    """One operator (and CFL estimate) per physics and mesh, shared by the cases."""
    mesh = _cube(n)
    model = engine.Model.isotropic(mesh, **CASES["acoustic" if physics == "acoustic" else "elastic_force"].model)
    return WaveOperator(mesh, model, get_physics(physics, 3), np.float64)


def _elements_per_side(factor: float, v_min: float) -> int:
    return int(round(2 * HALF / (factor * v_min / STF.max_frequency)))


@functools.lru_cache(maxsize=None)
def run_case(name: str, factor: float, dt: float | None = None) -> dict:
    """Simulate one case on the cube with elements ``factor`` minimum wavelengths wide and
    compare with the analytical solution: relative L2 error over every receiver,
    component and sample, and the worst receiver's."""
    case = CASES[name]
    operator = _operator(case.physics, _elements_per_side(factor, case.v_min))
    mesh, model = operator.mesh, operator.model
    sim = engine.simulate(mesh, model, [case.source()], engine.Receivers(RECEIVERS), END_TIME,
                          physics=case.physics, dt=dt, operator=operator)
    exact = case.exact(sim.times)
    diff = sim.seismograms.values - exact
    per_receiver = np.linalg.norm(diff, axis=(1, 2)) / np.linalg.norm(exact, axis=(1, 2))
    return {"error": float(np.linalg.norm(diff) / np.linalg.norm(exact)), "worst_receiver": float(per_receiver.max()),
            "h": 2 * HALF / round(mesh.n_elements ** (1 / 3)), "dt": sim.dt, "steps": sim.n_steps, "elements": mesh.n_elements,
            "components": tuple(sim.seismograms.component.values)}


@pytest.mark.parametrize("name", list(CASES))
def test_matches_analytical_at_default_resolution(name):
    r = run_case(name, DEFAULT_FACTOR)
    print(f"\n3D {name} at the default resolution: {r['elements']} elements, h = {r['h']:.1f} m, "
          f"dt = {r['dt']:.3e} s ({r['steps']} steps): relative L2 error {r['error']:.2e}, "
          f"worst receiver {r['worst_receiver']:.2e}")
    assert r["components"] == (("P",) if name == "acoustic" else ("X", "Y", "Z"))
    assert r["error"] <= 0.01  # the target


@pytest.mark.parametrize("name", list(CASES))
def test_convergence_rate_in_element_size(name):
    """Order 4: the error falls at least as h^4, measured at coarse elements with the finest
    mesh's default dt for all three (its time error, below 2e-3 at the default resolution
    above, stays under the spatial errors of these meshes, 6e-3 and more)."""
    case = CASES[name]
    dt = 0.5 * _operator(case.physics, _elements_per_side(min(CONVERGENCE_FACTORS), case.v_min)).stable_dt()
    runs = [run_case(name, f, dt) for f in CONVERGENCE_FACTORS]
    h = np.array([r["h"] for r in runs])
    err = np.array([r["error"] for r in runs])
    rate = np.polyfit(np.log(h), np.log(err), 1)[0]
    print(f"\n3D {name} convergence (dt = {dt:.3e} s): "
          + ", ".join(f"h={a:.1f} m: {e:.2e}" for a, e in zip(h, err)) + f"; fitted rate {rate:.2f}")
    assert np.all(np.diff(err) < 0)
    assert rate >= 4.0
