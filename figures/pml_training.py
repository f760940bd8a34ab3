"""Training on teacher data: learning curves and the final error of each variant.

(a) Held-out relative error of the strongest reconstruction against the training step,
mean over draws, one line per variant; the teacher's and the PCA prior's errors with the
same A, and half of PCA's (the issue's target), as horizontal lines. (b) The final mean
relative test error of each variant (dots: draws; bar: mean), sorted, with the same lines.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from figures._pml import LINESTYLES, MARKERS
from sdlss_theory.plotting import OKABE_ITO, panel_figure


def _refs(ax, trials, horizontal=True):
    line = ax.axhline if horizontal else ax.axvline
    for method, color, ls in (("teacher", OKABE_ITO[0], ":"), ("pca", "0.35", "--")):
        vals = [r["rel_error"] for r in trials if r["method"] == method]
        if vals:
            line(np.mean(vals), color=color, linestyle=ls, linewidth=1, label=method)
            if method == "pca":
                line(0.5 * np.mean(vals), color=OKABE_ITO[5], linestyle="-.", linewidth=1,
                     label="PCA / 2 (target)")  # fmt: skip


PANELS = ("curves", "final")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    rows = [r for r in trials if r["method"] == "variant"]
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    fig, axes = panel_figure(PANELS, aspect=0.9, extra_height=0.15 * (len(variants) + 3) / 2)
    if "curves" in axes:
        _curves(axes["curves"], rows, variants, trials)
    if "final" in axes:
        _final(axes["final"], rows, variants, trials, config)
    return fig


def _curves(ax_c, rows, variants, trials):
    for i, v in enumerate(variants):
        mine = [r for r in rows if r["variant"] == v]
        steps = sorted({int(k.rsplit("_", 1)[1]) for r in mine for k in r
                        if k.startswith("curve_val_error_")})  # fmt: skip
        mean = [np.mean([r[f"curve_val_error_{s}"] for r in mine if f"curve_val_error_{s}" in r])
                for s in steps]  # fmt: skip
        ax_c.plot(steps, mean, linestyle=LINESTYLES[i % 4], marker=MARKERS[i % 6],
                  markersize=3, label=v, color=plt.cm.tab20(i % 20))  # fmt: skip
    _refs(ax_c, trials)
    ax_c.set_ylim(0.0, 1.2)
    ax_c.set_xlabel("training step")
    ax_c.set_ylabel("held-out relative error")
    ax_c.set_title("(a) learning curves")
    ax_c.figure.legend(*ax_c.get_legend_handles_labels(), loc="outside lower center", ncol=2)


def _final(ax_f, rows, variants, trials, config):
    finals = sorted(((np.mean([r["rel_error"] for r in rows if r["variant"] == v]), v)
                     for v in variants), reverse=True)  # fmt: skip
    for j, (mean, v) in enumerate(finals):
        vals = [r["rel_error"] for r in rows if r["variant"] == v]
        ax_f.barh(j, mean, color="0.8")
        ax_f.plot(vals, np.full(len(vals), j), linestyle="none", marker=".", color="k")
    ax_f.set_yticks(range(len(finals)), [v for _, v in finals])
    _refs(ax_f, trials, horizontal=False)
    ax_f.set_xlim(0.0, 1.2)
    ax_f.set_xlabel("final test error")
    ax_f.set_title(f"(b) after {config.get('steps', '?')} steps, $m = {config.get('m', '?')}$")
