"""The stiffness operator K of one mesh and one per-point material, 2D or 3D.

One object owns what every use of K needs: the blocked element layout and its
conflict-free schedule, the blocked geometry factors, the blocked material rows and the
GLL derivative matrix. The wave operator, the linearised (Born) operator and the
smoothing preconditioner all call it, so the raw kernel call is written once here.

The material is given as physics coefficients ``(n_elem, n_coeff, *point_axes)`` in SI
units; the physics (or, for smoothing, the caller) names the kernel that turns them into
``K u`` and the map from coefficients to the kernel's material rows (see
``engine.physics._kernels`` in 2D and ``engine.physics._kernels3d`` in 3D).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from .mesh import Mesh
from .physics._blocks import ElementBlocks
from .physics._kernels import NO_SENSITIVITY

__all__ = ["StiffnessOperator"]


@dataclass(frozen=True, eq=False)
class StiffnessOperator:
    """K u for fields (n_global, n_comp) in the operator's precision.

    Attributes
    ----------
    mesh : the mesh (2D quadrilaterals or 3D hexahedra).
    blocks : `ElementBlocks` (layout and schedule, shared by `with_coefficients` copies).
    geom : blocked geometry (2D: 5 rows, 3D: 10 rows; see ``ElementBlocks.geometry``).
    material : blocked kernel material rows in the operator's dtype.
    dmat : (ngll, ngll) derivative matrix in the operator's dtype.
    kernel : the Numba kernel; 2D kernels also take ``(fwd, sens, accumulate)``.
    material_of : ``(coefficients, mesh) -> material rows``, linear in the coefficients
        (so `with_coefficients` of a direction gives the operator's derivative).
    sensitivity_mode : what `apply_with_sensitivity` accumulates in 2D (``_kernels.SENSITIVITY``...).
    sensitivity_kernel, n_sensitivity : the 3D kernel that accumulates the sensitivities
        of the first ``n_sensitivity`` coefficient rows (None where there is none).
    """

    mesh: Mesh
    blocks: ElementBlocks
    geom: np.ndarray
    material: np.ndarray
    dmat: np.ndarray
    kernel: Callable
    material_of: Callable
    n_components: int
    sensitivity_mode: int = NO_SENSITIVITY
    sensitivity_kernel: Callable | None = None
    n_sensitivity: int = 0
    # What the 2D kernels take for (fwd, sens) when they do not accumulate.
    no_field: np.ndarray | None = None
    no_sensitivity: np.ndarray | None = None

    @classmethod
    def build(cls, mesh: Mesh, coefficients: np.ndarray, kernel: Callable, material_of: Callable, n_components: int,
              dtype, sensitivity_mode: int = NO_SENSITIVITY, blocks: ElementBlocks | None = None,
              sensitivity: tuple[Callable, int] | None = None) -> "StiffnessOperator":
        """Block the geometry and the material once.

        coefficients : (n_elem, n_coeff, *point_axes) float64 (or complex, for a derivative
            taken by complex step; the material is then its real part's type cast).
        """
        blocks = ElementBlocks.from_mesh(mesh) if blocks is None else blocks
        material = blocks.to_blocks(material_of(coefficients, mesh), dtype)
        return cls(
            mesh=mesh,
            blocks=blocks,
            geom=blocks.geometry(mesh, dtype),
            material=material,
            dmat=np.ascontiguousarray(mesh.gll.derivative, dtype=dtype),
            kernel=kernel,
            material_of=material_of,
            n_components=n_components,
            sensitivity_mode=sensitivity_mode,
            sensitivity_kernel=None if sensitivity is None else sensitivity[0],
            n_sensitivity=0 if sensitivity is None else int(sensitivity[1]),
            no_field=np.zeros((1, n_components), dtype=dtype),
            no_sensitivity=np.zeros((1,) * (material.ndim - 1) + (material.shape[-1],), dtype=dtype),
        )

    @property
    def dtype(self) -> type:
        return self.material.dtype.type

    @property
    def supports_sensitivity(self) -> bool:
        """True where sensitivities can be accumulated (every 2D kernel; 3D where a
        sensitivity kernel is given)."""
        return self.mesh.ndim == 2 or self.sensitivity_kernel is not None

    def with_coefficients(self, coefficients: np.ndarray) -> "StiffnessOperator":
        """The same operator with other coefficients (geometry and schedule shared):
        with a model perturbation's coefficients it is the derivative dK (K is linear in them)."""
        material = self.blocks.to_blocks(self.material_of(coefficients, self.mesh), self.dtype)
        return replace(self, material=material)

    def apply(self, u: np.ndarray, ku: np.ndarray) -> np.ndarray:
        """ku = K u (overwritten); u, ku C-contiguous (n_global, n_comp) in the operator's dtype."""
        b = self.blocks
        if self.mesh.ndim == 2:
            self.kernel(u, ku, b.ibool, b.count, b.schedule, self.geom, self.material, self.dmat,
                        self.no_field, self.no_sensitivity, NO_SENSITIVITY, b.points)
        else:
            self.kernel(u, ku, b.ibool, b.count, b.schedule, self.geom, self.material, self.dmat, b.points)
        return ku

    __call__ = apply

    def apply_with_sensitivity(self, u: np.ndarray, ku: np.ndarray, fwd: np.ndarray, sens: np.ndarray) -> np.ndarray:
        """ku = K u, and sens += d(u^T K fwd)/d(coefficients) per point (blocked, shaped
        like `new_sensitivity`), fused with K u so the gradient of u is computed once."""
        if not self.supports_sensitivity:
            raise NotImplementedError(
                "This 3D stiffness kind has no sensitivity kernel (gradients exist for the acoustic, isotropic "
                "elastic and transversely isotropic physics)."
            )
        b = self.blocks
        if self.mesh.ndim == 2:
            self.kernel(u, ku, b.ibool, b.count, b.schedule, self.geom, self.material, self.dmat,
                        fwd, sens, self.sensitivity_mode, b.points)
        else:
            self.sensitivity_kernel(u, ku, b.ibool, b.count, b.schedule, self.geom, self.material, self.dmat,
                                    fwd, sens, b.points)
        return ku

    def new_sensitivity(self) -> np.ndarray:
        """A zero accumulator for `apply_with_sensitivity`, in the operator's precision:
        the material's shape in 2D, ``n_sensitivity`` slots in 3D."""
        if self.mesh.ndim == 2:
            return np.zeros(self.material.shape, dtype=self.dtype)
        shape = (self.material.shape[0], self.n_sensitivity) + self.material.shape[2:]
        return np.zeros(shape, dtype=self.dtype)

    def sensitivity_per_element(self, sens: np.ndarray) -> np.ndarray:
        """Blocked sensitivities back to (n_elem, n_coeff, *point_axes)."""
        return self.blocks.from_blocks(sens, self.mesh.n_elements)
