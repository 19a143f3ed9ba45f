"""Material models on the GLL points of a mesh.

Parameters live on every element's GLL points (shape ``mesh.point_shape``), so a
discontinuity on an element boundary (a Moho, a basin edge) is represented exactly.
Names are lower case: ``vp, vs, rho`` (isotropic) or ``vpv, vph, vsv, vsh, eta, rho``
(transversely isotropic; the symmetry axis is not stored: it is vertical (z) in a
Cartesian mesh and radial in a spherical chunk, see `engine.physics.anisotropy`). Units:
m/s, kg/m^3, eta dimensionless.

Sources of values: scalars, arrays, callables of the coordinates, xarray grids on the
mesh axes (`Model`), a 1D Earth model sampled at every GLL point's radius with the
point's own element layer (:meth:`Model.from_earth`), and 3D grids, absolute or as
relative perturbations of a background, on (depth, latitude, longitude) in a chunk or on
the mesh axes in a box (:meth:`Model.from_dataset`).
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import xarray as xr

from ._validate import describe
from .earth import EarthModel1D, by_name
from .earth import DERIVED_PARAMETERS as _EARTH_DERIVED
from .earth import PARAMETERS as _EARTH_PARAMETERS
from .geographic import cartesian_to_geographic
from .mesh import Mesh, point_layers

__all__ = ["Model", "FieldSet", "PARAMETERS", "GEOGRAPHIC_DIMS", "DATASET_KINDS"]

PARAMETERS = ("vp", "vs", "rho", "vpv", "vph", "vsv", "vsh", "eta")
_VELOCITIES = ("vp", "vs", "vpv", "vph", "vsv", "vsh")
GEOGRAPHIC_DIMS = ("depth", "latitude", "longitude")
"""Dims of a grid in a spherical chunk: depth in m below the 6371 km sphere, geocentric
latitude and longitude in degrees (any order)."""
DATASET_KINDS = ("absolute", "relative")
_TI_ISOTROPIC = {"vp": ("vpv", "vph"), "vs": ("vsv", "vsh")}


class FieldSet(dict):
    """Named per-point arrays on a mesh that are not a checked `Model`: the complex-step
    perturbations the adjoint's chain rule and the Born operator push through the
    physics' formulas (which may need the mesh, e.g. for a radial symmetry axis)."""

    def __init__(self, mesh: Mesh, fields: Mapping):
        super().__init__(fields)
        self.mesh = mesh


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
    def transversely_isotropic(cls, mesh: Mesh, vpv=None, vph=None, vsv=None, vsh=None, eta=1.0,
                               rho=None) -> "Model":
        """Transversely isotropic model (Love parameters A = rho vph^2, C = rho vpv^2,
        L = rho vsv^2, N = rho vsh^2, F = eta (A - 2L)).

        The symmetry axis follows the mesh: vertical (z) in a rectangle or box, radial in
        a spherical chunk (``engine.physics.anisotropy.packed_coefficients``). Values as
        for the constructor (scalars, arrays, callables, grids); ``eta`` defaults to 1.
        ``Model.vti`` is the same constructor under its 2D name.
        """
        given = {k: v for k, v in dict(vpv=vpv, vph=vph, vsv=vsv, vsh=vsh, eta=eta, rho=rho).items() if v is not None}
        return cls(mesh, **given)

    vti = transversely_isotropic

    @classmethod
    def from_earth(cls, mesh: Mesh, earth_model, parameters=None) -> "Model":
        """Sample a 1D Earth model at every GLL point of a spherical chunk.

        Each point is evaluated at its radius ``|x|`` with its element's model layer
        (`engine.mesh.point_layers`), so the points on a discontinuity (Moho, 220 km, ...)
        take their own element's side: the elements above and below keep both values at
        the same radius.

        Parameters
        ----------
        mesh : an `engine.mesh.spherical_chunk` built from a model with the same layer
            boundaries. A box or rectangle has no radius and is refused (build its
            model with `isotropic` / `transversely_isotropic`, e.g. from callables of z).
        earth_model : an `engine.earth.EarthModel1D` or its name ("prem_ani_one_crust", ...).
        parameters : names to sample (str or sequence); default ``vpv, vph, vsv, vsh,
            eta, rho`` for an anisotropic model, ``vp, vs, rho`` for an isotropic one.
            "vp" and "vs" of an anisotropic model are its Voigt averages
            (`EarthModel1D.evaluate`).

        >>> import engine
        >>> prem = engine.earth.prem(anisotropic=True, crust="one_layer")
        >>> mesh = engine.mesh.spherical_chunk(45.0, 15.0, 10.0, 10.0, 100e3, prem, 200.0, order=2)
        >>> engine.Model.from_earth(mesh, prem).parameters
        ('vpv', 'vph', 'vsv', 'vsh', 'eta', 'rho')
        """
        if not isinstance(mesh, Mesh):
            raise TypeError(f"The 'mesh' parameter must be an engine mesh (engine.mesh.*), but {describe(mesh)} was given.")
        if mesh.chunk is None:
            raise ValueError(
                f"The 'mesh' parameter of Model.from_earth must be a spherical chunk (engine.mesh.spherical_chunk), "
                f"but a Cartesian mesh with axes {mesh.axis_names} was given: it has no radius to sample a 1D Earth "
                f"model at. Build its model with Model.isotropic or Model.transversely_isotropic (callables of z)."
            )
        if isinstance(earth_model, str):
            earth_model = by_name(earth_model)
        if not isinstance(earth_model, EarthModel1D):
            raise TypeError(
                f"The 'earth_model' parameter must be an engine.earth.EarthModel1D (e.g. engine.earth.prem()) or its "
                f"name, but {describe(earth_model)} was given."
            )
        if parameters is None:
            names = ("vpv", "vph", "vsv", "vsh", "eta", "rho") if earth_model.anisotropic else ("vp", "vs", "rho")
        else:
            names = (parameters,) if isinstance(parameters, str) else tuple(parameters)
            valid = _EARTH_PARAMETERS + _EARTH_DERIVED
            bad = [p for p in names if not isinstance(p, str) or p not in valid]
            if bad or not names:
                raise ValueError(f"The 'parameters' parameter must name some of {list(valid)}, but {bad or list(names)} was given.")
        layers = point_layers(mesh, earth_model)
        radius = np.clip(np.linalg.norm(mesh.coordinates, axis=-1), 0.0, earth_model.radius)
        values = earth_model.evaluate(radius, names, layer=layers)
        return cls(mesh, **values)

    @classmethod
    def from_dataset(cls, mesh: Mesh, dataset, background=None, kind: str = "absolute") -> "Model":
        """A 3D (or 2D) model from a regular grid, absolute or relative to a background.

        Parameters
        ----------
        mesh : the mesh. In a spherical chunk the grid's dims are `GEOGRAPHIC_DIMS`
            ``("depth", "latitude", "longitude")`` in any order: depth in m below the
            sphere of radius 6371 km, geocentric latitude and longitude in degrees
            (longitudes may run 0..360 or -180..180). Every GLL point is converted with
            `engine.geographic.cartesian_to_geographic`. In a box or rectangle the dims
            are the mesh axes (``("x", "y", "z")``, ``("x", "z")``), any order, in m.
        dataset : an ``xarray.Dataset`` whose data variables are model parameters
            (`PARAMETERS`), or a named ``DataArray``. Each variable is interpolated
            (multi-linear, i.e. trilinear in 3D) at every GLL point.
        background : None, a `Model` on the same mesh, or (chunk only) an
            `engine.earth.EarthModel1D` or its name, sampled with :meth:`from_earth`. The
            result has the background's parameters with the dataset's replaced (or
            added, kind "absolute").
        kind : "absolute": the grid holds the values (m/s, kg/m^3, 1). "relative": it
            holds relative perturbations d, and the value is ``background * (1 + d)``
            (0.02 is +2 %). For a relative grid on a transversely isotropic background,
            a "vp" variable perturbs vpv and vph alike, "vs" vsv and vsh.

        Notes
        -----
        Points outside the grid (or where it is NaN) take the background's value
        (relative: a zero perturbation); "absolute" without a background must cover
        every point. Coordinates within round-off of the grid's edges count as inside.
        Discontinuities: with "relative" the *perturbation* is interpolated and the
        background keeps its discontinuities exactly (the points on either side of the
        Moho keep their own values, scaled alike); with "absolute" the grid's values are
        interpolated as they are, across any discontinuity within a grid cell, so prefer
        relative grids on top of :meth:`from_earth` there.
        """
        if not isinstance(mesh, Mesh):
            raise TypeError(f"The 'mesh' parameter must be an engine mesh (engine.mesh.*), but {describe(mesh)} was given.")
        if not isinstance(kind, str) or kind not in DATASET_KINDS:
            raise ValueError(f"The 'kind' parameter must be one of {list(DATASET_KINDS)}, but {describe(kind)} was given.")
        if isinstance(dataset, xr.DataArray):
            if dataset.name is None:
                raise ValueError("The 'dataset' parameter is an unnamed DataArray; name it after the parameter (e.g. da.rename('vsv')).")
            dataset = dataset.to_dataset()
        if not isinstance(dataset, xr.Dataset):
            raise TypeError(f"The 'dataset' parameter must be an xarray Dataset (or a named DataArray), but {describe(dataset)} was given.")
        if not dataset.data_vars:
            raise ValueError("The 'dataset' parameter has no data variables; name them after model parameters such as 'vsv'.")
        bg = _background(mesh, background)
        dims = GEOGRAPHIC_DIMS if mesh.chunk is not None else tuple(mesh.axis_names)
        where = "a spherical chunk" if mesh.chunk is not None else f"a mesh with axes {tuple(mesh.axis_names)}"
        targets: dict[str, tuple[str, ...]] = {}
        for name in dataset.data_vars:
            if name not in PARAMETERS:
                raise ValueError(f"The dataset variable {name!r} is not a model parameter; valid names are {list(PARAMETERS)}.")
            da = dataset[name]
            if set(da.dims) != set(dims) or len(da.dims) != len(dims):
                raise ValueError(
                    f"The dataset variable {name!r} must have dims {list(dims)} (any order) in {where}, "
                    f"but it has {list(da.dims)}."
                )
            missing = [d for d in dims if d not in da.coords]
            if missing:
                raise ValueError(f"The dataset variable {name!r} needs coordinates for its dims; {missing} have none.")
            if kind == "relative":
                if bg is None:
                    raise ValueError("A relative dataset needs a 'background' (a Model or, in a chunk, an Earth model).")
                if name in bg:
                    targets[name] = (name,)
                elif name in _TI_ISOTROPIC and all(t in bg for t in _TI_ISOTROPIC[name]):
                    targets[name] = _TI_ISOTROPIC[name]
                else:
                    raise ValueError(
                        f"The dataset variable {name!r} is a relative perturbation, but the background has no {name!r} "
                        f"to perturb; it has {list(bg)}."
                    )
            elif bg is not None and name in _TI_ISOTROPIC and name not in bg and any(t in bg for t in _TI_ISOTROPIC[name]):
                raise ValueError(
                    f"The dataset variable {name!r} holds absolute values, but the background is transversely isotropic "
                    f"({', '.join(_TI_ISOTROPIC[name])}); give those variables instead (or a relative {name!r})."
                )
        perturbed = [t for group in targets.values() for t in group]
        twice = sorted({t for t in perturbed if perturbed.count(t) > 1})
        if twice:
            raise ValueError(f"The dataset perturbs {twice} twice (e.g. both 'vp' and 'vpv'); give one of them.")

        coords = _grid_coordinates(mesh)
        fields = dict(bg) if bg is not None else {}
        for name in dataset.data_vars:
            values = _sample_grid(name, dataset[name], coords)
            inside = ~np.isnan(values)
            if not inside.any():
                raise ValueError(
                    f"The grid of {name!r} covers no point of the mesh; check its coordinates and units "
                    f"({'depth in m, latitude and longitude in degrees' if mesh.chunk is not None else 'metres'})."
                )
            if kind == "relative":
                factor = 1.0 + np.where(inside, values, 0.0)
                for t in targets[name]:
                    fields[t] = bg[t] * factor
            elif bg is not None and name in bg:
                fields[name] = np.where(inside, values, bg[name])
            else:
                if not inside.all():
                    raise ValueError(
                        f"The grid of {name!r} does not cover {int((~inside).sum())} of the mesh's points and there is no "
                        f"background value for them; extend the grid or give a 'background' with {name!r}."
                    )
                fields[name] = values
        return cls(mesh, **fields)

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
        """Sample every parameter on a regular grid (exact GLL interpolation, `engine.sampling`).

        Cartesian meshes: a grid in the mesh axes; give ``spacing`` in metres or ``shape``
        (points per axis), by default about 200 points along the longest side. A spherical
        chunk: a (depth, latitude, longitude) grid over the chunk (`GEOGRAPHIC_DIMS`, the
        dims `from_dataset` reads), ``shape`` points per dim (default (41, 61, 61));
        ``spacing`` is not used there. Points outside the mesh are NaN.
        """
        if self.mesh.chunk is not None:
            from .sampling import chunk_grid

            return chunk_grid(self.mesh, self._fields, shape=shape or (41, 61, 61))
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
    if isinstance(value, xr.DataArray) and mesh.chunk is not None and set(value.dims) == set(GEOGRAPHIC_DIMS):
        arr = _sample_grid(name, value, _grid_coordinates(mesh))
        if np.isnan(arr).any():
            raise ValueError(
                f"The grid for {name!r} does not cover the mesh ({int(np.isnan(arr).sum())} points outside); "
                f"extend it, or use Model.from_dataset with a background."
            )
        return arr
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


def _background(mesh: Mesh, background) -> "Model | None":
    if background is None:
        return None
    if isinstance(background, (str, EarthModel1D)):
        return Model.from_earth(mesh, background)
    if not isinstance(background, Model):
        raise TypeError(
            f"The 'background' parameter must be None, a Model or (in a chunk) an engine.earth.EarthModel1D, "
            f"but {describe(background)} was given."
        )
    if background.mesh is not mesh and background.mesh.point_shape != mesh.point_shape:
        raise ValueError(
            f"The 'background' model must live on the same mesh (fields shaped {mesh.point_shape}), "
            f"but its fields are shaped {background.mesh.point_shape}."
        )
    return background


def _grid_coordinates(mesh: Mesh) -> dict[str, np.ndarray]:
    """Per-point coordinates named as a grid's dims: (depth, latitude, longitude) in a chunk, else the mesh axes."""
    if mesh.chunk is not None:
        lat, lon, depth = cartesian_to_geographic(mesh.coordinates)
        return {"depth": depth, "latitude": lat, "longitude": lon}
    return {a: mesh.coordinates[..., k] for k, a in enumerate(mesh.axis_names)}


def _sample_grid(name: str, grid: xr.DataArray, coords: dict[str, np.ndarray]) -> np.ndarray:
    """Multi-linear interpolation of a regular grid at the points; NaN outside it.

    Points within round-off (1e-9 of the axis' magnitude) of a grid edge are moved onto it,
    so a surface point at depth -1e-9 m still counts as inside a grid starting at 0. Longitudes
    are wrapped into the grid's 360-degree window.
    """
    if any(grid.sizes[d] < 2 for d in grid.dims):
        raise ValueError(f"The grid of {name!r} needs at least 2 values along each dim, but it has sizes {dict(grid.sizes)}.")
    grid = grid.sortby(list(grid.dims))
    shape = next(iter(coords.values())).shape
    targets = {}
    for dim in grid.dims:
        axis = np.asarray(grid[dim].values, dtype=float)
        if axis.ndim != 1 or not np.all(np.isfinite(axis)) or np.any(np.diff(axis) <= 0):
            raise ValueError(f"The grid of {name!r} must have distinct, finite {dim!r} coordinates, but {describe(axis)} was given.")
        x = np.asarray(coords[dim], dtype=float).ravel()
        if dim == "longitude":
            x = (x - axis[0]) % 360.0 + axis[0]
            # A point just west of the first longitude wraps to the far end: bring it back.
            x = np.where(x > axis[-1] + 0.5 * (360.0 - (axis[-1] - axis[0])), x - 360.0, x)
        lo, hi = axis[0], axis[-1]
        tol = 1e-9 * max(abs(lo), abs(hi), hi - lo, 1.0)
        x = np.where((x < lo) & (x >= lo - tol), lo, x)
        x = np.where((x > hi) & (x <= hi + tol), hi, x)
        targets[dim] = xr.DataArray(x, dims="points")
    values = grid.astype(float).interp(**targets, method="linear").values
    return np.array(values.reshape(shape), dtype=np.float64)


def _check_values(name: str, arr: np.ndarray) -> None:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"The {name!r} values must be finite, but {int((~np.isfinite(arr)).sum())} are NaN or infinite.")
    if name in ("rho", "eta") or name in ("vp", "vpv", "vph"):
        if np.any(arr <= 0):
            raise ValueError(f"The {name!r} values must be positive, but the minimum is {arr.min():.6g}.")
    elif np.any(arr < 0):
        raise ValueError(f"The {name!r} values must be non-negative, but the minimum is {arr.min():.6g}.")
