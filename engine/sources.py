"""Point sources and their discretisation on the mesh.

Three kinds, each a body-force density ``f(x, t) = stf(t) * (...)``:

* ``point_force``: ``f = F delta(x - x_s)``; F per unit length in 2D (N/m), components
  (X, Z) for P-SV or (Y,) for SH; in 3D a force in N with components (x, y, z) in the
  mesh frame (or (Z, N, E) at a Geographic location with ``frame="zne"``).
* ``moment_tensor``: ``f_j = -M_jk d/dx_k delta(x - x_s)`` (N m / m in 2D, N m in 3D);
  P-SV takes ((Mxx, Mxz), (Mxz, Mzz)), SH takes (Myx, Myz), 3D a symmetric 3 x 3 matrix
  in the mesh frame or, at an `engine.Geographic` location, a Global CMT dict
  {"mrr", "mtt", "mpp", "mrt", "mrp", "mtp"} (r up, t south, p east), rotated to the
  mesh frame with ``M_cart = Q M_sph Q^T``, Q = ``Geographic.local_frame()`` (columns
  e_r, e_theta, e_phi) at the source. An explosion M = M0 I pushes outward.
* ``pressure``: ``s(t) delta(x - x_s)`` on the right-hand side of the acoustic equation.

The weak form makes the nodal forces exact: ``F phi_a(x_s)`` for forces and
``M_jk d phi_a / d x_k (x_s)`` for moment tensors, with phi the element's Lagrange basis
(the sign: ``int f_j phi_a = -M_jk int d_k delta phi_a = +M_jk d_k phi_a(x_s)``). So a
point force's nodal vector sums to F, and for a displacement ``u = A x + b`` a moment
tensor's nodal vector does the work ``sum_a f_a . u_a = M : A`` (``sum_jk M_jk A_jk``),
with zero net force and, for symmetric M, zero net torque.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import describe, number, numbers
from .geographic import Geographic
from .mesh import Mesh
from .receivers import locate_in_chunk

__all__ = ["Source", "SourceTerms"]


@dataclass(frozen=True)
class Source:
    kind: str
    location: tuple | Geographic  # mesh coordinates (m), or a Geographic in a spherical chunk
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
    def point_force(cls, location: Sequence[float] | Geographic, force: Sequence[float] | float, stf: Callable,
                    name: str = "source", frame: str = "mesh") -> "Source":
        """A point force ``f = F delta(x - x_s) stf(t)``.

        Parameters
        ----------
        location : the point, (x, z) in 2D, (x, y, z) in 3D (m, mesh frame), or an
            `engine.Geographic` in a spherical chunk.
        force : 2D: (fx, fz) for elastic, (fy,) or a scalar for SH, N/m. 3D: three
            components, N, in the mesh frame (x, y, z) (Earth-centred Cartesian in a chunk),
            or (Z up, N, E) with ``frame="zne"``.
        stf : source time function, a callable ``stf(t) -> array`` (see `engine.stf`).
        name : a label for messages.
        frame : "mesh" (default) or "zne": the force's (Z, N, E) components at a Geographic
            location, rotated to the mesh frame with ``Geographic.zne().T``.

        >>> import engine
        >>> s = engine.Source.point_force(engine.Geographic(90.0, 0.0, 1e3), (1.0, 0.0, 0.0), engine.stf.ricker(1.0), frame="zne")
        >>> [round(v, 12) for v in s.vector]
        [0.0, 0.0, 1.0]
        """
        location = _location(location)
        f = np.atleast_1d(numbers("force", force))
        three_d = isinstance(location, Geographic) or len(location) == 3
        if f.ndim != 1 or len(f) not in ((1, 2, 3) if three_d else (1, 2)):
            where = ("in 2D, or 3 (x, y, z) in 3D" if three_d
                     else "at a 2D location (3 components need a 3D location (x, y, z))")
            raise ValueError(f"The 'force' parameter must have 1 (SH) or 2 (P-SV) components {where}, but {describe(force)} was given.")
        if frame not in _FRAMES:
            raise ValueError(f"The 'frame' parameter must be one of {list(_FRAMES)}, but {describe(frame)} was given.")
        if frame == "zne":
            if not isinstance(location, Geographic) or len(f) != 3:
                raise ValueError(
                    "A force with frame='zne' needs an engine.Geographic location and 3 components (Z, N, E), "
                    f"but the location {location!r} and the force {describe(force)} were given."
                )
            f = location.zne().T @ f
        return cls("force", location, _callable(stf), tuple(f.tolist()), name)

    @classmethod
    def moment_tensor(cls, location: Sequence[float] | Geographic, tensor, stf: Callable, name: str = "source") -> "Source":
        """A moment-tensor source ``f_j = -M_jk d/dx_k delta(x - x_s) stf(t)``.

        Parameters
        ----------
        location : the point, (x, z) in 2D, (x, y, z) in 3D (m, mesh frame), or an
            `engine.Geographic` in a spherical chunk.
        tensor : 2D: ((Mxx, Mxz), (Mxz, Mzz)) for P-SV or (Myx, Myz) for SH, N m / m.
            3D: a symmetric 3 x 3 matrix in the mesh frame, N m; or, at a Geographic
            location, a dict in the Global CMT convention with exactly the keys "mrr",
            "mtt", "mpp", "mrt", "mrp", "mtp" (any case; N m; r up, t south, p east),
            rotated to the mesh frame as ``M_cart = Q M_sph Q^T`` with Q the local frame
            (columns e_r, e_theta, e_phi) at the source.
        stf : source time function (a Heaviside stf is a step in moment).
        name : a label for messages.

        >>> import engine
        >>> s = engine.Source.moment_tensor(engine.Geographic(0.0, 0.0, 10e3), dict(mrr=1.0, mtt=0.0, mpp=0.0,
        ...                                 mrt=0.0, mrp=0.0, mtp=0.0), engine.stf.ricker(1.0))
        >>> [round(v, 12) for v in s.vector]  # e_r = x at (0, 0): Mrr is Mxx
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        """
        location = _location(location)
        three_d = isinstance(location, Geographic) or len(location) == 3
        if isinstance(tensor, dict):
            if not isinstance(location, Geographic):
                raise ValueError(
                    "A moment tensor given as a Global CMT dict (mrr, mtt, ...) needs an engine.Geographic location, "
                    f"but {location!r} was given; give a 3 x 3 matrix in the mesh frame at mesh coordinates."
                )
            m = _gcmt_to_cartesian(tensor, location)
        else:
            m = numbers("tensor", tensor)
            if m.shape == (2, 2) and not three_d:
                if not np.isclose(m[0, 1], m[1, 0]):
                    raise ValueError(f"The moment tensor must be symmetric, but {m.tolist()} was given.")
            elif m.shape == (3, 3) and three_d:
                scale = float(np.abs(m).max())
                if not np.allclose(m, m.T, rtol=0.0, atol=_SYMMETRY * scale):
                    raise ValueError(
                        f"The moment tensor must be symmetric (M_ij = M_ji), but {m.tolist()} was given; "
                        "an asymmetric part would add a torque."
                    )
                m = 0.5 * (m + m.T)  # exactly symmetric: no net torque from round-off
            elif m.shape != (2,) or three_d:
                if three_d:
                    raise ValueError(
                        "The 'tensor' parameter must be a symmetric 3 x 3 matrix at a 3D location (or a Global CMT "
                        f"dict at a Geographic one), but {m.tolist()} was given."
                    )
                raise ValueError(
                    f"The 'tensor' parameter must be 2 x 2 (P-SV) or have 2 entries (Myx, Myz) for SH, "
                    f"but {m.tolist()} was given (a 3 x 3 tensor needs a 3D location)."
                )
        return cls("moment_tensor", location, _callable(stf), tuple(m.ravel().tolist()), name)

    @classmethod
    def pressure(cls, location: Sequence[float], stf: Callable, name: str = "source") -> "Source":
        """A pressure (volume-injection) source for the acoustic physics."""
        return cls("pressure", _location(location), _callable(stf), None, name)

    def nodal_weights(self, mesh: Mesh, n_components: int, physics_name: str) -> tuple[np.ndarray, np.ndarray]:
        """(global nodes (n,), weights (n, n_components)) of this source on the mesh.

        Forces: ``F phi_a(x_s)``; moment tensors: ``M_jk d phi_a / d x_k (x_s)`` (component j);
        pressure: ``phi_a(x_s)``. A Geographic location needs a spherical chunk.
        """
        point = self._point(mesh)
        element, phi, grad = _interpolation(mesh, point)
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
        if n_components == 3 and m.size != 9:
            raise ValueError(f"The 3D {physics_name!r} physics needs a 3 x 3 moment tensor (or a Global CMT dict), but {self.vector} was given.")
        if n_components == 2 and m.size != 4:
            raise ValueError("The elastic (P-SV) physics needs a 2 x 2 moment tensor ((Mxx, Mxz), (Mxz, Mzz)).")
        if n_components == 1 and m.size != 2:
            raise ValueError("The SH physics needs a moment tensor given as (Myx, Myz).")
        # The basis gradients jump across element edges: on an edge or corner, the
        # source is the average over the elements that share the point.
        shared = _gradient_weights(mesh, point)
        all_nodes, all_weights = [], []
        for element, g in shared:
            g = g.reshape(-1, mesh.ndim) / len(shared)
            all_nodes.append(mesh.ibool[element].ravel())
            all_weights.append(g @ m.reshape(n_components, n_components).T if n_components > 1 else (g @ m)[:, None])
        return np.concatenate(all_nodes), np.concatenate(all_weights)

    def _point(self, mesh: Mesh):
        """The source's mesh coordinates (a Geographic converted by `Mesh.position`)."""
        if isinstance(self.location, Geographic):
            try:
                return mesh.position(self.location)
            except ValueError as exc:
                raise ValueError(f"Source {self.name!r}: {exc}") from None
        if len(self.location) != mesh.ndim:
            raise ValueError(
                f"The location of source {self.name!r} needs {mesh.ndim} coordinates {mesh.axis_names}, "
                f"but {self.location} was given."
            )
        return self.location


def _interpolation(mesh: Mesh, point) -> tuple:
    """`Mesh.interpolation`, and on a chunk also for points just outside its discrete
    curved surface (projected onto it, see `engine.receivers.locate_in_chunk`)."""
    try:
        return mesh.interpolation(point)
    except ValueError:
        found = locate_in_chunk(mesh, point) if mesh.chunk is not None else None
        if found is None:
            raise
    element, xi = found
    phi, grad = _basis_at(mesh, element, xi)
    shape = mesh.ibool.shape[1:]
    return element, phi.reshape(shape), grad.reshape(shape + (mesh.ndim,))


def _gradient_weights(mesh: Mesh, point) -> list:
    """`Mesh.gradient_weights`, with the same surface fallback as :func:`_interpolation`."""
    try:
        return mesh.gradient_weights(point)
    except ValueError:
        found = locate_in_chunk(mesh, point) if mesh.chunk is not None else None
        if found is None:
            raise
    element, xi = found
    _, grad = _basis_at(mesh, element, xi)
    return [(element, grad.reshape(mesh.ibool.shape[1:] + (mesh.ndim,)))]


def _basis_at(mesh: Mesh, element: int, xi: np.ndarray) -> tuple:
    """Basis values (n,) and physical gradients (n, ndim) of one element at reference xi."""
    phi, dphi = mesh._basis(mesh.gll.nodes, xi)
    c = mesh.coordinates[element].reshape(-1, mesh.ndim)
    jac = np.stack([dp @ c for dp in dphi], axis=1)  # d x_d / d xi_a
    return phi, np.stack(dphi, axis=1) @ np.linalg.inv(jac)


_GCMT_KEYS = ("mrr", "mtt", "mpp", "mrt", "mrp", "mtp")
_FRAMES = ("mesh", "zne")
_SYMMETRY = 1e-10  # relative asymmetry |M_ij - M_ji| / max|M| tolerated (then symmetrised)


def _gcmt_to_cartesian(tensor: dict, location: Geographic) -> np.ndarray:
    """(3, 3) mesh-frame moment tensor of a Global CMT dict at ``location``: ``Q M_sph Q^T``."""
    keys = {}
    for key, value in tensor.items():
        k = key.lower() if isinstance(key, str) else key
        if k in keys:
            raise ValueError(f"The 'tensor' dict gives {k!r} twice (keys are case-insensitive).")
        keys[k] = value
    missing = [k for k in _GCMT_KEYS if k not in keys]
    extra = [k for k in keys if k not in _GCMT_KEYS]
    if missing or extra:
        raise ValueError(
            f"The 'tensor' dict must have exactly the Global CMT keys {list(_GCMT_KEYS)} (N m; r up, t south, "
            f"p east), but {'missing ' + str(missing) if missing else ''}{' and ' if missing and extra else ''}"
            f"{'unexpected ' + str(extra) if extra else ''} in {describe(tensor)}."
        )
    v = {k: number(f"tensor['{k}']", keys[k]) for k in _GCMT_KEYS}
    m_sph = np.array([
        [v["mrr"], v["mrt"], v["mrp"]],
        [v["mrt"], v["mtt"], v["mtp"]],
        [v["mrp"], v["mtp"], v["mpp"]],
    ])
    q = location.local_frame()
    m = q @ m_sph @ q.T
    return 0.5 * (m + m.T)


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


def _location(location) -> tuple | Geographic:
    if isinstance(location, Geographic):
        return location
    loc = np.atleast_1d(numbers("location", location))
    if loc.ndim != 1:
        raise ValueError(f"The 'location' parameter must be one point (x, z), but {describe(location)} was given.")
    return tuple(loc.tolist())


def _callable(stf):
    if not callable(stf):
        raise TypeError(f"The 'stf' parameter must be a callable stf(t) -> array (see engine.stf), but {stf!r} was given.")
    return stf
