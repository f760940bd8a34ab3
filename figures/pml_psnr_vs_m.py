"""Learned priors (SDLSS, DCS, each with a learned A) against PCA: test PSNR vs m, paired.

(a) Mean test PSNR of each prior's strongest reconstruction against m (one dot per draw of
A, the mean over draws and its 95% t-interval); (b) the same for the T-step reconstruction
the learned priors were trained for; (c) paired differences over draws (same A, same test
images) with 95% t-intervals: the best learned prior at each m minus PCA, and SDLSS (its
best s) minus DCS, each with a fixed A. Bottom: test images and the strongest
reconstructions at the smallest m (draw 0).
"""

from __future__ import annotations

import numpy as np

from figures._pml import COLORS, label, per_draw, plot_series, style
from sdlss_theory.plotting import OKABE_ITO, current_width, panel_figure, panel_legend
from sdlss_theory.sweep.paired import paired
from simulations.pml_psnr_vs_m import get_image


def best_at(data: dict, m: int, methods: tuple[str, ...]) -> tuple | None:
    """The series among `methods` with the largest mean at m."""
    keys = [k for k in data if k[0] in methods and m in data[k]]
    if not keys:
        return None
    return max(keys, key=lambda k: np.mean(list(data[k][m].values())))


def paired_rows(trials: list[dict]) -> list[dict]:
    """The paired comparisons of panel (c), one row per m (also used by the docs)."""
    data = per_draw(trials, "psnr", "m")
    rows = []
    for m in sorted({int(r["m"]) for r in trials}):
        row = {"m": m}
        learned = best_at(data, m, ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A"))
        if learned is not None and ("pca", None) in data and m in data[("pca", None)]:
            row["best"] = label(learned)
            row["best_minus_pca"] = paired(data[learned][m], data[("pca", None)][m])
        sdlss = best_at(data, m, ("sdlss",))
        if sdlss is not None and ("dcs", None) in data and m in data[("dcs", None)]:
            row["sdlss"] = label(sdlss)
            row["sdlss_minus_dcs"] = paired(data[sdlss][m], data[("dcs", None)][m])
        rows.append(row)
    return rows


PANELS = ("strongest", "steps", "paired", "images")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    keys, shown, m_min = _shown(trials)
    n_show = int(config.get("n_show", 0)) if keys else 0
    names = [*PANELS[:3], *(["images"] if n_show else [])]
    width = current_width()
    # The image mosaic: one row per prior (and the truth), n_show images across.
    image_height = (len(keys) + 1) / max(n_show, 1) * (width - 1.0) + 0.4
    fig, axes = panel_figure(names, aspect=0.85, max_columns=3, wide=("images",),
                             heights={"images": image_height})  # fmt: skip
    T = config.get("T", "T")
    order = sorted(per_draw(trials, "psnr", "m"), key=lambda k: (k[0], k[1] or 0))
    for name, metric, title in (("strongest", "psnr", "(a) strongest reconstruction"),
                                ("steps", "psnr_T", f"(b) {T} steps (as trained)")):  # fmt: skip
        if name not in axes:
            continue
        ax = axes[name]
        data = per_draw(trials, metric, "m")
        for i, key in enumerate(order):
            if key in data:  # the same style for a prior in both panels
                plot_series(ax, data[key], **style(key, i))
        ax.set_xscale("log", base=2)
        ax.set_xlabel("measurements $m$")
        ax.set_ylabel("test PSNR (dB)")
        ax.set_title(title)
    if "strongest" in axes:
        panel_legend(axes["strongest"], "upper left")
    if "paired" in axes:
        _paired(axes["paired"], trials)
    if "images" in axes:
        _images(axes["images"], keys, shown, n_show, m_min)
    return fig


def _paired(ax_d, trials):
    rows = paired_rows(trials)
    for name, color, marker in (("best_minus_pca", OKABE_ITO[0], "o"),
                                ("sdlss_minus_dcs", COLORS["sdlss"], "s")):  # fmt: skip
        pts = [(r["m"], *r[name][:3]) for r in rows if name in r]
        if not pts:
            continue
        pts = np.array(pts, dtype=float)
        text = "best learned $-$ PCA" if name == "best_minus_pca" else "SDLSS $-$ DCS"
        ax_d.plot(pts[:, 0], pts[:, 1], marker=marker, color=color, label=text)
        if np.all(np.isfinite(pts[:, 2])):
            ax_d.fill_between(pts[:, 0], pts[:, 2], pts[:, 3], color=color, alpha=0.15,
                              linewidth=0)  # fmt: skip
    ax_d.axhline(0.0, color="0.5", linewidth=0.8)
    ax_d.set_xscale("log", base=2)
    ax_d.set_xlabel("measurements $m$")
    ax_d.set_ylabel("paired difference (dB)")
    ax_d.set_title("(c) paired, 95% CI")
    if ax_d.lines:
        panel_legend(ax_d, "best")


def _shown(trials):
    """The priors whose reconstructions the mosaic shows (at the smallest m, draw 0)."""
    m_min = min(int(r["m"]) for r in trials)
    shown = {}
    for row in trials:
        if int(row["m"]) == m_min and int(row["draw"]) == 0 and ("rec0_0" in row or "rec0" in row):
            shown.setdefault((row["method"], int(row["s"])), row)
    sdlss_s = sorted(s for meth, s in shown if meth == "sdlss")
    prefer = [("pca", None), ("dcs", None), ("sdlss", sdlss_s[len(sdlss_s) // 2] if sdlss_s
              else None), ("dcs_learned_A", None), ("sdlss_learned_A", None)]  # fmt: skip
    keys = [k for pk in prefer for k in sorted(shown) if k[0] == pk[0] and pk[1] in (None, k[1])]
    return list(dict.fromkeys(keys))[:5], shown, m_min


def _images(ax, keys, shown, n_show, m_min):
    """Test images (top row) and each prior's strongest reconstructions, as one mosaic."""
    side = int(round(np.sqrt(get_image(shown[keys[0]], "true0").size)))
    gap = 1
    rows = [None, *keys]
    mosaic = np.ones((len(rows) * (side + gap) - gap, n_show * (side + gap) - gap))
    for i, key in enumerate(rows):
        row = shown[keys[0]] if key is None else shown[key]
        for j in range(n_show):
            image = get_image(row, f"true{j}" if key is None else f"rec{j}")
            top, left = i * (side + gap), j * (side + gap)
            mosaic[top:top + side, left:left + side] = image.reshape(side, side)
    ax.imshow(mosaic, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    names = ["truth"] + [label((k[0], k[1] if k[0].startswith("sdlss") else None))
                         for k in keys]  # fmt: skip
    ax.set_yticks([i * (side + gap) + (side - 1) / 2 for i in range(len(rows))], names)
    ax.set_xticks([])
    ax.tick_params(length=0)
    ax.grid(False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(f"test images and strongest reconstructions at $m = {m_min}$ (draw 0)")
