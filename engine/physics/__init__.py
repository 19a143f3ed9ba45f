"""Registered 2D physics: ``acoustic``, ``sh`` and ``elastic`` (P-SV), one module each."""
from . import acoustic, elastic, sh  # noqa: F401  (registers the variants)
from .base import Physics, available, get

__all__ = ["Physics", "available", "get"]
