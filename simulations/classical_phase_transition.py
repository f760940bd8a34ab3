"""Classical phase transition: basis pursuit, IHT and NIHT on the Donoho-Tanner diagram.

x in R^n is s-sparse with a uniformly random support and N(0, 1) non-zeros; A has i.i.d.
N(0, 1/m) entries; y = A x (no noise). Each solver recovers x_hat from (A, y, s) and the trial
succeeds when ||x_hat - x|| <= tol ||x|| (tol = 1e-4). The grid is solver x s x m at a fixed
n, keeping only cells with s <= m (rho = s/m <= 1).

Design: the solver is a grid axis, so each trial runs one solver on its own draw of (x, A).
The summary then has one row per (solver, s, m) with a ``solver`` column and the engine's
Wilson interval on ``success``; running all solvers on one draw would need one success column
per solver, which the engine does not summarise with intervals. Unpaired draws cost nothing
here: the quantities compared (success rates, 50% points) are per-solver marginals, and
independent draws make the solvers' estimates independent.

Basis pursuit's 50% line is the engine's calibration: it must sit on the l1 curve of
Amelunxen, Lotz, McCoy & Tropp (2014), ``sdlss_theory.theory.l1_transition_m``
(see ``docs/studies/classical_phase_transition.md`` and the tests).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from sdlss_theory import basis_pursuit, gaussian_matrix, iht, niht
from sdlss_theory.sweep import Study, StudyConfig

SOLVERS = ("basis_pursuit", "iht", "niht")
Solver = Literal["basis_pursuit", "iht", "niht"]


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    """Configuration: ``n``, the ``m`` and ``s`` axes, the solvers and the success tolerance.

    ``max_iter`` and ``solver_tol`` (stop when the relative change of the iterate falls
    below it) apply to IHT and NIHT; basis pursuit is solved to HiGHS' own tolerances.
    """

    trials: int = 100
    n: int = 200
    m: tuple[int, ...] = tuple(range(10, 201, 10))
    s: tuple[int, ...] = (1, 2, 4, 6, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 100, 120)
    solvers: tuple[Solver, ...] = SOLVERS
    tol: float = 1e-4
    max_iter: int = 2000
    solver_tol: float = 1e-10

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")
        if any(not 1 <= s <= self.n for s in self.s):
            raise ValueError(f"every s must be in [1, n={self.n}], got {self.s}")
        if not any(s <= m for s in self.s for m in self.m):
            raise ValueError("no cell has s <= m: the grid would be empty")
        if len(set(self.solvers)) != len(self.solvers):
            raise ValueError(f"solvers must not repeat, got {self.solvers}")
        if not 0.0 < self.tol < 1.0:
            raise ValueError(f"tol must be in (0, 1), got {self.tol}")
        if self.max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {self.max_iter}")
        if self.solver_tol < 0:
            raise ValueError(f"solver_tol must be >= 0, got {self.solver_tol}")

    @classmethod
    def quick(cls) -> Config:
        """n = 100, 24 values of m (finer where the transitions are narrow), 5 of s, 20 trials.

        The m grid is spaced by 2 below 20 because the transition's width grows like the
        square root of its location: at s = 2 (m_50 ~ 10) a spacing of 5 leaves at most one
        cell inside the transition, too few for a logistic fit.
        """
        return cls(
            trials=20,
            n=100,
            m=(4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 28, 32, 36, 40, 45, 50, 55, 60, 65, 70, 75)
            + (80, 90, 100),
            s=(2, 5, 10, 20, 30),
            max_iter=1000,
        )


def grid(config: Config) -> list[dict]:
    """Cells solver x s x m (s <= m only), in that nesting order."""
    return [
        {
            "solver": solver,
            "n": config.n,
            "s": s,
            "m": m,
            "tol": config.tol,
            "max_iter": config.max_iter,
            "solver_tol": config.solver_tol,
        }
        for solver in config.solvers
        for s in config.s
        for m in config.m
        if s <= m
    ]


def trial(params: dict, rng: np.random.Generator) -> dict:
    """One draw of (x, A), one solver; success if ||x_hat - x|| <= tol ||x||."""
    n, s, m, solver = params["n"], params["s"], params["m"], params["solver"]
    x = np.zeros(n)
    x[rng.choice(n, size=s, replace=False)] = rng.standard_normal(s)
    A = gaussian_matrix(m, n, rng)
    y = A @ x
    if solver == "basis_pursuit":
        result = basis_pursuit(A, y)
    elif solver == "iht":
        result = iht(A, y, s, max_iter=params["max_iter"], tol=params["solver_tol"])
    elif solver == "niht":
        result = niht(A, y, s, max_iter=params["max_iter"], tol=params["solver_tol"])
    else:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    rel_error = float(np.linalg.norm(result.x - x) / np.linalg.norm(x))
    return {
        "success": rel_error <= params["tol"],
        "rel_error": rel_error,
        "rel_residual": float(result.residual / np.linalg.norm(y)),
        # HiGHS' iteration count for basis pursuit (one LP solve is its one iteration).
        "n_iter": int(result.extras.get("highs_iterations", result.n_iter)),
        "converged": bool(result.converged),
    }


STUDY = Study(
    name="classical_phase_transition",
    config=Config,
    grid=grid,
    trial=trial,
    description="Donoho-Tanner diagram of basis pursuit, IHT and NIHT against the l1 curve",
    success="success",
    metrics=("rel_error", "rel_residual", "n_iter"),
    show=("solver", "s", "m", "success", "rel_error", "n_iter"),
    transition="m",
)
