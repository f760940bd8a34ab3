"""Latent phase transition: recovery probability under a sparse-latent ReLU generative prior.

Each trial draws a random ReLU generator G: R^k -> R^n (weights N(0, 1/n_i), no biases,
linear output; hidden widths ``hidden[:depth - 1]``), an s-sparse z* with a uniformly random
support and N(0, 1) non-zeros, x* = G(z*), and A with i.i.d. N(0, 1/m) entries; y = A x*
(no noise). One solver recovers z_hat:

* ``latent_iht``: latent IHT (SDLSS) with ``restarts`` random starts z0 ~ N(0, I_k);
* ``latent_niht``: latent normalised IHT, same starts;
* ``latent_recover``: the library's default recovery (greedy seeds, Gauss-Newton on the
  support, negation check, swap search; ``restarts`` extra random starts);
* ``latent_gd``: dense latent gradient descent, the CSGM baseline (Bora et al. 2017), which
  ignores sparsity;
* ``oracle``: knows the support S of z*: ``latent_recover`` on the s coordinates of G
  restricted to S (first layer's columns S; s = |S|, so no support search), with its 2s
  greedy seeds grown to s and the same ``restarts``. It bounds from below the measurements
  any sparse-latent solver needs;
* ``oracle_gd``: the same restricted problem solved by dense gradient descent (the study's
  first oracle, kept for comparison).

Success: ||G(z_hat) - x*|| <= tol ||x*|| (tol = 1e-3). A failed trial is an
*identifiability failure* when z_hat explains the measurements at least as well as z* does,
||y - A G(z_hat)|| <= ||y - A G(z*)|| + ident_tol ||y|| (ident_tol = 1e-6), yet G(z_hat) is
far from x*: another code fits y, so no solver of the same measurement objective could tell
them apart. Otherwise it is an *optimisation failure*: the solver stopped at a worse fit than
the truth offers. Both are emitted as booleans (``ident_failure``, ``opt_failure``), so their
rates per cell are the means in ``summary.csv``. The draw, the solvers and the score are the
library's (`sdlss_theory.experiment.draw_problem`, `sdlss_theory.SOLVERS` and
`sdlss_theory.Oracle`, `sdlss_theory.experiment.score_recovery`).

Design: solver, depth, restarts, s and m are grid axes, and each trial runs one solver on its
own draw (G, A, z*): ``summary.csv`` then has one row per (solver, depth, restarts, s, m) with
the engine's Wilson interval on ``success``.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from sdlss_theory import Oracle, RecoveryResult, make_solver
from sdlss_theory.experiment import RecoveryProblem, draw_problem, score_recovery
from sdlss_theory.sweep import Study, StudyConfig

SOLVER_NAMES = (
    "latent_iht", "latent_niht", "latent_recover", "latent_gd", "oracle", "oracle_gd"
)  # fmt: skip
Solver = Literal["latent_iht", "latent_niht", "latent_recover", "latent_gd", "oracle", "oracle_gd"]
DEFAULT_SOLVERS = ("latent_iht", "latent_niht", "latent_recover", "latent_gd", "oracle")


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    """Configuration of the latent phase-transition study.

    Attributes
    ----------
    k, hidden, n : int, tuple of int, int
        Latent size, hidden widths and signal size; a generator of depth d has dimensions
        ``[k, *hidden[:d - 1], n]`` (so depth 1 is a linear map).
    depth, s, m, restarts : tuple of int
        Grid axes: network depths, latent sparsities, measurements, random restarts.
    solvers : tuple of str
        Grid axis: any of ``latent_iht``, ``latent_niht``, ``latent_recover``, ``latent_gd``,
        ``oracle``, ``oracle_gd`` (by default all but ``oracle_gd``).
    max_iter, solver_tol : int, float
        Iterations per restart, and the solvers' stopping rule on the relative change of z.
    tol : float
        Success: ||G(z_hat) - x*|| <= tol ||x*||.
    ident_tol : float
        A failure is one of identifiability when ||y - A G(z_hat)|| <= ||y - A G(z*)|| +
        ident_tol ||y||.
    init : {"hand", "he"}
        Weight law (``ReLUGenerator.random``): N(0, 1/n_i) or N(0, 2/n_{i-1}).
    """

    trials: int = 50
    k: int = 20
    hidden: tuple[int, ...] = (60, 120)
    n: int = 200
    depth: tuple[int, ...] = (2, 3)
    s: tuple[int, ...] = (1, 2, 3, 5, 8)
    m: tuple[int, ...] = (2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 60, 100, 140, 200)
    solvers: tuple[Solver, ...] = DEFAULT_SOLVERS
    restarts: tuple[int, ...] = (1, 10)
    max_iter: int = 1000
    solver_tol: float = 1e-9
    tol: float = 1e-3
    ident_tol: float = 1e-6
    init: Literal["hand", "he"] = "hand"

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("k", "n", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"every hidden width must be >= 1, got {self.hidden}")
        if any(not 1 <= d <= len(self.hidden) + 1 for d in self.depth):
            raise ValueError(
                f"every depth must be in [1, len(hidden) + 1 = {len(self.hidden) + 1}], "
                f"got {self.depth}"
            )
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")
        if any(r < 1 for r in self.restarts):
            raise ValueError(f"every restarts value must be >= 1, got {self.restarts}")
        if any(name not in SOLVER_NAMES for name in self.solvers):
            raise ValueError(f"every solver must be one of {SOLVER_NAMES}, got {self.solvers}")
        for name in ("depth", "s", "m", "restarts", "solvers"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name} must not repeat values, got {values}")
        if not 0.0 < self.tol < 1.0:
            raise ValueError(f"tol must be in (0, 1), got {self.tol}")
        if self.ident_tol < 0 or self.solver_tol < 0:
            raise ValueError("ident_tol and solver_tol must be >= 0")

    @classmethod
    def quick(cls) -> Config:
        """k = 10, widths 30 and 60, n = 80; two s, eleven m, depths 2 and 3, R in {1, 5}.

        m starts at 1 and is dense at the low end because the oracle and latent_recover
        (s unknowns, or a searched support) succeed with a handful of measurements; 15
        trials per cell.
        """
        return cls(
            trials=15,
            k=10,
            hidden=(30, 60),
            n=80,
            depth=(2, 3),
            s=(2, 4),
            m=(1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 48),
            restarts=(1, 5),
            max_iter=300,
        )


def grid(config: Config) -> list[dict]:
    """Cells solver x depth x restarts x s x m, in that nesting order."""
    return [
        {
            "solver": solver,
            "depth": depth,
            "restarts": restarts,
            "s": s,
            "m": m,
            "k": config.k,
            "hidden": list(config.hidden[: depth - 1]),
            "n": config.n,
            "max_iter": config.max_iter,
            "solver_tol": config.solver_tol,
            "tol": config.tol,
            "ident_tol": config.ident_tol,
            "init": config.init,
        }
        for solver in config.solvers
        for depth in config.depth
        for restarts in config.restarts
        for s in config.s
        for m in config.m
    ]


def solve(params: dict, problem: RecoveryProblem, rng: np.random.Generator) -> RecoveryResult:
    """Run the cell's solver (`SOLVERS`, or `Oracle` on the true support) on `problem`."""
    solver, s, G = params["solver"], params["s"], problem.G
    restarts = params["restarts"]
    options = dict(max_iter=params["max_iter"], tol=params["solver_tol"], starts=restarts)
    if solver in ("latent_recover", "oracle"):
        # The greedy seeds (all 2k when s < k, as by default; 2|S| on the support), then
        # `restarts` random starts.
        seeds = 2 * problem.support.size if solver == "oracle" else 2 * G.k if s < G.k else 0
        options = dict(seeds=seeds, starts=seeds + restarts)
    if solver in ("oracle", "oracle_gd"):
        inner = "latent_gd" if solver == "oracle_gd" else "latent_recover"
        built = Oracle(G, problem.A, problem.support, solver=inner, **options)
    else:
        built = make_solver(solver, G, problem.A, s, **options)
    return built.solve(problem.y, rng=rng)


def trial(params: dict, rng: np.random.Generator) -> dict:
    """One draw of (G, A, z*), one solver; success and the failure's classification."""
    dims = [params["k"], *params["hidden"], params["n"]]
    problem = draw_problem(dims, params["s"], params["m"], rng, init=params["init"])
    result = solve(params, problem, rng)
    return {
        **score_recovery(problem, result.z, tol=params["tol"], ident_tol=params["ident_tol"]),
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
        "restart": int(result.extras["start"]),
        "certified": bool(result.certified),
    }


STUDY = Study(
    name="latent_phase_transition",
    config=Config,
    grid=grid,
    trial=trial,
    description="latent IHT/NIHT/recover, dense GD and oracle-support success over "
    "(m, s, depth, R); failures: identifiability vs optimisation",
    success="success",
    metrics=(
        "ident_failure",
        "opt_failure",
        "support_match",
        "rel_error",
        "rel_residual",
        "latent_error",
        "n_iter",
        "converged",
        "certified",
    ),
    show=("solver", "depth", "restarts", "s", "m", "success", "opt_failure", "ident_failure"),
    transition="m",
)
