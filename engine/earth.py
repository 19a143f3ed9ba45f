"""One-dimensional Earth models: PREM, isotropic and transversely isotropic.

PREM is the Preliminary Reference Earth Model of Dziewonski & Anderson (1981), *Phys.
Earth Planet. Inter.* 25, 297-356, Table I: within each layer every property is a
polynomial (at most cubic) in the normalised radius ``x = r / 6371 km``, velocities in
km/s and density in g/cm^3. The coefficients below are typed from that table and checked
against the values of ``shared/design/NUMERICS.md`` (section "PREM") and against the
coefficients SPECFEM3D_GLOBE (``src/shared/model_prem.f90``) and AxiSEM
(``MESHER/background_models.F90``) use. The API is in SI units throughout: radii in m,
density in kg/m^3, velocities in m/s, ``eta`` dimensionless.

Variants (the names Salvus users know, see :func:`by_name`):

- ``anisotropic=True``: PREM's radially (transversely) anisotropic mantle between the
  Moho (6346.6 km) and 220 km depth (6151 km), with the symmetry axis radial;
  ``anisotropic=False``: PREM's *own isotropic polynomials* there (a separate set in the
  paper, which is not the Voigt average of the anisotropic one; Salvus's ``prem_iso`` and
  SPECFEM3D_GLOBE's isotropic PREM use them too). Everywhere else the two coincide.
- ``crust="prem"``: PREM's two-layer crust, upper 6356-6371 km and lower
  6346.6-6356 km. PREM's 3 km ocean is replaced by upper crust up to the surface, as
  SPECFEM3D_GLOBE and Salvus do, because a fluid layer at the free surface is costly to
  mesh and is not what a continental inversion wants.
- ``crust="one_layer"``: the whole crust 6346.6-6371 km with the upper-crust values, so
  a mesher need not honour the 15 km mid-crust boundary (thin elements, small dt) at
  long periods.
- ``crust="none"``: no crust; the mantle's top layer (the LID, 6291-6346.6 km) keeps its
  own polynomials, extended up to the surface (anisotropic in the ``prem_ani`` variant).
  This is what SPECFEM3D_GLOBE's ``model_prem_aniso`` does under ``CRUSTAL`` before it
  superimposes a 3D crust; its optional "extended isotropic" variant instead uses a
  Voigt average above the Moho, which we do not. Salvus's ``prem_*_no_crust`` could not
  be checked here; this choice is ours and is stated so a user can compare.

Layer boundaries (``EarthModel1D.discontinuities``) are every radius where PREM changes
polynomial: 1221.5 (ICB), 3480 (CMB), 3630 (top of D''), 5600, 5701 (670 km), 5771
(600 km), 5971 (400 km), 6151 (220 km), 6291 (80 km), 6346.6 (Moho), 6356 (mid crust)
and 6371 km. Not all are jumps in value: at 3630, 5600 and 5771 km only the gradient
changes (the printed coefficients join to ~2e-5), and at 80 km PREM changes only its
attenuation (Q_mu 80 below, 600 above), the velocity and density polynomials being the
same on both sides. They are layer boundaries all the same, because a mesh whose element boundaries sit there samples each element with a
single smooth polynomial (SPECFEM3D_GLOBE meshes 80 km too);
``EarthModel1D.value_discontinuities`` lists only the jumps.

>>> import engine
>>> prem = engine.earth.prem(anisotropic=True, crust="prem")
>>> prem.name
'prem_ani'
>>> round(float(prem.evaluate(6151e3, "vsh", side="above")), 2)
4436.26
>>> float(prem.evaluate(6151e3, "vsh", side="below")) == float(prem.evaluate(6151e3, "vsv", side="below"))
True
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Union, get_args

import numpy as np

__all__ = [
    "EARTH_RADIUS",
    "PARAMETERS",
    "DERIVED_PARAMETERS",
    "MODEL_NAMES",
    "EarthModel1D",
    "Layer",
    "prem",
    "by_name",
]

EARTH_RADIUS: float = 6371.0e3
"""PREM's (and SPECFEM3D_GLOBE's and Salvus's) Earth radius in m."""

PARAMETERS: tuple[str, ...] = ("rho", "vpv", "vph", "vsv", "vsh", "eta")
"""The transversely isotropic parameter set every layer defines (kg/m^3, m/s, 1)."""

DERIVED_PARAMETERS: tuple[str, ...] = ("vp", "vs")
"""Isotropic velocities (m/s) computed from the Voigt average, see `EarthModel1D.evaluate`."""

Crust = Literal["prem", "one_layer", "none"]
Side = Literal["above", "below"]

# Points of a mesh computed in floating point lie a little off the exact radius of a
# layer boundary or of the surface (float32 coordinates: ~0.5 m at 6371 km). Within this
# distance a point is accepted and evaluated with its layer's polynomial; farther away it
# is an error, because the caller has then named the wrong layer.
_RADIUS_TOLERANCE = 1.0  # m

# Relative jump that counts as a discontinuity of value. PREM's coefficients are printed
# to 4 decimals, so two polynomials meant to join (3630, 5600 km) meet only to ~1e-4;
# the smallest genuine jump (density at 220 km) is 2 %.
_JUMP_TOLERANCE = 1.0e-3

_KM = 1.0e3

Coefficients = Mapping[str, tuple[float, ...]]


def _isotropic(rho: tuple[float, ...], vp: tuple[float, ...], vs: tuple[float, ...]) -> dict[str, tuple[float, ...]]:
    """An isotropic layer in PREM's units: the TI parameters with vpv = vph, vsv = vsh, eta = 1."""
    return {"rho": rho, "vpv": vp, "vph": vp, "vsv": vs, "vsh": vs, "eta": (1.0,)}


# ---------------------------------------------------------------------------------------
# Dziewonski & Anderson (1981), Table I. Coefficients of 1, x, x^2, x^3 with x = r / a,
# a = 6371 km; rho in g/cm^3, velocities in km/s. Radii of the layers in km.
# ---------------------------------------------------------------------------------------
_LOWER_MANTLE_RHO = (7.9565, -6.4761, 5.5283, -3.0807)
_UPPER_MANTLE_RHO = (2.6910, 0.6924)  # LVZ and LID, both variants

_INNER_CORE = _isotropic((13.0885, 0.0, -8.8381), (11.2622, 0.0, -6.3640), (3.6678, 0.0, -4.4475))
_OUTER_CORE = _isotropic((12.5815, -1.2638, -3.6426, -5.5281), (11.0487, -4.0362, 4.8023, -13.5732), (0.0,))
_D_DOUBLE_PRIME = _isotropic(_LOWER_MANTLE_RHO, (15.3891, -5.3181, 5.5242, -2.5514), (6.9254, 1.4672, -2.0834, 0.9783))
_LOWER_MANTLE = _isotropic(_LOWER_MANTLE_RHO, (24.9520, -40.4673, 51.4832, -26.6419), (11.1671, -13.7818, 17.4575, -9.2777))
_LOWER_MANTLE_TOP = _isotropic(_LOWER_MANTLE_RHO, (29.2766, -23.6027, 5.5242, -2.5514), (22.3459, -17.2473, -2.0834, 0.9783))
_TRANSITION_670_600 = _isotropic((5.3197, -1.4836), (19.0957, -9.8672), (9.9839, -4.9324))
_TRANSITION_600_400 = _isotropic((11.2494, -8.0298), (39.7027, -32.6166), (22.3512, -18.5856))
_UPPER_MANTLE_400_220 = _isotropic((7.1089, -3.8045), (20.3926, -12.2569), (8.9496, -4.4597))
# Between 220 km and the Moho PREM gives two polynomial sets; each is the same in the LVZ
# (6151-6291 km) and the LID (6291-6346.6 km).
_UPPER_MANTLE_ISO = _isotropic(_UPPER_MANTLE_RHO, (4.1875, 3.9382), (2.1519, 2.3481))
_UPPER_MANTLE_TI = {
    "rho": _UPPER_MANTLE_RHO,
    "vpv": (0.8317, 7.2180),
    "vph": (3.5908, 4.6172),
    "vsv": (5.8582, -1.4678),
    "vsh": (-1.0839, 5.7176),
    "eta": (3.3687, -2.4778),
}
_LOWER_CRUST = _isotropic((2.9,), (6.8,), (3.9,))
_UPPER_CRUST = _isotropic((2.6,), (5.8,), (3.2,))


@dataclass(frozen=True)
class Layer:
    """One radial layer of a 1D model: a polynomial per parameter between two radii.

    Parameters
    ----------
    name : str
        A label ("lid", "outer_core", ...), for messages and plots.
    r_bottom, r_top : float
        Radii of the layer's bounds in m.
    coefficients : mapping of str to tuple of float
        For each of `PARAMETERS`, the coefficients of 1, x, x^2, ... with x = r / 6371 km,
        in PREM's units (g/cm^3, km/s; eta dimensionless), as the paper prints them.
    fluid : bool
        True where the shear modulus vanishes (PREM's outer core).
    """

    name: str
    r_bottom: float
    r_top: float
    coefficients: Coefficients = field(repr=False, hash=False)
    fluid: bool = False

    @property
    def isotropic(self) -> bool:
        """True where vpv = vph, vsv = vsh and eta = 1 identically (same polynomials)."""
        c = self.coefficients
        return c["vpv"] == c["vph"] and c["vsv"] == c["vsh"] and tuple(c["eta"]) == (1.0,)


_REGIONS_KM = (  # (name, bottom km, top km, isotropic polynomials, TI polynomials or None)
    ("inner_core", 0.0, 1221.5, _INNER_CORE, None),
    ("outer_core", 1221.5, 3480.0, _OUTER_CORE, None),
    ("d_double_prime", 3480.0, 3630.0, _D_DOUBLE_PRIME, None),
    ("lower_mantle", 3630.0, 5600.0, _LOWER_MANTLE, None),
    ("lower_mantle_top", 5600.0, 5701.0, _LOWER_MANTLE_TOP, None),
    ("transition_zone_670_600", 5701.0, 5771.0, _TRANSITION_670_600, None),
    ("transition_zone_600_400", 5771.0, 5971.0, _TRANSITION_600_400, None),
    ("upper_mantle_400_220", 5971.0, 6151.0, _UPPER_MANTLE_400_220, None),
    ("lvz", 6151.0, 6291.0, _UPPER_MANTLE_ISO, _UPPER_MANTLE_TI),
    ("lid", 6291.0, 6346.6, _UPPER_MANTLE_ISO, _UPPER_MANTLE_TI),
)
_MOHO_KM, _MID_CRUST_KM, _SURFACE_KM = 6346.6, 6356.0, EARTH_RADIUS / _KM


def _prem_layers(anisotropic: bool, crust: Crust) -> tuple[Layer, ...]:
    layers = [
        Layer(name, lo * _KM, hi * _KM, ti if (anisotropic and ti is not None) else iso, fluid=name == "outer_core")
        for name, lo, hi, iso, ti in _REGIONS_KM
    ]
    if crust == "prem":
        layers.append(Layer("lower_crust", _MOHO_KM * _KM, _MID_CRUST_KM * _KM, _LOWER_CRUST))
        layers.append(Layer("upper_crust", _MID_CRUST_KM * _KM, EARTH_RADIUS, _UPPER_CRUST))
    elif crust == "one_layer":
        layers.append(Layer("crust", _MOHO_KM * _KM, EARTH_RADIUS, _UPPER_CRUST))
    else:  # "none": the LID's polynomials continue to the surface
        lid = layers.pop()
        layers.append(Layer("lid", lid.r_bottom, EARTH_RADIUS, lid.coefficients))
    return tuple(layers)


def _check_choice(name: str, value, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"The '{name}' parameter must be one of {valid}, but {value!r} was given.")
    return value


@dataclass(frozen=True)
class EarthModel1D:
    """A spherically symmetric Earth model, piecewise polynomial in radius.

    Build one with :func:`prem` or :func:`by_name`. Immutable: a mesh and a model built
    from it can hold on to it safely.

    Attributes
    ----------
    name : str
        The Salvus-style name, e.g. "prem_ani_one_crust".
    anisotropic : bool
        Whether the model is transversely isotropic anywhere (radial symmetry axis).
    crust : {"prem", "one_layer", "none"}
        Which crust it carries (see the module docstring).
    layer_specs : tuple of Layer
        The layers from the centre up, with their polynomials.
    """

    name: str
    anisotropic: bool
    crust: str
    layer_specs: tuple[Layer, ...] = field(repr=False)
    _tables: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # Coefficient tables (n_layers, degree + 1) per parameter, so that evaluation is
        # one fancy-indexed Horner pass over all points with no Python loop over layers.
        degree = max(len(c) for layer in self.layer_specs for c in layer.coefficients.values())
        tables = {}
        for p in PARAMETERS:
            table = np.zeros((len(self.layer_specs), degree))
            for i, layer in enumerate(self.layer_specs):
                c = layer.coefficients[p]
                table[i, : len(c)] = c
            tables[p] = table
        tables["isotropic"] = np.array([layer.isotropic for layer in self.layer_specs])
        tables["bounds"] = np.array([layer.r_bottom for layer in self.layer_specs] + [self.layer_specs[-1].r_top])
        object.__setattr__(self, "_tables", tables)

    # ---- geometry --------------------------------------------------------------------
    @property
    def radius(self) -> float:
        """The outer radius (the free surface) in m."""
        return self.layer_specs[-1].r_top

    @property
    def discontinuities(self) -> tuple[float, ...]:
        """Radii (m) of every layer boundary, sorted up, with the centre and the surface.

        These are where the polynomials change, so where a mesh puts element boundaries;
        see `value_discontinuities` for the subset where a value jumps."""
        return tuple(float(r) for r in self._tables["bounds"])

    @property
    def layers(self) -> list[tuple[float, float]]:
        """``(r_bottom, r_top)`` in m of each layer, from the centre up; index = layer index."""
        return [(layer.r_bottom, layer.r_top) for layer in self.layer_specs]

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layer_specs)

    @property
    def fluid_layers(self) -> tuple[bool, ...]:
        """For each layer, whether it is fluid (vs = 0): the mesher needs an acoustic domain there."""
        return tuple(layer.fluid for layer in self.layer_specs)

    @property
    def value_discontinuities(self) -> tuple[float, ...]:
        """Internal boundary radii (m) where some parameter jumps by more than 0.1 %.

        PREM's 80 km (6291 km) and the polynomial changes at 3630, 5600 and 5771 km are
        not among them: there the values are continuous (to the printed digits)."""
        out = []
        for k in range(1, len(self.layer_specs)):
            r = self._tables["bounds"][k]
            below = self.evaluate(r, PARAMETERS, layer=k - 1)
            above = self.evaluate(r, PARAMETERS, layer=k)
            jump = max(abs(above[p] - below[p]) / max(abs(above[p]), abs(below[p]), 1e-30) for p in PARAMETERS)
            if jump > _JUMP_TOLERANCE:
                out.append(float(r))
        return tuple(out)

    def layer_index(self, radius, side: Side = "below") -> np.ndarray:
        """The layer each radius lies in; a point on a boundary goes to ``side`` of it.

        Parameters
        ----------
        radius : array_like of float
            Radii in m, 0 <= r <= surface.
        side : {"below", "above"}
            Which layer a point exactly on an internal boundary belongs to. The centre
            and the surface always belong to the one layer they bound.

        Returns
        -------
        numpy.ndarray of int, shaped like ``radius``.
        """
        r = self._check_radius(radius)
        return self._layer_index(r, _check_choice("side", side, get_args(Side)))

    def _layer_index(self, r: np.ndarray, side: str) -> np.ndarray:
        # searchsorted "left" puts r == bound_k in layer k - 1 (below), "right" in k (above).
        idx = np.searchsorted(self._tables["bounds"], r, side="left" if side == "below" else "right") - 1
        return np.clip(idx, 0, len(self.layer_specs) - 1)

    def _check_radius(self, radius) -> np.ndarray:
        try:
            r = np.asarray(radius, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"The 'radius' parameter must be a number or an array of numbers in m, but {radius!r} was given.") from None
        bad = ~((r >= 0.0) & (r <= self.radius + _RADIUS_TOLERANCE))  # NaN is bad too
        if np.any(bad):
            first = r[bad].flat[0] if r.ndim else float(r)
            raise ValueError(
                f"The 'radius' parameter must lie between 0 and the surface, {self.radius:.1f} m "
                f"(radii are in m, not km), but {first!r} was given."
            )
        return r

    def _check_layer(self, layer, r: np.ndarray) -> np.ndarray:
        try:
            idx = np.asarray(layer)
            if idx.dtype.kind not in "iu":
                raise TypeError
            idx = np.broadcast_to(idx, r.shape)
        except (TypeError, ValueError):
            raise ValueError(
                f"The 'layer' parameter must be an integer layer index or an integer array "
                f"broadcastable to the radii's shape {r.shape}, but {layer!r} was given."
            ) from None
        n = len(self.layer_specs)
        if np.any((idx < 0) | (idx >= n)):
            bad = idx[(idx < 0) | (idx >= n)].flat[0]
            raise ValueError(f"The 'layer' parameter must be a layer index in 0..{n - 1}, but {int(bad)} was given.")
        bounds = self._tables["bounds"]
        outside = (r < bounds[idx] - _RADIUS_TOLERANCE) | (r > bounds[idx + 1] + _RADIUS_TOLERANCE)
        if np.any(outside):
            k = int(np.flatnonzero(outside.ravel())[0])
            i, rr = int(idx.ravel()[k]), float(r.ravel()[k])
            raise ValueError(
                f"The 'layer' parameter must name the layer each radius lies in, but radius "
                f"{rr!r} m was given layer {i} ({self.layer_specs[i].name}, "
                f"{bounds[i]:.1f}-{bounds[i + 1]:.1f} m)."
            )
        return idx

    # ---- evaluation ------------------------------------------------------------------
    def evaluate(self, radius, parameters: str | Sequence[str] = PARAMETERS, *, layer=None,
                 side: Side | None = None) -> Union[np.ndarray, dict[str, np.ndarray]]:
        """The model's values at the given radii, in SI units.

        Parameters
        ----------
        radius : array_like of float
            Radii in m, any shape, 0 <= r <= surface (1 m of slack above the surface and
            around a named layer absorbs the round-off of computed mesh coordinates).
        parameters : str or sequence of str
            Any of "rho" (kg/m^3), "vpv", "vph", "vsv", "vsh" (m/s), "eta" (1), and the
            isotropic "vp", "vs" (m/s). A single name returns one array; a sequence
            returns a dict of arrays.
        layer : int or array_like of int, optional
            The layer index of each point (broadcast against ``radius``), e.g. the radial
            layer of the mesh element a GLL point belongs to. This is how a mesh samples
            the model: the GLL points on an element face at a discontinuity then take the
            values of their own element's side. Each radius must lie in its layer.
        side : {"below", "above"}, optional
            Without ``layer``, which side of an internal boundary a point exactly on it
            takes. Default "below", as SPECFEM3D_GLOBE's PREM (each layer is
            ``r_bottom < r <= r_top``), so that a receiver at the surface and a point at
            the bottom of a mesh reaching down to a discontinuity behave as expected.
            Give either ``layer`` or ``side``, not both.

        Returns
        -------
        numpy.ndarray or dict of str to numpy.ndarray
            Arrays shaped like ``radius`` (float64).

        Notes
        -----
        "vp" and "vs" are the velocities of the Voigt-averaged isotropic medium, from the
        Love parameters A = rho vph^2, C = rho vpv^2, L = rho vsv^2, N = rho vsh^2,
        F = eta (A - 2 L): kappa = (4 A + C + 4 F - 4 N) / 9, mu = (A + C - 2 F + 5 N +
        6 L) / 15, vs = sqrt(mu / rho), vp = sqrt((kappa + 4 mu / 3) / rho). In an
        isotropic layer they are vpv and vsv exactly. In PREM's anisotropic upper mantle
        they differ slightly (at most 0.03 % for vs, 0.01 % for vp) from PREM's isotropic
        polynomials, which the paper gives as a separate set: for isotropic PREM use ``prem(anisotropic=False)``, not the
        Voigt average of the anisotropic one.
        """
        single = isinstance(parameters, str)
        names = (parameters,) if single else tuple(parameters)
        valid = PARAMETERS + DERIVED_PARAMETERS
        for p in names:
            _check_choice("parameters", p, valid)
        r = self._check_radius(radius)
        if layer is not None:
            if side is not None:
                raise ValueError(f"Give either the 'layer' or the 'side' parameter, not both, but side={side!r} was given with a layer.")
            idx = self._check_layer(layer, r)
        else:
            idx = self._layer_index(r, _check_choice("side", "below" if side is None else side, get_args(Side)))

        x = r / EARTH_RADIUS
        cache: dict[str, np.ndarray] = {}

        def raw(p: str) -> np.ndarray:  # SI value of one of PARAMETERS
            if p not in cache:
                table = self._tables[p]  # (n_layers, degree + 1)
                value = table[:, -1][idx]
                for k in range(table.shape[1] - 2, -1, -1):  # Horner, one coefficient column at a time
                    value = value * x + table[:, k][idx]
                cache[p] = value if p == "eta" else value * 1.0e3  # g/cm^3 -> kg/m^3, km/s -> m/s
            return cache[p]

        out = {}
        for p in names:
            out[p] = raw(p) if p in PARAMETERS else self._voigt(raw, idx)[p]
        return out[names[0]] if single else out

    def _voigt(self, raw, idx) -> dict[str, np.ndarray]:
        rho, vpv, vph, vsv, vsh, eta = (raw(p) for p in PARAMETERS)
        a, c, l, n = rho * vph**2, rho * vpv**2, rho * vsv**2, rho * vsh**2
        f = eta * (a - 2.0 * l)
        kappa = (4.0 * a + c + 4.0 * f - 4.0 * n) / 9.0
        mu = (a + c - 2.0 * f + 5.0 * n + 6.0 * l) / 15.0
        iso = self._tables["isotropic"][idx]
        # In isotropic layers return the polynomials themselves, bit for bit, rather than
        # a round trip through the moduli.
        vs = np.where(iso, vsv, np.sqrt(np.maximum(mu, 0.0) / rho))
        vp = np.where(iso, vpv, np.sqrt((kappa + 4.0 / 3.0 * mu) / rho))
        return {"vp": vp, "vs": vs}

    # ---- what a mesher needs ---------------------------------------------------------
    def slowest_velocity(self, r_bottom: float, r_top: float, samples_per_layer: int = 257) -> float:
        """The slowest wave speed (m/s) between two radii, for element sizes.

        The slowest of vsv and vsh in a solid, of vpv and vph where vs = 0 (fluid outer
        core). Each layer overlapping [r_bottom, r_top] is sampled at
        ``samples_per_layer`` evenly spaced radii including its ends, with its own side at
        the boundaries (so the slow side of a discontinuity counts); PREM's polynomials
        are at most cubic and gently curved, so this is the minimum to ~1e-6 relative.

        With eta < 1 the quasi-SV wave at oblique incidence can be slower than
        min(vsv, vsh) (in anisotropic PREM just above 220 km: 4361 m/s at its slowest angle
        against vsh = 4436 m/s, 1.7 %); like AxiSEM's mesher we size by vsv and vsh,
        which keeps element counts comparable with the codes users know.
        """
        return self._extreme_velocity(r_bottom, r_top, samples_per_layer, slowest=True)

    def fastest_velocity(self, r_bottom: float, r_top: float, samples_per_layer: int = 257) -> float:
        """The fastest wave speed (m/s) between two radii (max of vpv, vph), for a CFL time step."""
        return self._extreme_velocity(r_bottom, r_top, samples_per_layer, slowest=False)

    def layer_slowest_velocities(self) -> tuple[float, ...]:
        """`slowest_velocity` of each whole layer (m/s), indexed like `layers`."""
        return tuple(self.slowest_velocity(lo, hi) for lo, hi in self.layers)

    def _extreme_velocity(self, r_bottom, r_top, samples_per_layer, slowest: bool) -> float:
        lo, hi = (float(v) for v in self._check_radius([r_bottom, r_top]))
        if not lo < hi:
            raise ValueError(f"The 'r_bottom' parameter must be below 'r_top', but {r_bottom!r} and {r_top!r} were given.")
        if int(samples_per_layer) < 2:
            raise ValueError(f"The 'samples_per_layer' parameter must be at least 2, but {samples_per_layer!r} was given.")
        hi = min(hi, self.radius)
        best = np.inf if slowest else -np.inf
        for i, (b, t) in enumerate(self.layers):
            a, z = max(b, lo), min(t, hi)
            if a >= z:
                continue
            v = self.evaluate(np.linspace(a, z, int(samples_per_layer)), ("vpv", "vph", "vsv", "vsh"), layer=i)
            if slowest:
                vs = np.minimum(v["vsv"], v["vsh"])
                speed = np.where(vs > 0.0, vs, np.minimum(v["vpv"], v["vph"]))
                best = min(best, float(speed.min()))
            else:
                best = max(best, float(np.maximum(v["vpv"], v["vph"]).max()))
        return best


# ---------------------------------------------------------------------------------------
# Constructors and the registry of names
# ---------------------------------------------------------------------------------------
_NAMES: dict[str, tuple[bool, Crust]] = {
    "prem_iso": (False, "prem"),
    "prem_ani": (True, "prem"),
    "prem_iso_one_crust": (False, "one_layer"),
    "prem_ani_one_crust": (True, "one_layer"),
    "prem_iso_no_crust": (False, "none"),
    "prem_ani_no_crust": (True, "none"),
}
MODEL_NAMES: tuple[str, ...] = tuple(_NAMES)
"""The names :func:`by_name` accepts (Salvus's background-model names)."""


def prem(anisotropic: bool = True, crust: Crust = "prem") -> EarthModel1D:
    """PREM (Dziewonski & Anderson 1981) from its published polynomials.

    Parameters
    ----------
    anisotropic : bool
        True: transversely isotropic (radial axis) between the Moho and 220 km depth.
        False: PREM's isotropic polynomials there (not a Voigt average).
    crust : {"prem", "one_layer", "none"}
        "prem": two layers (upper 6356-6371 km: 2600 kg/m^3, 5800 m/s, 3200 m/s; lower
        6346.6-6356 km: 2900, 6800, 3900), no ocean. "one_layer": the upper-crust values
        over the whole crust 6346.6-6371 km. "none": the LID's polynomials (isotropic or
        anisotropic, as ``anisotropic`` says) extended from 6291 km to the surface.

    Returns
    -------
    EarthModel1D
    """
    if not isinstance(anisotropic, (bool, np.bool_)):
        raise ValueError(f"The 'anisotropic' parameter must be True or False, but {anisotropic!r} was given.")
    crust = _check_choice("crust", crust, get_args(Crust))
    name = next(n for n, spec in _NAMES.items() if spec == (bool(anisotropic), crust))
    return EarthModel1D(name=name, anisotropic=bool(anisotropic), crust=crust,
                        layer_specs=_prem_layers(bool(anisotropic), crust))


def by_name(name: str) -> EarthModel1D:
    """A model by its Salvus name: one of `MODEL_NAMES` ("prem_iso", "prem_ani",
    "prem_iso_one_crust", "prem_ani_one_crust", "prem_iso_no_crust", "prem_ani_no_crust")."""
    anisotropic, crust = _NAMES[_check_choice("name", name, MODEL_NAMES)]
    return prem(anisotropic=anisotropic, crust=crust)
