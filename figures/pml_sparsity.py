"""SDLSS (PML) on the 8x8 digits: test reconstruction error against the latent sparsity s.

(a) Mean relative error ||x_hat - x|| / ||x|| on the test images against s (log scale), for the
protocol the networks were trained for (T latent steps at the learned step) and for the long
reconstruction (many steps, automatic step, restarts): one dot per training seed, the mean
over seeds and its 95% t-interval. The point s = k is the DCS baseline (no projection).
(b) The same in PSNR.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from sdlss_theory.plotting import OKABE_ITO, figure_size


def _series(ax, trials, metric, **style):
    per_s: dict[int, list[float]] = {}
    for row in trials:
        per_s.setdefault(int(row["s"]), []).append(row[metric])
    s = np.array(sorted(per_s))
    vals = [np.asarray(per_s[v]) for v in s]
    mean = np.array([v.mean() for v in vals])
    half = np.array(
        [
            stats.t.ppf(0.975, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
            if v.size > 1
            else np.nan
            for v in vals
        ]
    )
    (line,) = ax.plot(s, mean, **style)
    if np.all(np.isfinite(half)):
        ax.fill_between(s, mean - half, mean + half, color=line.get_color(), alpha=0.2, lw=0)
    for v, val in zip(s, vals, strict=True):
        ax.plot(np.full(val.size, v), val, ".", color=line.get_color(), alpha=0.6, ms=3)


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, (ax_e, ax_p) = plt.subplots(1, 2, figsize=figure_size("text", aspect=0.33))
    T = config.get("T", "T")
    steps, restarts = config.get("long_steps", "?"), config.get("restarts", "?")
    for ax, metric, ylabel in (
        (ax_e, "rel_error", "relative error"),
        (ax_p, "psnr", "test PSNR (dB)"),
    ):
        _series(ax, trials, metric, color=OKABE_ITO[2], marker="o", linestyle="-",
                label=f"{T} steps (as trained)")  # fmt: skip
        _series(ax, trials, f"{metric}_long", color=OKABE_ITO[4], marker="^", linestyle=":",
                label=f"{steps} steps, {restarts} restarts")  # fmt: skip
        ax.set_xscale("log", base=2)
        ticks = sorted({int(row["s"]) for row in trials})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("latent sparsity $s$ ($s = k$: DCS)")
        ax.set_ylabel(ylabel)
        ax.legend(loc="best")
    k, m = config.get("k", "k"), config.get("m", "m")
    ax_e.set_title(f"(a) $k = {k}$, $m = {m}$, n = 64")
    ax_p.set_title("(b) PSNR")
    return fig
