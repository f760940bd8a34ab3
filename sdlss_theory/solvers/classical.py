"""Classical sparse recovery of s-sparse x from y = A x: IHT, NIHT and basis pursuit.

IHT and NIHT run the latent kernels through the one-layer linear network
F(x) = A x, so the classical and latent solvers share every line of their
iteration and step logic.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linprog

from sdlss_theory._validation import as_float_array
from sdlss_theory.solvers._driver import PackedProblem, best_restart, check_sparsity
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["basis_pursuit", "iht", "niht"]


def _identity_signal(x: np.ndarray) -> tuple[np.ndarray, None]:
    return x, None


def _setup(A, y, s, x0):
    problem = PackedProblem.linear(A)
    y = problem.check_measurements(y)
    s = check_sparsity(s, problem.k)
    # x0 = 0 by default: unlike a ReLU network, A x has a non-zero gradient there.
    X = problem.starts(s, 1, np.zeros(problem.k) if x0 is None else x0, None)
    return problem, y, s, X


def iht(
    A: np.ndarray,
    y: np.ndarray,
    s: int,
    *,
    step: float | str = "auto",
    max_iter: int = 1000,
    tol: float = 1e-9,
    x0: np.ndarray | None = None,
    engine: str = "auto",
) -> RecoveryResult:
    r"""Iterative hard thresholding for s-sparse x.

    .. math::

        x_{t+1} = P_s\left(x_t - \beta \nabla \lVert y - A x_t \rVert_2^2\right)
                = P_s\left(x_t + 2 \beta A^T (y - A x_t)\right)

    Parameters
    ----------
    A : ndarray, shape (m, n)
        The sensing matrix.
    y : ndarray, shape (m,)
        The measurements.
    s : int
        The sparsity, ``1 <= s <= n``.
    step : "auto" or float
        ``"auto"``: beta = 1 / (2 ||A_Gamma||_2^2), with Gamma the s columns
        that P_s(A^T y) selects (the restricted curvature, about (1 + sqrt(s/m))^2
        for Gaussian A, rather than ||A||_2^2, about (1 + sqrt(n/m))^2), halved
        whenever a step would raise the objective. A float fixes beta.
    max_iter : int
        Maximum number of iterations.
    tol : float
        Stop when ||x_{t+1} - x_t|| <= tol ||x_{t+1}||.
    x0 : ndarray, shape (n,), optional
        The start (projected with P_s); zero by default.
    engine : {"auto", "numba", "numpy"}
        The compiled kernel or the same loop run by the interpreter.

    Returns
    -------
    RecoveryResult
        With ``z=None``.

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.
    """
    problem, y, s, X = _setup(A, y, s, x0)
    run = problem.run_iht(y, X, s, step, l2=0.0, max_iter=max_iter, tol=tol, engine=engine)
    return best_restart(run, _identity_signal)


def niht(
    A: np.ndarray,
    y: np.ndarray,
    s: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
    x0: np.ndarray | None = None,
    kappa: float = 2.0,
    c: float = 0.01,
    engine: str = "auto",
) -> RecoveryResult:
    r"""Normalised IHT (Blumensath & Davies 2010) for s-sparse x.

    With g = A^T (y - A x_t) and Gamma the support of x_t (of P_s(A^T y) at x_0 = 0):

    .. math::

        \mu = \frac{\lVert g_\Gamma \rVert^2}{\lVert A g_\Gamma \rVert^2},
        \qquad x_{t+1} = P_s(x_t + \mu g),

    and if the support changes while mu > omega = (1 - c) ||x_{t+1} - x_t||^2 /
    ||A (x_{t+1} - x_t)||^2, mu <- mu / (kappa (1 - c)).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
    max_iter, tol, x0, engine
        As in `iht`.
    kappa, c : float
        Shrinkage constants (kappa > 1 / (1 - c)).

    Returns
    -------
    RecoveryResult

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Normalized iterative hard
       thresholding: guaranteed stability and performance", IEEE J. Sel.
       Topics Signal Process. 4(2), 2010.
    """
    problem, y, s, X = _setup(A, y, s, x0)
    run = problem.run_niht(y, X, s, max_iter=max_iter, tol=tol, kappa=kappa, c=c, engine=engine)
    return best_restart(run, _identity_signal)


def basis_pursuit(A: np.ndarray, y: np.ndarray) -> RecoveryResult:
    r"""Basis pursuit: min ||x||_1 subject to A x = y, as a linear program.

    With x = u - v, u, v >= 0: minimise 1^T (u + v) subject to [A, -A] [u; v] = y,
    solved by SciPy's HiGHS.

    Parameters
    ----------
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)

    Returns
    -------
    RecoveryResult
        ``converged`` is HiGHS' success flag; ``message`` its status message;
        ``n_iter`` its iteration count. On failure ``x`` is zeros (never NaN).

    References
    ----------
    .. [1] S. S. Chen, D. L. Donoho and M. A. Saunders, "Atomic decomposition
       by basis pursuit", SIAM J. Sci. Comput. 20(1), 1998.
    """
    A = as_float_array(A, "A", ndim=(2,))
    y = as_float_array(y, "y", ndim=(1,))
    m, n = A.shape
    if y.shape != (m,):
        raise ValueError(f"y must have shape ({m},) to match A, got {y.shape}")
    res = linprog(
        np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs"
    )
    x = res.x[:n] - res.x[n:] if res.success else np.zeros(n)
    residual = float(np.linalg.norm(y - A @ x))
    return RecoveryResult(
        x=x,
        z=None,
        residual=residual,
        n_iter=int(getattr(res, "nit", 0)),
        converged=bool(res.success),
        message="converged: HiGHS found an optimal solution"
        if res.success
        else f"HiGHS failed: {res.message}",
        history=np.array([residual]),
        step=float("nan"),
        restart_residuals=np.array([residual]),
    )
