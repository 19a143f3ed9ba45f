"""``from fwi_widgets import namespace as sn``: everything a notebook needs, one import.

Mirrors the names of the continental-scale FWI tutorial (Salvus' ``sn``):
``sn.Project``, ``sn.InverseProblemConfiguration``, ``sn.Mapping``, ``sn.TrustRegion``,
``sn.ModelDependentSmoothing``, ``sn.SiteConfig``, plus the domain, events, models,
simulation and misfit configurations, and the offline examples (``sn.examples``).
Domains are also where Salvus keeps them: ``sn.domain.dim2.MapViewDomain``,
``sn.domain.dim2.BoxDomain`` and ``sn.domain.dim3.SphericalChunkDomain``.
"""
from types import SimpleNamespace

from . import examples
from .config import (
    AbsorbingBoundaryParameters, BoxDomain, ConstantModel, Event, EventCollection, EventConfiguration, GridModel,
    InverseProblemConfiguration, MapViewDomain, Mapping, MisfitConfiguration, ModelConfiguration,
    ModelDependentSmoothing, SimulationConfiguration, SiteConfig, Station, TrustRegion, WaveformSimulationConfiguration,
    WindowPicking,
)
from .config import stf as _stf
from .config.processing import DataSelectionConfiguration, SeismologyProcessingConfiguration
from .config.domain import SphericalChunkDomain
from .config.simple_config import simple_config as _simple_config
from .project import Project

#: ``sn.simple_config``: ``source.seismology.parse``, ``receiver.seismology.parse`` and the
#: source time functions ``stf.*``, as in Salvus.
simple_config = SimpleNamespace(
    source=_simple_config.source, receiver=_simple_config.receiver,
    stf=SimpleNamespace(GaussianRate=_stf.GaussianRate, FilteredHeaviside=_stf.FilteredHeaviside, Ricker=_stf.Ricker),
)

#: ``sn.processing.seismology.SeismologyProcessingConfiguration``, as in Salvus (Part 3).
processing = SimpleNamespace(seismology=SimpleNamespace(
    SeismologyProcessingConfiguration=SeismologyProcessingConfiguration))

#: ``sn.domain.dim2.*`` (2D) and ``sn.domain.dim3.*`` (3D), as in Salvus.
domain = SimpleNamespace(
    dim2=SimpleNamespace(MapViewDomain=MapViewDomain, BoxDomain=BoxDomain),
    dim3=SimpleNamespace(SphericalChunkDomain=SphericalChunkDomain),
)

__all__ = [
    "examples", "BoxDomain", "ConstantModel", "Event", "EventCollection", "GridModel", "InverseProblemConfiguration",
    "MapViewDomain", "Mapping", "MisfitConfiguration", "ModelDependentSmoothing", "SimulationConfiguration",
    "SiteConfig", "Station", "TrustRegion", "WindowPicking", "Project", "SphericalChunkDomain", "domain",
    "simple_config", "AbsorbingBoundaryParameters", "EventConfiguration", "ModelConfiguration",
    "WaveformSimulationConfiguration", "processing", "DataSelectionConfiguration",
]
