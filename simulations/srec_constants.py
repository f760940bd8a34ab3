"""S-REC constants of a Gaussian A on range_s(G): certified interval, guarantee, chi law.

Estimand. For one random ReLU generator G and one Gaussian A (N(0, 1/m) entries) per trial,
the S-REC constant gamma* = inf_{x1 != x2 in range_s(G)} ||A(x1 - x2)|| / ||x1 - x2||.

Estimators (`sdlss_theory.srec`), each with its proven direction:

* ``lower``: `srec_bounds`' certified lower bound (every linear piece enumerated, every pair of
  pieces evaluated, the lowest refined exactly), ``certified`` when the budget sufficed;
* ``upper``: `srec_bounds`' upper bound, the ratio of an explicit pair (the refined pairs'
  witnesses, random pairs, then the adversarial search from the best of them);
* ``random_min``: the smallest ratio over `n_pairs` further random pairs (an upper bound);
* ``guarantee``: the union bound of the theorem, `theory.srec_guarantee_gamma` (piece count
  bounded by C(k, s) prod_l sum_{j<=s} C(n_l, j)), and ``guarantee_exact_count``, the same
  bound with the exact piece count (`theory.union_bound_gamma`); each holds with probability
  `guarantee_prob` over A, and is no certificate for the trial's A;
* ``sampled_relaxation``: the old "piecewise" estimator, sigma_min of A on the span of two
  pieces minimised over `n_pieces` sampled piece pairs (`srec.piece_pair_relaxation`), kept to
  show that it bounds gamma* in neither direction (``relaxation_above`` counts the trials where
  it exceeds the certified upper bound).

Success (``ordering_holds``) is only the proven chain lower <= upper <= random_min (must hold in
every trial); ``guarantee_holds`` (guarantee <= lower) holds with probability >= guarantee_prob
where lower is exact. The law of the ratio: with a fresh A per pair the ratios are i.i.d.
sqrt(chi2_m / m) exactly; a KS test checks it (``n_ks`` pairs), and nine quantiles of the
fresh-A ratios and of the trial's A ratios are stored for the QQ plot.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sdlss_theory import ReLUGenerator, gaussian_matrix
from sdlss_theory.srec import (
    ks_against_chi_law,
    piece_pair_relaxation,
    random_pair_ratios,
    sample_pairs,
    srec_bounds,
)
from sdlss_theory.sweep import Study, StudyConfig
from sdlss_theory.theory import srec_guarantee_gamma, union_bound_gamma
from simulations._common import fixed_params

#: Probability levels of the stored quantiles (QQ plot).
QQ_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: Fresh matrices are drawn in chunks of this many pairs (memory: chunk * m * n floats).
KS_CHUNK = 50
#: Slack of the ordering checks (rounding of ratios that coincide).
ORDER_TOL = 1e-9


def level_name(p: float) -> str:
    """Metric suffix of a quantile level: 0.05 -> 'p05', 0.5 -> 'p50'."""
    return f"p{round(100 * p):02d}"


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 20
    k: int = 6
    widths: tuple[int, ...] = (8, 16)
    n: int = 60
    bias: bool = False
    m: tuple[int, ...] = (4, 6, 8, 11, 15, 20, 27, 36, 48, 60)
    s: tuple[int, ...] = (1, 2)
    n_pairs: int = 500
    n_ks: int = 300
    n_pieces: int = 200
    restarts: int = 8
    max_iter: int = 200
    max_pieces: int = 5000
    max_pair_evals: int = 2_000_000
    guarantee_prob: float = 0.95

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("k", "n", "n_pairs", "n_ks", "restarts", "max_iter", "max_pieces",
                     "max_pair_evals"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_pieces < 2:
            raise ValueError(f"n_pieces must be >= 2 (same and different supports), got "
                             f"{self.n_pieces}")  # fmt: skip
        if any(w < 1 for w in self.widths):
            raise ValueError(f"every width must be >= 1, got {self.widths}")
        if any(not 1 <= s < self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k - 1 = {self.k - 1}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n = {self.n}], got {self.m}")
        if not 0 <= self.guarantee_prob < 1:
            raise ValueError(f"guarantee_prob must be in [0, 1), got {self.guarantee_prob}")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=6,
            k=5,
            widths=(6, 10),
            n=40,
            m=(4, 8, 14, 24, 40),
            s=(1, 2),
            n_pairs=200,
            n_ks=200,
            n_pieces=60,
            restarts=4,
            max_iter=100,
        )


def grid(config: Config) -> list[dict]:
    fixed = fixed_params(config, swept=("m", "s"))
    return [{"s": s, "m": m, **fixed} for s in config.s for m in config.m]


def _fresh_matrix_ratios(G, m: int, s: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Ratios with an independent A per pair (chunks alternate same / different supports)."""
    out = []
    done = 0
    while done < count:
        size = min(KS_CHUNK, count - done)
        A = rng.standard_normal((size, m, G.n)) / np.sqrt(m)
        same = (done // KS_CHUNK) % 2 == 0
        out.append(random_pair_ratios(G, A, s, size, rng=rng, same_support=same))
        done += size
    return np.concatenate(out)


def trial(params: dict, rng: np.random.Generator) -> dict:
    k, n, m, s = params["k"], params["n"], params["m"], params["s"]
    widths = tuple(params["widths"])
    G = ReLUGenerator.random([k, *widths, n], rng, bias=params["bias"])
    A = gaussian_matrix(m, n, rng)

    bounds = srec_bounds(
        G,
        A,
        s,
        rng=rng,
        restarts=params["restarts"],
        max_iter=params["max_iter"],
        max_pieces=params["max_pieces"],
        max_pair_evals=params["max_pair_evals"],
        prob=params["guarantee_prob"],
    )
    half = params["n_pairs"] // 2
    same = random_pair_ratios(G, A, s, half, rng=rng, same_support=True)
    diff = random_pair_ratios(G, A, s, params["n_pairs"] - half, rng=rng)
    ratios = np.concatenate([same, diff])
    random_min = float(min(ratios.min(), bounds.random_min))

    fresh = _fresh_matrix_ratios(G, m, s, params["n_ks"], rng)
    ks_fresh = ks_against_chi_law(fresh, m)
    ks_fixed = ks_against_chi_law(ratios, m)

    n_pc = params["n_pieces"] // 2
    z1s, z2s = sample_pairs(k, s, n_pc, rng, same_support=True)
    z1d, z2d = sample_pairs(k, s, params["n_pieces"] - n_pc, rng)
    relaxation = float(min(piece_pair_relaxation(G, A, z1s, z2s).min(),
                           piece_pair_relaxation(G, A, z1d, z2d).min()))  # fmt: skip

    prob, bias = params["guarantee_prob"], params["bias"]
    guarantee = float(srec_guarantee_gamma(m, k, s, widths, prob, bias=bias))
    rank = 2 * s + (1 if bias else 0)
    exact_count = (float(union_bound_gamma(m, math.log(bounds.n_pieces), rank, prob))
                   if bounds.n_pieces > 0 else None)  # fmt: skip
    lower, upper = bounds.lower, bounds.upper
    chain = lower <= upper + ORDER_TOL and upper <= random_min + ORDER_TOL
    metrics = {
        "ordering_holds": bool(bounds.certified and chain),
        "guarantee_holds": int(guarantee <= lower + ORDER_TOL),
        "lower": lower,
        "upper": upper,
        "gap": upper - lower,
        "certified": int(bounds.certified),
        "exact": int(bounds.exact),
        "n_pieces": bounds.n_pieces,
        "random_min": random_min,
        "random_median": float(np.median(ratios)),
        "guarantee": guarantee,
        "guarantee_exact_count": exact_count,
        "sampled_relaxation": relaxation,
        "relaxation_above": int(relaxation > upper + ORDER_TOL),
        "ks_fresh_stat": float(ks_fresh.statistic),
        "ks_fresh_pvalue": float(ks_fresh.pvalue),
        "ks_fresh_reject": int(ks_fresh.pvalue < 0.01),
        "ks_fixed_stat": float(ks_fixed.statistic),
    }
    q_fresh = np.quantile(fresh, QQ_LEVELS)
    q_fixed = np.quantile(ratios, QQ_LEVELS)
    for p, qf, qx in zip(QQ_LEVELS, q_fresh, q_fixed, strict=True):
        metrics[f"q_fresh_{level_name(p)}"] = float(qf)
        metrics[f"q_fixed_{level_name(p)}"] = float(qx)
    return metrics


STUDY = Study(
    name="srec_constants",
    config=Config,
    grid=grid,
    trial=trial,
    description="S-REC constant of Gaussian A on range_s(G): certified lower, witnessed upper, "
    "random pairs, union-bound guarantee; chi law of the ratio",
    success="ordering_holds",
    show=(
        "s",
        "m",
        "lower",
        "upper",
        "random_min",
        "guarantee",
        "exact",
        "certified",
        "ordering_holds",
        "guarantee_holds",
        "relaxation_above",
    ),  # fmt: skip
)
