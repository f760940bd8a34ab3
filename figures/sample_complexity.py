"""Link 1: m*(gamma0) against ln N at fixed k, from certified brackets.

From the summary of ``simulations/sample_complexity.py`` (no simulation; the numbers are those
of `simulations.sample_complexity.brackets` and its report):

(a) per network, the bracket m_U <= m* <= m_L (50% points along m of "upper >= gamma0" and
    "certified lower >= gamma0", logistic fits with 95% intervals) against the mean ln N of the
    network's draws, for the bias-free family (s >= 2) and the biased family (s = 1), each
    with its OLS line of m_L on ln N (slope and 95% t interval in the legend);
(b) m_L against the union bound's m at the same ln N (`theory.union_bound_measurements`), with
    the line m = m_union: how far below the guarantee the measured m* lies.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend
from simulations.sample_complexity import FAMILIES, brackets, slope_fit

PANELS = ("brackets", "guarantee")
STYLE = {"bias_free": (OKABE_ITO[1], "o"), "biased": (OKABE_ITO[2], "s")}


def _label(family: str, rows: list[dict]) -> str:
    s = int(rows[0]["s"])
    return f"no bias, $s={s}$" if family == "bias_free" else f"biases, $s={s}$"


def plot(summary: dict[str, np.ndarray], config: dict):
    gamma0 = float(config.get("gamma0", 0.5))
    rows = brackets(summary, gamma0)
    fig, axes = panel_figure(PANELS, aspect=0.8)
    if "brackets" in axes:
        _brackets(axes["brackets"], rows, gamma0, int(config.get("k", 0)))
    if "guarantee" in axes:
        _guarantee(axes["guarantee"], rows)
    return fig


def _families(rows: list[dict]):
    for family in FAMILIES:
        sel = [r for r in rows if r["family"] == family]
        if sel:
            yield family, sel, *STYLE[family]


def _brackets(ax, rows: list[dict], gamma0: float, k: int) -> None:
    """(a) the brackets against ln N, with each family's OLS line of m_L on ln N."""
    for family, sel, colour, marker in _families(rows):
        x = np.array([r["ln_N"] for r in sel])
        for side, fill, off in (("m_U", "none", -0.02), ("m_L", colour, 0.02)):
            y = np.array([r[side] for r in sel])
            lo = np.array([r[f"{side}_lo"] for r in sel])
            hi = np.array([r[f"{side}_hi"] for r in sel])
            ok = np.isfinite(lo) & np.isfinite(hi)
            ax.errorbar(x[ok] + off, y[ok], yerr=[y[ok] - lo[ok], hi[ok] - y[ok]], fmt=marker,
                        color=colour, mfc=fill, ms=3, capsize=1.5, lw=0.7)  # fmt: skip
        fit = slope_fit(x, [r["m_L"] for r in sel])
        if np.isfinite(fit["b"]):
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, fit["a"] + fit["b"] * xs, "-", color=colour, lw=0.8,
                    label=f"{_label(family, sel)}: slope {fit['b']:.1f} "
                    f"[{fit['b_lo']:.1f}, {fit['b_hi']:.1f}]")  # fmt: skip
        else:
            ax.plot([], [], marker, color=colour, label=_label(family, sel))
    ax.plot([], [], "o", color="0.3", ms=3, label=r"filled $m_L$, open $m_U$")
    ax.set_xlabel(r"mean $\ln N$ (exact piece count)")
    ax.set_ylabel(rf"$m^\star({gamma0:g})$ bracket")
    ax.set_title(f"(a) $m^\\star$ against $\\ln N$ at $k={k}$")
    panel_legend(ax, "upper left", handlelength=1.4)


def _guarantee(ax, rows: list[dict]) -> None:
    """(b) m_L against the union bound's m at the same ln N."""
    for family, sel, colour, marker in _families(rows):
        ax.plot([r["m_union"] for r in sel], [r["m_L"] for r in sel], marker, color=colour,
                ms=3, label=_label(family, sel))  # fmt: skip
    finite = [r for r in rows if np.isfinite(r["m_L"])]
    if finite:
        top = max(r["m_union"] for r in finite)
        ax.plot([0, top], [0, top], ":", color="0.5", lw=0.8, label=r"$m_L = m_{\rm union}$")
    ax.set_xlabel(r"union bound's $m$")
    ax.set_ylabel(r"$m_L$")
    ax.set_title("(b) vs the guarantee")
    panel_legend(ax, "upper left")
