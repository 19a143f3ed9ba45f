"""The shape every 2D physics shares, and the registry that names them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..model import Model
from ._kernels import SENSITIVITY

__all__ = ["Physics", "register", "get", "available"]

_REGISTRY: dict[str, "Physics"] = {}


@dataclass(frozen=True)
class Physics:
    """One wave equation in the generic second-order form ``M u_tt + C u_t + K u = f``.

    Attributes
    ----------
    name : registry name ("acoustic", "sh", "elastic").
    components : names of the recorded components ("P"; "Y"; "X", "Z").
    quantity, units : what the field is ("pressure", "Pa" or "displacement", "m").
    parameter_sets : the model parameter sets it accepts, e.g. (("vp", "rho"),).
    coefficients : callable ``(model) -> (n_elem, n_coeff, ngll, ngll)`` material
        coefficients of the stiffness kernel.
    mass_density : callable ``(model) -> (n_elem, ngll, ngll)``, the density of M
        (rho, or 1/kappa for acoustic).
    impedance : callable ``(coefficient_values (n, n_coeff), mass_density (n,), normals (n, 2))
        -> (n, n_comp, n_comp)``: the Clayton-Engquist / Stacey boundary damping per unit
        boundary length.
    max_velocity, min_velocity : callables ``(model) -> float`` for CFL and resolution.
    kernel : the stiffness kernel (``_kernels.scalar_stiffness`` or ``vector_stiffness``).
    kernel_material : ``(coefficients, mesh) -> material`` the kernel takes (the scalar
        kernel takes the reference metric; identity for the vector kernel).
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
    kernel: Callable
    dirichlet_free_surface: bool = False
    description: str = ""
    kernel_material: Callable = staticmethod(lambda coefficients, mesh: coefficients)
    sensitivity_mode: Callable = staticmethod(lambda model: SENSITIVITY)

    @property
    def n_components(self) -> int:
        return len(self.components)

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
    _REGISTRY[physics.name] = physics
    return physics


def get(name) -> Physics:
    if isinstance(name, Physics):
        return name
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"Unknown physics {name!r}; valid names are {available()}.") from None


def available() -> list[str]:
    return sorted(_REGISTRY)


def velocity_range(model: Model, names) -> tuple[float, float]:
    values = [np.asarray(model[n]) for n in names if n in model]
    return float(min(v.min() for v in values)), float(max(v.max() for v in values))
