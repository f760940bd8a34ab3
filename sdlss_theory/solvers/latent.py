"""Latent-space iterations for y = A G(z): IHT, normalised IHT, and dense gradient descent.

Each solver is a class (set up once per (G, A), reusable for many y) with a functional
wrapper; `sdlss_theory.solvers._base` states the contract they follow.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from sdlss_theory._kernels.iht import IHTRun, NIHTRun, iht_loop, niht_loop
from sdlss_theory._validation import check_positive_float
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.solvers._base import LatentSolver, checked_rng, functional, positive_int
from sdlss_theory.solvers._problem import Problem
from sdlss_theory.solvers._result import RecoveryResult

__all__ = [
    "GDOptions",
    "IHTOptions",
    "LatentGD",
    "LatentIHT",
    "LatentNIHT",
    "NIHTOptions",
    "latent_gd",
    "latent_iht",
    "latent_niht",
]


def _set(options: Any, **values: Any) -> None:
    for name, value in values.items():
        object.__setattr__(options, name, value)


@dataclasses.dataclass(frozen=True)
class _IterationOptions:
    """The options every iteration has."""

    #: Iterations per start.
    max_iter: int = 1000
    #: Stopping rule (``converged``): an accepted step with ||z_{t+1} - z_t|| <= tol ||z_{t+1}||.
    tol: float = 1e-9
    #: Starting points: rows of ``z0`` first, then z_0 ~ N(0, I_k) from ``rng``; the one
    #: with the smallest final residual is returned.
    starts: int = 1
    #: Tolerance of the stationarity certificate (`RecoveryResult.certified`).
    cert_tol: float = 1e-6

    def __post_init__(self) -> None:
        _set(
            self,
            max_iter=positive_int(self.max_iter, "max_iter"),
            tol=check_positive_float(self.tol, "tol", allow_zero=True),
            starts=positive_int(self.starts, "starts"),
            cert_tol=check_positive_float(self.cert_tol, "cert_tol", allow_zero=True),
        )
        step = getattr(self, "step", None)
        if isinstance(step, str):
            if step != "auto":
                raise ValueError(f"step must be 'auto' or a positive float, got {step!r}")
        elif step is not None:
            _set(self, step=check_positive_float(step, "step"))


@dataclasses.dataclass(frozen=True)
class IHTOptions(_IterationOptions):
    """Options of `LatentIHT` (and of classical `IHT`, where ``step_growth`` is 1).

    All starts advance together as one matrix (each iteration is a GEMM).
    """

    #: ``"auto"``: beta = 1 / (2 ||A J_G(z_0)_Gamma||_2^2), Gamma the support of z_0 grown to
    #: s entries by the largest |gradient| entries (power iteration), then backtracking: a
    #: step that would raise the objective is refused and beta halved, an accepted one
    #: multiplies beta by ``step_growth``. A float fixes beta, without backtracking (an
    #: exploding objective is reported as diverged).
    step: float | str = "auto"
    #: With ``step="auto"``: the factor (>= 1) applied to beta after every accepted step, so
    #: that it can grow back after backtracking halved it (1: never).
    step_growth: float = 1.5

    def __post_init__(self) -> None:
        super().__post_init__()
        growth = check_positive_float(self.step_growth, "step_growth")
        if growth < 1.0:
            raise ValueError(f"step_growth must be >= 1, got {growth}")
        _set(self, step_growth=growth)


@dataclasses.dataclass(frozen=True)
class GDOptions(_IterationOptions):
    """Options of `LatentGD`: ``step`` as in `IHTOptions` (never grown), and ``l2``."""

    step: float | str = "auto"
    #: lambda >= 0, the Gaussian-prior penalty of Bora et al.
    l2: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        _set(self, l2=check_positive_float(self.l2, "l2", allow_zero=True))


@dataclasses.dataclass(frozen=True)
class NIHTOptions(_IterationOptions):
    """Options of `LatentNIHT`: the constants of Blumensath & Davies (2010)."""

    #: Shrinkage of the step where the omega rule fails; kappa > 1 / (1 - c).
    kappa: float = 2.0
    #: Margin of the omega rule, in (0, 1).
    c: float = 0.01

    def __post_init__(self) -> None:
        super().__post_init__()
        c = check_positive_float(self.c, "c")
        if not c < 1:
            raise ValueError(f"c must lie in (0, 1), got {c}")
        kappa = check_positive_float(self.kappa, "kappa")
        if not kappa > 1.0 / (1.0 - c):
            raise ValueError(f"kappa must exceed 1 / (1 - c) = {1 / (1 - c):.4g}, got {kappa}")
        _set(self, c=c, kappa=kappa)


def run_iht(problem: Problem, y, Z, step, run: IHTRun) -> dict:
    """Run `iht_loop` on the rows of Z (in place) from the step rule's initial steps."""
    beta = problem.initial_steps(y, Z, run.s, step)
    history = np.zeros((Z.shape[0], run.max_iter))
    residuals, status, n_iter = iht_loop(problem.net, y, Z, beta, run, history)
    return dict(
        Z=Z, residuals=residuals, status=status, n_iter=n_iter, steps=beta, history=history
    )


def run_niht(problem: Problem, y, Z, run: NIHTRun) -> dict:
    """Run `niht_loop` on the rows of Z (in place)."""
    history = np.zeros((Z.shape[0], run.max_iter))
    residuals, status, n_iter, mus = niht_loop(problem.net, y, Z, run, history)
    return dict(Z=Z, residuals=residuals, status=status, n_iter=n_iter, steps=mus, history=history)


class _Iteration(LatentSolver):
    """What the IHT-type solvers share: validation of y, starts, rng, the best start."""

    def _starts(self, y, z0, rng, s_start: int) -> tuple[np.ndarray, np.ndarray]:
        y = self.problem.check_measurements(y)
        n_given = self.problem.check_starts(z0).shape[0]
        why = "draw random starting points (or give z0 for every start)"
        rng = checked_rng(rng, self.options.starts > n_given, why)
        return y, self.problem.starts(s_start, self.options.starts, z0, rng)


class LatentIHT(_Iteration):
    r"""Latent iterative hard thresholding (SDLSS).

    .. math::

        z_{t+1} = P_s\left(z_t - \beta \nabla_z \lVert y - A G(z_t) \rVert_2^2\right),
        \qquad \nabla_z = 2 J_G(z_t)^T A^T (A G(z_t) - y),

    where P_s keeps the s entries of largest magnitude (`hard_threshold`). Starting points
    are projected with P_s first. With a linear output layer A G(z) = (A W_d) h_{d-1}(z) +
    A b_d, so A W_d is formed once and an iteration never touches the signal dimension n.

    Parameters
    ----------
    G, A : ReLUGenerator, ndarray of shape (m, n)
        The problem y = A G(z), packed once (`ReLUGenerator.pack`).
    s : int
        The latent sparsity, ``1 <= s <= k``.
    options : IHTOptions, optional
        All options at once; keywords override its fields.
    **keywords
        Fields of `IHTOptions`: ``step``, ``max_iter``, ``tol``, ``starts``,
        ``step_growth``, ``cert_tol``.

    Notes
    -----
    An iteration is one candidate step (a refused backtracking step counts). ``converged``:
    the stopping rule on the relative change of z was met; ``certified``: the returned z is
    stationary on its support, ||(grad f)_S|| <= 2 cert_tol ||J_S||_F ||y||. Extras:
    ``start`` (index of the returned start), ``start_residuals`` (final residual of every
    start), ``step`` (the returned start's final beta), ``gradient_norm`` (||(grad f)_S||).

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven
       latent space sampling for generative prior based compressive sensing",
       ICASSP 2021.
    .. [2] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sdlss_theory import ReLUGenerator, gaussian_matrix, hard_threshold, latent_iht
    >>> rng = np.random.default_rng(0)
    >>> G, A = ReLUGenerator.random([20, 60, 120, 200], rng), gaussian_matrix(100, 200, rng)
    >>> y = A @ G(hard_threshold(rng.standard_normal(20), 3))
    >>> result = latent_iht(G, A, y, 3, starts=8, rng=rng)
    >>> result.converged, result.extras["start_residuals"].shape
    (True, (8,))
    """

    Options = IHTOptions

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover z from y = A G(z), as `Solver.solve` says.

        ``z0`` gives up to ``starts`` starting points; the others are drawn z0 ~ N(0, I_k)
        from ``rng``, which is then required (a missing one is refused up front).
        """
        o = self.options
        y, Z = self._starts(y, z0, rng, self.s)
        run = IHTRun(self.s, 0.0, o.max_iter, o.tol, o.step == "auto", o.step_growth)
        return self.problem.best_start(
            y, run_iht(self.problem, y, Z, o.step, run), cert_tol=o.cert_tol
        )


class LatentGD(_Iteration):
    r"""Dense latent gradient descent: the CSGM / DCS baseline, no sparsity.

    .. math::

        z_{t+1} = z_t - \beta \nabla_z \left(\lVert y - A G(z_t) \rVert_2^2
        + \lambda \lVert z_t \rVert_2^2\right)

    Parameters
    ----------
    G, A
        As in `LatentIHT`.
    options : GDOptions, optional
    **keywords
        ``step``, ``l2`` (lambda, the Gaussian-prior penalty of Bora et al.), ``max_iter``,
        ``tol``, ``starts``, ``cert_tol``: see `GDOptions` and `IHTOptions`.

    Notes
    -----
    This is `LatentIHT` with s = k (P_k is the identity), no step growth, plus the l2
    term; with ``l2=0`` both give the same iterates. Starting points are not sparsified.
    Result fields and extras as in `LatentIHT` (the certificate includes the l2 term).

    References
    ----------
    .. [1] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing
       using generative models", ICML 2017.
    .. [2] Y. Wu, M. Rosca and T. Lillicrap, "Deep compressed sensing", ICML 2019.
    """

    Options = GDOptions

    def __init__(self, G: ReLUGenerator, A: np.ndarray, options: Any = None, **keywords: Any):
        super().__init__(G, A, None, options, **keywords)

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover z from y = A G(z); parameters as in `LatentIHT.solve`."""
        o = self.options
        y, Z = self._starts(y, z0, rng, self.s)
        run = IHTRun(self.s, o.l2, o.max_iter, o.tol, o.step == "auto", 1.0)
        return self.problem.best_start(
            y, run_iht(self.problem, y, Z, o.step, run), l2=o.l2, cert_tol=o.cert_tol
        )


class LatentNIHT(_Iteration):
    r"""Latent normalised IHT: the Blumensath-Davies adaptive step carried to the latent.

    With g = J_G(z)^T A^T (y - A G(z)) and Gamma the support of z (grown to s
    entries by the largest |g| when z has fewer non-zeros):

    .. math::

        \mu = \frac{\lVert g_\Gamma \rVert^2}{\lVert A J_G(z) g_\Gamma \rVert^2},
        \qquad z_{t+1} = P_s(z_t + \mu g).

    If the support changes and mu > omega = (1 - c) ||z_{t+1} - z_t||^2 /
    ||A J_G(z_t)(z_{t+1} - z_t)||^2, then mu <- mu / (kappa (1 - c)) and the step
    is recomputed. Since A J_G(z) only linearises A G near z, a step that still
    raises the objective is halved until it does not (at most 200 times, then the start
    stops as stalled).

    Parameters
    ----------
    G, A, s
        As in `LatentIHT`.
    options : NIHTOptions, optional
    **keywords
        ``max_iter``, ``tol``, ``starts``, ``kappa``, ``c``, ``cert_tol``: see
        `NIHTOptions`.

    Notes
    -----
    ``converged`` also when g_Gamma = 0 or A J_G g_Gamma = 0 (no descent direction on the
    support). Result fields and extras as in `LatentIHT` (``step`` is the last mu).

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Normalized iterative hard
       thresholding: guaranteed stability and performance", IEEE J. Sel.
       Topics Signal Process. 4(2), 2010.
    """

    Options = NIHTOptions

    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover z from y = A G(z); parameters as in `LatentIHT.solve`."""
        o = self.options
        y, Z = self._starts(y, z0, rng, self.s)
        run = NIHTRun(self.s, o.max_iter, o.tol, o.kappa, o.c)
        return self.problem.best_start(y, run_niht(self.problem, y, Z, run), cert_tol=o.cert_tol)


latent_iht = functional("latent_iht", LatentIHT, ("G", "A", "y", "s"), "Latent IHT")
latent_niht = functional("latent_niht", LatentNIHT, ("G", "A", "y", "s"), "Latent normalised IHT")
latent_gd = functional("latent_gd", LatentGD, ("G", "A", "y"), "Dense latent gradient descent")
