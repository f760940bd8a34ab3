"""SDLSS (PML) vs DCS on the 8x8 digits: test PSNR vs m, and reconstructions at the smallest m.

Top row: (a) mean test PSNR of the protocol the networks were trained for (T latent steps at
the learned step), one dot per training seed, the mean over seeds and its 95% t-interval;
(b) the same for the long CSGM-style reconstruction (many steps, automatic step, restarts);
(c) the difference SDLSS - DCS of the mean PSNR with a 95% Welch interval (above 0: SDLSS
ahead). Bottom: the first test images (top line), DCS's and SDLSS's T-step reconstructions
at the smallest m from the first seed, each with its PSNR.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from figures._common import per_seed_values_by, plot_seed_means
from sdlss_theory.plotting import OKABE_ITO, figure_size

STYLE = {
    "sdlss": dict(color=OKABE_ITO[2], linestyle="-", marker="o", label="SDLSS (PML)"),
    "dcs": dict(color=OKABE_ITO[1], linestyle="--", marker="s", label="DCS"),
}


def _from_hex(text: str) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(float) / 255.0


def _welch(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    diff = float(np.mean(a) - np.mean(b))
    if a.size < 2 or b.size < 2:
        return diff, np.nan, np.nan
    va, vb = np.var(a, ddof=1) / a.size, np.var(b, ddof=1) / b.size
    se = np.sqrt(va + vb)
    if se == 0:
        return diff, diff, diff
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = stats.t.ppf(0.975, df) * se
    return diff, diff - half, diff + half


def _by_method(trials: list[dict], metric: str) -> dict[str, dict[int, np.ndarray]]:
    return per_seed_values_by(trials, metric, "m", by="method")


def _panel(ax, trials, metric, title):
    for method, per_m in _by_method(trials, metric).items():
        plot_seed_means(ax, per_m, **STYLE.get(method, {"label": method}))
    ax.set_xlabel("measurements $m$")
    ax.set_ylabel("test PSNR (dB)")
    ax.set_title(title)
    ax.legend(loc="lower right")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    fig = plt.figure(figsize=figure_size("text", aspect=0.78), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.0, 0.9])
    ax_t, ax_l, ax_d = top.subplots(1, 3)
    T = config.get("T", "T")
    _panel(ax_t, trials, "psnr", f"(a) {T} latent steps (as trained)")
    steps, restarts = config.get("long_steps", "?"), config.get("restarts", "?")
    _panel(ax_l, trials, "psnr_long", f"(b) {steps} steps, {restarts} restarts")

    data = _by_method(trials, "psnr")
    if {"sdlss", "dcs"} <= set(data):
        ms = np.array(sorted(set(data["sdlss"]) & set(data["dcs"])))
        for metric, style in (("psnr", dict(marker="o", linestyle="-", color=OKABE_ITO[0],
                                            label=f"{T} steps")),
                              ("psnr_long", dict(marker="^", linestyle=":", color=OKABE_ITO[4],
                                                 label="long"))):  # fmt: skip
            d = _by_method(trials, metric)
            diffs = np.array([_welch(d["sdlss"][m], d["dcs"][m]) for m in ms])
            (line,) = ax_d.plot(ms, diffs[:, 0], **style)
            if np.all(np.isfinite(diffs[:, 1])):
                ax_d.fill_between(ms, diffs[:, 1], diffs[:, 2], color=line.get_color(),
                                  alpha=0.15, linewidth=0)  # fmt: skip
        ax_d.axhline(0.0, color="0.5", linewidth=0.8)
        ax_d.legend(loc="best")
    ax_d.set_xlabel("measurements $m$")
    ax_d.set_ylabel("PSNR difference (dB)")
    ax_d.set_title("(c) SDLSS $-$ DCS, 95% Welch CI")

    # Reconstructions at the smallest m, first seed.
    m_min = min(int(r["m"]) for r in trials)
    first = {}
    for row in sorted(trials, key=lambda r: r["trial"]):
        if int(row["m"]) == m_min and row["method"] not in first:
            first[row["method"]] = row
    n_show = int(config.get("n_show", 0))
    rows = [("truth", None)] + [(meth, first[meth]) for meth in ("dcs", "sdlss") if meth in first]
    if n_show and len(rows) > 1:
        axes = bottom.subplots(len(rows), n_show, squeeze=False)
        ref = next(r for _, r in rows if r is not None)
        for i, (name, row) in enumerate(rows):
            for j in range(n_show):
                ax = axes[i, j]
                text = ref[f"true{j}"] if row is None else row[f"rec{j}"]
                ax.imshow(_from_hex(text).reshape(8, 8), cmap="gray", vmin=0, vmax=1,
                          interpolation="nearest")  # fmt: skip
                ax.set_xticks([])
                ax.set_yticks([])
                if row is not None:
                    ax.set_title(f"{row[f'psnr{j}']:.1f} dB", fontsize=7, pad=2)
                if j == 0:
                    label = {"truth": "ground truth", "dcs": "DCS", "sdlss": "SDLSS"}[name]
                    ax.set_ylabel(label, fontsize=8)
        bottom.suptitle(f"test images and {T}-step reconstructions at $m = {m_min}$ (seed 0)",
                        fontsize=9)  # fmt: skip
    return fig
