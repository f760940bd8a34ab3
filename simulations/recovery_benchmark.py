"""Recovery benchmark: success, failure kind and CPU time of solver configurations.

Estimand: for each solver configuration, the probability over random problems that it
recovers x* = G(z*) from y = A x* (||G(z_hat) - x*|| <= tol ||x*||), with each failure
split into an *identifiability* failure (z_hat fits y as well as z* does:
||y - A G(z_hat)|| <= ident_tol ||y||, so no solver of this objective could tell them apart)
and an *optimisation* failure (it does not); and the thread CPU time of one recovery.

Problems are the latent phase-transition study's: a random bias-free ReLU generator (weights
N(0, 1/n_i), linear output), an s-sparse z* with a uniformly random support and N(0, 1)
non-zeros, A with N(0, 1/m) entries, no noise. Three sections, each its own cells:

* ``transition``: generator ``[k, *hidden[:depth - 1], n]``, every (depth, s, m);
* ``square``: m = n, generator ``[k, 3k, 6k, ..., n]`` (``depth - 1`` hidden layers doubling
  from 3k), every (depth, s) of ``square_depth`` x ``s``;
* ``dense``: s = k at ``m = dense_m``, expansive generators ``[k, 4k, 8k]`` (depth 2) and
  ``[k, 2k, 4k, 8k]`` (depth 3), every k of ``dense_k``.

The solver configuration is a grid axis (`CONFIGURATIONS`), and the configurations are
*paired*: every configuration sees the same draw (G, A, z*) and the same solver random
stream in a given (section, depth, s, m, trial), because the study declares
``paired=("configuration",)`` and the engine seeds a task from its cell without its
configuration (`sdlss_theory.sweep.Study`). Differences between configurations are
therefore paired differences. `transition_points` turns the summary into
the 50% points per (configuration, depth, s), and `tables` into the tables docs/benchmarks.md
shows. The draw, the solvers and the score are the library's
(`sdlss_theory.experiment.draw_problem`, `sdlss_theory.make_solver` and
`sdlss_theory.Oracle`, `sdlss_theory.experiment.score_recovery`).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from sdlss_theory import Oracle, make_solver
from sdlss_theory.experiment import RecoveryProblem, draw_problem, score_recovery
from sdlss_theory.sweep import (
    Study,
    StudyConfig,
    read_summary_csv,
    transition_point,
)

SECTIONS = ("transition", "square", "dense")


def _solver(name: str, **options) -> Callable:
    def run(problem: RecoveryProblem, s: int, rng):
        solver = make_solver(name, problem.G, problem.A, s, **options)
        return solver.solve(problem.y, rng=rng)

    return run


def _recover(**options) -> Callable:
    return _solver("latent_recover", **options)


def _iterative(name: str) -> Callable:
    return _solver(name, starts=5, max_iter=1000)


def _oracle(solver: str, **options) -> Callable:
    # The support-knowing solver (`Oracle`): latent_recover on the generator restricted to
    # S (a dense problem: its 2|S| greedy seeds, the dense defaults otherwise), or GD.
    def run(problem: RecoveryProblem, s: int, rng):
        built = Oracle(problem.G, problem.A, problem.support, solver=solver, **options)
        return built.solve(problem.y, rng=rng)

    return run


#: Solver configurations: name -> (what it is, run(problem, s, rng) -> RecoveryResult).
#: The ``no_*`` and other named variants switch off or change one stage of the default
#: `latent_recover`; they measure what each stage buys (docs/solvers.md, "Defaults").
CONFIGURATIONS: dict[str, tuple[str, Callable]] = {
    "default": ("latent_recover, default options", _recover()),
    "oracle": ("latent_recover on the true support (knows S)", _oracle("latent_recover")),
    "oracle_gd": (
        "dense latent GD on the true support, 5 starts",
        _oracle("latent_gd", starts=5, max_iter=1000),
    ),
    "no_swaps": ("latent_recover, max_swaps=0", _recover(max_swaps=0)),
    "no_pairs": ("latent_recover, pair_screen=0", _recover(pair_screen=0)),
    "no_beam": ("latent_recover, beam=0", _recover(beam=0)),
    "beam_64": ("latent_recover, beam=64", _recover(beam=64)),
    "beam_expand_4": ("latent_recover, beam_expand=4", _recover(beam_expand=4)),
    "no_support_search": ("latent_recover, exhaustive=0", _recover(exhaustive=0)),
    "no_negation": ("latent_recover, negate=False", _recover(negate=False)),
    "no_stall": ("latent_recover, gn_stall=1", _recover(gn_stall=1.0)),
    "stall": ("latent_recover, gn_stall=0.5", _recover(gn_stall=0.5)),
    "no_flips": ("latent_recover, flips=False", _recover(flips=False)),
    "polish_8": ("latent_recover, polish=8", _recover(polish=8)),
    "seeds_5": ("latent_recover, seeds=5", _recover(seeds=5)),
    "random_starts": ("latent_recover, seeds=0, starts=5", _recover(seeds=0, starts=5)),
    "latent_iht": ("latent_iht, 5 starts, 1000 iterations", _iterative("latent_iht")),
    "latent_niht": ("latent_niht, 5 starts, 1000 iterations", _iterative("latent_niht")),
}


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    """Configuration of the recovery benchmark.

    Attributes
    ----------
    sections : tuple of str
        Any of ``transition``, ``square``, ``dense``.
    configurations : tuple of str
        Grid axis: names of `CONFIGURATIONS`.
    k, hidden, n : int, tuple of int, int
        The transition section's generator ``[k, *hidden[:depth - 1], n]``; k and n are also
        the square section's.
    depth, s, m : tuple of int
        The transition section's grid (s also the square section's).
    square_depth : tuple of int
        Depths of the square section.
    dense_k, dense_m : tuple of int, int
        The dense section: latent sizes (s = k) and the fixed number of measurements.
    tol, ident_tol : float
        Success: ||G(z_hat) - x*|| <= tol ||x*||; a failure is one of identifiability when
        ||y - A G(z_hat)|| <= ident_tol ||y||.
    """

    trials: int = 30
    sections: tuple[str, ...] = ("transition",)
    configurations: tuple[str, ...] = ("default", "oracle")
    k: int = 20
    hidden: tuple[int, ...] = (60, 120)
    n: int = 200
    depth: tuple[int, ...] = (2, 3)
    s: tuple[int, ...] = (1, 2, 3, 5, 8)
    m: tuple[int, ...] = (*range(1, 15), 16, 20, 25, 30, 40, 60)
    square_depth: tuple[int, ...] = (2, 3, 4)
    dense_k: tuple[int, ...] = (5, 10, 20, 30, 40)
    dense_m: int = 40
    tol: float = 1e-3
    ident_tol: float = 1e-6

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, allowed in (("sections", SECTIONS), ("configurations", CONFIGURATIONS)):
            values = getattr(self, name)
            unknown = [v for v in values if v not in allowed]
            if unknown or not values or len(set(values)) != len(values):
                raise ValueError(
                    f"{name} must be distinct names among {sorted(allowed)}, got {values}"
                )
        if any(not 1 <= d <= len(self.hidden) + 1 for d in self.depth):
            raise ValueError(
                f"every depth must be in [1, {len(self.hidden) + 1}], got {self.depth}"
            )
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")
        if any(d < 1 for d in self.square_depth) or any(k < 1 for k in self.dense_k):
            raise ValueError("square_depth and dense_k must be >= 1")
        if not 0.0 < self.tol < 1.0 or self.ident_tol < 0.0:
            raise ValueError("tol must be in (0, 1) and ident_tol >= 0")

    @classmethod
    def quick(cls) -> Config:
        """k = 10, widths 30 and 60, n = 80; s in {2, 4}; 5 trials per cell."""
        return cls(
            trials=5,
            sections=("transition", "square"),
            k=10,
            hidden=(30, 60),
            n=80,
            s=(2, 4),
            m=(2, 3, 4, 6, 8, 12, 24),
            square_depth=(2, 3),
        )


def grid(config: Config) -> list[dict]:
    """Cells configuration x section x (depth, s, m), in that nesting order."""
    shared = {"tol": config.tol, "ident_tol": config.ident_tol}
    problems = []
    if "transition" in config.sections:
        problems += [
            {"section": "transition", "depth": d, "s": s, "m": m}
            | {"dims": [config.k, *config.hidden[: d - 1], config.n]}
            for d in config.depth
            for s in config.s
            for m in config.m
        ]
    if "square" in config.sections:
        k = config.k
        problems += [
            {"section": "square", "depth": d, "s": s, "m": config.n}
            | {"dims": [k, *[3 * k * 2**i for i in range(d - 1)], config.n]}
            for d in config.square_depth
            for s in config.s
        ]
    if "dense" in config.sections:
        problems += [
            {"section": "dense", "depth": d, "s": k, "m": config.dense_m}
            | {"dims": [k, 4 * k, 8 * k] if d == 2 else [k, 2 * k, 4 * k, 8 * k]}
            for d in (2, 3)
            for k in config.dense_k
        ]
    return [{"configuration": c, **p, **shared} for c in config.configurations for p in problems]


def trial(params: dict, rng: np.random.Generator) -> dict:
    """One problem, one configuration: success, the failure's kind, certificate, CPU time.

    `rng` is shared by the configurations of a (section, depth, s, m, trial): the study pairs
    its draws along ``configuration``.
    """
    problem = draw_problem(params["dims"], params["s"], params["m"], rng)
    run = CONFIGURATIONS[params["configuration"]][1]
    with threadpool_limits(1):
        start = time.thread_time()
        result = run(problem, params["s"], rng)
        cpu = time.thread_time() - start
    score = score_recovery(problem, result.z, tol=params["tol"], ident_tol=params["ident_tol"])
    keep = ("success", "ident_failure", "opt_failure")
    return {
        **{key: score[key] for key in keep},
        "certified": bool(result.certified),
        "rel_error": score["rel_error"],
        "rel_residual": score["rel_residual"],
        "cpu_ms": 1e3 * cpu,
    }


def m50(m: np.ndarray, successes: np.ndarray, trials: np.ndarray) -> float:
    """The 50% point of the success rate over m (`sdlss_theory.sweep.transition_point`):
    the logistic fit's inside the grid, else the empirical crossing (-inf: at least 50% at
    the first m; +inf: never 50% inside the grid)."""
    return transition_point(m, successes, trials)[0]


def _select(summary: Mapping[str, np.ndarray], **values) -> np.ndarray:
    keep = np.ones(len(summary["configuration"]), dtype=bool)
    for key, value in values.items():
        keep &= np.asarray(summary[key]) == value
    return keep


def transition_points(summary: Mapping[str, np.ndarray]) -> dict[tuple, dict]:
    """(configuration, depth, s) -> m_50, m_50 ident. only, mean CPU ms, of the transition.

    ``m50_ident`` counts optimisation failures as successes, so that only identifiability
    failures remain; ``cpu_ms`` is the mean CPU time per recovery over the m grid.
    """
    points = {}
    cells = _select(summary, section="transition")
    keys = {
        (c, int(d), int(s))
        for c, d, s in zip(
            summary["configuration"][cells],
            summary["depth"][cells],
            summary["s"][cells],
            strict=True,
        )
    }
    for name, depth, s in sorted(keys):
        cell = _select(summary, section="transition", configuration=name, depth=depth, s=s)
        order = np.argsort(summary["m"][cell])
        m, n = summary["m"][cell][order], summary["n_ok"][cell][order]
        ok = summary["success_count"][cell][order]
        opt = np.rint(summary["opt_failure_mean"][cell][order] * n)
        points[name, depth, s] = {
            "m50": m50(m, ok, n),
            "m50_ident": m50(m, ok + opt, n),
            "m_range": (int(m.min()), int(m.max())),
            "cpu_ms": float(np.mean(summary["cpu_ms_mean"][cell])),
        }
    return points


def _point(p: dict, key: str = "m50") -> str:
    """An m_50 for a table: the number, or "< m_min" / "> m_max" outside the grid."""
    value = p[key]
    if np.isfinite(value):
        return f"{value:.2f}"
    return f"< {p['m_range'][0]}" if value < 0 else f"> {p['m_range'][1]}"


def _ratio(p: dict | None, o: dict | None, key: str = "m50") -> str:
    """p's m_50 over the oracle's, or "—" where either lies outside the grid."""
    if not p or not o:
        return ""
    if not (np.isfinite(p[key]) and np.isfinite(o["m50"])):
        return "—" if not np.isfinite(p[key]) or p[key] > 0 else "< 1"
    return f"{p[key] / o['m50']:.2f}"


def _transition_table(points: dict) -> str:
    depths = sorted({d for _, d, _ in points})
    sparsity = sorted({s for _, _, s in points})
    lines = ["| depth | | " + " | ".join(f"s = {s}" for s in sparsity) + " |"]
    lines.append("|---|---|" + "---|" * len(sparsity))
    for d in depths:
        oracle = [points.get(("oracle", d, s)) for s in sparsity]
        default = [points.get(("default", d, s)) for s in sparsity]
        lines.append(
            f"| {d} | oracle m_50 | " + " | ".join(_point(o) if o else "" for o in oracle) + " |"
        )
        ratios = [
            f"{_ratio(r, o)} ({r['cpu_ms']:.1f} ms)" if o and r else ""
            for r, o in zip(default, oracle, strict=True)
        ]
        lines.append(f"| {d} | `latent_recover` / oracle | " + " | ".join(ratios) + " |")
        ident = [_ratio(r, o, "m50_ident") for r, o in zip(default, oracle, strict=True)]
        lines.append(f"| {d} | ident. only / oracle | " + " | ".join(ident) + " |")
    return "\n".join(lines)


def _stages_table(points: dict) -> str:
    names = [c for c in CONFIGURATIONS if c != "oracle" and any(p[0] == c for p in points)]
    cells = sorted({(d, s) for _, d, s in points})
    lines = ["| configuration | " + " | ".join(f"d={d}, s={s}" for d, s in cells) + " | CPU ms |"]
    lines.append("|---|" + "---|" * (len(cells) + 1))
    for name in names:
        ratios, cpu = [], []
        for d, s in cells:
            p, o = points.get((name, d, s)), points.get(("oracle", d, s))
            ratios.append(_ratio(p, o))
            cpu.append(p["cpu_ms"] if p else np.nan)
        label = f"`{name}`: {CONFIGURATIONS[name][0]}"
        lines.append(f"| {label} | " + " | ".join(ratios) + f" | {np.nanmean(cpu):.1f} |")
    return "\n".join(lines)


def _counts_table(summary: Mapping[str, np.ndarray], section: str) -> str:
    lines = [
        "| configuration | depth | dims | s | m | successes | opt. failures | "
        "ident. failures | certified | CPU ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i in np.flatnonzero(_select(summary, section=section)):
        n = int(summary["n_ok"][i])
        share = {
            k: int(round(summary[f"{k}_mean"][i] * n))
            for k in ("opt_failure", "ident_failure", "certified")
        }
        lines.append(
            f"| {summary['configuration'][i]} | {int(summary['depth'][i])} | "
            f"{list(map(int, summary['dims'][i]))} | {int(summary['s'][i])} | "
            f"{int(summary['m'][i])} | {int(summary['success_count'][i])}/{n} | "
            f"{share['opt_failure']} | {share['ident_failure']} | {share['certified']} | "
            f"{summary['cpu_ms_mean'][i]:.1f} |"
        )
    return "\n".join(lines)


def tables(paths: Sequence[Path]) -> dict[str, str]:
    """Markdown tables of stored summaries (``summary.csv`` files), by name.

    Each file gives the tables its rows allow: ``transition`` (the oracle's m_50 and the
    default's ratios per (depth, s)) from a transition run of the default and the oracle
    only; ``stages`` (every configuration's m_50 over the oracle's of the same run) from a
    transition run of more configurations; ``square`` and ``dense`` (counts per cell).
    """
    out: dict[str, str] = {}
    for path in paths:
        summary = read_summary_csv(path)
        points = transition_points(summary)
        configurations = {c for c, _, _ in points}
        found = {}
        if configurations == {"default", "oracle"}:
            found["transition"] = _transition_table(points)
        elif "oracle" in configurations and len(configurations) > 2:
            found["stages"] = _stages_table(points)
        for section in ("square", "dense"):
            if _select(summary, section=section).any():
                found[section] = _counts_table(summary, section)
        for name in found.keys() & out.keys():
            raise ValueError(f"two summaries give the {name!r} table: keep one")
        out.update(found)
    return out


_BLOCK = re.compile(r"(<!-- recovery_benchmark:(\w+) -->\n)(.*?)(<!-- end -->)", re.S)


def report(summary: Mapping[str, np.ndarray], config: Mapping) -> dict[str, list[dict]]:
    """``sdlss show``'s table: the transition section's 50% points per configuration and cell."""
    points = transition_points(summary)
    if not points:
        return {}
    rows = [
        {
            "configuration": name,
            "depth": depth,
            "s": s,
            "m50": p["m50"],
            "m50_ident_only": p["m50_ident"],
            "cpu_ms_mean": p["cpu_ms"],
        }
        for (name, depth, s), p in points.items()
    ]
    return {"50% points along m (transition section; -inf/inf: outside the m range)": rows}


def render_docs(text: str, paths: Sequence[Path]) -> str:
    """`text` with every block ``<!-- recovery_benchmark:NAME -->...<!-- end -->`` replaced by
    the table NAME of `tables` (a block whose table is missing raises KeyError)."""
    generated = tables(paths)
    return _BLOCK.sub(lambda mt: mt[1] + generated[mt[2]] + "\n" + mt[4], text)


STUDY = Study(
    name="recovery_benchmark",
    config=Config,
    grid=grid,
    trial=trial,
    description="recovery success, failure kind and CPU time per solver configuration "
    "(paired draws): transition, m = n and s = k sections",
    success="success",
    metrics=(
        "ident_failure",
        "opt_failure",
        "certified",
        "rel_error",
        "rel_residual",
        "cpu_ms",
    ),
    show=("configuration", "section", "depth", "s", "m", "success", "opt_failure", "cpu_ms"),
    report=report,
    paired=("configuration",),
)
