"""SDLSS (PML) on the 8x8 digits: test reconstruction error against the latent sparsity s.

The SDLSS paper trained on MNIST with k = 784 = n and m = 10 measurements and varied s. The
8x8 analogue kept here: k = n = 64 (the latent as large as the image, as in the paper) and
m = 8 (m/n = 1/8, a high compression at which the s grid crosses s = m, as the paper's did
with m = 10). The ratio m/n itself cannot be kept: 10/784 of 64 pixels is less than one
measurement.

Each trial is one training run (seed = the task's seed) and its evaluation, exactly as in
`pml_psnr_vs_m` (same data split, protocol and metrics; see that module). The point s = k is
PML without projection, i.e. the DCS baseline (dense latent, plain gradient steps): the
curve's right end is DCS.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory.sweep import Study
from simulations._common import fixed_params
from simulations._pml_common import QUICK_TRAINING, TrainingConfig, evaluate_on_digits


@dataclasses.dataclass(frozen=True)
class Config(TrainingConfig):
    s: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    m: int = 8
    k: int = 64
    split_seed: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if not 1 <= self.m <= 64:
            raise ValueError(f"m must be in [1, 64], got {self.m}")

    @classmethod
    def quick(cls) -> Config:
        return cls(s=(2, 8, 64), widths=(64,), **QUICK_TRAINING)


def grid(config: Config) -> list[dict]:
    fixed = fixed_params(config, swept=("s",))
    return [{"method": "sdlss", "s": s, **fixed} for s in config.s]


def trial(params: dict, rng: np.random.Generator) -> dict:
    metrics, _, _, _ = evaluate_on_digits(params, rng)
    return metrics


STUDY = Study(
    name="pml_sparsity",
    config=Config,
    grid=grid,
    trial=trial,
    description="SDLSS (PML) on the 8x8 digits: reconstruction error vs latent sparsity s",
    success=None,
    metrics=(
        "rel_error", "rel_error_long", "psnr", "psnr_long", "mse", "mse_long", "beta",
        "train_time",
    ),
)  # fmt: skip
