"""S-REC constants: how well does a Gaussian A preserve distances on the range of G?

For pairs x1 = G(z1), x2 = G(z2) with s-sparse codes (same support and different supports),
the ratio ||A(x1 - x2)|| / ||x1 - x2|| is estimated four ways per trial (one random ReLU
generator G, one Gaussian A with N(0, 1/m) entries), see `sdlss_theory.srec`:

* random pairs: the minimum over ``n_pairs`` random pairs (half on one support, half on two);
  an upper bound on the S-REC constant gamma* (delta = 0);
* adversarial: projected gradient with P_s on (z1, z2) from ``restarts`` starts, the worst of
  ``n_pairs`` screened random pairs drawn independently of those of the random estimator (so
  both see the same number of random pairs); an actual pair, so also an upper bound on
  gamma*, usually tighter;
* piecewise-exact: sigma_min of A on the span of two linear pieces' Jacobian columns (and
  offset), minimised over ``n_pieces`` random pairs of pieces: a certified lower bound for
  every pair drawn from those pieces (not from all pieces);
* guarantee: the theorem's union bound over all pieces, `theory.srec_guarantee_gamma`, at
  probability ``guarantee_prob``.

The law of the ratio: with a fresh A per pair the ratios are i.i.d. sqrt(chi2_m / m) exactly,
and a KS test checks this (``n_ks`` pairs). With the trial's single A the ratios are dependent
draws from a law conditional on A: their KS distance to sqrt(chi2_m / m) is recorded as a
descriptive number only. Quantiles of both are stored for the QQ plot.

The success metric ``ordering_holds`` says whether guarantee <= piecewise <= adversarial <=
random holds in the trial; ``smallest_delta`` at gamma = ``delta_gamma`` over the random pairs
is reported in units of the median ||G(z)||.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory import ReLUGenerator, gaussian_matrix
from sdlss_theory.srec import (
    adversarial_ratio,
    ks_against_chi_law,
    piecewise_min_singular_value,
    random_pair_ratios,
    sample_pairs,
    smallest_delta,
)
from sdlss_theory.sweep import Study, StudyConfig
from sdlss_theory.theory import srec_guarantee_gamma
from simulations._common import fixed_params

#: Probability levels of the stored quantiles (QQ plot).
QQ_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)
#: Fresh matrices are drawn in chunks of this many pairs (memory: chunk * m * n floats).
KS_CHUNK = 50
#: Slack of the ordering checks (the estimators agree to rounding when they coincide).
ORDER_TOL = 1e-10


def level_name(p: float) -> str:
    """Metric suffix of a quantile level: 0.05 -> 'p05', 0.5 -> 'p50'."""
    return f"p{round(100 * p):02d}"


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 40
    k: int = 20
    widths: tuple[int, ...] = (60, 120)
    n: int = 200
    bias: bool = False
    m: tuple[int, ...] = (10, 15, 20, 30, 40, 60, 80, 120, 160, 200)
    s: tuple[int, ...] = (1, 2, 4)
    n_pairs: int = 1000
    n_ks: int = 500
    n_pieces: int = 400
    restarts: int = 20
    max_iter: int = 300
    step: float = 0.1
    guarantee_prob: float = 0.95
    delta_gamma: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("k", "n", "n_pairs", "n_ks", "n_pieces", "restarts", "max_iter"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("n_pairs", "n_pieces"):
            if getattr(self, name) < 2:
                raise ValueError(
                    f"{name} must be >= 2 (same and different supports), got {getattr(self, name)}"
                )
        if any(w < 1 for w in self.widths):
            raise ValueError(f"every width must be >= 1, got {self.widths}")
        if any(not 1 <= s < self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k - 1 = {self.k - 1}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n = {self.n}], got {self.m}")
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {self.step}")
        if not 0 <= self.guarantee_prob < 1:
            raise ValueError(f"guarantee_prob must be in [0, 1), got {self.guarantee_prob}")
        if not 0 < self.delta_gamma < 1:
            raise ValueError(f"delta_gamma must be in (0, 1), got {self.delta_gamma}")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=8,
            k=10,
            widths=(30, 60),
            n=100,
            m=(10, 20, 40, 80),
            s=(1, 2),
            n_pairs=300,
            n_ks=300,
            n_pieces=100,
            restarts=8,
            max_iter=150,
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
        out.append(random_pair_ratios(G, A, s, size, rng, same_support=same))
        done += size
    return np.concatenate(out)


def trial(params: dict, rng: np.random.Generator) -> dict:
    k, n, m, s = params["k"], params["n"], params["m"], params["s"]
    widths = tuple(params["widths"])
    G = ReLUGenerator.random([k, *widths, n], rng, bias=params["bias"])
    A = gaussian_matrix(m, n, rng)

    # (a) random pairs with the trial's A, half on one support and half on two.
    n_same = params["n_pairs"] // 2
    same = random_pair_ratios(G, A, s, n_same, rng, same_support=True, return_pairs=True)
    diff = random_pair_ratios(
        G, A, s, params["n_pairs"] - n_same, rng, same_support=False, return_pairs=True
    )
    ratios = np.concatenate([same.ratios, diff.ratios])
    diff_norms = np.concatenate([same.diff_norms, diff.diff_norms])
    signal = float(np.median(np.linalg.norm(G(np.concatenate([same.z1, diff.z1])), axis=1)))
    # ... and with a fresh A per pair: i.i.d. sqrt(chi2_m / m), the KS test is valid.
    fresh = _fresh_matrix_ratios(G, m, s, params["n_ks"], rng)
    ks_fresh = ks_against_chi_law(fresh, m)
    ks_fixed = ks_against_chi_law(ratios, m)

    # (b) adversarial pairs.
    adv = adversarial_ratio(
        G,
        A,
        s,
        rng,
        restarts=params["restarts"],
        screen=params["n_pairs"],
        max_iter=params["max_iter"],
        step=params["step"],
    )
    adv_piece = piecewise_min_singular_value(G, A, adv.z1, adv.z2)

    # (c) piecewise-exact over random pairs of pieces (half of them on one support).
    n_pc_same = params["n_pieces"] // 2
    z1s, z2s = sample_pairs(k, s, n_pc_same, rng, same_support=True)
    z1d, z2d = sample_pairs(k, s, params["n_pieces"] - n_pc_same, rng, same_support=False)
    pieces_same = piecewise_min_singular_value(G, A, z1s, z2s)
    pieces_diff = piecewise_min_singular_value(G, A, z1d, z2d)
    pieces = np.concatenate([pieces_same, pieces_diff])

    # (d) the union-bound guarantee.
    guarantee = float(
        srec_guarantee_gamma(m, k, s, widths, params["guarantee_prob"], bias=params["bias"])
    )

    random_min = float(ratios.min())
    piecewise = float(pieces.min())
    g_le_p = guarantee <= piecewise + ORDER_TOL
    p_le_a = piecewise <= adv.ratio + ORDER_TOL
    a_le_r = adv.ratio <= random_min + ORDER_TOL
    gamma_t = params["delta_gamma"]
    metrics = {
        "ordering_holds": bool(g_le_p and p_le_a and a_le_r),
        "guarantee_le_piecewise": int(g_le_p),
        "piecewise_le_adversarial": int(p_le_a),
        "adversarial_le_random": int(a_le_r),
        "guarantee": guarantee,
        "piecewise": piecewise,
        "piecewise_same": float(pieces_same.min()),
        "piecewise_diff": float(pieces_diff.min()),
        "piecewise_median": float(np.median(pieces)),
        "adversarial": adv.ratio,
        "adversarial_piece": float(adv_piece),
        "adversarial_certified": int(adv_piece <= adv.ratio + ORDER_TOL),
        "adversarial_same_support": int(np.array_equal(adv.z1 != 0, adv.z2 != 0)),
        "adversarial_iters": int(np.max(adv.n_iter)),
        "random_min": random_min,
        "random_min_same": float(same.ratios.min()),
        "random_min_diff": float(diff.ratios.min()),
        "random_median": float(np.median(ratios)),
        "ks_fresh_stat": float(ks_fresh.statistic),
        "ks_fresh_pvalue": float(ks_fresh.pvalue),
        "ks_fresh_reject": int(ks_fresh.pvalue < 0.01),
        "ks_fixed_stat": float(ks_fixed.statistic),
        "delta_random": smallest_delta(ratios, gamma_t, diff_norms=diff_norms) / signal,
        "below_gamma_fraction": float(np.mean(ratios < gamma_t)),
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
    description="S-REC constant of Gaussian A on range_s(G): guarantee, piecewise, adversarial, "
    "random pairs; chi law of the ratio",
    success="ordering_holds",
)
