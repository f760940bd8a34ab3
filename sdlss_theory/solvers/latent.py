"""Latent-space solvers for y = A G(z): IHT, normalised IHT, and dense gradient descent.

Each solver is a class (set up once per (G, A), reusable for many y) with a
functional wrapper, in the style of PyLops.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.solvers._driver import PackedProblem, best_restart, check_sparsity
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["LatentGD", "LatentIHT", "LatentNIHT", "latent_gd", "latent_iht", "latent_niht"]


class _LatentSolver:
    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        *,
        max_iter: int,
        tol: float,
        restarts: int,
        engine: str,
    ):
        self.problem = PackedProblem.latent(G, A)
        self.G = G
        self.max_iter = max_iter
        self.tol = tol
        self.restarts = restarts
        self.engine = engine

    def _signal(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.G(z), z


class LatentIHT(_LatentSolver):
    r"""Latent iterative hard thresholding (SDLSS).

    .. math::

        z_{t+1} = P_s\left(z_t - \beta \nabla_z \lVert y - A G(z_t) \rVert_2^2\right),
        \qquad \nabla_z = 2 J_G(z_t)^T A^T (A G(z_t) - y),

    where P_s keeps the s entries of largest magnitude (`hard_threshold`).

    Parameters
    ----------
    G : ReLUGenerator
        The generator.
    A : ndarray, shape (m, n)
        The sensing matrix.
    s : int
        The latent sparsity, ``1 <= s <= k``.
    step : "auto" or float
        ``"auto"``: beta = 1 / (2 ||A J_G(z_0)_Gamma||_2^2), the inverse
        curvature of the Gauss-Newton model restricted to Gamma, the support
        of z_0 grown to s entries by the largest |gradient| entries (power
        iteration at the start), halved whenever a step would raise the
        objective; so the objective never increases and needs no tuning. A float fixes beta
        (a step that makes the objective explode is reported as diverged).
    max_iter : int
        Iterations per restart.
    tol : float
        Stop when ||z_{t+1} - z_t|| <= tol ||z_{t+1}||.
    restarts : int
        Starting points; all advance together as one matrix (each iteration
        is a GEMM), and the one with the smallest residual is returned.
    engine : {"auto", "numba", "numpy"}
        The compiled kernel or the same loop run by the interpreter.
    step_growth : float
        With ``step="auto"``: every accepted step multiplies beta by this factor (>= 1),
        so the step can grow back after backtracking halved it (1: never grows, the rule
        before issue 6). The default 1.5 roughly halves the measurements latent IHT needs
        on random generators (docs/solvers.md); 1.5, 2 and 4 measured alike.
    continuation : int
        c >= 0: threshold at s + c first and tighten by one every max_iter / (c + 1)
        iterations down to s (0: always s).
    negate_every : int
        Every that many iterations, replace each restart z by -z if f(-z) < f(z) (the
        negation check of Huang, Hand, Heckel & Voroninski 2018; 0: never).

    Notes
    -----
    The options ``step_growth``, ``continuation`` and ``negate_every`` are measured in
    docs/solvers.md: step growth paid (the default), continuation and the negation check
    did not. `latent_recover` is the solver that approaches the oracle.
    With a linear output layer A G(z) = (A W_d) h_{d-1}(z) + A b_d, so A W_d is
    formed once and an iteration never touches the signal dimension n.
    Starting points are projected with P_s before the first iteration.

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven
       latent space sampling for generative prior based compressive sensing",
       ICASSP 2021.
    .. [2] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.
    """

    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        s: int,
        *,
        step: float | str = "auto",
        max_iter: int = 1000,
        tol: float = 1e-9,
        restarts: int = 1,
        engine: str = "auto",
        step_growth: float = 1.5,
        continuation: int = 0,
        negate_every: int = 0,
    ):
        super().__init__(G, A, max_iter=max_iter, tol=tol, restarts=restarts, engine=engine)
        self.s = check_sparsity(s, G.k)
        self.step = step
        self.step_growth = step_growth
        self.continuation = check_int(continuation, "continuation", minimum=0)
        self.negate_every = negate_every

    def solve(
        self,
        y: np.ndarray,
        *,
        z0: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> RecoveryResult:
        """Recover z from y = A G(z).

        Parameters
        ----------
        y : ndarray, shape (m,)
            The measurements.
        z0 : ndarray, shape (k,) or (R, k), optional
            Starting points; restarts beyond these draw z0 ~ N(0, I) from `rng`.
        rng : numpy.random.Generator, optional
            Needed when starting points must be drawn.

        Returns
        -------
        RecoveryResult
        """
        y = self.problem.check_measurements(y)
        # With continuation the starts keep s + c entries (the first stage's sparsity).
        s_start = min(self.s + self.continuation, self.problem.k)
        Z = self.problem.starts(s_start, self.restarts, z0, rng)
        run = self.problem.run_iht(
            y,
            Z,
            self.s,
            self.step,
            l2=0.0,
            max_iter=self.max_iter,
            tol=self.tol,
            engine=self.engine,
            growth=self.step_growth,
            continuation=self.continuation,
            negate_every=self.negate_every,
        )
        return best_restart(run, self._signal)


class LatentGD(_LatentSolver):
    r"""Dense latent gradient descent: the CSGM / DCS baseline, no sparsity.

    .. math::

        z_{t+1} = z_t - \beta \nabla_z \left(\lVert y - A G(z_t) \rVert_2^2
        + \lambda \lVert z_t \rVert_2^2\right)

    Parameters
    ----------
    G, A, step, max_iter, tol, restarts, engine
        As in `LatentIHT`.
    l2 : float
        lambda, the Gaussian-prior penalty of Bora et al. (0 by default).

    Notes
    -----
    This is `LatentIHT` with s = k (P_k is the identity) plus the l2 term; with
    ``l2=0`` both produce the same iterates.

    References
    ----------
    .. [1] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing
       using generative models", ICML 2017.
    .. [2] Y. Wu, M. Rosca and T. Lillicrap, "Deep compressed sensing", ICML 2019.
    """

    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        *,
        step: float | str = "auto",
        l2: float = 0.0,
        max_iter: int = 1000,
        tol: float = 1e-9,
        restarts: int = 1,
        engine: str = "auto",
    ):
        super().__init__(G, A, max_iter=max_iter, tol=tol, restarts=restarts, engine=engine)
        self.l2 = check_positive_float(l2, "l2", allow_zero=True)
        self.step = step

    def solve(
        self,
        y: np.ndarray,
        *,
        z0: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> RecoveryResult:
        """Recover z from y = A G(z); parameters as in `LatentIHT.solve`."""
        y = self.problem.check_measurements(y)
        k = self.problem.k
        Z = self.problem.starts(k, self.restarts, z0, rng)
        run = self.problem.run_iht(
            y,
            Z,
            k,
            self.step,
            l2=self.l2,
            max_iter=self.max_iter,
            tol=self.tol,
            engine=self.engine,
        )
        return best_restart(run, self._signal)


class LatentNIHT(_LatentSolver):
    r"""Latent normalised IHT: the Blumensath–Davies adaptive step carried to the latent.

    With g = J_G(z)^T A^T (y - A G(z)) and Gamma the support of z (grown to s
    entries by the largest |g| when z has fewer non-zeros):

    .. math::

        \mu = \frac{\lVert g_\Gamma \rVert^2}{\lVert A J_G(z) g_\Gamma \rVert^2},
        \qquad z_{t+1} = P_s(z_t + \mu g).

    If the support changes and mu > omega = (1 - c) ||z_{t+1} - z_t||^2 /
    ||A J_G(z_t)(z_{t+1} - z_t)||^2, then mu <- mu / (kappa (1 - c)) and the step
    is recomputed. Since A J_G(z) only linearises A G near z, a step that still
    raises the objective is halved until it does not.

    Parameters
    ----------
    G, A, s, max_iter, tol, restarts, engine
        As in `LatentIHT`.
    kappa, c : float
        The shrinkage constants of Blumensath & Davies (kappa > 1 / (1 - c)).

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Normalized iterative hard
       thresholding: guaranteed stability and performance", IEEE J. Sel.
       Topics Signal Process. 4(2), 2010.
    """

    def __init__(
        self,
        G: ReLUGenerator,
        A: np.ndarray,
        s: int,
        *,
        max_iter: int = 1000,
        tol: float = 1e-9,
        restarts: int = 1,
        kappa: float = 2.0,
        c: float = 0.01,
        engine: str = "auto",
    ):
        super().__init__(G, A, max_iter=max_iter, tol=tol, restarts=restarts, engine=engine)
        self.s = check_sparsity(s, G.k)
        self.kappa = kappa
        self.c = c

    def solve(
        self,
        y: np.ndarray,
        *,
        z0: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> RecoveryResult:
        """Recover z from y = A G(z); parameters as in `LatentIHT.solve`."""
        y = self.problem.check_measurements(y)
        Z = self.problem.starts(self.s, self.restarts, z0, rng)
        run = self.problem.run_niht(
            y,
            Z,
            self.s,
            max_iter=self.max_iter,
            tol=self.tol,
            kappa=self.kappa,
            c=self.c,
            engine=self.engine,
        )
        return best_restart(run, self._signal)


def latent_iht(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    s: int,
    *,
    step: float | str = "auto",
    max_iter: int = 1000,
    tol: float = 1e-9,
    restarts: int = 1,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    engine: str = "auto",
    step_growth: float = 1.5,
    continuation: int = 0,
    negate_every: int = 0,
) -> RecoveryResult:
    """Latent IHT: ``LatentIHT(G, A, s, ...).solve(y, z0=z0, rng=rng)``; see `LatentIHT`.

    Parameters
    ----------
    G : ReLUGenerator
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
    step, max_iter, tol, restarts, engine, step_growth, continuation, negate_every
        See `LatentIHT`.
    z0, rng
        See `LatentIHT.solve`.

    Returns
    -------
    RecoveryResult

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix, hard_threshold
    >>> rng = np.random.default_rng(0)
    >>> G = ReLUGenerator.random([20, 60, 120, 200], rng)
    >>> z_true = hard_threshold(rng.standard_normal(20), 3)
    >>> A = gaussian_matrix(100, 200, rng)
    >>> result = latent_iht(G, A, A @ G(z_true), 3, restarts=8, rng=rng)
    >>> result.converged, result.restart_residuals.shape
    (True, (8,))
    """
    solver = LatentIHT(
        G,
        A,
        s,
        step=step,
        max_iter=max_iter,
        tol=tol,
        restarts=restarts,
        engine=engine,
        step_growth=step_growth,
        continuation=continuation,
        negate_every=negate_every,
    )
    return solver.solve(y, z0=z0, rng=rng)


def latent_niht(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    s: int,
    *,
    max_iter: int = 1000,
    tol: float = 1e-9,
    restarts: int = 1,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    kappa: float = 2.0,
    c: float = 0.01,
    engine: str = "auto",
) -> RecoveryResult:
    """Latent normalised IHT; see `LatentNIHT`.

    Parameters
    ----------
    G : ReLUGenerator
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    s : int
    max_iter, tol, restarts, kappa, c, engine
        See `LatentNIHT`.
    z0, rng
        See `LatentIHT.solve`.

    Returns
    -------
    RecoveryResult
    """
    solver = LatentNIHT(
        G, A, s, max_iter=max_iter, tol=tol, restarts=restarts, kappa=kappa, c=c, engine=engine
    )
    return solver.solve(y, z0=z0, rng=rng)


def latent_gd(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    *,
    step: float | str = "auto",
    l2: float = 0.0,
    max_iter: int = 1000,
    tol: float = 1e-9,
    restarts: int = 1,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
    engine: str = "auto",
) -> RecoveryResult:
    """Dense latent gradient descent (CSGM baseline); see `LatentGD`.

    Parameters
    ----------
    G : ReLUGenerator
    A : ndarray, shape (m, n)
    y : ndarray, shape (m,)
    step, l2, max_iter, tol, restarts, engine
        See `LatentGD`.
    z0, rng
        See `LatentIHT.solve`.

    Returns
    -------
    RecoveryResult
    """
    solver = LatentGD(
        G, A, step=step, l2=l2, max_iter=max_iter, tol=tol, restarts=restarts, engine=engine
    )
    return solver.solve(y, z0=z0, rng=rng)
