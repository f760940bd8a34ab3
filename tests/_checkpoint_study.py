"""A tiny PML study whose tasks train through `train_prior` (for the kill -9 test).

Run as a script: ``python tests/_checkpoint_study.py OUT STEPS CHECKPOINT_SECONDS`` (``none``
turns in-task checkpoints off); logs at INFO level on stderr (a resumed task says so).
"""

from __future__ import annotations

import hashlib
import logging
import sys

import numpy as np

from sdlss_theory.sweep import Study, StudyConfig, run_study

N_SIGNAL = 16


def data() -> np.ndarray:
    return np.random.default_rng(0).random((120, N_SIGNAL))


def cells(steps: int) -> list[dict]:
    base = dict(k=6, widths=[16], m=6, s=3, T=3, beta0=0.1, lam=1.0, lr=1e-2, batch_size=16,
                steps=steps, pair_seed=0, draw=0)  # fmt: skip
    return [
        {**base, "method": "sdlss", "start": "persistent"},
        {**base, "method": "dcs_learned_A", "start": "random"},
    ]


def trial(params: dict, rng: np.random.Generator) -> dict:
    """Train, then report a digest of every learned array and the task's next draw."""
    from simulations._pml_common import train_prior

    x = data()
    trainer, _ = train_prior(params, rng, x, "sigmoid")
    digest = hashlib.sha256()
    for name in sorted(trainer.params):
        digest.update(trainer.params[name].tobytes())
        digest.update(trainer.adam_v[name].tobytes())
    if trainer.codes is not None:
        digest.update(trainer.codes.tobytes())
    xi = rng.standard_normal((10, trainer.config.k))
    return {
        "digest": digest.hexdigest()[:40],
        "steps_done": trainer.step,
        "loss": trainer.losses(x[:10], xi)["loss"],
        "next_draw": float(rng.random()),
    }


def study(steps: int) -> Study:
    return Study("ckpt", StudyConfig, lambda c: cells(steps), trial, "kill -9 test", success=None)


if __name__ == "__main__":
    out, steps, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    run_study(
        study(steps), StudyConfig(trials=1), out, n_jobs=1, backend="sequential", progress="none",
        checkpoint_seconds=None if seconds == "none" else float(seconds),
    )  # fmt: skip
