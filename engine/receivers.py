"""Receivers: named locations where the field is interpolated exactly at every step."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import describe, numbers
from .mesh import Mesh

__all__ = ["Receivers", "ReceiverTerms"]


class Receivers:
    """A set of receivers.

    Parameters
    ----------
    locations : (n, ndim) coordinates in metres.
    names : optional names; "NET.STA" names become the obspy network and station codes.
        Default "R000", "R001", ...
    """

    def __init__(self, locations: Sequence[Sequence[float]], names: Sequence[str] | None = None):
        locs = np.atleast_2d(numbers("locations", locations))
        if locs.size == 0:
            raise ValueError("At least one receiver location is needed.")
        if locs.ndim != 2:
            raise ValueError(
                f"The 'locations' parameter must be a list of points [(x, z), ...], shaped (n, ndim), but an "
                f"array shaped {locs.shape} was given."
            )
        if names is None:
            names = [f"R{i:03d}" for i in range(len(locs))]
        if isinstance(names, (str, bytes)):
            raise ValueError(
                f"The 'names' parameter must be a list of names, one per location, such as [{names!r}], "
                f"but the string {names!r} was given."
            )
        try:
            names = [str(n) for n in names]
        except TypeError:
            raise ValueError(f"The 'names' parameter must be a list of names, but {describe(names)} was given.") from None
        if len(names) != len(locs):
            raise ValueError(f"{len(names)} receiver names were given for {len(locs)} locations; give one name each.")
        if len(set(names)) != len(names):
            raise ValueError("Receiver names must be unique.")
        self.locations = locs
        self.names = tuple(names)

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f"Receivers({len(self)}: {', '.join(self.names[:4])}{', ...' if len(self) > 4 else ''})"


@dataclass(frozen=True)
class ReceiverTerms:
    """Discretised receivers: ``record[r, c] = sum_p weights[r, p] * u[nodes[r, p], c]``."""

    nodes: np.ndarray  # (n_receivers, n_points) int64
    weights: np.ndarray  # (n_receivers, n_points)

    @classmethod
    def build(cls, receivers: Receivers, mesh: Mesh, dtype) -> "ReceiverTerms":
        if not isinstance(receivers, Receivers):
            raise TypeError(f"'receivers' must be an engine.Receivers object, but {type(receivers).__name__} was given.")
        if receivers.locations.shape[1] != mesh.ndim:
            raise ValueError(
                f"Receiver locations need {mesh.ndim} coordinates {mesh.axis_names}, but {receivers.locations.shape[1]} were given."
            )
        elements, phi = mesh.interpolation_matrix(receivers.locations)
        outside = np.nonzero(elements < 0)[0]
        if len(outside):
            lo, hi = mesh.bounds.T
            raise ValueError(
                f"Receiver(s) {[receivers.names[i] for i in outside]} lie outside the mesh (which spans "
                f"{tuple(lo.tolist())} to {tuple(hi.tolist())}); move them inside."
            )
        nodes = mesh.ibool[elements].reshape(len(elements), -1).astype(np.int64)
        return cls(nodes, np.ascontiguousarray(phi.reshape(len(elements), -1), dtype=dtype))
