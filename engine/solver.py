"""``engine.simulate``: a forward run of ``M u_tt + C u_t + K u = f``, recorded at receivers.

It checks the inputs, builds (or reuses) the wave operator, picks the time axis, adds
the step tasks (the forward store of the adjoint, progress) and runs the time loop of
``engine.timestepping``. Time axis: ``t_n = n dt``, n = 0..N, u(t_0) = 0; the source
sample at t_n drives the step from t_n to t_{n+1}.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ._validate import describe, number, optional_number
from .mesh import Mesh
from .model import Model
from .operator import WaveOperator, resolve_precision
from .physics import Physics, get as get_physics
from .receivers import Receivers, ReceiverTerms
from .sources import Source, SourceTerms, as_source_list
from .storage import ForwardStore
from .timestepping import ProgressTask, StepTask, WavefieldState, run_time_loop  # noqa: F401  (part of the solver's API)

__all__ = ["simulate", "Simulation", "StepTask", "time_axis"]

_OUTPUTS = {"displacement": 0, "velocity": 1, "acceleration": 2}


@dataclass(eq=False)
class Simulation:
    """Result of :func:`simulate`.

    Attributes
    ----------
    seismograms : xarray.DataArray (receiver, component, time) of the requested output.
    displacement : the recorded field itself (displacement or pressure), same dims;
        the adjoint works on it.
    dt, n_steps, times : the time axis (``times = arange(n_steps + 1) * dt``).
    operator : the :class:`~engine.operator.WaveOperator` (mesh, model, physics, M, C, K).
    forward : data kept for the adjoint when ``keep_forward=True``.
    """

    seismograms: xr.DataArray
    displacement: xr.DataArray
    dt: float
    n_steps: int
    operator: WaveOperator
    sources: tuple
    receivers: Receivers
    output: str
    final_state: WavefieldState
    forward: object = None
    info: dict = field(default_factory=dict)
    receiver_terms: object = field(default=None, repr=False)  # ReceiverTerms, reused by the adjoint

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.n_steps + 1) * self.dt

    @property
    def mesh(self) -> Mesh:
        return self.operator.mesh

    @property
    def model(self) -> Model:
        return self.operator.model

    @property
    def physics(self) -> Physics:
        return self.operator.physics


def time_axis(end_time: float, dt: float | None, stable_dt: float, courant: float = 0.5) -> tuple[float, int]:
    """Choose (dt, n_steps). Without ``dt``: ``courant * stable_dt`` shrunk so that
    ``n_steps * dt == end_time``. A given dt above the stable bound is refused."""
    end_time = number("end_time", end_time, "positive")
    dt = optional_number("dt", dt, "positive")
    if dt is None:
        n = int(np.ceil(end_time / (courant * stable_dt)))
        return end_time / n, n
    if dt > stable_dt:
        raise ValueError(
            f"The time step dt={dt:.6g} s is unstable for this mesh and model: the CFL bound is "
            f"{stable_dt:.6g} s. Use dt <= {stable_dt:.6g} s, or leave dt=None to choose it automatically."
        )
    return float(dt), int(np.ceil(end_time / dt - 1e-9))


def simulate(
    mesh: Mesh,
    model: Model,
    sources: Source | Sequence[Source],
    receivers: Receivers,
    end_time: float,
    physics: str = "elastic",
    dt: float | None = None,
    precision: str = "float64",
    keep_forward=False,
    output: str | None = None,
    sponge_width: float | None = None,
    tasks: Sequence[StepTask] = (),
    progress: Callable[[int, int], None] | None = None,
    operator: WaveOperator | None = None,
) -> Simulation:
    """Run a forward simulation and record seismograms.

    Solves ``M u_tt + C u_t + K u = f`` for the chosen ``physics`` ("acoustic",
    "sh", "elastic"; see ``engine.physics``) with the central-difference scheme.

    Parameters
    ----------
    mesh, model : the discretisation and its material (SI units).
    sources : one or more :class:`engine.Source` (normalisation in ``engine.sources``).
    receivers : :class:`engine.Receivers`.
    end_time : seconds; the run covers ``[0, end_time]``.
    dt : time step in seconds; default half the CFL bound (estimated from the largest
        eigenvalue of M^-1 K): the second-order time error then stays below the spatial
        error of order-4 elements at 1.5 elements per minimum wavelength (< 1 % in the
        verification suite). A dt above the bound raises ValueError.
    precision : "float64" (default, for verification) or "float32" (about 2x faster).
    keep_forward : keep what the adjoint needs (see ``engine.gradient``): True for the
        default :class:`engine.storage.StoragePolicy` (full storage up to 4 GiB, else
        checkpoints), or a StoragePolicy.
    output : "displacement" (default; "pressure" for acoustic), "velocity" or
        "acceleration" (central differences of the recorded field, consistent with the scheme).
    sponge_width : metres of mass-proportional damping inside the absorbing sides (from
        a number of wavelengths: ``engine.operator.sponge_width(n, velocity, frequency)``).
    tasks : extra :class:`StepTask` objects run after each step.
    progress : optional ``progress(step, n_steps)`` callback, called every ~1 %.
    operator : reuse a :class:`WaveOperator` built for the same mesh/model/physics.
    """
    # Every argument is checked before the (expensive) operator is built.
    end_time = number("end_time", end_time, "positive")
    dt = optional_number("dt", dt, "positive")
    sponge_width = optional_number("sponge_width", sponge_width, "positive")
    sources = as_source_list(sources)
    if not isinstance(mesh, Mesh):
        raise TypeError(f"The 'mesh' parameter must be an engine mesh (engine.mesh.*), but {describe(mesh)} was given.")
    if not isinstance(model, Model):
        raise TypeError(f"The 'model' parameter must be an engine.Model, but {describe(model)} was given.")
    if not isinstance(receivers, Receivers):
        raise TypeError(f"The 'receivers' parameter must be an engine.Receivers object, but {describe(receivers)} was given.")
    if progress is not None and not callable(progress):
        raise TypeError(f"The 'progress' parameter must be a callable progress(step, n_steps) or None, but {describe(progress)} was given.")
    phys = get_physics(physics, mesh.ndim)
    dtype = resolve_precision(precision)
    out_name = _check_output(output, phys)
    if operator is None:
        operator = WaveOperator(mesh, model, phys, dtype, sponge_width=sponge_width)
    dt, n_steps = time_axis(end_time, dt, operator.stable_dt())
    times = np.arange(n_steps + 1) * dt
    src = SourceTerms.build(sources, mesh, phys, times, dtype)
    rec = ReceiverTerms.build(receivers, mesh, dtype)

    forward = None
    all_tasks = list(tasks)
    if keep_forward:
        forward = ForwardStore.create(operator, dt, n_steps, keep_forward)
        forward.sources = src
        all_tasks.append(forward)
    if progress is not None:
        all_tasks.append(ProgressTask(progress, n_steps))
    state, record = run_time_loop(operator, src, rec, dt, n_steps, all_tasks)
    native = _to_dataarray(record, receivers, phys, times, phys.quantity, phys.units, dt)
    seismograms = native if out_name == phys.quantity else differentiate(native, out_name)
    return Simulation(
        seismograms=seismograms,
        displacement=native,
        dt=dt,
        n_steps=n_steps,
        operator=operator,
        sources=sources,
        receivers=receivers,
        output=out_name,
        final_state=state,
        forward=forward,
        info={"precision": np.dtype(dtype).name},
        receiver_terms=rec,
    )


def _check_output(output, physics: Physics) -> str:
    if output is None or output == physics.quantity:
        return physics.quantity
    if physics.quantity == "displacement" and output in _OUTPUTS:
        return output
    valid = [physics.quantity] + (["velocity", "acceleration"] if physics.quantity == "displacement" else [])
    raise ValueError(f"The 'output' parameter must be one of {valid} for the {physics.name!r} physics, but {output!r} was given.")


def _to_dataarray(record, receivers, physics, times, quantity, units, dt) -> xr.DataArray:
    # The receivers name the components and coordinates: 2D keeps the physics' names and
    # (x, z); 3D gives X, Y, Z, or Z, N, E rotated at Geographic receivers (engine.receivers).
    values, components = receivers.recorded(record, physics.components)
    return xr.DataArray(
        values,
        dims=("receiver", "component", "time"),
        coords={
            "receiver": list(receivers.names),
            "component": list(components),
            "time": times,
            **receivers.coordinates(),
        },
        attrs={"quantity": quantity, "units": units, "physics": physics.name, "dt": dt},
        name=quantity,
    )


def differentiate(field: xr.DataArray, output: str) -> xr.DataArray:
    """Velocity or acceleration from the recorded displacement by the scheme's central
    differences (one-sided at the ends). A linear operator: its transpose is
    :func:`differentiate_transpose`, which the adjoint uses."""
    dt = float(field.attrs["dt"])
    data = field.values
    if output == "velocity":
        out = np.gradient(data, dt, axis=-1)
        units = "m/s"
    elif output == "acceleration":
        out = np.zeros_like(data)
        out[..., 1:-1] = (data[..., 2:] - 2 * data[..., 1:-1] + data[..., :-2]) / dt**2
        units = "m/s^2"
    else:
        return field
    return field.copy(data=out).assign_attrs(quantity=output, units=units).rename(output)
