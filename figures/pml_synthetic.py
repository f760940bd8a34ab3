"""Learned priors on teacher data against the teacher itself and the PCA prior.

Mean relative test error against m: (a) each prior's strongest reconstruction (the teacher
and the learners by the same path); (b) the T-step reconstruction the learners were trained
for. One dot per draw of A and the mean over draws; in (a) also its 95% t-interval, on a
linear axis cut at 1.5 (learners that fail at small m lie above it); (b) on a log axis
without intervals, since the T-step errors of warm-started priors span orders of magnitude.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures._pml import per_draw, plot_series, style
from sdlss_theory.plotting import figure_size


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, axes = plt.subplots(1, 2, figsize=figure_size("text", aspect=0.4), layout="constrained")
    T = config.get("T", "T")
    titles = ("(a) strongest reconstruction", f"(b) {T} latent steps (as trained)")
    # One style per prior in both panels (panel (b) has only the learned priors).
    order = {key: i for i, key in enumerate(sorted(per_draw(trials, "rel_error", "m")))}
    for ax, metric, title in zip(axes, ("rel_error", "rel_error_T"), titles, strict=True):
        data = per_draw(trials, metric, "m")
        steps = metric == "rel_error_T"
        for key in sorted(data):
            plot_series(ax, data[key], band=not steps, **style(key, order.get(key, len(order))))
        ax.set_xlabel("measurements $m$")
        ax.set_title(title)
        if steps:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0.0, 1.5)  # linear: a t-interval may reach below 0; failures cut
    axes[0].set_ylabel(r"relative error $\|\hat x - x\| / \|x\|$")
    axes[0].legend(loc="upper right", fontsize=6)
    return fig
