"""Learned priors (PML, DCS) against the teacher's own prior on teacher data.

Mean relative test error against m: (a) T latent steps (the learners at their learned step,
as trained; the teacher at the automatic step); (b) many steps with restarts. One dot per
seed, the mean over seeds and its 95% t-interval.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures._common import per_seed_values_by, plot_seed_means
from sdlss_theory.plotting import OKABE_ITO, figure_size

STYLE = {
    "sdlss": dict(color=OKABE_ITO[2], linestyle="-", marker="o", label="SDLSS (PML), learned"),
    "dcs": dict(color=OKABE_ITO[1], linestyle="--", marker="s", label="DCS, learned"),
    "teacher": dict(color=OKABE_ITO[0], linestyle=":", marker="D", label="teacher (oracle G)"),
}


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, axes = plt.subplots(1, 2, figsize=figure_size("text", aspect=0.33), sharey=True)
    T = config.get("T", "T")
    steps, restarts = config.get("long_steps", "?"), config.get("restarts", "?")
    titles = (f"(a) {T} latent steps", f"(b) {steps} steps, {restarts} restarts")
    for ax, metric, title in zip(axes, ("rel_error", "rel_error_long"), titles, strict=True):
        for method, per_m in per_seed_values_by(trials, metric, "m", by="method").items():
            plot_seed_means(ax, per_m, **STYLE.get(method, {"label": method}))
        ax.set_xlabel("measurements $m$")
        ax.set_title(title)
    axes[0].set_ylabel(r"relative error $\|\hat x - x\| / \|x\|$")
    axes[0].legend(loc="best")
    return fig
