"""Material models on the GLL points of a mesh.

Parameters live on every element's GLL points (shape ``mesh.point_shape``), so a
discontinuity on an element boundary (a Moho, a basin edge) is represented exactly.
Names are lower case: ``vp, vs, rho`` (isotropic) or ``vpv, vph, vsv, vsh, eta, rho``
(transversely isotropic with a vertical symmetry axis). Units: m/s, kg/m^3, eta
dimensionless.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import xarray as xr

from ._validate import describe
from .mesh import Mesh

__all__ = ["Model", "PARAMETERS"]

PARAMETERS = ("vp", "vs", "rho", "vpv", "vph", "vsv", "vsh", "eta")
_VELOCITIES = ("vp", "vs", "vpv", "vph", "vsv", "vsh")


class Model(Mapping):
    """A set of named parameter fields on a mesh.

    ``model["vp"]`` is a float64 array shaped ``mesh.point_shape``. Build with
    :meth:`isotropic`, :meth:`vti` or ``Model(mesh, **parameters)``; each value may be a
    scalar, an array shaped like the fields (or like ``mesh.global_coordinates[:, 0]``),
    a callable of the coordinates ``f(x, z)`` returning values, or an ``xarray.Dataset``
    / ``DataArray`` on a regular grid (linearly interpolated; dims named like the mesh
    axes). Models are immutable: :meth:`replace` returns a new one.
    """

    def __init__(self, mesh: Mesh, **parameters):
        if not parameters:
            raise ValueError(f"A model needs at least one parameter; valid names are {list(PARAMETERS)}.")
        unknown = [name for name in parameters if name not in PARAMETERS]
        if unknown:
            raise ValueError(f"Unknown model parameter(s) {unknown}; valid names are {list(PARAMETERS)}.")
        if not isinstance(mesh, Mesh):
            raise TypeError(f"The 'mesh' parameter must be an engine mesh (engine.mesh.*), but {describe(mesh)} was given.")
        self.mesh = mesh
        fields = {}
        for name, value in parameters.items():
            if isinstance(value, xr.Dataset):
                if name not in value.data_vars:
                    raise ValueError(
                        f"The '{name}' parameter is an xarray Dataset without a {name!r} variable; "
                        f"it has {list(value.data_vars)}."
                    )
                value = value[name]
            arr = _field_values(mesh, name, value)
            _check_values(name, arr)
            arr.setflags(write=False)
            fields[name] = arr
        self._fields = fields

    # --- constructors -----------------------------------------------------------
    @classmethod
    def isotropic(cls, mesh: Mesh, vp=None, vs=None, rho=None) -> "Model":
        """Isotropic model; give the parameters the physics needs (acoustic: vp, rho; SH: vs, rho)."""
        given = {k: v for k, v in dict(vp=vp, vs=vs, rho=rho).items() if v is not None}
        return cls(mesh, **given)

    @classmethod
    def vti(cls, mesh: Mesh, vpv=None, vph=None, vsv=None, vsh=None, eta=1.0, rho=None) -> "Model":
        """Transversely isotropic model with a vertical symmetry axis (Love parameters
        A = rho vph^2, C = rho vpv^2, L = rho vsv^2, N = rho vsh^2, F = eta (A - 2L))."""
        given = {k: v for k, v in dict(vpv=vpv, vph=vph, vsv=vsv, vsh=vsh, eta=eta, rho=rho).items() if v is not None}
        return cls(mesh, **given)

    # --- mapping protocol ---------------------------------------------------------
    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._fields[name]
        except KeyError:
            raise KeyError(f"The model has no parameter {name!r}; it has {list(self._fields)}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        ranges = ", ".join(f"{k}=[{v.min():.4g}, {v.max():.4g}]" for k, v in self._fields.items())
        return f"Model({ranges}; {self.mesh.n_elements} elements)"

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(self._fields)

    def replace(self, **fields) -> "Model":
        """A new model with some fields replaced (same value forms as the constructor)."""
        merged = {**self._fields, **fields}
        return Model(self.mesh, **merged)

    # --- sampling for plots ---------------------------------------------------------
    def to_xarray(self, spacing: float | None = None, shape: tuple[int, ...] | None = None) -> xr.Dataset:
        """Sample every parameter on a regular grid (exact GLL interpolation).

        Give the grid ``spacing`` in metres, or ``shape`` (points per axis); by default
        about 200 points along the longest side. Points outside a curved (topographic)
        mesh are NaN.
        """
        lo, hi = self.mesh.bounds.T
        if shape is None:
            if spacing is None:
                spacing = float(np.max(hi - lo)) / 200.0
            if not spacing > 0:
                raise ValueError(f"The 'spacing' parameter must be positive, but {spacing!r} was given.")
            shape = tuple(int(np.floor((h - l) / spacing)) + 1 for l, h in zip(lo, hi))
        axes = [np.linspace(l, h, n) for l, h, n in zip(lo, hi, shape)]
        grids = np.meshgrid(*axes, indexing="ij")
        pts = np.stack([g.ravel() for g in grids], axis=1)
        elements, weights = self.mesh.interpolation_matrix(pts)
        names = self.mesh.axis_names
        data_vars = {}
        reduce = "pji,pji->p" if self.mesh.ndim == 2 else "pkji,pkji->p"
        for name, field in self._fields.items():
            vals = np.einsum(reduce, weights, field[np.maximum(elements, 0)])
            vals[elements < 0] = np.nan
            data_vars[name] = (names, vals.reshape(shape), {"units": _UNITS[name]})
        coords = {n: (n, a, {"units": "m"}) for n, a in zip(names, axes)}
        return xr.Dataset(data_vars, coords=coords)


_UNITS = {**{v: "m/s" for v in _VELOCITIES}, "rho": "kg/m^3", "eta": "1"}


def _value_error(mesh: Mesh, name: str, value) -> ValueError:
    return ValueError(
        f"The '{name}' parameter must be a number, an array shaped {mesh.point_shape} (per element point) "
        f"or ({mesh.n_global},) (per global point), a callable of the coordinates or an xarray grid, "
        f"but {describe(value)} was given."
    )


def _as_float_array(mesh: Mesh, name: str, value) -> np.ndarray:
    # A string would otherwise fail in numpy with a message that does not name the
    # parameter (or, as a bool, pass as 0/1).
    if isinstance(value, (str, bytes, bool, np.bool_, dict)):
        raise _value_error(mesh, name, value)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _value_error(mesh, name, value) from None
    return arr


def _field_values(mesh: Mesh, name: str, value) -> np.ndarray:
    shape = mesh.point_shape
    coords = [mesh.coordinates[..., a] for a in range(mesh.ndim)]
    if isinstance(value, xr.DataArray):
        missing = [a for a in mesh.axis_names if a not in value.dims]
        if missing:
            raise ValueError(
                f"The grid for {name!r} must have dims {list(mesh.axis_names)}, but it has {list(value.dims)}."
            )
        targets = {a: xr.DataArray(c.ravel(), dims="points") for a, c in zip(mesh.axis_names, coords)}
        arr = value.interp(**targets).values.reshape(shape)
        if np.isnan(arr).any():
            raise ValueError(
                f"The grid for {name!r} does not cover the mesh; extend it to {mesh.bounds.tolist()}."
            )
        return np.array(arr, dtype=np.float64)
    if callable(value):
        result = value(*coords)
        try:
            arr = _as_float_array(mesh, name, result)
            return np.array(np.broadcast_to(arr, shape))
        except ValueError:
            raise ValueError(
                f"The '{name}' callable must return numbers shaped like its coordinate arrays {shape}, "
                f"but it returned {describe(result)}."
            ) from None
    arr = _as_float_array(mesh, name, value)
    if arr.ndim == 0:
        return np.full(shape, float(arr))
    if arr.shape == shape:
        return arr.copy()
    if arr.shape == (mesh.n_global,):
        return arr[mesh.ibool]
    raise ValueError(
        f"The {name!r} values must be a scalar, an array shaped {shape} (per element point) or "
        f"({mesh.n_global},) (per global point), a callable or an xarray grid, but an array shaped "
        f"{arr.shape} was given."
    )


def _check_values(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The {name!r} values must be finite, but {int((~np.isfinite(arr)).sum())} are NaN or infinite.")
    if name in ("rho", "eta") or name in ("vp", "vpv", "vph"):
        if np.any(arr <= 0):
            raise ValueError(f"The {name!r} values must be positive, but the minimum is {arr.min():.6g}.")
    elif np.any(arr < 0):
        raise ValueError(f"The {name!r} values must be non-negative, but the minimum is {arr.min():.6g}.")
