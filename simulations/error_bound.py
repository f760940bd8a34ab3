"""Does ||G(z_hat) - x|| <= C min_{||z||_0 <= s} ||G(z) - x|| + 2 eps hold, and with what C?

The SDLSS theorem (Killedar, Pokala & Seelamantula, ICASSP 2021; the form is Bora, Jalal, Price
& Dimakis, ICML 2017, Thm 1.2) says that when A satisfies the S-REC on the range of G over
s-sparse codes, any z_hat that minimises the measurement objective up to eps,
||y - A G(z_hat)|| <= min_{||z||_0 <= s} ||y - A G(z)|| + eps, has

    ||G(z_hat) - x|| <= C min_{||z||_0 <= s} ||G(z) - x|| + 2 eps,

with probability 1 - exp(-Omega(m)). Each trial measures the three quantities of the bound.

Trial. A random ReLU generator G: R^k -> R^n (`ReLUGenerator.random`, Hand-Voroninski
init), an s-sparse z* (uniform support, N(0, 1) non-zeros; redrawn in the rare case
G(z*) = 0, possible for tiny widths), and

    x = G(z*) + e,    ||e|| = e_level ||G(z*)||,

where e is a Gaussian vector projected off the span of J_G(z*)'s support columns and G(z*)
(orthonormal basis by SVD), so e is orthogonal to the tangent space of the range at G(z*) and
z* is a stationary point of ||G(z) - x|| on its support. A has i.i.d. N(0, 1/m) entries and
y = A x + w, with w ~ N(0, sigma^2 I), sigma = noise ||A x|| / sqrt(m) (so ||w|| ~ noise ||Ax||;
noise = 0 by default: the bound as stated has no noise term).

* z_hat: latent IHT (`latent_iht`, step "auto", `restarts` random starts).
* err = ||G(z_hat) - x||.
* best_err = min_{||z||_0 <= s} ||G(z) - x||, computed with full access to x (A = I): the
  smallest of ||G(z) - x|| over z*, z_hat, latent IHT on the identity measurement with
  `best_restarts` starts (z*, z_hat and random ones; `best_max_iter` iterations), and -- when
  C(k, s) <= `exhaustive_max` -- an exhaustive search over supports: for each support S, G
  restricted to S (the columns S of W_1) is fitted densely by `latent_gd` on the identity
  with `support_restarts` starts. The metric `best_method` says which ("restarts" or
  "exhaustive+restarts"). Every candidate is s-sparse, so best_err is an upper bound on the
  true minimum that is tight when the search succeeds; including z_hat makes best_err <= err.
* eps = max(0, ||y - A G(z_hat)|| - min_{z in Z} ||y - A G(z)||), Z = {z*, z_best, latent IHT
  on (A, y) started from z* and z_best}: how far z_hat is from the best measurement fit the
  study can find. Clipped at 0 when z_hat is itself the best.
* c_needed = max(0, (err - 2 eps) / best_err): the smallest C for which this trial satisfies
  the bound (None when best_err = 0; then the bound requires err <= 2 eps, reported by
  `zero_bound_holds` with the slack below).
* success ("the bound holds at C = c_fixed"): err <= c_fixed best_err + 2 eps + slack_tol ||x||,
  with slack_tol absorbing round-off when best_err = 0.
* rel_success: err <= best_err + tol_rel ||x|| (the recovery is as good as the best s-sparse
  approximation up to tol_rel ||x||).

The 95% and 99% quantiles of c_needed per cell, and the fit of the failure probability
against m, are made in the figure (``figures/error_bound.py``) from the stored trials.
"""

from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
from scipy.linalg import orth

from sdlss_theory import (
    ReLUGenerator,
    add_noise,
    gaussian_matrix,
    latent_gd,
    latent_iht,
)
from sdlss_theory.sweep import Study, StudyConfig
from simulations._common import fixed_params, nonzero_sparse_code


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 200
    k: int = 20
    widths: tuple[int, ...] = (60, 120)
    n: int = 200
    s: int = 2
    bias: bool = False
    m: tuple[int, ...] = (10, 15, 20, 30, 40, 60, 80, 120)
    e_level: tuple[float, ...] = (0.0, 0.02, 0.1, 0.3)
    noise: tuple[float, ...] = (0.0,)
    restarts: int = 64
    best_restarts: int = 32
    support_restarts: int = 2
    exhaustive_max: int = 200
    max_iter: int = 1000
    best_max_iter: int = 300
    c_fixed: float = 3.0
    slack_tol: float = 1e-6
    tol_rel: float = 0.05

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.s <= self.k:
            raise ValueError(f"s must be in [1, k={self.k}], got {self.s}")
        if any(w < 1 for w in self.widths) or self.n < 1:
            raise ValueError("widths and n must be >= 1")
        if any(m < 1 for m in self.m):
            raise ValueError(f"every m must be >= 1, got {self.m}")
        if any(e < 0 for e in self.e_level):
            raise ValueError(f"every e_level must be >= 0, got {self.e_level}")
        if any(v < 0 for v in self.noise):
            raise ValueError(f"every noise level must be >= 0, got {self.noise}")
        for name in ("restarts", "best_restarts", "support_restarts", "max_iter", "best_max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.c_fixed < 0 or self.slack_tol < 0 or self.tol_rel < 0:
            raise ValueError("c_fixed, slack_tol and tol_rel must be >= 0")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=12,
            k=10,
            widths=(20, 40),
            n=60,
            s=2,
            m=(4, 6, 8, 12, 16, 24, 32),
            e_level=(0.0, 0.05, 0.2),
            restarts=32,
            best_restarts=16,
            support_restarts=1,
            exhaustive_max=60,
            max_iter=500,
            best_max_iter=300,
        )


def grid(config: Config) -> list[dict]:
    fixed = fixed_params(config, swept=("m", "e_level", "noise"))
    return [
        {"m": m, "e_level": e, "noise": noise, **fixed}
        for noise in config.noise
        for e in config.e_level
        for m in config.m
    ]


def off_range_perturbation(
    G: ReLUGenerator, z: np.ndarray, size: float, rng: np.random.Generator
) -> np.ndarray:
    """A Gaussian vector projected off span(J_G(z)[:, supp z], G(z)), scaled to norm `size`."""
    e = rng.standard_normal(G.n)
    if size == 0.0:
        return np.zeros(G.n)
    S = np.flatnonzero(z)
    basis = orth(np.column_stack([G.jacobian(z)[:, S], G(z)]))
    e = e - basis @ (basis.T @ e)
    return size * e / np.linalg.norm(e)


def best_approximation(
    G: ReLUGenerator,
    x: np.ndarray,
    s: int,
    starts: np.ndarray,
    rng: np.random.Generator,
    *,
    restarts: int,
    support_restarts: int,
    exhaustive_max: int,
    max_iter: int,
) -> tuple[np.ndarray, float, str]:
    """min over s-sparse z of ||G(z) - x|| by search with A = I; returns (z, error, method).

    Candidates: the rows of `starts` (s-sparse), latent IHT on the identity with `restarts`
    starts (the rows of `starts` first), and, if C(k, s) <= exhaustive_max, a dense latent GD
    fit of G restricted to every support with `support_restarts` starts (the restriction of
    any start whose support is S first).
    """
    eye = np.eye(G.n)
    candidates = [np.asarray(z, dtype=np.float64) for z in starts]
    res = latent_iht(G, eye, x, s, restarts=restarts, z0=starts, rng=rng, max_iter=max_iter)
    candidates.append(res.z)
    method = "restarts"
    if math.comb(G.k, s) <= exhaustive_max:
        method = "exhaustive+restarts"
        for S in itertools.combinations(range(G.k), s):
            S = np.array(S)
            warm = [z[S] for z in candidates if set(np.flatnonzero(z)) <= set(S)]
            z0 = np.array(warm[:support_restarts]) if warm else None
            sub = latent_gd(
                G.restrict(S),
                eye,
                x,
                restarts=max(support_restarts, 0 if z0 is None else len(z0)),
                z0=z0,
                rng=rng,
                max_iter=max_iter,
            )
            z = np.zeros(G.k)
            z[S] = sub.z
            candidates.append(z)
    errors = [float(np.linalg.norm(G(z) - x)) for z in candidates]
    i = int(np.argmin(errors))
    return candidates[i], errors[i], method


def trial(params: dict, rng: np.random.Generator) -> dict:
    k, n, s, m = params["k"], params["n"], params["s"], params["m"]
    G = ReLUGenerator.random([k, *params["widths"], n], rng, bias=params["bias"])
    z_star, x0 = nonzero_sparse_code(G, s, rng)
    e = off_range_perturbation(G, z_star, params["e_level"] * np.linalg.norm(x0), rng)
    x = x0 + e
    x_norm = float(np.linalg.norm(x))
    A = gaussian_matrix(m, n, rng)
    y = A @ x
    if params["noise"] > 0:
        y = add_noise(y, rng, sigma=params["noise"] * np.linalg.norm(y) / math.sqrt(m))

    rec = latent_iht(G, A, y, s, restarts=params["restarts"], rng=rng, max_iter=params["max_iter"])
    z_hat = rec.z
    err = float(np.linalg.norm(G(z_hat) - x))

    z_best, best_err, method = best_approximation(
        G,
        x,
        s,
        np.array([z_star, z_hat]),
        rng,
        restarts=params["best_restarts"],
        support_restarts=params["support_restarts"],
        exhaustive_max=params["exhaustive_max"],
        max_iter=params["best_max_iter"],
    )

    # eps: distance of z_hat from the best measurement fit among the computed candidates.
    polish = latent_iht(G, A, y, s, restarts=2, z0=np.array([z_star, z_best]), max_iter=500)
    fits = [float(np.linalg.norm(y - A @ G(z))) for z in (z_star, z_best, polish.z)]
    residual_hat = float(np.linalg.norm(y - A @ G(z_hat)))
    eps = max(0.0, residual_hat - min(fits))

    slack = params["slack_tol"] * x_norm
    zero = best_err == 0.0
    c_needed = None if zero else max(0.0, (err - 2.0 * eps) / best_err)
    holds_fixed = err <= params["c_fixed"] * best_err + 2.0 * eps + slack
    return {
        "success": bool(holds_fixed),
        "rel_success": bool(err <= best_err + params["tol_rel"] * x_norm),
        "err": err,
        "rel_err": err / x_norm,
        "best_err": best_err,
        "best_rel_err": best_err / x_norm,
        "eps": eps,
        "rel_eps": eps / x_norm,
        "c_needed": c_needed,
        "zero_best": bool(zero),
        "zero_bound_holds": bool(err <= 2.0 * eps + slack) if zero else None,
        "x_norm": x_norm,
        "e_norm": float(np.linalg.norm(e)),
        "best_method": method,
        "support_found": bool(set(np.flatnonzero(z_hat)) == set(np.flatnonzero(z_star))),
        "n_iter": int(rec.n_iter),
    }


STUDY = Study(
    name="error_bound",
    config=Config,
    grid=grid,
    trial=trial,
    description="the error bound ||G(z_hat)-x|| <= C min||G(z)-x|| + 2 eps: the C needed vs m",
    success="success",
    metrics=("rel_err", "best_rel_err", "rel_eps", "c_needed", "n_iter"),
)
