"""Latent phase transition: success over (m, s) per solver, 50% points, failure decomposition.

The reference slice is the deepest network and the most restarts of the grid. With three or
more values of s, the top row shows each solver's success probability over (m, s) as a heat map
with its empirical 50% contour and the fitted 50% points; with fewer, one panel per s shows
success against m for every solver with Wilson 95% bands and the fitted 50% points (horizontal
bars: their 95% intervals). The second row splits failures along m into optimisation failures
(solid) and identifiability failures (dotted), with Wilson 95% bands. The last panel (the full
width) lists the fitted 50% point m_50 for every (solver, depth, restarts) and s of the grid
(`fit_transition`: maximum likelihood, or Firth's penalised fit for quasi-separated counts);
where no fitted point lies inside the m range the empirical crossing (`empirical_crossing`) is
drawn instead (open marker, no interval); a triangle at an edge means the curve does not cross
50% inside the measured m range. At the column width each map (or rate panel) sits beside its
failure panel, one solver (or s) per row.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.lines import Line2D

from sdlss_theory.plotting import panel_figure, panel_grid, plot_rate
from sdlss_theory.sweep import transition_point, wilson_interval

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
#: Panel titles: short enough for five panels side by side.
SHORT = {**LABELS, "latent_recover": "latent recover", "latent_gd": "dense GD"}
#: Marker of each s in the m_50 panel (and in the legend).
S_MARKERS = "osD^vP"


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
    """The 50% point along m of the success counts of `rows` and its fit (None where the
    point is the empirical crossing: `sdlss_theory.sweep.transition_point`)."""
    return transition_point(
        summary["m"][rows], summary["success_count"][rows], summary["n_ok"][rows]
    )


def _log_m_axis(ax, m_values, max_ticks: int) -> None:
    """Log-scaled m axis labelled at up to `max_ticks` grid values, the first and the last
    included, spread evenly on the log scale (the grid value nearest each even point)."""
    ax.set_xscale("log")
    grid = np.log(np.asarray(m_values, dtype=np.float64))
    targets = np.linspace(grid[0], grid[-1], max(min(max_ticks, grid.size), 1))
    keep = np.unique([int(np.argmin(np.abs(grid - t))) for t in targets])
    ticks = np.exp(grid[keep])
    ax.xaxis.set_minor_locator(mticker.NullLocator())
    ax.set_xticks(ticks, [f"{v:.4g}" for v in ticks])


def _max_ticks(n_panels: int) -> int:
    """Tick labels that fit one of `n_panels` panels side by side in the text width."""
    return 7 if n_panels <= 2 else 5 if n_panels <= 3 else 4


def _success_panel(ax, summary, solvers, ref, s, max_ticks):
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
        c, fit = transition(summary, rows)
        if fit is not None:
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
        elif np.isfinite(c):
            ax.plot(c, 0.5, color=style["color"], marker="|", markersize=9, linestyle="none")
    _log_m_axis(ax, np.unique(summary["m"]), max_ticks)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("measurements $m$")
    ax.set_title(f"$s = {int(s)}$")


def _failure_panel(ax, summary, solvers, ref, s_values, max_ticks, color_by_s=False):
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
    _log_m_axis(ax, np.unique(summary["m"]), max_ticks)
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
        _, fit = transition(summary, rows)
        if fit is not None:
            # Position of m_50 on the index axis (linear interpolation between grid values).
            ax.plot(np.interp(fit.x50, m_values, x), i, marker="x", color="white", markersize=4)
    keep = np.unique(np.round(np.linspace(0, len(m_values) - 1, min(len(m_values), 4))))
    keep = keep.astype(int)
    ax.set_xticks(x[keep], [f"{m_values[i]:g}" for i in keep])
    ax.set_yticks(y, [str(int(v)) for v in s_values])
    ax.set_xlabel("measurements $m$")
    ax.set_title(SHORT.get(solver, solver))
    ax.grid(False)
    return mesh


def _m50_panel(ax, summary, solvers, s_values):
    depths = np.unique(summary["depth"])
    restarts = np.unique(summary["restarts"])
    combos = [(sv, d, r) for sv in solvers for d in depths for r in restarts]
    m_all = np.unique(summary["m"])
    markers = S_MARKERS
    offsets = np.linspace(-0.25, 0.25, len(s_values)) if len(s_values) > 1 else [0.0]
    for j, (solver, d, r) in enumerate(combos):
        y0 = len(combos) - 1 - j
        for i_s, s in enumerate(s_values):
            rows = select(summary, solver=solver, depth=d, restarts=r, s=s)
            if rows.size == 0:
                continue
            m = summary["m"][rows]
            c, fit = transition(summary, rows)
            y = y0 + offsets[i_s]
            color = _style(solver)["color"]
            if fit is not None:
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
            elif np.isfinite(c):
                # No fitted point inside the m range: the empirical crossing, open.
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
                above = summary["success_rate"][rows][0] < 0.5
                ax.plot(
                    m.max() if above else m.min(),
                    y,
                    marker=">" if above else "<",
                    color=color,
                    markersize=3.5,
                    linestyle="none",
                )
    ax.set_yticks(
        range(len(combos)),
        [f"{SHORT.get(sv, sv)}, d={int(d)}, R={int(r)}" for sv, d, r in reversed(combos)],
    )
    _log_m_axis(ax, m_all, 5)
    ax.set_xlim(m_all.min() * 0.8, m_all.max() * 1.25)
    ax.set_xlabel(r"fitted $m_{50}$")
    ax.grid(axis="y", visible=False)


def _legend_entries(solvers, s_values, heat):
    """The figure's one legend: what colours, line styles and markers mean."""
    handles, labels = [], []
    if heat:  # colour = s in the failure panels; marker = s in the m_50 panel
        for i_s, s in enumerate(s_values):
            color = plt.get_cmap("cividis")(i_s / max(len(s_values) - 1, 1))
            marker = S_MARKERS[i_s % len(S_MARKERS)]
            handles.append(Line2D([], [], color=color, marker=marker, linestyle="-"))
            labels.append(f"$s = {int(s)}$")
    else:  # colour and marker = solver; marker = s in the m_50 panel
        for solver in solvers:
            handles.append(Line2D([], [], linestyle="-", **_style(solver)))
            labels.append(LABELS.get(solver, solver))
        for i_s, s in enumerate(s_values):
            marker = S_MARKERS[i_s % len(S_MARKERS)]
            handles.append(Line2D([], [], color="grey", marker=marker, linestyle="none"))
            labels.append(f"$m_{{50}}$ at $s = {int(s)}$")
    for style, name in (("-", "optimisation failure"), (":", "identifiability failure")):
        handles.append(Line2D([], [], color="grey", linestyle=style, marker="none"))
        labels.append(name)
    return handles, labels


PANELS = ("heat", "success", "failure", "m50")


def plot(summary: dict[str, np.ndarray], config: dict):
    solvers = solver_order(summary, config)
    s_values = np.unique(summary["s"])
    m_values = np.unique(summary["m"])
    ref = {"depth": np.max(summary["depth"]), "restarts": np.max(summary["restarts"])}
    heat = len(s_values) >= HEATMAP_MIN_S and len(m_values) >= 2
    columns = solvers if heat else [int(s) for s in s_values]
    kind = "heat" if heat else "success"
    tops = [f"{kind}:{c}" for c in columns]
    bottoms = [f"failure:{c}" for c in columns]
    combos = len(solvers) * len(np.unique(summary["depth"])) * len(np.unique(summary["restarts"]))
    grid_columns = panel_grid(len(tops), max_columns=len(columns))[1]
    # One row of maps (or rates) over one row of failures; reflowed, each map beside its
    # failures.
    order = [*tops, *bottoms]
    if grid_columns < len(columns):
        order = [name for pair in zip(tops, bottoms, strict=True) for name in pair]
    fig, axes = panel_figure([*order, "m50"], aspect=0.85, max_columns=len(columns),
                             extra_height=0.6, wide=("m50",),
                             heights={"m50": 0.7 + combos * 11 / 72})  # fmt: skip
    cell = fig.get_figwidth() / grid_columns
    ticks = 4 if cell < 2.2 else _max_ticks(grid_columns)
    ref_text = f"depth {int(ref['depth'])}, R = {int(ref['restarts'])}"
    drawn_tops = []
    mesh = None
    for column, top, bottom in zip(columns, tops, bottoms, strict=True):
        if top in axes:
            ax = axes[top]
            if heat:
                mesh = _heat_panel(ax, summary, column, ref, s_values, m_values)
                ax.set_ylabel("sparsity $s$")
            else:
                _success_panel(ax, summary, solvers, ref, column, ticks)
                ax.set_ylabel("success rate")
            drawn_tops.append(ax)
        if bottom in axes:
            if heat:
                _failure_panel(axes[bottom], summary, [column], ref, s_values, ticks,
                               color_by_s=True)  # fmt: skip
                axes[bottom].set_title(SHORT.get(column, column), fontsize=7)
            else:
                _failure_panel(axes[bottom], summary, solvers, ref, [column], ticks)
                axes[bottom].set_title(f"$s = {column}$", fontsize=7)
            axes[bottom].set_ylabel("failure rate")
    if mesh is not None:  # beside the row of maps; beside the last map once they reflow
        beside = drawn_tops if grid_columns == len(columns) else drawn_tops[-1]
        fig.colorbar(mesh, ax=beside, label="success probability", shrink=0.9, pad=0.01)
    if "m50" in axes:
        _m50_panel(axes["m50"], summary, solvers, s_values)
    handles, labels = _legend_entries(solvers, s_values, heat)
    fig.legend(handles, labels, loc="outside lower center",
               ncols=min(len(labels), 5 if fig.get_figwidth() > 5 else 2))  # fmt: skip
    trials = int(np.max(summary["n_ok"] + summary["n_failed"]))
    k, n = int(summary["k"][0]), int(summary["n"][0])
    tol = config.get("tol", summary["tol"][0])
    sep = "; " if fig.get_figwidth() > 5 else "\n"
    fig.suptitle(
        rf"$k = {k}$, $n = {n}$; panels at {ref_text}; {trials} trials/cell{sep}"
        rf"success: $\|G(\hat z) - x^*\| \leq$ {tol:g} $\|x^*\|$",
        fontsize=7,
    )
    return fig
