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
import functools
import time
from typing import Literal

import numpy as np

from sdlss_theory import load_digits, train_test_split
from sdlss_theory.pml import PMLConfig, PMLTrainer, mse, psnr, reconstruct, relative_error
from sdlss_theory.sweep import Study, StudyConfig

METHODS = ("sdlss", "dcs")
Method = Literal["sdlss", "dcs"]


@dataclasses.dataclass(frozen=True)
class Config(StudyConfig):
    trials: int = 5
    m: tuple[int, ...] = (4, 8, 12, 16, 24, 32)
    methods: tuple[Method, ...] = METHODS
    k: int = 32
    s: int = 8
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
        return cls(
            trials=2, m=(4, 8, 16), widths=(64,), steps=200, n_eval=60, long_steps=60,
            restarts=2,
        )  # fmt: skip


def grid(config: Config) -> list[dict]:
    fixed = {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(config)
        if f.name not in ("trials", "seed", "m", "methods")
    }
    return [{"method": method, "m": m, **fixed} for m in config.m for method in config.methods]


@functools.cache
def digits_split(split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train/test split of the digits (cached per worker)."""
    x, _ = load_digits()
    x_train, x_test = train_test_split(x, rng=np.random.default_rng(split_seed))
    return x_train, x_test


def to_hex(image: np.ndarray) -> str:
    """An image in [0, 1] as 8-bit hex (display precision only)."""
    return bytes(np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)).hex()


def from_hex(text: str) -> np.ndarray:
    """Inverse of `to_hex` (values in [0, 1])."""
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(float) / 255.0


def train_and_evaluate(
    params: dict,
    rng: np.random.Generator,
    x_train: np.ndarray,
    x_test: np.ndarray,
    *,
    output: str = "sigmoid",
) -> tuple[dict, PMLTrainer, np.ndarray, np.ndarray]:
    """One training run and the evaluation shared by the PML studies.

    Returns the metrics, the trainer, and the T-step and long reconstructions of ``x_test``.
    """
    sdlss = params["method"] == "sdlss"
    cfg = PMLConfig(
        k=params["k"],
        widths=tuple(params["widths"]),
        n=x_train.shape[1],
        m=params["m"],
        s=params["s"] if sdlss else None,
        method="pml" if sdlss else "dcs",
        output=output,
        T=params["T"],
        beta0=params["beta0"],
        learn_A=params["learn_A"],
        lam=params["lam"],
        lr=params["lr"],
        batch_size=params["batch_size"],
        init=params.get("init", "he"),
    )
    start = time.perf_counter()
    trainer = PMLTrainer(cfg, x_train, rng=rng)
    trainer.train(params["steps"], progress=False)
    train_time = time.perf_counter() - start
    G, A, beta = trainer.generator(), trainer.A, trainer.beta
    y = x_test @ A.T
    solver = "iht" if sdlss else "gd"
    z0 = rng.standard_normal((x_test.shape[0], cfg.k))
    x_hat, _ = reconstruct(G, A, y, s=cfg.s, solver=solver, steps=cfg.T, step=beta, z0=z0)
    x_long, _ = reconstruct(
        G, A, y, s=cfg.s, solver=solver, steps=params["long_steps"], step="auto",
        restarts=params["restarts"], rng=rng,
    )  # fmt: skip
    metrics = {
        "beta": beta,
        "train_time": train_time,
        "mse": float(np.mean(mse(x_hat, x_test))),
        "rel_error": float(np.mean(relative_error(x_hat, x_test))),
        "rel_error_long": float(np.mean(relative_error(x_long, x_test))),
        "mse_long": float(np.mean(mse(x_long, x_test))),
    }
    return metrics, trainer, x_hat, x_long


def trial(params: dict, rng: np.random.Generator) -> dict:
    x_train, x_test = digits_split(params["split_seed"])
    x_test = x_test[: params["n_eval"]]
    metrics, _, x_hat, x_long = train_and_evaluate(params, rng, x_train, x_test)
    per_image = psnr(x_hat, x_test)
    metrics["psnr"] = float(np.mean(per_image))
    metrics["psnr_median"] = float(np.median(per_image))
    metrics["psnr_long"] = float(np.mean(psnr(x_long, x_test)))
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
