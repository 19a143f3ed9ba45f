"""Validated, serialisable configuration objects (the user-facing vocabulary of ``sn``)."""
from ._base import PARAMETER_NAMES, configuration_from_dict, engine_name
from .domain import BoxDomain, MapViewDomain
from .events import Event, EventCollection, Station, event_name
from .inverse_problem import InverseProblemConfiguration, Mapping, ModelDependentSmoothing, SiteConfig, TrustRegion
from .misfit import MisfitConfiguration, WindowPicking
from .processing import DataSelectionConfiguration, SeismologyProcessingConfiguration, parse_data_name
from .simple_config import SeismologyReceiver, SeismologySource, simple_config
from .simulation import (
    AbsorbingBoundaryParameters, ConstantModel, EventConfiguration, GridModel, ModelConfiguration, SimulationConfiguration,
    WaveformSimulationConfiguration,
)
from .stf import FilteredHeaviside, GaussianRate, Ricker

__all__ = [
    "PARAMETER_NAMES", "configuration_from_dict", "engine_name", "BoxDomain", "MapViewDomain", "Event",
    "EventCollection", "Station", "event_name", "InverseProblemConfiguration", "Mapping", "ModelDependentSmoothing",
    "SiteConfig", "TrustRegion", "MisfitConfiguration", "WindowPicking", "ConstantModel", "GridModel",
    "SimulationConfiguration", "SeismologyReceiver", "SeismologySource", "simple_config", "AbsorbingBoundaryParameters",
    "EventConfiguration", "ModelConfiguration", "WaveformSimulationConfiguration", "FilteredHeaviside", "GaussianRate",
    "Ricker", "DataSelectionConfiguration", "SeismologyProcessingConfiguration", "parse_data_name",
]
