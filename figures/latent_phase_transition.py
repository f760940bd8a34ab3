"""Latent phase transition: success over (m, s) per solver, 50% points, failure decomposition.

The reference slice is the deepest network and the most restarts of the grid. With three or
more values of s, the top row shows each solver's success probability over (m, s) as a heat
map with its empirical 50% contour and the fitted 50% points; with fewer, one panel per s
shows success against m for every solver with Wilson 95% bands and the fitted 50% points
(horizontal bars: their 95% intervals). The bottom row splits failures along m into
optimisation failures (solid) and identifiability failures (dotted), with Wilson 95% bands.
The right column lists the fitted 50% point m_50 for every (solver, depth, restarts) and s of
the grid; where the logistic fit fails (a step too sharp for the grid) the empirical
crossing is drawn instead (open marker, no interval); a triangle at an edge means the curve
does not cross 50% inside the measured m range.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np

from sdlss_theory.plotting import figure_size, plot_rate
from sdlss_theory.sweep import fit_transition, wilson_interval

LABELS = {
    "latent_iht": "latent IHT",
    "latent_niht": "latent NIHT",
    "latent_recover": "latent recover (default)",
    "latent_gd": "dense latent GD",
    "oracle": "oracle support",
    "oracle_gd": "oracle support (GD)",
}
COLORS = {"oracle": "#000000", "latent_iht": "#0072B2", "latent_niht": "#009E73"}
COLORS.update(latent_gd="#E69F00", latent_recover="#D55E00", oracle_gd="#999999")
MARKERS = {"oracle": "o", "latent_iht": "s", "latent_niht": "^", "latent_gd": "D"}
MARKERS.update(latent_recover="v", oracle_gd="P")
HEATMAP_MIN_S = 3


def _style(solver: str) -> dict:
    return {"color": COLORS.get(solver, "#CC79A7"), "marker": MARKERS.get(solver, "v")}


def solver_order(summary: dict[str, np.ndarray], config: dict) -> list[str]:
    """The solvers in the summary, in the configuration's order."""
    present = list(dict.fromkeys(str(v) for v in summary["solver"]))
    wanted = [str(s) for s in config.get("solvers", present)]
    return [s for s in wanted if s in present] + [s for s in present if s not in wanted]


def select(summary: dict[str, np.ndarray], **where) -> np.ndarray:
    """Row indices matching every ``column=value``, sorted by m."""
    mask = np.ones(len(summary["m"]), dtype=bool)
    for key, value in where.items():
        mask &= summary[key] == value
    rows = np.flatnonzero(mask)
    return rows[np.argsort(summary["m"][rows], kind="stable")]


def failure_band(summary: dict[str, np.ndarray], name: str, rows: np.ndarray):
    """Rate, Wilson lo and hi of a boolean metric summarised by its mean."""
    trials = summary["n_ok"][rows]
    count = np.rint(summary[f"{name}_mean"][rows] * trials)
    lo, hi = wilson_interval(count, trials)
    return count / np.where(trials > 0, trials, np.nan), lo, hi


def transition(summary: dict[str, np.ndarray], rows: np.ndarray):
    """The 50% fit along m, or None when it is missing or outside the measured m range."""
    m = summary["m"][rows]
    fit = fit_transition(m, summary["success_count"][rows], summary["n_ok"][rows])
    return fit


def crossing(m: np.ndarray, rate: np.ndarray) -> float:
    """The empirical 50% crossing: log-linear interpolation between the last m below 50%
    and the first at or above it; nan if the curve starts at or above 50% or never gets there.

    Used where the logistic fit fails or lands outside the m range (a step too sharp for the
    grid, e.g. the oracle going from 0 to 100% between two grid values).
    """
    above = np.flatnonzero(rate >= 0.5)
    if above.size == 0 or above[0] == 0:
        return float("nan")
    i = above[0]
    w = (0.5 - rate[i - 1]) / (rate[i] - rate[i - 1])
    return float(np.exp(np.log(m[i - 1]) + w * (np.log(m[i]) - np.log(m[i - 1]))))


def _thin(values, factor: float) -> list[int]:
    """Indices of increasing values kept so that each is at least factor x the previous."""
    keep = [0]
    for i in range(1, len(values)):
        if values[i] >= factor * values[keep[-1]]:
            keep.append(i)
    return keep


def _log_m_axis(ax, m_values, factor: float = 1.45) -> None:
    """Log-scaled m axis labelled at (a thinned subset of) the grid values."""
    ax.set_xscale("log")
    ticks = np.asarray(m_values, dtype=np.float64)
    keep = _thin(ticks, factor)
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.set_xticks(ticks[keep], [f"{v:g}" for v in ticks[keep]])


def _in_range(fit, m: np.ndarray) -> bool:
    return bool(np.isfinite(fit.x50) and m.min() <= fit.x50 <= m.max())


def _success_panel(ax, summary, solvers, ref, s):
    for solver in solvers:
        rows = select(summary, solver=solver, s=s, **ref)
        if rows.size == 0:
            continue
        style = _style(solver)
        m = summary["m"][rows]
        plot_rate(
            ax,
            m,
            summary["success_rate"][rows],
            summary["success_lo"][rows],
            summary["success_hi"][rows],
            label=LABELS.get(solver, solver),
            linestyle="-",
            band_alpha=0.12,
            **style,
        )
        fit = transition(summary, rows)
        if _in_range(fit, m):
            ax.errorbar(
                fit.x50,
                0.5,
                xerr=[[fit.x50 - max(fit.lo, m.min())], [min(fit.hi, m.max()) - fit.x50]],
                color=style["color"],
                marker="|",
                markersize=9,
                linestyle="none",
                capsize=2,
            )
        else:
            c = crossing(m, summary["success_rate"][rows])
            if np.isfinite(c):
                ax.plot(c, 0.5, color=style["color"], marker="|", markersize=9, linestyle="none")
    _log_m_axis(ax, np.unique(summary["m"]))
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("measurements $m$")
    ax.set_title(f"$s = {int(s)}$")


def _failure_panel(ax, summary, solvers, ref, s_values, color_by_s=False, factor=1.45):
    for solver in solvers:
        for i_s, s in enumerate(s_values):
            rows = select(summary, solver=solver, s=s, **ref)
            if rows.size == 0:
                continue
            m = summary["m"][rows]
            color = (
                plt.get_cmap("cividis")(i_s / max(len(s_values) - 1, 1))
                if color_by_s
                else _style(solver)["color"]
            )
            for name, ls in (("opt_failure", "-"), ("ident_failure", ":")):
                rate, lo, hi = failure_band(summary, name, rows)
                ax.plot(m, rate, color=color, linestyle=ls, marker="none", linewidth=1.0)
                ax.fill_between(m, lo, hi, color=color, alpha=0.08, linewidth=0)
    _log_m_axis(ax, np.unique(summary["m"]), factor)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("measurements $m$")


def _heat_panel(ax, summary, solver, ref, s_values, m_values):
    rate = np.full((len(s_values), len(m_values)), np.nan)
    for i, s in enumerate(s_values):
        rows = select(summary, solver=solver, s=s, **ref)
        idx = np.searchsorted(m_values, summary["m"][rows])
        rate[i, idx] = summary["success_rate"][rows]
    x = np.arange(len(m_values))
    y = np.arange(len(s_values))
    mesh = ax.pcolormesh(
        np.arange(len(m_values) + 1) - 0.5,
        np.arange(len(s_values) + 1) - 0.5,
        np.ma.masked_invalid(rate),
        vmin=0,
        vmax=1,
        cmap="viridis",
        rasterized=True,
    )
    if np.nanmin(rate) < 0.5 < np.nanmax(rate):
        ax.contour(x, y, np.ma.masked_invalid(rate), levels=[0.5], colors="white", linewidths=1.1)
    for i, s in enumerate(s_values):
        rows = select(summary, solver=solver, s=s, **ref)
        fit = transition(summary, rows)
        if _in_range(fit, summary["m"][rows]):
            # Position of m_50 on the index axis (linear interpolation between grid values).
            ax.plot(np.interp(fit.x50, m_values, x), i, marker="x", color="white", markersize=4)
    keep = _thin(m_values, 1.9)
    ax.set_xticks(x[keep], [str(int(m_values[i])) for i in keep], rotation=90)
    ax.set_yticks(y, [str(int(v)) for v in s_values])
    ax.set_xlabel("measurements $m$")
    ax.set_title(LABELS.get(solver, solver))
    ax.grid(False)
    return mesh


def _m50_panel(ax, summary, solvers, s_values):
    depths = np.unique(summary["depth"])
    restarts = np.unique(summary["restarts"])
    combos = [(sv, d, r) for sv in solvers for d in depths for r in restarts]
    m_all = np.unique(summary["m"])
    markers = "osD^vP"
    offsets = np.linspace(-0.25, 0.25, len(s_values)) if len(s_values) > 1 else [0.0]
    for j, (solver, d, r) in enumerate(combos):
        y0 = len(combos) - 1 - j
        for i_s, s in enumerate(s_values):
            rows = select(summary, solver=solver, depth=d, restarts=r, s=s)
            if rows.size == 0:
                continue
            m = summary["m"][rows]
            fit = transition(summary, rows)
            y = y0 + offsets[i_s]
            color = _style(solver)["color"]
            if _in_range(fit, m):
                ax.errorbar(
                    fit.x50,
                    y,
                    xerr=[[fit.x50 - max(fit.lo, m.min())], [min(fit.hi, m.max()) - fit.x50]],
                    color=color,
                    marker=markers[i_s % len(markers)],
                    markersize=3,
                    linestyle="none",
                    capsize=1.5,
                )
            else:
                rate = summary["success_rate"][rows]
                c = crossing(m, rate)
                if np.isfinite(c):
                    # Logistic fit failed (too sharp a step): the empirical crossing, open.
                    ax.plot(
                        c,
                        y,
                        marker=markers[i_s % len(markers)],
                        markersize=3,
                        markerfacecolor="white",
                        color=color,
                        linestyle="none",
                    )
                else:
                    above = rate[0] < 0.5
                    ax.plot(
                        m.max() if above else m.min(),
                        y,
                        marker=">" if above else "<",
                        color=color,
                        markersize=3.5,
                        linestyle="none",
                    )
    for i_s, s in enumerate(s_values):
        ax.plot(
            [],
            [],
            color="grey",
            marker=markers[i_s % len(markers)],
            linestyle="none",
            label=f"$s = {int(s)}$",
        )
    ax.set_yticks(
        range(len(combos)),
        [f"{LABELS.get(sv, sv)}, d={int(d)}, R={int(r)}" for sv, d, r in reversed(combos)],
        fontsize=5.5,
    )
    _log_m_axis(ax, m_all, 1.9)
    ax.set_xlim(m_all.min() * 0.8, m_all.max() * 1.25)
    ax.set_xlabel(r"fitted 50% point $m_{50}$")
    ax.legend(loc="lower right", fontsize=5.5, handlelength=1.0)
    ax.grid(axis="y", visible=False)


def plot(summary: dict[str, np.ndarray], config: dict):
    solvers = solver_order(summary, config)
    s_values = np.unique(summary["s"])
    m_values = np.unique(summary["m"])
    ref = {"depth": np.max(summary["depth"]), "restarts": np.max(summary["restarts"])}
    heat = len(s_values) >= HEATMAP_MIN_S and len(m_values) >= 2
    n_cols = len(solvers) if heat else len(s_values)
    fig = plt.figure(figsize=figure_size("text", aspect=0.62))
    grid = fig.add_gridspec(2, n_cols + 1, width_ratios=[1.0] * n_cols + [1.4])
    top = [fig.add_subplot(grid[0, j]) for j in range(n_cols)]
    bottom = [fig.add_subplot(grid[1, j]) for j in range(n_cols)]
    ref_text = f"depth {int(ref['depth'])}, R = {int(ref['restarts'])}"
    if heat:
        mesh = None
        for j, solver in enumerate(solvers):
            mesh = _heat_panel(top[j], summary, solver, ref, s_values, m_values)
            _failure_panel(
                bottom[j], summary, [solver], ref, s_values, color_by_s=True, factor=2.5
            )
            bottom[j].set_title(LABELS.get(solver, solver), fontsize=7)
        top[0].set_ylabel("sparsity $s$")
        fig.colorbar(mesh, ax=top, label="success probability", shrink=0.9, pad=0.01)
        for i_s, s in enumerate(s_values):
            bottom[-1].plot(
                [],
                [],
                color=plt.get_cmap("cividis")(i_s / max(len(s_values) - 1, 1)),
                marker="none",
                linestyle="-",
                label=f"$s = {int(s)}$",
            )
    else:
        for j, s in enumerate(s_values):
            _success_panel(top[j], summary, solvers, ref, s)
            _failure_panel(bottom[j], summary, solvers, ref, [s])
        top[0].set_ylabel("success rate")
        top[0].legend(loc="upper left", fontsize=5.5, handlelength=1.8)
    bottom[0].set_ylabel("failure rate")
    bottom[0].plot([], [], color="grey", linestyle="-", marker="none", label="optimisation")
    bottom[0].plot([], [], color="grey", linestyle=":", marker="none", label="identifiability")
    bottom[0].legend(loc="upper right", fontsize=5.5, handlelength=1.8)
    if heat:
        bottom[-1].legend(loc="upper right", fontsize=5.5, handlelength=1.5)
    ax_m50 = fig.add_subplot(grid[:, n_cols])
    _m50_panel(ax_m50, summary, solvers, s_values)
    trials = int(np.max(summary["n_ok"] + summary["n_failed"]))
    k, n = int(summary["k"][0]), int(summary["n"][0])
    tol = config.get("tol", summary["tol"][0])
    fig.suptitle(
        rf"$k = {k}$, $n = {n}$; panels at {ref_text}; {trials} trials/cell; "
        rf"success: $\|G(\hat z) - x^*\| \leq$ {tol:g} $\|x^*\|$",
        fontsize=7,
    )
    return fig
