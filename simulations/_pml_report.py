"""``sdlss show``'s tables of the image studies (`pml_psnr_vs_m`, `pml_sparsity`): each
prior's mean over draws, and the paired verdicts against the baselines (`VERDICTS`)."""

from __future__ import annotations

import numpy as np

from sdlss_theory.sweep.paired import mean_ci, paired
from simulations._pml_common import LEARNED


def against_baseline(
    summary: dict[str, np.ndarray],
    baseline: str = "pca",
    metric: str = "psnr_mean",
    priors: tuple[str, ...] = LEARNED,
) -> list[dict]:
    """Each prior in `priors` against `baseline` at the same (m, draw), paired over draws.

    The same draw means the same A (for a fixed-A method) and the same test images. One row
    per (method, s, m): the mean `metric` of the prior and of the baseline, their
    mean paired difference with its 95% t-interval, and how many draws the prior ends below
    the baseline. ``flag`` is ``"BELOW"`` when the interval lies below 0 (or, with one
    draw, the difference is negative), ``"below in some draws"`` when any draw is, else
    empty: a learned prior worse than the linear baseline is named, not averaged away.
    """
    method, m, draw = summary["method"], summary["m"], summary["draw"]
    values = np.asarray(summary[metric], dtype=float)
    finite = np.isfinite(values)  # cells with no finished trial yet (or failed) are left out
    method = np.where(finite, method, "")
    base = {
        (int(m[i]), int(draw[i])): float(values[i]) for i in np.flatnonzero(method == baseline)
    }
    by_prior: dict[tuple, dict[int, float]] = {}
    for i in np.flatnonzero(np.isin(method, priors)):
        key = (str(method[i]), int(summary["s"][i]), int(m[i]))
        by_prior.setdefault(key, {})[int(draw[i])] = float(values[i])
    rows = []
    for (name, s, mm), per_draw in sorted(by_prior.items()):
        ref = {d: v for (bm, d), v in base.items() if bm == mm}
        diff, lo, hi, n = paired(per_draw, ref)
        if n == 0:
            continue
        below = sum(per_draw[d] < ref[d] for d in per_draw if d in ref)
        clearly_below = hi < 0 if n > 1 else diff < 0
        flag = "BELOW" if clearly_below else ("below in some draws" if below else "")
        rows.append({
            "method": name, "s": s, "m": mm, "draws": n,
            metric: float(np.mean([per_draw[d] for d in per_draw if d in ref])),
            f"{baseline}_{metric}": float(np.mean([ref[d] for d in per_draw if d in ref])),
            "diff": diff, "diff_lo": lo, "diff_hi": hi, "draws_below": below, "flag": flag,
        })  # fmt: skip
    return rows


#: ``sdlss show``'s paired verdict tables of the image studies: (title, baseline, priors).
VERDICTS = (
    ("learned priors against PCA with the same A", "pca", LEARNED),
    ("learned priors against PCA measured by its own top principal directions", "pca_top",
     LEARNED),
    ("SDLSS against DCS, fixed A (the same draw of A)", "dcs", ("sdlss",)),
    ("SDLSS against DCS, both learning A", "dcs_learned_A", ("sdlss_learned_A",)),
)  # fmt: skip


def per_prior(summary: dict[str, np.ndarray]) -> list[dict]:
    """Each prior's mean test PSNR over draws with its 95% t-interval, per (method, s, m).

    ``psnr``: the strongest reconstruction; ``psnr_T``: the T-step one (learned priors);
    ``solvers``: the strongest solver of each draw.
    """
    keys = list(zip(summary["method"], summary["s"], summary["m"], strict=True))
    rows = []
    for key in sorted(set(keys), key=lambda k: (k[2], str(k[0]), k[1])):
        idx = [i for i, other in enumerate(keys) if other == key]
        row = {"method": str(key[0]), "s": int(key[1]), "m": int(key[2])}
        for metric in ("psnr", "psnr_T"):
            values = np.asarray(summary.get(f"{metric}_mean", np.full(len(keys), np.nan)))
            values = values[idx].astype(float)
            values = values[np.isfinite(values)]
            row["draws"] = max(row.get("draws", 0), values.size)
            mean, lo, hi = mean_ci(values)
            row.update({metric: mean, f"{metric}_lo": lo, f"{metric}_hi": hi})
        rows.append(row)
    return [r for r in rows if r["draws"]]


def image_report(summary: dict[str, np.ndarray], config: dict) -> dict[str, list[dict]]:
    """``sdlss show``'s tables of the image studies: every prior's mean over draws
    (`per_prior`), then the paired verdicts (`VERDICTS`) where both sides ran.

    A negative difference means the prior is below its baseline; ``flag`` names it (see
    `against_baseline`).
    """
    methods = set(summary.get("method", ()))
    tables = {}
    if "m" in summary and "draw" in summary:
        rows = per_prior(summary)
        if rows:
            tables["test PSNR of each prior, dB (mean over draws, 95% t)"] = rows
    for title, baseline, priors in VERDICTS:
        if baseline not in methods:
            continue
        rows = against_baseline(summary, baseline, priors=priors)
        if rows:
            tables[f"{title} (PSNR, dB; paired over draws, 95% t)"] = rows
    return tables
