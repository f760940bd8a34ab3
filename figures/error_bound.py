"""Error bound: recovery error against the bound's right-hand side, C against m, P(fail) against m.

Three panels from the stored trials of ``simulations/error_bound.py``:

(a) every trial: y = ||G(z_hat) - x|| / ||x|| against the right-hand side at the pooled C_95,
    x = (C_95 min_{||z||_0<=s} ||G(z) - x|| + 2 eps) / ||x|| (log-log, coloured by m, marker by
    e-level, floor 1e-4), with the diagonal y = x (the bound at C_95); C_95 and C_99 are the
    95% / 99% quantiles of c_needed over all trials with best_err > 0 (all m pooled);
(b) per m and e-level, the 95% and 99% quantiles of c_needed = max(0, (err - 2 eps)/best_err)
    (the smallest C for which the bound holds in 95% / 99% of the cell's trials), with a
    distribution-free 95% interval for the 95% quantile (order statistics);
(c) the failure probability (the bound failing at the documented C = c_fixed) against m,
    pooled over e-levels and noise levels, Wilson 95% intervals, log scale, and the binomial
    maximum-likelihood fit p(m) = a exp(-b m) over the cells from the highest failure rate on
    (cells with no failure included: they pin the decay), with a Wald 95% interval for b.

The fits are done here from the stored results (no simulation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
from scipy import optimize, stats

from sdlss_theory.plotting import figure_size
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


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, (ax_sc, ax_c, ax_p) = plt.subplots(1, 3, figsize=figure_size("text", aspect=0.34))
    c_fixed = float(config.get("c_fixed", summary["c_fixed"][0]))

    # (a) err against the right-hand side at the fitted C (95% of the trials with best_err > 0).
    pos = [t for t in trials if t.get("c_needed") is not None]
    c95 = quantile_interval(c_values(pos), 0.95)[0] if pos else 1.0
    c99 = quantile_interval(c_values(pos), 0.99)[0] if pos else 1.0
    if trials:
        rel = np.array([t["x_norm"] for t in trials])
        rhs = np.array([c95 * t["best_err"] + 2.0 * t["eps"] for t in trials]) / rel
        err = np.array([t["err"] for t in trials]) / rel
        ms = np.array([t["m"] for t in trials], dtype=float)
        floor = 1e-4
        levels = sorted({t["e_level"] for t in trials})
        markers = "osD^v<>"
        norm = plt.Normalize(np.log2(ms.min()), np.log2(ms.max()) + 1e-9)
        sc = None
        for i, e in enumerate(levels):
            sel = np.array([t["e_level"] == e for t in trials])
            sc = ax_sc.scatter(
                np.maximum(rhs[sel], floor),
                np.maximum(err[sel], floor),
                c=np.log2(ms[sel]),
                s=7,
                cmap="viridis",
                norm=norm,
                marker=markers[i % len(markers)],
                linewidths=0,
                label=rf"$\|e\| = {e:g}\|G(z^*)\|$",
            )
        cbar = fig.colorbar(sc, ax=ax_sc, pad=0.02)
        ticks = np.unique(ms)
        cbar.set_ticks(np.log2(ticks))
        cbar.set_ticklabels([f"{v:g}" for v in ticks])
        cbar.set_label("$m$")
        line = np.array([floor, max(rhs.max(), err.max(), 1.0)])
        ax_sc.plot(line, line, "--", color="C4", label="bound, $C = C_{95}$")
        ax_sc.set_xscale("log")
        ax_sc.set_yscale("log")
        above = 100 * float(np.mean(err > rhs + float(config.get("slack_tol", 0.0))))
        ax_sc.set_title(
            f"(a) $C_{{95}}$ = {c95:.2g}, $C_{{99}}$ = {c99:.2g}; {above:.0f}% above the line"
        )
        legend = ax_sc.legend(loc="upper left", fontsize="x-small")
        for handle in legend.legend_handles[: len(levels)]:
            handle.set_color("0.5")
    ax_sc.set_xlabel(r"$(C_{95} \min_{\|z\|_0 \leq s} \|G(z) - x\| + 2\epsilon) \,/\, \|x\|$")
    ax_sc.set_ylabel(r"$\|G(\hat z) - x\| \,/\, \|x\|$ (floor $10^{-4}$)")

    # (b) C95 and C99 against m, per e-level (> 0).
    levels = sorted({t["e_level"] for t in pos})
    for i, e in enumerate(levels):
        ms_e = sorted({t["m"] for t in pos if t["e_level"] == e})
        q95 = np.array(
            [
                quantile_interval(
                    c_values([t for t in pos if t["e_level"] == e and t["m"] == v]), 0.95
                )
                for v in ms_e
            ]
        )
        q99 = np.array(
            [
                quantile_interval(
                    c_values([t for t in pos if t["e_level"] == e and t["m"] == v]), 0.99
                )[0]
                for v in ms_e
            ]
        )
        color = f"C{i + 1}"
        ax_c.plot(
            ms_e,
            q95[:, 0],
            "-o",
            color=color,
            markersize=3,
            label=rf"$C_{{95}}$, $\|e\| = {e:g}\|G(z^*)\|$",
        )
        ax_c.fill_between(ms_e, q95[:, 1], q95[:, 2], color=color, alpha=0.15, linewidth=0)
        ax_c.plot(
            ms_e,
            q99,
            ":s",
            color=color,
            markersize=3,
            label=rf"$C_{{99}}$, $\|e\| = {e:g}\|G(z^*)\|$",
        )
    ax_c.axhline(1.0, color="0.4", linewidth=0.8)
    ax_c.set_xscale("log")
    ax_c.xaxis.set_major_formatter(mticker.ScalarFormatter())
    ax_c.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax_c.set_xticks(sorted({t["m"] for t in pos}) or [1])
    ax_c.set_yscale("log")
    ax_c.set_xlabel("measurements $m$")
    ax_c.set_ylabel("smallest $C$ covering 95% / 99%")
    ax_c.set_title("(b) band: 95% CI of $C_{95}$")
    ax_c.legend(loc="upper right", fontsize="x-small")

    # (c) failure probability of the bound at C = c_fixed, pooled, with the fitted decay.
    m_vals, fails, total = pooled_failures(summary)
    rate = fails / total
    lo, hi = wilson_interval(fails, total)
    has = fails > 0
    ax_p.errorbar(
        m_vals[has],
        rate[has],
        yerr=[rate[has] - lo[has], hi[has] - rate[has]],
        fmt="o",
        color="C0",
        markersize=3,
        capsize=2,
        label="failure rate (Wilson 95%)",
    )
    ax_p.plot(
        m_vals[~has], hi[~has], "v", color="C0", markersize=4, label="no failure: Wilson upper end"
    )
    fit = fit_exponential_decay(m_vals, fails, total)
    if np.isfinite(fit["b"]):
        grid_m = np.linspace(fit["m_min"], m_vals.max(), 100)
        ax_p.plot(
            grid_m,
            fit["a"] * np.exp(-fit["b"] * grid_m),
            "--",
            color="C4",
            label=f"$a e^{{-bm}}$, $b$ = {fit['b']:.2g} [{fit['b_lo']:.2g}, {fit['b_hi']:.2g}]",
        )
    ax_p.set_yscale("log")
    ax_p.set_xlabel("measurements $m$")
    ax_p.set_ylabel(f"P(bound fails at $C$ = {c_fixed:g})")
    ax_p.set_title(f"(c) {int(total.max())} trials per $m$, all $e$ pooled")
    ax_p.legend(loc="lower left", fontsize="x-small")
    return fig
