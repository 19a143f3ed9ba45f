"""Spectral-element meshes: the generic :class:`Mesh` and its constructors."""
from .core import Mesh, build_mesh
from .rectangle import rectangle

__all__ = ["Mesh", "build_mesh", "rectangle"]
