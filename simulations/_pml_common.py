"""What the PML studies share: data, methods, training, baselines and evaluation.

`pml_psnr_vs_m`, `pml_sparsity`, `pml_synthetic`, `pml_tuning` and `pml_training` use it
(a private module: not discovered as a study).

* **Data** (`image_split`): the 8x8 digits (bundled with scikit-learn) or MNIST /
  Fashion-MNIST (IDX files from ``data_folder``, or downloaded with ``download=true``), as a
  fixed train / validation / test split. Validation signals come out of the training set and
  serve only to choose hyper-parameters (the PCA rank, the tuning study).
* **Methods** (`METHODS`): ``sdlss`` (PML, Algorithm 1 with sparsity s), ``dcs`` (dense
  latent), each also with a learned A (``*_learned_A``); the baselines ``pca`` (the PCA prior
  with the draw's Gaussian A, rank chosen on the validation split) and ``pca_top``
  (PCA measured by its own best linear A, the top m principal directions: what a learned A
  has to beat), and on teacher data ``teacher`` (the true generator).
* **Pairing**: every cell carries a ``draw``; the draw fixes A (and the starting noise of the
  T-step reconstruction), so methods of the same draw and m see the same A and test signals
  and their per-draw differences are paired. The task's own seed drives training.
* **Hyper-parameters**: `TrainingConfig` holds the shared defaults; ``hyper`` overrides them
  per method (``"dcs:lr=0.003,beta0=0.3"``), and every cell records the values it used.
* **Evaluation** (`evaluate_prior`): the strongest reconstruction of each prior -- of
  `latent_recover` (with `RECOVER_OPTIONS`; its dense mode for dense latents) and long
  latent IHT (sparse) or gradient descent (dense) with restarts, the one with the smaller
  error on ``n_select`` validation signals -- and, separately, the T-step reconstruction as
  trained (T latent steps at the learned step from a random start).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from typing import Literal

import numpy as np

from sdlss_theory import gaussian_matrix, load_digits, load_mnist_dataset, train_test_split
from sdlss_theory.pml import (
    PCAPrior,
    PMLConfig,
    PMLTrainer,
    psnr,
    reconstruct,
    relative_error,
)
from sdlss_theory.sweep import StudyConfig, current_task_checkpoint

logger = logging.getLogger(__name__)

Dataset = Literal["digits", "mnist", "fashion-mnist"]
Method = Literal["sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A", "pca", "pca_top", "teacher"]
METHODS = ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A", "pca", "pca_top", "teacher")
LEARNED = ("sdlss", "dcs", "sdlss_learned_A", "dcs_learned_A")
#: Hyper-parameters a ``hyper`` entry may set per method.
HYPER_KEYS = {"lr": float, "beta0": float, "lam": float, "T": int, "steps": int}


@dataclasses.dataclass(frozen=True)
class TrainingConfig(StudyConfig):
    """The training budget, architecture and evaluation shared by the PML studies."""

    trials: int = 1
    draws: int = 5
    k: int = 32
    widths: tuple[int, ...] = (128,)
    T: int = 5
    steps: int = 3000
    batch_size: int = 32
    lr: float = 3e-3
    beta0: float = 0.3
    lam: float = 1.0
    start: Literal["random", "persistent"] = "persistent"
    anneal_s: bool = False
    #: The trainer's safeguards (`PMLConfig`): the output bias at the data mean, the
    #: divergence guard's ratio (0: no guard) and the gradient-norm bound (0: no clipping).
    output_bias: Literal["zero", "data_mean"] = "zero"
    divergence_ratio: float = 0.0
    clip_norm: float = 0.0
    #: The training precision (`PMLConfig.dtype`; reconstructions are float64 either way).
    dtype: Literal["float64", "float32"] = "float64"
    hyper: tuple[str, ...] = ("none",)
    n_eval: int = 200
    n_select: int = 50
    long_steps: int = 200
    restarts: int = 5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.draws < 1:
            raise ValueError(f"draws must be >= 1, got {self.draws}")
        parse_hyper(self.hyper)

    def method_params(self, method: str, m: int | None = None) -> dict:
        """The training hyper-parameters of `method` at `m`: the shared ones, then the
        ``hyper`` entries of the method, then those of the method at that m."""
        base = {key: getattr(self, key) for key in HYPER_KEYS}
        parsed = parse_hyper(self.hyper)
        base.update(parsed.get(method, {}))
        if m is not None:
            base.update(parsed.get(f"{method}@{m}", {}))
        return base


def parse_hyper(entries: tuple[str, ...]) -> dict[str, dict]:
    """Parse ``("method:key=value,...", "method@m:key=value,...", ...)``.

    ``"none"`` is no entry; ``method@m`` applies at that m only and wins over ``method``.
    """
    out: dict[str, dict] = {}
    for entry in entries:
        if entry == "none":
            continue
        method, sep, body = entry.partition(":")
        name, at, m_text = method.partition("@")
        if not sep or name not in LEARNED or (at and not m_text.isdigit()):
            raise ValueError(
                f"hyper entries look like 'dcs:lr=0.003,beta0=0.3' or 'dcs@8:lr=0.003' with "
                f"a method among {LEARNED}; got {entry!r}"
            )
        values = out.setdefault(method, {})
        for item in body.split(","):
            key, eq, text = item.partition("=")
            key = key.strip()
            if not eq or key not in HYPER_KEYS:
                raise ValueError(f"hyper {entry!r}: keys are {sorted(HYPER_KEYS)}, got {item!r}")
            try:
                value = float(text)
            except ValueError:
                raise ValueError(
                    f"hyper {entry!r}: {key} must be a number, got {text!r}"
                ) from None
            if key in ("T", "steps"):
                if not value.is_integer():
                    raise ValueError(f"hyper {entry!r}: {key} must be an integer, got {text!r}")
                value = HYPER_KEYS[key](value)
            values[key] = value
    return out


#: What the image studies (pml_psnr_vs_m, pml_sparsity) summarise, and what `sdlss show`
#: prints first.
IMAGE_METRICS = (
    "psnr", "psnr_T", "rel_error", "rel_error_T", "beta", "train_time", "rec_time", "rank",
    "backoffs",
)  # fmt: skip
IMAGE_SHOW = ("method", "s", "m", "psnr", "psnr_T", "rel_error", "rank")

#: What the MNIST ``paper`` presets share: float32 training, the divergence guard on the
#: training's level (r = 3: on MNIST it turns the collapse at m = 25 into 15.9 dB, docs/pml.md),
#: each method's hyper-parameters tuned on MNIST's validation split with this budget
#: (`MNIST_TUNED`, `MNIST_TUNED_K784`) with beta0 at most 0.3 at m = 10 (beta0 = 1 saturates
#: the network within the guard's first window there, docs/pml.md), and a budget sized to
#: finish on 2 cores in 3 hours (docs/studies/pml_psnr_vs_m.md).
PAPER_TRAINING = dict(
    dataset="mnist", widths=(500, 500), n_val=5000, draws=3, steps=1500, batch_size=64,
    n_eval=100, n_select=20, restarts=2, long_steps=200, dtype="float32", divergence_ratio=3.0,
)  # fmt: skip


#: Hyper-parameters of `pml_psnr_vs_m`'s MNIST ``paper`` preset: `pml_tuning`'s paper preset
#: (MNIST, k = 100, s = 80, m = 25, widths 500, 500, 1,500 float32 steps; each method's best
#: validation PSNR over the same 8 combinations; docs/studies/pml_tuning.md,
#: docs/data/paper/pml_tuning).
MNIST_TUNED = (
    "sdlss:lr=0.003,beta0=1,lam=3,T=5",
    "sdlss_learned_A:lr=0.003,beta0=1,lam=3,T=5",
    "dcs:lr=0.001,beta0=0.1,lam=3,T=5",
    "dcs_learned_A:lr=0.001,beta0=0.1,lam=3,T=5",
)

#: Hyper-parameters of `pml_sparsity`'s MNIST ``paper`` preset (k = 784, m = 10):
#: `pml_tuning`'s ``paper_sparsity`` preset, each method's best validation PSNR over the same
#: 4 combinations, SDLSS's averaged over s = 10 and 784 (docs/studies/pml_tuning.md,
#: docs/data/paper/pml_tuning_k784). beta0 is 0.1: at k = 784 a latent step of 0.3 saturates
#: the dense-latent networks (docs/pml.md, "Safeguards").
MNIST_TUNED_K784 = (
    "sdlss:lr=0.003,beta0=0.1,lam=3,T=5",
    "dcs:lr=0.001,beta0=0.1,lam=3,T=5",
)

#: The largest initial latent step of the paper presets at m = 10 (see `PAPER_TRAINING`).
PAPER_BETA0_AT_10 = 0.3


def paper_hyper(tuned: tuple[str, ...]) -> tuple[str, ...]:
    """`tuned` with beta0 capped at `PAPER_BETA0_AT_10` for every learned method at m = 10.

    >>> paper_hyper(("sdlss:beta0=1,lam=3", "dcs:beta0=0.1,lam=3"))
    ('sdlss:beta0=1,lam=3', 'dcs:beta0=0.1,lam=3', 'sdlss@10:beta0=0.3')
    """
    parsed = parse_hyper(tuned)
    capped = [
        f"{method}@10:beta0={PAPER_BETA0_AT_10:g}"
        for method, values in parsed.items()
        if "@" not in method and values.get("beta0", 0.0) > PAPER_BETA0_AT_10
    ]
    return (*tuned, *capped)

#: The budget of the PML studies' quick presets.
QUICK_TRAINING = dict(draws=2, steps=300, n_eval=30, n_select=10, long_steps=60, restarts=2)


#: Training options that enter a cell's parameters (and so its task key and seed) only when
#: set away from their default, so that stored runs made before they existed still resume.
OPTIONAL_FIELDS = {
    "output_bias": "zero", "divergence_ratio": 0.0, "clip_norm": 0.0, "dtype": "float64",
}  # fmt: skip


def cells_for(config: TrainingConfig, combos: list[dict], swept: tuple[str, ...]) -> list[dict]:
    """One cell per combination and draw: the combination, the draw, the pairing seed, the
    shared fields of `config` and the method's hyper-parameters (recorded with the results).
    """
    from simulations._common import fixed_params

    fixed = fixed_params(config, swept=(*swept, "draws", "hyper"))
    for name, default in OPTIONAL_FIELDS.items():
        if fixed.get(name) == default:
            del fixed[name]
    cells = []
    for combo in combos:
        method = combo["method"]
        extra = config.method_params(method, combo.get("m")) if method in LEARNED else {}
        for draw in range(config.draws):
            cells.append({**fixed, **extra, **combo, "draw": draw, "pair_seed": config.seed})
    return cells


# ---------------------------------------------------------------------------------- data
@functools.cache
def image_split(
    dataset: str,
    split_seed: int,
    n_val: int,
    data_folder: str = "",
    download: bool = False,
    n_train: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fixed (train, validation, test) images of `dataset` in [0, 1] (cached per worker).

    digits: an 80/20 train/test split of the 1,797 images (``split_seed``); MNIST and
    Fashion-MNIST: their own training and test sets. The last `n_val` training images (after
    a shuffle by ``split_seed``) are the validation split; ``n_train`` > 0 keeps only the
    first ``n_train`` of the rest.
    """  # fmt: skip
    rng = np.random.default_rng(split_seed)
    if dataset == "digits":
        x, _ = load_digits()
        x_train, x_test = train_test_split(x, rng=rng)
    elif dataset in ("mnist", "fashion-mnist"):
        x_train, _, x_test, _ = load_mnist_dataset(
            dataset, folder=data_folder or None, download=download
        )
        x_train = x_train[rng.permutation(len(x_train))]
    else:
        raise ValueError(f"dataset must be digits, mnist or fashion-mnist, got {dataset!r}")
    if not 1 <= n_val < len(x_train):
        raise ValueError(f"n_val must be in [1, {len(x_train) - 1}], got {n_val}")
    x_val, x_train = x_train[-n_val:], x_train[:-n_val]
    if n_train > 0:
        x_train = x_train[:n_train]
    return np.ascontiguousarray(x_train), np.ascontiguousarray(x_val), x_test


def draw_rng(params: dict, *tags: int) -> np.random.Generator:
    """The generator of a draw: shared by every method of the same (draw, m, tags)."""
    return np.random.default_rng([params["pair_seed"], params["draw"], params["m"], *tags])


def draw_matrix(params: dict, n: int) -> np.ndarray:
    """The draw's Gaussian A, shape (m, n)."""
    return gaussian_matrix(params["m"], n, draw_rng(params, 0))


# ------------------------------------------------------------------------------ training
def prior_config(params: dict, n: int, output: str) -> PMLConfig:
    """The `PMLConfig` of a learned method's cell."""
    method = params["method"]
    sparse = method.startswith("sdlss")
    return PMLConfig(
        k=params["k"],
        widths=tuple(params["widths"]),
        n=n,
        m=params["m"],
        s=params["s"] if sparse else None,
        method="pml" if sparse else "dcs",
        output=output,
        T=int(params["T"]),
        beta0=params["beta0"],
        learn_A=method.endswith("learned_A"),
        lam=params["lam"],
        lr=params["lr"],
        batch_size=params["batch_size"],
        start=params["start"],
        init=params.get("init", "he"),
        output_bias=params.get("output_bias", "zero"),
        divergence_ratio=params.get("divergence_ratio", 0.0) or None,
        clip_norm=params.get("clip_norm", 0.0) or None,
        dtype=params.get("dtype", "float64"),
        **_sparsity_schedule(params, sparse),
    )


def _sparsity_schedule(params: dict, sparse: bool) -> dict:
    """With ``anneal_s``: sparsity from k down to s over the first 3/4 of the steps."""
    if not (sparse and params.get("anneal_s", False)) or params["s"] >= params["k"]:
        return {}
    return {"s_initial": params["k"], "s_anneal_steps": max(1, 3 * int(params["steps"]) // 4)}


def train_prior(
    params: dict,
    rng: np.random.Generator,
    x_train: np.ndarray,
    output: str,
    x_curve: np.ndarray | None = None,
) -> tuple[PMLTrainer, float]:
    """Train a learned method's prior from the draw's A; return the trainer and its time.

    With `x_curve` (held-out signals), the trainer evaluates its T-step reconstruction of
    them at `CURVE_POINTS` evenly spaced steps (the learning curve in ``trainer.history``;
    evaluations draw nothing from the training stream, so the trained prior is the same).

    Inside a sweep with in-task checkpoints (`run_study`'s ``checkpoint_seconds``), the
    trainer is saved every so many seconds under the task's checkpoint folder (stem
    ``prior``), and a task that finds a checkpoint of its own configuration and data there
    (a re-run after a kill) resumes from it and then continues `rng` from the saved stream:
    the task's record is the same as if it had never stopped (only ``train_time``, the time
    of this call, differs). A checkpoint that cannot be used is reported and ignored.
    """
    cfg = prior_config(params, x_train.shape[1], output)
    steps = int(params["steps"])
    task = current_task_checkpoint()
    path = None if task is None else task.path("prior")
    start = time.perf_counter()
    trainer = None if path is None else _resume(path, cfg, x_train, steps, x_curve)
    if trainer is None:
        A = draw_matrix(params, x_train.shape[1])
        trainer = PMLTrainer(cfg, x_train, rng=rng, A=A, x_val=x_curve)
    checkpoint = {} if task is None else dict(
        checkpoint_path=path, checkpoint_seconds=task.every_seconds
    )  # fmt: skip
    every = max(1, steps // CURVE_POINTS) if x_curve is not None else None
    trainer.train(steps - trainer.step, progress=False, eval_every=every, **checkpoint)
    if trainer.rng is not rng:
        # Resumed: the task's stream goes on from the trainer's, as in an unbroken run.
        rng.bit_generator.state = trainer.rng.bit_generator.state
    return trainer, time.perf_counter() - start


def _resume(
    path, cfg: PMLConfig, x_train: np.ndarray, steps: int, x_val: np.ndarray | None
) -> PMLTrainer | None:
    """The trainer saved at `path` if it is this task's (same config and data), else None."""
    try:
        trainer = PMLTrainer.load(path, x_train, x_val=x_val)
    except FileNotFoundError:
        return None  # none yet: a first run
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.warning("ignoring the checkpoint %s: %s", path, exc)
        return None
    if trainer.config != cfg or trainer.step > steps:
        logger.warning("ignoring the checkpoint %s: another configuration", path)
        return None
    logger.info("resuming the training saved at %s from step %d", path, trainer.step)
    return trainer


#: Points of the learning curve a learned trial stores (``curve``: "step:psnr,...").
CURVE_POINTS = 10


def curve_text(history: list[dict]) -> str:
    """The learning curve as ``"step:psnr,step:psnr,..."`` (PSNR in dB, 2 decimals)."""
    return ",".join(f"{int(r['step'])}:{r['psnr']:.2f}" for r in history)


def parse_curve(text: str) -> list[tuple[int, float]]:
    """Inverse of `curve_text`: ``[(step, psnr), ...]``."""
    return [(int(a), float(b)) for a, b in (item.split(":") for item in text.split(",") if item)]


# ---------------------------------------------------------------------------- evaluation
def _candidates(G, A, Y, s, params, rng) -> dict[str, np.ndarray]:
    """The reconstructions a prior is given: `latent_recover` and long first-order steps."""
    sparse = s < G.k
    out = {"recover": reconstruct(G, A, Y, s=s, solver="recover", rng=rng)[0]}
    out["iht" if sparse else "gd"] = reconstruct(
        G, A, Y, s=s, solver="iht" if sparse else "gd", steps=params["long_steps"],
        restarts=params["restarts"], rng=rng,
    )[0]  # fmt: skip
    return out


def strongest_solver(G, A, x_val, s, params, rng) -> str:
    """The solver with the smallest mean relative error on the validation signals."""
    Y = x_val @ A.T
    errors = {
        name: float(np.mean(relative_error(x_hat, x_val)))
        for name, x_hat in _candidates(G, A, Y, s, params, rng).items()
    }
    return min(errors, key=errors.get)


def evaluate_prior(
    G,
    A: np.ndarray,
    x_val: np.ndarray,
    x_test: np.ndarray,
    s: int,
    params: dict,
    rng,
    *,
    T=None,
    betas=None,
) -> tuple[dict, np.ndarray, np.ndarray | None]:
    """Strongest and (for learned priors) T-step reconstructions of `x_test`, with metrics.

    The strongest reconstruction: of `latent_recover` (with `RECOVER_OPTIONS`) and
    ``long_steps`` latent IHT (sparse) or gradient descent (dense) steps with ``restarts``
    starts, the one with the smaller mean relative error on the first ``n_select``
    validation signals (the same A), run on the test signals. Returns the metrics
    (``rel_error``, ``psnr``, ``solver``, ``rec_time`` per signal; with `T` also
    ``rel_error_T``, ``psnr_T``), the strongest and the T-step reconstructions.
    """  # fmt: skip
    solver = strongest_solver(G, A, x_val[: params["n_select"]], s, params, rng)
    Y = x_test @ A.T
    start = time.perf_counter()
    if solver == "recover":
        x_hat = reconstruct(G, A, Y, s=s, solver="recover", rng=rng)[0]
    else:
        x_hat = reconstruct(
            G, A, Y, s=s, solver=solver, steps=params["long_steps"],
            restarts=params["restarts"], rng=rng,
        )[0]  # fmt: skip
    rec_time = (time.perf_counter() - start) / len(x_test)
    metrics = {
        "rel_error": float(np.mean(relative_error(x_hat, x_test))),
        "psnr": float(np.mean(psnr(x_hat, x_test))),
        "solver": solver,
        "rec_time": rec_time,
    }
    x_T = None
    if T is not None:
        z0 = draw_rng(params, 1).standard_normal((len(x_test), G.k))
        # The trainer's own loop, from P_s(z0) (one beta per step allowed).
        x_T = _t_step(G, A, Y, s, z0, T, betas, "iht" if s < G.k else "gd")
        metrics["rel_error_T"] = float(np.mean(relative_error(x_T, x_test)))
        metrics["psnr_T"] = float(np.mean(psnr(x_T, x_test)))
    return metrics, x_hat, x_T


def _t_step(G, A, Y, s, z0, T, betas, solver):
    if np.allclose(betas, betas[0]):
        return reconstruct(G, A, Y, s=s, solver=solver, steps=T, step=float(betas[0]), z0=z0)[0]
    z = z0
    for beta in betas:
        _, z = reconstruct(G, A, Y, s=s, solver=solver, steps=1, step=float(beta), z0=z)
    return G(z)


def learned_trial(
    params: dict, rng, x_train: np.ndarray, x_val: np.ndarray, x_test: np.ndarray, output: str
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Train a learned method and evaluate it; metrics with the training time, beta, the
    learning curve on the ``n_select`` selection images and the guard's back-offs."""
    x_curve = x_val[: params["n_select"]]
    trainer, train_time = train_prior(params, rng, x_train, output, x_curve=x_curve)
    s = trainer.config.s
    metrics, x_hat, x_T = evaluate_prior(
        trainer.generator(), trainer.A, x_val, x_test, s, params, rng, T=trainer.config.T,
        betas=trainer.betas,
    )  # fmt: skip
    metrics.update(beta=trainer.beta, train_time=train_time, backoffs=len(trainer.events))
    metrics["curve"] = curve_text(trainer.history)
    return metrics, x_hat, x_T


def pca_trial(
    params: dict, x_train: np.ndarray, x_val: np.ndarray, x_test: np.ndarray
) -> tuple[dict, np.ndarray]:
    """The PCA baselines: ``pca`` (the draw's A, rank on validation) or ``pca_top``."""
    prior = PCAPrior(x_train)
    m = params["m"]
    if params["method"] == "pca_top":
        A = np.ascontiguousarray(prior.components[:, :m].T)
        rank = min(m, prior.max_rank)
    else:
        A = draw_matrix(params, x_train.shape[1])
        rank, _ = prior.best_rank(A, x_val)
    start = time.perf_counter()
    x_hat = prior.reconstruct(A, x_test @ A.T, rank)
    metrics = {
        "rel_error": float(np.mean(relative_error(x_hat, x_test))),
        "psnr": float(np.mean(psnr(x_hat, x_test))),
        "rec_time": (time.perf_counter() - start) / len(x_test),
        "rank": rank,
    }
    return metrics, x_hat


# ------------------------------------------------------------------------- teacher data
@functools.cache
def teacher_split(k, widths, n, s, n_train, n_val, n_test, data_seed):
    """The teacher (linear output, N(0, 1/fan-out) weights) and its fixed signals.

    ``n_train`` signals are drawn for training; the last ``n_val`` of them are the
    validation split. Cached per worker.
    """
    from sdlss_theory import ReLUGenerator, synthetic_dataset

    rng = np.random.default_rng(data_seed)
    teacher = ReLUGenerator.random([k, *widths, n], rng, output="linear")
    data = synthetic_dataset(teacher, s, n_train, n_test, rng)
    if not 1 <= n_val < n_train:
        raise ValueError(f"n_val must be in [1, n_train - 1 = {n_train - 1}], got {n_val}")
    x_train, x_val = data.x_train[:-n_val], data.x_train[-n_val:]
    return teacher, np.ascontiguousarray(x_train), np.ascontiguousarray(x_val), data.x_test


def teacher_trial(params: dict, rng, teacher, x_val, x_test) -> dict:
    """The teacher as the prior: the same evaluation as a learned prior, with the draw's A."""
    A = draw_matrix(params, teacher.n)
    metrics, _, _ = evaluate_prior(teacher, A, x_val, x_test, params["s"], params, rng)
    return metrics


# ------------------------------------------------------------------------------- images
@dataclasses.dataclass(frozen=True)
class ImageConfig(TrainingConfig):
    """`TrainingConfig` with the image data of `image_split`."""

    dataset: Dataset = "digits"
    data_folder: str = ""
    download: bool = False
    split_seed: int = 0
    n_val: int = 300
    start: Literal["random", "persistent"] = "random"
    n_eval: int = 100
    n_select: int = 20


def image_trial(params: dict, rng) -> tuple[dict, np.ndarray, np.ndarray]:
    """One image cell: PCA or a learned prior on the split; metrics, test images, x_hat."""
    x_train, x_val, x_test = image_split(
        params["dataset"], params["split_seed"], params["n_val"], params["data_folder"],
        params["download"],
    )  # fmt: skip
    if params["m"] > x_train.shape[1]:
        raise ValueError(f"m = {params['m']} exceeds n = {x_train.shape[1]}")
    if params["n_eval"] > len(x_test):
        raise ValueError(f"n_eval must be <= {len(x_test)}, the size of the test split")
    x_test = x_test[: params["n_eval"]]
    if params["method"].startswith("pca"):
        metrics, x_hat = pca_trial(params, x_train, x_val, x_test)
    else:
        metrics, x_hat, _ = learned_trial(params, rng, x_train, x_val, x_test, "sigmoid")
    return metrics, x_test, x_hat
