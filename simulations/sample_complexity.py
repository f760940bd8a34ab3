"""Link 1 of the theorem's chain: m*(gamma0) against ln N, at fixed k, from certified brackets.

Estimand. For a network family (s, biases, k) and a network (h, d) of it, m*(gamma0) is the
smallest m at which the S-REC constant gamma* = inf_{x1 != x2 in range_s(G)} ||A(x1 - x2)|| /
||x1 - x2|| of a Gaussian A (N(0, 1/m) entries) is at least gamma0 with probability 1/2 (and
0.9), over the draw of a random generator G (`ReLUGenerator.random`, d ReLU layers of width h,
a linear output of size n) and of A; the study relates it to the mean log piece count ln N of
the family's networks, which varies with h and d while k (and hence ln C(k, s)) is fixed.

Estimator. Every trial draws G and A and computes `sdlss_theory.srec.srec_bounds`: a certified
lower bound L <= gamma* (exact piece enumeration) and an upper bound U >= gamma* witnessed by an
explicit pair, and the exact piece count N. `success` means "certified L >= gamma0", one meaning
in every cell. Since {L >= gamma0} implies {gamma* >= gamma0} implies {U >= gamma0}, the 50%
point m_L of `success` along m is >= m*(gamma0) and the 50% point m_U of `upper_ge` is <= it:
the two bracket m*. Where the pieces exceed the budget, L is the union-bound guarantee
(``certified`` = False, so `success` is False) and only the upper side brackets.

Networks (chosen so that ln N varies with h and d at fixed k, issue 19):

* ``bias_free``: s = `bias_free_s` (>= 2: bias-free pieces multiply with h and d only when
  s >= 2; at s = 1 the range is 2k rays whatever h and d), networks `bias_free_nets`;
* ``biased``: s = `biased_s` with biases, networks `biased_nets`;

a network is written "HxD" (width h, d ReLU layers). The m axis of sparsity s is `m_values`
scaled by (s + 1) / 2 (`m_axis`). The slope of m* against ln N, with its interval, is fitted
by `report` (``sdlss show``) and by ``figures/sample_complexity.py``.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sdlss_theory import ReLUGenerator, gaussian_matrix
from sdlss_theory.srec import srec_bounds
from sdlss_theory.sweep import Study, StudyConfig, fit_transition
from sdlss_theory.theory import union_bound_measurements

FAMILIES = ("bias_free", "biased")


def parse_net(spec: str) -> tuple[int, int]:
    """(h, d) from a network written "HxD" (width h >= 1, d >= 1 ReLU layers)."""
    try:
        h, d = (int(v) for v in str(spec).lower().split("x"))
    except ValueError as exc:
        raise ValueError(f"a network is written 'HxD' (e.g. '16x2'), got {spec!r}") from exc
    if h < 1 or d < 1:
        raise ValueError(f"a network needs width and depth >= 1, got {spec!r}")
    return h, d


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 12
    gamma0: float = 0.5
    families: tuple[str, ...] = FAMILIES
    k: int = 6
    n: int = 40
    bias_free_s: int = 2
    bias_free_nets: tuple[str, ...] = ("4x1", "8x1", "16x1", "32x1", "8x2", "16x2", "24x2")
    biased_s: int = 1
    biased_nets: tuple[str, ...] = ("4x1", "8x1", "16x1", "32x1", "8x2", "16x2", "16x3")
    m_values: tuple[int, ...] = (6, 8, 10, 12, 14, 17, 20, 24, 29)
    # srec_bounds budgets
    n_pairs: int = 100
    restarts: int = 4
    max_iter: int = 100
    max_pieces: int = 5000
    max_pair_evals: int = 20_000_000
    guarantee_prob: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.gamma0 < 1.0:
            raise ValueError(f"gamma0 must be in (0, 1), got {self.gamma0}")
        unknown = set(self.families) - set(FAMILIES)
        if unknown or not self.families:
            raise ValueError(f"families must be among {FAMILIES}, got {list(self.families)}")
        for name in ("k", "n", "bias_free_s", "biased_s", "n_pairs", "restarts", "max_iter",
                     "max_pieces", "max_pair_evals"):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("bias_free_s", "biased_s"):
            if getattr(self, name) > self.k:
                raise ValueError(f"{name} must be <= k = {self.k}, got {getattr(self, name)}")
        if "bias_free" in self.families and self.bias_free_s < 2:
            raise ValueError("bias_free_s must be >= 2 (at s = 1 ln N = ln 2k for every h, d)")
        for name in ("bias_free_nets", "biased_nets"):
            for spec in getattr(self, name):
                parse_net(spec)
        if not self.m_values or any(v < 1 for v in self.m_values):
            raise ValueError(f"every entry of m_values must be >= 1, got {self.m_values}")
        if not 0.0 <= self.guarantee_prob < 1.0:
            raise ValueError(f"guarantee_prob must be in [0, 1), got {self.guarantee_prob}")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=4,
            k=4,
            n=24,
            bias_free_nets=("4x1", "8x1", "6x2"),
            biased_nets=("4x1", "8x1", "6x2"),
            m_values=(5, 8, 12, 17, 24),
            n_pairs=30,
            restarts=2,
            max_iter=40,
        )


def m_axis(m_values, s: int) -> tuple[int, ...]:
    """The m axis for sparsity s: `m_values` scaled by (s + 1) / 2, so that one axis brackets
    the transition at every s (at fixed ln N the transition m* grows about like s + 1)."""
    return tuple(sorted({max(1, round(v * (s + 1) / 2)) for v in m_values}))


def configurations(config: Config) -> list[dict]:
    """Every network: family, s, bias, k, h, depth, n and its m axis."""
    out = []
    for family in config.families:
        if family == "bias_free":
            s, bias, nets = config.bias_free_s, False, config.bias_free_nets
        else:
            s, bias, nets = config.biased_s, True, config.biased_nets
        for spec in dict.fromkeys(nets):
            h, d = parse_net(spec)
            out.append(dict(family=family, s=s, bias=bias, k=config.k, h=h, depth=d,
                            n=config.n, ms=m_axis(config.m_values, s)))  # fmt: skip
    return out


def grid(config: Config) -> list[dict]:
    budgets = dict(
        gamma0=config.gamma0,
        n_pairs=config.n_pairs,
        restarts=config.restarts,
        max_iter=config.max_iter,
        max_pieces=config.max_pieces,
        max_pair_evals=config.max_pair_evals,
        guarantee_prob=config.guarantee_prob,
    )
    cells = []
    for c in configurations(config):
        ms = c.pop("ms")
        for m in sorted({min(c["n"], m) for m in ms}):
            cells.append({**c, "m": m, **budgets})
    return cells


def _generator(params: dict, rng: np.random.Generator) -> ReLUGenerator:
    dims = [params["k"], *([params["h"]] * params["depth"]), params["n"]]
    return ReLUGenerator.random(dims, rng, bias=params["bias"])


def _srec_trial(params: dict, rng: np.random.Generator) -> dict:
    G = _generator(params, rng)
    A = gaussian_matrix(params["m"], params["n"], rng)
    b = srec_bounds(
        G,
        A,
        params["s"],
        rng=rng,
        n_pairs=params["n_pairs"],
        restarts=params["restarts"],
        max_iter=params["max_iter"],
        max_pieces=params["max_pieces"],
        max_pair_evals=params["max_pair_evals"],
        prob=params["guarantee_prob"],
    )
    g0 = params["gamma0"]
    return {
        "success": bool(b.certified and b.lower >= g0),
        "upper_ge": int(b.upper >= g0),
        "lower": b.lower,
        "upper": b.upper,
        "certified": int(b.certified),
        "exact": int(b.exact),
        "n_pieces": b.n_pieces,
        "log_pieces": math.log(b.n_pieces) if b.n_pieces > 0 else None,
        "random_min": b.random_min,
    }



trial = _srec_trial


def slope_fit(x, y, confidence: float = 0.95) -> dict:
    """OLS y = a + b x with t intervals for a and b (finite pairs; NaN with fewer than 3)."""
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    out = {c: math.nan for c in ("a", "a_lo", "a_hi", "b", "b_lo", "b_hi", "r2")}
    out["n"] = int(x.size)
    if x.size < 3 or np.ptp(x) == 0:
        return out
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    dof = x.size - 2
    se = np.sqrt(np.diag(float(res @ res) / dof * np.linalg.inv(X.T @ X)))
    t = stats.t.ppf(0.5 + confidence / 2, dof)
    ss = float(np.sum((y - y.mean()) ** 2))
    out.update(a=float(coef[0]), a_lo=float(coef[0] - t * se[0]), a_hi=float(coef[0] + t * se[0]),
               b=float(coef[1]), b_lo=float(coef[1] - t * se[1]), b_hi=float(coef[1] + t * se[1]),
               r2=1.0 - float(res @ res) / ss if ss > 0 else math.nan)  # fmt: skip
    return out


def brackets(summary: dict[str, np.ndarray], gamma0: float) -> list[dict]:
    """Per network: mean ln N, m_U and m_L (50% points with 95% intervals, `fit_transition`),
    the bracket's relative width (m_L - m_U) / m_U, and the union bound's m at the mean ln N
    (`theory.union_bound_measurements`, rank 2s or 2s + 1, probability 1/2)."""
    keys = ("family", "s", "bias", "k", "h", "depth")
    groups: dict[tuple, list[int]] = {}
    for i in range(len(summary["m"])):
        groups.setdefault(tuple(summary[c][i] for c in keys), []).append(i)
    out = []
    for key, rows in groups.items():
        ms = summary["m"][rows]
        n = summary["n_ok"][rows]
        lower = summary["success_count"][rows]
        upper = np.rint(summary["upper_ge_mean"][rows] * n)
        fu, fl = fit_transition(ms, upper, n), fit_transition(ms, lower, n)
        weights = np.asarray(n, dtype=float)
        ln_n = float(np.sum(summary["log_pieces_mean"][rows] * weights) / weights.sum())
        width = (fl.x50 - fu.x50) / fu.x50 if fu.x50 > 0 else math.nan
        entry = dict(zip(keys, key, strict=True))
        rank = 2 * int(entry["s"]) + (1 if bool(entry["bias"]) else 0)
        m_ub = union_bound_measurements(ln_n, rank, gamma0, 0.5)
        out.append({**entry, "ln_N": ln_n, "m_union": m_ub,
                    "certified": float(np.min(summary["certified_mean"][rows])),
                    "m_U": fu.x50, "m_U_lo": fu.lo, "m_U_hi": fu.hi,
                    "m_L": fl.x50, "m_L_lo": fl.lo, "m_L_hi": fl.hi,
                    "rel_width": width})  # fmt: skip
    out.sort(key=lambda r: (str(r["family"]), r["ln_N"]))
    return out


def report(summary: dict[str, np.ndarray], config: dict) -> dict[str, list[dict]]:
    """``sdlss show``'s tables: the brackets m_U <= m* <= m_L per network, and the slope of
    m_L and m_U against ln N per family and over both, with 95% t intervals, beside the union
    bound's own slope over the same networks (its local slope, not the asymptotic 16)."""
    gamma0 = float(config.get("gamma0", 0.5))
    rows = brackets(summary, gamma0)
    slopes = []
    for scope in (*FAMILIES, "both"):
        sel = [r for r in rows if scope == "both" or r["family"] == scope]
        for side in ("m_L", "m_U", "m_union"):
            fit = slope_fit([r["ln_N"] for r in sel], [r[side] for r in sel])
            slopes.append({"family": scope, "side": side, "slope": fit["b"], "lo": fit["b_lo"],
                           "hi": fit["b_hi"], "intercept": fit["a"], "r2": fit["r2"],
                           "networks": fit["n"]})  # fmt: skip
    return {
        f"m*({gamma0}) brackets: m_U <= m* <= m_L (50% points, 95% intervals)": rows,
        "slope of m* against ln N (OLS over networks, 95% t)": slopes,
    }


STUDY = Study(
    name="sample_complexity",
    config=Config,
    grid=grid,
    trial=trial,
    description="Link 1: m*(gamma0) bracketed by certified lower / witnessed upper S-REC bounds, "
    "against ln N at fixed k (h and d varied; bias-free s >= 2 and biased s = 1)",
    success="success",
    metrics=("upper_ge", "lower", "upper", "certified", "exact", "n_pieces", "log_pieces",
             "random_min"),  # fmt: skip
    show=("family", "s", "h", "depth", "m", "success", "upper_ge", "exact", "certified"),
    report=report,
)
