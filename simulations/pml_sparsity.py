"""SDLSS (PML) on images: test reconstruction quality against the latent sparsity s.

Estimand: at a fixed small m, the mean test relative error and PSNR of a PML-trained prior's
strongest reconstruction (and of its T-step reconstruction as trained) as a function of the
latent sparsity s, with the PCA priors and DCS (s = k, no projection) beside it, paired over
draws of A.

The SDLSS paper trained on MNIST with k = 784 = n and m = 10 and varied s. The 8x8
analogue kept by default: k = n = 64 (the latent as large as the image) and m = 8
(m/n = 1/8, a high compression at which the s grid crosses s = m, as the paper's crosses
m = 10); the paper's m/n = 10/784 would be less than one measurement of 64 pixels. With
``dataset = "mnist"`` (and the `paper` preset) the paper's own setting runs.

Each cell is one training run and its evaluation, as in `pml_psnr_vs_m` (same split,
training, evaluation, pairing and metrics; see that module and `simulations._pml_common`).
The point s = k is PML without projection, i.e. the DCS baseline; the ``dcs`` method (DCS's
own hyper-parameters) and the PCA baselines are drawn as references.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory.sweep import Study
from simulations._pml_common import (
    IMAGE_METRICS,
    IMAGE_SHOW,
    MNIST_TUNED_K784,
    PAPER_TRAINING,
    QUICK_TRAINING,
    ImageConfig,
    Method,
    cells_for,
    image_trial,
)
from simulations._pml_report import image_report
from simulations.pml_psnr_vs_m import TUNED


@dataclasses.dataclass(frozen=True)
class Config(ImageConfig):
    s: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 51, 64)
    m: int = 8
    k: int = 64
    references: tuple[Method, ...] = ("dcs", "pca", "pca_top")
    hyper: tuple[str, ...] = TUNED

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if self.m < 1:
            raise ValueError(f"m must be >= 1, got {self.m}")
        if any(r.startswith("sdlss") or r == "teacher" for r in self.references):
            raise ValueError(
                f"references are dcs, dcs_learned_A, pca, pca_top; got {self.references}"
            )

    @classmethod
    def quick(cls) -> Config:
        return cls(s=(2, 8, 64), widths=(64,), references=("pca",), **QUICK_TRAINING)

    PRESETS = ("quick", "paper")

    @classmethod
    def paper(cls) -> Config:
        """The SDLSS paper's sparsity sweep on MNIST: k = 784, m = 10, with DCS and both PCA
        baselines, each learned method with the hyper-parameters tuned at this k and m
        (`MNIST_TUNED_K784`; ``sdlss run pml_sparsity --preset paper --set
        data_folder=PATH``)."""
        return cls(k=784, m=10, s=(10, 50, 100, 200, 400, 600, 784),
                   hyper=MNIST_TUNED_K784, **PAPER_TRAINING)  # fmt: skip


def grid(config: Config) -> list[dict]:
    combos = [{"method": "sdlss", "m": config.m, "s": s} for s in config.s]
    combos += [{"method": r, "m": config.m, "s": config.k} for r in config.references]
    return cells_for(config, combos, swept=("s", "m", "references"))


def trial(params: dict, rng: np.random.Generator) -> dict:
    return image_trial(params, rng)[0]


STUDY = Study(
    name="pml_sparsity",
    config=Config,
    grid=grid,
    trial=trial,
    description="SDLSS (PML) on images: quality vs latent sparsity s, with DCS and PCA",
    success=None,
    metrics=IMAGE_METRICS,
    show=IMAGE_SHOW,
    report=image_report,
)
