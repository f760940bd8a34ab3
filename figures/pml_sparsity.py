"""SDLSS on images: test quality against the latent sparsity s, with DCS and PCA beside it.

(a) Mean relative test error of the strongest reconstruction (and of the T-step
reconstruction as trained) against s (log scale); one dot per draw, the mean and its 95%
t-interval. Horizontal lines: DCS and the PCA baselines at the same m (mean over draws).
(b) The same in PSNR.
"""

from __future__ import annotations

import numpy as np

from figures._pml import COLORS, LABELS, per_draw, plot_series
from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend

PANELS = ("error", "psnr")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig, axes = panel_figure(PANELS, aspect=0.8)
    T = config.get("T", "T")
    sdlss_rows = [r for r in trials if r["method"] == "sdlss"]
    refs = [r for r in trials if r["method"] != "sdlss"]
    what = {"error": ("rel_error", "relative error"), "psnr": ("psnr", "test PSNR (dB)")}
    for name, ax in axes.items():
        metric, ylabel = what[name]
        for suffix, color, marker, ls, text in (
            ("", OKABE_ITO[2], "o", "-", "SDLSS, strongest"),
            ("_T", OKABE_ITO[4], "^", ":", f"SDLSS, {T} steps"),
        ):
            data = per_draw(sdlss_rows, metric + suffix, "s", key=lambda r: r["method"])
            for per_s in data.values():
                plot_series(ax, per_s, color=color, marker=marker, linestyle=ls, label=text)
        for i, (key, per_m) in enumerate(per_draw(refs, metric, "m").items()):
            values = [v for draws in per_m.values() for v in draws.values()]
            ax.axhline(np.mean(values), color=COLORS.get(key[0], "k"),
                       linestyle=("--", "-.", (0, (1, 1)))[i % 3], linewidth=1,
                       label=LABELS.get(key[0], key[0]) + " (strongest)")  # fmt: skip
        ax.set_xscale("log", base=2)
        ticks = sorted({int(r["s"]) for r in sdlss_rows})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("latent sparsity $s$")
        ax.set_ylabel(ylabel)
    k, m = config.get("k", "k"), config.get("m", "m")
    if "error" in axes:
        axes["error"].set_title(f"(a) $k = {k}$, $m = {m}$")
    if "psnr" in axes:
        axes["psnr"].set_title("(b) PSNR")
    panel_legend(next(iter(axes.values())), "best")
    return fig
