"""Why training does not reach the teacher: learning curves and ablations on teacher data.

Estimand: for each training variant (a set of `PMLConfig` options; `VARIANTS`) on the
teacher data of `pml_synthetic` at one m, the learning curves -- the mean training loss,
the held-out measurement loss L_G (T steps from a fixed random start) and the held-out
relative error of the strongest reconstruction, every ``eval_every`` steps -- and the final
mean relative test error of the strongest reconstruction, beside the teacher's and the PCA
prior's with the same A.

A trial is one training run (the task's seed) from the draw's A (``draw``: the same A for
every variant of the same draw, so the variants' final errors are paired). Curves are stored
as metrics ``curve_<quantity>_<step>``. The held-out curve error uses ``n_curve`` validation
signals (after the ``n_select`` that pick the strongest solver); the final error uses
``n_eval`` test signals.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdlss_theory.pml import PMLConfig, PMLTrainer, relative_error
from sdlss_theory.sweep import Study
from simulations._pml_common import (
    QUICK_TRAINING,
    TrainingConfig,
    cells_for,
    draw_matrix,
    evaluate_prior,
    pca_trial,
    strongest_solver,
    teacher_split,
    teacher_trial,
)

#: The candidates, as overrides of the base configuration (Algorithm 1 with the teacher's
#: architecture: random starts, T = 5, learned beta, RIP loss lambda = 1, constant lr).
#: ``anneal``: cosine learning rate down to ``lr_final``; ``anneal_s``: sparsity from k down
#: to s over the first three quarters of the steps (`PMLConfig.s_initial`); ``early_stop``:
#: the parameters with the smallest held-out curve error are kept (`PMLTrainer.train`'s
#: ``keep_best``; the curve is evaluated every ``eval_every`` steps). ``..._s<N>``: the
#: learner's sparsity N instead of the teacher's s (a hyper-parameter of the learner; the data
#: keep the teacher's s).
VARIANTS: dict[str, dict] = {
    "algorithm1": {},
    "algorithm1_wide": {"widths": (128,)},
    "algorithm1_cosine": {"anneal": True},
    "algorithm1_T10": {"T": 10},
    "persistent": {"start": "persistent"},
    "persistent_wide": {"start": "persistent", "widths": (128,)},
    "persistent_wide_cosine": {"start": "persistent", "widths": (128,), "anneal": True},
    "persistent_wide_T10": {"start": "persistent", "widths": (128,), "T": 10},
    "persistent_wide_k32": {"start": "persistent", "widths": (128,), "k": 32},
    "persistent_wide_hinge": {"start": "persistent", "widths": (128,), "srec_form": "hinge"},
    "persistent_wide_lam3": {"start": "persistent", "widths": (128,), "lam": 3.0},
    "persistent_wide_lam0.3": {"start": "persistent", "widths": (128,), "lam": 0.3},
    "persistent_wide_per_step_beta": {"start": "persistent", "widths": (128,),
                                      "beta_per_step": True},
    "persistent_wide_learned_A": {"start": "persistent", "widths": (128,), "learn_A": True},
    "persistent_wide_he": {"start": "persistent", "widths": (128,), "init": "he"},
    "persistent_wide_signal": {"start": "persistent", "widths": (128,), "signal_weight": 1.0},
    "persistent_wide_anneal_s": {"start": "persistent", "widths": (128,), "anneal_s": True},
    "persistent_wide_anneal_s_cosine": {"start": "persistent", "widths": (128,),
                                        "anneal_s": True, "anneal": True},
    "persistent_anneal_s": {"start": "persistent", "anneal_s": True},
    "algorithm1_early_stop": {"early_stop": True},
    "persistent_wide_anneal_s_early_stop": {"start": "persistent", "widths": (128,),
                                            "anneal_s": True, "early_stop": True},
    **{f"persistent_wide_anneal_s_cosine_s{s}": {"start": "persistent", "widths": (128,),
                                                "anneal_s": True, "anneal": True, "s": s}
       for s in (6, 8, 10, 12)},
}  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Config(TrainingConfig):
    variants: tuple[str, ...] = (
        "algorithm1", "algorithm1_wide", "algorithm1_cosine", "algorithm1_early_stop",
        "persistent", "persistent_wide", "persistent_wide_cosine", "persistent_wide_hinge",
        "persistent_wide_learned_A", "persistent_wide_signal", "persistent_anneal_s",
        "persistent_wide_anneal_s", "persistent_wide_anneal_s_cosine",
        "persistent_wide_anneal_s_early_stop", "persistent_wide_anneal_s_cosine_s6",
        "persistent_wide_anneal_s_cosine_s8", "persistent_wide_anneal_s_cosine_s10",
        "persistent_wide_anneal_s_cosine_s12",
    )  # fmt: skip
    m: int = 16
    k: int = 16
    s: int = 3
    teacher_widths: tuple[int, ...] = (32,)
    widths: tuple[int, ...] = (32,)
    n: int = 64
    n_train: int = 1500
    n_val: int = 300
    n_test: int = 300
    data_seed: int = 0
    start: str = "random"
    steps: int = 20000
    eval_every: int = 4000
    lr_final: float = 1e-4
    draws: int = 2
    n_eval: int = 100
    n_curve: int = 30

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; known: {sorted(VARIANTS)}")
        if self.n_select + self.n_curve > self.n_val:
            raise ValueError("n_select + n_curve must not exceed n_val")

    @classmethod
    def quick(cls) -> Config:
        quick = {**QUICK_TRAINING, "steps": 600}
        return cls(variants=("algorithm1", "persistent"), n_train=500, n_val=100, n_test=60,
                   eval_every=200, n_curve=10, **quick)  # fmt: skip


def grid(config: Config) -> list[dict]:
    combos = [{"method": "variant", "variant": v, "m": config.m} for v in config.variants]
    combos += [{"method": b, "variant": b, "m": config.m} for b in ("teacher", "pca")]
    return cells_for(config, combos, swept=("variants", "m"))


def variant_config(params: dict) -> PMLConfig:
    """The `PMLConfig` of a variant cell (base fields, then the variant's overrides)."""
    over = dict(VARIANTS[params["variant"]])
    anneal = over.pop("anneal", False)
    anneal_s = over.pop("anneal_s", False)
    over.pop("early_stop", False)
    fields = dict(
        k=params["k"], widths=tuple(params["widths"]), n=params["n"], m=params["m"],
        s=params["s"], output="linear", T=int(params["T"]), beta0=params["beta0"],
        lam=params["lam"], lr=params["lr"], batch_size=params["batch_size"],
        start=params["start"], init="hand",
    )  # fmt: skip
    fields.update(over)
    if anneal:
        fields.update(lr_final=params["lr_final"], anneal_steps=int(params["steps"]))
    if anneal_s:  # sparsity from k down to s over the first three quarters of training
        fields.update(s_initial=fields["k"], s_anneal_steps=max(1, 3 * int(params["steps"]) // 4))
    return PMLConfig(**fields)


def trial(params: dict, rng: np.random.Generator) -> dict:
    teacher, x_train, x_val, x_test = teacher_split(
        params["k"], tuple(params["teacher_widths"]), params["n"], params["s"],
        params["n_train"], params["n_val"], params["n_test"], params["data_seed"],
    )  # fmt: skip
    x_test = x_test[: params["n_eval"]]
    if params["method"] == "teacher":
        return teacher_trial({**params, "s": params["s"]}, rng, teacher, x_val, x_test)
    if params["method"] == "pca":
        return pca_trial(params, x_train, x_val, x_test)[0]
    cfg = variant_config(params)
    n_sel = params["n_select"]
    x_curve = x_val[n_sel : n_sel + params["n_curve"]]
    A = draw_matrix(params, params["n"])
    trainer = PMLTrainer(cfg, x_train, rng=rng, x_val=x_val, A=A)
    eval_rng = np.random.default_rng(0)

    def held_out(tr: PMLTrainer) -> dict:
        G = tr.generator()
        solver = strongest_solver(G, tr.A, x_val[:n_sel], cfg.s, params, eval_rng)
        from sdlss_theory.pml import reconstruct

        opts = {} if solver == "recover" else dict(steps=params["long_steps"],
                                                    restarts=params["restarts"])  # fmt: skip
        x_hat = reconstruct(G, tr.A, x_curve @ tr.A.T, s=cfg.s, solver=solver, rng=eval_rng,
                            **opts)[0]  # fmt: skip
        return {"val_error": float(np.mean(relative_error(x_hat, x_curve)))}

    early = VARIANTS[params["variant"]].get("early_stop", False)
    history = trainer.train(int(params["steps"]), progress=False,
                            eval_every=int(params["eval_every"]), evaluation=held_out,
                            keep_best="val_error" if early else None)  # fmt: skip
    metrics, _, _ = evaluate_prior(
        trainer.generator(), trainer.A, x_val, x_test, cfg.s, params, rng, T=cfg.T,
        betas=trainer.betas,
    )  # fmt: skip
    metrics["beta"] = trainer.beta
    if trainer.best_step is not None:
        metrics["best_step"] = trainer.best_step
    codes = trainer.sparse_codes()
    if codes is not None:  # how well the persistent codes fit their training signals
        metrics["code_fit"] = float(np.mean(relative_error(trainer.forward(codes), x_train)))
    for record in history:
        step = int(record["step"])
        metrics[f"curve_train_loss_{step}"] = record["train_loss"]
        metrics[f"curve_val_LG_{step}"] = record["L_G"]
        metrics[f"curve_val_error_{step}"] = record["val_error"]
    return metrics


STUDY = Study(
    name="pml_training",
    config=Config,
    grid=grid,
    trial=trial,
    description="PML training on teacher data: learning curves and ablations of the trainer",
    success=None,
    metrics=("rel_error", "rel_error_T", "code_fit", "beta", "rec_time"),
    show=("variant", "m", "rel_error", "rel_error_T", "code_fit", "beta"),
)
