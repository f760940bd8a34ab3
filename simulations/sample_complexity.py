"""The theorem's sample complexity, measured uniformly: m*(gamma0) from certified S-REC bounds.

Estimand. For a configuration (s, d, k, h, biases), m*(gamma0) is the smallest m at which the
S-REC constant gamma* = inf_{x1 != x2 in range_s(G)} ||A(x1 - x2)|| / ||x1 - x2|| of a Gaussian
A (N(0, 1/m) entries) is at least gamma0 with probability 1/2 (and 0.9), over the draw of a
random generator G (`ReLUGenerator.random`, Hand-Voroninski init, d ReLU layers of width h and
a linear output of size n) and of A.

Estimator. Every trial draws G and A and computes `sdlss_theory.srec.srec_bounds`: a certified
lower bound L <= gamma* (exact piece enumeration) and an upper bound U >= gamma* witnessed by an
explicit pair. Since {L >= gamma0} implies {gamma* >= gamma0} implies {U >= gamma0}, the 50%
point of "L >= gamma0" along m is >= m*(gamma0) and that of "U >= gamma0" is <= it: the two
fitted points bracket m* (figure: logistic fits per configuration). Where the pieces exceed the
budget, L is the union-bound guarantee (``certified`` = False) and only the upper side brackets.

Blocks of configurations (cells carry ``block``):

* ``sweep``: s = 1 without biases (range_1(G) is 2k rays, gamma* in closed form, lower = upper),
  one factor at a time around (base_k, base_h, base_depth): k over `k_values`, h over
  `h_values`, d over `depth_values`;
* ``biased``: s = 1 with biases (certified by piece pairs), one factor at a time around
  (biased_k, biased_h, biased_depth);
* ``grid``: a small full grid s in `grid_s` x biases in `grid_bias` on a network small enough
  for certification at every s (grid_k, grid_h, grid_depth), m over `grid_m_values` scaled by
  (s + 1) / 2 (`grid_axis`);
* ``recovery``: the non-uniform contrast, noise-free exact recovery of one in-range signal with
  `latent_recover` (s over `recovery_s` at the sweep's base, and s = 2 at the sweep's extremes);
  a failure is *identifiability* when the solver returns a different signal that fits y to
  `fit_tol` (an explicit second explanation of y) and *optimisation* otherwise.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sdlss_theory import ReLUGenerator, gaussian_matrix, latent_recover
from sdlss_theory.srec import srec_bounds
from sdlss_theory.sweep import Study, StudyConfig, fit_transition
from simulations._common import nonzero_sparse_code

BLOCKS = ("sweep", "biased", "grid", "recovery")


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 12
    gamma0: float = 0.5
    blocks: tuple[str, ...] = BLOCKS
    # sweep: s = 1, no biases
    base_k: int = 20
    base_h: int = 50
    base_depth: int = 2
    n: int = 200
    k_values: tuple[int, ...] = (10, 20, 40, 80)
    h_values: tuple[int, ...] = (25, 50, 100, 200)
    depth_values: tuple[int, ...] = (1, 2, 3, 4)
    m_values: tuple[int, ...] = (8, 10, 12, 14, 16, 18, 20, 23, 26, 30, 35, 40)
    sweep_replicas: int = 4
    # biased: s = 1 with biases
    biased_k: int = 8
    biased_h: int = 16
    biased_depth: int = 2
    biased_n: int = 60
    biased_k_values: tuple[int, ...] = (4, 8, 16)
    biased_h_values: tuple[int, ...] = (8, 16, 32)
    biased_depth_values: tuple[int, ...] = (1, 2, 3)
    biased_m_values: tuple[int, ...] = (8, 11, 14, 17, 20, 24, 29)
    # grid: s x biases on a small network
    grid_s: tuple[int, ...] = (1, 2, 3, 4)
    grid_bias: tuple[bool, ...] = (False, True)
    grid_k: int = 5
    grid_h: int = 6
    grid_depth: int = 1
    grid_n: int = 40
    grid_m_values: tuple[int, ...] = (4, 6, 8, 10, 12, 15, 19)
    # recovery: the non-uniform contrast
    recovery_replicas: int = 2
    recovery_s: tuple[int, ...] = (1, 2, 3)
    recovery_m_values: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)
    fit_tol: float = 1e-9
    tol_success: float = 1e-6
    # srec_bounds budgets
    n_pairs: int = 100
    restarts: int = 4
    max_iter: int = 100
    max_pieces: int = 3000
    max_pair_evals: int = 600_000
    guarantee_prob: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.gamma0 < 1.0:
            raise ValueError(f"gamma0 must be in (0, 1), got {self.gamma0}")
        unknown = set(self.blocks) - set(BLOCKS)
        if unknown:
            raise ValueError(f"blocks must be among {BLOCKS}, got {sorted(unknown)}")
        for name in (
            "base_k", "base_h", "base_depth", "n", "sweep_replicas", "biased_k", "biased_h",
            "biased_depth", "biased_n", "grid_k", "grid_h", "grid_depth", "grid_n",
            "recovery_replicas", "n_pairs", "restarts", "max_iter", "max_pieces",
            "max_pair_evals",
        ):  # fmt: skip
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "k_values", "h_values", "depth_values", "m_values", "biased_k_values",
            "biased_h_values", "biased_depth_values", "biased_m_values", "grid_m_values",
            "recovery_m_values", "grid_s", "recovery_s",
        ):  # fmt: skip
            if any(v < 1 for v in getattr(self, name)):
                raise ValueError(f"every entry of {name} must be >= 1, got {getattr(self, name)}")
        if any(s > self.grid_k for s in self.grid_s):
            raise ValueError(f"every grid_s must be <= grid_k = {self.grid_k}")
        if any(s > min(self.base_k, *self.k_values) for s in self.recovery_s):
            raise ValueError("every recovery_s must be <= the smallest k of the sweep")
        if not 0.0 <= self.guarantee_prob < 1.0:
            raise ValueError(f"guarantee_prob must be in [0, 1), got {self.guarantee_prob}")
        if self.fit_tol <= 0 or self.tol_success <= 0:
            raise ValueError("fit_tol and tol_success must be > 0")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=3,
            sweep_replicas=2,
            recovery_replicas=1,
            base_k=10,
            base_h=25,
            n=100,
            k_values=(5, 20),
            h_values=(25, 100),
            depth_values=(1, 3),
            m_values=(6, 9, 12, 16, 20, 26),
            biased_k=4,
            biased_h=8,
            biased_depth=1,
            biased_n=40,
            biased_k_values=(4,),
            biased_h_values=(8,),
            biased_depth_values=(1,),
            biased_m_values=(6, 10, 14, 20),
            grid_s=(1, 2),
            grid_k=4,
            grid_h=5,
            grid_n=30,
            grid_m_values=(5, 9, 14, 20),
            recovery_s=(1, 2),
            recovery_m_values=(1, 2, 3, 5),
        )


def _one_factor(base: tuple[int, int, int], k_values, h_values, depth_values):
    """(k, h, d): the base, then k, h and d varied one at a time (duplicates removed)."""
    out = [base]
    for axis, values in ((0, k_values), (1, h_values), (2, depth_values)):
        for v in values:
            c = list(base)
            c[axis] = v
            if tuple(c) not in out:
                out.append(tuple(c))
    return out


def grid_axis(m_values, s: int) -> tuple[int, ...]:
    """The grid block's m axis for sparsity s: `grid_m_values` scaled by (s + 1) / 2.

    The transition moves up with s (about 5 (s + 1) at gamma0 = 0.5 in a pilot), so one
    axis scaled with s brackets it at every s.
    """
    return tuple(sorted({max(1, round(v * (s + 1) / 2)) for v in m_values}))


def configurations(config: Config) -> list[dict]:
    """Every configuration: block, s, bias, k, h, depth, n, its m axis and replicas.

    A cell is (configuration, m, replica); replicas multiply the trials of the cheap blocks
    (the engine runs `trials` per cell) and are pooled by the figure.
    """
    out = []
    if "sweep" in config.blocks:
        base = (config.base_k, config.base_h, config.base_depth)
        for k, h, d in _one_factor(base, config.k_values, config.h_values, config.depth_values):
            out.append(dict(block="sweep", s=1, bias=False, k=k, h=h, depth=d, n=config.n,
                            ms=config.m_values, reps=config.sweep_replicas))  # fmt: skip
    if "biased" in config.blocks:
        base = (config.biased_k, config.biased_h, config.biased_depth)
        vals = (config.biased_k_values, config.biased_h_values, config.biased_depth_values)
        for k, h, d in _one_factor(base, *vals):
            out.append(dict(block="biased", s=1, bias=True, k=k, h=h, depth=d,
                            n=config.biased_n, ms=config.biased_m_values, reps=1))  # fmt: skip
    if "grid" in config.blocks:
        for s in config.grid_s:
            for bias in config.grid_bias:
                out.append(dict(block="grid", s=s, bias=bias, k=config.grid_k, h=config.grid_h,
                                depth=config.grid_depth, n=config.grid_n,
                                ms=grid_axis(config.grid_m_values, s), reps=1))  # fmt: skip
    if "recovery" in config.blocks:
        base = dict(bias=False, k=config.base_k, h=config.base_h, depth=config.base_depth)
        rec = [dict(base, s=s) for s in config.recovery_s]
        s2 = 2 if 2 in config.recovery_s else config.recovery_s[0]
        for key, values in (("k", config.k_values), ("h", config.h_values),
                            ("depth", config.depth_values)):  # fmt: skip
            extreme = dict(base, s=s2)
            extreme[key] = max(values)
            if extreme not in rec:
                rec.append(extreme)
        for c in rec:
            out.append(dict(block="recovery", n=config.n, ms=config.recovery_m_values,
                            reps=config.recovery_replicas, **c))  # fmt: skip
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
        fit_tol=config.fit_tol,
        tol_success=config.tol_success,
    )
    cells = []
    for c in configurations(config):
        ms, reps = c.pop("ms"), c.pop("reps")
        for m in sorted({min(c["n"], m) for m in ms}):
            for rep in range(reps):
                cells.append({**c, "m": m, "rep": rep, **budgets})
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


def _recovery_trial(params: dict, rng: np.random.Generator) -> dict:
    G = _generator(params, rng)
    z_star, x = nonzero_sparse_code(G, params["s"], rng)
    A = gaussian_matrix(params["m"], params["n"], rng)
    y = A @ x
    res = latent_recover(G, A, y, params["s"], rng=rng, fit_tol=params["fit_tol"])
    x_norm = float(np.linalg.norm(x))
    err = float(np.linalg.norm(G(res.z) - x)) / x_norm
    fits = res.residual <= params["fit_tol"] * max(float(np.linalg.norm(y)), 1e-300)
    ok = err <= params["tol_success"]
    return {
        "success": bool(ok),
        "identifiability_failure": int(not ok and fits),
        "optimisation_failure": int(not ok and not fits),
        "rel_error": err,
    }


def trial(params: dict, rng: np.random.Generator) -> dict:
    if params["block"] == "recovery":
        return _recovery_trial(params, rng)
    return _srec_trial(params, rng)


def report(summary: dict[str, np.ndarray], config: dict) -> dict[str, list[dict]]:
    """``sdlss show``'s bracket table: per configuration (replicas pooled), the 50% points
    along m of "upper >= gamma0" (m_U, below m*) and "certified lower >= gamma0" (m_L, above
    m*), with 95% intervals (logistic fit, `fit_transition`); the recovery block's 50% point
    of exact recovery beside them."""
    keys = ("block", "s", "bias", "k", "h", "depth")
    groups: dict[tuple, list[int]] = {}
    for i in range(len(summary["m"])):
        groups.setdefault(tuple(summary[c][i] for c in keys), []).append(i)
    brackets, recovery = [], []
    for key, rows in sorted(
        groups.items(), key=lambda kv: [(isinstance(v, str), v) for v in kv[0]]
    ):
        ms, at = np.unique(summary["m"][rows], return_inverse=True)

        def pooled(column: np.ndarray, rows=rows, at=at, size=ms.size) -> np.ndarray:
            return np.bincount(at, weights=column[rows], minlength=size)  # summed over reps

        n, lower = pooled(summary["n_ok"]), pooled(summary["success_count"])
        entry = dict(zip(keys, key, strict=True))
        if key[0] == "recovery":
            fit = fit_transition(ms, lower, n)
            recovery.append({**entry, "m50": fit.x50, "lo": fit.lo, "hi": fit.hi})
            continue
        upper = pooled(np.rint(summary["upper_ge_mean"] * summary["n_ok"]))
        fu, fl = fit_transition(ms, upper, n), fit_transition(ms, lower, n)
        brackets.append({**entry, "m_U": fu.x50, "m_U_lo": fu.lo, "m_U_hi": fu.hi,
                         "m_L": fl.x50, "m_L_lo": fl.lo, "m_L_hi": fl.hi})  # fmt: skip
    gamma0 = config.get("gamma0", 0.5)
    out = {}
    if brackets:
        out[f"m*({gamma0}) brackets: m_U <= m* <= m_L (50% points, 95% intervals)"] = brackets
    if recovery:
        out["non-uniform contrast: 50% point of exact recovery of one signal"] = recovery
    return out


STUDY = Study(
    name="sample_complexity",
    config=Config,
    grid=grid,
    trial=trial,
    description="m*(gamma0) bracketed by certified lower / witnessed upper S-REC bounds over "
    "(s, d, k, h, biases); non-uniform recovery threshold as a contrast",
    success="success",
    metrics=(
        "upper_ge",
        "lower",
        "upper",
        "certified",
        "exact",
        "n_pieces",
        "log_pieces",
        "random_min",
        "identifiability_failure",
        "optimisation_failure",
        "rel_error",
    ),  # fmt: skip
    show=(
        "block",
        "s",
        "bias",
        "k",
        "h",
        "depth",
        "m",
        "success",
        "upper_ge",
        "exact",
        "certified",
    ),
    report=report,
)
