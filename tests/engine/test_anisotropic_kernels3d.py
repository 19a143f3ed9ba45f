"""Anisotropic sensitivity kernels of surface waves in a chunk of transversely isotropic PREM.

What physics says (issue 13): in a radially anisotropic (TI, axis radial) Earth the
fundamental Love wave is SH and its phase velocity depends on N = rho vsh^2 (horizontal
shear, horizontally polarised: the ``k^2 N W^2`` term of its Rayleigh quotient) and only
secondarily on L = rho vsv^2 (through the vertical gradient of its eigenfunction, small at
long periods). The Rayleigh wave is P-SV: in a flat TI medium its equations involve A, C,
F and L = rho vsv^2 but not N at all (on a sphere N enters only through curvature terms of
relative size 1/(kr)^2). So the ``vsh`` kernel of a transverse (Love) window must dominate
its ``vsv`` kernel, and the ``vsv`` kernel of a vertical (Rayleigh) window must dominate its
``vsh`` kernel, with the Rayleigh window's laterally integrated ``vsh`` kernel close to zero.

Set-up: a 24 x 24 degree chunk of PREM (``prem_ani``, no crust: its LID extends to the
surface, so the mesh has no thin crustal elements and dt is 0.69 s) 400 km deep, 80 s
minimum period at 1.5 elements per wavelength, order 4 (432 elements); a general moment
tensor at 25 km depth and a surface receiver 12 degrees away along the great circle
through the chunk's centre (the path runs SW-NE, so the N/E -> R/T rotation is not
trivial); a Gaussian source time function (half duration 40 s). The receiver's N/E
records are rotated to radial/transverse with the back-azimuth computed from the
geometry (obspy's convention, R away from the source, T = R rotated 90 degrees clockwise
seen from above). Windows from group speeds: Love on T, 5.0-3.9 km/s; Rayleigh on Z,
4.6-3.5 km/s (no crust, so both travel faster than through a crust).

Misfit and kernels: an L2 misfit whose "observed" data are the synthetics delayed by
``SHIFT`` = 2 s (linear interpolation), one window at a time. Then
``dJ/dm = int w^2 (s - o) ds/dm ~ SHIFT int w^2 s' ds/dm``: to first order in the shift
this is the cross-correlation traveltime kernel of the window scaled by ``SHIFT int w^2
s'^2``, i.e. a phase kernel, and a model that speeds the wave up increases J (observed
arrive later), so the kernels of vsh (Love) and vsv (Rayleigh) are positive. The adjoint
source is rotated back from Z/R/T to the Z/N/E the engine takes (the transpose of the
orthogonal rotation). Kernels are ``engine.volumetric_kernel(g, mesh) * m`` (per unit
volume, per relative perturbation d ln m), integrated with the quadrature weights over the
upper mantle, depths 30-250 km.

Which integral: the **signed** integral is the misfit's response to a uniform relative
perturbation of the parameter in that shell, the quantity surface-wave theory predicts
(partial derivatives of the dispersion curves); a finite-difference run checks it. The
integral of ``|K|`` is reported and asserted too, with smaller factors: off the path the
kernels oscillate (Fresnel zones), and the Rayleigh window's ``|K_vsh|`` is mostly N-driven
conversion of the forward Love wave into Rayleigh waves towards the receiver, which
cancels in the 1D (signed) integral but not in ``|K|``; it depends on the radiation pattern
(measured 1.36 for a pure strike-slip source at this azimuth, whose Rayleigh wave is 60x
weaker than its Love wave).

Measured (float64, one thread; in brackets the range over variants: 2 elements per
wavelength, a 300 km deep chunk with a 1 s shift, PREM with one crust):

=========================  =========================  ======  ============
window                     ratio                      here    asserted
=========================  =========================  ======  ============
Love (T)                   signed K_vsh / K_vsv       17.1    > 8 [12.9-17.1]
Love (T)                   abs |K_vsh| / |K_vsv|      6.10    > 3 [5.0-6.1]
Rayleigh (Z)               signed K_vsv / |K_vsh|     353     > 50 [141-1786]
Rayleigh (Z)               abs |K_vsv| / |K_vsh|      2.18    > 1.5 [1.98-2.21]
=========================  =========================  ======  ============

The whole module takes ~80 s on one thread (forward 21 s, two gradients, four FD runs).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import xarray as xr

import engine

pytestmark = pytest.mark.usefixtures("one_numba_thread")

G = engine.Geographic
DISTANCE_DEG = 12.0
DELAY = 75.0  # s, centre of the source's Gaussian (3 sigma: it starts from ~0)
SHIFT = 2.0  # s, delay of the "observed" data
UPPER_MANTLE = (30e3, 250e3)  # m, depths of the integrals
WINDOWS = {"love": ("T", 5.0e3, 3.9e3), "rayleigh": ("Z", 4.6e3, 3.5e3)}  # component, group speeds (m/s)
DOMINANT = {"love": ("vsh", "vsv"), "rayleigh": ("vsv", "vsh")}  # (the larger kernel, the smaller one)
CMT = {"mrr": 1e17, "mtt": -2e17, "mpp": 1e17, "mrt": 3e16, "mrp": -5e16, "mtp": 4e16}  # N m


def _destination(lat, lon, azimuth, distance):
    """(lat, lon) in degrees reached from (lat, lon) along a great circle leaving at
    ``azimuth`` (degrees east of north) after ``distance`` degrees."""
    la, lo, az, d = np.radians([lat, lon, azimuth, distance])
    la2 = np.arcsin(np.sin(la) * np.cos(d) + np.cos(la) * np.sin(d) * np.cos(az))
    lo2 = lo + np.arctan2(np.sin(az) * np.sin(d) * np.cos(la), np.cos(d) - np.sin(la) * np.sin(la2))
    return float(np.degrees(la2)), float(np.degrees(lo2))


def _back_azimuth(receiver: engine.Geographic, source: engine.Geographic) -> float:
    """Back-azimuth (radians east of north) at the receiver: the direction in which the
    great circle leaves towards the source, from the tangent-plane projection of the
    source's position in the receiver's own Z/N/E frame."""
    _, n, e = receiver.zne() @ source.to_cartesian()
    return float(np.arctan2(e, n))


def _zrt_matrix(baz: float) -> np.ndarray:
    """Rows Z, R, T in terms of Z, N, E (obspy's rotate_ne_rt): R = -N cos(baz) - E sin(baz),
    T = N sin(baz) - E cos(baz). Orthogonal, so its transpose takes Z/R/T back to Z/N/E."""
    c, s = np.cos(baz), np.sin(baz)
    return np.array([[1.0, 0.0, 0.0], [0.0, -c, -s], [0.0, s, -c]])


@pytest.fixture(scope="module")
def case(one_numba_thread):
    """Mesh, model, source, receiver and the forward run (checkpointed), in Z/R/T too."""
    start = time.perf_counter()
    prem = engine.earth.prem(anisotropic=True, crust="none")
    mesh = engine.mesh.spherical_chunk(lat_center=45.0, lon_center=15.0, lat_extent=24.0, lon_extent=24.0,
                                       max_depth_in_meters=400e3, model=prem, min_period_in_seconds=80.0,
                                       elements_per_wavelength=1.5, order=4)
    model = engine.Model.from_earth(mesh, prem)
    # Source and receiver 6 degrees either side of the chunk's centre on one great circle.
    source = G(*_destination(45.0, 15.0, 225.0, DISTANCE_DEG / 2), depth_in_meters=25e3)
    receiver = G(*_destination(45.0, 15.0, 45.0, DISTANCE_DEG / 2), depth_in_meters=0.0)
    src = [engine.Source.moment_tensor(source, CMT, engine.stf.gaussian(half_duration=40.0, delay=DELAY))]
    rec = engine.Receivers([receiver], names=["R0"])
    sim = engine.simulate(mesh, model, src, rec, end_time=520.0, physics="elastic",
                          keep_forward=engine.StoragePolicy(mode="checkpoint"))
    rot = _zrt_matrix(_back_azimuth(receiver, source))
    seis = sim.seismograms
    zrt = xr.DataArray(np.einsum("ij,rjt->rit", rot, seis.values), dims=seis.dims,
                       coords={"receiver": seis.receiver.values, "component": ["Z", "R", "T"], "time": sim.times})
    print(f"\nanisotropic kernels: {mesh.n_elements} elements, {sim.n_steps} steps of {sim.dt:.3f} s, "
          f"forward {time.perf_counter() - start:.1f} s")
    return dict(mesh=mesh, model=model, src=src, rec=rec, sim=sim, rot=rot, zrt=zrt, source=source,
                receiver=receiver)


def _window(name):
    component, fast, slow = WINDOWS[name]
    distance = np.radians(DISTANCE_DEG) * engine.earth.EARTH_RADIUS
    return component, (DELAY + distance / fast, DELAY + distance / slow)


def _observed(zrt):
    t = zrt["time"].values
    shifted = np.apply_along_axis(lambda tr: np.interp(t - SHIFT, t, tr, left=0.0), -1, zrt.values)
    return zrt.copy(data=shifted)


def _misfit(case, zrt, name):
    """L2 misfit of one window and its adjoint source in the engine's Z/N/E."""
    component, window = _window(name)
    value, adj = engine.misfit.l2(_observed(case["zrt"]), zrt, windows={("R0", component): [window]})
    return value, adj


@pytest.fixture(scope="module")
def kernels(case):
    """Per window: the gradient, the kernels' integrals and the misfit."""
    mesh, model, sim, rot = case["mesh"], case["model"], case["sim"], case["rot"]
    depth = engine.earth.EARTH_RADIUS - np.linalg.norm(mesh.coordinates, axis=-1)  # per GLL point, m
    weights = mesh.quadrature_weights()
    upper = (depth >= UPPER_MANTLE[0]) & (depth <= UPPER_MANTLE[1])
    out = {}
    for name in WINDOWS:
        start = time.perf_counter()
        value, adj = _misfit(case, case["zrt"], name)
        adj_zne = np.einsum("ij,rit->rjt", rot, adj.values)  # rot^T: Z/R/T -> Z/N/E
        grad = engine.gradient(sim, adj_zne, parameters=["vsh", "vsv"])
        res = {"misfit": value, "upper": upper, "depth": depth}
        for p in ("vsh", "vsv"):
            k = engine.volumetric_kernel(grad[p], mesh) * model[p]  # dJ/d ln m per unit volume
            res[p] = k
            res[p + "_signed"] = float((k * weights)[upper].sum())
            res[p + "_abs"] = float((np.abs(k) * weights)[upper].sum())
            res[p + "_signed_all"] = float((k * weights).sum())
            res[p + "_abs_all"] = float((np.abs(k) * weights).sum())
        out[name] = res
        print(f"{name}: J {value:.3e}, gradient {time.perf_counter() - start:.1f} s; upper mantle "
              f"signed K_vsh {res['vsh_signed']:.3e} K_vsv {res['vsv_signed']:.3e}, "
              f"|K_vsh| {res['vsh_abs']:.3e} |K_vsv| {res['vsv_abs']:.3e}")
    return out


def test_geometry_and_rotation(case):
    """The receiver is 12 degrees from the source; the back-azimuth from the receiver's
    Z/N/E frame agrees with spherical trigonometry; and an explosion at the source (no SH
    in a spherically symmetric Earth) rotated with it leaves (almost) nothing on T. (The
    double couple's T is not zero between P and S here: at 1300 km and ~100 s its near-
    and intermediate-field terms are not negligible.)"""
    source, receiver = case["source"], case["receiver"]
    src, rcv = source.to_cartesian(), receiver.to_cartesian()
    angle = np.degrees(np.arccos(src @ rcv / np.linalg.norm(src) / np.linalg.norm(rcv)))
    assert abs(angle - DISTANCE_DEG) < 1e-9
    la1, lo1, la2, lo2 = np.radians([receiver.latitude, receiver.longitude, source.latitude, source.longitude])
    trig = np.arctan2(np.sin(lo2 - lo1) * np.cos(la2),
                      np.cos(la1) * np.sin(la2) - np.sin(la1) * np.cos(la2) * np.cos(lo2 - lo1))
    baz = _back_azimuth(receiver, source)
    assert abs(baz - trig) < 1e-12
    print(f"back-azimuth {np.degrees(baz):.3f} degrees")
    explosion = engine.Source.moment_tensor(source, dict(mrr=1e17, mtt=1e17, mpp=1e17, mrt=0.0, mrp=0.0, mtp=0.0),
                                            case["src"][0].stf)
    run = engine.simulate(case["mesh"], case["model"], [explosion], case["rec"], end_time=520.0, physics="elastic",
                          dt=case["sim"].dt)
    zrt = np.einsum("ij,jt->it", case["rot"], run.seismograms.values[0])
    ratio = float(np.abs(zrt[2]).max() / np.abs(zrt[1]).max())
    print(f"explosion: max|T| / max|R| = {ratio:.2e}")
    assert ratio < 1e-2  # measured 2.3e-7 (the rounding of the rotation, not physics)


@pytest.mark.parametrize("name", list(WINDOWS))
def test_window_holds_the_surface_wave(case, name):
    """The window holds most of its component's energy and its envelope's peak, so the
    kernels below are of the surface wave, not of noise or of another phase."""
    from scipy.signal import hilbert

    component, (t0, t1) = _window(name)
    t = case["sim"].times
    x = case["zrt"].sel(receiver="R0", component=component).values
    inside = (t >= t0) & (t <= t1)
    fraction = float((x[inside] ** 2).sum() / (x**2).sum())
    peak = t[np.argmax(np.abs(hilbert(x)))]
    print(f"{name} window {t0:.0f}-{t1:.0f} s on {component}: energy fraction {fraction:.2f}, envelope peak {peak:.0f} s")
    assert fraction > 0.5  # measured 0.67 (Love), 0.74 (Rayleigh)
    assert t0 < peak < t1
    assert np.abs(x).max() > 1e-9  # m: a Mw ~5.4 event at 1300 km (measured 3e-8 on T, 1e-8 on Z)


@pytest.mark.parametrize("name, signed_factor, abs_factor", [("love", 8.0, 3.0), ("rayleigh", 50.0, 1.5)])
def test_dominant_kernel(kernels, name, signed_factor, abs_factor):
    """Love window: vsh dominates vsv; Rayleigh window: vsv dominates vsh (factors from
    the measurements in the module docstring, with margin); the dominant kernel is
    positive (a faster model moves the synthetic further from the later observed data)."""
    k = kernels[name]
    big, small = DOMINANT[name]
    signed = k[big + "_signed"] / abs(k[small + "_signed"])
    absolute = k[big + "_abs"] / k[small + "_abs"]
    print(f"{name}: signed K_{big}/|K_{small}| = {signed:.2f}, |K_{big}|/|K_{small}| = {absolute:.2f}")
    assert k[big + "_signed"] > 0.0
    assert signed > signed_factor
    assert absolute > abs_factor


@pytest.mark.parametrize("name", list(WINDOWS))
def test_kernels_are_in_the_upper_mantle(kernels, name):
    """The dominant kernel is mostly in 30-250 km depth (the surface waves' depth of
    sensitivity at ~100 s), and is neither zero nor roundoff: its largest density is far
    above the float64 noise of the misfit's scale."""
    k = kernels[name]
    big, _ = DOMINANT[name]
    signed_fraction = k[big + "_signed"] / k[big + "_signed_all"]
    abs_fraction = k[big + "_abs"] / k[big + "_abs_all"]
    print(f"{name}: K_{big} in 30-250 km: {signed_fraction:.2f} of the signed integral, {abs_fraction:.2f} of |K|")
    assert signed_fraction > 0.6  # measured 0.78 (Love), 0.75 (Rayleigh)
    assert abs_fraction > 0.5  # measured 0.70, 0.73 (the shell is 55 % of the chunk's depth)
    assert np.all(np.isfinite(k[big]))
    # Magnitude: a relative speed-up eps of the whole path advances the wave by about
    # eps * t_travel (~300 s), so dJ/d eps ~ 2 J t_travel / SHIFT ~ 300 J if all the
    # sensitivity were in the shell (measured 214 J for Love, 197 J for Rayleigh).
    travel = np.radians(DISTANCE_DEG) * engine.earth.EARTH_RADIUS / 4.3e3
    expected = 2.0 * k["misfit"] * travel / SHIFT
    print(f"{name}: dJ/dln {big} over the shell = {k[big + '_signed'] / expected:.2f} x 2 J t_travel / SHIFT")
    assert 0.3 * expected < k[big + "_signed"] < 1.5 * expected


def test_shell_integrals_match_finite_differences(case, kernels):
    """The signed upper-mantle integrals are the misfit's derivative for a uniform
    relative perturbation of vsh (or vsv) between 30 and 250 km: check them against
    central differences of forward runs (the same dt), for both windows at once."""
    mesh, model, sim = case["mesh"], case["model"], case["sim"]
    upper = kernels["love"]["upper"]
    h = 1e-4  # the central difference's error falls as h^2: 2e-4 at 1e-3, 2e-6 at 1e-4 (measured)
    for p in ("vsh", "vsv"):
        values = {}
        for sign in (1.0, -1.0):
            perturbed = model.replace(**{p: model[p] * (1.0 + sign * h * upper)})
            run = engine.simulate(mesh, perturbed, case["src"], case["rec"], end_time=520.0, physics="elastic",
                                  dt=sim.dt)
            zrt = case["zrt"].copy(data=np.einsum("ij,rjt->rit", case["rot"], run.seismograms.values))
            values[sign] = {name: _misfit(case, zrt, name)[0] for name in WINDOWS}
        for name in WINDOWS:
            fd = (values[1.0][name] - values[-1.0][name]) / (2 * h)
            adjoint = kernels[name][p + "_signed"]
            scale = max(abs(kernels[name]["vsh_signed"]), abs(kernels[name]["vsv_signed"]))
            print(f"{name} {p}: finite difference {fd:.4e}, adjoint {adjoint:.4e}")
            assert abs(fd - adjoint) < 2e-5 * scale
