"""The non-uniform contrast: exact recovery of one signal against m.

From the summary of ``simulations/recovery_contrast.py`` (no simulation): per configuration,
the rate of exact recovery (circles) and of identifiability failures (crosses: the solver
returned another signal that fits y) against m; dashed verticals at m = s + 1.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend

PANELS = ("recovery",)
KEYS = ("s", "k", "h", "depth")


def pooled(summary: dict[str, np.ndarray]) -> list[dict]:
    """Per configuration: m, trials, successes and identifiability failures (summed over the
    rows of each m)."""
    groups: dict[tuple, list[int]] = {}
    for i in range(len(summary["m"])):
        groups.setdefault(tuple(int(summary[c][i]) for c in KEYS), []).append(i)
    out = []
    for key, idx in sorted(groups.items()):
        ms, at = np.unique(summary["m"][idx], return_inverse=True)
        n = np.bincount(at, weights=summary["n_ok"][idx], minlength=ms.size)
        ok = np.bincount(at, weights=summary["success_count"][idx], minlength=ms.size)
        ident = np.bincount(
            at, weights=summary["ident_failure_mean"][idx] * summary["n_ok"][idx],
            minlength=ms.size,
        )
        out.append({**dict(zip(KEYS, key, strict=True)), "m": ms, "trials": n, "success": ok,
                    "ident_failure": ident})  # fmt: skip
    return out


def plot(summary: dict[str, np.ndarray], config: dict):
    fig, axes = panel_figure(PANELS, aspect=0.75)
    ax = axes["recovery"]
    styles = ["-", "--", "-.", ":"]
    rows = pooled(summary)
    for i, e in enumerate(rows):
        label = f"$s={e['s']}$, $k={e['k']}$, $h={e['h']}$, $d={e['depth']}$"
        (line,) = ax.plot(e["m"], e["success"] / e["trials"], styles[e["s"] % 4],
                          color=OKABE_ITO[i % 8], marker="o", ms=2.5, lw=0.8,
                          label=label)  # fmt: skip
        ax.plot(e["m"], e["ident_failure"] / e["trials"], ":",
                color=line.get_color(), marker="x", ms=2.5, lw=0.6)  # fmt: skip
    for s in sorted({e["s"] for e in rows}):
        ax.axvline(s + 1, color="0.7", lw=0.6, ls=(0, (2, 2)))
    ax.set_xlabel("measurements $m$")
    ax.set_ylabel("fraction of trials")
    ax.set_ylim(-0.02, 1.5)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_title("recovery (o), identifiability failures (x)")
    panel_legend(ax, "upper left", ncols=2, handlelength=1.2)
    return fig
