"""SDLSS (PML) against DCS on the 8x8 digits: test PSNR against the number of measurements m.

The SDLSS paper's claim: at high compression (small m), a generator trained by proximal
meta-learning with s-sparse latents reconstructs better than DCS's dense-latent generator.

Each trial is one training run (seed = the task's seed) followed by an evaluation:

* data: scikit-learn's 1,797 digits in [0, 1] (n = 64), one fixed train/test split
  (``split_seed``; 20% test = 359 images), the same for every cell and trial, so the
  reconstructions of the same test images can be shown side by side;
* training: `PMLTrainer` with the same architecture (k -> widths -> 64, sigmoid output), the
  same T, optimiser, learning rate, initial step and budget for both methods; a fixed
  Gaussian A (drawn from the trial's seed) unless ``learn_A``; SDLSS uses P_s with sparsity s,
  DCS a dense latent (s = k);
* evaluation on the first ``n_eval`` test images: (i) the protocol the networks were trained
  for: T latent steps at the learned beta from z0 ~ N(0, I) (``psnr``, ``mse``,
  ``rel_error``), (ii) a long CSGM-style reconstruction: ``long_steps`` steps with the
  automatic step and ``restarts`` starts (``psnr_long``); SDLSS uses latent IHT, DCS latent
  gradient descent;
* the first ``n_show`` test images and their T-step reconstructions are stored (as 8-bit hex
  strings, display only; their PSNR is computed at full precision) for the figure.

The learning rate and initial step were chosen on the DCS baseline's validation PSNR (a
split of the training set, at m = 8), then used unchanged for SDLSS (docs/studies).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np

from sdlss_theory.sweep import Study
from simulations._common import fixed_params
from simulations._pml_common import QUICK_TRAINING, TrainingConfig, evaluate_on_digits

METHODS = ("sdlss", "dcs")
Method = Literal["sdlss", "dcs"]


@dataclasses.dataclass(frozen=True)
class Config(TrainingConfig):
    m: tuple[int, ...] = (4, 8, 12, 16, 24, 32)
    methods: tuple[Method, ...] = METHODS
    s: int = 8
    split_seed: int = 0
    n_show: int = 6

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.s <= self.k:
            raise ValueError(f"s must be in [1, k={self.k}], got {self.s}")
        if any(not 1 <= m <= 64 for m in self.m):
            raise ValueError(f"every m must be in [1, 64], got {self.m}")
        if self.n_show > self.n_eval:
            raise ValueError(f"n_show must be <= n_eval={self.n_eval}, got {self.n_show}")

    @classmethod
    def quick(cls) -> Config:
        return cls(m=(4, 8, 16), widths=(64,), **QUICK_TRAINING)


def grid(config: Config) -> list[dict]:
    fixed = fixed_params(config, swept=("m", "methods"))
    return [{"method": method, "m": m, **fixed} for m in config.m for method in config.methods]


def to_hex(image: np.ndarray) -> str:
    """An image in [0, 1] as 8-bit hex (display precision only)."""
    return bytes(np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)).hex()


def from_hex(text: str) -> np.ndarray:
    """Inverse of `to_hex` (values in [0, 1])."""
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(float) / 255.0


def trial(params: dict, rng: np.random.Generator) -> dict:
    metrics, x_test, x_hat, per_image = evaluate_on_digits(params, rng)
    metrics["psnr_median"] = float(np.median(per_image))
    for j in range(params["n_show"]):
        metrics[f"true{j}"] = to_hex(x_test[j])
        metrics[f"rec{j}"] = to_hex(x_hat[j])
        metrics[f"psnr{j}"] = float(per_image[j])
    return metrics


STUDY = Study(
    name="pml_psnr_vs_m",
    config=Config,
    grid=grid,
    trial=trial,
    description="SDLSS (PML) vs DCS trained on the 8x8 digits: test PSNR vs measurements m",
    success=None,
    metrics=(
        "psnr", "psnr_median", "psnr_long", "mse", "mse_long", "rel_error", "rel_error_long",
        "beta", "train_time",
    ),
)  # fmt: skip
