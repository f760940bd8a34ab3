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

from sdlss_theory.pml import psnr
from sdlss_theory.sweep import Study, StudyConfig
from simulations.pml_psnr_vs_m import digits_split, train_and_evaluate


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 5
    s: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    m: int = 8
    k: int = 64
    widths: tuple[int, ...] = (128,)
    T: int = 5
    steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    beta0: float = 1.0
    lam: float = 1.0
    learn_A: bool = False
    split_seed: int = 0
    n_eval: int = 359
    long_steps: int = 200
    restarts: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(not 1 <= s <= self.k for s in self.s):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if not 1 <= self.m <= 64:
            raise ValueError(f"m must be in [1, 64], got {self.m}")

    @classmethod
    def quick(cls) -> Config:
        return cls(
            trials=2, s=(2, 8, 64), widths=(64,), steps=200, n_eval=60, long_steps=60,
            restarts=2,
        )  # fmt: skip


def grid(config: Config) -> list[dict]:
    fixed = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in ("trials", "seed", "s")
    }
    return [{"method": "sdlss", "s": s, **fixed} for s in config.s]


def trial(params: dict, rng: np.random.Generator) -> dict:
    x_train, x_test = digits_split(params["split_seed"])
    x_test = x_test[: params["n_eval"]]
    metrics, _, x_hat, x_long = train_and_evaluate(params, rng, x_train, x_test)
    metrics["psnr"] = float(np.mean(psnr(x_hat, x_test)))
    metrics["psnr_long"] = float(np.mean(psnr(x_long, x_test)))
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
