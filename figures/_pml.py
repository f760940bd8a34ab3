"""Helpers of the PML figures: per-draw means, paired differences, labels and styles."""

from __future__ import annotations

import numpy as np

from sdlss_theory.plotting import OKABE_ITO
from sdlss_theory.sweep.paired import mean_ci

LABELS = {
    "sdlss": "SDLSS",
    "dcs": "DCS",
    "sdlss_learned_A": "SDLSS, learned A",
    "dcs_learned_A": "DCS, learned A",
    "pca": "PCA",
    "pca_top": "PCA, top-$m$ A",
    "teacher": "teacher",
}
COLORS = {
    "sdlss": OKABE_ITO[2],
    "dcs": OKABE_ITO[1],
    "sdlss_learned_A": OKABE_ITO[5],
    "dcs_learned_A": OKABE_ITO[6],
    "pca": "0.35",
    "pca_top": "0.6",
    "teacher": OKABE_ITO[0],
}
LINESTYLES = ["-", "--", ":", "-."]
MARKERS = ["o", "s", "^", "D", "v", "P"]


def series_key(row: dict) -> tuple[str, int | None]:
    """(method, s) for SDLSS rows, (method, None) otherwise."""
    method = row["method"]
    return (method, int(row["s"])) if method.startswith("sdlss") else (method, None)


def label(key: tuple[str, int | None]) -> str:
    method, s = key
    return LABELS.get(method, method) + ("" if s is None else f" $s={s}$")


def style(key: tuple[str, int | None], index: int) -> dict:
    """Colour by method, line style and marker by position (greyscale-safe)."""
    return dict(color=COLORS.get(key[0], "k"), linestyle=LINESTYLES[index % 4],
                marker=MARKERS[index % 6], label=label(key))  # fmt: skip


def per_draw(
    trials: list[dict], metric: str, x: str, key=series_key
) -> dict[tuple, dict[int, dict[int, float]]]:
    """series (``key(row)``) -> x -> draw -> mean of `metric` over the trials of that draw."""
    acc: dict = {}
    for row in trials:
        value = row.get(metric)
        if value is None or (isinstance(value, float) and not np.isfinite(value)):
            continue
        cell = acc.setdefault(key(row), {}).setdefault(int(row[x]), {})
        cell.setdefault(int(row["draw"]), []).append(float(value))
    return {
        key: {xv: {d: float(np.mean(v)) for d, v in draws.items()} for xv, draws in per_x.items()}
        for key, per_x in acc.items()
    }


def plot_series(ax, per_x: dict[int, dict[int, float]], *, band: bool = True, **style_) -> None:
    """Mean over draws with its 95% t-interval as a band (unless not `band`), one dot per draw."""
    xs = np.array(sorted(per_x))
    summary = np.array([mean_ci(per_x[v].values()) for v in xs])
    (line,) = ax.plot(xs, summary[:, 0], **style_)
    if band and len(xs) and np.all(np.isfinite(summary[:, 1])):
        ax.fill_between(xs, summary[:, 1], summary[:, 2], color=line.get_color(), alpha=0.15,
                        linewidth=0)  # fmt: skip
    for v in xs:
        vals = list(per_x[v].values())
        ax.plot(np.full(len(vals), v), vals, linestyle="none", marker=".", markersize=3,
                color=line.get_color(), alpha=0.5)  # fmt: skip
