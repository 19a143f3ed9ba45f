"""Limited-memory BFGS model of the Hessian, kept in a small serialisable object.

The memory holds the last ``max_pairs`` curvature pairs ``(s_i, y_i)`` (``s`` a step,
``y`` the change of the gradient over that step) and gives access to two operators
that are exact inverses of each other:

* ``H`` (:meth:`LBFGSMemory.apply_inverse`): the inverse-Hessian approximation, by the
  two-loop recursion, started from ``H0 = gamma * P``;
* ``B = H^-1`` (:meth:`LBFGSMemory.apply_hessian`): the Hessian approximation, by the
  compact representation of Byrd, Nocedal and Schnabel (1994), started from
  ``B0 = P^-1 / gamma``.

``P`` is an optional symmetric positive preconditioner (an approximate inverse
Hessian, e.g. a smoothing operator), given as a callable ``P(v) -> array``. Its
inverse is usually not available (a diffusion run backwards is unstable), yet the
compact form of ``B`` needs ``P^-1 s_i``. Every step the optimizer proposes is built
from ``P g`` and ``H g``, whose images under ``P^-1`` are known exactly (``g``, and
the "dual" output of :meth:`LBFGSMemory.apply_inverse_with_dual`), so each pair is
stored with its dual ``u_i = P^-1 s_i`` and ``P^-1`` is never applied. Without a
preconditioner ``P = I`` and ``u_i = s_i`` (not stored twice).

Scaling of ``H0``: the standard choice of Nocedal & Wright (2006, eq. 7.20),
generalised to the preconditioned metric, ``gamma = s.y / (y.P y)`` from the newest
pair. It makes ``H0`` match the curvature measured along the newest step and is
computed once, when the pair is added.

The same ``P`` must be used for every call on one memory; after changing ``P``,
call :meth:`LBFGSMemory.reset`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np

Preconditioner = Callable[[np.ndarray], np.ndarray]
ArrayFormat = Literal["list", "numpy"]

_ARRAY_FORMATS: dict[str, Callable[[np.ndarray], Any]] = {
    # JSON-friendly: Python floats print with repr, which round-trips float64 exactly.
    "list": lambda a: a.tolist(),
    # For large models the caller stores these arrays itself (e.g. with numpy.save).
    "numpy": lambda a: np.array(a, dtype=np.float64),
}


def _check_array_format(arrays: str) -> Callable[[np.ndarray], Any]:
    try:
        return _ARRAY_FORMATS[arrays]
    except KeyError:
        raise ValueError(
            f"The 'arrays' parameter must be one of {sorted(_ARRAY_FORMATS)}, "
            f"but {arrays!r} was given."
        ) from None


def as_vector(v: Any, name: str, size: int | None = None) -> np.ndarray:
    """Return ``v`` as a finite 1D float64 array, or raise in the traitlets wording.

    Parameters
    ----------
    v : array_like, shape (n,)
        The vector to check.
    name : str
        Parameter name used in the error message.
    size : int, optional
        Required length ``n``.

    Returns
    -------
    numpy.ndarray, shape (n,), float64
    """
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1:
        raise ValueError(
            f"The '{name}' parameter must be a 1D array, but an array of shape "
            f"{a.shape} was given."
        )
    if size is not None and a.size != size:
        raise ValueError(
            f"The '{name}' parameter must have {size} entries, but {a.size} were given."
        )
    if not np.all(np.isfinite(a)):
        raise ValueError(f"The '{name}' parameter must be finite, but it holds NaN or inf.")
    return a


def apply_preconditioner(precondition: Preconditioner | None, v: np.ndarray) -> np.ndarray:
    """Apply ``P`` (identity when ``precondition`` is None) and check its output shape.

    Parameters
    ----------
    precondition : callable or None
        ``P(v) -> array`` of the same shape as ``v``; symmetric positive.
    v : numpy.ndarray, shape (n,)

    Returns
    -------
    numpy.ndarray, shape (n,), float64
        ``P v`` (a copy of ``v`` when there is no preconditioner).
    """
    if precondition is None:
        return v.copy()
    pv = np.asarray(precondition(v), dtype=np.float64)
    if pv.shape != v.shape:
        raise ValueError(
            f"The 'precondition' parameter must return an array of shape {v.shape}, "
            f"but it returned shape {pv.shape}."
        )
    return pv


@dataclass
class LBFGSMemory:
    """The last ``max_pairs`` curvature pairs and the L-BFGS operators built on them.

    Parameters
    ----------
    max_pairs : int
        Number of pairs kept (oldest dropped first).
    curvature_eps : float
        A pair is skipped unless ``s.y > curvature_eps * |s| |y|`` (Euclidean norms),
        which keeps ``B`` and ``H`` symmetric positive definite.
    s, y : list of numpy.ndarray, each shape (n,)
        Steps and gradient changes, oldest first.
    s_dual : list of numpy.ndarray, each shape (n,)
        ``P^-1 s_i``; empty when the memory is not preconditioned.
    gamma : float
        Scaling of ``H0 = gamma P``: ``s.y / (y.P y)`` of the newest pair (1.0 when empty).
    preconditioned : bool or None
        Whether the pairs were added with a preconditioner (None while empty).
    last_skip_reason : str or None
        Why the last :meth:`add_pair` call skipped its pair (None if it was added).

    Notes
    -----
    With an empty memory there is no curvature information: :meth:`apply_hessian`
    returns zeros (a linear model) and :meth:`apply_inverse` returns ``P v``.
    Arrays are never modified in place, so copies of a memory may share them.
    """

    max_pairs: int = 5
    curvature_eps: float = 1e-8
    s: list[np.ndarray] = field(default_factory=list)
    y: list[np.ndarray] = field(default_factory=list)
    s_dual: list[np.ndarray] = field(default_factory=list)
    gamma: float = 1.0
    preconditioned: bool | None = None
    last_skip_reason: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_pairs, bool) or not isinstance(self.max_pairs, (int, np.integer)):
            raise TypeError(
                f"The 'max_pairs' parameter must be an int, but {self.max_pairs!r} was given."
            )
        if self.max_pairs < 1:
            raise ValueError(
                f"The 'max_pairs' parameter must be positive, but {self.max_pairs} was given."
            )
        if not self.curvature_eps >= 0.0:
            raise ValueError(
                "The 'curvature_eps' parameter must be non-negative, but "
                f"{self.curvature_eps} was given."
            )

    # ------------------------------------------------------------------ pairs
    def __len__(self) -> int:
        return len(self.s)

    @property
    def n_pairs(self) -> int:
        """Number of stored pairs."""
        return len(self.s)

    def copy(self) -> LBFGSMemory:
        """A new memory with its own lists (the arrays are shared: they are never mutated)."""
        return LBFGSMemory(
            max_pairs=self.max_pairs,
            curvature_eps=self.curvature_eps,
            s=list(self.s),
            y=list(self.y),
            s_dual=list(self.s_dual),
            gamma=self.gamma,
            preconditioned=self.preconditioned,
            last_skip_reason=self.last_skip_reason,
        )

    def reset(self) -> None:
        """Forget every pair (the model becomes linear again)."""
        self.s, self.y, self.s_dual = [], [], []
        self.gamma = 1.0
        self.preconditioned = None
        self.last_skip_reason = None

    def add_pair(
        self,
        s: np.ndarray,
        y: np.ndarray,
        s_dual: np.ndarray | None = None,
        precondition: Preconditioner | None = None,
    ) -> bool:
        """Store the pair ``(s, y)`` if it satisfies the curvature condition.

        Parameters
        ----------
        s : numpy.ndarray, shape (n,)
            Step ``x_new - x_old`` (scaled model units).
        y : numpy.ndarray, shape (n,)
            Gradient change ``g_new - g_old`` (misfit units), on the same events at both
            models (the control group).
        s_dual : numpy.ndarray, shape (n,), optional
            ``P^-1 s``; required with a preconditioner (it is
            ``StepProposal.step_dual``), forbidden without.
        precondition : callable, optional
            The preconditioner ``P``, used to compute ``gamma = s.y / (y.P y)``.

        Returns
        -------
        bool
            True if the pair was stored; False if it was skipped, with the reason
            in :attr:`last_skip_reason`.
        """
        s = as_vector(s, "s")
        y = as_vector(y, "y", s.size)
        if (s_dual is None) != (precondition is None):
            raise ValueError(
                "The 's_dual' and 'precondition' parameters must be given together "
                "(s_dual = P^-1 s, from StepProposal.step_dual), but only one was given."
            )
        preconditioned = precondition is not None
        if self.preconditioned is not None and preconditioned != self.preconditioned:
            raise ValueError(
                "The 'precondition' parameter must match the memory's other pairs "
                f"(preconditioned={self.preconditioned}); reset() the memory to change it."
            )
        if self.s and self.s[0].size != s.size:
            raise ValueError(
                f"The 's' parameter must have {self.s[0].size} entries like the stored "
                f"pairs, but {s.size} were given."
            )
        sy = float(s @ y)
        bound = self.curvature_eps * float(np.linalg.norm(s) * np.linalg.norm(y))
        if not sy > bound:
            self.last_skip_reason = (
                f"curvature condition failed: s.y = {sy:.3e} <= "
                f"{self.curvature_eps:g} |s| |y| = {bound:.3e}; pair skipped"
            )
            return False
        if preconditioned:
            u = as_vector(s_dual, "s_dual", s.size)
            ypy = float(y @ apply_preconditioner(precondition, y))
        else:
            u = s
            ypy = float(y @ y)
        if not ypy > 0.0:
            # Only a preconditioner that is not positive definite can get here.
            self.last_skip_reason = (
                f"y.P y = {ypy:.3e} <= 0: the preconditioner is not positive; pair skipped"
            )
            return False
        self.s.append(s)
        self.y.append(y)
        if preconditioned:
            self.s_dual.append(u)
        if len(self.s) > self.max_pairs:
            del self.s[0], self.y[0]
            if preconditioned:
                del self.s_dual[0]
        self.gamma = sy / ypy
        self.preconditioned = preconditioned
        self.last_skip_reason = None
        return True

    # -------------------------------------------------------------- operators
    def _duals(self) -> list[np.ndarray]:
        return self.s_dual if self.preconditioned else self.s

    def _check_precondition(self, precondition: Preconditioner | None) -> None:
        if self.preconditioned is not None and (precondition is not None) != self.preconditioned:
            raise ValueError(
                "The 'precondition' parameter must be given exactly when the pairs were "
                f"added with one (preconditioned={self.preconditioned}), but it was "
                f"{'given' if precondition is not None else 'not given'}."
            )

    def apply_inverse_with_dual(
        self, v: np.ndarray, precondition: Preconditioner | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return ``H v`` and ``P^-1 H v`` (two-loop recursion, one application of ``P``).

        Parameters
        ----------
        v : numpy.ndarray, shape (n,)
            Usually a gradient (misfit units).
        precondition : callable, optional
            ``P``; required exactly when the pairs were added with one.

        Returns
        -------
        hv, hv_dual : numpy.ndarray, shape (n,)
            ``H v`` and ``P^-1 H v`` (equal when there is no preconditioner).
        """
        v = as_vector(v, "v")
        self._check_precondition(precondition)
        q = v.copy()
        alphas = []
        for s, y in zip(reversed(self.s), reversed(self.y)):
            a = float(s @ q) / float(s @ y)
            q -= a * y
            alphas.append(a)
        alphas.reverse()
        r = self.gamma * apply_preconditioner(precondition, q)
        # P^-1 (gamma P q) = gamma q, and each correction adds a multiple of s_i whose
        # dual u_i is stored: the dual follows the recursion without applying P^-1.
        r_dual = self.gamma * q
        for s, y, u, a in zip(self.s, self.y, self._duals(), alphas):
            b = float(y @ r) / float(s @ y)
            r += (a - b) * s
            if precondition is not None:
                r_dual += (a - b) * u
        if precondition is None:
            r_dual = r.copy()
        return r, r_dual

    def apply_inverse(
        self, v: np.ndarray, precondition: Preconditioner | None = None
    ) -> np.ndarray:
        """Return ``H v``, the L-BFGS inverse Hessian applied to ``v``.

        Parameters
        ----------
        v : numpy.ndarray, shape (n,)
        precondition : callable, optional
            ``P`` in ``H0 = gamma P``; required exactly when the pairs were added with one.

        Returns
        -------
        numpy.ndarray, shape (n,)
        """
        return self.apply_inverse_with_dual(v, precondition)[0]

    def apply_hessian(self, v: np.ndarray, v_dual: np.ndarray | None = None) -> np.ndarray:
        """Return ``B v``, the compact-form L-BFGS Hessian (the exact inverse of ``H``).

        ``B = B0 - [B0 S, Y] M^-1 [S^T B0; Y^T]`` with ``B0 = P^-1 / gamma`` and
        ``M = [[S^T B0 S, L], [L^T, -D]]``, ``L`` the strictly lower part of
        ``S^T Y`` and ``D`` its diagonal (Byrd, Nocedal & Schnabel 1994, eq. 2.17).
        ``S^T B0 v = U^T v / gamma`` with ``U = P^-1 S`` stored, since ``P`` is
        symmetric, so only ``B0 v`` needs the dual of ``v``.

        Parameters
        ----------
        v : numpy.ndarray, shape (n,)
            Usually a step (scaled model units).
        v_dual : numpy.ndarray, shape (n,), optional
            ``P^-1 v``; required when the memory is preconditioned.

        Returns
        -------
        numpy.ndarray, shape (n,)
            ``B v`` (zeros when the memory is empty: a linear model).
        """
        v = as_vector(v, "v")
        if not self.s:
            return np.zeros_like(v)
        if self.preconditioned:
            if v_dual is None:
                raise ValueError(
                    "The 'v_dual' parameter (P^-1 v) must be given for a preconditioned "
                    "memory, but None was given."
                )
            v_dual = as_vector(v_dual, "v_dual", v.size)
        else:
            v_dual = v
        S = np.stack(self.s, axis=1)
        Y = np.stack(self.y, axis=1)
        U = np.stack(self._duals(), axis=1)
        k = S.shape[1]
        sty = S.T @ Y
        M = np.empty((2 * k, 2 * k))
        M[:k, :k] = (S.T @ U) / self.gamma
        M[:k, k:] = np.tril(sty, -1)
        M[k:, :k] = np.tril(sty, -1).T
        M[k:, k:] = -np.diag(np.diag(sty))
        rhs = np.concatenate([U.T @ v / self.gamma, Y.T @ v])
        w = np.linalg.solve(M, rhs)
        return v_dual / self.gamma - (U @ w[:k]) / self.gamma - Y @ w[k:]

    # ---------------------------------------------------------- serialisation
    def to_dict(self, arrays: ArrayFormat = "list") -> dict[str, Any]:
        """Serialise to a dict.

        Parameters
        ----------
        arrays : {"list", "numpy"}
            "list": vectors as lists of floats, so ``json.dumps`` works and the round
            trip is exact (float repr). "numpy": vectors as float64 arrays of shape
            (n_pairs, n) under "s", "y", "s_dual", for the caller to store as .npy
            (preferable for large models).

        Returns
        -------
        dict
        """
        conv = _check_array_format(arrays)
        n = self.s[0].size if self.s else 0

        def stack(vs: list[np.ndarray]) -> Any:
            return conv(np.stack(vs) if vs else np.zeros((0, n)))

        return {
            "max_pairs": int(self.max_pairs),
            "curvature_eps": float(self.curvature_eps),
            "gamma": float(self.gamma),
            "preconditioned": self.preconditioned,
            "last_skip_reason": self.last_skip_reason,
            "s": stack(self.s),
            "y": stack(self.y),
            "s_dual": stack(self.s_dual),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LBFGSMemory:
        """Rebuild a memory from :meth:`to_dict` output (either array format)."""

        def unstack(a: Any) -> list[np.ndarray]:
            return [np.array(row, dtype=np.float64) for row in a]

        return cls(
            max_pairs=int(d["max_pairs"]),
            curvature_eps=float(d["curvature_eps"]),
            s=unstack(d["s"]),
            y=unstack(d["y"]),
            s_dual=unstack(d["s_dual"]),
            gamma=float(d["gamma"]),
            preconditioned=d["preconditioned"],
            last_skip_reason=d.get("last_skip_reason"),
        )
