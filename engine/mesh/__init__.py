"""Spectral-element meshes: the generic :class:`Mesh` and its constructors."""
from .box import box
from .core import Faces, Mesh, build_mesh
from .rectangle import rectangle
from .spherical_chunk import ChunkGeometry, RadialLayer, point_layers, spherical_chunk

__all__ = ["Mesh", "Faces", "build_mesh", "rectangle", "box", "spherical_chunk", "ChunkGeometry", "RadialLayer", "point_layers"]
