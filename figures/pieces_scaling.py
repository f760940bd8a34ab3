"""Link 2: E[ln N] against s, d, k and h, beside the two predictors.

From the summary of ``simulations/pieces_scaling.py`` (no simulation). One panel per factor
(the others at the base): the mean of ln N over the draws of G with the 5%-95% spread of the
draws (filled markers: every count exact; open markers: at least one count is an estimate),
without biases and with biases; the log of the per-layer Zaslavsky bound
(`theory.linear_piece_count_log`, solid grey), an upper bound for every network; and
c s d ln(kh/s) (dashed grey) with c chosen so that it passes through the biased base (the
theorem fixes no constant). A predictor that describes the data runs parallel to the points.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend
from simulations.pieces_scaling import FACTORS, predictors

PANELS = FACTORS  # one panel per factor: s, depth, k, h
LABELS = {"s": "sparsity $s$", "depth": "ReLU layers $d$", "k": "latent size $k$",
          "h": "ReLU width $h$"}  # fmt: skip


def sweep(summary: dict[str, np.ndarray], factor: str, bias: bool) -> dict[str, np.ndarray]:
    """The rows of one sweep (the factor varied, the base included), sorted by the factor."""
    keep = (summary["bias"].astype(bool) == bias) & np.isin(
        summary["factor"].astype(str), [factor, "base"]
    )
    order = np.argsort(summary[factor][keep], kind="stable")
    return {c: np.asarray(v)[keep][order] for c, v in summary.items()}


def plot(summary: dict[str, np.ndarray], config: dict):
    fig, axes = panel_figure(PANELS, aspect=0.9, max_columns=4)
    base = {f: int(config.get(f"base_{f}", 0)) for f in FACTORS}
    p_base = predictors(**base)
    biased_base = summary["log_pieces_mean"][
        (summary["factor"].astype(str) == "base") & summary["bias"].astype(bool)
    ]
    ref = biased_base[0] if biased_base.size else summary["log_pieces_mean"][0]
    c_sdlss = ref / p_base["sdlss"]
    for factor, ax in axes.items():
        values = set()
        for bias, colour, marker, label in ((False, OKABE_ITO[1], "o", "no bias"),
                                            (True, OKABE_ITO[2], "s", "biases")):  # fmt: skip
            rows = sweep(summary, factor, bias)
            if rows[factor].size == 0:
                continue
            x = rows[factor].astype(float)
            values.update(int(v) for v in x)
            y = rows["log_pieces_mean"]
            err = [y - rows["log_pieces_q05"], rows["log_pieces_q95"] - y]
            ax.plot(x, y, "-", color=colour, lw=0.6)
            exact = rows["success_rate"] >= 1.0
            for sel, fill in ((exact, colour), (~exact, "none")):
                if np.any(sel):
                    ax.errorbar(x[sel], y[sel], yerr=[e[sel] for e in err], fmt=marker,
                                color=colour, mfc=fill, ms=3, capsize=1.5, lw=0.7,
                                label=label if fill != "none" else None)  # fmt: skip
        xs = np.array(sorted(values), dtype=float)
        if xs.size:
            pts = [predictors(**{**base, factor: int(v)}) for v in xs]
            ax.plot(xs, [p["zaslavsky"] for p in pts], "-", color="0.55", lw=0.8,
                    label="Zaslavsky bound")  # fmt: skip
            ax.plot(xs, [c_sdlss * p["sdlss"] for p in pts], "--", color="0.3", lw=0.8,
                    label=rf"${c_sdlss:.2f}\,s d\ln(kh/s)$")  # fmt: skip
            if factor in ("k", "h"):
                ax.set_xscale("log", base=2)
            ax.set_xticks(xs, [str(int(v)) for v in xs])
            ax.minorticks_off()
        ax.set_xlabel(LABELS[factor])
        others = ", ".join(f"{'d' if f == 'depth' else f}={base[f]}" for f in FACTORS
                           if f != factor)  # fmt: skip
        ax.set_title(others)
    first = next(iter(axes.values()))
    first.set_ylabel(r"$E[\ln N]$")
    panel_legend(first, "upper left", handlelength=1.4)
    fig.suptitle("Linear pieces (mean over draws; open: estimate)")
    return fig
