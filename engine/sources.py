"""Point sources and their discretisation on the mesh.

Three kinds, each a body-force density ``f(x, t) = stf(t) * (...)``:

* ``point_force``: ``f = F delta(x - x_s)``; F per unit length in 2D (N/m), components
  (X, Z) for P-SV or (Y,) for SH.
* ``moment_tensor``: ``f_j = -M_jk d/dx_k delta(x - x_s)`` (N m / m in 2D); P-SV takes
  ((Mxx, Mxz), (Mxz, Mzz)), SH takes (Myx, Myz). An explosion M = M0 I pushes outward.
* ``pressure``: ``s(t) delta(x - x_s)`` on the right-hand side of the acoustic equation.

The weak form makes the nodal forces exact: ``F phi_a(x_s)`` for forces and
``M_jk d phi_a / d x_k (x_s)`` for moment tensors, with phi the element's Lagrange basis.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import describe, numbers
from .mesh import Mesh

__all__ = ["Source", "SourceTerms"]


@dataclass(frozen=True)
class Source:
    kind: str
    location: tuple
    stf: Callable
    vector: tuple | None = None  # force components, or flattened tensor
    name: str = "source"

    def __post_init__(self):
        if self.kind not in _KINDS:
            raise ValueError(f"Unknown source kind {self.kind!r}; valid kinds are {list(_KINDS)}.")
        if not isinstance(self.name, str):
            raise TypeError(f"The 'name' parameter must be a str, but {self.name!r} was given.")
        _callable(self.stf)
        object.__setattr__(self, "location", _location(self.location))
        if self.vector is not None:
            object.__setattr__(self, "vector", tuple(numbers(_KINDS[self.kind], self.vector).ravel().tolist()))

    @classmethod
    def point_force(cls, location: Sequence[float], force: Sequence[float] | float, stf: Callable, name: str = "source") -> "Source":
        """A point force (N/m in 2D): ``force`` = (fx, fz) for elastic, (fy,) or a scalar for SH."""
        f = tuple(np.atleast_1d(numbers("force", force)).tolist())
        if len(f) not in (1, 2):
            raise ValueError(f"The 'force' parameter must have 1 (SH) or 2 (P-SV) components, but {force!r} was given.")
        return cls("force", _location(location), _callable(stf), f, name)

    @classmethod
    def moment_tensor(cls, location: Sequence[float], tensor, stf: Callable, name: str = "source") -> "Source":
        """A moment-tensor source: ((Mxx, Mxz), (Mxz, Mzz)) for P-SV or (Myx, Myz) for SH."""
        m = numbers("tensor", tensor)
        if m.shape == (2, 2):
            if not np.isclose(m[0, 1], m[1, 0]):
                raise ValueError(f"The moment tensor must be symmetric, but {m.tolist()} was given.")
        elif m.shape != (2,):
            raise ValueError(
                f"The 'tensor' parameter must be 2 x 2 (P-SV) or have 2 entries (Myx, Myz) for SH, but {m.tolist()} was given."
            )
        return cls("moment_tensor", _location(location), _callable(stf), tuple(m.ravel().tolist()), name)

    @classmethod
    def pressure(cls, location: Sequence[float], stf: Callable, name: str = "source") -> "Source":
        """A pressure (volume-injection) source for the acoustic physics."""
        return cls("pressure", _location(location), _callable(stf), None, name)

    def nodal_weights(self, mesh: Mesh, n_components: int, physics_name: str) -> tuple[np.ndarray, np.ndarray]:
        """(global nodes (n,), weights (n, n_components)) of this source on the mesh."""
        if len(self.location) != mesh.ndim:
            raise ValueError(
                f"The location of source {self.name!r} needs {mesh.ndim} coordinates {mesh.axis_names}, "
                f"but {self.location} was given."
            )
        element, phi, grad = mesh.interpolation(self.location)
        nodes = mesh.ibool[element].ravel()
        phi = phi.ravel()
        grad = grad.reshape(-1, mesh.ndim)
        if self.kind == "pressure":
            if physics_name != "acoustic":
                raise ValueError(f"A pressure source needs the acoustic physics, not {physics_name!r}; use a point force or moment tensor.")
            return nodes, phi[:, None]
        if physics_name == "acoustic":
            raise ValueError(f"The acoustic physics takes pressure sources, but a {self.kind} source was given.")
        if self.kind == "force":
            if len(self.vector) != n_components:
                raise ValueError(
                    f"The {physics_name!r} physics needs a force with {n_components} component(s), but {self.vector} was given."
                )
            return nodes, phi[:, None] * np.asarray(self.vector)[None, :]
        m = np.asarray(self.vector)
        if n_components == 2 and m.size != 4:
            raise ValueError("The elastic (P-SV) physics needs a 2 x 2 moment tensor ((Mxx, Mxz), (Mxz, Mzz)).")
        if n_components == 1 and m.size != 2:
            raise ValueError("The SH physics needs a moment tensor given as (Myx, Myz).")
        # The basis gradients jump across element edges: on an edge or corner, the
        # source is the average over the elements that share the point.
        shared = mesh.gradient_weights(self.location)
        all_nodes, all_weights = [], []
        for element, g in shared:
            g = g.reshape(-1, mesh.ndim) / len(shared)
            all_nodes.append(mesh.ibool[element].ravel())
            all_weights.append(g @ m.reshape(2, 2).T if n_components == 2 else (g @ m)[:, None])
        return np.concatenate(all_nodes), np.concatenate(all_weights)


@dataclass(frozen=True)
class SourceTerms:
    """All sources of a run, discretised: the right-hand side is
    ``f[nodes[s, p], c] += weights[s, p, c] * samples[s, n]`` at step n."""

    nodes: np.ndarray  # (n_sources, n_points) int64
    weights: np.ndarray  # (n_sources, n_points, n_components)
    samples: np.ndarray  # (n_sources, n_steps + 1)

    @classmethod
    def build(cls, sources, mesh, physics, times, dtype) -> "SourceTerms":
        sources = as_source_list(sources)
        nodes, weights, samples = [], [], []
        for i, s in enumerate(sources):
            n, w = s.nodal_weights(mesh, physics.n_components, physics.name)
            nodes.append(n)
            weights.append(w)
            samples.append(stf_samples(s, times, f"source {i} ({s.name!r})"))
        # Sources on element edges touch more points: pad with zero weights.
        width = max(len(n) for n in nodes)
        padded_nodes = np.zeros((len(nodes), width), dtype=np.int64)
        padded_weights = np.zeros((len(nodes), width, physics.n_components))
        for i, (n, w) in enumerate(zip(nodes, weights)):
            padded_nodes[i, : len(n)] = n
            padded_weights[i, : len(n)] = w
        return cls(
            nodes=padded_nodes,
            weights=np.ascontiguousarray(padded_weights, dtype=dtype),
            samples=np.ascontiguousarray(samples, dtype=dtype),
        )


_KINDS = {"force": "force", "moment_tensor": "tensor", "pressure": "vector"}  # kind -> name of its vector


def as_source_list(sources) -> tuple[Source, ...]:
    """``sources`` (one Source or an iterable of them) as a tuple, checked."""
    if isinstance(sources, Source):
        return (sources,)
    if isinstance(sources, (str, bytes)) or not hasattr(sources, "__iter__"):
        raise TypeError(
            f"The 'sources' parameter must be an engine.Source or a list of them, but {describe(sources)} was given."
        )
    sources = tuple(sources)
    if not sources:
        raise ValueError("At least one source is needed; give a list of engine.Source objects.")
    for s in sources:
        if not isinstance(s, Source):
            raise TypeError(f"Sources must be engine.Source objects, but {type(s).__name__} was given.")
    return sources


def stf_samples(source: Source, times: np.ndarray, label: str) -> np.ndarray:
    """The source time function of ``source`` on the simulation's time axis, (n_times,).

    Evaluated once at set-up: a wavelet that returns NaN or infinity (or the wrong
    number of values) is refused here, naming the source, instead of turning every
    seismogram into NaN.
    """
    try:
        samples = np.asarray(source.stf(times), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"The source time function of {label} must return real numbers for an array of times, "
            f"but it raised {type(exc).__name__}: {exc}"
        ) from exc
    if samples.shape != times.shape:
        raise ValueError(
            f"The source time function of {label} must return one value per time, shaped {times.shape}, "
            f"but it returned shape {samples.shape}."
        )
    bad = np.nonzero(~np.isfinite(samples))[0]
    if len(bad):
        raise ValueError(
            f"The source time function of {label} returned NaN or infinite values at {len(bad)} of the "
            f"{len(times)} times of the simulation (the first at t = {times[bad[0]]:.6g} s); "
            "check its parameters (see engine.stf)."
        )
    return samples


def _location(location) -> tuple:
    loc = np.atleast_1d(numbers("location", location))
    if loc.ndim != 1:
        raise ValueError(f"The 'location' parameter must be one point (x, z), but {describe(location)} was given.")
    return tuple(loc.tolist())


def _callable(stf):
    if not callable(stf):
        raise TypeError(f"The 'stf' parameter must be a callable stf(t) -> array (see engine.stf), but {stf!r} was given.")
    return stf
