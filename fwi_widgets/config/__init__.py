"""Validated, serialisable configuration objects (the user-facing vocabulary of ``sn``)."""
from ._base import PARAMETER_NAMES, configuration_from_dict, engine_name
from .domain import BoxDomain, MapViewDomain
from .events import Event, EventCollection, Station, event_name
from .inverse_problem import InverseProblemConfiguration, Mapping, ModelDependentSmoothing, SiteConfig, TrustRegion
from .misfit import MisfitConfiguration, WindowPicking
from .simulation import ConstantModel, GridModel, SimulationConfiguration

__all__ = [
    "PARAMETER_NAMES", "configuration_from_dict", "engine_name", "BoxDomain", "MapViewDomain", "Event",
    "EventCollection", "Station", "event_name", "InverseProblemConfiguration", "Mapping", "ModelDependentSmoothing",
    "SiteConfig", "TrustRegion", "MisfitConfiguration", "WindowPicking", "ConstantModel", "GridModel",
    "SimulationConfiguration",
]
