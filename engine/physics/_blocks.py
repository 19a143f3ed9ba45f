"""Elements grouped in blocks of ``LANES`` for SIMD across elements.

The stiffness kernels process ``LANES`` elements of one colour at once, with the lane
index innermost in memory, so that every arithmetic loop runs over 16 contiguous
values (one AVX-512 register of float32) with a trip count known at compile time. This
is what makes the Numba kernels faster than a per-element Fortran loop over 5 x 5
points. Padding lanes of a short last block repeat a real element and are never
scattered.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..mesh import Mesh

__all__ = ["LANES", "ElementBlocks"]

LANES = 16


@dataclass(frozen=True, eq=False)
class ElementBlocks:
    """Blocked element layout of a 2D mesh.

    Attributes
    ----------
    elements : (n_blocks, LANES) int64, element of each lane (padding repeats one).
    count : (n_blocks,) int32, valid lanes of each block.
    ptr : (n_colours + 1,) int64, blocks of colour c are ``ptr[c]:ptr[c+1]``.
    ibool : (n_blocks, ngll, ngll, LANES) int32 global numbering.
    points : tuple of length ngll (its length is a compile-time constant for Numba).
    """

    elements: np.ndarray
    count: np.ndarray
    ptr: np.ndarray
    ibool: np.ndarray
    points: tuple

    @classmethod
    def from_mesh(cls, mesh: Mesh) -> "ElementBlocks":
        if mesh.ndim != 2:
            raise NotImplementedError("Blocked kernels for hexahedra come with the 3D engine.")
        rows, counts, ptr = [], [], [0]
        for colour in mesh.colours:
            for start in range(0, len(colour), LANES):
                chunk = colour[start:start + LANES]
                row = np.full(LANES, chunk[0], dtype=np.int64)
                row[: len(chunk)] = chunk
                rows.append(row)
                counts.append(len(chunk))
            ptr.append(len(rows))
        elements = np.array(rows, dtype=np.int64)
        blocks = cls(
            elements=elements,
            count=np.array(counts, dtype=np.int32),
            ptr=np.array(ptr, dtype=np.int64),
            ibool=np.empty(0, dtype=np.int32),
            points=(0,) * mesh.gll.n_points,
        )
        object.__setattr__(blocks, "ibool", blocks.to_blocks(mesh.ibool).astype(np.int32))
        return blocks

    def to_blocks(self, field: np.ndarray, dtype=None) -> np.ndarray:
        """(n_elem, [k,] ngll, ngll) -> (n_blocks, [k,] ngll, ngll, LANES), contiguous."""
        blocked = np.moveaxis(field[self.elements], 1, -1)
        return np.ascontiguousarray(blocked, dtype=dtype or field.dtype)

    def geometry(self, mesh: Mesh, dtype) -> np.ndarray:
        """(n_blocks, 5, ngll, ngll, LANES): d xi/dx, d xi/dz, d eta/dx, d eta/dz, w_i w_j |J|."""
        inv = mesh.inverse_jacobian  # [e, j, i, a, d] = d xi_a / d x_d
        w = mesh.gll.weights
        jacw = mesh.jacobian * (w[:, None] * w[None, :])
        geom = np.stack([inv[..., 0, 0], inv[..., 0, 1], inv[..., 1, 0], inv[..., 1, 1], jacw], axis=1)
        return self.to_blocks(geom, dtype)

    def from_blocks(self, blocked: np.ndarray, n_elements: int) -> np.ndarray:
        """Inverse of :meth:`to_blocks` (valid lanes only)."""
        per_lane = np.moveaxis(blocked, -1, 1)  # (n_blocks, LANES, ...)
        out = np.empty((n_elements,) + per_lane.shape[2:], dtype=blocked.dtype)
        valid = np.arange(LANES)[None, :] < self.count[:, None]
        out[self.elements[valid]] = per_lane[valid]
        return out
