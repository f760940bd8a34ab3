"""Error bound: the C the bound needs against m and against the certified S-REC constant.

Three panels from the stored trials of ``simulations/error_bound.py``:

(a) per m and e-level, the 95% quantile of c_needed = max(0, (err - 2 eps - 3 ||eta||) /
    best_err) (the smallest C for which the bound holds in 95% of the cell's trials) with a
    distribution-free 95% interval (order statistics), every trial as a dot, and the documented
    C = 6 of Bora et al. 2017, Theorem 1.1;
(b) c_needed against the trial's certified S-REC constant gamma (lower bound of `srec_bounds`),
    coloured by m, with the proof's constant 1 + 4 / gamma; the title counts the certified trials
    in which the per-A inequality of the proof fails (it must be 0);
(c) the failure probability of the bound at C = c_fixed against m, pooled over e-levels and
    noise levels, Wilson 95% intervals, log scale, and the binomial maximum-likelihood fit
    p(m) = a exp(-b m) over the cells from the highest failure rate on, with a Wald 95%
    interval for b.

The fits are done here from the stored results (no simulation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.ticker as mticker
import numpy as np
from scipy import optimize, stats

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend
from sdlss_theory.sweep import wilson_interval


def c_values(trials: Sequence[dict]) -> np.ndarray:
    """The finite c_needed of `trials` (those with best_err > 0)."""
    vals = [t["c_needed"] for t in trials if t.get("c_needed") is not None]
    return np.asarray(vals, dtype=np.float64)


def quantile_interval(
    values: np.ndarray, q: float, confidence: float = 0.95
) -> tuple[float, float, float]:
    """The empirical q-quantile and a distribution-free interval from order statistics.

    With N samples, the number of them below the true q-quantile is Bin(N, q); the interval
    [X_(l), X_(u)] with l, u the binomial (1 -/+ confidence)/2 quantiles (1-based, clipped to
    [1, N]) covers it with probability >= confidence when l, u are not clipped. The estimate is
    the "higher" order statistic X_(ceil(qN)), the smallest value exceeded by at most a
    fraction 1 - q of the trials.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = x.size
    if n == 0:
        return math.nan, math.nan, math.nan
    est = float(x[min(n, max(1, math.ceil(q * n))) - 1])
    alpha = (1.0 - confidence) / 2.0
    lo_rank = int(stats.binom.ppf(alpha, n, q))
    hi_rank = int(stats.binom.ppf(1.0 - alpha, n, q)) + 1
    lo = float(x[min(n, max(1, lo_rank)) - 1])
    hi = float(x[min(n, max(1, hi_rank)) - 1])
    return est, lo, hi


def fit_exponential_decay(m, failures, trials, confidence: float = 0.95) -> dict:
    r"""Binomial maximum-likelihood fit of p(m) = a exp(-b m), with a Wald interval for b.

    The fit uses the cells from the one with the highest failure rate on (the decaying part),
    including cells with no failure. With theta = (log a, b), log p_i = theta_0 - b m_i and
    the Fisher information is sum_i n_i p_i / (1 - p_i) g_i g_i^T with g_i = (1, -m_i).

    Returns
    -------
    dict
        ``a``, ``b``, ``b_lo``, ``b_hi``, ``m_min`` (first cell used), ``n_cells``; NaN if
        fewer than two cells or no failure.
    """
    m = np.asarray(m, dtype=np.float64)
    k = np.asarray(failures, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    order = np.argsort(m)
    m, k, n = m[order], k[order], n[order]
    nan = {"a": math.nan, "b": math.nan, "b_lo": math.nan, "b_hi": math.nan}
    keep = n > 0
    m, k, n = m[keep], k[keep], n[keep]
    if m.size < 2 or k.sum() == 0:
        return {**nan, "m_min": math.nan, "n_cells": 0}
    start = int(np.argmax(k / n))
    m, k, n = m[start:], k[start:], n[start:]
    if m.size < 2:
        return {**nan, "m_min": float(m[0]), "n_cells": int(m.size)}
    ceiling = np.log1p(-1e-9)

    def nll(theta):
        logp = np.minimum(theta[0] - theta[1] * m, ceiling)
        return -float(np.sum(k * logp + (n - k) * np.log1p(-np.exp(logp))))

    rate = np.clip(k / n, 0.5 / n, None)
    slope, intercept = np.polyfit(m, np.log(rate), 1)
    theta0 = np.array([min(intercept, 0.0), max(-slope, 1e-3)])
    res = optimize.minimize(
        nll,
        theta0,
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
    )
    log_a, b = res.x
    p = np.exp(np.minimum(log_a - b * m, ceiling))
    g = np.column_stack([np.ones_like(m), -m])
    info = g.T @ ((n * p / (1.0 - p))[:, None] * g)
    z = stats.norm.ppf(0.5 + confidence / 2.0)
    try:
        se = math.sqrt(max(float(np.linalg.inv(info)[1, 1]), 0.0))
    except np.linalg.LinAlgError:
        se = math.nan
    return {
        "a": float(math.exp(log_a)),
        "b": float(b),
        "b_lo": float(b - z * se),
        "b_hi": float(b + z * se),
        "m_min": float(m[0]),
        "n_cells": int(m.size),
    }


def pooled_failures(summary: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per m: (m values, failures, trials) summed over the other axes of the summary."""
    ms = np.unique(summary["m"])
    fails = np.array(
        [np.sum((summary["n_ok"] - summary["success_count"])[summary["m"] == v]) for v in ms]
    )
    total = np.array([np.sum(summary["n_ok"][summary["m"] == v]) for v in ms])
    return ms, fails, total


PANELS = ("c_needed", "gamma", "failure")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, axes = panel_figure(PANELS, aspect=0.85, max_columns=3)
    c_fixed = float(config.get("c_fixed", summary["c_fixed"][0]))
    pos = [t for t in trials if t.get("c_needed") is not None]
    if "c_needed" in axes:
        _c_needed(axes["c_needed"], pos, c_fixed)
    if "gamma" in axes:
        _gamma(axes["gamma"], pos)
    if "failure" in axes:
        _failure(axes["failure"], summary, c_fixed)
    return fig


def _c_needed(ax_c, pos: list[dict], c_fixed: float) -> None:
    """(a) the C needed per trial against m: 95% quantile per e-level, all trials as dots."""
    levels = sorted({t["e_level"] for t in pos})
    for i, e in enumerate(levels):
        ms_e = sorted({t["m"] for t in pos if t["e_level"] == e})
        q95 = np.array([quantile_interval(c_values([t for t in pos if t["e_level"] == e
                                                    and t["m"] == v]), 0.95)
                        for v in ms_e])  # fmt: skip
        colour = OKABE_ITO[1 + i]
        ax_c.plot(ms_e, q95[:, 0], "-o", color=colour, markersize=3,
                  label=rf"$C_{{95}}$, $\|e\| = {e:g}\|G(z^*)\|$")  # fmt: skip
        ax_c.fill_between(ms_e, q95[:, 1], q95[:, 2], color=colour, alpha=0.15, linewidth=0)
        pts = [(t["m"], t["c_needed"]) for t in pos if t["e_level"] == e]
        ax_c.plot([p[0] for p in pts], np.maximum([p[1] for p in pts], 1e-2), ".",
                  color=colour, alpha=0.4, markersize=2)  # fmt: skip
    ax_c.axhline(c_fixed, color="0.3", lw=0.8, ls="--", label=f"$C = {c_fixed:g}$ (Thm 1.1)")
    ax_c.axhline(1.0, color="0.6", lw=0.6)
    ax_c.set_xscale("log")
    ax_c.set_yscale("log")
    ax_c.xaxis.set_major_formatter(mticker.ScalarFormatter())
    ax_c.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax_c.set_xticks(sorted({t["m"] for t in pos}) or [1])
    ax_c.yaxis.set_major_formatter(mticker.ScalarFormatter())
    ax_c.yaxis.set_minor_formatter(mticker.NullFormatter())
    top = max([c_fixed] + [t["c_needed"] for t in pos])
    ax_c.set_ylim(bottom=0.8, top=8.0 * top)
    ax_c.set_xlabel("measurements $m$")
    ax_c.set_ylabel(r"$C = (\mathrm{err} - 2\epsilon)/\mathrm{best}$")
    ax_c.set_title("(a) band: 95% CI of $C_{95}$")
    panel_legend(ax_c, "upper right")


def _gamma(ax_g, pos: list[dict]) -> None:
    """(b) the C needed against the trial's certified S-REC constant."""
    fig = ax_g.figure
    cert = [t for t in pos if t.get("gamma_lower") is not None and t["gamma_lower"] > 0]
    if cert:
        g = np.array([t["gamma_lower"] for t in cert])
        c = np.maximum(np.array([t["c_needed"] for t in cert]), 1e-2)
        sc = ax_g.scatter(g, c, c=np.log2([t["m"] for t in cert]), s=6, cmap="viridis",
                          linewidths=0)  # fmt: skip
        cbar = fig.colorbar(sc, ax=ax_g, pad=0.02)
        ticks = np.unique([t["m"] for t in cert])
        cbar.set_ticks(np.log2(ticks))
        cbar.set_ticklabels([f"{v:g}" for v in ticks])
        cbar.set_label("$m$")
        grid_g = np.linspace(max(g.min(), 0.05), 1.0, 100)
        ax_g.plot(grid_g, 1 + 4 / grid_g, "--", color="C4", label=r"$1 + 4/\gamma$ (proof)")
        broken = sum(1 for t in cert if t.get("proof_holds") is False)
        ax_g.set_title(f"(b) proof bound fails for {broken} of {len(cert)}")
        panel_legend(ax_g, "upper right")
    ax_g.set_yscale("log")
    ax_g.yaxis.set_major_formatter(mticker.ScalarFormatter())
    ax_g.set_xlabel(r"certified $\gamma$ of the trial's $A$")
    ax_g.set_ylabel(r"$C$ needed")


def _failure(ax_p, summary: dict[str, np.ndarray], c_fixed: float) -> None:
    """(c) failure probability of the bound at C = c_fixed, pooled, with the fitted decay."""
    m_vals, fails, total = pooled_failures(summary)
    rate = fails / total
    lo, hi = wilson_interval(fails, total)
    has = fails > 0
    ax_p.errorbar(m_vals[has], rate[has], yerr=[rate[has] - lo[has], hi[has] - rate[has]],
                  fmt="o", color="C0", markersize=3, capsize=2,
                  label="failure rate (Wilson 95%)")  # fmt: skip
    ax_p.plot(m_vals[~has], hi[~has], "v", color="C0", markersize=4,
              label="no failure: Wilson upper end")  # fmt: skip
    fit = fit_exponential_decay(m_vals, fails, total)
    # A rate needs failures at two values of m at least (else its interval is undefined).
    if np.isfinite(fit["b"]) and np.isfinite(fit["b_lo"]) and np.count_nonzero(fails) >= 2:
        grid_m = np.linspace(fit["m_min"], m_vals.max(), 100)
        ax_p.plot(grid_m, fit["a"] * np.exp(-fit["b"] * grid_m), "--", color="C4",
                  label=f"$a e^{{-bm}}$, $b$ = {fit['b']:.2g} [{fit['b_lo']:.2g}, "
                  f"{fit['b_hi']:.2g}]")  # fmt: skip
    ax_p.set_yscale("log")
    ax_p.set_xlabel("measurements $m$")
    ax_p.set_ylabel(f"P(bound fails at $C$ = {c_fixed:g})")
    ax_p.set_title(f"(c) {int(total.max())} trials per $m$, all $e$ pooled")
    panel_legend(ax_p, "lower left")


def page_numbers(results: str = "results") -> str:
    """The numbers of docs/studies/error_bound.md, from the stored run in ``results/error_bound``.

    The same estimators as the figure: failures at C = c_fixed per m (pooled, Wilson
    intervals) and the decay fit; the 95% quantile of c_needed per (m, e-level) (order
    statistic); c_needed against the certified gamma in bins; tau's range; the proof's per-A
    inequality; the optimiser's slack and exact recoveries at e = 0 (relative error <= 1e-6).
    Run from the repository root:
    ``python -c "from figures.error_bound import page_numbers; print(page_numbers())"``.
    """
    import sys
    from pathlib import Path

    from figures._cli import load_results

    summary, config, extra = load_results("error_bound", sys.modules[__name__], Path(results))
    trials = extra["trials"]
    c_fixed = float(config.get("c_fixed", summary["c_fixed"][0]))
    lines = [
        f"{len(trials)} trials; certified {sum(bool(t['certified']) for t in trials)}; best "
        f"approximation exact {sum(bool(t['best_exact']) for t in trials)}"
    ]
    ms, fails, total = pooled_failures(summary)
    lo, hi = wilson_interval(fails, total)
    for m, f, n, a, b in zip(ms, fails, total, lo, hi, strict=True):
        lines.append(f"m = {m:g}: fails at C = {c_fixed:g} in {f:g} of {n:g}, "
                     f"p = {f / n:.2f} [{a:.2f}, {b:.2f}]")  # fmt: skip
    fit = fit_exponential_decay(ms, fails, total)
    lines.append(f"decay p(m) = a exp(-b m): b = {fit['b']:.3g} [{fit['b_lo']:.3g}, "
                 f"{fit['b_hi']:.3g}] from m = {fit['m_min']:g} "
                 f"({fit['n_cells']} cells)")  # fmt: skip
    pos = [t for t in trials if t.get("c_needed") is not None]
    for e in sorted({t["e_level"] for t in pos}):
        q = [quantile_interval(c_values([t for t in pos if t["e_level"] == e and t["m"] == m]),
                               0.95)[0] for m in ms]  # fmt: skip
        lines.append(f"e = {e:g}: C_95 per m: "
                     + ", ".join(f"{m:g}: {v:.2f}" for m, v in zip(ms, q, strict=True)))
    cert = [t for t in pos if t.get("gamma_lower") is not None]
    for a, b in ((0.5, math.inf), (0.3, 0.5), (0.1, 0.3), (0.0, 0.1)):
        c = c_values([t for t in cert if a <= t["gamma_lower"] < b])
        if c.size:
            q95 = quantile_interval(c, 0.95)[0]
            lines.append(f"gamma in [{a}, {b}): {c.size} trials, C needed median "
                         f"{np.median(c):.2f}, 95% quantile {q95:.2f}")  # fmt: skip
    tau = [t["tau"] for t in trials if t.get("tau") is not None]
    if tau:
        lines.append(f"tau in [{min(tau):.2f}, {max(tau):.2f}]")
    proof = [t["proof_holds"] for t in trials if t.get("proof_holds") is not None]
    lines.append(f"proof's per-A inequality violated in {sum(not p for p in proof)} of "
                 f"{len(proof)} certified trials with gamma > 0")  # fmt: skip
    lines.append(f"eps_bar > 1e-9 ||x||: {sum(t['rel_eps'] > 1e-9 for t in trials)} of "
                 f"{len(trials)}")  # fmt: skip
    on = [t for t in trials if t["e_level"] == 0]
    missed = sorted(t["m"] for t in on if t["rel_err"] > 1e-6)
    lines.append(f"e = 0: recovered (relative error <= 1e-6) in {len(on) - len(missed)} of "
                 f"{len(on)}; missed at m = {missed}")  # fmt: skip
    return "\n".join(lines)
