"""Each learned prior tuned on its own validation split with the same budget.

Estimand: for each learned method (SDLSS, DCS, each with a learned A) and each combination
of the learning rate, the initial latent step beta0, the weight lambda of the RIP / S-REC
loss and the number T of unrolled steps, the mean validation PSNR of the strongest
reconstruction at one m; the chosen combination of a method is the one with the largest
mean over draws.

Every method gets the same grid (the same number of training runs, the same training
budget, the same validation images), so none is favoured by tuning. The chosen values are
what `pml_psnr_vs_m` and `pml_sparsity` use by default (their ``hyper`` field, written to
docs/studies/pml_tuning.md with this study's results; `chosen` computes them from the
stored trials).

With several sparsities ``s`` SDLSS is trained at each, and its chosen combination is the
one with the largest mean over draws and sparsities: one setting for a sweep over s
(`pml_sparsity`), picked where it must hold.

Validation images: the ``n_val`` images held out of the training split; the first
``n_select`` pick the strongest solver (as in every PML study), the next ``n_tune`` are
scored. Test images are never read. The PCA prior (rank chosen on the ``n_select`` images,
the draw's A) is scored on the same images as the baseline.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from sdlss_theory.sweep import Study
from simulations._pml_common import (
    PAPER_TRAINING,
    QUICK_TRAINING,
    ImageConfig,
    Method,
    cells_for,
    image_split,
    learned_trial,
    pca_trial,
)


@dataclasses.dataclass(frozen=True)
class Config(ImageConfig):
    m: int = 8
    s: tuple[int, ...] = (8,)
    methods: tuple[Method, ...] = ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A")
    lrs: tuple[float, ...] = (1e-3, 3e-3)
    beta0s: tuple[float, ...] = (0.1, 1.0)
    lams: tuple[float, ...] = (0.3, 3.0)
    Ts: tuple[int, ...] = (5,)
    draws: int = 1
    n_select: int = 20
    n_tune: int = 60

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(
            m not in ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A") for m in self.methods
        ):
            raise ValueError(f"methods must be learned ones, got {self.methods}")
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if self.n_select + self.n_tune > self.n_val:
            raise ValueError("n_select + n_tune must not exceed n_val")

    @classmethod
    def quick(cls) -> Config:
        return cls(methods=("sdlss", "dcs"), lrs=(3e-3,), beta0s=(0.3, 1.0), lams=(1.0,),
                   Ts=(5,), widths=(64,), n_tune=20, **QUICK_TRAINING)  # fmt: skip

    PRESETS = ("quick", "paper", "paper_sparsity")

    @classmethod
    def paper(cls) -> Config:
        """The tuning behind the MNIST ``paper`` presets: k = 100, s = 80, m = 25, the presets'
        network and training budget, one draw (``sdlss run pml_tuning --preset paper --set
        data_folder=PATH``)."""
        # n_eval is not read here (the n_tune validation images are scored); it stays at the
        # value the stored run (docs/studies/pml_tuning.md) was keyed with, so it resumes.
        return cls(k=100, s=(80,), m=25, **{**PAPER_TRAINING, "draws": 1, "n_eval": 200})

    @classmethod
    def paper_sparsity(cls) -> Config:
        """The tuning behind `pml_sparsity`'s paper preset: k = 784, m = 10, SDLSS at s = 10
        and 784 (its sweep's sparse and dense ends) and DCS, lr in {1e-3, 3e-3}, beta0 in
        {0.1, 0.3} (the paper presets' cap at m = 10), lambda = 3 (every method's choice at
        k = 100); one draw (``sdlss run pml_tuning --preset paper_sparsity --set
        data_folder=PATH``)."""
        return cls(k=784, s=(10, 784), m=10, methods=("sdlss", "dcs"), beta0s=(0.1, 0.3),
                   lams=(3.0,), **{**PAPER_TRAINING, "draws": 1})  # fmt: skip


def grid(config: Config) -> list[dict]:
    combos = [
        {"method": method, "m": config.m, "lr": lr, "beta0": beta0, "lam": lam, "T": T, "s": s}
        for method, lr, beta0, lam, T in itertools.product(
            config.methods, config.lrs, config.beta0s, config.lams, config.Ts
        )
        for s in (config.s if method.startswith("sdlss") else (config.k,))
    ]
    combos.append({"method": "pca", "m": config.m, "s": config.k})  # the baseline
    return cells_for(config, combos, swept=("m", "s", "methods", "lrs", "beta0s", "lams", "Ts"))


def trial(params: dict, rng: np.random.Generator) -> dict:
    x_train, x_val, _ = image_split(
        params["dataset"], params["split_seed"], params["n_val"], params["data_folder"],
        params["download"],
    )  # fmt: skip
    n_sel = params["n_select"]
    scored = x_val[n_sel : n_sel + params["n_tune"]]
    if params["method"] == "pca":  # rank chosen on the selection images, scored like the rest
        return pca_trial(params, x_train, x_val[:n_sel], scored)[0]
    metrics, _, _ = learned_trial(params, rng, x_train, x_val[:n_sel], scored, "sigmoid")
    return metrics


def chosen(trials: list[dict]) -> dict[str, dict]:
    """Per method, the combination with the largest mean validation PSNR over draws (and
    over the sparsities it was trained at)."""
    means: dict[tuple, list[float]] = {}
    for row in trials:
        if row["method"] == "pca":
            continue
        key = (row["method"], row["lr"], row["beta0"], row["lam"], int(row["T"]))
        means.setdefault(key, []).append(row["psnr"])
    best: dict[str, tuple[float, tuple]] = {}
    for key, values in means.items():
        value = float(np.mean(values))
        if key[0] not in best or value > best[key[0]][0]:
            best[key[0]] = (value, key)
    return {
        method: {"lr": key[1], "beta0": key[2], "lam": key[3], "T": key[4], "psnr": value}
        for method, (value, key) in best.items()
    }


STUDY = Study(
    name="pml_tuning",
    config=Config,
    grid=grid,
    trial=trial,
    description="PML/DCS (and learned A) tuned on their own validation split, same budget",
    success=None,
    metrics=("psnr", "psnr_T", "rel_error", "beta", "train_time"),
    show=("method", "m", "s", "lr", "beta0", "lam", "T", "psnr", "psnr_T"),
)
