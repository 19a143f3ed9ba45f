r"""Time-frequency phase misfit (after Fichtner et al. 2008, GJI 175, 665-685).

Discrete definition (everything below is what the code computes; the adjoint source
is its exact derivative).

1. **Gabor transform** of each tapered window :math:`u = w\,s` (and :math:`w\,o`) at the
   original samples :math:`t_n`, centres :math:`\tau_k` and frequencies :math:`\omega_j`:

   .. math::

       \tilde u(\tau_k, \omega_j) = (2\pi)^{-1/2} \sum_n u_n\, h(t_n - \tau_k)\,
       e^{-i \omega_j t_n} \Delta t, \qquad h(t) = e^{-t^2 / (2\sigma^2)},

   with :math:`\sigma` = ``window_width / 2`` (``window_width`` defaults to
   ``2 * min_period``, so :math:`\sigma = T_{\min}`). Centres span the whole trace at a
   step :math:`\le \min(T_{\min}, \sigma)/4`; frequencies span
   :math:`[f_{lo}/1.5, 1.5 f_{hi}]` (:math:`f_{lo} = 1/T_{\max}`,
   :math:`f_{hi} = 1/T_{\min}`) at a step :math:`\le 1/(8\pi\sigma)`, a quarter of the
   window's spectral standard deviation. The transform is a linear operator of the
   original samples, so no resampling is needed; the traces must be sampled at
   :math:`\Delta t \le T_{\min}/4` (else ``ValueError``).
2. **Phase difference** :math:`\Delta\phi = \arg(\overline{\tilde o}\,\tilde s)`, which
   is the phase of the transform of the cross-correlation of data and synthetics, in
   :math:`(-\pi, \pi]`. A window whose :math:`\Delta\phi` still jumps by more than
   :math:`\pi` between neighbouring grid points where the weight exceeds 10 % of its
   maximum (a cycle skip) is skipped with a :class:`MeasurementSkipped` warning.
3. **Weight** from the time-frequency power of the cross-correlation of data and
   synthetics, :math:`a = |\overline{\tilde o}\,\tilde s|^2 = |\tilde o|^2 |\tilde s|^2`
   (as in LASIF):
   :math:`W = \big(1 - e^{-a / m^2}\big)\, B(\omega)`, with
   :math:`m` = ``energy_threshold`` times :math:`\max |\tilde o\,\tilde s|` in the
   window and :math:`B` equal to 1 in :math:`[f_{lo}, f_{hi}]`, falling to 0 at
   :math:`f_{lo}/1.5` and :math:`1.5 f_{hi}` with cosine ramps in log-frequency.
   :math:`W` vanishes (as :math:`a`) where *either* signal has no energy: the phase
   of a near-zero synthetic, or of data that are only noise, is not a measurement,
   and noise across the whole record cannot make the adjoint source grow where the
   synthetic is silent. :math:`W` is normalised so that :math:`\sum W^2 = 1` over the
   grid (the quadrature steps cancel), hence :math:`\chi` below is the weighted RMS
   phase difference.
4. **Misfit** :math:`\chi = \big(\sum_{k,j} W^2 \Delta\phi^2\big)^{1/2}` in radians
   per window, summed over windows and traces. A time shift :math:`\delta t` gives
   :math:`\chi \approx \bar\omega\,\delta t`, and scaling the synthetic leaves
   :math:`\chi` unchanged (:math:`a` and :math:`m^2` scale alike).

**Adjoint source.** Write :math:`g = 1 - e^{-x}`, :math:`x = a/m^2`,
:math:`Z = \sum g^2 B^2`, so :math:`\chi^2 = \sum g^2 B^2 \Delta\phi^2 / Z`. Its
variation with the synthetic has a phase part and a weight part,

.. math::

    \delta\chi^2 = \sum_{k,j} 2 W^2 \Delta\phi\, \mathrm{Im}\frac{\delta\tilde s}{\tilde s}
    + \sum_{k,j} q\,\delta x, \qquad
    q = \frac{2 g e^{-x} B^2 (\Delta\phi^2 - \chi^2)}{Z},

    \delta x = 2x\, \mathrm{Re}\frac{\delta\tilde s}{\tilde s}
    - 2x\, \mathrm{Re}\frac{\delta\tilde s_*}{\tilde s_*},

because :math:`\delta a / a = \delta|\tilde s|^2 / |\tilde s|^2` (the data are
fixed); :math:`\tilde s_*` is the synthetic's transform at the grid point where
:math:`a` is largest (the maximum is differentiable wherever it is reached at one
point). With :math:`\mathrm{Re}\,z = \mathrm{Im}(i z)` every term reads
:math:`\mathrm{Im}\sum b_{kj}\,\delta\tilde s_{kj}`, with
:math:`b = 2 (W^2 \Delta\phi + i\, q\, x) / \tilde s` plus, at the grid point of the
maximum only, :math:`-2 i \big(\sum q x\big) / \tilde s_*`; then

.. math::

    \frac{1}{\Delta t}\frac{\partial \chi}{\partial s_n} = \frac{w_n}{2\sqrt{2\pi}\,\chi}
    \,\mathrm{Im} \sum_{k,j} b_{kj}\, h(t_n - \tau_k)\, e^{-i\omega_j t_n},

the adjoint of the discrete Gabor transform applied to :math:`b`. :math:`W^2` and
:math:`q x` vanish as :math:`|\tilde s|^4` where :math:`\tilde s \to 0`, so
:math:`b \propto |\tilde s|^3` there: the adjoint source lives where both signals
have energy. At :math:`\chi = 0` (identical phases) the square root is not
differentiable; the adjoint source of such a window is set to 0, the value a
one-sided limit along the zero-residual direction gives and the one that makes a
zero misfit a stationary point. A window where data and synthetics share no energy
that double precision can represent (:math:`a_{\max} = 0`) is skipped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._common import data_skip_reason, finish, parse_options, positive, prepare, skip_record
from ._windows import resolve_segments

NAME = "tf_phase"
REQUIRED = ("min_period", "max_period")
DEFAULTS = {"taper_fraction": 0.1, "taper_width": None, "window_width": None, "energy_threshold": 0.1}

#: The period-band taper reaches zero a factor of this beyond each corner frequency.
BAND_TAPER_FACTOR = 1.5
#: Phase-jump check: only grid points whose weight exceeds this fraction of the
#: maximum (W^2 at least 1 % of its maximum).
_JUMP_WEIGHT_FRACTION = 0.1
#: Size of the largest temporary array (rows x samples x 2 frequencies), in float64 values.
_CHUNK_VALUES = 2**22


def _band_weight(freqs: np.ndarray, f_lo: float, f_hi: float) -> np.ndarray:
    """Cosine ramps in log-frequency, 1 inside ``[f_lo, f_hi]``, 0 beyond the factor."""
    log_span = np.log(BAND_TAPER_FACTOR)
    rise = np.clip(np.log(freqs * BAND_TAPER_FACTOR / f_lo) / log_span, 0.0, 1.0)
    fall = np.clip(np.log(f_hi * BAND_TAPER_FACTOR / freqs) / log_span, 0.0, 1.0)
    return 0.25 * (1.0 - np.cos(np.pi * rise)) * (1.0 - np.cos(np.pi * fall))


class _Gabor:
    """Discrete Gabor transform on a fixed time grid, and its adjoint.

    Parameters
    ----------
    t : numpy.ndarray, shape (n_times,)
        Sample times in seconds (relative to the first sample).
    dt : float
        Sampling interval in seconds.
    sigma : float
        Standard deviation of the Gaussian window in seconds.
    freqs : numpy.ndarray, shape (n_freqs,)
        Frequencies in Hz.
    centres : numpy.ndarray, shape (n_centres,)
        Window centres in seconds.
    """

    def __init__(self, t, dt, sigma, freqs, centres):
        self.window = np.exp(-0.5 * ((t[None, :] - centres[:, None]) / sigma) ** 2)
        phase = 2.0 * np.pi * t[:, None] * freqs[None, :]
        # Real and imaginary parts of exp(-i w t) side by side, so that one real
        # matrix product gives both parts of the transform: (n_times, 2 n_freqs).
        self.trig = np.concatenate([np.cos(phase), -np.sin(phase)], axis=1)
        self.n_freqs = freqs.size
        self.scale = dt / np.sqrt(2.0 * np.pi)
        self.chunk = max(1, _CHUNK_VALUES // self.trig.size)

    def forward(self, u: np.ndarray) -> np.ndarray:
        """Transform rows ``u`` (n_rows, n_times) to (n_rows, n_centres, n_freqs)."""
        n_f = self.n_freqs
        out = np.empty((u.shape[0], self.window.shape[0], n_f), dtype=np.complex128)
        n_k, n_t = self.window.shape
        for i in range(0, u.shape[0], self.chunk):
            rows = u[i : i + self.chunk]
            # sum_n h[k, n] (u[n] exp(-i w_j t_n)) as one matrix product,
            # (n_centres, n_times) @ (n_times, rows * 2 n_freqs)
            y = (rows.T[:, :, None] * self.trig[:, None, :]).reshape(n_t, -1)
            parts = (self.window @ y).reshape(n_k, rows.shape[0], 2 * n_f)
            out[i : i + self.chunk].real = parts[..., :n_f].transpose(1, 0, 2)
            out[i : i + self.chunk].imag = parts[..., n_f:].transpose(1, 0, 2)
        out *= self.scale
        return out

    def adjoint_imag(self, b: np.ndarray) -> np.ndarray:
        """``Im(sum_kj b_kj h(t_n - tau_k) exp(-i w_j t_n))`` for rows of ``b``.

        ``b``: (n_rows, n_centres, n_freqs) complex; returns (n_rows, n_times).
        """
        out = np.empty((b.shape[0], self.window.shape[1]))
        # Im((br + i bi)(cos - i sin)) = bi cos + br (-sin): pair [bi, br] with trig.
        paired = np.concatenate([b.imag, b.real], axis=2)
        n_k, n_t = self.window.shape
        for i in range(0, b.shape[0], self.chunk):
            blk = paired[i : i + self.chunk]
            # (n_times, n_centres) @ (n_centres, rows * 2 n_freqs), then pair with trig
            z = (self.window.T @ blk.transpose(1, 0, 2).reshape(n_k, -1)).reshape(
                n_t, blk.shape[0], -1
            )
            out[i : i + self.chunk] = np.einsum("nrj,nj->rn", z, self.trig)
        return out


def _has_phase_jump(dphi: np.ndarray, weight: np.ndarray) -> bool:
    """True if ``dphi`` (n_centres, n_freqs) jumps by > pi where the weight matters."""
    mask = weight > _JUMP_WEIGHT_FRACTION * weight.max()
    for axis in (0, 1):
        both = np.logical_and(
            np.take(mask, range(mask.shape[axis] - 1), axis=axis),
            np.take(mask, range(1, mask.shape[axis]), axis=axis),
        )
        if np.any(np.abs(np.diff(dphi, axis=axis))[both] > np.pi):
            return True
    return False


def tf_phase(
    observed: xr.DataArray,
    synthetic: xr.DataArray,
    windows: Any = None,
    **options: Any,
) -> tuple[float, xr.DataArray]:
    """Time-frequency phase misfit and its exact adjoint source.

    Parameters
    ----------
    observed, synthetic : xarray.DataArray
        Dims ``("receiver", "component", "time")``, same coordinates, ``time`` in
        seconds, uniformly sampled at ``dt <= min_period / 4``.
    windows : None, list of (float, float) or dict, optional
        Measurement windows in seconds (see :mod:`engine.misfit`); ``None`` is the
        whole trace.
    **options
        ``min_period``, ``max_period`` (float, seconds, required): the period band.
        ``taper_fraction`` (float, default 0.1): cosine ramp on each side of a window.
        ``taper_width`` (float s, default None): the ramp in seconds instead (at most half the window).
        ``window_width`` (float, seconds, default ``2 * min_period``): twice the
        standard deviation of the Gaussian window of the Gabor transform.
        ``energy_threshold`` (float, default 0.1): ``m / max|TF(obs) TF(syn)|`` in the
        weight (time-frequency amplitude of the cross-correlation).

    Returns
    -------
    value : float
        Sum over traces and windows of the weighted RMS phase difference (radians).
    adjoint_source : xarray.DataArray
        ``(1/dt) dJ/ds``, shaped like ``synthetic``; attrs as in :mod:`engine.misfit`.

    Raises
    ------
    TypeError
        If ``min_period`` or ``max_period`` is missing.
    ValueError
        If the periods are not positive or ``min_period >= max_period``, or the traces
        are sampled more coarsely than ``min_period / 4``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> t = np.arange(0.0, 1200.0, 4.0)
    >>> def wave(delay):
    ...     x = np.exp(-(((t - 600 - delay) / 150) ** 2)) * np.cos(2 * np.pi * (t - delay) / 90)
    ...     return xr.DataArray(x[None, None], dims=("receiver", "component", "time"),
    ...                         coords={"receiver": ["R0"], "component": ["Z"], "time": t})
    >>> value, adj = tf_phase(wave(0.0), wave(0.0), min_period=70.0, max_period=120.0)
    >>> value
    0.0
    """
    opts = parse_options(NAME, options, DEFAULTS, REQUIRED)
    t_min = positive("min_period", opts["min_period"])
    t_max = positive("max_period", opts["max_period"])
    if not t_min < t_max:
        raise ValueError(
            f"The 'min_period' parameter must be smaller than 'max_period' ({t_max!r} s), "
            f"but {opts['min_period']!r} was given."
        )
    width = 2.0 * t_min if opts["window_width"] is None else positive(
        "window_width", opts["window_width"]
    )
    threshold = positive("energy_threshold", opts["energy_threshold"])
    traces = prepare(observed, synthetic)
    dt = traces.dt
    if dt > 0.25 * t_min * (1.0 + 1e-9):
        raise ValueError(
            f"The traces are sampled too coarsely for the 'tf_phase' misfit: dt = {dt} s, "
            f"but min_period / 4 = {0.25 * t_min} s or finer is needed. Record the "
            "seismograms with a smaller sampling interval."
        )
    segments = resolve_segments(windows, traces, opts["taper_fraction"], opts["taper_width"])

    per_trace = np.zeros(traces.synthetic.shape[:2])
    adjoint = np.zeros_like(traces.synthetic)
    skipped = []
    measured = []
    for seg in segments:
        r, c = seg.receiver, seg.component
        o = traces.observed[r, c, seg.start : seg.stop]
        s = traces.synthetic[r, c, seg.start : seg.stop]
        reason = data_skip_reason(o, s)
        if reason is None and seg.window[1] - seg.window[0] < t_min:
            reason = f"window shorter than min_period ({t_min:g} s)"
        if reason is not None:
            skipped.append(skip_record(traces, r, c, seg.window, reason))
        else:
            measured.append(seg)

    if measured:
        t = traces.time - traces.time[0]
        sigma = 0.5 * width
        step = 0.25 * min(t_min, sigma)
        centres = np.linspace(0.0, t[-1], int(np.ceil(t[-1] / step)) + 1)
        f_a, f_b = 1.0 / (t_max * BAND_TAPER_FACTOR), BAND_TAPER_FACTOR / t_min
        n_f = int(np.ceil((f_b - f_a) * 8.0 * np.pi * sigma)) + 1
        freqs = np.linspace(f_a, f_b, n_f + 2)[1:-1]  # the end points have zero weight
        gabor = _Gabor(t, dt, sigma, freqs, centres)
        band = _band_weight(freqs, 1.0 / t_max, 1.0 / t_min)

        n_rows, n_t = len(measured), t.size
        tapers = np.zeros((n_rows, n_t))
        obs = np.zeros((n_rows, n_t))
        syn = np.zeros((n_rows, n_t))
        for i, seg in enumerate(measured):
            sl = slice(seg.start, seg.stop)
            tapers[i, sl] = seg.taper
            obs[i, sl] = traces.observed[seg.receiver, seg.component, sl]
            syn[i, sl] = traces.synthetic[seg.receiver, seg.component, sl]
        tf_obs = gabor.forward(tapers * obs)
        tf_syn = gabor.forward(tapers * syn)

        # arg(conj(o~) s~) from separate real products: identical transforms then give
        # exactly 0 (a complex multiply may fuse operations and leave ~1e-17).
        cross_re = tf_obs.real * tf_syn.real + tf_obs.imag * tf_syn.imag
        cross_im = tf_obs.real * tf_syn.imag - tf_obs.imag * tf_syn.real
        dphi = np.arctan2(cross_im, cross_re)

        # Weight from the TF power of the cross-correlation, a = |o~|^2 |s~|^2: it
        # vanishes where either signal has no energy, so neither the phase of a
        # near-zero synthetic nor that of noise-only data is measured. Only
        # x = a / m^2 enters, so each amplitude is scaled by its maximum first (the
        # same x, without under- or overflow for traces in any unit).
        amp_obs, amp_syn = np.abs(tf_obs), np.abs(tf_syn)
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: skipped below
            cc_pow = (
                amp_obs / amp_obs.max(axis=(1, 2), keepdims=True)
                * (amp_syn / amp_syn.max(axis=(1, 2), keepdims=True))
            ) ** 2
        cc_pow = np.nan_to_num(cc_pow, nan=0.0)
        rows = np.arange(n_rows)
        peak = np.argmax(cc_pow.reshape(n_rows, -1), axis=1)  # where a_max is reached
        cc_max = cc_pow.reshape(n_rows, -1)[rows, peak]
        overlap = cc_max > 0.0
        x = cc_pow / (threshold**2 * np.where(overlap, cc_max, 1.0)[:, None, None])
        gain = -np.expm1(-x)  # 1 - exp(-x), accurate where x is small
        band2 = band[None, None, :] ** 2
        total = np.sum(gain**2 * band2, axis=(1, 2), keepdims=True)
        total[~overlap] = 1.0
        weight = gain * band[None, None, :]
        weight2 = weight**2 / total

        chi = np.sqrt(np.sum(weight2 * dphi**2, axis=(1, 2)))
        jumps = np.array([_has_phase_jump(dphi[i], weight[i]) for i in range(n_rows)])
        valid = overlap & ~jumps
        inv_chi = np.divide(1.0, chi, out=np.zeros_like(chi), where=(chi > 0.0) & valid)
        # chi^2 = sum g^2 B^2 dphi^2 / sum g^2 B^2 with g = 1 - exp(-x):
        #   d chi^2 = sum 2 W^2 dphi Im(ds~ / s~) + sum q dx,
        #   q = d chi^2 / dx = 2 g e^{-x} B^2 (dphi^2 - chi^2) / sum g^2 B^2,
        #   dx = x 2 Re(ds~ / s~) - x 2 Re(ds~ / s~)|at the maximum of a,
        # since da / a = d|s~|^2 / |s~|^2 (the data are fixed). With Re z = Im(i z)
        # each term is Im(b ds~), and the adjoint of the transform applies to b;
        # d chi = d chi^2 / (2 chi).
        q = 2.0 * gain * np.exp(-x) * band2 * (dphi**2 - chi[:, None, None] ** 2) / total
        with np.errstate(divide="ignore", invalid="ignore"):
            inv_syn = np.where(tf_syn != 0.0, 1.0 / tf_syn, 0.0)
        b = 2.0 * (weight2 * dphi + 1j * q * x) * inv_syn
        # the maximum of a: its derivative adds to that one grid point
        at_peak = (rows, *np.unravel_index(peak, cc_pow.shape[1:]))
        b[at_peak] -= 2j * np.sum(q * x, axis=(1, 2)) * inv_syn[at_peak]
        b *= 0.5 * inv_chi[:, None, None]
        grads = gabor.adjoint_imag(b) * tapers / np.sqrt(2.0 * np.pi)

        for i, seg in enumerate(measured):
            r, c = seg.receiver, seg.component
            if not valid[i]:
                reason = (
                    "phase difference still jumps by more than pi (cycle skip)"
                    if overlap[i]
                    else "data and synthetics share no energy in the time-frequency plane"
                )
                skipped.append(skip_record(traces, r, c, seg.window, reason))
                continue
            per_trace[r, c] += chi[i]
            adjoint[r, c] += grads[i]
    return finish(NAME, traces, per_trace, adjoint, skipped)
