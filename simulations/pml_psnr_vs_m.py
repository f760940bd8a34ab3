"""SDLSS (PML) against DCS and the PCA prior: test PSNR against the number of measurements m.

Estimand: for each prior (SDLSS with sparsity s, DCS, each also with a learned A, and the
PCA baselines) and each m, the mean test PSNR of its strongest reconstruction (and of the
T-step reconstruction it was trained for), and the paired differences between priors over
draws of A.

The SDLSS paper's claim: at high compression (small m), a generator trained by proximal
meta-learning with s-sparse latents reconstructs better than DCS's dense-latent generator.

* data: scikit-learn's 8x8 digits (n = 64; one fixed 80/20 train/test split, ``n_val``
  training images held out for validation) or MNIST / Fashion-MNIST (``dataset``, from
  ``data_folder`` or downloaded with ``download=true``; n = 784);
* cells: method x m (x s for the SDLSS methods) x draw. A draw fixes the Gaussian A of
  every method at that m (learned-A methods start from it) and the starting noise of the
  T-step reconstruction, so differences between methods of the same draw are paired;
* training: `PMLTrainer` with the same architecture (k -> widths -> n, sigmoid output),
  budget and starts for every learned method, and each method's own hyper-parameters
  (``hyper``; the defaults come from the `pml_tuning` study, each method tuned on its own
  validation split with the same budget);
* evaluation on the first ``n_eval`` test images: ``psnr`` / ``rel_error`` of the strongest
  reconstruction (of `latent_recover` and long latent IHT / gradient descent with restarts,
  the one better on ``n_select`` validation images; ``solver`` names it), ``psnr_T`` /
  ``rel_error_T`` of T latent steps at the learned step from a random start; PCA: least
  squares on A U_r with r chosen on the validation split per draw (``pca``), or measured
  by its own top-m principal directions (``pca_top``, the linear baseline of learned A);
* the first ``n_show`` test images and their strongest reconstructions at draw 0 are stored
  (8-bit hex strings in pieces, display only; `get_image`) for the figure.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory.sweep import Study
from simulations._pml_common import (
    IMAGE_METRICS,
    IMAGE_SHOW,
    MNIST_TUNED,
    PAPER_TRAINING,
    QUICK_TRAINING,
    ImageConfig,
    Method,
    cells_for,
    image_trial,
    paper_hyper,
)
from simulations._pml_report import image_report

#: Hyper-parameters chosen by `pml_tuning`'s default run (digits, m = 8, s = 8; each
#: method's best validation PSNR over the same 8 combinations; docs/studies/pml_tuning.md).
TUNED = (
    "sdlss:lr=0.003,beta0=1,lam=3,T=5",
    "sdlss_learned_A:lr=0.003,beta0=1,lam=3,T=5",
    "dcs:lr=0.003,beta0=1,lam=0.3,T=5",
    "dcs_learned_A:lr=0.003,beta0=0.1,lam=3,T=5",
)


@dataclasses.dataclass(frozen=True)
class Config(ImageConfig):
    m: tuple[int, ...] = (3, 8, 16, 32)
    s: tuple[int, ...] = (2, 8, 26)
    learned_A_s: tuple[int, ...] = (8,)
    methods: tuple[Method, ...] = ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A", "pca",
                                   "pca_top")  # fmt: skip
    hyper: tuple[str, ...] = TUNED
    n_show: int = 6

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(not 1 <= s <= self.k for s in (*self.s, *self.learned_A_s)):
            raise ValueError(f"every s must be in [1, k={self.k}], got {self.s}")
        if any(m < 1 for m in self.m):
            raise ValueError(f"every m must be >= 1, got {self.m}")
        if "teacher" in self.methods:
            raise ValueError("the teacher exists on teacher data only (pml_synthetic)")
        if self.n_show > self.n_eval:
            raise ValueError(f"n_show must be <= n_eval={self.n_eval}, got {self.n_show}")

    @classmethod
    def quick(cls) -> Config:
        return cls(m=(4, 16), s=(8,), widths=(64,), methods=("sdlss", "dcs", "pca"),
                   n_show=4, **QUICK_TRAINING)  # fmt: skip

    PRESETS = ("quick", "paper")

    @classmethod
    def paper(cls) -> Config:
        """The SDLSS paper's MNIST setting (k = 100, s = 80, widths 500, 500; needs MNIST):
        SDLSS and DCS, each with a fixed and a learned A, and both PCA baselines, at
        m = 10 ... 200 (``sdlss run pml_psnr_vs_m --preset paper --set data_folder=PATH``)."""
        return cls(k=100, s=(80,), learned_A_s=(80,), m=(10, 25, 50, 100, 200),
                   hyper=paper_hyper(MNIST_TUNED), **PAPER_TRAINING)  # fmt: skip


def grid(config: Config) -> list[dict]:
    combos = []
    for m in config.m:
        for method in config.methods:
            if method.startswith("sdlss"):
                grid_s = config.learned_A_s if method.endswith("learned_A") else config.s
                combos += [{"method": method, "m": m, "s": s} for s in grid_s]
            else:
                combos.append({"method": method, "m": m, "s": config.k})
    return cells_for(config, combos, swept=("m", "s", "learned_A_s", "methods"))


#: Characters per stored string (the store keeps metrics of at most 200 characters).
CHUNK = 200


def to_hex(image: np.ndarray) -> str:
    """An image in [0, 1] as 8-bit hex (display precision only)."""
    return bytes(np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)).hex()


def from_hex(text: str) -> np.ndarray:
    """Inverse of `to_hex` (values in [0, 1])."""
    return np.frombuffer(bytes.fromhex(text), dtype=np.uint8).astype(float) / 255.0


def put_image(metrics: dict, key: str, image: np.ndarray) -> None:
    """Store an image as ``key_0, key_1, ...``: its hex in pieces of `CHUNK` characters."""
    text = to_hex(image)
    for c in range(0, len(text), CHUNK):
        metrics[f"{key}_{c // CHUNK}"] = text[c : c + CHUNK]


def get_image(row: dict, key: str) -> np.ndarray:
    """Inverse of `put_image` on a stored row (also reads an image stored whole as `key`)."""
    if key in row:
        return from_hex(row[key])
    pieces, c = [], 0
    while f"{key}_{c}" in row:
        pieces.append(row[f"{key}_{c}"])
        c += 1
    return from_hex("".join(pieces))


def trial(params: dict, rng: np.random.Generator) -> dict:
    metrics, x_test, x_hat = image_trial(params, rng)
    if params["draw"] == 0:
        from sdlss_theory.pml import psnr

        per_image = psnr(x_hat, x_test)
        for j in range(params["n_show"]):
            put_image(metrics, f"true{j}", x_test[j])
            put_image(metrics, f"rec{j}", x_hat[j])
            metrics[f"psnr{j}"] = float(per_image[j])
    return metrics


STUDY = Study(
    name="pml_psnr_vs_m",
    config=Config,
    grid=grid,
    trial=trial,
    description="SDLSS vs DCS vs PCA priors on images: test PSNR vs measurements m (paired)",
    success=None,
    metrics=IMAGE_METRICS,
    show=IMAGE_SHOW,
    report=image_report,
)
