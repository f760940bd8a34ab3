"""The result every solver returns: a common core plus the solver's own extras."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["RecoveryResult"]


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

    def __repr__(self) -> str:
        return (
            f"RecoveryResult(residual={self.residual:.3e}, n_iter={self.n_iter}, "
            f"converged={self.converged}, certified={self.certified})"
        )
