"""``from fwi_widgets import namespace as sn``: everything a notebook needs, one import.

Mirrors the names of the continental-scale FWI tutorial (Salvus' ``sn``):
``sn.Project``, ``sn.InverseProblemConfiguration``, ``sn.Mapping``, ``sn.TrustRegion``,
``sn.ModelDependentSmoothing``, ``sn.SiteConfig``, plus the domain, events, models,
simulation and misfit configurations, and the offline examples (``sn.examples``).
"""
from . import examples
from .config import (
    BoxDomain, ConstantModel, Event, EventCollection, GridModel, InverseProblemConfiguration, MapViewDomain, Mapping,
    MisfitConfiguration, ModelDependentSmoothing, SimulationConfiguration, SiteConfig, Station, TrustRegion,
    WindowPicking,
)
from .project import Project

__all__ = [
    "examples", "BoxDomain", "ConstantModel", "Event", "EventCollection", "GridModel", "InverseProblemConfiguration",
    "MapViewDomain", "Mapping", "MisfitConfiguration", "ModelDependentSmoothing", "SimulationConfiguration",
    "SiteConfig", "Station", "TrustRegion", "WindowPicking", "Project",
]
