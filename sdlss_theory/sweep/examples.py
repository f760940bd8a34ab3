"""Small trial functions and a toy study, used by the tests, the benchmark and the docs.

They are module-level so that any joblib backend can ship them to workers by reference.
"""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from sdlss_theory.sweep.config import StudyConfig
from sdlss_theory.sweep.engine import Study

__all__ = [
    "TOY_STUDY",
    "ToyConfig",
    "cpu_trial",
    "threads_trial",
    "toy_grid",
    "toy_trial",
    "trivial_trial",
]


@dataclasses.dataclass(frozen=True)
class ToyConfig(StudyConfig):
    """Configuration of the toy study: Gaussian samples compared with a threshold."""

    trials: int = 20
    p: tuple[float, ...] = (0.1, 0.5, 0.9)
    size: int = 8
    sleep: float = 0.0
    fail_at: int = -1

    @classmethod
    def quick(cls) -> ToyConfig:
        """Return a tiny preset."""
        return cls(trials=5)


def toy_grid(config: ToyConfig) -> list[dict]:
    """One cell per success probability ``p``."""
    return [
        {"p": p, "size": config.size, "sleep": config.sleep, "fail_at": config.fail_at}
        for p in config.p
    ]


def toy_trial(params: dict, rng: np.random.Generator) -> dict:
    """Draw a small random matrix; succeed with probability ``p``; raise at trial ``fail_at``.

    The metrics depend on every draw, so any change of seed shows in them.
    """
    if params["sleep"] > 0:
        time.sleep(params["sleep"])
    a = rng.standard_normal((params["size"], params["size"]))
    u = rng.uniform()
    if params["fail_at"] >= 0 and u < 0.3:
        raise RuntimeError("toy trial failed on purpose")
    return {
        "success": bool(u < params["p"]),
        "u": float(u),
        "norm": float(np.linalg.norm(a @ a.T)),
        "pid": os.getpid(),
    }


def trivial_trial(params: dict, rng: np.random.Generator) -> dict:
    """Return one uniform draw: measures the engine's overhead per task."""
    return {"success": True, "u": float(rng.uniform())}


def threads_trial(params: dict, rng: np.random.Generator) -> dict:
    """Report the largest thread count of the BLAS/OpenMP pools loaded in this process."""
    from threadpoolctl import threadpool_info

    return {"success": True, "max_threads": max(p["num_threads"] for p in threadpool_info())}


def cpu_trial(params: dict, rng: np.random.Generator) -> dict:
    """A CPU-bound trial: repeated small least-squares solves (about ``work`` ms each)."""
    n = int(params.get("n", 60))
    total = 0.0
    for _ in range(int(params.get("reps", 200))):
        a = rng.standard_normal((n, n))
        b = rng.standard_normal(n)
        total += float(np.linalg.solve(a @ a.T + n * np.eye(n), b) @ b)
    return {"success": True, "value": total}


TOY_STUDY = Study(
    name="toy",
    config=ToyConfig,
    grid=toy_grid,
    trial=toy_trial,
    description="toy study: Bernoulli(p) successes from Gaussian draws (engine tests)",
    success="success",
    metrics=("u", "norm"),
)
