"""Classical IHT: success rate vs number of measurements m (Wilson 95% band)."""

from __future__ import annotations

import numpy as np

from sdlss_theory.plotting import panel_figure, plot_rate
from sdlss_theory.sweep import fit_transition

PANELS = ("rate", "iterations")


def plot(summary: dict[str, np.ndarray], config: dict):
    fig, axes = panel_figure(PANELS, aspect=0.8, extra_height=0.2)
    if "rate" in axes:
        _rate(axes["rate"], summary, config)
    if "iterations" in axes:
        _iterations(axes["iterations"], summary)
    return fig


def _rate(ax_rate, summary, config):
    m = summary["m"]
    n, s = int(summary["n"][0]), int(summary["s"][0])
    plot_rate(
        ax_rate,
        m,
        summary["success_rate"],
        summary["success_lo"],
        summary["success_hi"],
        label="IHT",
    )
    fit = fit_transition(m, summary["success_count"], summary["n_ok"])
    if np.isfinite(fit.x50):
        ax_rate.errorbar(
            fit.x50,
            0.5,
            xerr=[[fit.x50 - fit.lo], [fit.hi - fit.x50]],
            color="C4",
            marker="|",
            markersize=8,
            linestyle="none",
            capsize=3,
            label=f"$m_{{50}}$ = {fit.x50:.0f} [{fit.lo:.0f}, {fit.hi:.0f}]",
        )
    ax_rate.set_xlabel("measurements $m$")
    ax_rate.set_ylabel("success rate")
    ax_rate.set_ylim(-0.02, 1.02)
    ax_rate.legend(loc="lower right")
    trials = int(np.max(summary["n_ok"] + summary["n_failed"]))
    tol = config.get("tol_success", summary["tol_success"][0])
    ax_rate.figure.suptitle(
        rf"$n = {n}$, $s = {s}$; success: $\|\hat x - x\| \leq$ {tol:g} $\|x\|$; "
        f"{trials} trials per $m$"
    )


def _iterations(ax_iter, summary):
    m = summary["m"]
    ax_iter.plot(m, summary["n_iter_median"], label="median")
    ax_iter.fill_between(
        m,
        summary["n_iter_q05"],
        summary["n_iter_q95"],
        alpha=0.2,
        color="C0",
        linewidth=0,
        label="5%-95%",
    )
    ax_iter.set_xlabel("measurements $m$")
    ax_iter.set_ylabel("iterations")
    ax_iter.legend(loc="upper right")
