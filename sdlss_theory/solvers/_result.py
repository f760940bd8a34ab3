"""The result every solver returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Status codes shared with the kernels, and what they mean to a user.
MESSAGES = {
    0: "maximum number of iterations reached before the relative change of z fell below tol",
    1: "converged: the relative change of the iterate fell below tol",
    2: "diverged: the objective exploded at this fixed step; the last finite iterate is kept",
    3: "stalled: backtracking could not decrease the objective (numerically stationary point)",
}


@dataclass
class RecoveryResult:
    """What a recovery returns.

    Attributes
    ----------
    x : ndarray
        The recovered signal (``G(z)`` for latent solvers).
    z : ndarray or None
        The recovered latent code (None for classical solvers).
    residual : float
        ||y - A x||.
    n_iter : int
        Iterations run by the returned restart.
    converged : bool
        Whether the stopping rule was met (see `message` otherwise).
    message : str
        Why the solver stopped.
    history : ndarray
        ||y - A x_t|| after each iteration t of the returned restart.
    restart : int
        Which restart the result comes from (the one with the smallest residual).
    restart_residuals : ndarray
        The final residual of every restart.
    step : float
        The final step size of the returned restart.
    certified : bool
        Whether the result is certified: its residual is at most that of every other
        restart and it is a stationary point on its support (``gradient_norm`` small; see
        `LatentRecover`). False for solvers that do not check it.
    gradient_norm : float
        ||(grad f(z))_S||, the gradient of ||y - A G(z)||^2 on the support S of the
        returned z (NaN when not computed).
    support_changes : int
        How often the support of the returned restart changed during the run (-1 when not
        counted).
    """

    x: np.ndarray
    z: np.ndarray | None
    residual: float
    n_iter: int
    converged: bool
    message: str
    history: np.ndarray
    restart: int = 0
    restart_residuals: np.ndarray = field(default_factory=lambda: np.zeros(1))
    step: float = float("nan")
    certified: bool = False
    gradient_norm: float = float("nan")
    support_changes: int = -1

    def __repr__(self) -> str:
        return (
            f"RecoveryResult(residual={self.residual:.3e}, n_iter={self.n_iter}, "
            f"converged={self.converged}, restart={self.restart})"
        )
