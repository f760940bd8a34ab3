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

from figures._common import per_seed_values, plot_seed_means
from sdlss_theory.plotting import OKABE_ITO, figure_size


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, (ax_e, ax_p) = plt.subplots(1, 2, figsize=figure_size("text", aspect=0.33))
    T = config.get("T", "T")
    steps, restarts = config.get("long_steps", "?"), config.get("restarts", "?")
    as_trained = dict(
        color=OKABE_ITO[2], marker="o", linestyle="-", label=f"{T} steps (as trained)"
    )
    long = dict(
        color=OKABE_ITO[4], marker="^", linestyle=":", label=f"{steps} steps, {restarts} restarts"
    )
    for ax, metric, ylabel in (
        (ax_e, "rel_error", "relative error"),
        (ax_p, "psnr", "test PSNR (dB)"),
    ):
        plot_seed_means(ax, per_seed_values(trials, metric, "s"), **as_trained)
        plot_seed_means(ax, per_seed_values(trials, f"{metric}_long", "s"), **long)
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
