"""Learning curves of one PML / DCS training on MNIST at the paper's size (not a test).

The trainer used directly (k = 100, widths 500, 500, n = 784, sigmoid output, T = 5, batch
64, random starts, the first 20,000 training images after a fixed shuffle, a Gaussian A drawn
from seed (0, m), trainer seed ``--seed``, 1 by default): every ``--every`` steps it prints
the T-step PSNR on the first 200 test images, the held-out losses, beta, the mean code norm
after the T steps, the fraction of saturated output pixels (< 0.01 or > 0.99) and the guard's
back-offs. Any
`PMLConfig` field can be set as JSON, e.g. the runs of docs/pml.md's safeguard tables:

    python benchmarks/mnist_training_curves.py ../shared/data/mnist --m 25 --steps 800
    python benchmarks/mnist_training_curves.py ../shared/data/mnist --m 25 --steps 800 \\
        --set '{"divergence_ratio": 3.0}'
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from sdlss_theory import gaussian_matrix, load_mnist_dataset
from sdlss_theory.pml import PMLConfig, PMLTrainer
from sdlss_theory.pml.network import outer_loss

BASE = dict(k=100, widths=(500, 500), n=784, s=80, method="pml", output="sigmoid", T=5,
            beta0=1.0, lam=3.0, lr=3e-3, batch_size=64, start="random")  # fmt: skip


def curves(
    folder: str, m: int, steps: int, every: int, overrides: dict, seed: int = 1
) -> list[dict]:
    """Train and return one record per evaluation (also printed as it goes)."""
    x_train, _, x_test, _ = load_mnist_dataset("mnist", folder=folder)
    x_train = x_train[np.random.default_rng(0).permutation(len(x_train))][:20000]
    x_eval = x_test[:200]
    settings = {**BASE, "m": m, **overrides}
    if settings["method"] == "dcs":
        settings["s"] = None
    trainer = PMLTrainer(PMLConfig(**settings), x_train, rng=seed, x_val=x_eval,
                         A=gaussian_matrix(m, 784, np.random.default_rng([0, m])))  # fmt: skip
    start, records = time.perf_counter(), []
    for i in range(steps // every + 1):
        if i:
            trainer.train(every, progress=False)
        r = trainer.evaluate()
        xi = np.random.default_rng(trainer.eval_seed).standard_normal((len(x_eval), 100))
        _, _, ZT = outer_loss(trainer.params, trainer.A, x_eval, xi, trainer.config,
                              need_grad=False)  # fmt: skip
        out = trainer.forward(ZT)
        records.append({
            "step": r["step"], "psnr": round(r["psnr"], 2), "L_G": round(r["L_G"], 3),
            "L_A": round(r["L_A"], 3), "beta": round(r["beta"], 3),
            "code_norm": round(float(np.linalg.norm(ZT, axis=1).mean()), 1),
            "saturated": round(float(np.mean((out < 0.01) | (out > 0.99))), 3),
            "backoffs": len(trainer.events), "seconds": round(time.perf_counter() - start),
        })  # fmt: skip
        print(json.dumps(records[-1]), flush=True)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder with the MNIST IDX files")
    parser.add_argument("--m", type=int, default=25)
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1, help="the trainer's seed")
    parser.add_argument("--set", default="{}", help="PMLConfig fields as a JSON object")
    args = parser.parse_args()
    curves(args.folder, args.m, args.steps, args.every, json.loads(args.set), args.seed)


if __name__ == "__main__":
    main()
