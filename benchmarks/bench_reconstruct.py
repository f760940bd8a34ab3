"""Time the strongest reconstruction's `latent_recover` at the MNIST size: today's against before.

The PML studies give every prior the better (on validation signals) of `latent_recover`
(`reconstruct(..., solver="recover")`, options `RECOVER_OPTIONS`) and long latent IHT or
gradient descent (`simulations/_pml_common.py: evaluate_prior`). This script times the
`latent_recover` candidate at k = 100, widths 500, 500, n = 784, sigmoid output, for the
sparse prior (s = 80) and the dense one (DCS, s = k), at each m asked for, in these
configurations, run on the same problems in the same process:

* ``before``: the options that reproduce the earlier defaults (every greedy-seed row grown
  one coordinate at a time, the swap search with up to 20 moves, the 8 seeds also for
  s = k): ``{"beam": 0, "exhaustive": 0, "seeds": 8, "max_swaps": 20, "grow_step": 1}``;
* one change at a time (`STEPS`): sparse ``no_swaps``, then ``now`` (+ ceil(s/m)
  coordinates per growth step); dense ``no_seeds``, then ``now`` (+ no swap search);
* ``now``: `reconstruct`'s defaults (for s > m the ``"wide"`` preset of `recover.PRESETS`:
  no swap search, ceil(s/m) coordinates per growth step; for s = k no greedy seeds).

Both run the current kernels (the Jacobian over active units in the cheaper mode is in
both); the kernel's own gain is timed separately against a NumPy forward-mode product over
every unit (what the kernel computed before), after checking they agree.

The generator is random (He-scaled Gaussian weights and small biases) unless
``--generator file.npz`` names a trained one (arrays ``W0, b0, W1, ...`` and ``A``, e.g.
saved from `PMLTrainer.generator()` and `PMLTrainer.A`); the signals are the
first MNIST test images with ``--mnist FOLDER``, else x = clip(G(z) + 0.05 noise, 0, 1),
off the range of G as real images are. On the random generator every configuration runs
with ``fit_tol=0``, so that every row runs to its end, as on a learned generator, which
rarely fits y exactly (a random one often does, ending the search at once); a trained
generator runs with the default. It prints each configuration's CPU time
per image, its ratio to ``before``, and its mean relative error, PSNR and residual, so that
a speed-up bought by a worse reconstruction shows.
``before`` at s = k and small m can take minutes per image (the reason for this script):
``--before-images`` caps its images (default 1).

Usage::

    python benchmarks/bench_reconstruct.py                       # m = 10, 40; 3 images
    python benchmarks/bench_reconstruct.py --quick               # m = 40, 1 image, sparse
    python benchmarks/bench_reconstruct.py --generator sdlss40.npz --m 40 --priors sparse \
        --mnist ../shared/data/mnist --images 20 --before-images 20

This is a benchmark, not a test: it asserts agreement, never a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package

BEFORE = {"beam": 0, "exhaustive": 0, "seeds": 8, "max_swaps": 20, "grow_step": 1}
#: The changes one at a time, from ``before`` to ``now`` (None: `reconstruct`'s defaults).
STEPS = {
    "sparse": {
        "before": BEFORE,
        "no_swaps": {**BEFORE, "max_swaps": 0},
        "now": None,  # + ceil(s/m) coordinates per growth step
    },
    "dense": {
        "before": BEFORE,
        "no_seeds": {key: v for key, v in BEFORE.items() if key != "seeds"},
        "now": None,  # + no swap search (its sign flips)
    },
}


def generator(path: str | None, m: int, rng: np.random.Generator):
    """(G, A): a trained generator and its A from `path`, or a random MNIST-size one."""
    from sdlss_theory import ReLUGenerator, gaussian_matrix

    if path:
        data = np.load(path)
        depth = sum(1 for key in data.files if key.startswith("W"))
        G = ReLUGenerator(
            [data[f"W{i}"] for i in range(depth)],
            [data[f"b{i}"] for i in range(depth)],
            output="sigmoid",
        )
        A = data["A"] if "A" in data.files else gaussian_matrix(m, G.n, rng)
        return G, A
    dims = [100, 500, 500, 784]
    pairs = zip(dims[:-1], dims[1:], strict=True)
    weights = [rng.standard_normal((b, a)) * np.sqrt(2.0 / a) for a, b in pairs]
    biases = [0.1 * rng.standard_normal(b) for b in dims[1:]]
    return ReLUGenerator(weights, biases, output="sigmoid"), gaussian_matrix(m, dims[-1], rng)


def signals(G, s: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """x = clip(G(z) + 0.05 noise, 0, 1) with z an s-sparse standard normal code."""
    from sdlss_theory import hard_threshold

    Z = hard_threshold(rng.standard_normal((count, G.k)), s)
    return np.clip(G(Z) + 0.05 * rng.standard_normal((count, G.n)), 0.0, 1.0)


def mnist_images(folder: str, count: int) -> np.ndarray:
    """The first `count` MNIST test images (IDX files in `folder`), in [0, 1]."""
    from sdlss_theory import load_mnist

    return load_mnist(folder, "t10k")[0][:count]


def run(G, A, X, s, options, fit_tol):
    """CPU seconds per image, mean relative error, mean PSNR and mean relative residual.

    ``options`` None: `reconstruct`'s own (`RECOVER_OPTIONS`, without seeds when s = k).
    ``fit_tol`` (0 on a random generator, None: the default) is given to every configuration.
    """
    from sdlss_theory.pml import RECOVER_OPTIONS, psnr, reconstruct, relative_error

    if options is None:
        options = {key: v for key, v in RECOVER_OPTIONS.items() if key != "seeds" or s < G.k}
    if fit_tol is not None:
        options = {**options, "fit_tol": fit_tol}
    Y = X @ A.T
    start = time.process_time()
    x_hat, _ = reconstruct(G, A, Y, s=s, solver="recover", rng=0, recover_options=options)
    seconds = (time.process_time() - start) / len(X)
    residual = np.linalg.norm(Y - x_hat @ A.T, axis=1) / np.linalg.norm(Y, axis=1)
    error = float(np.mean(relative_error(x_hat, X)))
    return seconds, error, float(np.mean(psnr(x_hat, X))), float(np.mean(residual))


def jacobian_speed(G, A, rng, repeat: int = 20) -> tuple[float, float]:
    """ms per Jacobian (80 columns): the kernel against a NumPy product over every unit."""
    from sdlss_theory._kernels.network import jacobian_columns, objective, row_work

    net = G.pack(A)
    z = rng.standard_normal(G.k)
    work = row_work(net)
    objective(net, np.zeros(A.shape[0]), z, work.H)
    cols = np.sort(rng.choice(G.k, 80, replace=False))

    def numpy_jacobian():
        pre, h = [], z
        for W, b in zip(G.weights, G.biases, strict=True):
            a = W @ h + b
            pre.append(a)
            h = np.maximum(a, 0.0)
        sig = 1.0 / (1.0 + np.exp(-pre[-1]))
        t = G.weights[0][:, cols] * (pre[0] > 0)[:, None]
        for W, a in zip(G.weights[1:-1], pre[1:-1], strict=True):
            t = (W @ t) * (a > 0)[:, None]
        return A @ ((G.weights[-1] @ t) * (sig * (1.0 - sig))[:, None])

    np.testing.assert_allclose(jacobian_columns(net, work.H, cols), numpy_jacobian(),
                               rtol=1e-8, atol=1e-10)  # fmt: skip
    times = []
    for fn in (lambda: jacobian_columns(net, work.H, cols), numpy_jacobian):
        start = time.process_time()
        for _ in range(repeat):
            fn()
        times.append((time.process_time() - start) / repeat * 1e3)
    return times[0], times[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="m = 40, one image, sparse only")
    parser.add_argument("--m", nargs="+", type=int, default=None, help="measurements (10 40)")
    parser.add_argument("--images", type=int, default=None, help="images per case (3)")
    parser.add_argument("--before-images", type=int, default=1,
                        help="images of 'before' (it can be very slow)")  # fmt: skip
    parser.add_argument("--priors", nargs="+", choices=["sparse", "dense"], default=None)
    parser.add_argument("--generator", default=None, help="a trained generator (.npz)")
    parser.add_argument("--mnist", default=None, help="MNIST IDX folder: its test images")
    parser.add_argument("--s", type=int, default=80, help="sparsity of the sparse prior")
    args = parser.parse_args(argv)
    ms = args.m or ([40] if args.quick else [10, 40])
    images = args.images or (1 if args.quick else 3)
    priors = args.priors or (["sparse"] if args.quick else ["sparse", "dense"])
    from threadpoolctl import threadpool_info, threadpool_limits

    from sdlss_theory._kernels import warm_up

    warm_up()
    blas = {p["internal_api"]: p.get("version") for p in threadpool_info()}
    print(f"python {platform.python_version()}, numpy {np.__version__}; BLAS {blas}")
    source = args.generator or "random (He weights), k = 100, widths 500, 500, n = 784"
    print(f"one BLAS thread, CPU time; load {os.getloadavg()}; generator: {source}")
    header = f"{'prior':7s} {'m':>4s} {'step':9s} {'images':>6s} {'s/image':>8s} "
    print(header + f"{'rel. error':>10s} {'PSNR':>6s} {'residual':>9s} {'/ before':>8s}")
    with threadpool_limits(1):
        rng = np.random.default_rng(0)
        G, A = generator(args.generator, ms[0], rng)
        new_ms, old_ms = jacobian_speed(G, A, rng)
        print(f"Jacobian, 80 columns, m = {A.shape[0]}: kernel {new_ms:.2f} ms, NumPy over "
              f"every unit {old_ms:.2f} ms, ratio {new_ms / old_ms:.2f}")  # fmt: skip
        for m in ms:
            G, A = generator(args.generator, m, np.random.default_rng(m))
            if A.shape[0] != m:
                raise ValueError(f"--generator's A has m = {A.shape[0]}, not {m}")
            for prior in priors:
                s = args.s if prior == "sparse" else G.k
                if args.mnist:
                    X = mnist_images(args.mnist, images)
                else:
                    X = signals(G, s, images, np.random.default_rng(100 + m))
                before = None
                for step, options in STEPS[prior].items():
                    count = args.before_images if step == "before" else images
                    fit_tol = None if args.generator else 0.0
                    sec, err, db, res = run(G, A, X[:count], s, options, fit_tol)
                    before = sec if before is None else before
                    print(f"{prior:7s} {m:4d} {step:9s} {count:6d} {sec:8.3f} {err:10.4f} "
                          f"{db:6.2f} {res:9.2e} {sec / before:8.3f}", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
