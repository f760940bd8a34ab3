"""Does ||G(z_hat) - x|| <= C min_{||z||_0 <= s} ||G(z) - x|| + 2 eps hold, and with what C?

The bound (Bora, Jalal, Price & Dimakis, ICML 2017, Theorem 1.1 for d-layer ReLU networks, as
carried to s-sparse codes by Killedar, Pokala & Seelamantula, ICASSP 2021): when A satisfies
S-REC on range_s(G), any z_hat with ||y - A G(z_hat)|| <= min_{||z||_0 <= s} ||y - A G(z)|| + eps
has ||G(z_hat) - x|| <= C min_{||z||_0 <= s} ||G(z) - x|| + 3 ||eta|| + 2 eps, with C = 6
(`C_THEOREM`), with probability 1 - exp(-Omega(m)). Its proof (S-REC(gamma, 0) and
||A(x - x_bar)|| = tau ||x - x_bar||, x_bar the best approximation) gives, for every A,

    ||G(z_hat) - x|| <= (1 + 2 tau / gamma) ||x - x_bar|| + (2 ||eta|| + eps_bar) / gamma,

eps_bar = max(0, ||y - A G(z_hat)|| - ||y - A x_bar||) <= eps; with tau <= 2 (a Gaussian A, a
fixed vector, probability 1 - exp(-Omega(m))) the constant is 1 + 4 / gamma (docs/theory.md).

Estimand: per m, the smallest C for which the bound holds on a trial (``c_needed``), its
dependence on the trial's certified S-REC constant, and the failure probability of the bound at
C = 6 against m.

Trial. A random ReLU generator G, an s-sparse z* (redrawn if G(z*) = 0), x = G(z*) + e with e
Gaussian, projected off span(J_G(z*)_S, G(z*)) and scaled to ||e|| = e_level ||G(z*)||; A with
N(0, 1/m) entries; y = A x + w, ||w|| ~ noise ||A x||.

* z_hat = ``latent_recover(G, A, y, s, rng=rng, fit_tol=...)`` (fit_tol at the noise level);
* x_bar = G(z_bar), z_bar = `best_sparse_approximation` (exact by piece enumeration where the
  budget allows; ``best_exact`` records it);
* gamma: `srec_bounds` (certified lower ``gamma_lower``, upper ``gamma_upper``);
* ``c_needed`` = max(0, (err - 2 eps_bar - 3 ||w||) / best_err), None when best_err = 0;
* ``success``: the bound holds at C = `c_fixed` (default `C_THEOREM`);
* ``proof_holds``: the per-A inequality above with gamma = gamma_lower (a theorem: it must hold
  in every certified trial with gamma_lower > 0).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.linalg import orth

from sdlss_theory import (
    ReLUGenerator,
    add_noise,
    gaussian_matrix,
    latent_recover,
)
from sdlss_theory.best_approximation import best_sparse_approximation
from sdlss_theory.experiment import nonzero_sparse_code
from sdlss_theory.srec import srec_bounds
from sdlss_theory.sweep import Study, StudyConfig
from simulations._common import fixed_params

#: The constant of Bora et al. 2017, Theorem 1.1 (d-layer ReLU networks): C = 6, with 3 ||eta||.
C_THEOREM = 6.0


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 12
    k: int = 6
    widths: tuple[int, ...] = (8, 16)
    n: int = 60
    s: int = 2
    bias: bool = False
    m: tuple[int, ...] = (3, 4, 5, 6, 8, 11, 15, 20, 27, 36)
    e_level: tuple[float, ...] = (0.0, 0.05, 0.2)
    noise: tuple[float, ...] = (0.0,)
    c_fixed: float = C_THEOREM
    slack_tol: float = 1e-9
    max_pieces: int = 5000
    max_pair_evals: int = 2_000_000
    n_pairs: int = 100
    restarts: int = 4

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.s <= self.k:
            raise ValueError(f"s must be in [1, k={self.k}], got {self.s}")
        if any(w < 1 for w in self.widths) or self.n < 1:
            raise ValueError("widths and n must be >= 1")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n = {self.n}], got {self.m}")
        if any(e < 0 for e in self.e_level):
            raise ValueError(f"every e_level must be >= 0, got {self.e_level}")
        if any(v < 0 for v in self.noise):
            raise ValueError(f"every noise level must be >= 0, got {self.noise}")
        for name in ("max_pieces", "max_pair_evals", "n_pairs", "restarts"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.c_fixed < 0 or self.slack_tol < 0:
            raise ValueError("c_fixed and slack_tol must be >= 0")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=4,
            k=5,
            widths=(6,),
            n=30,
            m=(4, 8, 14, 24),
            e_level=(0.0, 0.2),
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


def trial(params: dict, rng: np.random.Generator) -> dict:
    k, n, s, m = params["k"], params["n"], params["s"], params["m"]
    G = ReLUGenerator.random([k, *params["widths"], n], rng, bias=params["bias"])
    z_star, x0 = nonzero_sparse_code(G, s, rng)
    e = off_range_perturbation(G, z_star, params["e_level"] * np.linalg.norm(x0), rng)
    x = x0 + e
    x_norm = float(np.linalg.norm(x))
    A = gaussian_matrix(m, n, rng)
    y_clean = A @ x
    y = y_clean
    if params["noise"] > 0:
        y = add_noise(y, rng, sigma=params["noise"] * np.linalg.norm(y) / math.sqrt(m))
    eta = float(np.linalg.norm(y - y_clean))
    fit_tol = max(1e-10, eta / max(float(np.linalg.norm(y)), 1e-300))

    rec = latent_recover(G, A, y, s, rng=rng, fit_tol=fit_tol)
    err = float(np.linalg.norm(G(rec.z) - x))
    best = best_sparse_approximation(G, x, s, max_pieces=params["max_pieces"], rng=rng)
    x_bar = G(best.z)
    best_err = best.distance
    eps = max(0.0, float(np.linalg.norm(y - A @ G(rec.z)) - np.linalg.norm(y - A @ x_bar)))
    bounds = srec_bounds(G, A, s, rng=rng, n_pairs=params["n_pairs"],
                         restarts=params["restarts"], max_pieces=params["max_pieces"],
                         max_pair_evals=params["max_pair_evals"])  # fmt: skip
    gamma = bounds.lower if bounds.certified else None
    slack = params["slack_tol"] * x_norm
    zero = best_err <= slack
    tau = None if zero else float(np.linalg.norm(A @ (x - x_bar)) / best_err)
    c_needed = None if zero else max(0.0, (err - 2.0 * eps - 3.0 * eta) / best_err)
    holds = err <= params["c_fixed"] * best_err + 3.0 * eta + 2.0 * eps + slack
    proof = None
    if gamma is not None and gamma > 0:
        rhs = best_err + ((0.0 if zero else 2.0 * tau * best_err) + 2.0 * eta + eps) / gamma
        proof = bool(err <= rhs + slack)
    return {
        "success": bool(holds),
        "proof_holds": proof,
        "err": err,
        "rel_err": err / x_norm,
        "best_err": best_err,
        "best_rel_err": best_err / x_norm,
        "best_exact": int(best.exact),
        "eps": eps,
        "rel_eps": eps / x_norm,
        "eta": eta,
        "tau": tau,
        "c_needed": c_needed,
        "gamma_lower": gamma,
        "gamma_upper": bounds.upper,
        "certified": int(bounds.certified),
        "zero_best": bool(zero),
        "x_norm": x_norm,
        "e_norm": float(np.linalg.norm(e)),
        "solver_certified": int(rec.certified),
        "support_found": bool(set(np.flatnonzero(rec.z)) == set(np.flatnonzero(z_star))),
    }


STUDY = Study(
    name="error_bound",
    config=Config,
    grid=grid,
    trial=trial,
    description="the error bound ||G(z_hat)-x|| <= C min||G(z)-x|| + 2 eps with latent_recover, "
    "the exact best approximation and the certified S-REC gamma: C needed vs m and gamma",
    success="success",
    metrics=(
        "rel_err",
        "best_rel_err",
        "rel_eps",
        "c_needed",
        "tau",
        "gamma_lower",
        "gamma_upper",
        "best_exact",
        "certified",
    ),  # fmt: skip
    show=(
        "m",
        "e_level",
        "success",
        "c_needed",
        "c_needed_q95",
        "gamma_lower",
        "best_exact",
        "certified",
    ),
)
