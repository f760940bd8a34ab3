"""Classical sparse recovery of s-sparse x from y = A x: IHT, NIHT and basis pursuit.

IHT and NIHT are the latent solvers on the one-layer linear network F(x) = A x, so the
classical and latent solvers share every line of their iteration, step and stopping logic;
the start is named ``z0`` in both.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
from scipy.optimize import linprog

from sdlss_theory._validation import as_float_array, check_positive_float
from sdlss_theory.projection import check_sparsity
from sdlss_theory.solvers._base import Solver, checked_rng, functional
from sdlss_theory.solvers._problem import Problem
from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.latent import IHTOptions, LatentIHT, LatentNIHT

__all__ = [
    "IHT",
    "NIHT",
    "BasisPursuit",
    "BasisPursuitOptions",
    "basis_pursuit",
    "iht",
    "niht",
]


class _Classical:
    """The classical start: z0 = 0 unless given.

    Unlike a ReLU network, A x has a non-zero gradient at 0.
    """

    problem: Problem

    def __init__(self, A: np.ndarray, s: int, options: Any = None, **keywords: Any):
        self.problem = Problem.from_matrix(A)
        self.s = check_sparsity(s, self.problem.k)
        self._set_options(options, keywords)  # type: ignore[attr-defined]

    def solve(self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None):
        """Recover x from y = A x; z0 (shape (n,) or (R, n)) defaults to zero."""
        start = np.zeros(self.problem.k) if z0 is None else z0
        return super().solve(y, z0=start, rng=rng)  # type: ignore[misc]


class IHT(_Classical, LatentIHT):
    r"""Iterative hard thresholding for s-sparse x (Blumensath & Davies 2009).

    .. math::

        x_{t+1} = P_s\left(x_t - \beta \nabla \lVert y - A x_t \rVert_2^2\right)
                = P_s\left(x_t + 2 \beta A^T (y - A x_t)\right)

    `LatentIHT` on F(x) = A x: the same step rule (``"auto"``: beta = 1 / (2 ||A_Gamma||_2^2),
    Gamma the s columns that P_s(A^T y) selects from x_0 = 0, halved if the objective would
    rise), stopping rule, certificate and extras; ``z`` of the result is None.

    Parameters
    ----------
    A : ndarray, shape (m, n)
        The sensing matrix.
    s : int
        The sparsity, ``1 <= s <= n``.
    options : IHTOptions, optional
    **keywords
        As in `LatentIHT`; ``step_growth`` defaults to 1 here.

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.
    """

    def default_options(self) -> IHTOptions:
        """`IHTOptions` with ``step_growth=1``: the step of Blumensath & Davies, never grown."""
        return IHTOptions(step_growth=1.0)


class NIHT(_Classical, LatentNIHT):
    r"""Normalised IHT (Blumensath & Davies 2010) for s-sparse x.

    With g = A^T (y - A x_t) and Gamma the support of x_t (of P_s(A^T y) at x_0 = 0),
    mu = ||g_Gamma||^2 / ||A g_Gamma||^2 and x_{t+1} = P_s(x_t + mu g), with the omega rule
    and safeguard of `LatentNIHT` (whose options, result and extras it shares).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    s : int
    options : NIHTOptions, optional
    **keywords
        As in `LatentNIHT`.

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Normalized iterative hard
       thresholding: guaranteed stability and performance", IEEE J. Sel.
       Topics Signal Process. 4(2), 2010.
    """


@dataclasses.dataclass(frozen=True)
class BasisPursuitOptions:
    """Options of `BasisPursuit`.

    Attributes
    ----------
    cert_tol : float
        Tolerance of the LP duality certificate: ||A^T l||_inf <= 1 + cert_tol and
        |y^T l - ||x||_1| <= cert_tol max(1, ||x||_1) for HiGHS' dual solution l.
    """

    cert_tol: float = 1e-9

    def __post_init__(self) -> None:
        tol = check_positive_float(self.cert_tol, "cert_tol", allow_zero=True)
        object.__setattr__(self, "cert_tol", tol)


class BasisPursuit(Solver):
    r"""Basis pursuit: min ||x||_1 subject to A x = y, as a linear program.

    With x = u - v, u, v >= 0: minimise 1^T (u + v) subject to [A, -A] [u; v] = y,
    solved by SciPy's HiGHS as one iteration (``n_iter`` = 1, ``history`` the final
    residual). ``converged`` is HiGHS' success flag; on failure ``x`` is zeros (never NaN).
    ``certified``: LP duality holds for HiGHS' equality duals l (`BasisPursuitOptions`), so
    x is l1-optimal. Extras: ``dual`` (l) and ``highs_iterations`` (HiGHS' own count). It
    never draws (``rng`` and ``z0`` are ignored).

    Parameters
    ----------
    A : ndarray, shape (m, n)
    options : BasisPursuitOptions, optional
    **keywords
        ``cert_tol``.

    References
    ----------
    .. [1] S. S. Chen, D. L. Donoho and M. A. Saunders, "Atomic decomposition
       by basis pursuit", SIAM J. Sci. Comput. 20(1), 1998.
    """

    Options = BasisPursuitOptions

    def __init__(self, A: np.ndarray, options: BasisPursuitOptions | None = None, **keywords):
        self.A = as_float_array(A, "A", ndim=(2,))
        self._set_options(options, keywords)

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Solve the LP for the measurements y (shape (m,))."""
        A = self.A
        m, n = A.shape
        y = as_float_array(y, "y", ndim=(1,))
        if y.shape != (m,):
            raise ValueError(f"y must have shape ({m},) to match A, got {y.shape}")
        checked_rng(rng, False, "")
        res = linprog(
            np.ones(2 * n), A_eq=np.hstack([A, -A]), b_eq=y, bounds=(0, None), method="highs"
        )
        x = res.x[:n] - res.x[n:] if res.success else np.zeros(n)
        residual = float(np.linalg.norm(y - A @ x))
        dual = np.asarray(res.eqlin.marginals) if res.success else np.zeros(m)
        l1, tol = float(np.abs(x).sum()), self.options.cert_tol
        certified = bool(
            res.success
            and np.max(np.abs(A.T @ dual), initial=0.0) <= 1.0 + tol
            and abs(float(y @ dual) - l1) <= tol * max(1.0, l1)
        )
        return RecoveryResult(
            x=x,
            z=None,
            residual=residual,
            n_iter=1,
            converged=bool(res.success),
            certified=certified,
            message="converged: HiGHS found an optimal solution"
            if res.success
            else f"HiGHS failed: {res.message}",
            history=np.array([residual]),
            extras={"dual": dual, "highs_iterations": int(getattr(res, "nit", 0))},
        )


iht = functional("iht", IHT, ("A", "y", "s"), "Classical IHT")
niht = functional("niht", NIHT, ("A", "y", "s"), "Classical normalised IHT")
basis_pursuit = functional("basis_pursuit", BasisPursuit, ("A", "y"), "Basis pursuit")
