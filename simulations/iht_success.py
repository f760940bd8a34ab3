"""Example study: success rate of classical IHT over the number of measurements m.

x in R^n is s-sparse with a uniformly random support and N(0, 1) non-zeros; A has i.i.d.
N(0, 1/m) entries; y = A x (no noise). IHT (Blumensath & Davies 2009) with its default step is
run from zero, and the trial succeeds if ||x_hat - x|| <= tol_success ||x||.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory import gaussian_matrix, iht
from sdlss_theory.sweep import Study, StudyConfig


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 100
    n: int = 200
    s: int = 10
    m: tuple[int, ...] = (20, 30, 40, 50, 60, 70, 80, 90, 100, 120, 140)
    max_iter: int = 2000
    tol: float = 1e-10
    tol_success: float = 1e-4

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("n", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 1 <= self.s <= self.n:
            raise ValueError(f"s must be in [1, n={self.n}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")

    @classmethod
    def quick(cls) -> Config:
        return cls(trials=20, n=100, s=5, m=(10, 20, 30, 40, 50, 60, 80), max_iter=1000)


def grid(config: Config) -> list[dict]:
    return [
        {
            "n": config.n,
            "s": config.s,
            "m": m,
            "max_iter": config.max_iter,
            "tol": config.tol,
            "tol_success": config.tol_success,
        }
        for m in config.m
    ]


def trial(params: dict, rng: np.random.Generator) -> dict:
    n, s, m = params["n"], params["s"], params["m"]
    x = np.zeros(n)
    x[rng.choice(n, size=s, replace=False)] = rng.standard_normal(s)
    A = gaussian_matrix(m, n, rng)
    result = iht(A, A @ x, s, max_iter=params["max_iter"], tol=params["tol"])
    rel_error = float(np.linalg.norm(result.x - x) / np.linalg.norm(x))
    return {
        "success": rel_error <= params["tol_success"],
        "rel_error": rel_error,
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
    }


STUDY = Study(
    name="iht_success",
    config=Config,
    grid=grid,
    trial=trial,
    description="classical IHT success rate vs measurements m at fixed n, s (example study)",
    success="success",
    metrics=("rel_error", "n_iter"),
    show=("m", "success", "rel_error", "n_iter"),
    transition="m",
)
