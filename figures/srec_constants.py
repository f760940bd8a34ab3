"""S-REC constants of Gaussian A on range_s(G): the certified interval for gamma*, the chi law.

Top row, one panel per s: the certified interval [lower, upper] for gamma* (medians over trials,
5%-95% band of each end), the random-pair minimum, the union-bound guarantee (theorem's piece
count, and the exact piece count), the sampled piece-pair relaxation (no bound: drawn dotted),
and the reference 1 - sqrt(2s/m). Bottom row: a QQ plot of the ratio against sqrt(chi2_m / m)
(fresh A per pair, and the trial's single A), the KS statistics against m with the 5% critical
value (line styles: s in the order of the top row), the rate of the proven links (lower <=
upper <= random minimum; guarantee <= lower) with Wilson 95% bands, and the rate of exact
trials (upper - lower <= 1e-6 upper).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend
from sdlss_theory.sweep import wilson_interval

# (metric, label, colour, line style, marker)
ESTIMATORS = (
    ("random_min", "random pairs (min)", OKABE_ITO[1], "--", "s"),
    ("upper", "upper (witnessed)", OKABE_ITO[2], "-", "v"),
    ("lower", "lower (certified)", OKABE_ITO[3], "-", "^"),
    ("guarantee_exact_count", "union bound, exact $N$", OKABE_ITO[5], "-.", "D"),
    ("guarantee", "union bound (theorem)", OKABE_ITO[0], ":", "D"),
    ("sampled_relaxation", "sampled relaxation (no bound)", OKABE_ITO[6], (0, (1, 2)), "x"),
)
QQ_LEVELS = (0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99)


def _level(p: float) -> str:
    return f"p{round(100 * p):02d}"


def _band(ax, x, summary, rows, metric, **kw):
    order = np.argsort(x[rows], kind="stable")
    xs = x[rows][order]
    med = summary[f"{metric}_median"][rows][order]
    (line,) = ax.plot(xs, med, **kw)
    lo, hi = summary[f"{metric}_q05"][rows][order], summary[f"{metric}_q95"][rows][order]
    if np.any(hi > lo):
        ax.fill_between(xs, lo, hi, color=line.get_color(), alpha=0.18, linewidth=0)
    return line


def _rate(ax, x, count, n, **kw):
    order = np.argsort(x, kind="stable")
    x, count, n = x[order], count[order], n[order]
    lo, hi = wilson_interval(count, n)
    (line,) = ax.plot(x, count / n, **kw)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.15, linewidth=0)
    return line


def _m_axis(ax, m_values):
    """Log scale in m with the grid's m values as plain tick labels."""
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ax.set_xscale("log")
    ticks = np.unique(m_values)
    if ticks.size > 6:  # thin out: keep about six, always the ends
        ticks = ticks[np.unique(np.linspace(0, ticks.size - 1, 6).round().astype(int))]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xlabel("measurements $m$")


PANELS = ("gamma", "qq", "ks", "links", "exact")


def plot(summary: dict[str, np.ndarray], config: dict):
    s_all = summary["s"]
    s_values = list(dict.fromkeys(s_all.tolist()))
    trials = int(np.max(summary["n_ok"] + summary["n_failed"]))
    names = [f"gamma:{int(s)}" for s in s_values] + ["qq", "ks", "links", "exact"]
    fig, axes = panel_figure(names, aspect=0.75, max_columns=3, extra_height=0.9)
    gammas = [(s, axes[f"gamma:{int(s)}"]) for s in s_values if f"gamma:{int(s)}" in axes]
    for s, ax in gammas:
        _gamma(ax, summary, s)
    if gammas:
        handles, labels = gammas[0][1].get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=2)
    k, n = int(summary["k"][0]), int(summary["n"][0])
    widths = config.get("widths", summary["widths"][0])
    fig.suptitle(f"$k = {k}$, widths {tuple(widths)}, $n = {n}$; medians and 5%-95% over "
                 f"{trials} trials")  # fmt: skip
    for name, draw in (("qq", _qq), ("ks", _ks), ("links", _links), ("exact", _exact)):
        if name in axes:
            draw(axes[name], summary, s_values)
    return fig


def _gamma(ax, summary, s):
    """The estimators against m at one s."""
    m, rows = summary["m"], np.flatnonzero(summary["s"] == s)
    for metric, label, colour, ls, marker in ESTIMATORS:
        _band(ax, m, summary, rows, metric, color=colour, ls=ls, marker=marker, label=label)
    mm = np.linspace(max(2 * s, np.min(m[rows])), np.max(m[rows]), 200)
    ax.plot(mm, 1 - np.sqrt(2 * s / mm), color="0.55", lw=0.8, ls=(0, (1, 1)), marker="",
            label=r"$1 - \sqrt{2s/m}$")  # fmt: skip
    _m_axis(ax, m)
    ax.set_title(f"$s = {int(s)}$")
    ax.set_ylim(-0.02, 1.05)
    ax.set_ylabel(r"$\gamma^\star$ bounds")


def _qq(ax_qq, summary, s_values):
    """QQ plot: first s, up to four m."""
    m, s_all = summary["m"], summary["s"]
    rows = np.flatnonzero(s_all == s_values[0])
    rows = rows[np.argsort(m[rows], kind="stable")]
    pick = rows[np.unique(np.linspace(0, rows.size - 1, min(4, rows.size)).round().astype(int))]
    for j, r in enumerate(pick):
        mi = int(m[r])
        exact = stats.chi(df=mi, scale=1 / np.sqrt(mi)).ppf(QQ_LEVELS)
        colour = OKABE_ITO[1 + j]
        for kind, marker, shift in (("fresh", "o", -0.006), ("fixed", "x", 0.006)):
            q = [summary[f"q_{kind}_{_level(p)}_median"][r] for p in QQ_LEVELS]
            lo = [summary[f"q_{kind}_{_level(p)}_q05"][r] for p in QQ_LEVELS]
            hi = [summary[f"q_{kind}_{_level(p)}_q95"][r] for p in QQ_LEVELS]
            ax_qq.errorbar(
                exact + shift,
                q,
                yerr=[np.subtract(q, lo), np.subtract(hi, q)],
                ls="",
                marker=marker,
                color=colour,
                elinewidth=0.5,
                capsize=0,
                markersize=3,
                label=f"$m = {mi}$" if kind == "fresh" else None,
            )
    lim = [0.3, 1.7]
    ax_qq.plot(lim, lim, color="0.4", lw=0.7, ls="-", marker="")
    ax_qq.plot([], [], ls="", marker="o", color="0.3", label="fresh $A$ per pair")
    ax_qq.plot([], [], ls="", marker="x", color="0.3", label="one $A$ per trial")
    ax_qq.set_xlabel(r"quantile of $\sqrt{\chi^2_m/m}$")
    ax_qq.set_ylabel("ratio quantile")
    ax_qq.set_xlim(*lim)
    ax_qq.set_ylim(*lim)
    ax_qq.set_title(f"QQ, $s = {int(s_values[0])}$, levels 1%-99%")
    panel_legend(ax_qq, "upper left", handlelength=1.0)


def _ks(ax_ks, summary, s_values):
    """KS statistics of the ratios against the chi law."""
    m, s_all = summary["m"], summary["s"]
    n_ks = int(summary["n_ks"][0])
    crit = stats.kstwo(n_ks).ppf(0.95)
    ks_curves = (
        ("ks_fresh_stat", OKABE_ITO[2], "o", "fresh $A$ per pair"),
        ("ks_fixed_stat", OKABE_ITO[4], "x", "one $A$ per trial"),
    )
    for j, s in enumerate(s_values):
        rows = np.flatnonzero(s_all == s)
        for metric, colour, marker, label in ks_curves:
            _band(ax_ks, m, summary, rows, metric, color=colour, ls=["-", "--", "-."][j % 3],
                  marker=marker, label=label if j == 0 else None)  # fmt: skip
    ax_ks.axhline(crit, color="0.3", lw=0.8, ls=":", label="5% critical (fresh)")
    top_ks = max(np.nanmax(summary["ks_fixed_stat_q95"]), np.nanmax(summary["ks_fresh_stat_q95"]))
    ax_ks.set_ylim(0.0, 2.2 * top_ks)
    _m_axis(ax_ks, m)
    ax_ks.set_ylabel("KS statistic")
    ax_ks.set_title(r"KS vs $\sqrt{\chi^2_m/m}$")
    panel_legend(ax_ks, "upper right", handlelength=1.5)


def _links(ax_ord, summary, s_values):
    """The proven links: ordering and guarantee rates."""
    m, s_all = summary["m"], summary["s"]
    n_ok = summary["n_ok"]
    prob = float(summary["guarantee_prob"][0])
    for j, s in enumerate(s_values):
        rows = np.flatnonzero(s_all == s)
        colour = OKABE_ITO[1 + j]
        _rate(ax_ord, m[rows], summary["ordering_holds_count"][rows], n_ok[rows], color=colour,
              ls="-", marker="o", label=f"$s = {int(s)}$")  # fmt: skip
        held = np.round(summary["guarantee_holds_mean"][rows] * n_ok[rows])
        _rate(ax_ord, m[rows], held, n_ok[rows], color=colour, ls="--", marker="", label=None)
    ax_ord.axhline(prob, color="0.5", lw=0.7, ls=":")
    _m_axis(ax_ord, m)
    ax_ord.plot([], [], color="0.4", ls="-", marker="", label=r"lower $\leq$ upper $\leq$ random")
    ax_ord.plot([], [], color="0.4", ls="--", marker="", label=r"guarantee $\leq$ lower")
    ax_ord.set_ylim(-0.02, 1.5)
    ax_ord.set_yticks([0, 0.5, 1.0])
    ax_ord.set_ylabel("fraction of trials")
    ax_ord.set_title("proven links (Wilson 95%)")
    panel_legend(ax_ord, "upper left", handlelength=1.8)


def _exact(ax_exact, summary, s_values):
    """The fraction of trials whose bounds are exact."""
    m, s_all, n_ok = summary["m"], summary["s"], summary["n_ok"]
    for j, s in enumerate(s_values):
        rows = np.flatnonzero(s_all == s)
        exact = np.round(summary["exact_mean"][rows] * n_ok[rows])
        _rate(ax_exact, m[rows], exact, n_ok[rows], color=OKABE_ITO[1 + j], ls="-", marker="o",
              label=f"$s = {int(s)}$")  # fmt: skip
    _m_axis(ax_exact, m)
    ax_exact.set_ylim(-0.02, 1.3)
    ax_exact.set_yticks([0, 0.5, 1.0])
    ax_exact.set_ylabel("fraction exact")
    ax_exact.set_title("exact trials")
    panel_legend(ax_exact, "lower right")
