"""Gauss-Lobatto-Legendre (GLL) quadrature and the Lagrange basis on its nodes.

The spectral-element method uses the GLL nodes both as interpolation points and as
quadrature points; that is what makes the mass matrix diagonal.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial import legendre

__all__ = ["GLL", "gll", "lagrange_basis", "lagrange_basis_derivative"]


@dataclass(frozen=True)
class GLL:
    """GLL rule of polynomial ``order`` N (N + 1 nodes on [-1, 1]).

    Attributes
    ----------
    nodes : (N+1,) float64, ascending, ``nodes[0] = -1``, ``nodes[-1] = 1``.
    weights : (N+1,) float64 quadrature weights (exact for degree <= 2N - 1).
    derivative : (N+1, N+1) float64, ``derivative[p, q] = l_q'(nodes[p])``, the
        derivative of the q-th Lagrange polynomial at node p.
    """

    order: int
    nodes: np.ndarray
    weights: np.ndarray
    derivative: np.ndarray

    @property
    def n_points(self) -> int:
        return self.order + 1


@lru_cache(maxsize=None)
def gll(order: int = 4) -> GLL:
    """Return the GLL rule of the given polynomial order (1 <= order <= 12)."""
    if not isinstance(order, (int, np.integer)) or not 1 <= order <= 12:
        raise ValueError(
            f"The 'order' parameter must be an integer between 1 and 12, but {order!r} was given."
        )
    n = int(order)
    # Interior nodes are the roots of P_N'(x); the end points are -1 and 1.
    p_n = legendre.Legendre.basis(n)
    interior = p_n.deriv().roots() if n > 1 else np.array([])
    nodes = np.concatenate([[-1.0], np.sort(interior.real), [1.0]])
    weights = 2.0 / (n * (n + 1) * p_n(nodes) ** 2)
    derivative = lagrange_basis_derivative(nodes, nodes)
    for arr in (nodes, weights, derivative):
        arr.setflags(write=False)
    return GLL(order=n, nodes=nodes, weights=weights, derivative=derivative)


def lagrange_basis(nodes: np.ndarray, x: np.ndarray | float) -> np.ndarray:
    """Values of every Lagrange polynomial on ``nodes`` at the points ``x``.

    Returns an array shaped ``x.shape + (len(nodes),)``: ``out[..., q] = l_q(x)``.
    Exact (no quadrature): this is what makes source and receiver interpolation exact
    for the polynomial field of an element.
    """
    x = np.asarray(x, dtype=float)
    nodes = np.asarray(nodes, dtype=float)
    out = np.ones(x.shape + (len(nodes),))
    for q, xq in enumerate(nodes):
        for m, xm in enumerate(nodes):
            if m != q:
                out[..., q] *= (x - xm) / (xq - xm)
    return out


def lagrange_basis_derivative(nodes: np.ndarray, x: np.ndarray | float) -> np.ndarray:
    """Derivatives ``out[..., q] = l_q'(x)`` of the Lagrange polynomials on ``nodes``."""
    x = np.asarray(x, dtype=float)
    nodes = np.asarray(nodes, dtype=float)
    n = len(nodes)
    out = np.zeros(x.shape + (n,))
    for q in range(n):
        for k in range(n):
            if k == q:
                continue
            term = np.full(x.shape, 1.0 / (nodes[q] - nodes[k]))
            for m in range(n):
                if m != q and m != k:
                    term = term * (x - nodes[m]) / (nodes[q] - nodes[m])
            out[..., q] += term
    return out
