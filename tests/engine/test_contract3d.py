"""The 3D engine contract of ``shared/design/ARCHITECTURE.md``, as written.

The box part runs verbatim (30 x 30 x 30 elements, 0.8 s). The chunk part uses the
contract's calls and argument names on a smaller chunk at a longer period (the
continental size, 22,400 elements and ~3,900 steps, is the benchmark's:
``benchmarks/bench_forward3d.py``); gradients are the next issue's.
"""
from __future__ import annotations

import numpy as np

import engine


def test_box_contract_verbatim():
    stf = engine.stf.ricker(center_frequency=10.0, delay=0.15)
    mesh = engine.mesh.box(x=(0.0, 3000.0), y=(0.0, 3000.0), z=(-3000.0, 0.0),
                           elements=(30, 30, 30), order=4, absorbing=("x0", "x1", "y0", "y1", "z0"))
    model = engine.Model.isotropic(mesh, vp=3000.0, vs=1732.0, rho=2200.0)
    src = engine.Source.point_force(location=(1500.0, 1500.0, -1500.0), force=(0.0, 0.0, 1.0), stf=stf)
    explosion = engine.Source.moment_tensor(location=(1500.0, 1500.0, -1500.0),
                                            tensor=[[1e15, 0, 0], [0, 1e15, 0], [0, 0, 1e15]], stf=stf)
    rec = engine.Receivers(locations=[(1800.0, 1500.0, 0.0)], names=["R0"])
    sim = engine.simulate(mesh, model, [src, explosion], rec, end_time=0.8, physics="elastic")
    seis = sim.seismograms
    assert seis.dims == ("receiver", "component", "time")
    assert list(seis.component.values) == ["X", "Y", "Z"] and list(seis.receiver.values) == ["R0"]
    assert seis.attrs["units"] == "m" and sim.times[-1] == 0.8
    u = seis.sel(receiver="R0").values
    # The receiver is in the x-z plane through the source: by symmetry no Y motion. The
    # explosion dominates (1e15 N m against 1 N); its P wave arrives after r / vp plus
    # the Ricker's onset (its delay 0.15 s less about one half period).
    assert np.abs(u[1]).max() < 1e-6 * np.abs(u).max()
    r = np.hypot(300.0, 1500.0)
    arrival = sim.times[int(np.argmax(np.abs(u[2]) > 0.05 * np.abs(u[2]).max()))]
    assert abs(arrival - (r / 3000.0 + 0.15 - 0.05)) < 0.05


def test_chunk_contract_calls():
    prem = engine.earth.prem(anisotropic=True)
    mesh = engine.mesh.spherical_chunk(lat_center=38.0, lon_center=24.0, lat_extent=14.0,
                                       lon_extent=14.0, max_depth_in_meters=400e3, model=prem,
                                       min_period_in_seconds=150.0, elements_per_wavelength=2.0,
                                       order=4, absorbing=("r0", "t0", "t1", "p0", "p1"))
    model = engine.Model.from_earth(mesh, prem)
    assert set(model) == {"vpv", "vph", "vsv", "vsh", "eta", "rho"}
    again = engine.Model.transversely_isotropic(mesh, vpv=model["vpv"], vph=model["vph"], vsv=model["vsv"],
                                                vsh=model["vsh"], eta=model["eta"], rho=model["rho"])
    src = engine.Source.moment_tensor(
        location=engine.Geographic(latitude=35.03, longitude=26.85, depth_in_meters=24e3),
        tensor={"mrr": 5.48e17, "mtt": -1.23e18, "mpp": 6.85e17, "mrt": -3.62e17,
                "mrp": 1.8e18, "mtp": -3.05e17},
        stf=engine.stf.heaviside(half_duration=10.0, delay=30.0))
    rec = engine.Receivers(locations=[engine.Geographic(latitude=40.6, longitude=22.9, depth_in_meters=0.0)],
                           names=["HT.THE"])
    sim = engine.simulate(mesh, again, [src], rec, end_time=300.0, physics="elastic", precision="float32")
    seis = sim.seismograms
    assert list(seis.component.values) == ["Z", "N", "E"] and seis.attrs["units"] == "m"
    assert seis.dtype == np.float32 or sim.info["precision"] == "float32"
    u = seis.sel(receiver="HT.THE").values
    assert np.all(np.isfinite(u))
    # Mw ~6.1 at about 600 km: long-period surface waves of tens to hundreds of micrometres.
    assert 1e-6 < np.abs(u).max() < 1e-2
    assert float(seis.latitude[0]) == 40.6 and float(seis.depth[0]) == 0.0
