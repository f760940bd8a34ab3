"""A learned prior against the teacher's own: PML and DCS trained on teacher data.

Data follow the SDLSS model exactly: a teacher `ReLUGenerator` (k -> widths -> n, linear
output, Gaussian weights, fixed by ``data_seed``) maps s-sparse Gaussian latents to signals;
``n_train`` training and ``n_test`` test signals are drawn once (``data_seed``), the same for
every cell and trial. Each trial of a learner is one training run (seed = the task's seed) of
a network with the teacher's architecture (``method="sdlss"``: PML with the teacher's s;
``"dcs"``: dense latent), followed by the evaluation on the first ``n_eval`` test signals
with a Gaussian A (the training one; drawn from the trial's seed):

* ``rel_error``: T latent steps at the learned step from z0 ~ N(0, I) (as trained);
* ``rel_error_long``: ``long_steps`` steps with the automatic step and ``restarts`` starts.

The ``"teacher"`` cells need no training: they reconstruct with the teacher itself (the
oracle prior: the true generator, unknown support) by latent IHT with the automatic step, for
T steps (``rel_error``) and for ``long_steps`` steps with restarts (``rel_error_long``), with a
fresh Gaussian A per trial. The gap between a learner and the teacher is what training on
finitely many examples with a fixed budget loses.

The learners are initialised with the teacher's weight law (``init="hand"``, N(0, 1/fan-out));
the initial step beta0 = 0.3 was chosen on the DCS learner's validation error (a split of the
training set, m = 10) and is used unchanged for PML.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Literal

import numpy as np

from sdlss_theory import ReLUGenerator, gaussian_matrix, synthetic_dataset
from sdlss_theory.pml import reconstruct, relative_error
from sdlss_theory.sweep import Study
from simulations._common import fixed_params
from simulations._pml_common import QUICK_TRAINING, TrainingConfig, train_and_evaluate

Method = Literal["sdlss", "dcs", "teacher"]


@dataclasses.dataclass(frozen=True)
class Config(TrainingConfig):
    m: tuple[int, ...] = (6, 10, 16, 24)
    methods: tuple[Method, ...] = ("sdlss", "dcs", "teacher")
    k: int = 16
    s: int = 3
    widths: tuple[int, ...] = (32,)
    n: int = 64
    n_train: int = 1500
    n_test: int = 300
    data_seed: int = 0
    beta0: float = 0.3
    n_eval: int = 300

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 1 <= self.s <= self.k:
            raise ValueError(f"s must be in [1, k={self.k}], got {self.s}")
        if any(not 1 <= m <= self.n for m in self.m):
            raise ValueError(f"every m must be in [1, n={self.n}], got {self.m}")
        if not 1 <= self.n_eval <= self.n_test:
            raise ValueError(f"n_eval must be in [1, n_test={self.n_test}], got {self.n_eval}")

    @classmethod
    def quick(cls) -> Config:
        return cls(m=(6, 16), n_train=500, n_test=60, **QUICK_TRAINING)


def grid(config: Config) -> list[dict]:
    fixed = fixed_params(config, swept=("m", "methods"))
    return [{"method": method, "m": m, **fixed} for m in config.m for method in config.methods]


@functools.cache
def teacher_data(k, widths, n, s, n_train, n_test, data_seed):
    """The teacher and its fixed train/test signals (cached per worker)."""
    rng = np.random.default_rng(data_seed)
    teacher = ReLUGenerator.random([k, *widths, n], rng, output="linear")
    data = synthetic_dataset(teacher, s, n_train, n_test, rng)
    return teacher, data


def trial(params: dict, rng: np.random.Generator) -> dict:
    teacher, data = teacher_data(
        params["k"], tuple(params["widths"]), params["n"], params["s"], params["n_train"],
        params["n_test"], params["data_seed"],
    )  # fmt: skip
    x_test = data.x_test[: params["n_eval"]]
    if params["method"] == "teacher":
        start = time.perf_counter()
        A = gaussian_matrix(params["m"], params["n"], rng)
        y = x_test @ A.T
        z0 = rng.standard_normal((x_test.shape[0], params["k"]))
        common = dict(s=params["s"], solver="iht", step="auto")
        x_hat, _ = reconstruct(teacher, A, y, steps=params["T"], z0=z0, **common)
        x_long, _ = reconstruct(
            teacher, A, y, steps=params["long_steps"], restarts=params["restarts"], rng=rng,
            **common,
        )  # fmt: skip
        return {
            "rel_error": float(np.mean(relative_error(x_hat, x_test))),
            "rel_error_long": float(np.mean(relative_error(x_long, x_test))),
            "rel_error_long_median": float(np.median(relative_error(x_long, x_test))),
            "beta": 0.0,  # no learned step: the automatic step is used
            "train_time": time.perf_counter() - start,
        }
    params = {**params, "init": "hand"}
    metrics, _, _, x_long = train_and_evaluate(params, rng, data.x_train, x_test, output="linear")
    metrics["rel_error_long_median"] = float(np.median(relative_error(x_long, x_test)))
    del metrics["mse"], metrics["mse_long"]
    return metrics


STUDY = Study(
    name="pml_synthetic",
    config=Config,
    grid=grid,
    trial=trial,
    description="PML/DCS trained on teacher data vs the teacher's own (oracle) prior",
    success=None,
    metrics=("rel_error", "rel_error_long", "rel_error_long_median", "beta", "train_time"),
)
