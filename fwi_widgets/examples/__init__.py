"""Offline example projects, made by the project's own code from documented recipes."""
from .continental import continental_3d
from .workshop import workshop_2d

__all__ = ["continental_3d", "workshop_2d"]
