"""Each learned prior tuned on its own validation split with the same budget.

One panel per method: the mean validation PSNR of every hyper-parameter combination
(learning rate, beta0, lambda, T), sorted; the chosen combination (the largest) is marked
and written in the panel; the dashed line is the PCA prior on the same images and A.
"""

from __future__ import annotations

import numpy as np

from figures._pml import COLORS, LABELS
from sdlss_theory.plotting import panel_figure, panel_legend

#: One panel per learned method (those of the run).
PANELS = ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A")

def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    from simulations.pml_tuning import chosen

    methods = list(dict.fromkeys(r["method"] for r in trials if r["method"] != "pca"))
    pca = [r["psnr"] for r in trials if r["method"] == "pca"]
    fig, axes = panel_figure(methods, aspect=0.85)
    best = chosen(trials)
    for method, ax in axes.items():
        combos: dict[tuple, list[float]] = {}
        for r in trials:
            if r["method"] == method:
                key = (r["lr"], r["beta0"], r["lam"], int(r["T"]))
                combos.setdefault(key, []).append(r["psnr"])
        means = sorted((np.mean(v), k) for k, v in combos.items())
        ax.plot(range(len(means)), [v for v, _ in means], marker="o", linestyle="-",
                color=COLORS.get(method, "k"))  # fmt: skip
        ax.plot(len(means) - 1, means[-1][0], marker="*", markersize=10, color="k")
        if pca:
            ax.axhline(np.mean(pca), color=COLORS["pca"], linestyle="--", linewidth=1,
                       label="PCA")  # fmt: skip
        b = best[method]
        ax.set_title(LABELS.get(method, method))
        ax.text(0.03, 0.97, f"lr {b['lr']:g}\n$\\beta_0$ {b['beta0']:g}\n"
                f"$\\lambda$ {b['lam']:g}\nT {b['T']}", transform=ax.transAxes, va="top",
                fontsize=7)  # fmt: skip
        ax.set_xticks([])
        ax.set_xlabel(f"{len(means)} combinations, sorted")
        ax.set_ylabel("validation PSNR (dB)")
    if pca:
        panel_legend(list(axes.values())[-1], "lower right")
    return fig
