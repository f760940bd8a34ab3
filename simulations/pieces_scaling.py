"""Link 2 of the theorem's chain: the number of linear pieces N against (s, d, k, h).

Estimand. For a configuration (s, d, k, h, biases), E[ln N], the mean over random generators
G (`ReLUGenerator.random`, d ReLU layers of width h, latent size k, a linear output) of the
log of the number N of linear pieces of G on s-sparse codes.

Estimator. Every trial draws G and calls `sdlss_theory.count_pieces(G, s)`: the exact count
(every support walked, pieces counted without being stored) up to `max_pieces` pieces, beyond
that a statistical estimate (a sample of supports counted exactly, or Knuth probes) with its
confidence interval; the trial records which (``exact``, ``method``) and the interval. The
`success` of a trial is "the count is exact": it is what the reader of a row needs to know
about its direction (an exact value, or an estimate with an interval).

Configurations: one factor at a time around a base (base_s, base_depth, base_k, base_h), each
of s, d, k, h over its own values (at least four in the default preset), with and without
biases. The fits against s d ln(kh/s) and against the per-layer Zaslavsky bound
(`theory.linear_piece_count_log`) are drawn by ``figures/pieces_scaling.py`` and printed by
`report` (``sdlss show``).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sdlss_theory import ReLUGenerator, count_pieces
from sdlss_theory.sweep import Study, StudyConfig
from sdlss_theory.theory import linear_piece_count_log, sdlss_measurements

FACTORS = ("s", "depth", "k", "h")


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 4
    base_s: int = 2
    base_depth: int = 2
    base_k: int = 8
    base_h: int = 12
    s_values: tuple[int, ...] = (1, 2, 3, 4)
    depth_values: tuple[int, ...] = (1, 2, 3, 4, 6, 8)
    k_values: tuple[int, ...] = (4, 8, 16, 32, 64)
    h_values: tuple[int, ...] = (4, 8, 16, 32, 64, 128)
    bias: tuple[bool, ...] = (False, True)
    n: int = 10
    max_pieces: int = 1_000_000
    supports: int = 8
    probes: int = 2000

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("base_s", "base_depth", "base_k", "base_h", "n", "max_pieces"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("supports", "probes"):
            if getattr(self, name) < 2:
                raise ValueError(f"{name} must be >= 2, got {getattr(self, name)}")
        for name in ("s_values", "depth_values", "k_values", "h_values"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values):
                raise ValueError(f"{name} must hold values >= 1, got {values}")
        if not self.bias:
            raise ValueError("bias must hold at least one of False, True")
        for s, k in self._pairs():
            if s > k:
                raise ValueError(f"every s must be <= k; the sweep reaches s = {s} at k = {k}")

    def _pairs(self):
        yield from ((s, self.base_k) for s in (self.base_s, *self.s_values))
        yield from ((self.base_s, k) for k in self.k_values)

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=2,
            base_s=2,
            base_depth=1,
            base_k=6,
            base_h=6,
            s_values=(1, 2, 3),
            depth_values=(1, 2, 3),
            k_values=(3, 6, 12),
            h_values=(3, 6, 12),
            max_pieces=20_000,
        )


def configurations(config: Config) -> list[dict]:
    """The base and each of s, d, k, h varied alone (``factor`` names it; "base" for the base),
    once per value of `bias`, duplicates removed (the base appears once per bias)."""
    base = dict(s=config.base_s, depth=config.base_depth, k=config.base_k, h=config.base_h)
    out = []
    for bias in config.bias:
        seen = set()
        for factor, values in (("base", (None,)), ("s", config.s_values),
                               ("depth", config.depth_values), ("k", config.k_values),
                               ("h", config.h_values)):  # fmt: skip
            for v in values:
                c = dict(base)
                if v is not None:
                    c[factor] = v
                key = tuple(c.values())
                if key in seen:
                    continue
                seen.add(key)
                out.append(dict(factor=factor if key != tuple(base.values()) else "base",
                                bias=bias, n=config.n, **c))  # fmt: skip
    return out


def grid(config: Config) -> list[dict]:
    budgets = dict(max_pieces=config.max_pieces, supports=config.supports, probes=config.probes)
    return [{**c, **budgets} for c in configurations(config)]


def trial(params: dict, rng: np.random.Generator) -> dict:
    dims = [params["k"], *([params["h"]] * params["depth"]), params["n"]]
    G = ReLUGenerator.random(dims, rng, bias=params["bias"])
    c = count_pieces(
        G,
        params["s"],
        max_pieces=params["max_pieces"],
        supports=params["supports"],
        probes=params["probes"],
        rng=rng,
    )
    return {
        "success": bool(c.exact),
        "log_pieces": math.log(c.value),
        "log_lower": math.log(max(c.lower, 1.0)),
        "log_upper": math.log(c.upper),
        "pieces": float(c.value),
        "knuth": int(c.method == "knuth probes"),
    }


def predictors(s: int, depth: int, k: int, h: int) -> dict[str, float]:
    """The two predictors of ln N: s d ln(kh/s) (SDLSS's) and the log of the per-layer
    Zaslavsky bound ln[C(k, s) prod_i sum_{j<=s} C(h, j)] (`theory.linear_piece_count_log`)."""
    return {
        "sdlss": float(sdlss_measurements(s, depth, k, h)),
        "zaslavsky": float(linear_piece_count_log(k, s, [h] * depth)),
    }


def loglog_fit(rows, confidence: float = 0.95) -> dict:
    """Free exponents: OLS of ln E[ln N] on ln s, ln d, ln k, ln h (the factors that vary).

    `rows` are dicts with s, depth, k, h and ``log_pieces`` (mean ln N of a configuration).
    Under ln N proportional to s d ln(kh/s), the exponent of d is 1, that of s is 1 minus
    1 / ln(kh/s) locally, and those of k and h are 1 / ln(kh/s) locally; `report` fits the
    predictors' own values on the same configurations for the exact comparison.
    Returns, per varying factor, (exponent, lower, upper) with t intervals, ``n`` and
    ``factors``.
    """
    from scipy import stats

    rows = [r for r in rows if np.isfinite(r["log_pieces"]) and r["log_pieces"] > 0]
    factors = [f for f in FACTORS if len({r[f] for r in rows}) > 1]
    out: dict = {"n": len(rows), "factors": factors}
    if not factors or len(rows) < len(factors) + 2:
        return out
    X = np.column_stack([np.ones(len(rows))] + [np.log([r[f] for r in rows]) for f in factors])
    y = np.log([r["log_pieces"] for r in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    dof = len(rows) - X.shape[1]
    cov = float(res @ res) / dof * np.linalg.pinv(X.T @ X)
    t = stats.t.ppf(0.5 + confidence / 2, dof)
    for i, f in enumerate(factors, start=1):
        se = math.sqrt(max(cov[i, i], 0.0))
        out[f] = (float(coef[i]), float(coef[i] - t * se), float(coef[i] + t * se))
    return out


def report(summary: dict[str, np.ndarray], config: dict) -> dict[str, list[dict]]:
    """``sdlss show``'s tables: per configuration, mean ln N, the two predictors and the ratios
    ln N / P; per bias, the free exponents (`loglog_fit`) beside those the same fit finds when
    ln N is replaced by a predictor's values on the same configurations (``if_sdlss``,
    ``if_zaslavsky``: what the fit would report if that predictor were the law)."""
    keys = ("bias", "factor", "s", "depth", "k", "h")
    rows = []
    for i in range(len(summary["s"])):
        r = {c: summary[c][i] for c in keys}
        p = predictors(int(r["s"]), int(r["depth"]), int(r["k"]), int(r["h"]))
        ln_n = float(summary["log_pieces_mean"][i])
        rows.append({**r, "ln_N": ln_n, "exact": float(summary["success_rate"][i]),
                     "zaslavsky": p["zaslavsky"], "sdlss": p["sdlss"],
                     "ratio_zas": ln_n / p["zaslavsky"],
                     "ratio_sdlss": ln_n / p["sdlss"]})  # fmt: skip
    rows.sort(key=lambda r: (bool(r["bias"]), str(r["factor"]), r["s"], r["depth"], r["k"],
                             r["h"]))  # fmt: skip
    exps = []
    for bias in sorted({bool(r["bias"]) for r in rows}):
        sel = [r for r in rows if bool(r["bias"]) == bias]
        fit = loglog_fit([{**r, "log_pieces": r["ln_N"]} for r in sel])
        implied = {p: loglog_fit([{**r, "log_pieces": r[p]} for r in sel])
                   for p in ("sdlss", "zaslavsky")}  # fmt: skip
        for f in fit["factors"]:
            a, lo, hi = fit[f]
            exps.append({"bias": bias, "factor": f, "exponent": a, "lo": lo, "hi": hi,
                         "configs": fit["n"],
                         "if_sdlss": implied["sdlss"][f][0],
                         "if_zaslavsky": implied["zaslavsky"][f][0]})  # fmt: skip
    out = {"E[ln N] per configuration (exact = fraction of exact counts)": rows}
    if exps:
        title = ("free exponents of ln N (OLS of ln E[ln N] on ln s, ln d, ln k, ln h; 95% t), "
                 "and the same fit to each predictor's values")
        out[title] = exps
    return out


STUDY = Study(
    name="pieces_scaling",
    config=Config,
    grid=grid,
    trial=trial,
    description="Link 2: E[ln N] of linear pieces on s-sparse codes against (s, d, k, h), "
    "exact counts up to a budget and estimates with intervals beyond",
    success="success",
    metrics=("log_pieces", "log_lower", "log_upper", "pieces", "knuth"),
    show=("bias", "factor", "s", "depth", "k", "h", "success", "log_pieces"),
    report=report,
)
