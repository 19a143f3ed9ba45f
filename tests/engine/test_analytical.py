"""Checks of the analytical reference solutions in ``tests/engine/analytical.py``.

The module works in the time domain (quadrature of the Green's functions after the
substitution tau = T cosh(sigma)). These tests rebuild every solution independently in
the frequency domain: Hankel-function Green's functions (time convention exp(+i w t),
``g(w) = (-i/4) H0^(2)(w r / c)``), multiplied by the analytical spectrum of a Ricker
wavelet and summed back to the time axis with an inverse FFT over a long window. The
Hankel normalisation and the anisotropic amplitude are themselves checked against a
wavenumber integral that uses neither the Hankel function nor the coordinate stretch.
"""

from __future__ import annotations


import numpy as np
import pytest
from scipy import integrate
from scipy.special import hankel2

from tests.engine.analytical import (
    acoustic_pressure,
    elastic_displacement,
    elastic_moment_tensor_displacement,
    sh_anisotropic_displacement,
    sh_displacement,
)

VP, VS, RHO = 3000.0, 1800.0, 2200.0
F0 = 10.0
SOURCE = np.array([100.0, -50.0])
# Several distances (200-1000 m) and azimuths, none on a symmetry axis.
RECEIVERS = np.array([[300.0, -50.0], [350.0, 550.0], [-600.0, 250.0], [-250.0, -1000.0]])
DT, NT = 5e-4, 2001  # t in [0, 1] s
TIMES = DT * np.arange(NT)
TENSOR = ((1.0e3, 0.4e3), (0.4e3, -0.7e3))

# Cross-check tolerances. With a delay of 0.2 s the Ricker is < 1e-17 at t <= 0, so the
# time-domain solution (which switches the source on at t = 0, as the engine does) and
# the frequency-domain one (the untruncated wavelet) solve the same problem: measured
# agreement 5e-12 to 7e-11, bound 1e-9. With the engine's usual delay of 0.15 s the
# wavelet is ~1e-8 at t = 0, and that truncation alone leaves 5e-9 (9e-8 for the
# moment tensor, which sees the derivative of the cut): bound 1e-6.
DELAYS = [(0.15, 1e-6), (0.2, 1e-9)]


def ricker(f0: float, delay: float):
    """Ricker wavelet r(t) = (1 - 2 (pi f0 (t - t0))^2) exp(-(pi f0 (t - t0))^2)."""
    a = np.pi * f0

    def stf(t):
        x = (a * (np.asarray(t) - delay)) ** 2
        return (1.0 - 2.0 * x) * np.exp(-x)

    return stf


def ricker_derivative(f0: float, delay: float):
    a = np.pi * f0

    def stf(t):
        s = np.asarray(t) - delay
        return (-6.0 * a**2 * s + 4.0 * a**4 * s**3) * np.exp(-((a * s) ** 2))

    return stf


def ricker_spectrum(f: np.ndarray, f0: float, delay: float) -> np.ndarray:
    """int r(t) exp(-i w t) dt: r = -g''/(2 a^2) with g the Gaussian exp(-a^2 t^2)."""
    a, w = np.pi * f0, 2 * np.pi * f
    return w**2 / (2 * a**2) * np.sqrt(np.pi) / a * np.exp(-((f / f0) ** 2) - 1j * w * delay)


class FrequencyDomain:
    """Inverse FFT of spectra given on the positive frequencies of a long window.

    The responses decay like t^-3 after the pulse, so what wraps around from the end
    of the window falls like window^-3: measured 3e-10 relative at 100 s, 3e-11 at the
    200 s used here. Frequencies above 8 f0, where the Ricker spectrum is < 1e-25, are
    dropped.
    """

    def __init__(self, dt: float, n_t: int, window: float = 200.0, f_cut: float = 8 * F0):
        self.dt, self.n_t = dt, n_t
        self.n = int(round(window / dt))
        f = np.fft.rfftfreq(self.n, dt)
        self.keep = (f > 0.0) & (f < f_cut)
        self.f = f[self.keep]
        self.w = 2 * np.pi * self.f

    def to_time(self, spectrum: np.ndarray) -> np.ndarray:
        full = np.zeros(self.keep.size, dtype=complex)
        full[self.keep] = spectrum
        # u(n dt) = df sum_k U(f_k) exp(2 pi i f_k n dt) and df = 1 / (n dt).
        return np.fft.irfft(full, self.n)[: self.n_t] / self.dt

    # -- Green's functions -------------------------------------------------------------
    def radial_derivatives(self, c: float, r: float) -> list[np.ndarray]:
        """g(r) = (-i/4) H0^(2)(k r) and its first three derivatives in r."""
        k = self.w / c
        x = k * r
        h0, h1 = hankel2(0, x), hankel2(1, x)
        q = -0.25j
        return [
            q * h0,
            q * (-k * h1),
            q * k**2 * (-h0 + h1 / x),
            q * k**3 * (h1 + h0 / x - 2 * h1 / x**2),
        ]

    def elastic(self, delta: np.ndarray, vp: float, vs: float, rho: float):
        """G_ij and d_m G_ij from G = delta_ij g_s / mu + d_i d_j (g_s - g_p) / (rho w^2)."""
        r = np.hypot(*delta)
        gam = delta / r
        mu = rho * vs**2
        gs = self.radial_derivatives(vs, r)
        gp = self.radial_derivatives(vp, r)
        psi = [(s - p) / (rho * self.w**2) for s, p in zip(gs, gp)]
        eye = np.eye(2)
        G = np.empty((2, 2, self.w.size), dtype=complex)
        dG = np.empty((2, 2, 2, self.w.size), dtype=complex)
        # Derivatives of a radial function f(r): d_i d_j f = g_i g_j (f'' - f'/r) + delta_ij f'/r
        # and d_i d_j d_m f = (d_ij g_m + d_im g_j + d_jm g_i)(f''/r - f'/r^2)
        #                     + g_i g_j g_m (f''' - 3 f''/r + 3 f'/r^2).
        second_b = psi[2] - psi[1] / r
        third_a = psi[2] / r - psi[1] / r**2
        third_b = psi[3] - 3 * psi[2] / r + 3 * psi[1] / r**2
        for i in range(2):
            for j in range(2):
                G[i, j] = eye[i, j] * gs[0] / mu + gam[i] * gam[j] * second_b + eye[i, j] * psi[1] / r
                for m in range(2):
                    dG[i, j, m] = (
                        eye[i, j] * gam[m] * gs[1] / mu
                        + (eye[i, j] * gam[m] + eye[i, m] * gam[j] + eye[j, m] * gam[i]) * third_a
                        + gam[i] * gam[j] * gam[m] * third_b
                    )
        return G, dG


@pytest.fixture(scope="module")
def fd() -> FrequencyDomain:
    return FrequencyDomain(DT, NT)


def relative_error(u: np.ndarray, ref: np.ndarray) -> float:
    """Largest error relative to the largest value of the reference trace."""
    return float(np.abs(u - ref).max() / np.abs(ref).max())


# --------------------------------------------------------------------------------------
# Cross-checks against the frequency domain
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(("delay", "tol"), DELAYS)
def test_acoustic_matches_frequency_domain(fd, delay, tol):
    p = acoustic_pressure(RECEIVERS, SOURCE, VP, RHO, ricker(F0, delay), TIMES)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    for i, rec in enumerate(RECEIVERS):
        r = np.hypot(*(rec - SOURCE))
        ref = fd.to_time(RHO * fd.radial_derivatives(VP, r)[0] * spectrum)
        assert relative_error(p[i], ref) < tol


@pytest.mark.parametrize(("delay", "tol"), DELAYS)
def test_sh_matches_frequency_domain(fd, delay, tol):
    force = 2.5e3
    u = sh_displacement(RECEIVERS, SOURCE, VS, RHO, ricker(F0, delay), TIMES, force=force)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    for i, rec in enumerate(RECEIVERS):
        r = np.hypot(*(rec - SOURCE))
        ref = fd.to_time(force / (RHO * VS**2) * fd.radial_derivatives(VS, r)[0] * spectrum)
        assert relative_error(u[i], ref) < tol


def anisotropic_sh_spectrum(fd: FrequencyDomain, delta, vsh, vsv, rho, force):
    """Frequency-domain stretch solution: force / (rho vsh vsv) (-i/4) H0^(2)(w r')."""
    travel = np.hypot(delta[0] / vsh, delta[1] / vsv)
    return force / (rho * vsh * vsv) * (-0.25j) * hankel2(0, fd.w * travel)


@pytest.mark.parametrize(("delay", "tol"), DELAYS)
def test_sh_anisotropic_matches_frequency_domain(fd, delay, tol):
    vsh, vsv, force = 2100.0, 1600.0, 3.0
    u = sh_anisotropic_displacement(RECEIVERS, SOURCE, vsh, vsv, RHO, ricker(F0, delay), TIMES, force=force)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    for i, rec in enumerate(RECEIVERS):
        ref = fd.to_time(anisotropic_sh_spectrum(fd, rec - SOURCE, vsh, vsv, RHO, force) * spectrum)
        assert relative_error(u[i], ref) < tol


@pytest.mark.parametrize(("x", "z"), [(0.0, 300.0), (450.0, -200.0), (-800.0, 150.0)])
@pytest.mark.parametrize(("vsh", "vsv"), [(2100.0, 1600.0), (1800.0, 1800.0)])
def test_anisotropic_green_function_matches_wavenumber_integral(x, z, vsh, vsv):
    """Check (-i/4) H0^(2) and the 1/(rho vsh vsv) factor without any coordinate stretch.

    Fourier transforming ``-rho w^2 u = mu_x u_xx + mu_z u_zz + F delta(x) delta(z)`` in x
    gives ``mu_z u'' + (rho w^2 - mu_x k^2) u = -F delta(z)``, solved by
    ``F exp(-i k_z |z|) / (2 i mu_z k_z)`` (outgoing or decaying). Substituting
    ``k = k0 sin(theta)`` below ``k0 = w / vsh`` and ``k = k0 cosh(eta)`` above removes
    the branch-point singularities of 1/k_z, leaving two smooth integrals.
    """
    rho, force, omega = RHO, 1.0, 2 * np.pi * 12.0
    mu_x, mu_z = rho * vsh**2, rho * vsv**2
    k0, q = omega / vsh, vsh / vsv
    scale = force / (2 * np.sqrt(mu_x * mu_z)) / np.pi

    def propagating(theta, part):
        value = np.cos(k0 * x * np.sin(theta)) * np.exp(-1j * q * k0 * abs(z) * np.cos(theta)) / 1j
        return value.real if part == "re" else value.imag

    eta_max = np.arcsinh(40.0 / (q * k0 * abs(z)))  # exp(-40): the rest is negligible
    prop = [integrate.quad(propagating, 0.0, np.pi / 2, args=(p,), limit=400, epsabs=0, epsrel=1e-11)[0]
            for p in ("re", "im")]
    evan = integrate.quad(
        lambda eta: np.cos(k0 * x * np.cosh(eta)) * np.exp(-q * k0 * abs(z) * np.sinh(eta)),
        0.0, eta_max, limit=400, epsabs=0, epsrel=1e-11,
    )[0]
    integral = scale * (prop[0] + 1j * prop[1] + evan)
    travel = np.hypot(x / vsh, z / vsv)
    stretch = force / (rho * vsh * vsv) * (-0.25j) * hankel2(0, omega * travel)
    # quad reaches ~1e-12 here; 1e-9 leaves room and still catches any factor or sign.
    assert abs(integral - stretch) < 1e-9 * abs(stretch)


@pytest.mark.parametrize(("delay", "tol"), DELAYS)
@pytest.mark.parametrize("force", [(1.0e3, 0.0), (0.0, 1.0e3), (0.6e3, -0.8e3)])
def test_elastic_force_matches_frequency_domain(fd, force, delay, tol):
    u = elastic_displacement(RECEIVERS, SOURCE, VP, VS, RHO, ricker(F0, delay), TIMES, force=force)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    for i, rec in enumerate(RECEIVERS):
        G, _ = fd.elastic(rec - SOURCE, VP, VS, RHO)
        ref = np.array([fd.to_time((G[c, 0] * force[0] + G[c, 1] * force[1]) * spectrum) for c in range(2)])
        # Relative to the larger component, so that a nodal component is still checked.
        assert relative_error(u[i], ref) < tol


@pytest.mark.parametrize(("delay", "tol"), DELAYS)
@pytest.mark.parametrize("tensor", [TENSOR, ((1.0e3, 0.0), (0.0, 1.0e3)), ((0.0, 1.0e3), (1.0e3, 0.0))])
def test_moment_tensor_matches_frequency_domain(fd, tensor, delay, tol):
    u = elastic_moment_tensor_displacement(RECEIVERS, SOURCE, VP, VS, RHO, ricker(F0, delay), TIMES, tensor=tensor)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    M = np.asarray(tensor)
    for i, rec in enumerate(RECEIVERS):
        _, dG = fd.elastic(rec - SOURCE, VP, VS, RHO)
        # f_k = -M_kj d_j delta  =>  u_i = -M_kj d_j G_ik (derivative in the receiver position).
        ref = np.array([fd.to_time(-np.einsum("kj,kjw->w", M, dG[c]) * spectrum) for c in range(2)])
        assert relative_error(u[i], ref) < tol


def test_small_distances_and_fine_sampling_match_frequency_domain():
    """Receivers 5-10 m away (strong near field) and dt = 1e-4 s."""
    dt, n_t, delay = 1e-4, 5001, 0.2
    fd = FrequencyDomain(dt, n_t)
    receivers = SOURCE + np.array([[10.0, 0.0], [0.0, 5.0], [-4.0, 6.0]])
    stf = ricker(F0, delay)
    t = dt * np.arange(n_t)
    spectrum = ricker_spectrum(fd.f, F0, delay)
    u_f = elastic_displacement(receivers, SOURCE, VP, VS, RHO, stf, t, force=(0.3, 1.0))
    u_m = elastic_moment_tensor_displacement(receivers, SOURCE, VP, VS, RHO, stf, t, tensor=TENSOR)
    M = np.asarray(TENSOR)
    for i, rec in enumerate(receivers):
        G, dG = fd.elastic(rec - SOURCE, VP, VS, RHO)
        ref_f = np.array([fd.to_time((0.3 * G[c, 0] + G[c, 1]) * spectrum) for c in range(2)])
        ref_m = np.array([fd.to_time(-np.einsum("kj,kjw->w", M, dG[c]) * spectrum) for c in range(2)])
        # Measured 2e-11 (force) and 1e-10 (moment tensor: near-field terms of size
        # ~(lambda/r)^2 cancel); 1e-8 leaves room for roundoff on other platforms.
        assert relative_error(u_f[i], ref_f) < 1e-8
        assert relative_error(u_m[i], ref_m) < 1e-8


# --------------------------------------------------------------------------------------
# Independent checks in the time domain
# --------------------------------------------------------------------------------------
def test_step_response_closed_form():
    """stf = 1 (a step at t = 0): p = rho/(2 pi) acosh(t/T), u_SH = F/(2 pi mu) acosh(t/T)."""
    step = np.ones_like
    r = np.hypot(*(RECEIVERS - SOURCE).T)
    expected = np.where(TIMES > r[:, None] / VP, np.arccosh(np.maximum(TIMES * VP / r[:, None], 1.0)), 0.0)
    p = acoustic_pressure(RECEIVERS, SOURCE, VP, RHO, step, TIMES)
    # Smooth integrand integrated by Gauss-Legendre: roundoff only (measured ~1e-15).
    np.testing.assert_allclose(p, RHO / (2 * np.pi) * expected, rtol=1e-11, atol=1e-11 * np.abs(p).max())
    expected = np.where(TIMES > r[:, None] / VS, np.arccosh(np.maximum(TIMES * VS / r[:, None], 1.0)), 0.0)
    u = sh_displacement(RECEIVERS, SOURCE, VS, RHO, step, TIMES, force=7.0)
    np.testing.assert_allclose(u, 7.0 / (2 * np.pi * RHO * VS**2) * expected, rtol=1e-11, atol=1e-11 * np.abs(u).max())


def _force_response_derivatives(receivers, stf, t, h=0.5):
    """d_m u^(k)_i by 4th-order central differences in the receiver position.

    Returns an array (n_rec, i, k, m, n_t): component i of the response to a unit force
    along k, differentiated along m.
    """
    weights = {-2: 1 / 12, -1: -2 / 3, 1: 2 / 3, 2: -1 / 12}
    out = np.zeros((len(receivers), 2, 2, 2, t.size))
    for k in range(2):
        force = np.eye(2)[k]
        for m in range(2):
            shift = np.eye(2)[m] * h
            for j, w in weights.items():
                u = elastic_displacement(receivers + j * shift, SOURCE, VP, VS, RHO, stf, t, force=force)
                out[:, :, k, m] += w * u / h
    return out


@pytest.mark.parametrize("kind", ["ricker", "jump"])
def test_moment_tensor_is_the_spatial_derivative_of_force_responses(kind):
    """u_i = -M_km d_m u^(k)_i, with the force responses differentiated numerically.

    The "jump" STF starts at stf(0) = 0.7 (a switched-on Gaussian), which exercises the
    boundary term of the moment-tensor solution; its response is singular at the
    wavefronts, so times within 20 ms of either front are left out there.
    """
    if kind == "ricker":
        stf = ricker(F0, 0.15)
    else:
        def stf(t):
            return np.exp(-(((np.asarray(t) - 0.03) / 0.05) ** 2))
    receivers = RECEIVERS[:3]
    M = np.asarray(TENSOR)
    u = elastic_moment_tensor_displacement(receivers, SOURCE, VP, VS, RHO, stf, TIMES, tensor=M)
    du = _force_response_derivatives(receivers, stf, TIMES)
    ref = -np.einsum("km,rikmt->rit", M, du)
    r = np.hypot(*(receivers - SOURCE).T)[:, None]
    far = (np.abs(TIMES - r / VP) > 0.02) & (np.abs(TIMES - r / VS) > 0.02)
    if kind == "ricker":
        far[:] = True
    for i in range(len(receivers)):
        scale = np.abs(ref[i][:, far[i]]).max()
        # 4th-order differences with h = 0.5 m on wavelengths >= 30 m: ~(2 pi h / 30)^4 / 30
        # ~ 4e-6 at worst; measured 4e-8 (Ricker) and 3e-9 (jump).
        assert np.abs(u[i][:, far[i]] - ref[i][:, far[i]]).max() < 2e-6 * scale


def test_explosion_first_motion_is_outward_and_pure_p():
    """M = M0 I with a positive Gaussian pulse: outward first motion and no S wave."""
    def stf(t):
        return np.exp(-(((np.asarray(t) - 0.12) / 0.025) ** 2))

    u = elastic_moment_tensor_displacement(RECEIVERS, SOURCE, VP, VS, RHO, stf, TIMES, tensor=((1e3, 0), (0, 1e3)))
    for i, rec in enumerate(RECEIVERS):
        gamma = (rec - SOURCE) / np.hypot(*(rec - SOURCE))
        radial = gamma @ u[i]
        transverse = np.array([-gamma[1], gamma[0]]) @ u[i]
        first = np.flatnonzero(np.abs(radial) > 1e-3 * np.abs(radial).max())[0]
        assert radial[first] > 0.0
        assert radial[np.argmax(np.abs(radial))] > 0.0
        # An explosion radiates no S wave and no transverse motion at all: roundoff only.
        assert np.abs(transverse).max() < 1e-10 * np.abs(radial).max()


def test_far_field_decays_as_inverse_square_root():
    """P amplitude ~ r^-1/2: peaks at r and 4 r differ by a factor 2 (kr >= 40 here).

    Corrections fall like 1/(k r): measured 0.08 % (acoustic) and 0.7 % (elastic P, with
    its near-field terms), hence 1 %.
    """
    t = 1e-3 * np.arange(3001)
    stf = ricker(F0, 0.15)
    r1, r2 = 2000.0, 8000.0
    receivers = SOURCE + np.array([[0.0, r1], [0.0, r2]])
    p = acoustic_pressure(receivers, SOURCE, VP, RHO, stf, t)
    assert np.abs(p[0]).max() / np.abs(p[1]).max() == pytest.approx(2.0, rel=0.01)
    # Elastic: the P wave along the force direction, before the S wave arrives.
    u = elastic_displacement(receivers, SOURCE, VP, VS, RHO, stf, t, force=(0.0, 1.0))
    peaks = [np.abs(u[i, 1][(t > r / VP) & (t < r / VP + 0.4)]).max() for i, r in enumerate((r1, r2))]
    assert peaks[0] / peaks[1] == pytest.approx(2.0, rel=0.01)
    exponent = np.log(peaks[0] / peaks[1]) / np.log(r1 / r2)
    assert exponent == pytest.approx(-0.5, abs=0.01)


def test_arrival_times():
    """A pulse of finite duration w: nothing before r/vp, P peak in [r/vp, r/vp + w],
    S peak (transverse to a force) in [r/vs, r/vs + w]."""
    w = 0.08

    def stf(t):
        t = np.asarray(t)
        # sin^8: compact and smooth enough (C^7) for a short quadrature panel.
        return np.where((t > 0) & (t < w), np.sin(np.pi * t / w) ** 8, 0.0)

    r = 1000.0
    t = 2e-4 * np.arange(5001)
    receivers = SOURCE + np.array([[r, 0.0], [0.0, r]])
    u = elastic_displacement(receivers, SOURCE, VP, VS, RHO, stf, t, force=(0.0, 1.0))
    before = t < r / VP
    assert np.all(u[:, :, before] == 0.0)
    # ...and motion right after it (the 2D wavefront is sharp: no precursor, no delay).
    just_after = (t >= r / VP) & (t < r / VP + 0.2 * w)
    assert np.abs(u[1, 1, just_after]).max() > 1e-3 * np.abs(u[1, 1]).max()
    # Receiver above the source (along the force): P on Z.
    t_p = t[np.argmax(np.abs(u[1, 1]))]
    assert r / VP <= t_p <= r / VP + w
    # Receiver beside it: the transverse (Z) motion is the S wave.
    t_s = t[np.argmax(np.abs(u[0, 1]))]
    assert r / VS <= t_s <= r / VS + w
    p = acoustic_pressure(receivers, SOURCE, VP, RHO, stf, t)
    assert np.all(p[:, before] == 0.0)
    assert r / VP <= t[np.argmax(np.abs(p[0]))] <= r / VP + w


def test_reciprocity():
    """G_xz(a, b) = G_zx(b, a): u_x at a from f_z at b equals u_z at b from f_x at a."""
    stf = ricker(F0, 0.15)
    a, b = np.array([120.0, -40.0]), np.array([730.0, 380.0])
    u_ab = elastic_displacement([a], b, VP, VS, RHO, stf, TIMES, force=(0.0, 1.0))[0, 0]
    u_ba = elastic_displacement([b], a, VP, VS, RHO, stf, TIMES, force=(1.0, 0.0))[0, 1]
    assert np.abs(u_ab).max() > 0.0
    np.testing.assert_allclose(u_ab, u_ba, rtol=0, atol=1e-12 * np.abs(u_ab).max())


def test_anisotropic_sh_reduces_to_isotropic_and_travels_at_vsh_and_vsv():
    stf = ricker(F0, 0.15)
    iso = sh_displacement(RECEIVERS, SOURCE, VS, RHO, stf, TIMES, force=2.0)
    aniso = sh_anisotropic_displacement(RECEIVERS, SOURCE, VS, VS, RHO, stf, TIMES, force=2.0)
    np.testing.assert_allclose(aniso, iso, rtol=0, atol=1e-14 * np.abs(iso).max())
    # Along x the wave travels at vsh, along z at vsv.
    vsh, vsv, d = 2400.0, 1500.0, 600.0
    receivers = SOURCE + np.array([[d, 0.0], [0.0, -d]])
    u = sh_anisotropic_displacement(receivers, SOURCE, vsh, vsv, RHO, stf, TIMES)
    assert np.all(u[0, TIMES < d / vsh] == 0.0) and np.abs(u[0, TIMES < d / vsh + 0.05]).max() > 0.0
    assert np.all(u[1, TIMES < d / vsv] == 0.0) and np.abs(u[1, TIMES < d / vsv + 0.05]).max() > 0.0


def test_default_stf_derivative_matches_exact_derivative():
    stf, dstf = ricker(F0, 0.15), ricker_derivative(F0, 0.15)
    u_fd = elastic_moment_tensor_displacement(RECEIVERS, SOURCE, VP, VS, RHO, stf, TIMES, tensor=TENSOR)
    u_ex = elastic_moment_tensor_displacement(
        RECEIVERS, SOURCE, VP, VS, RHO, stf, TIMES, tensor=TENSOR, stf_derivative=dstf
    )
    # 4th-order differences with a step of 1/500 of the shortest period: measured 5e-12.
    assert relative_error(u_fd, u_ex) < 1e-9


def test_zero_stf_and_times_before_arrival_give_zero():
    u = elastic_displacement(RECEIVERS, SOURCE, VP, VS, RHO, np.zeros_like, TIMES)
    assert u.shape == (len(RECEIVERS), 2, NT) and np.all(u == 0.0)
    p = acoustic_pressure(RECEIVERS, SOURCE, VP, RHO, ricker(F0, 0.15), np.array([-1.0, 0.0, 0.01]))
    assert p.shape == (len(RECEIVERS), 3) and np.all(p == 0.0)


# --------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"vp": -1.0}, ValueError, r"The 'vp' parameter must be positive, but -1.0 was given."),
        ({"rho": 0.0}, ValueError, r"The 'rho' parameter must be positive"),
        ({"vs": 3500.0}, ValueError, r"The 'vs' parameter must be smaller than vp"),
        ({"receivers": [[0.0, 1.0, 2.0]]}, ValueError, r"The 'receivers' parameter must be finite"),
        ({"receivers": [SOURCE]}, ValueError, r"must not contain the source location"),
        ({"source": (0.0,)}, ValueError, r"The 'source' parameter must be finite"),
        ({"t": [[0.0, 1.0]]}, ValueError, r"The 't' parameter must be a non-empty 1-D array"),
        ({"stf": 3.0}, TypeError, r"The 'stf' parameter must be a callable"),
        ({"force": (1.0, 2.0, 3.0)}, ValueError, r"The 'force' parameter must be finite"),
        ({"vp": "fast"}, TypeError, r"The 'vp' parameter must be a float"),
    ],
)
def test_invalid_input(kwargs, error, match):
    args = {"receivers": RECEIVERS, "source": SOURCE, "vp": VP, "vs": VS, "rho": RHO,
            "stf": ricker(F0, 0.15), "t": TIMES, "force": (0.0, 1.0)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        elastic_displacement(**args)


def test_invalid_tensor():
    with pytest.raises(ValueError, match=r"The 'tensor' parameter must be a finite symmetric 2x2"):
        elastic_moment_tensor_displacement(RECEIVERS, SOURCE, VP, VS, RHO, ricker(F0, 0.15), TIMES,
                                           tensor=((1.0, 0.5), (0.0, 1.0)))
