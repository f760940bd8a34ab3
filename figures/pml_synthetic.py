"""Learned priors on teacher data against the teacher itself and the PCA prior.

Mean relative test error against m: (a) each prior's strongest reconstruction (the teacher
and the learners by the same path); (b) the T-step reconstruction the learners were trained
for. One dot per draw of A and the mean over draws; in (a) also its 95% t-interval, on a
linear axis cut at 1.5 (learners that fail at small m lie above it); (b) on a log axis
without intervals, since the T-step errors of warm-started priors span orders of magnitude.
"""

from __future__ import annotations

import numpy as np

from figures._pml import per_draw, plot_series, style
from sdlss_theory.plotting import panel_figure, panel_legend

PANELS = ("strongest", "steps")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, axes = panel_figure(PANELS, aspect=0.8)
    T = config.get("T", "T")
    titles = {"strongest": "(a) strongest reconstruction",
              "steps": f"(b) {T} steps (as trained)"}  # fmt: skip
    metrics = {"strongest": "rel_error", "steps": "rel_error_T"}
    # One style per prior in both panels (panel (b) has only the learned priors).
    order = {key: i for i, key in enumerate(sorted(per_draw(trials, "rel_error", "m")))}
    for name, ax in axes.items():
        metric, title = metrics[name], titles[name]
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
        ax.set_ylabel("relative error")
    first = next(iter(axes.values()))
    panel_legend(first, "upper right")
    return fig
