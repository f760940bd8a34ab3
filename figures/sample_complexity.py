"""Sample complexity: m*(gamma0) bracketed by certified S-REC bounds, fits against predictors.

From the stored trials of ``simulations/sample_complexity.py`` (no simulation):

* per configuration, logistic maximum-likelihood fits along m of the events "certified lower
  >= gamma0" (its 50% point m_L >= m*) and "upper >= gamma0" (m_U <= m*), at levels 0.5 and
  0.9, with delta-method 95% intervals (`transition`);
* fits of m* against the three predictors, s d ln(kh/s) (SDLSS), k d ln n (Bora et al.) and the
  union-bound m from the exact piece count (`union_bound_measurements`), by ordinary least
  squares with t intervals for slope and intercept and R^2 (`line_fit`), over all
  configurations and within each block, and free exponents
  ln m* = c + a_s ln s + a_d ln d + a_k ln k + a_h ln h (`exponent_fit`);
* the non-uniform contrast: success of `latent_recover` against m, with the failures split into
  identifiability and optimisation.

Panels: (a)-(c) m* against k, h and d (one factor varied, s = 1, with and without biases);
(d) m* against s on the small full grid; (e) R^2 of the three predictors; (f) the recovery
contrast.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.ticker as mticker
import numpy as np
from scipy import special, stats

from sdlss_theory.plotting import OKABE_ITO, panel_figure, panel_legend, panel_width
from sdlss_theory.theory import (
    bora_measurements,
    sdlss_measurements,
    union_bound_measurements,
)

KEYS = ("block", "s", "bias", "k", "h", "depth", "n")
LEVELS = (0.5, 0.9)
PREDICTORS = ("sdlss", "bora", "union")
PREDICTOR_LABELS = {
    "sdlss": r"$s\,d\ln(kh/s)$",
    "bora": r"$k\,d\ln n$",
    "union": r"union bound, exact $N$",
}


# ----------------------------------------------------------------------------- transitions
def transition(m, successes, trials, level: float = 0.5, confidence: float = 0.95) -> dict:
    r"""Logistic MLE of P(event) = sigma(a + b m) and the point m_q where it equals `level`.

    Newton's method on the binomial log-likelihood; m_q = (logit(q) - a) / b with a delta-method
    interval from the inverse Fisher information. With complete separation (all failures,
    then all successes) the point is the midpoint of the gap and the interval the gap itself.
    Returns a dict ``x``, ``lo``, ``hi``, ``method`` ("logistic", "separated", or "none" when the
    event never or always happens, or the point lies outside the m axis).
    """
    m = np.asarray(m, dtype=float)
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    keep = n > 0
    m, k, n = m[keep], k[keep], n[keep]
    order = np.argsort(m)
    m, k, n = m[order], k[order], n[order]
    none = {"x": math.nan, "lo": math.nan, "hi": math.nan, "method": "none"}
    if m.size < 2 or k.sum() == 0 or k.sum() == n.sum():
        return none
    full, empty = k == n, k == 0
    if np.all(full | empty):
        for i in range(m.size - 1):
            if np.all(empty[: i + 1]) and np.all(full[i + 1 :]):
                return {"x": 0.5 * (m[i] + m[i + 1]), "lo": float(m[i]), "hi": float(m[i + 1]),
                        "method": "separated"}  # fmt: skip
        return none
    X = np.column_stack([np.ones_like(m), m])
    beta = np.linalg.lstsq(X, np.log((k + 0.5) / (n - k + 0.5)), rcond=None)[0]
    try:
        for _ in range(100):
            p = special.expit(X @ beta)
            info = X.T @ ((n * p * (1 - p))[:, None] * X)
            step = np.linalg.solve(info, X.T @ (k - n * p))
            beta = beta + step
            if np.max(np.abs(step)) <= 1e-10 * (1 + np.max(np.abs(beta))):
                break
        a, b = beta
        p = special.expit(X @ beta)
        cov = np.linalg.inv(X.T @ ((n * p * (1 - p))[:, None] * X))
    except np.linalg.LinAlgError:
        return none
    if not np.isfinite(b) or b <= 0:
        return none
    x = (special.logit(level) - a) / b
    g = np.array([-1.0 / b, -(special.logit(level) - a) / b**2])
    se = math.sqrt(max(float(g @ cov @ g), 0.0))
    z = stats.norm.ppf(0.5 + confidence / 2)
    if not m.min() <= x <= m.max():
        return {**none, "x": float(x)}
    return {"x": float(x), "lo": float(x - z * se), "hi": float(x + z * se), "method": "logistic"}


def configurations(trials: Sequence[dict]) -> list[dict]:
    """Per configuration: counts per m of both events, piece counts, and the fitted points."""
    groups: dict[tuple, list[dict]] = {}
    for t in trials:
        groups.setdefault(tuple(t[c] for c in KEYS), []).append(t)
    out = []
    for key, rows in groups.items():
        entry = dict(zip(KEYS, key, strict=True))
        ms = np.array(sorted({r["m"] for r in rows}))
        entry["m"] = ms
        if entry["block"] == "recovery":
            for name in ("success", "identifiability_failure", "optimisation_failure"):
                entry[name] = np.array([sum(int(r[name]) for r in rows if r["m"] == v)
                                        for v in ms])  # fmt: skip
            entry["trials"] = np.array([sum(1 for r in rows if r["m"] == v) for v in ms])
            out.append(entry)
            continue
        total = np.array([sum(1 for r in rows if r["m"] == v) for v in ms])
        lower = np.array([sum(int(r["success"]) for r in rows if r["m"] == v) for v in ms])
        upper = np.array([sum(int(r["upper_ge"]) for r in rows if r["m"] == v) for v in ms])
        entry.update(trials=total, lower_count=lower, upper_count=upper)
        entry["certified"] = bool(all(r["certified"] for r in rows))
        entry["exact_rate"] = float(np.mean([r["exact"] for r in rows]))
        logs = [r["log_pieces"] for r in rows if r.get("log_pieces") is not None]
        entry["log_pieces"] = float(np.mean(logs)) if logs else math.nan
        for q in LEVELS:
            tag = f"{round(100 * q)}"
            entry[f"L{tag}"] = (transition(ms, lower, total, q) if entry["certified"]
                                else {"x": math.nan, "lo": math.nan, "hi": math.nan,
                                      "method": "not certified"})  # fmt: skip
            entry[f"U{tag}"] = transition(ms, upper, total, q)
        out.append(entry)
    return out


def predictor_values(entry: dict, gamma0: float) -> dict[str, float]:
    """The three predictors for one configuration (d = ReLU layers, h = their width)."""
    s, d, k, h, n = (int(entry[c]) for c in ("s", "depth", "k", "h", "n"))
    rank = 2 * s + (1 if entry["bias"] else 0)
    union = (union_bound_measurements(entry["log_pieces"], rank, gamma0, 0.5)
             if np.isfinite(entry["log_pieces"]) else math.nan)  # fmt: skip
    return {
        "sdlss": float(sdlss_measurements(s, d, k, h)),
        "bora": float(bora_measurements(k, d, n)),
        "union": float(union),
    }


# ----------------------------------------------------------------------------- fits
def line_fit(x, y, confidence: float = 0.95) -> dict:
    """OLS y = a + b x with t intervals for a and b, and R^2 (finite pairs only)."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    nan = {k: math.nan for k in ("a", "a_lo", "a_hi", "b", "b_lo", "b_hi", "r2")}
    if x.size < 3 or np.ptp(x) == 0:
        return {**nan, "n": int(x.size)}
    X = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    dof = x.size - 2
    s2 = float(res @ res) / dof
    se = np.sqrt(np.diag(s2 * np.linalg.inv(X.T @ X)))
    t = stats.t.ppf(0.5 + confidence / 2, dof)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(res @ res) / ss_tot if ss_tot > 0 else math.nan
    a, b = float(coef[0]), float(coef[1])
    return {
        "a": a, "a_lo": a - t * se[0], "a_hi": a + t * se[0],
        "b": b, "b_lo": b - t * se[1], "b_hi": b + t * se[1],
        "r2": r2, "n": int(x.size),
    }  # fmt: skip


def exponent_fit(entries: Sequence[dict], side: str, confidence: float = 0.95) -> dict:
    """Free exponents: OLS of ln m* on ln s, ln d, ln k, ln h (the factors that vary).

    Returns, for each varying factor, the exponent and its t interval, and the number of
    configurations used.
    """
    rows = [e for e in entries if np.isfinite(e.get(side, {}).get("x", math.nan))]
    factors = [f for f in ("s", "depth", "k", "h") if len({e[f] for e in rows}) > 1]
    out: dict = {"n": len(rows), "factors": factors}
    if len(rows) < len(factors) + 2 or not factors:
        return out
    X = np.column_stack([np.ones(len(rows))] + [np.log([e[f] for e in rows]) for f in factors])
    y = np.log([e[side]["x"] for e in rows])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    dof = len(rows) - X.shape[1]
    s2 = float(res @ res) / dof
    cov = s2 * np.linalg.pinv(X.T @ X)
    t = stats.t.ppf(0.5 + confidence / 2, dof)
    for i, f in enumerate(factors, start=1):
        se = math.sqrt(max(cov[i, i], 0.0))
        out[f] = (float(coef[i]), float(coef[i] - t * se), float(coef[i] + t * se))
    return out


def analyse(trials: Sequence[dict], config: dict) -> dict:
    """Every number the figure and the docs report, from the stored trials."""
    gamma0 = float(config.get("gamma0", trials[0]["gamma0"] if trials else 0.5))
    entries = configurations(trials)
    srec = [e for e in entries if e["block"] != "recovery"]
    for e in srec:
        e["predictors"] = predictor_values(e, gamma0)
    fits = {}
    for scope in ("all", "sweep", "biased", "grid"):
        chosen = srec if scope == "all" else [e for e in srec if e["block"] == scope]
        for side in ("L50", "U50"):
            y = [e[side]["x"] for e in chosen]
            fits[(scope, side)] = {
                p: line_fit([e["predictors"][p] for e in chosen], y) for p in PREDICTORS
            }
    exponents = {
        f"{block}_{side}": exponent_fit([e for e in srec if e["block"] == block], side)
        for block in ("sweep", "biased", "grid")
        for side in ("L50", "U50")
    }
    return {"gamma0": gamma0, "entries": entries, "fits": fits, "exponents": exponents}


# ----------------------------------------------------------------------------- figure
def _bracket(ax, x, entries, colour, label, offset=0.0):
    """Draw m_U (open) and m_L (filled) 50% points with intervals; 90% points as crosses."""
    for side, marker, fill in (("U50", "v", "none"), ("L50", "^", colour)):
        xs, ys, lo, hi = [], [], [], []
        for xv, e in zip(x, entries, strict=True):
            f = e[side]
            if np.isfinite(f["lo"]):
                xs.append(xv * (1 + offset))
                ys.append(f["x"])
                lo.append(f["x"] - f["lo"])
                hi.append(f["hi"] - f["x"])
        if xs:
            ax.errorbar(xs, ys, yerr=[lo, hi], fmt=marker, color=colour, mfc=fill, ms=3.5,
                        capsize=1.5, lw=0.8, label=label if side == "L50" else None)  # fmt: skip
    xs = [
        xv * (1 + offset) for xv, e in zip(x, entries, strict=True) if np.isfinite(e["L90"]["lo"])
    ]
    ys = [e["L90"]["x"] for e in entries if np.isfinite(e["L90"]["lo"])]
    if xs:
        ax.plot(xs, ys, "x", color=colour, ms=3.5, lw=0.8)


def _one_factor(ax, srec, factor, base_of_block, xlabel, log_x):
    for block, colour, label in (("sweep", OKABE_ITO[1], "no bias"),
                                 ("biased", OKABE_ITO[2], "biases")):  # fmt: skip
        base = base_of_block.get(block)
        if base is None:
            continue
        sel = [e for e in srec if e["block"] == block
               and all(e[f] == base[f] for f in ("k", "h", "depth") if f != factor)]  # fmt: skip
        sel.sort(key=lambda e: e[factor])
        _bracket(
            ax, [e[factor] for e in sel], sel, colour, label, 0.02 if block == "biased" else 0
        )
    values = sorted({e[factor] for e in srec if e["block"] in base_of_block})
    if log_x:
        ax.set_xscale("log", base=2)
    if values:
        ax.xaxis.set_major_locator(mticker.FixedLocator(values))
        ax.xaxis.set_major_formatter(mticker.FixedFormatter([str(v) for v in values]))
        ax.xaxis.set_minor_locator(mticker.NullLocator())
        lo, hi = min(values), max(values)
        pad = 0.25 if not log_x else 0.0
        ax.set_xlim(lo / 1.3 - pad if log_x else lo - 0.5, hi * 1.3 if log_x else hi + 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$m^\star(\gamma_0)$")


PANELS = ("k", "h", "depth", "s", "predictors", "recovery")


def plot(summary: dict[str, np.ndarray], config: dict, trials: list[dict]):
    result = analyse(trials, config)
    entries, gamma0 = result["entries"], result["gamma0"]
    srec = [e for e in entries if e["block"] != "recovery"]
    fig, axes = panel_figure(PANELS, aspect=0.85, max_columns=3, extra_height=0.45)
    _draw(axes, result, config, srec, entries)
    fig.suptitle(
        rf"$m^\star(\gamma_0)$: smallest $m$ with $P(\gamma^\star \geq {gamma0:g}) \geq 1/2$,"
        "\n" + r"bracketed $m_U \leq m^\star \leq m_L$"
        + ("\n(f): recovery rate (o), identifiability failures (x),\ndashed: $m = s + 1$"
           if "recovery" in axes else "")
    )  # fmt: skip
    return fig


def _draw(axes, result, config, srec, entries):
    """Draw the panels in `axes` (a missing one, not asked for by ``--panel``, is skipped)."""
    _factors(axes, config, srec)
    if "s" in axes:
        _grid(axes["s"], srec)
    if "predictors" in axes:
        _predictors(axes["predictors"], result)
    if "recovery" in axes:
        _recovery(axes["recovery"], entries)


def _factors(axes, config, srec):
    base = {}
    for block, prefix in (("sweep", "base"), ("biased", "biased")):
        if any(e["block"] == block for e in srec):
            base[block] = {
                "k": int(config.get(f"{prefix}_k", 0)),
                "h": int(config.get(f"{prefix}_h", 0)),
                "depth": int(config.get(f"{prefix}_depth", 0)),
            }
    for name, xlabel, log_x, title in (
        ("k", "latent size $k$", True, "(a) $s = 1$, vary $k$"),
        ("h", "ReLU width $h$", True, "(b) $s = 1$, vary $h$"),
        ("depth", "ReLU layers $d$", False, "(c) $s = 1$, vary $d$"),
    ):
        if name in axes:
            _one_factor(axes[name], srec, name, base, xlabel, log_x)
            axes[name].set_title(title)
    if "k" not in axes:
        return
    ax_k = axes["k"]
    ax_k.plot([], [], "^", color="0.3", ms=3.5, label=r"$m_L$ (cert. lower)")
    ax_k.plot([], [], "v", color="0.3", mfc="none", ms=3.5, label=r"$m_U$ (upper)")
    ax_k.plot([], [], "x", color="0.3", ms=3.5, label="90% point")
    panel_legend(ax_k, "upper left", ncols=2, handlelength=1.0)


def _grid(ax_s, srec):
    grid = [e for e in srec if e["block"] == "grid"]
    for bias, colour, label in ((False, OKABE_ITO[1], "no bias"), (True, OKABE_ITO[2], "biases")):
        sel = sorted([e for e in grid if e["bias"] == bias], key=lambda e: e["s"])
        _bracket(ax_s, [e["s"] for e in sel], sel, colour, label, 0.03 if bias else 0)
    if grid:
        g = grid[0]
        ax_s.set_title(f"(d) grid $k={g['k']}$, $h={g['h']}$, $d={g['depth']}$")
        s_vals = sorted({e["s"] for e in grid})
        ax_s.set_xticks(s_vals)
        ax_s.set_xlim(min(s_vals) - 0.5, max(s_vals) + 0.5)
        panel_legend(ax_s, "upper left")
    ax_s.set_xlabel("sparsity $s$")
    ax_s.set_ylabel(r"$m^\star(\gamma_0)$")


def _predictors(ax_r2, result):
    fits = result["fits"]
    xpos = np.arange(len(PREDICTORS))
    scopes = (
        ("all", OKABE_ITO[3], "all configurations"),
        ("sweep", OKABE_ITO[1], "$s = 1$, no bias"),
        ("biased", OKABE_ITO[2], "$s = 1$, biases"),
    )
    for j, (scope, colour, label) in enumerate(scopes):
        r2 = [fits[(scope, "L50")][p]["r2"] for p in PREDICTORS]
        ax_r2.bar(xpos + (j - 1) * 0.27, np.nan_to_num(r2), width=0.27, color=colour,
                  label=label)  # fmt: skip
    ax_r2.set_xticks(xpos, ["SDLSS", "Bora", "union\nbound"])
    ax_r2.set_ylim(0, 1.45)
    ax_r2.set_yticks([0, 0.5, 1.0])
    ax_r2.set_ylabel(r"$R^2$ of $m_L = a + b\,P$" if panel_width(ax_r2) >= 2.2 else "$R^2$")
    ub = fits[("sweep", "L50")]["union"]
    title = "(e) which predictor"
    if np.isfinite(ub["b"]):
        title += "\n" + rf"$m_L \approx {ub['a']:.0f} + {ub['b']:.2f}\,m_{{UB}}$"
    ax_r2.set_title(title, fontsize=7)
    panel_legend(ax_r2, "upper left", ncols=2)


def _recovery(ax_rec, entries):
    rec = [e for e in entries if e["block"] == "recovery"]
    styles = ["-", "--", "-.", ":"]
    for i, e in enumerate(rec):
        rate = e["success"] / e["trials"]
        label = f"$s={e['s']}$, $k={e['k']}$, $h={e['h']}$, $d={e['depth']}$"
        (line,) = ax_rec.plot(e["m"], rate, styles[e["s"] % 4], color=OKABE_ITO[i % 8],
                              marker="o", ms=2.5, lw=0.8, label=label)  # fmt: skip
        ident = e["identifiability_failure"] / e["trials"]
        ax_rec.plot(e["m"], ident, ":", color=line.get_color(), marker="x", ms=2.5, lw=0.6)
    for s in sorted({e["s"] for e in rec}):
        ax_rec.axvline(s + 1, color="0.7", lw=0.6, ls=(0, (2, 2)))
    ax_rec.set_xlabel("measurements $m$")
    ax_rec.set_ylabel("fraction of trials")
    ax_rec.set_ylim(-0.02, 1.45)
    ax_rec.set_yticks([0, 0.5, 1.0])
    ax_rec.set_title("(f) one signal")
    panel_legend(ax_rec, "upper left", ncols=1, handlelength=1.2)
