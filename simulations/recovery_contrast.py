"""The non-uniform contrast to the theorem: exact recovery of one in-range signal against m.

Estimand. For a configuration (s, d, k, h, no biases), the probability that noise-free
`latent_recover` returns the signal, ||G(z_hat) - x|| <= `tol_success` ||x||, for one s-sparse
in-range signal x = G(z*) (nonzero entries on a random support) and a Gaussian A with m rows,
over the draw of G, z* and A; its 50% point along m. This is a non-uniform event (one x, not
every pair of the range), so it needs far fewer measurements than the S-REC of
``sample_complexity``; the contrast is the point.

A failure is an *identifiability* failure (``ident_failure``) when the solver returns a
different signal that fits y to `fit_tol` (an explicit second explanation of y: no solver can
do better) and an *optimisation* failure (``opt_failure``) otherwise: the rule of
`sdlss_theory.experiment.classify_failure` with ``ident_tol = fit_tol`` (noise-free, z* fits
y exactly). `success` means exact recovery, nothing else. The problem is drawn by
`sdlss_theory.experiment.draw_problem` and scored by `score_recovery`.

Configurations: s over `s_values` at the base (k, h, depth), and s = 2 (or the first s) at the
largest of `k_values`, `h_values` and `depth_values`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory import latent_recover
from sdlss_theory.experiment import draw_problem, score_recovery
from sdlss_theory.sweep import Study, StudyConfig, fit_transition


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 24
    k: int = 20
    h: int = 50
    depth: int = 2
    n: int = 200
    s_values: tuple[int, ...] = (1, 2, 3)
    k_values: tuple[int, ...] = (80,)
    h_values: tuple[int, ...] = (200,)
    depth_values: tuple[int, ...] = (4,)
    m_values: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8)
    fit_tol: float = 1e-9
    tol_success: float = 1e-6

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("k", "h", "depth", "n"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("s_values", "k_values", "h_values", "depth_values", "m_values"):
            if any(v < 1 for v in getattr(self, name)):
                raise ValueError(f"every entry of {name} must be >= 1, got {getattr(self, name)}")
        if not self.s_values:
            raise ValueError("s_values must hold at least one sparsity")
        if any(s > min(self.k, *self.k_values) for s in self.s_values):
            raise ValueError("every s_values entry must be <= the smallest k")
        if self.fit_tol <= 0 or self.tol_success <= 0:
            raise ValueError("fit_tol and tol_success must be > 0")

    @classmethod
    def quick(cls) -> Config:
        return cls(trials=3, k=10, h=25, n=100, s_values=(1, 2), k_values=(20,),
                   h_values=(100,), depth_values=(3,), m_values=(1, 2, 3, 5))  # fmt: skip


def configurations(config: Config) -> list[dict]:
    """s over `s_values` at the base, then s = 2 at the largest k, h and depth."""
    base = dict(bias=False, k=config.k, h=config.h, depth=config.depth)
    out = [dict(base, s=s) for s in config.s_values]
    s2 = 2 if 2 in config.s_values else config.s_values[0]
    for key, values in (("k", config.k_values), ("h", config.h_values),
                        ("depth", config.depth_values)):  # fmt: skip
        if not values:
            continue
        extreme = dict(base, s=s2)
        extreme[key] = max(values)
        if extreme not in out:
            out.append(extreme)
    return out


def grid(config: Config) -> list[dict]:
    cells = []
    for c in configurations(config):
        for m in sorted({min(config.n, m) for m in config.m_values}):
            cells.append({**c, "n": config.n, "m": m, "fit_tol": config.fit_tol,
                          "tol_success": config.tol_success})  # fmt: skip
    return cells


def trial(params: dict, rng: np.random.Generator) -> dict:
    """One problem (`draw_problem`: G, z*, A), noise-free `latent_recover`, scored."""
    dims = [params["k"], *([params["h"]] * params["depth"]), params["n"]]
    problem = draw_problem(dims, params["s"], params["m"], rng, bias=params["bias"])
    res = latent_recover(problem.G, problem.A, problem.y, params["s"], rng=rng,
                         fit_tol=params["fit_tol"])  # fmt: skip
    score = score_recovery(problem, res.z, tol=params["tol_success"],
                           ident_tol=params["fit_tol"])  # fmt: skip
    return {key: score[key] for key in ("success", "ident_failure", "opt_failure", "rel_error")}


def report(summary: dict[str, np.ndarray], config: dict) -> dict[str, list[dict]]:
    """``sdlss show``'s table: per configuration, the 50% point along m of
    exact recovery with its 95% interval (`fit_transition`)."""
    keys = ("s", "k", "h", "depth")
    groups: dict[tuple, list[int]] = {}
    for i in range(len(summary["m"])):
        groups.setdefault(tuple(int(summary[c][i]) for c in keys), []).append(i)
    rows = []
    for key, idx in sorted(groups.items()):
        ms, at = np.unique(summary["m"][idx], return_inverse=True)
        n = np.bincount(at, weights=summary["n_ok"][idx], minlength=ms.size)
        ok = np.bincount(at, weights=summary["success_count"][idx], minlength=ms.size)
        fit = fit_transition(ms, ok, n)
        rows.append({**dict(zip(keys, key, strict=True)), "m50": fit.x50, "lo": fit.lo,
                     "hi": fit.hi})  # fmt: skip
    return {"50% point of exact recovery of one signal (95% interval)": rows}


STUDY = Study(
    name="recovery_contrast",
    config=Config,
    grid=grid,
    trial=trial,
    description="the non-uniform contrast: exact noise-free recovery of one in-range signal "
    "against m, failures split into identifiability and optimisation",
    success="success",
    metrics=("ident_failure", "opt_failure", "rel_error"),
    show=("s", "k", "h", "depth", "m", "success", "ident_failure"),
    report=report,
)
