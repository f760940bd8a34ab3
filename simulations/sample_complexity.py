"""Is the number of measurements really O(s d log(k h / s))? The 50% transition m* of latent IHT.

The SDLSS theorem (Killedar, Pokala & Seelamantula, ICASSP 2021) says that a Gaussian A with
m = O(s d log(k h / s)) rows satisfies the S-REC on the range of a d-layer ReLU generator over
s-sparse codes (latent size k, widest layer h), against Bora et al.'s O(k d log n) for dense
codes. This study measures, for a set of configurations (s, d, k, h), the number of
measurements m* at which latent recovery succeeds with probability 1/2; the figure fits the
transition and compares m* with the predictors.

Configurations. A base point (base_s, base_depth, base_k, base_h) and one-factor-at-a-time
sweeps around it: s over `s_values`, d over `depth_values`, k over `k_values`, h over
`h_values` (the others at the base). The generator is `ReLUGenerator.random([k, h, ..., h, n])`
with d hidden ReLU layers of width h and a linear output layer of size n (so d counts the
layers that create linear pieces, as in the theorem, and h is their width; G.depth = d + 1).

Coupled m axis. For each configuration, m runs over round(f * m_ref) for f in `m_factors`,
m_ref = c_ref s d log(k h / s) (`sdlss_theory.theory.sdlss_measurements`), clipped to
[1, n] and de-duplicated, so the axis scales with the configuration and brackets its
transition (if the data follow the predictor only loosely, widen `m_factors`).

Trial. Draw G, z* (s-sparse, uniform support, N(0, 1) non-zeros; redrawn in the rare case
G(z*) = 0), x* = G(z*), A with
N(0, 1/m) entries, y = A x* (no noise). Recover with latent NIHT (`latent_niht`, Blumensath &
Davies' normalised step carried to the latent, `restarts` random starts, the best residual
kept); `solver = "iht"` switches to latent IHT (step "auto", restarts advancing together). NIHT
is the default because in a pilot (k = 10, widths 40/40, n = 60, 80 trials per point) it
succeeded more often than latent IHT at the same number of restarts (s = 3, m = 13: 0.76 vs
0.51 with 32 restarts, 0.86 vs 0.70 with 64) and at least as often at equal run time.
Success when ||G(z_hat) - x*|| <= tol_success ||x*||.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from sdlss_theory import (
    ReLUGenerator,
    gaussian_matrix,
    latent_iht,
    latent_niht,
)
from sdlss_theory.sweep import Study, StudyConfig
from sdlss_theory.theory import sdlss_measurements
from simulations._common import nonzero_sparse_code


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 100
    base_s: int = 3
    base_depth: int = 2
    base_k: int = 40
    base_h: int = 100
    n: int = 300
    s_values: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    depth_values: tuple[int, ...] = (1, 2, 3, 4)
    k_values: tuple[int, ...] = (20, 40, 80, 160)
    h_values: tuple[int, ...] = (25, 50, 100, 200)
    m_factors: tuple[float, ...] = (0.05, 0.08, 0.12, 0.16, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
    c_ref: float = 1.0
    solver: Literal["iht", "niht"] = "niht"
    restarts: int = 64
    max_iter: int = 1000
    tol_success: float = 1e-3
    bias: bool = False
    guarantee_gamma: float = 0.5
    guarantee_prob: float = 0.9

    def __post_init__(self) -> None:
        super().__post_init__()
        ks = (self.base_k, *self.k_values)
        for s in (self.base_s, *self.s_values):
            if not 1 <= s <= min(ks):
                raise ValueError(f"every s must be in [1, min k = {min(ks)}], got {s}")
        for name in ("base_depth", "base_h", "n", "restarts", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("depth_values", "k_values", "h_values"):
            if any(v < 1 for v in getattr(self, name)):
                raise ValueError(f"every entry of {name} must be >= 1, got {getattr(self, name)}")
        if any(f <= 0 for f in self.m_factors):
            raise ValueError(f"every m_factor must be > 0, got {self.m_factors}")
        if self.c_ref <= 0 or self.tol_success <= 0:
            raise ValueError("c_ref and tol_success must be > 0")
        if not 0 <= self.guarantee_gamma < 1 or not 0 <= self.guarantee_prob < 1:
            raise ValueError("guarantee_gamma and guarantee_prob must lie in [0, 1)")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=10,
            base_s=2,
            base_depth=2,
            base_k=10,
            base_h=40,
            n=60,
            s_values=(1, 2, 3, 4),
            depth_values=(1, 2, 3),
            k_values=(10, 20),
            h_values=(20, 40, 80),
            m_factors=(0.1, 0.15, 0.25, 0.4, 0.6, 1.0),
            restarts=24,
            max_iter=500,
        )


def configurations(config: Config) -> list[tuple[int, int, int, int]]:
    """The (s, d, k, h) configurations: the base and the four one-factor sweeps, in order."""
    base = (config.base_s, config.base_depth, config.base_k, config.base_h)
    out = [base]
    sweeps = (
        (0, config.s_values),
        (1, config.depth_values),
        (2, config.k_values),
        (3, config.h_values),
    )
    for axis, values in sweeps:
        for v in values:
            c = list(base)
            c[axis] = v
            if tuple(c) not in out:
                out.append(tuple(c))
    return out


def m_axis(config: Config, s: int, d: int, k: int, h: int) -> list[int]:
    """round(f * c_ref * s d log(k h / s)) for f in m_factors, clipped to [1, n], unique."""
    ref = float(sdlss_measurements(s, d, k, h, c=config.c_ref))
    ms = {min(config.n, max(1, round(f * ref))) for f in config.m_factors}
    return sorted(ms)


def grid(config: Config) -> list[dict]:
    fixed = {
        "n": config.n,
        "solver": config.solver,
        "restarts": config.restarts,
        "max_iter": config.max_iter,
        "tol_success": config.tol_success,
        "bias": config.bias,
    }
    return [
        {"s": s, "depth": d, "k": k, "h": h, "m": m, **fixed}
        for s, d, k, h in configurations(config)
        for m in m_axis(config, s, d, k, h)
    ]


def trial(params: dict, rng: np.random.Generator) -> dict:
    s, d, k, h, n, m = (params[key] for key in ("s", "depth", "k", "h", "n", "m"))
    G = ReLUGenerator.random([k, *([h] * d), n], rng, bias=params["bias"])
    z_star, x = nonzero_sparse_code(G, s, rng)
    A = gaussian_matrix(m, n, rng)
    y = A @ x
    solve = latent_iht if params["solver"] == "iht" else latent_niht
    res = solve(G, A, y, s, restarts=params["restarts"], rng=rng, max_iter=params["max_iter"])
    x_norm = float(np.linalg.norm(x))
    rel_error = float(np.linalg.norm(res.x - x) / x_norm)
    return {
        "success": rel_error <= params["tol_success"],
        "rel_error": rel_error,
        "support_found": bool(set(np.flatnonzero(res.z)) == set(np.flatnonzero(z_star))),
        "rel_residual": float(res.residual / max(np.linalg.norm(y), 1e-300)),
        "n_iter": int(res.n_iter),
    }


STUDY = Study(
    name="sample_complexity",
    config=Config,
    grid=grid,
    trial=trial,
    description="50% transition m* of latent NIHT over (s, d, k, h) vs s d log(kh/s), k d log n",
    success="success",
    metrics=("rel_error", "rel_residual", "n_iter"),
)
