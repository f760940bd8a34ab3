"""Donoho-Tanner diagram of basis pursuit, IHT and NIHT, with the l1 curve of ALMT (2014).

Top row: success probability per solver over delta = m/n (across) and rho = s/m (up), colours
interpolated between measured cells (dots) only, with the empirical
50% contour (solid) and the theoretical l1 curve (dashed). Bottom row: success rate against
delta for each s (colour bar) with Wilson 95% bands. Right: the fitted 50% points m_50 against
s with their 95% intervals, beside the l1 prediction ``l1_transition_m(s, n)`` and the rigorous
ALMT window ``l1_transition_interval(s, n)`` (shaded). One legend below the panels.
"""

from __future__ import annotations

import matplotlib.patheffects as pe
import matplotlib.pyplot as plt
import matplotlib.tri as mtri
import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import BoundaryNorm, ListedColormap

from sdlss_theory.plotting import panel_figure, panel_grid, plot_rate
from sdlss_theory.sweep import fit_transition
from sdlss_theory.theory import (
    l1_phase_transition_rho,
    l1_transition_interval,
    l1_transition_m,
)

OUTLINE = [pe.withStroke(linewidth=2.2, foreground="black")]
LABELS = {"basis_pursuit": "basis pursuit", "iht": "IHT", "niht": "NIHT"}


def grid_triangulation(delta: np.ndarray, s_vals, m_vals, rate):
    """Triangles of the (s, m) cell grid mapped to (delta, rho) = (m/n, s/m).

    Neighbouring cells are joined in index space (two triangles per square of four measured
    cells, one where only three are measured), so the colour is interpolated between measured
    cells only, never extrapolated. Returns (Triangulation, values) or None.
    """
    n_s, n_m = rate.shape
    index = -np.ones((n_s, n_m), dtype=np.int64)
    have = np.isfinite(rate)
    index[have] = np.arange(int(have.sum()))
    xs = np.broadcast_to(delta[None, :], rate.shape)[have]
    ys = (np.asarray(s_vals, dtype=np.float64)[:, None] / np.asarray(m_vals)[None, :])[have]
    triangles = []
    for a in range(n_s - 1):
        for b in range(n_m - 1):
            q = [index[a, b], index[a, b + 1], index[a + 1, b + 1], index[a + 1, b]]
            ok = [v >= 0 for v in q]
            if all(ok):
                triangles += [[q[0], q[1], q[2]], [q[0], q[2], q[3]]]
            elif sum(ok) == 3:
                triangles.append([v for v in q if v >= 0])
    if not triangles:
        return None
    return mtri.Triangulation(xs, ys, np.array(triangles)), rate[have]


def solver_order(summary: dict[str, np.ndarray], config: dict) -> list[str]:
    """The solvers in the summary, in the configuration's order."""
    present = list(dict.fromkeys(str(v) for v in summary["solver"]))
    wanted = [str(s) for s in config.get("solvers", present)]
    return [s for s in wanted if s in present] + [s for s in present if s not in wanted]


def rate_table(summary: dict[str, np.ndarray], solver: str):
    """(s values, m values, rate[s, m], count[s, m], trials[s, m]) with NaN where no cell."""
    sel = summary["solver"] == solver
    s_vals = np.unique(summary["s"][sel])
    m_vals = np.unique(summary["m"][sel])
    rate = np.full((s_vals.size, m_vals.size), np.nan)
    count = np.zeros_like(rate)
    trials = np.zeros_like(rate)
    for i in np.flatnonzero(sel):
        a = np.searchsorted(s_vals, summary["s"][i])
        b = np.searchsorted(m_vals, summary["m"][i])
        rate[a, b] = summary["success_rate"][i]
        count[a, b] = summary["success_count"][i]
        trials[a, b] = summary["n_ok"][i]
    return s_vals, m_vals, rate, count, trials


def transitions(summary: dict[str, np.ndarray], solver: str):
    """Fitted 50% points along m for each s of `solver`: arrays s, x50, lo, hi."""
    s_vals, m_vals, _, count, trials = rate_table(summary, solver)
    out = []
    for a, s in enumerate(s_vals):
        keep = trials[a] > 0
        fit = fit_transition(m_vals[keep], count[a, keep], trials[a, keep])
        out.append((s, fit.x50, fit.lo, fit.hi))
    return tuple(np.array(col, dtype=np.float64) for col in zip(*out, strict=True))


def _s_colours(s_vals) -> list:
    cmap = plt.get_cmap("cividis")
    return [cmap(i / max(len(s_vals) - 1, 1)) for i in range(len(s_vals))]


def _s_colourbar(fig, axes, s_vals, colours) -> None:
    """A discrete colour bar naming the sparsity of each curve (a legend would cover them)."""
    norm = BoundaryNorm(np.arange(len(s_vals) + 1) - 0.5, len(s_vals))
    bar = fig.colorbar(
        ScalarMappable(norm, ListedColormap(colours)),
        ax=axes,
        label="sparsity $s$",
        shrink=0.9,
        pad=0.01,
    )
    keep = np.unique(np.round(np.linspace(0, len(s_vals) - 1, min(len(s_vals), 9))).astype(int))
    bar.set_ticks(keep, labels=[str(int(s_vals[i])) for i in keep])
    bar.ax.tick_params(length=0)
    bar.ax.minorticks_off()


PANELS = ("heat", "rates", "m50")


def plot(summary: dict[str, np.ndarray], config: dict):
    solvers = solver_order(summary, config)
    n = int(summary["n"][0])
    ns = len(solvers)
    heats, rates = [f"heat:{s}" for s in solvers], [f"rates:{s}" for s in solvers]
    reflowed = panel_grid(ns + 1, max_columns=ns + 1)[1] < ns + 1
    # Page: the maps and m_50 in one row, the rates below; reflowed: each map beside its rates.
    order = [*heats, "m50", *rates]
    if reflowed:
        order = [*(p for pair in zip(heats, rates, strict=True) for p in pair), "m50"]
    fig, axes = panel_figure(order, aspect=0.9, max_columns=ns + 1, extra_height=0.6)
    heat_axes = [axes[h] for h in heats if h in axes]
    rate_axes = [axes[r] for r in rates if r in axes]

    delta_curve = np.linspace(0.0, 1.0, 201)
    rho_curve = np.asarray(l1_phase_transition_rho(delta_curve))
    s_all = np.unique(summary["s"])
    colours = dict(zip(s_all, _s_colours(s_all), strict=True))
    mesh = None
    for solver in solvers:
        if f"heat:{solver}" in axes:
            drawn = _heat(axes[f"heat:{solver}"], summary, solver, n, delta_curve, rho_curve)
            mesh = drawn if drawn is not None else mesh
        if f"rates:{solver}" in axes:
            _rates(axes[f"rates:{solver}"], summary, solver, n, colours)
    if mesh is not None:
        fig.colorbar(mesh, ax=heat_axes[-1] if reflowed else heat_axes,
                     label="success probability", shrink=0.9, pad=0.01)  # fmt: skip
    if rate_axes:
        _s_colourbar(fig, rate_axes[-1] if reflowed else rate_axes, s_all,
                     [colours[s] for s in s_all])  # fmt: skip
    if "m50" in axes:
        _m50(axes["m50"], summary, solvers, n, s_all)
    handles, labels = [], []
    for ax in axes.values():
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if heat_axes:
        (emp,) = heat_axes[0].plot([], [], color="white", path_effects=OUTLINE, marker="none")
        handles, labels = [emp, *handles], ["empirical 50% contour", *labels]
    if handles:
        fig.legend(handles, labels, loc="outside lower center",
                   ncols=3 if fig.get_figwidth() > 5 else 1)  # fmt: skip
    trials = int(np.max(summary["n_ok"] + summary["n_failed"]))
    tol = config.get("tol", summary["tol"][0])
    fig.suptitle(
        rf"$n = {n}$, {trials} trials per cell; success: $\|\hat x - x\| \leq$ {tol:g} "
        rf"$\|x\|$"
    )
    return fig


def _heat(ax, summary, solver, n, delta_curve, rho_curve):
    """The success probability over (delta, rho), its 50% contour and the l1 curve."""
    s_vals, m_vals, rate, _, _ = rate_table(summary, solver)
    mesh = None
    tri = grid_triangulation(m_vals / n, s_vals, m_vals, rate)
    if tri is not None:
        triangulation, values = tri
        mesh = ax.tripcolor(triangulation, values, vmin=0.0, vmax=1.0, cmap="viridis",
                            shading="gouraud", rasterized=True)  # fmt: skip
        if values.min() < 0.5 < values.max():
            ax.tricontour(triangulation, values, levels=[0.5], colors="white", linewidths=1.1,
                          linestyles="-", path_effects=OUTLINE)  # fmt: skip
    m_ctr, s_ctr = np.meshgrid(m_vals, s_vals)
    have = np.isfinite(rate)
    ax.plot((m_ctr / n)[have], (s_ctr / m_ctr)[have], linestyle="none", marker=".",
            markersize=1.0, color="black", alpha=0.5)  # fmt: skip
    ax.plot(delta_curve, rho_curve, color="#E69F00", linestyle="--", marker="none",
            path_effects=OUTLINE)  # fmt: skip
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    ax.set_title(LABELS.get(solver, solver))
    ax.set_xlabel(r"$\delta = m/n$")
    ax.set_ylabel(r"$\rho = s/m$")
    ax.grid(False)
    return mesh


def _rates(ax_r, summary, solver, n, colours):
    """Success rate against delta, one curve per s, with Wilson bands."""
    s_vals = rate_table(summary, solver)[0]
    sel = np.flatnonzero(summary["solver"] == solver)
    for s in s_vals:
        rows = sel[summary["s"][sel] == s]
        plot_rate(ax_r, summary["m"][rows] / n, summary["success_rate"][rows],
                  summary["success_lo"][rows], summary["success_hi"][rows], color=colours[s],
                  linestyle="-", marker="o", markersize=2.0, linewidth=0.9,
                  band_alpha=0.1)  # fmt: skip
    ax_r.set_xlim(0.0, 1.0)
    ax_r.set_ylim(-0.02, 1.02)
    ax_r.set_xlabel(r"$\delta = m/n$")
    ax_r.set_ylabel("success rate")
    ax_r.set_title(LABELS.get(solver, solver))


def _m50(ax_m50, summary, solvers, n, s_all):
    """m_50 against s: every solver's fit, the l1 prediction and the rigorous ALMT window."""
    ns = len(solvers)
    s_line = np.linspace(max(s_all.min() * 0.8, 0.5), min(s_all.max() * 1.1, n), 200)
    lo_w, hi_w = l1_transition_interval(s_line, n)
    ax_m50.fill_between(s_line, np.clip(lo_w, 0, n), np.clip(hi_w, 0, n), color="#999999",
                        alpha=0.2, linewidth=0, label=r"ALMT window ($\eta = 0.05$)")  # fmt: skip
    ax_m50.plot(s_line, l1_transition_m(s_line, n), color="#E69F00", linestyle="--",
                marker="none", path_effects=OUTLINE,
                label=r"$\ell_1$ curve (ALMT), $n\,\psi(s/n)$")  # fmt: skip
    for j, solver in enumerate(solvers):
        s_fit, x50, lo, hi = transitions(summary, solver)
        ok = np.isfinite(x50)
        ax_m50.errorbar(
            s_fit[ok] + (j - (ns - 1) / 2) * 0.15 * np.min(np.diff(s_all), initial=1.0),
            x50[ok],
            # Intervals cut at the axis (a fit from a few trials can reach below 0 or past n).
            yerr=[
                np.maximum(x50[ok] - np.clip(lo[ok], 0, n), 0),
                np.maximum(np.clip(hi[ok], 0, n) - x50[ok], 0),
            ],
            color=f"C{[0, 2, 3, 4][j % 4]}",
            marker="os^D"[j % 4],
            linestyle="none",
            label=f"{LABELS.get(solver, solver)} $m_{{50}}$",
        )
    ax_m50.set_xlabel("sparsity $s$")
    ax_m50.set_ylabel(r"50% point $m_{50}$")
    ax_m50.set_ylim(0, n)
