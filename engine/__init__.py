"""engine: a Numba spectral-element wave engine, 2D (quadrilaterals) and 3D (a box, a spherical chunk).

Pure numerics: imports numpy, numba, scipy and xarray only (never traitlets or widgets).

>>> import engine
>>> mesh = engine.mesh.rectangle(x=(0.0, 2000.0), z=(-1000.0, 0.0), elements=(8, 4))
>>> model = engine.Model.isotropic(mesh, vp=3000.0, vs=1800.0, rho=2200.0)
>>> src = engine.Source.point_force((1000.0, -500.0), (0.0, 1.0), engine.stf.ricker(10.0))
>>> sim = engine.simulate(mesh, model, [src], engine.Receivers([(500.0, 0.0)]), end_time=0.2)
>>> sim.seismograms.dims
('receiver', 'component', 'time')
"""
from . import cutouts, earth, linearised, mesh, misfit, optimize, physics, sampling, signal, smoothing, stf, storage_buffers
from .adjoint import StoragePolicy, gradient, volumetric_kernel
from .geographic import Geographic
from .gll import gll
from .model import Model
from .receivers import Receivers
from .solver import Simulation, simulate
from .sources import Source

__all__ = ["cutouts", "earth", "linearised", "mesh", "sampling", "signal", "misfit", "optimize", "physics", "smoothing", "stf", "storage_buffers", "gll", "Geographic", "gradient", "volumetric_kernel", "StoragePolicy", "Model", "Receivers", "Source", "Simulation", "simulate"]
