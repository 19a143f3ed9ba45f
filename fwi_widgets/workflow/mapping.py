"""Between physical models and the optimizer's vector x (``relative_deviation_from_prior``).

x is the concatenation, over the inversion parameters, of the per-point relative
deviations from the prior; a physical parameter follows the inversion parameter that
drives it (``m_p = prior_p (1 + x_q)``), so the gradient in x sums
``prior_p * dJ/dm_p`` over the physical parameters p that q drives (NUMERICS.md).
Cutouts taper the gradient near sources and receivers before it is summed.
"""
from __future__ import annotations

import numpy as np

import engine

from ..config import Mapping
from ..config._base import PARAMETER_NAMES

__all__ = ["ParameterMap"]


class ParameterMap:
    def __init__(self, mapping: Mapping, prior: engine.Model):
        self.mapping = mapping
        self.prior = prior
        available = [k for k, v in PARAMETER_NAMES.items() if v in prior]
        self.drives = mapping.physical_parameters(available)  # physical (upper) -> inversion (upper)
        self.blocks = list(mapping.inversion_parameters)
        self.shape = prior.mesh.point_shape
        self.size = int(np.prod(self.shape))

    @property
    def n(self) -> int:
        return self.size * len(self.blocks)

    def block(self, x: np.ndarray, parameter: str) -> np.ndarray:
        i = self.blocks.index(parameter)
        return x[i * self.size:(i + 1) * self.size].reshape(self.shape)

    def model(self, x: np.ndarray) -> engine.Model:
        """Physical model at x."""
        fields = {}
        for phys, inv in self.drives.items():
            name = PARAMETER_NAMES[phys]
            base = self.prior[name]
            fields[name] = base * (1.0 + self.block(x, inv)) if self.mapping.scaling == "relative_deviation_from_prior" else base + self.block(x, inv)
        return self.prior.replace(**fields)

    def gradient(self, grads: dict[str, np.ndarray], taper: np.ndarray | None = None) -> np.ndarray:
        """dJ/dx from dJ/dm (engine names), optionally tapered per point."""
        out = np.zeros(self.n)
        for phys, inv in self.drives.items():
            name = PARAMETER_NAMES[phys]
            g = grads[name] * (self.prior[name] if self.mapping.scaling == "relative_deviation_from_prior" else 1.0)
            if taper is not None:
                g = g * taper
            i = self.blocks.index(inv)
            out[i * self.size:(i + 1) * self.size] += g.ravel()
        return out

    def cutout(self, source, receivers) -> np.ndarray:
        """Per-point taper: 0 within the cutout radii of the source and the receivers, 1 far
        away. Locations as the engine takes them (``discretisation.event_location``): (x, z)
        in 2D, ``engine.Geographic`` on a chunk (distances through the Earth)."""
        from engine.cutouts import cutout_taper

        mesh = self.prior.mesh
        taper = np.ones(self.shape)
        if self.mapping.source_cutout_radius_in_meters:
            taper *= cutout_taper(mesh, [source], self.mapping.source_cutout_radius_in_meters)
        if self.mapping.receiver_cutout_radius_in_meters and len(receivers):
            taper *= cutout_taper(mesh, list(receivers), self.mapping.receiver_cutout_radius_in_meters)
        return taper
