"""Offline example projects, made by the project's own code from documented recipes."""
from .workshop import workshop_2d

__all__ = ["workshop_2d"]
