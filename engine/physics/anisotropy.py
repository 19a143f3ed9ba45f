"""Elastic tensor algebra for 3D: Love parameters, Voigt matrices, rotations, Christoffel.

Pure numpy, vectorised over any leading shape (``...`` = points). Units: Pa (moduli),
kg/m^3, m/s; eta dimensionless.

Conventions
-----------
Voigt index map (0-based in code, 1-based in names): ``1 = 11, 2 = 22, 3 = 33, 4 = 23,
5 = 13, 6 = 12``, so stress ``sigma_I = c_IJ e_J`` with the engineering strain vector
``e = (e11, e22, e33, 2 e23, 2 e13, 2 e12)``. The tensor and the Voigt matrix share
their entries: ``c_ijkl = C_IJ`` for ``I = (ij)``, ``J = (kl)`` (no factors of 2).

Transverse isotropy (NUMERICS.md, "Transverse isotropy, rotated"): Love's parameters
``A = rho vph^2, C = rho vpv^2, L = rho vsv^2, N = rho vsh^2, F = eta (A - 2L)``; in the
local frame whose axis 3 is the symmetry axis the Voigt matrix has ``c11 = c22 = A,
c33 = C, c12 = A - 2N, c13 = c23 = F, c44 = c55 = L, c66 = N``, the rest 0.

Rotation: ``c'_ijkl = R_ia R_jb R_kc R_ld c_abcd`` with ``R``'s columns the local axes
expressed in the global (mesh) frame, so a tensor given in the local frame comes out in
global components. In a spherical chunk the local frame is ``(e_theta, e_phi, e_r)``
(:func:`radial_frames`: axis 3 radial); in a box it is the identity (axis 3 = z,
:func:`vertical_frames`).

Packed coefficients: the 21 independent entries, the upper triangle of the Voigt
matrix row by row, ``c11 c12 c13 c14 c15 c16 c22 c23 c24 c25 c26 c33 c34 c35 c36 c44
c45 c46 c55 c56 c66`` (`PACKED_ORDER`), as the 3D anisotropic stiffness kernel reads
them (``_kernels3d.anisotropic_stiffness_3d``, whose order is the same).

>>> import numpy as np
>>> a, c, l, n, f = love_parameters(8000.0, 8000.0, 4500.0, 4500.0, 1.0, 3300.0)
>>> v = christoffel(ti_voigt(a, c, l, n, f), 3300.0, [0.0, 0.0, 1.0])
>>> np.round(v, 6).tolist()
[4500.0, 4500.0, 8000.0]
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = [
    "VOIGT_PAIRS",
    "PACKED_ORDER",
    "love_parameters",
    "velocities_from_love",
    "ti_voigt",
    "isotropic_voigt",
    "voigt_to_tensor",
    "tensor_to_voigt",
    "rotate",
    "bond_matrix",
    "rotate_voigt",
    "radial_frames",
    "vertical_frames",
    "pack",
    "unpack",
    "packed_coefficients",
    "christoffel",
]

VOIGT_PAIRS: tuple[tuple[int, int], ...] = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))
"""Voigt index I (0-based) -> tensor index pair (i, j): 11, 22, 33, 23, 13, 12."""

_UPPER = tuple((a, b) for a in range(6) for b in range(a, 6))
PACKED_ORDER: tuple[str, ...] = tuple(f"c{a + 1}{b + 1}" for a, b in _UPPER)
"""Names of the 21 packed coefficients, in order: c11 c12 ... c16 c22 ... c66."""

# Voigt index of every tensor pair (i, j), symmetric.
_VOIGT_OF = np.empty((3, 3), dtype=np.int64)
for _I, (_i, _j) in enumerate(VOIGT_PAIRS):
    _VOIGT_OF[_i, _j] = _VOIGT_OF[_j, _i] = _I

_TI_NAMES = ("vpv", "vph", "vsv", "vsh", "rho")
_ISO_NAMES = ("vp", "vs", "rho")


def _arrays(*values) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))


# --- Love parameters ---------------------------------------------------------------------
def love_parameters(vpv, vph, vsv, vsh, eta, rho) -> tuple[np.ndarray, ...]:
    """Love's (A, C, L, N, F) in Pa from the TI velocities (m/s), eta and rho (kg/m^3).

    ``A = rho vph^2, C = rho vpv^2, L = rho vsv^2, N = rho vsh^2, F = eta (A - 2L)``.
    Arrays broadcast; the results share their shape.
    """
    vpv, vph, vsv, vsh, eta, rho = _arrays(vpv, vph, vsv, vsh, eta, rho)
    a, c, l, n = rho * vph**2, rho * vpv**2, rho * vsv**2, rho * vsh**2
    return a, c, l, n, eta * (a - 2.0 * l)


def velocities_from_love(a, c, l, n, f, rho) -> tuple[np.ndarray, ...]:
    """The inverse of :func:`love_parameters`: (vpv, vph, vsv, vsh, eta) from (A, C, L, N, F, rho).

    ``eta = F / (A - 2L)``; A = 2L (vph = sqrt(2) vsv, a zero Lame lambda in the
    isotropic case) leaves eta undefined and is refused.
    """
    a, c, l, n, f, rho = _arrays(a, c, l, n, f, rho)
    if np.any(rho <= 0):
        raise ValueError(f"The 'rho' parameter must be positive, but the minimum is {rho.min():.6g}.")
    denominator = a - 2.0 * l
    if np.any(denominator == 0):
        raise ValueError("eta = F / (A - 2L) is undefined where A = 2L; the 'a' and 'l' values given have A = 2L at some point.")
    return np.sqrt(c / rho), np.sqrt(a / rho), np.sqrt(l / rho), np.sqrt(n / rho), f / denominator


# --- Voigt matrices and tensors --------------------------------------------------------------
def ti_voigt(a, c, l, n, f) -> np.ndarray:
    """(..., 6, 6) Voigt matrix of transverse isotropy in its local frame (axis 3 the symmetry axis).

    ``c11 = c22 = A, c33 = C, c12 = A - 2N, c13 = c23 = F, c44 = c55 = L, c66 = N``, the
    rest 0, for Love's parameters in Pa (arrays broadcast).
    """
    a, c, l, n, f = _arrays(a, c, l, n, f)
    out = np.zeros(a.shape + (6, 6))
    out[..., 0, 0] = out[..., 1, 1] = a
    out[..., 2, 2] = c
    out[..., 0, 1] = out[..., 1, 0] = a - 2.0 * n
    out[..., 0, 2] = out[..., 2, 0] = out[..., 1, 2] = out[..., 2, 1] = f
    out[..., 3, 3] = out[..., 4, 4] = l
    out[..., 5, 5] = n
    return out


def isotropic_voigt(lam, mu) -> np.ndarray:
    """(..., 6, 6) isotropic Voigt matrix from the Lame parameters (Pa):
    ``c11 = c22 = c33 = lambda + 2 mu``, ``c12 = c13 = c23 = lambda``, ``c44 = c55 = c66 = mu``."""
    lam, mu = _arrays(lam, mu)
    return ti_voigt(lam + 2.0 * mu, lam + 2.0 * mu, mu, mu, lam)


def voigt_to_tensor(c: np.ndarray) -> np.ndarray:
    """(..., 6, 6) Voigt matrix -> (..., 3, 3, 3, 3) tensor, ``c_ijkl = C_IJ`` (ordering 11, 22, 33, 23, 13, 12).

    The matrix should be symmetric; the tensor then has the minor and major symmetries.
    """
    c = np.asarray(c, dtype=float)
    if c.shape[-2:] != (6, 6):
        raise ValueError(f"The 'c' parameter must be a (..., 6, 6) Voigt matrix, but an array shaped {c.shape} was given.")
    return c[..., _VOIGT_OF[:, :, None, None], _VOIGT_OF[None, None, :, :]]


def tensor_to_voigt(c: np.ndarray) -> np.ndarray:
    """(..., 3, 3, 3, 3) tensor -> (..., 6, 6) Voigt matrix, ``C_IJ = c_ijkl`` (ordering 11, 22, 33, 23, 13, 12).

    The inverse of :func:`voigt_to_tensor` for a tensor with the elastic symmetries.
    """
    c = np.asarray(c, dtype=float)
    if c.shape[-4:] != (3, 3, 3, 3):
        raise ValueError(f"The 'c' parameter must be a (..., 3, 3, 3, 3) tensor, but an array shaped {c.shape} was given.")
    i = np.array([p[0] for p in VOIGT_PAIRS])
    j = np.array([p[1] for p in VOIGT_PAIRS])
    return c[..., i[:, None], j[:, None], i[None, :], j[None, :]]


def _as_tensor(c) -> tuple[np.ndarray, bool]:
    c = np.asarray(c, dtype=float)
    if c.ndim >= 4 and c.shape[-4:] == (3, 3, 3, 3):
        return c, True
    if c.ndim >= 2 and c.shape[-2:] == (6, 6):
        return voigt_to_tensor(c), False
    raise ValueError(
        f"The 'c' parameter must be a (..., 6, 6) Voigt matrix or a (..., 3, 3, 3, 3) tensor, "
        f"but an array shaped {c.shape} was given."
    )


def _check_frames(r) -> np.ndarray:
    r = np.asarray(r, dtype=float)
    if r.ndim < 2 or r.shape[-2:] != (3, 3):
        raise ValueError(f"The 'R' parameter must be (..., 3, 3) rotation matrices, but an array shaped {r.shape} was given.")
    return r


# --- rotations -----------------------------------------------------------------------------------
def rotate(c, R) -> np.ndarray:
    """``c'_ijkl = R_ia R_jb R_kc R_ld c_abcd``, vectorised over points (einsum).

    Parameters
    ----------
    c : (..., 3, 3, 3, 3) tensor or (..., 6, 6) Voigt matrix (Pa); the result has the
        same form.
    R : (..., 3, 3) orthogonal matrices; column a is local axis a in the global frame
        (e.g. :func:`radial_frames`). ``c`` and ``R`` broadcast over the leading shape.

    The inverse rotation is ``rotate(c', R^T)`` (``np.swapaxes(R, -1, -2)``).
    """
    tensor, was_tensor = _as_tensor(c)
    r = _check_frames(R)
    out = np.einsum("...ia,...jb,...kc,...ld,...abcd->...ijkl", r, r, r, r, tensor, optimize=True)
    return out if was_tensor else tensor_to_voigt(out)


def bond_matrix(R) -> np.ndarray:
    """(..., 6, 6) Bond matrix M of rotations R (..., 3, 3): ``rotate(c, R) == M C M^T`` in Voigt form.

    ``M_IJ = R_ip R_jp`` for a normal index J = (pp) and ``R_ip R_jq + R_iq R_jp`` for a
    shear index J = (pq), I = (ij): the stress vector transforms as ``sigma' = M sigma``.
    Cheaper than the tensor rotation (36 + 2 * 216 products per point instead of 3^8).
    """
    r = _check_frames(R)
    i = np.array([p[0] for p in VOIGT_PAIRS])
    j = np.array([p[1] for p in VOIGT_PAIRS])
    flat = r.reshape(r.shape[:-2] + (9,))  # R_ab at 3 a + b: one gather per factor
    m = flat[..., 3 * i[:, None] + i[None, :]] * flat[..., 3 * j[:, None] + j[None, :]]
    m[..., 3:] += flat[..., 3 * i[:, None] + j[None, 3:]] * flat[..., 3 * j[:, None] + i[None, 3:]]
    return m


def rotate_voigt(c, R) -> np.ndarray:
    """The rotation of :func:`rotate` done in Voigt form with the Bond matrix: ``M C M^T``, (..., 6, 6)."""
    c = np.asarray(c, dtype=float)
    if c.shape[-2:] != (6, 6):
        raise ValueError(f"The 'c' parameter must be a (..., 6, 6) Voigt matrix, but an array shaped {c.shape} was given.")
    m = bond_matrix(R)
    return m @ c @ np.swapaxes(m, -1, -2)


def radial_frames(points) -> np.ndarray:
    """(..., 3, 3) local frames with columns (e_theta, e_phi, e_r) at Earth-centred points (..., 3) in m.

    e_theta points south, e_phi east, e_r up (right-handed: e_theta x e_phi = e_r), from
    `engine.geographic.local_frame`; local axis 3 is radial, so a TI tensor built with
    :func:`ti_voigt` and rotated with these frames has a radial symmetry axis. At the
    poles the horizontal axes are those of longitude 0 (a TI tensor does not depend on
    them). The centre of the Earth has no radial direction and is refused.
    """
    from ..geographic import cartesian_to_geographic, local_frame

    p = np.asarray(points, dtype=float)
    if p.ndim < 1 or p.shape[-1] != 3:
        raise ValueError(f"The 'points' parameter must be Earth-centred Cartesian points (..., 3) in m, but an array shaped {p.shape} was given.")
    if np.any(np.linalg.norm(p, axis=-1) == 0.0):
        raise ValueError("The 'points' parameter contains the Earth's centre, where the radial direction is undefined.")
    lat, lon, _ = cartesian_to_geographic(p)
    q = local_frame(lat, lon)  # columns e_r, e_theta, e_phi
    return q[..., [1, 2, 0]]


def vertical_frames(shape=()) -> np.ndarray:
    """(*shape, 3, 3) identity frames: the local axis 3 is z, as in a box (or a 2D x-z mesh)."""
    return np.broadcast_to(np.eye(3), tuple(shape) + (3, 3))


# --- packing ---------------------------------------------------------------------------------------
def pack(c) -> np.ndarray:
    """(..., 6, 6) Voigt matrix (or (..., 3, 3, 3, 3) tensor) -> (..., 21), order `PACKED_ORDER`."""
    c = np.asarray(c, dtype=float)
    v = c if c.shape[-2:] == (6, 6) else tensor_to_voigt(_as_tensor(c)[0])
    a = np.array([p[0] for p in _UPPER])
    b = np.array([p[1] for p in _UPPER])
    return v[..., a, b]


def unpack(c21) -> np.ndarray:
    """(..., 21) packed coefficients (order `PACKED_ORDER`) -> symmetric (..., 6, 6) Voigt matrix."""
    c21 = np.asarray(c21, dtype=float)
    if c21.shape[-1:] != (21,):
        raise ValueError(f"The 'c21' parameter must be shaped (..., 21), but an array shaped {c21.shape} was given.")
    out = np.zeros(c21.shape[:-1] + (6, 6))
    for s, (a, b) in enumerate(_UPPER):
        out[..., a, b] = out[..., b, a] = c21[..., s]
    return out


def _local_love(model: Mapping) -> tuple[np.ndarray, ...]:
    """(A, C, L, N, F) per point of an isotropic or TI model (Mapping of named arrays)."""
    if all(k in model for k in _TI_NAMES):
        eta = model["eta"] if "eta" in model else 1.0
        return love_parameters(model["vpv"], model["vph"], model["vsv"], model["vsh"], eta, model["rho"])
    if all(k in model for k in _ISO_NAMES):
        rho, vp, vs = (np.asarray(model[k], dtype=float) for k in ("rho", "vp", "vs"))
        mu = rho * vs**2
        lam = rho * vp**2 - 2.0 * mu
        return lam + 2.0 * mu, lam + 2.0 * mu, mu, mu, lam
    have = list(model)
    missing_ti = [k for k in _TI_NAMES if k not in model]
    missing_iso = [k for k in _ISO_NAMES if k not in model]
    raise ValueError(
        f"The 'model' parameter must be isotropic elastic ({', '.join(_ISO_NAMES)}; missing {missing_iso}) or "
        f"transversely isotropic ({', '.join(_TI_NAMES)}, eta; missing {missing_ti}), but it has {have}."
    )


def packed_coefficients(model: Mapping, mesh, block: int = 4096) -> np.ndarray:
    """(n_elem, 21, n, n, n) Voigt coefficients (Pa) of a 3D model in global (mesh) components.

    Parameters
    ----------
    model : an `engine.Model` (or any Mapping of per-point arrays shaped
        ``mesh.point_shape``): isotropic (vp, vs, rho) or transversely isotropic (vpv,
        vph, vsv, vsh, eta, rho; eta defaults to 1 when absent).
    mesh : a hexahedral mesh: a box (symmetry axis z, no rotation) or a spherical chunk
        (``mesh.chunk`` set: axis radial, the tensor rotated with :func:`radial_frames`
        of every GLL point).
    block : elements done at a time (the scratch is about ``block * n^3 * 36 * 8 * 4``
        bytes; the result itself is ``n_elem * 21 * n^3 * 8`` bytes).

    Rows in the order of `PACKED_ORDER` (upper triangle of the Voigt matrix, row by row;
    Voigt 1..6 = xx, yy, zz, yz, xz, xy of the mesh's Cartesian axes).
    """
    if getattr(mesh, "ndim", None) != 3:
        raise ValueError(f"packed_coefficients needs a hexahedral (3D) mesh, but a mesh with ndim = {getattr(mesh, 'ndim', None)} was given.")
    shape = tuple(mesh.point_shape)
    a, c, l, n, f = _local_love(model)
    for name, value in zip("ACLNF", (a, c, l, n, f)):
        if value.shape != shape:
            raise ValueError(f"The model's fields must be shaped {shape} (mesh.point_shape), but {name} is shaped {value.shape}.")
    # The local-frame TI form, written straight into its 9 non-zero packed rows.
    out = np.zeros((shape[0], 21) + shape[1:])
    slot = {name: k for k, name in enumerate(PACKED_ORDER)}
    for name, value in (("c11", a), ("c22", a), ("c33", c), ("c12", a - 2.0 * n), ("c13", f), ("c23", f),
                        ("c44", l), ("c55", l), ("c66", n)):
        out[:, slot[name]] = value
    if getattr(mesh, "chunk", None) is None:
        return out
    # Radial axis: rotate the points that are anisotropic (A != C, L != N or F != A - 2L;
    # in PREM the upper mantle above 220 km). An isotropic tensor is rotation invariant.
    aniso = ~((a == c) & (l == n) & (f == a - 2.0 * l))
    index = np.flatnonzero(aniso.ravel())
    if index.size == 0:
        return out
    flat = out.reshape(shape[0], 21, -1)
    per_element = int(np.prod(shape[1:]))
    coords = mesh.coordinates.reshape(-1, 3)
    step = max(1, int(block)) * per_element  # points per pass, bounding the scratch
    for start in range(0, index.size, step):
        pts = index[start:start + step]
        e, p = np.divmod(pts, per_element)
        local = ti_voigt(a.flat[pts], c.flat[pts], l.flat[pts], n.flat[pts], f.flat[pts])
        flat[e, :, p] = pack(rotate_voigt(local, radial_frames(coords[pts])))
    return out


# --- wave speeds ---------------------------------------------------------------------------------------
def christoffel(c, rho, direction) -> np.ndarray:
    """The three phase velocities (m/s), sorted ascending, for propagation along ``direction``.

    Eigenvalues of the Christoffel matrix ``Gamma_ik = c_ijkl n_j n_l / rho``, square
    roots taken: for a TI medium along a general direction (qS, qS, qP) ordered by speed.

    Parameters
    ----------
    c : (..., 6, 6) Voigt matrix or (..., 3, 3, 3, 3) tensor, Pa.
    rho : density, kg/m^3 (broadcast against the leading shape).
    direction : (..., 3) propagation direction (normalised here; need not be unit).

    Returns
    -------
    (..., 3) numpy.ndarray.
    """
    tensor, _ = _as_tensor(c)
    d = np.asarray(direction, dtype=float)
    if d.shape[-1:] != (3,):
        raise ValueError(f"The 'direction' parameter must be (..., 3) vectors, but an array shaped {d.shape} was given.")
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError("The 'direction' parameter must be non-zero vectors, but a zero vector was given.")
    nvec = d / norm
    rho = np.asarray(rho, dtype=float)
    if np.any(rho <= 0):
        raise ValueError(f"The 'rho' parameter must be positive, but the minimum is {rho.min():.6g}.")
    gamma = np.einsum("...ijkl,...j,...l->...ik", tensor, nvec, nvec) / rho[..., None, None]
    values = np.linalg.eigvalsh(gamma)
    return np.sqrt(np.maximum(values, 0.0))
