"""Registered physics, keyed by (name, dimension): 2D ``acoustic``, ``sh`` and ``elastic``
(P-SV), 3D ``acoustic`` and ``elastic`` (isotropic or transversely isotropic), one module each."""
from . import acoustic, acoustic3d, elastic, elastic3d, sh  # noqa: F401  (registers the variants)
from .base import Physics, available, get

__all__ = ["Physics", "available", "get"]
