"""The inverse problem's configuration objects, with the seed tutorial's names and arguments."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from engine.optimize import TrustRegion as _TrustRegionSettings

from ._base import Configuration, check_parameter_names, choice, name_string, positive, register

__all__ = ["Mapping", "TrustRegion", "ModelDependentSmoothing", "SiteConfig", "InverseProblemConfiguration"]

_SCALINGS = ("relative_deviation_from_prior", "absolute")


@register
@dataclass(frozen=True)
class Mapping(Configuration):
    """Which parameters are inverted for, and how they drive the physical ones.

    ``scaling="relative_deviation_from_prior"`` works in x = (m - m_prior) / m_prior;
    ``map_to_physical_parameters`` maps a physical parameter to the inversion parameter
    that drives it (e.g. {"VPV": "VP", "VPH": "VP"}); a physical parameter with the same
    name as an inversion parameter is driven by it. Cutout radii (metres) zero the
    gradient near sources and receivers with a smooth taper.
    """

    scaling: str = "relative_deviation_from_prior"
    inversion_parameters: list = field(default_factory=lambda: ["VS"])
    map_to_physical_parameters: dict = field(default_factory=dict)
    source_cutout_radius_in_meters: float | None = None
    receiver_cutout_radius_in_meters: float | None = None

    def __post_init__(self):
        choice("scaling", self.scaling, _SCALINGS)
        params = [self.inversion_parameters] if isinstance(self.inversion_parameters, str) else list(self.inversion_parameters)
        if not params:
            raise ValueError("The 'inversion_parameters' parameter must name at least one parameter, but [] was given.")
        check_parameter_names(params, "inversion parameter")
        object.__setattr__(self, "inversion_parameters", params)
        mapping = dict(self.map_to_physical_parameters)
        check_parameter_names(mapping.keys(), "physical parameter")
        check_parameter_names(mapping.values(), "inversion parameter in 'map_to_physical_parameters'", params)
        object.__setattr__(self, "map_to_physical_parameters", mapping)
        for name in ("source_cutout_radius_in_meters", "receiver_cutout_radius_in_meters"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, positive(name, value))

    def physical_parameters(self, available: list[str]) -> dict[str, str]:
        """physical -> inversion parameter, restricted to the model's ``available`` parameters."""
        out = {p: p for p in self.inversion_parameters if p in available}
        out.update({k: v for k, v in self.map_to_physical_parameters.items() if k in available})
        missing = [p for p in self.inversion_parameters if p not in out.values()]
        if missing:
            raise ValueError(
                f"The inversion parameter(s) {missing} drive no parameter of the prior model, which has {available}; "
                "map them with 'map_to_physical_parameters' or choose parameters of the model."
            )
        return out


@register
@dataclass(frozen=True)
class TrustRegion(Configuration):
    """Trust-region method with an L-BFGS model and dogleg steps (see NUMERICS.md)."""

    initial_trust_region_linf: float = 0.02
    max_trust_region_radius: float | None = None
    max_pairs: int = 5

    def __post_init__(self):
        self.settings()  # validates

    def settings(self) -> _TrustRegionSettings:
        return _TrustRegionSettings(
            initial_trust_region_linf=self.initial_trust_region_linf,
            max_trust_region_radius=self.max_trust_region_radius,
            max_pairs=self.max_pairs,
        )


@register
@dataclass(frozen=True)
class ModelDependentSmoothing(Configuration):
    """Anisotropic diffusion with lengths proportional to the local wavelength.

    ``smoothing_lengths_in_wavelengths`` maps each inversion parameter to a length in
    wavelengths, a scalar or one per dimension (2D: [along x, along z or y]); the length
    in metres is ``L * v_ref(x) / reference_frequency_in_hertz`` with ``v_ref`` the
    ``reference_velocities[parameter]`` of the ``reference_model`` ("prior").
    """

    smoothing_lengths_in_wavelengths: dict = field(default_factory=dict)
    reference_frequency_in_hertz: float = 1.0
    reference_model: str = "prior"
    reference_velocities: dict = field(default_factory=dict)

    def __post_init__(self):
        positive("reference_frequency_in_hertz", self.reference_frequency_in_hertz)
        choice("reference_model", self.reference_model, ["prior"])
        lengths = {}
        for p, value in dict(self.smoothing_lengths_in_wavelengths).items():
            check_parameter_names([p], "smoothing parameter")
            values = value if isinstance(value, (list, tuple)) else [value]
            lengths[p] = [positive(f"smoothing_lengths_in_wavelengths[{p!r}]", v) for v in values]
            if len(lengths[p]) == 1:
                lengths[p] = lengths[p][0]
        object.__setattr__(self, "smoothing_lengths_in_wavelengths", lengths)
        refs = dict(self.reference_velocities)
        check_parameter_names(refs.keys(), "smoothing parameter")
        check_parameter_names(refs.values(), "reference velocity", ["VP", "VS", "VPV", "VPH", "VSV", "VSH"])
        object.__setattr__(self, "reference_velocities", refs)


@register
@dataclass(frozen=True)
class SiteConfig(Configuration):
    """Where jobs run: a site name ("inline", "local", "dask" or a registered one) and
    the threads ("ranks") each job uses."""

    site_name: str = "local"
    ranks_per_job: int = 1

    def __post_init__(self):
        from ..execution import available_sites

        if self.site_name not in available_sites():
            raise ValueError(f"Unknown site {self.site_name!r}; valid sites are {available_sites()}.")
        if isinstance(self.ranks_per_job, bool) or int(self.ranks_per_job) != self.ranks_per_job or self.ranks_per_job < 1:
            raise ValueError(f"The 'ranks_per_job' parameter must be a positive integer, but {self.ranks_per_job!r} was given.")


_JOB_KINDS = ("forward", "adjoint", "preconditioner")


@register
@dataclass(frozen=True)
class InverseProblemConfiguration(Configuration):
    """Everything an inversion needs, by name (validated against the project when added).

    events : event names; misfit_configuration : a misfit configuration's name;
    prior_model : a simulation configuration's name (its model is the prior);
    mapping, method, preconditioner : :class:`Mapping`, :class:`TrustRegion`,
    :class:`ModelDependentSmoothing` (or None); job_submission : a :class:`SiteConfig`
    or a dict with keys "forward", "adjoint", "preconditioner".
    """

    name: str
    events: list
    misfit_configuration: str
    prior_model: str
    mapping: Mapping
    method: TrustRegion = field(default_factory=TrustRegion)
    preconditioner: ModelDependentSmoothing | None = None
    job_submission: Any = field(default_factory=SiteConfig)

    def __post_init__(self):
        name_string(self.name)
        events = [self.events] if isinstance(self.events, str) else list(self.events)
        if not events:
            raise ValueError("The 'events' parameter must name at least one event, but [] was given.")
        if len(set(events)) != len(events):
            raise ValueError(f"The 'events' parameter lists an event twice: {events}.")
        object.__setattr__(self, "events", events)
        for attr, cls in (("mapping", Mapping), ("method", TrustRegion)):
            if not isinstance(getattr(self, attr), cls):
                raise TypeError(f"The '{attr}' parameter must be a sn.{cls.__name__}, but {getattr(self, attr)!r} was given.")
        if self.preconditioner is not None and not isinstance(self.preconditioner, ModelDependentSmoothing):
            raise TypeError("The 'preconditioner' parameter must be a sn.ModelDependentSmoothing or None.")
        if self.preconditioner is not None:
            missing = [p for p in self.mapping.inversion_parameters if p not in self.preconditioner.smoothing_lengths_in_wavelengths]
            if missing:
                raise ValueError(f"The preconditioner gives no smoothing length for the inversion parameter(s) {missing}.")
        jobs = self.job_submission
        if isinstance(jobs, SiteConfig):
            jobs = {k: jobs for k in _JOB_KINDS}
        if not isinstance(jobs, dict) or any(not isinstance(v, SiteConfig) for v in jobs.values()):
            raise TypeError("The 'job_submission' parameter must be a sn.SiteConfig or a dict of them.")
        unknown = [k for k in jobs if k not in _JOB_KINDS]
        if unknown:
            raise ValueError(f"Unknown job kind(s) {unknown} in 'job_submission'; valid kinds are {list(_JOB_KINDS)}.")
        object.__setattr__(self, "job_submission", {k: jobs.get(k, jobs.get("forward", SiteConfig())) for k in _JOB_KINDS})

    def site_for(self, kind: str) -> SiteConfig:
        return self.job_submission[kind]

    def replace(self, **changes) -> "InverseProblemConfiguration":
        """A changed copy (for a branch of the inversion tree)."""
        return dataclasses.replace(self, **changes)
