"""Learned priors on teacher data against the teacher itself and the PCA prior.

Estimand: for each prior and m, the mean relative test error ||x_hat - x|| / ||x|| of its
strongest reconstruction (and of the T-step reconstruction a learned prior was trained for)
when the data follow the SDLSS model exactly, with paired differences over draws of A.

Data: a teacher `ReLUGenerator` (k -> widths -> n, linear output, Gaussian weights
N(0, 1/fan-out), fixed by ``data_seed``) maps s-sparse Gaussian latents to signals;
``n_train`` training signals (the last ``n_val`` of them for validation) and ``n_test`` test
signals are drawn once, the same for every cell (every cell carries the data's sparsity as
``teacher_s``; ``s`` is the sparsity of the prior's reconstruction). Methods
(`simulations._pml_common`):

* ``sdlss`` / ``dcs`` (and ``*_learned_A``): a network of the student architecture
  (``widths``; the teacher's k; for SDLSS each sparsity of ``learner_s``, a hyper-parameter
  of the learner: the teacher's s = 3, and 10 of k = 16, the best on validation signals at
  m = 16 in `pml_training`) trained by `PMLTrainer` in the configuration
  measured best by `pml_training` (persistent codes, widths 128, for SDLSS the sparsity
  annealed from k to its s over the first 3/4 of the steps), then reconstructed with its
  strongest solver;
* ``teacher``: the true generator as the prior, reconstructed by the same path
  (`latent_recover` with `RECOVER_OPTIONS`, or long latent IHT if that does better on the
  validation signals): the oracle a learner is measured against;
* ``pca`` / ``pca_top``: the PCA prior (rank chosen on the validation split per draw) with
  the draw's A, or with its own best linear A.

A draw fixes A (shared by every method at that m), so differences are paired. The gap
between a learner and the teacher is what learning from ``n_train`` signals loses; the gap
to PCA is what the non-linear prior buys.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory.sweep import Study
from simulations._pml_common import (
    QUICK_TRAINING,
    Method,
    TrainingConfig,
    cells_for,
    learned_trial,
    pca_trial,
    teacher_split,
    teacher_trial,
)


@dataclasses.dataclass(frozen=True)
class Config(TrainingConfig):
    m: tuple[int, ...] = (6, 10, 16, 24)
    methods: tuple[Method, ...] = ("sdlss", "dcs", "teacher", "pca", "pca_top")
    k: int = 16
    s: int = 3
    learner_s: tuple[int, ...] = (3, 10)
    teacher_widths: tuple[int, ...] = (32,)
    widths: tuple[int, ...] = (128,)
    n: int = 64
    n_train: int = 1500
    n_val: int = 300
    n_test: int = 300
    data_seed: int = 0
    start: str = "persistent"
    anneal_s: bool = True
    steps: int = 20000
    n_eval: int = 100

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.s <= self.k:
            raise ValueError(f"s must be in [1, k={self.k}], got {self.s}")
        if not self.learner_s or any(not 1 <= s <= self.k for s in self.learner_s):
            raise ValueError(f"learner_s must be values in [1, k={self.k}], got {self.learner_s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")
        if not 1 <= self.n_eval <= self.n_test:
            raise ValueError(f"n_eval must be in [1, n_test={self.n_test}], got {self.n_eval}")

    @classmethod
    def quick(cls) -> Config:
        return cls(m=(6, 16), methods=("sdlss", "dcs", "teacher", "pca"), widths=(32,),
                   n_train=500, n_val=100, n_test=60, **QUICK_TRAINING)  # fmt: skip


def grid(config: Config) -> list[dict]:
    combos = []
    for m in config.m:
        for method in config.methods:
            if method.startswith("sdlss"):  # one prior per learner sparsity
                grid_s = config.learner_s
            else:  # DCS: dense; the teacher and PCA: the data's s (unused by PCA)
                grid_s = (config.k if method.startswith("dcs") else config.s,)
            combos += [{"method": method, "m": m, "s": s, "teacher_s": config.s} for s in grid_s]
    return cells_for(config, combos, swept=("m", "s", "learner_s", "methods"))


def trial(params: dict, rng: np.random.Generator) -> dict:
    teacher, x_train, x_val, x_test = teacher_split(
        params["k"], tuple(params["teacher_widths"]), params["n"], params["teacher_s"],
        params["n_train"], params["n_val"], params["n_test"], params["data_seed"],
    )  # fmt: skip
    x_test = x_test[: params["n_eval"]]
    method = params["method"]
    if method == "teacher":
        return teacher_trial(params, rng, teacher, x_val, x_test)
    if method.startswith("pca"):
        return pca_trial(params, x_train, x_val, x_test)[0]
    params = {**params, "init": "hand"}
    return learned_trial(params, rng, x_train, x_val, x_test, "linear")[0]


STUDY = Study(
    name="pml_synthetic",
    config=Config,
    grid=grid,
    trial=trial,
    description="PML/DCS learned on teacher data vs the teacher itself and the PCA prior",
    success=None,
    metrics=("rel_error", "rel_error_T", "beta", "train_time", "rec_time", "rank"),
    show=("method", "s", "m", "rel_error", "rel_error_T", "rank"),
)
