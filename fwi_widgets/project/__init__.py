"""The project on disk: layout (``paths``), atomic storage (``store``), the write lock (``lock``), and ``Project``."""
from .project import Project

__all__ = ["Project"]
