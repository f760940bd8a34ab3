"""Sample complexity: the 50% transition m* of latent recovery against s, d, log(kh/s), predictors.

For every configuration (s, d, k, h) of ``simulations/sample_complexity.py`` the figure fits
the 50% point m* of the success rate along m (`sdlss_theory.sweep.fit_transition`: logistic
maximum likelihood, Wald 95% interval), then draws

(a) m* against s at the base d, k, h;  (b) m* against d at the base s, k, h;
(c) m* against log(k h / s) for the k and h sweeps (and the base);
(d)-(f) the collapse plots (configurations whose m* is outside their m axis are listed, not
drawn or fitted): m* against s d log(k h / s) (`sdlss_measurements`), against Bora et al.'s
k d log n
(`bora_measurements`) and against the union-bound worst-case m of
`srec_guarantee_measurements` (gamma = guarantee_gamma, prob = guarantee_prob), each with
the ordinary least-squares line m* = a + b P and its R^2 over the configurations with an
in-range m*.

Fits only; no simulation.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np

from sdlss_theory.plotting import figure_size
from sdlss_theory.sweep import fit_transition
from sdlss_theory.theory import (
    bora_measurements,
    sdlss_measurements,
    srec_guarantee_measurements,
)

KEYS = ("s", "depth", "k", "h")


def transitions(summary: dict[str, np.ndarray]) -> list[dict]:
    """One dict per configuration (s, depth, k, h, n): m50, m50_lo, m50_hi, method, in_range.

    ``in_range`` is False when the fitted 50% point lies outside the configuration's m axis
    (an extrapolation, or no transition at all): such points are not drawn, are listed in the
    panel with ``top_rate`` (the success rate at the largest m), and are left out of the fits.
    """
    columns = [*KEYS, "n"]
    configs = []
    for i in range(len(summary["m"])):
        key = tuple(int(summary[c][i]) for c in columns)
        if key not in configs:
            configs.append(key)
    out = []
    for key in configs:
        sel = np.all([summary[c] == v for c, v in zip(columns, key, strict=True)], axis=0)
        fit = fit_transition(
            summary["m"][sel], summary["success_count"][sel], summary["n_ok"][sel]
        )
        entry = dict(zip(columns, key, strict=True))
        m_sel = summary["m"][sel]
        inside = bool(np.isfinite(fit.x50) and m_sel.min() <= fit.x50 <= m_sel.max())
        top_rate = float(summary["success_rate"][sel][np.argmax(m_sel)])
        entry.update(m50=fit.x50, m50_lo=fit.lo, m50_hi=fit.hi, method=fit.method, in_range=inside)
        entry["top_rate"] = top_rate
        out.append(entry)
    return out


def line_fit(x, y) -> dict:
    """Ordinary least squares y = a + b x and R^2 = 1 - SS_res / SS_tot (finite pairs only)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if x.size < 3 or np.ptp(x) == 0:
        return {"a": math.nan, "b": math.nan, "r2": math.nan, "n": int(x.size)}
    b, a = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - a - b * x) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
    return {"a": float(a), "b": float(b), "r2": r2, "n": int(x.size)}


def predictors(fits: list[dict], config: dict) -> dict[str, np.ndarray]:
    """The three predictors for every configuration."""
    gamma = float(config.get("guarantee_gamma", 0.5))
    prob = float(config.get("guarantee_prob", 0.9))
    bias = bool(config.get("bias", False))
    s = np.array([f["s"] for f in fits])
    d = np.array([f["depth"] for f in fits])
    k = np.array([f["k"] for f in fits])
    h = np.array([f["h"] for f in fits])
    n = np.array([f["n"] for f in fits])
    return {
        "sdlss": np.asarray(sdlss_measurements(s, d, k, h), dtype=float),
        "bora": np.asarray(bora_measurements(k, d, n), dtype=float),
        "guarantee": np.array(
            [
                srec_guarantee_measurements(
                    int(f["k"]),
                    int(f["s"]),
                    [int(f["h"])] * int(f["depth"]),
                    gamma,
                    prob,
                    bias=bias,
                )
                for f in fits
            ],
            dtype=float,
        ),
    }


def _errorbar(ax, x, fits, **kwargs) -> None:
    """Draw the in-range m* with their intervals; list the others in the panel's corner."""
    y = np.array([f["m50"] for f in fits])
    lo = np.array([f["m50_lo"] for f in fits])
    hi = np.array([f["m50_hi"] for f in fits])
    inside = np.array([f["in_range"] for f in fits], dtype=bool)
    x = np.asarray(x, dtype=np.float64)
    if inside.any():
        ax.errorbar(
            x[inside],
            y[inside],
            yerr=[y[inside] - lo[inside], hi[inside] - y[inside]],
            fmt="o",
            markersize=3,
            capsize=2,
            **kwargs,
        )
    missing = [
        f"({f['s']},{f['depth']},{f['k']},{f['h']}): {f['top_rate']:.2f}"
        for f in fits
        if not f["in_range"]
    ]
    if missing:
        ax.text(
            0.98,
            0.02,
            "no 50% point in range (s,d,k,h): success at largest m\n" + "\n".join(missing),
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize="xx-small",
        )


def plot(summary: dict[str, np.ndarray], config: dict):
    fig, axes = plt.subplots(2, 3, figsize=figure_size("text", aspect=0.62))
    fits = transitions(summary)
    base = {
        "s": int(config.get("base_s", fits[0]["s"])),
        "depth": int(config.get("base_depth", fits[0]["depth"])),
        "k": int(config.get("base_k", fits[0]["k"])),
        "h": int(config.get("base_h", fits[0]["h"])),
    }

    def at_base(*free):
        return [f for f in fits if all(f[c] == base[c] for c in KEYS if c not in free)]

    ax = axes[0, 0]
    sel = sorted(at_base("s"), key=lambda f: f["s"])
    _errorbar(ax, [f["s"] for f in sel], sel, color="C0")
    ax.set_xlabel("sparsity $s$")
    ax.set_ylabel("$m^*$ (50% success)")
    ax.set_title(f"(a) $d$ = {base['depth']}, $k$ = {base['k']}, $h$ = {base['h']}")

    ax = axes[0, 1]
    sel = sorted(at_base("depth"), key=lambda f: f["depth"])
    _errorbar(ax, [f["depth"] for f in sel], sel, color="C1")
    ax.set_xlabel("hidden ReLU layers $d$")
    ax.set_ylabel("$m^*$")
    ax.set_xticks([f["depth"] for f in sel])
    ax.set_title(f"(b) $s$ = {base['s']}, $k$ = {base['k']}, $h$ = {base['h']}")

    ax = axes[0, 2]
    for free, color, label in (("k", "C2", "vary $k$"), ("h", "C3", "vary $h$")):
        sel = at_base(free)
        x = [math.log(f["k"] * f["h"] / f["s"]) for f in sel]
        _errorbar(ax, x, sel, color=color, label=label)
    ax.set_xlabel(r"$\log(k h / s)$")
    ax.set_ylabel("$m^*$")
    ax.set_title(f"(c) $s$ = {base['s']}, $d$ = {base['depth']}")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left")

    preds = predictors(fits, config)
    m50 = np.array([f["m50"] if f["in_range"] else np.nan for f in fits])
    panels = (
        ("sdlss", r"$s\, d \log(k h / s)$", "(d) SDLSS"),
        ("bora", r"$k\, d \log n$", "(e) Bora et al."),
        ("guarantee", "worst-case $m$ (union bound)", "(f) S-REC guarantee"),
    )
    for ax, (name, xlabel, title) in zip(axes[1], panels, strict=True):
        x = preds[name]
        _errorbar(ax, x, fits, color="C0")
        fit = line_fit(x, m50)
        if np.isfinite(fit["b"]):
            grid = np.linspace(np.min(x), np.max(x), 50)
            ax.plot(
                grid,
                fit["a"] + fit["b"] * grid,
                "--",
                color="C4",
                label=f"{fit['a']:.2g} + {fit['b']:.2g} x",
            )
            ax.legend(loc="upper left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("$m^*$")
        ax.set_title(f"{title}: $R^2$ = {fit['r2']:.2f} ({fit['n']} configs)")
    solver = config.get("solver", "iht")
    restarts = config.get("restarts", "")
    fig.suptitle(
        f"latent {solver.upper()} with {restarts} restarts; $m^*$ with logistic 95% intervals; "
        f"guarantee at $\\gamma$ = {config.get('guarantee_gamma', 0.5)}, "
        f"prob = {config.get('guarantee_prob', 0.9)}",
        fontsize="small",
    )
    return fig
