"""The result every solver returns: a common core plus the solver's own extras."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RecoveryResult"]

# Result attributes of the previous release and the extras key each one moved to.
_MOVED = {
    "restart": "start",
    "restart_residuals": "start_residuals",
    "step": "step",
    "gradient_norm": "gradient_norm",
    "support_changes": "support_changes",
}


@dataclass
class RecoveryResult:
    """What a solver returns.

    Attributes
    ----------
    x : ndarray
        The recovered signal: ``G(z)`` for latent solvers, the sparse vector for classical
        ones.
    z : ndarray or None
        The recovered latent code (None for classical solvers).
    residual : float
        ||y - A x||.
    n_iter : int
        Iterations of the returned start (what an iteration is: the solver's docstring).
    converged : bool
        The solver's stopping rule was met (its docstring says which rule); False when it
        stopped on a budget (``max_iter``), diverged or stalled (see `message`).
    certified : bool
        The returned point passed a certificate computed afresh at it: stationarity on its
        support for the iterative solvers, LP duality for basis pursuit (see each solver).
    message : str
        Why the solver stopped.
    history : ndarray
        ||y - A x_t|| after each iteration t of the returned start; length `n_iter`.
    extras : dict
        What only some solvers report, by name (e.g. ``"start"``, the index of the
        returned start, and ``"start_residuals"``, the final residual of every start);
        each solver's docstring lists its keys.
    """

    x: np.ndarray
    z: np.ndarray | None
    residual: float
    n_iter: int
    converged: bool
    certified: bool
    message: str
    history: np.ndarray
    extras: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        # Only reached for names that are not attributes: the moved ones, for one release.
        if name in _MOVED and "extras" in self.__dict__:
            key = _MOVED[name]
            warnings.warn(
                f"RecoveryResult.{name} is deprecated; use result.extras[{key!r}]",
                DeprecationWarning,
                stacklevel=2,
            )
            if key not in self.extras:
                raise AttributeError(f"this solver reports no {key!r} (see its extras)")
            return self.extras[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __repr__(self) -> str:
        return (
            f"RecoveryResult(residual={self.residual:.3e}, n_iter={self.n_iter}, "
            f"converged={self.converged}, certified={self.certified})"
        )
