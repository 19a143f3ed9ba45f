"""Simulation and model configurations: physics, period band, resolution, absorbing boundaries.

Two forms of :class:`SimulationConfiguration`: the 2D one (a registered ``model``, the
period band, ``end_time_in_seconds``, rectangle sides and a sponge in wavelengths) and
the 3D one of Salvus' continental tutorial (a :class:`ModelConfiguration` with a PREM
background, ``max_depth_in_meters``, an :class:`EventConfiguration` with the wavelet
and the duration, and :class:`AbsorbingBoundaryParameters`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.earth import MODEL_NAMES, by_name
from engine.operator import sponge_width
from engine.storage import sampling_interval_for

from . import stf
from ._base import (
    Configuration, check_parameter_names, choice, integer, list_of_names, mapping_of, name_string, number, positive,
    register,
)

__all__ = ["SimulationConfiguration", "ConstantModel", "GridModel", "PHYSICS", "ModelConfiguration",
           "WaveformSimulationConfiguration", "EventConfiguration", "AbsorbingBoundaryParameters",
           "CHUNK_ABSORBING_SIDES"]

# Application physics -> engine physics. "membrane" is SH on a map-view domain (Tape et al. 2007).
PHYSICS = {"membrane": "sh", "sh": "sh", "acoustic": "acoustic", "elastic": "elastic"}
#: The physics of the 3D form (the engine's 3D elastic wave equation, TI where the model is).
PHYSICS_3D = ("elastic",)
#: Side sets of a spherical chunk (``engine.mesh.spherical_chunk``) but its free surface "r1".
CHUNK_ABSORBING_SIDES = ("r0", "t0", "t1", "p0", "p1")


class _Auto:
    """A default that depends on the form (2D or 3D): resolved in ``__post_init__``."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"<{self.text}>"


_PHYSICS_DEFAULT = _Auto("'membrane' in 2D, 'elastic' in 3D")
_SIDES_DEFAULT = _Auto("('left', 'right', 'bottom', 'top') in 2D; 3D: absorbing_boundaries")
_SPONGE_DEFAULT = _Auto("1.0 in 2D; 3D: absorbing_boundaries")


@register
@dataclass(frozen=True)
class ConstantModel(Configuration):
    """A homogeneous model, e.g. ``ConstantModel("prior", {"VS": 3900.0, "RHO": 3300.0})``."""

    name: str
    values: dict = field(default_factory=dict)

    def __post_init__(self):
        name_string(self.name, "name")
        values = mapping_of("values", self.values)
        if not values:
            raise ValueError("The 'values' parameter must give at least one parameter, e.g. {'VS': 3900.0, 'RHO': 3300.0}, "
                             "but {} was given.")
        check_parameter_names(values, "model parameter")
        object.__setattr__(self, "values", {k: positive(f"values[{k!r}]", v) for k, v in values.items()})


@register
@dataclass(frozen=True)
class GridModel(Configuration):
    """A model on a regular grid of the domain's coordinates (metres), stored in the
    project as NetCDF. ``data`` is an ``xarray.Dataset`` with upper-case variables
    (VS, RHO, ...) and dims named like the domain's axes ("x", "y" or "x", "z"; on a
    spherical chunk "depth" in m, "latitude" and "longitude" in geographic degrees).

    ``kind``: "absolute" (default) holds the values (positive); "relative" holds relative
    perturbations ``d`` of a 3D simulation's background (the value is ``background * (1 +
    d)``, 0.02 is +2 %; ``engine.Model.from_dataset(kind="relative")``), finite and > -1:
    a volume model of ``sn.ModelConfiguration(volume_models=[...])``."""

    name: str
    data: object = None
    kind: str = "absolute"

    def __post_init__(self):
        name_string(self.name, "name")
        choice("kind", self.kind, ["absolute", "relative"])
        if self.data is not None:
            import xarray as xr

            if not isinstance(self.data, xr.Dataset):
                raise TypeError(f"The 'data' parameter must be an xarray.Dataset or None, but a "
                                f"{type(self.data).__name__} was given.")
            if not self.data.data_vars:
                raise ValueError("The 'data' parameter must hold at least one variable (VS, RHO, ...), but an empty "
                                 "Dataset was given.")
            check_parameter_names(list(self.data.data_vars), "model parameter")
            for k in self.data.data_vars:
                values = np.asarray(self.data[k].values)
                if self.kind == "relative":
                    if not np.all(np.isfinite(values)) or np.any(values <= -1.0):
                        raise ValueError(f"The {k!r} values of the relative model {self.name!r} must be finite "
                                         "perturbations above -1 (the value is background * (1 + d)).")
                elif not np.all(np.isfinite(values)) or np.any(values <= 0):
                    raise ValueError(f"The {k!r} values of model {self.name!r} must be positive and finite.")

    def to_dict(self):
        # "kind" only when relative: an absolute grid's JSON is what it was before kinds existed.
        out = {"type": "GridModel", "name": self.name}
        if self.kind != "absolute":
            out["kind"] = self.kind
        return out


@register
@dataclass(frozen=True)
class ModelConfiguration(Configuration):
    """The model of a 3D simulation: a 1D background Earth model with volume models on top.

    ``ModelConfiguration(background_model="prem_ani_one_crust", volume_models=["true_anomalies"])``,
    as in Salvus. ``background_model`` is one of the engine's PREM variants
    (``engine.earth.MODEL_NAMES``: "prem_iso", "prem_ani", "prem_iso_one_crust",
    "prem_ani_one_crust", "prem_iso_no_crust", "prem_ani_no_crust"; see ``engine.earth``);
    it also sizes the mesh. ``volume_models`` names registered :class:`GridModel`\\ s (on
    the chunk's depth, latitude and longitude), applied on top in the order given; that
    they exist is checked when the simulation is added to a project.
    """

    background_model: str
    volume_models: tuple = ()

    def __post_init__(self):
        if not isinstance(self.background_model, str):
            raise TypeError(f"The 'background_model' parameter must be one of {list(MODEL_NAMES)}, but "
                            f"{self.background_model!r} was given.")
        if self.background_model not in MODEL_NAMES:
            hint = ""
            if self.background_model.lower() in MODEL_NAMES:
                hint = " Model names are lower case, as in Salvus."
            raise ValueError(f"The 'background_model' parameter must be one of {list(MODEL_NAMES)} (the engine's "
                             f"PREM variants), but {self.background_model!r} was given.{hint}")
        names = tuple(name_string(n, "volume_models") for n in list_of_names("volume_models", self.volume_models,
                                                                               "model names"))
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"The 'volume_models' parameter lists {twice} more than once, but each model may be "
                             f"applied once: {list(names)} was given.")
        object.__setattr__(self, "volume_models", names)

    @property
    def earth_model(self):
        """The background as an ``engine.earth.EarthModel1D``."""
        return by_name(self.background_model)

    @property
    def parameters(self) -> list[str]:
        """The background's parameters in the application's names: VPV, VPH, VSV, VSH, ETA, RHO
        for an anisotropic PREM, VP, VS, RHO for an isotropic one."""
        if by_name(self.background_model).anisotropic:
            return ["VPV", "VPH", "VSV", "VSH", "ETA", "RHO"]
        return ["VP", "VS", "RHO"]


@register
@dataclass(frozen=True)
class WaveformSimulationConfiguration(Configuration):
    """How long to simulate, in seconds after the event's origin time (Salvus' name).

    ``start_time_in_seconds``: None (default) starts the simulation as early as the
    wavelet needs to start from ~0 (``-wavelet.delay_in_seconds``); a number (< end) is
    the start relative to the origin time, at most that (refused later otherwise).
    """

    end_time_in_seconds: float
    start_time_in_seconds: float | None = None

    def __post_init__(self):
        end = positive("end_time_in_seconds", self.end_time_in_seconds)
        if self.start_time_in_seconds is not None:
            start = number("start_time_in_seconds", self.start_time_in_seconds)
            if not start < end:
                raise ValueError(f"The 'start_time_in_seconds' parameter must be before the end time {end!r} s, but "
                                 f"{self.start_time_in_seconds!r} was given.")


@register
@dataclass(frozen=True)
class EventConfiguration(Configuration):
    """What every event of a 3D simulation shares: the wavelet and the duration (Salvus' name).

    ``wavelet``: a ``sn.simple_config.stf`` configuration (:class:`~fwi_widgets.config.stf.GaussianRate`,
    ``FilteredHeaviside`` or ``Ricker``); ``waveform_simulation_configuration``: a
    :class:`WaveformSimulationConfiguration`.
    """

    wavelet: stf.Wavelet
    waveform_simulation_configuration: WaveformSimulationConfiguration

    def __post_init__(self):
        if not isinstance(self.wavelet, stf.Wavelet):
            raise TypeError(f"The 'wavelet' parameter must be one of sn.simple_config.stf.{list(stf.WAVELETS)}, e.g. "
                            f"sn.simple_config.stf.GaussianRate(half_duration_in_seconds=...), but {self.wavelet!r} "
                            "was given.")
        if not isinstance(self.waveform_simulation_configuration, WaveformSimulationConfiguration):
            raise TypeError("The 'waveform_simulation_configuration' parameter must be a "
                            "sn.WaveformSimulationConfiguration(end_time_in_seconds=...), but "
                            f"{self.waveform_simulation_configuration!r} was given.")


@register
@dataclass(frozen=True)
class AbsorbingBoundaryParameters(Configuration):
    """Absorbing boundaries of a spherical chunk, as Salvus users give them.

    Stacey's first-order absorbing condition always acts on the chunk's four sides and
    its bottom (``CHUNK_ABSORBING_SIDES``), and on the surface too with
    ``free_surface=False``. ``number_of_wavelengths`` > 0 adds a sponge (mass-proportional
    damping, ``engine.simulate(..., sponge_width=...)``) inside those sides, that many
    wavelengths wide: ``number_of_wavelengths * reference_velocity / reference_frequency``
    metres (``engine.operator.sponge_width``); 0 means Stacey only.

    Parameters
    ----------
    reference_velocity : float
        m/s, e.g. 3700 (a surface-wave speed).
    number_of_wavelengths : float
        >= 0.
    reference_frequency : float
        Hz, e.g. ``1 / min_period``.
    free_surface : bool
        True (default): the surface is free (traction-free, no absorption).
    """

    reference_velocity: float
    number_of_wavelengths: float
    reference_frequency: float
    free_surface: bool = True

    def __post_init__(self):
        positive("reference_velocity", self.reference_velocity)
        positive("number_of_wavelengths", self.number_of_wavelengths, allow_zero=True)
        positive("reference_frequency", self.reference_frequency)
        if not isinstance(self.free_surface, (bool, np.bool_)):
            raise TypeError(f"The 'free_surface' parameter must be True or False, but {self.free_surface!r} was given.")
        object.__setattr__(self, "free_surface", bool(self.free_surface))

    @property
    def sponge_width_in_meters(self) -> float | None:
        """The sponge's width (m), or None for none (``number_of_wavelengths == 0``)."""
        if float(self.number_of_wavelengths) == 0.0:
            return None
        return sponge_width(self.number_of_wavelengths, self.reference_velocity, self.reference_frequency)

    @property
    def side_sets(self) -> tuple[str, ...]:
        """The chunk's side sets that absorb (``engine.mesh.spherical_chunk(absorbing=...)``)."""
        return CHUNK_ABSORBING_SIDES + (() if self.free_surface else ("r1",))


@register
@dataclass(frozen=True)
class SimulationConfiguration(Configuration):
    """How to simulate: physics, the period band the mesh must resolve, resolution,
    duration, absorbing boundaries, and the model. Two forms.

    **2D** (map view or box): ``model`` (a registered model's name), ``min_period_in_seconds``,
    ``max_period_in_seconds``, ``end_time_in_seconds``, ``physics`` (default "membrane"),
    ``absorbing_sides``, ``sponge_width_in_wavelengths``. The element size is ``v_min *
    min_period / elements_per_wavelength`` with ``v_min`` the slowest velocity of the
    model; the source time function is a step band-passed to the period band
    (``engine.stf.filtered_heaviside``).

    **3D** (a ``sn.domain.dim3.SphericalChunkDomain``), Salvus' continental form::

        sn.SimulationConfiguration(
            name="initial_model_70_120", elements_per_wavelength=1.5, tensor_order=4,
            min_period_in_seconds=70.0, max_depth_in_meters=1750e3,
            model_configuration=sn.ModelConfiguration(background_model="prem_ani_one_crust"),
            event_configuration=sn.EventConfiguration(
                wavelet=sn.simple_config.stf.GaussianRate(half_duration_in_seconds=140.0),
                waveform_simulation_configuration=sn.WaveformSimulationConfiguration(end_time_in_seconds=1200.0)),
            absorbing_boundaries=sn.AbsorbingBoundaryParameters(reference_velocity=3700.0,
                number_of_wavelengths=0.0, reference_frequency=1 / 70.0))

    ``model_configuration`` (instead of ``model``) and ``max_depth_in_meters`` are
    required; ``event_configuration`` gives the wavelet and the duration (or give
    ``end_time_in_seconds`` and ``max_period_in_seconds``: the wavelet is then the
    band-passed step of the 2D form); ``absorbing_boundaries`` defaults to Stacey only;
    ``max_period_in_seconds`` is optional (the misfit configurations carry the band);
    ``physics`` is "elastic". The mesh is ``engine.mesh.spherical_chunk`` sized by the
    background model's layers. ``end_time_in_seconds`` is filled in from the event
    configuration, so code that reads it works with both forms.

    ``forward_wavefield_sampling_interval`` s > 1 keeps the forward wavefield of gradient
    runs every s-th time step only (``engine.StoragePolicy(mode="decimated")``): s times
    less memory and a cheaper adjoint, for a gradient that is no longer exact but close
    while s dt stays below ~1/8 of the minimum period (relative error ~1e-5 at 35 steps
    per period and s = 4; ~1e-4 (VS) to 1e-3 (RHO) at s dt ~ T/5; see ``engine.adjoint``).
    1 (default) is the exact gradient; ``"auto"`` takes the largest s within that
    guideline for the mesh's time step (``engine.storage.sampling_interval_for``), which
    is 1 (exact) where the time step is already coarse.

    Properties for the workflow, either form: :attr:`is_3d`, :attr:`background_model`,
    :attr:`volume_models`, :attr:`end_time`, :attr:`start_time`, :attr:`wavelet`,
    :attr:`sponge_width_in_meters`, :attr:`max_depth`, :attr:`engine_physics`.
    """

    name: str
    model: str | None = None
    min_period_in_seconds: float = None
    max_period_in_seconds: float | None = None
    end_time_in_seconds: float | None = None
    physics: str = _PHYSICS_DEFAULT
    elements_per_wavelength: float = 1.5
    tensor_order: int = 4
    absorbing_sides: tuple = _SIDES_DEFAULT
    sponge_width_in_wavelengths: float = _SPONGE_DEFAULT
    precision: str = "float64"
    forward_wavefield_sampling_interval: int | str = 1
    # --- the 3D form (None in 2D; not written to JSON when None) ---
    model_configuration: ModelConfiguration | None = None
    max_depth_in_meters: float | None = None
    event_configuration: EventConfiguration | None = None
    absorbing_boundaries: AbsorbingBoundaryParameters | None = None

    def __post_init__(self):
        name_string(self.name, "name")
        three_d = self.is_3d
        if three_d:
            self._check_3d_form()
        else:
            if self.model is None:
                raise TypeError("The 'model' parameter must be a str (the name of a registered model), but None was "
                                "given; the 3D form takes model_configuration=sn.ModelConfiguration(...) instead.")
            name_string(self.model, "model")
        set_ = object.__setattr__
        if isinstance(self.physics, _Auto):
            set_(self, "physics", "elastic" if three_d else "membrane")
        choice("physics", self.physics, list(PHYSICS))
        if three_d and self.physics not in PHYSICS_3D:
            raise ValueError(f"The 'physics' parameter of the 3D form must be one of {list(PHYSICS_3D)} (the "
                             f"engine's 3D elastic wave equation on a spherical chunk), but {self.physics!r} was given.")
        lo = positive("min_period_in_seconds", self.min_period_in_seconds)
        if self.max_period_in_seconds is not None or not three_d:
            hi = positive("max_period_in_seconds", self.max_period_in_seconds)
            if not hi > lo:
                raise ValueError(f"The 'max_period_in_seconds' parameter must exceed the minimum period {lo!r}, but "
                                 f"{hi!r} was given.")
        if three_d:
            self._resolve_3d_times()
        else:
            positive("end_time_in_seconds", self.end_time_in_seconds)
        epw = positive("elements_per_wavelength", self.elements_per_wavelength)
        if epw < 0.5:
            raise ValueError(
                f"The 'elements_per_wavelength' parameter must be at least 0.5 (order-4 elements need >= ~5 points per "
                f"wavelength to resolve the minimum period), but {epw!r} was given."
            )
        set_(self, "tensor_order", integer("tensor_order", self.tensor_order, minimum=1, maximum=8))
        if not three_d:
            if isinstance(self.absorbing_sides, _Auto):
                set_(self, "absorbing_sides", ("left", "right", "bottom", "top"))
            if isinstance(self.sponge_width_in_wavelengths, _Auto):
                set_(self, "sponge_width_in_wavelengths", 1.0)
            if not isinstance(self.absorbing_sides, (list, tuple)):
                raise TypeError(f"The 'absorbing_sides' parameter must be a list of sides, e.g. ['left', 'right', "
                                f"'bottom'], but {self.absorbing_sides!r} was given.")
            set_(self, "absorbing_sides", tuple(self.absorbing_sides))
            for s in self.absorbing_sides:
                choice("absorbing_sides", s, ["left", "right", "bottom", "top"])
            if len(set(self.absorbing_sides)) != len(self.absorbing_sides):
                raise ValueError(f"The 'absorbing_sides' parameter lists a side twice: {list(self.absorbing_sides)}.")
            positive("sponge_width_in_wavelengths", self.sponge_width_in_wavelengths, allow_zero=True)
        choice("precision", self.precision, ["float64", "float32"])
        interval = self.forward_wavefield_sampling_interval
        if interval != "auto":
            if isinstance(interval, (bool, np.bool_)) or not isinstance(interval, (int, np.integer, str)):
                raise TypeError(
                    f"The 'forward_wavefield_sampling_interval' parameter must be an int or 'auto', but {interval!r} was given."
                )
            if isinstance(interval, str) or interval < 1:
                raise ValueError(
                    f"The 'forward_wavefield_sampling_interval' parameter must be an integer >= 1 or 'auto' (1 keeps "
                    f"every time step for the exact gradient; 2-4 keep every 2nd-4th step; 'auto' the most the minimum "
                    f"period allows), but {interval!r} was given."
                )
            set_(self, "forward_wavefield_sampling_interval", int(interval))

    # --- the 3D form ------------------------------------------------------------------------
    _FIELDS_3D = ("model_configuration", "max_depth_in_meters", "event_configuration", "absorbing_boundaries")

    def _check_3d_form(self) -> None:
        """The 3D form's own fields, and no 2D-only field mixed in."""
        given = [f for f in self._FIELDS_3D if getattr(self, f) is not None]
        if self.model is not None:
            raise ValueError(
                f"The 'model' parameter ({self.model!r}) belongs to the 2D form, but the 3D form's {given} was given "
                "too: in 3D give model_configuration=sn.ModelConfiguration(background_model=..., volume_models="
                f"[{self.model!r}]) (a registered grid model goes on top of the background), not both."
            )
        if self.model_configuration is None:
            raise ValueError(
                f"The 3D form ({given} given) needs 'model_configuration', e.g. "
                "sn.ModelConfiguration(background_model='prem_ani_one_crust')."
            )
        if not isinstance(self.model_configuration, ModelConfiguration):
            raise TypeError("The 'model_configuration' parameter must be a sn.ModelConfiguration(background_model=..., "
                            f"volume_models=[...]), but {self.model_configuration!r} was given.")
        if self.max_depth_in_meters is None:
            raise ValueError(
                f"The 3D form ({given} given) needs 'max_depth_in_meters', how deep the chunk reaches (m), e.g. "
                "max_depth_in_meters=1750e3."
            )
        depth = positive("max_depth_in_meters", self.max_depth_in_meters)
        earth = self.model_configuration.earth_model
        fluid_tops = [top for (_, top), fluid in zip(earth.layers, earth.fluid_layers) if fluid]
        cmb_depth = earth.radius - max(fluid_tops, default=0.0)
        if depth > cmb_depth + 1.0:
            raise ValueError(
                f"The 'max_depth_in_meters' parameter must be at most {cmb_depth:.0f} m ({cmb_depth / 1e3:g} km, the "
                f"core-mantle boundary of {self.model_configuration.background_model!r}): the chunk's mesh has no "
                f"fluid outer core, but {self.max_depth_in_meters!r} was given."
            )
        if self.event_configuration is not None and not isinstance(self.event_configuration, EventConfiguration):
            raise TypeError("The 'event_configuration' parameter must be a sn.EventConfiguration(wavelet=..., "
                            f"waveform_simulation_configuration=...), but {self.event_configuration!r} was given.")
        if self.absorbing_boundaries is not None and not isinstance(self.absorbing_boundaries,
                                                                    AbsorbingBoundaryParameters):
            raise TypeError("The 'absorbing_boundaries' parameter must be a sn.AbsorbingBoundaryParameters("
                            f"reference_velocity=..., number_of_wavelengths=..., reference_frequency=...), but "
                            f"{self.absorbing_boundaries!r} was given.")
        for two_d in ("absorbing_sides", "sponge_width_in_wavelengths"):
            value = getattr(self, two_d)
            if isinstance(value, _Auto) or value is None:
                object.__setattr__(self, two_d, None)
            else:
                raise ValueError(
                    f"The '{two_d}' parameter belongs to the 2D form (a rectangle's sides), but the 3D form was given: "
                    "give absorbing_boundaries=sn.AbsorbingBoundaryParameters(reference_velocity=..., "
                    "number_of_wavelengths=..., reference_frequency=...) instead."
                )

    def _resolve_3d_times(self) -> None:
        """``end_time_in_seconds`` from the event configuration (they must agree where both are given)."""
        given = self.end_time_in_seconds
        if given is not None:
            positive("end_time_in_seconds", given)
        if self.event_configuration is None:
            if given is None:
                raise ValueError(
                    "The 3D form needs the duration: give event_configuration=sn.EventConfiguration(wavelet=..., "
                    "waveform_simulation_configuration=sn.WaveformSimulationConfiguration(end_time_in_seconds=...))."
                )
            if self.max_period_in_seconds is None:
                raise ValueError(
                    "The 3D form without an event configuration uses the band-passed step of the 2D form as the "
                    "wavelet, which needs 'max_period_in_seconds'; give it, or give event_configuration="
                    "sn.EventConfiguration(wavelet=sn.simple_config.stf.GaussianRate(...), ...)."
                )
            return
        wave = self.event_configuration.waveform_simulation_configuration
        end = wave.end_time_in_seconds
        if given is not None and float(given) != float(end):
            raise ValueError(
                f"The 'end_time_in_seconds' parameter ({given!r}) disagrees with the event configuration's "
                f"end_time_in_seconds ({end!r}); give the duration once, in sn.WaveformSimulationConfiguration."
            )
        if wave.start_time_in_seconds is not None:
            need = -self.event_configuration.wavelet.delay_in_seconds
            if float(wave.start_time_in_seconds) > need + 1e-9 * max(1.0, abs(need)):
                raise ValueError(
                    f"The 'start_time_in_seconds' parameter ({wave.start_time_in_seconds!r}) must be at most "
                    f"{need:.6g} s (the wavelet {self.event_configuration.wavelet!r} is centred on the origin time and "
                    f"needs {-need:.6g} s before it to start from ~0); give {need:.6g} or earlier, or None (the default) "
                    "to start there."
                )
        object.__setattr__(self, "end_time_in_seconds", given if given is not None else end)

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self):
        # The fields a form leaves out (None) are not written: a 2D configuration's JSON is
        # what it was before the 3D form existed, byte for byte.
        return {k: v for k, v in super().to_dict().items() if v is not None}

    # --- what the workflow uses ----------------------------------------------------------------
    @property
    def is_3d(self) -> bool:
        """True for the 3D form (any of model_configuration, max_depth_in_meters,
        event_configuration, absorbing_boundaries given)."""
        return any(getattr(self, f) is not None for f in self._FIELDS_3D)

    @property
    def background_model(self) -> str | None:
        """The 3D background model's name (``engine.earth.by_name``), None in 2D."""
        return self.model_configuration.background_model if self.model_configuration is not None else None

    @property
    def volume_models(self) -> tuple[str, ...]:
        """Names of the registered grid models applied on top of the background, in order (() in 2D)."""
        return self.model_configuration.volume_models if self.model_configuration is not None else ()

    @property
    def end_time(self) -> float:
        """Seconds after the origin time that the simulation covers (either form)."""
        return float(self.end_time_in_seconds)

    @property
    def start_time(self) -> float:
        """Seconds relative to the origin time at which the simulation starts (<= 0; either form).

        The engine's time 0 is this time: the engine runs ``end_time - start_time`` s, with
        ``wavelet.to_engine(delay=-start_time)`` (the default of ``to_engine()`` when the
        event configuration gives no start), and its sample at engine time tau is at
        origin time ``tau + start_time``. 0 in 2D and with no wavelet (the band-passed step
        starts at the origin time); ``-wavelet.delay_in_seconds`` unless
        ``start_time_in_seconds`` is given.
        """
        if self.event_configuration is None:
            return 0.0
        start = self.event_configuration.waveform_simulation_configuration.start_time_in_seconds
        return 0.0 - float(self.event_configuration.wavelet.delay_in_seconds) if start is None else float(start)

    @property
    def wavelet(self):
        """The ``sn.simple_config.stf`` wavelet of the event configuration, or None: then the
        wavelet is the 2D form's step band-passed to [min, max period]
        (``engine.stf.filtered_heaviside``)."""
        return self.event_configuration.wavelet if self.event_configuration is not None else None

    @property
    def sponge_width_in_meters(self) -> float | None:
        """3D: the sponge's width (m) from ``absorbing_boundaries``, None for Stacey only
        (no absorbing_boundaries or 0 wavelengths). 2D: None (its sponge is
        ``sponge_width_in_wavelengths`` of the model's velocity at the maximum period)."""
        if self.absorbing_boundaries is None:
            return None
        return self.absorbing_boundaries.sponge_width_in_meters

    @property
    def max_depth(self) -> float | None:
        """How deep the chunk reaches (m) in 3D, None in 2D."""
        return None if self.max_depth_in_meters is None else float(self.max_depth_in_meters)

    @property
    def chunk_absorbing_sides(self) -> tuple[str, ...]:
        """3D: the side sets of the chunk that absorb (all but the free surface "r1" unless
        ``absorbing_boundaries.free_surface`` is False). () in 2D."""
        if not self.is_3d:
            return ()
        return CHUNK_ABSORBING_SIDES if self.absorbing_boundaries is None else self.absorbing_boundaries.side_sets

    def sampling_interval(self, dt: float) -> int:
        """The forward wavefield sampling interval for a time step ``dt`` ("auto" resolved)."""
        if self.forward_wavefield_sampling_interval == "auto":
            return sampling_interval_for(dt, self.min_period_in_seconds)
        return self.forward_wavefield_sampling_interval

    @property
    def engine_physics(self) -> str:
        return PHYSICS[self.physics]
