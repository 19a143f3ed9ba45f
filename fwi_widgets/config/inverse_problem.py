"""The inverse problem's configuration objects, with the seed tutorial's names and arguments."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.optimize import TrustRegion as _TrustRegionSettings

from ._base import (
    Configuration, check_parameter_names, choice, integer, is_number, list_of_names, mapping_of, name_string, positive,
    register, string,
)

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
        params = list_of_names("inversion_parameters", self.inversion_parameters, "parameter names such as ['VS']")
        if not params:
            raise ValueError("The 'inversion_parameters' parameter must name at least one parameter, but [] was given.")
        check_parameter_names(params, "inversion parameter")
        if len(set(params)) != len(params):
            raise ValueError(f"The 'inversion_parameters' parameter lists a parameter twice: {params}.")
        object.__setattr__(self, "inversion_parameters", params)
        mapping = mapping_of("map_to_physical_parameters", self.map_to_physical_parameters)
        check_parameter_names(mapping.keys(), "physical parameter")
        check_parameter_names(mapping.values(), "inversion parameter in 'map_to_physical_parameters'", params)
        # An inversion parameter drives the physical parameter of its own name, so mapping
        # that one to another inversion parameter would leave the first driving nothing.
        clash = {k: v for k, v in mapping.items() if k in params and v != k}
        if clash:
            raise ValueError(
                f"The 'map_to_physical_parameters' parameter maps inversion parameter(s) {sorted(clash)} to another "
                f"inversion parameter ({clash}); an inversion parameter drives the physical parameter of its own name."
            )
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
    """Trust-region method with an L-BFGS model and dogleg steps (see NUMERICS.md).

    initial_trust_region_linf : the largest entry of the first step in the scaled space,
        a positive finite number; with ``Mapping(scaling="relative_deviation_from_prior")``
        it is a fraction of the prior and must be below 1 (0.02: no parameter changes by
        more than 2 %), which :class:`InverseProblemConfiguration` checks.
    max_trust_region_radius : positive finite, or None (unbounded).
    max_pairs : L-BFGS memory length, an int >= 1.
    """

    initial_trust_region_linf: float = 0.02
    max_trust_region_radius: float | None = None
    max_pairs: int = 5

    def __post_init__(self):
        # Checked here, in the app's words, before the engine's settings check them again.
        positive("initial_trust_region_linf", self.initial_trust_region_linf)
        if self.max_trust_region_radius is not None:
            positive("max_trust_region_radius", self.max_trust_region_radius)
        integer("max_pairs", self.max_pairs, minimum=1)
        self.settings()  # the engine's own checks

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
        for p, value in mapping_of("smoothing_lengths_in_wavelengths", self.smoothing_lengths_in_wavelengths).items():
            check_parameter_names([p], "smoothing parameter")
            where = f"smoothing_lengths_in_wavelengths[{p!r}]"
            if isinstance(value, (list, tuple, np.ndarray)):
                values = list(value)
                # One length, or one per dimension of the domain (checked against the domain
                # when the inverse problem is added: 2 for every domain today).
                if not 1 <= len(values) <= 3:
                    raise ValueError(
                        f"The '{where}' parameter must be a number or a list of one length per dimension "
                        f"of the domain, but {value!r} was given."
                    )
            elif is_number(value):
                values = [value]
            else:
                raise TypeError(f"The '{where}' parameter must be a number or a list of numbers, but {value!r} was given.")
            lengths[p] = [positive(where, v) for v in values]
            if len(lengths[p]) == 1:
                lengths[p] = lengths[p][0]
        object.__setattr__(self, "smoothing_lengths_in_wavelengths", lengths)
        refs = mapping_of("reference_velocities", self.reference_velocities)
        check_parameter_names(refs.keys(), "smoothing parameter")
        check_parameter_names(refs.values(), "reference velocity", ["VP", "VS", "VPV", "VPH", "VSV", "VSH"])
        object.__setattr__(self, "reference_velocities", refs)

    def dimension_problems(self, dimension: int) -> dict:
        """``{parameter: lengths}`` of the lists whose length is neither 1 nor ``dimension``."""
        return {p: v for p, v in self.smoothing_lengths_in_wavelengths.items()
                if isinstance(v, list) and len(v) not in (1, dimension)}


@register
@dataclass(frozen=True)
class SiteConfig(Configuration):
    """Where jobs run: a site name ("inline", "local", "dask" or a registered one) and
    the threads ("ranks") each job uses, an int >= 1 (the site uses at most the cores
    Numba has)."""

    site_name: str = "local"
    ranks_per_job: int = 1

    def __post_init__(self):
        from ..execution import available_sites

        string("site_name", self.site_name)
        if self.site_name not in available_sites():
            raise ValueError(f"Unknown site {self.site_name!r}; valid sites are {available_sites()}.")
        # A real int only (not 2.0, True, None or NaN): the sites take the stored value as it is.
        object.__setattr__(self, "ranks_per_job", integer("ranks_per_job", self.ranks_per_job, minimum=1))


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

    Checked here: the smoothing lengths and reference velocities name exactly the
    inversion parameters, and with the relative scaling ``initial_trust_region_linf``
    is below 1. Checked when added (``p += ...``): the names exist in the project, the
    smoothing lengths fit the domain's dimension, the reference velocities are
    parameters of the prior model.
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
        events = list_of_names("events", self.events, "event names")
        if not events:
            raise ValueError("The 'events' parameter must name at least one event, but [] was given.")
        for i, event in enumerate(events):
            name_string(event, f"events[{i}]")
        if len(set(events)) != len(events):
            raise ValueError(f"The 'events' parameter lists an event twice: {events}.")
        object.__setattr__(self, "events", events)
        name_string(self.misfit_configuration, "misfit_configuration")
        name_string(self.prior_model, "prior_model")
        for attr, cls in (("mapping", Mapping), ("method", TrustRegion)):
            if not isinstance(getattr(self, attr), cls):
                raise TypeError(f"The '{attr}' parameter must be a sn.{cls.__name__}, but {getattr(self, attr)!r} was given.")
        linf = self.method.initial_trust_region_linf
        if self.mapping.scaling == "relative_deviation_from_prior" and not linf < 1.0:
            # x = (m - m_prior) / m_prior: a first step of 1 may take a velocity to zero,
            # and more to negative values, which no simulation survives.
            raise ValueError(
                "The 'initial_trust_region_linf' parameter must be below 1 with scaling='relative_deviation_from_prior' "
                f"(it is the largest relative change of a parameter in the first step; 0.02 is 2 %), but {linf!r} was given."
            )
        if self.preconditioner is not None and not isinstance(self.preconditioner, ModelDependentSmoothing):
            raise TypeError(
                f"The 'preconditioner' parameter must be a sn.ModelDependentSmoothing or None, but {self.preconditioner!r} was given."
            )
        if self.preconditioner is not None:
            params = self.mapping.inversion_parameters
            lengths = self.preconditioner.smoothing_lengths_in_wavelengths
            missing = [p for p in params if p not in lengths]
            if missing:
                raise ValueError(f"The preconditioner gives no smoothing length for the inversion parameter(s) {missing}.")
            extra = [p for p in lengths if p not in params]
            if extra:
                raise ValueError(
                    f"The 'smoothing_lengths_in_wavelengths' parameter gives lengths for {extra}, which are not inversion "
                    f"parameters; the inversion parameters are {params}."
                )
            extra = [p for p in self.preconditioner.reference_velocities if p not in params]
            if extra:
                raise ValueError(
                    f"The 'reference_velocities' parameter names {extra}, which are not inversion parameters; the "
                    f"inversion parameters are {params}."
                )
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
