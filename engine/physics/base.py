"""The shape every physics shares, and the registry that names them by (name, dimension)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model import Model
from ._kernels import SENSITIVITY

__all__ = ["Physics", "register", "get", "available"]

_REGISTRY: dict[tuple[str, int], "Physics"] = {}


@dataclass(frozen=True)
class Physics:
    """One wave equation in the generic second-order form ``M u_tt + C u_t + K u = f``.

    Attributes
    ----------
    name : registry name ("acoustic", "sh", "elastic"); with ``ndim`` the registry key.
    ndim : the mesh dimension it runs on (2 or 3).
    components : names of the recorded components in the mesh frame ("P"; "Y"; "X", "Z";
        "X", "Y", "Z" in 3D, rotated to Z, N, E at geographic receivers).
    quantity, units : what the field is ("pressure", "Pa" or "displacement", "m").
    parameter_sets : the model parameter sets it accepts, e.g. (("vp", "rho"),).
    coefficients : callable ``(model) -> (n_elem, n_coeff, *point_axes)`` material
        coefficients of the stiffness kernel (named by ``coefficient_names``).
    mass_density : callable ``(model) -> (n_elem, *point_axes)``, the density of M
        (rho, or 1/kappa for acoustic).
    impedance : callable ``(coefficient_values (n, n_coeff), mass_density (n,), normals (n, ndim))
        -> (n, n_comp, n_comp)``: the Clayton-Engquist / Stacey boundary damping per unit
        boundary length (2D) or area (3D).
    max_velocity, min_velocity : callables ``(model) -> float`` for CFL and resolution.
    kernel : the stiffness kernel (``_kernels.scalar_stiffness`` or ``vector_stiffness``).
    kernel_material : ``(coefficients, mesh) -> material`` the kernel takes (the scalar
        kernel takes the reference metric; identity for the vector kernel).
    kernels : optional ``{n_coeff: (kernel, kernel_material)}`` where the coefficient set
        picks the kernel (3D elastic: 2 rows isotropic, 8 rows transversely isotropic).
    coefficient_names : optional ``{n_coeff: names of the rows}``, for messages and plots.
    sensitivity_kernels : optional ``{n_coeff: (kernel, n_slots)}``, the 3D kernels that
        accumulate d(u^T K fwd)/d(coefficient) for the first ``n_slots`` coefficient rows
        (``_kernels3d.SENSITIVITY_KERNELS``); 2D kernels accumulate in ``kernel`` itself.
    dirichlet_free_surface : True where the free surface is p = 0 (acoustic).
    sensitivity_mode : ``(model) -> int``, what the kernel accumulates for the adjoint
        (``_kernels.SENSITIVITY``, or ``ISOTROPIC_SENSITIVITY`` for isotropic P-SV models).
    """

    name: str
    components: tuple
    quantity: str
    units: str
    parameter_sets: tuple
    coefficients: Callable
    mass_density: Callable
    impedance: Callable
    max_velocity: Callable
    min_velocity: Callable
    kernel: Callable | None
    dirichlet_free_surface: bool = False
    description: str = ""
    kernel_material: Callable = staticmethod(lambda coefficients, mesh: coefficients)
    sensitivity_mode: Callable = staticmethod(lambda model: SENSITIVITY)
    ndim: int = 2
    kernels: dict | None = None
    coefficient_names: dict | None = None
    sensitivity_kernels: dict | None = None

    @property
    def n_components(self) -> int:
        return len(self.components)

    def stiffness_kernel(self, n_coefficients: int) -> tuple[Callable, Callable]:
        """(kernel, kernel_material) for coefficients with ``n_coefficients`` rows."""
        if self.kernels is None:
            return self.kernel, self.kernel_material
        try:
            return self.kernels[n_coefficients]
        except KeyError:
            raise ValueError(f"The {self.name!r} physics in {self.ndim}D has no kernel for {n_coefficients} "
                             f"coefficient rows; it takes {sorted(self.kernels)}.") from None

    def check_model(self, model: Model) -> tuple:
        """Return the parameter set the model provides; a clear error if none fits."""
        for names in self.parameter_sets:
            if all(n in model for n in names):
                return names
        wanted = " or ".join("(" + ", ".join(s) + ")" for s in self.parameter_sets)
        raise ValueError(
            f"The {self.name!r} physics needs the model parameters {wanted}, but the model has {list(model)}."
        )


def register(physics: Physics) -> Physics:
    _REGISTRY[(physics.name, physics.ndim)] = physics
    return physics


def get(name, ndim: int = 2) -> Physics:
    """The physics called ``name`` on ``ndim``-dimensional meshes (a Physics passes through
    if its dimension matches)."""
    if isinstance(name, Physics):
        if name.ndim != ndim:
            raise ValueError(f"The {name.name!r} physics given is for {name.ndim}D meshes, but the mesh is {ndim}D; "
                             f"pass the name {name.name!r} to get the {ndim}D variant.")
        return name
    try:
        return _REGISTRY[(name, int(ndim))]
    except (KeyError, TypeError, ValueError):
        names = available(ndim)
        raise ValueError(f"Unknown physics {name!r}; valid names are {names} (on {ndim}D meshes).") from None


def available(ndim: int | None = 2) -> list[str]:
    """The registered names for ``ndim`` (every (name, ndim) key when ndim is None)."""
    if ndim is None:
        return sorted(f"{n} ({d}D)" for n, d in _REGISTRY)
    return sorted(n for n, d in _REGISTRY if d == ndim)


def velocity_range(model: Model, names) -> tuple[float, float]:
    values = [np.asarray(model[n]) for n in names if n in model]
    return float(min(v.min() for v in values)), float(max(v.max() for v in values))
