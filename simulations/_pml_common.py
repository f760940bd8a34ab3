"""What the PML studies share: the training configuration, one training run and its evaluation.

`pml_psnr_vs_m`, `pml_sparsity` and `pml_synthetic` train with `PMLTrainer` and evaluate the
same way (a private module: not discovered as a study):

* `TrainingConfig`: the fields of one training run and its evaluation, and `QUICK_TRAINING`,
  the budget of the quick presets;
* `train_and_evaluate`: one training run, then the T-step protocol the network was trained for
  and a long CSGM-style reconstruction on the test signals;
* `digits_split` and `evaluate_on_digits`: the fixed train/test split of the 8x8 digits and
  the evaluation of a run on its first ``n_eval`` test images (with PSNR).
"""

from __future__ import annotations

import dataclasses
import functools
import time

import numpy as np

from sdlss_theory import load_digits, train_test_split
from sdlss_theory.pml import PMLConfig, PMLTrainer, mse, psnr, reconstruct, relative_error
from sdlss_theory.sweep import StudyConfig


@dataclasses.dataclass(frozen=True)
class TrainingConfig(StudyConfig):
    """The architecture, training budget and evaluation shared by the PML studies."""

    trials: int = 5
    k: int = 32
    widths: tuple[int, ...] = (128,)
    T: int = 5
    steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    beta0: float = 1.0
    lam: float = 1.0
    learn_A: bool = False
    n_eval: int = 359
    long_steps: int = 200
    restarts: int = 5


#: The training budget of the PML studies' quick presets.
QUICK_TRAINING = dict(trials=2, steps=200, n_eval=60, long_steps=60, restarts=2)


@functools.cache
def digits_split(split_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The fixed train/test split of the digits (cached per worker)."""
    x, _ = load_digits()
    x_train, x_test = train_test_split(x, rng=np.random.default_rng(split_seed))
    return x_train, x_test


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


def evaluate_on_digits(
    params: dict, rng: np.random.Generator
) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    """Train on the digits split and evaluate on its first ``n_eval`` test images.

    Returns the metrics of `train_and_evaluate` with the mean PSNRs ``psnr`` (T steps) and
    ``psnr_long`` added, the test images, their T-step reconstructions and the PSNR of each.
    """
    x_train, x_test = digits_split(params["split_seed"])
    if params["n_eval"] > len(x_test):
        raise ValueError(f"n_eval must be <= {len(x_test)}, the size of the digits' test split")
    x_test = x_test[: params["n_eval"]]
    metrics, _, x_hat, x_long = train_and_evaluate(params, rng, x_train, x_test)
    per_image = psnr(x_hat, x_test)
    metrics["psnr"] = float(np.mean(per_image))
    metrics["psnr_long"] = float(np.mean(psnr(x_long, x_test)))
    return metrics, x_test, x_hat, per_image
