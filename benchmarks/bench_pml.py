"""Time one PML training step: `PMLTrainer`'s hand-derived gradient against PyTorch.

The step timed is the outer loss of `sdlss_theory.pml` and its gradient with respect to
every parameter (weights, biases, log beta; A fixed), through T unrolled latent IHT steps

    z_{t+1} = P_s(z_t - beta * 2 J_G(z_t)^T A^T (A G(z_t) - y)),

with the RIP loss of DCS (lambda = 1), at two sizes:

* ``digits``: k = 32, widths 64, n = 64, m = 16, s = 8, T = 5, batch 32;
* ``mnist``: k = 100, widths 500, 500, n = 784, m = 100, s = 80, T = 5, batch 64;

each with a sigmoid and a linear output. Implementations:

* ``sdlss``: `sdlss_theory.pml.network.outer_loss` (what `PMLTrainer.gradient` calls): one
  reverse sweep written by hand, per-parameter gradients, A W_d folded once per step for a
  linear output;
* ``torch``: the same loss written in PyTorch (CPU): the latent gradient written out
  as the explicit backward recursion (the cheapest way to express it; nesting
  ``torch.autograd.grad(create_graph=True)`` is slower), P_s by a stable argsort mask, then
  ``loss.backward()``.

Each in float64 and in float32 (``PMLConfig(dtype="float32")``; torch tensors of dtype
float32), all with one thread (``torch.set_num_threads(1)``, threadpoolctl on NumPy's BLAS).
Before timing, the script asserts that the two float64 implementations give the same loss
(1e-12 relative) and the same gradient (1e-10 relative to each array's largest entry), and
prints how far each float32 gradient is from the float64 one (the largest difference
relative to each array's largest entry: single-precision rounding, amplified by the T
unrolled steps). Calls of the four are interleaved in rounds; the figure is the minimum over
rounds of each round's median, and the ratios are measured in the same run. Steps are timed
in CPU time of this process (``time.process_time``; ``--clock wall`` for wall time): with
one thread each it is the work done, and it stays meaningful on a machine shared with
other jobs, where wall time mostly measures waiting for a core:

* ``32/64``: our float32 step over our float64 step (target <= 0.55);
* ``32/t32``: our float32 step over PyTorch's float32 step (target <= 1.0);
* ``64/t64``: our float64 step over PyTorch's float64 step.

With ``--threads N`` it also times our step (float64 and float32) with N BLAS threads
against one thread, interleaved, and says whether the gradients are bit-equal: what a
sweep's default of several threads per task (docs/sweeps.md) buys and changes.

With ``--train-mnist FOLDER`` (the MNIST IDX files) it also trains the MNIST-size SDLSS
prior (m = 40, lr 3e-3, beta0 1, lambda 3, the first 20,000 training images, trainer seed 1)
for ``--train-steps`` steps in each precision from the same draws, and prints the T-step
PSNR on the first 200 test images at four evaluations and the CPU time: whether float32
trains as float64 does.

Usage::

    pip install "torch==2.13.0"          # a CPU build; only this benchmark needs it
    python benchmarks/bench_pml.py        # both sizes, both outputs
    python benchmarks/bench_pml.py --quick --sizes digits
    python benchmarks/bench_pml.py --sizes mnist --outputs sigmoid --threads 2
    python benchmarks/bench_pml.py --sizes digits --train-mnist ../shared/data/mnist

This is a benchmark, not a test: it asserts agreement, never a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np

SIZES = {
    # name: (k, widths, n, m, s, T, batch)
    "digits": (32, (64,), 64, 16, 8, 5, 32),
    "mnist": (100, (500, 500), 784, 100, 80, 5, 64),
}


def torch_loss(torch, params, A, X, Z0, cfg):
    """The outer loss of `sdlss_theory.pml` in PyTorch (the reference of this benchmark)."""
    depth = len(cfg.dims) - 1
    Ws = [params[f"W{i}"] for i in range(depth)]
    bs = [params[f"b{i}"] for i in range(depth)]
    beta = torch.exp(params["log_beta"])
    Y = X @ A.T

    def project(Z):
        keep = torch.argsort(-Z.detach().abs(), dim=1, stable=True)[:, : cfg.s]
        return Z * torch.zeros_like(Z).scatter_(1, keep, 1.0)

    def forward(Z):
        h, masks = Z, []
        for W, b in zip(Ws[:-1], bs[:-1], strict=True):
            a = h @ W.T + b
            mask = (a > 0).to(a.dtype)
            h = a * mask
            masks.append(mask)
        a = h @ Ws[-1].T + bs[-1]
        return (torch.sigmoid(a) if cfg.output == "sigmoid" else a), masks

    def latent_gradient(Z):
        x, masks = forward(Z)
        g = 2.0 * ((x @ A.T - Y) @ A)
        if cfg.output == "sigmoid":
            g = g * x * (1.0 - x)
        g = g @ Ws[-1]
        for W, mask in zip(Ws[-2::-1], masks[::-1], strict=True):
            g = (g * mask) @ W
        return g

    Z = project(Z0) if cfg.sparse else Z0
    Z_first = Z
    for _ in range(cfg.T):
        Z = Z - beta * latent_gradient(Z)
        if cfg.sparse:
            Z = project(Z)
    x_hat, _ = forward(Z)
    x_0, _ = forward(Z_first)
    L_G = ((x_hat @ A.T - Y) ** 2).sum(1).mean()

    def norms(D):
        return torch.sqrt((D * D).sum(1) + 1e-12)

    def r(D):
        return (norms(D @ A.T) - norms(D)) ** 2

    L_A = ((r(x_hat - x_0) + r(x_hat - X) + r(x_0 - X)) / 3.0).mean()
    return L_G + cfg.lam * L_A


def problem(size: str, output: str, seed: int = 0, dtype: str = "float64"):
    from sdlss_theory.pml import PMLConfig
    from sdlss_theory.pml.network import init_params

    k, widths, n, m, s, T, batch = SIZES[size]
    cfg = PMLConfig(
        k=k, widths=widths, n=n, m=m, s=s, T=T, output=output, beta0=0.05, dtype=dtype
    )
    rng = np.random.default_rng(seed)
    params, A = init_params(cfg, rng)
    for name in params:  # non-zero biases, so every parameter matters
        if name.startswith("b"):
            params[name] = params[name] + 0.1 * rng.standard_normal(params[name].shape)
    X = rng.random((batch, n))
    Z0 = rng.standard_normal((batch, k))
    if dtype != "float64":  # the same draws, rounded
        params = {name: p.astype(dtype) for name, p in params.items()}
        A, X, Z0 = A.astype(dtype), X.astype(dtype), Z0.astype(dtype)
    return cfg, params, A, X, Z0


def check_agreement(torch, cfg, params, A, X, Z0) -> tuple[float, float]:
    """Relative loss difference and the largest relative gradient difference."""
    from sdlss_theory.pml.network import outer_loss

    losses, grads, _ = outer_loss(params, A, X, Z0, cfg)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    loss = torch_loss(torch, tp, torch.tensor(A), torch.tensor(X), torch.tensor(Z0), cfg)
    loss.backward()
    loss_diff = abs(loss.item() - losses["loss"]) / max(1.0, abs(losses["loss"]))
    grad_diff = max(
        float(np.max(np.abs(tp[k].grad.numpy() - g)) / max(1.0, np.max(np.abs(g))))
        for k, g in grads.items()
    )
    assert loss_diff <= 1e-12, f"losses differ: {loss_diff:.2e}"
    assert grad_diff <= 1e-10, f"gradients differ: {grad_diff:.2e}"
    return loss_diff, grad_diff


def float32_error(torch, problem64, problem32) -> tuple[float, float]:
    """Largest gradient difference, relative to each array's largest float64 entry, of our
    float32 step and of PyTorch's float32 step against our float64 step."""
    from sdlss_theory.pml.network import outer_loss

    _, g64, _ = outer_loss(*problem64[1:], problem64[0])
    cfg, params, A, X, Z0 = problem32
    _, g32, _ = outer_loss(params, A, X, Z0, cfg)
    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    torch_loss(torch, tp, torch.tensor(A), torch.tensor(X), torch.tensor(Z0), cfg).backward()

    def worst(grads):
        return max(
            float(np.max(np.abs(np.asarray(grads[k], dtype=np.float64) - g)) / np.max(np.abs(g)))
            for k, g in g64.items()
        )

    return worst(g32), worst({k: v.grad.numpy() for k, v in tp.items()})


def _runners(torch, cfg, params, A, X, Z0):
    """(ours, PyTorch's): callables computing the loss and the full gradient once."""
    from sdlss_theory.pml.network import outer_loss

    tp = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    tA, tX, tZ = torch.tensor(A), torch.tensor(X), torch.tensor(Z0)

    def run_sdlss():
        outer_loss(params, A, X, Z0, cfg)

    def run_torch():
        for v in tp.values():
            v.grad = None
        torch_loss(torch, tp, tA, tX, tZ, cfg).backward()

    return run_sdlss, run_torch


CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = CLOCK["cpu"]


def time_all(torch, problem64, problem32, repeat: int, inner: int) -> dict[str, float]:
    """Seconds per step of ``sdlss64, torch64, sdlss32, torch32`` (interleaved rounds)."""
    runs = dict(zip(("sdlss64", "torch64"), _runners(torch, *problem64), strict=True))
    runs.update(zip(("sdlss32", "torch32"), _runners(torch, *problem32), strict=True))
    for f in runs.values():  # warm-up
        f()
        f()
    best = dict.fromkeys(runs, np.inf)
    for _ in range(repeat):
        rounds = {name: [] for name in runs}
        for _ in range(inner):
            for name, f in runs.items():
                t = clock()
                f()
                rounds[name].append(clock() - t)
        for name in best:
            best[name] = min(best[name], statistics.median(rounds[name]))
    return best


def time_threads(problem_, threads: int, repeat: int, inner: int) -> tuple[float, float, bool]:
    """Seconds per step of ours with 1 and with `threads` BLAS threads; bit-equal gradients?

    Wall time, whatever ``--clock`` says (CPU time adds up the threads).
    """
    from threadpoolctl import threadpool_limits

    from sdlss_theory.pml.network import outer_loss

    cfg, params, A, X, Z0 = problem_
    grads, best = {}, {}
    for n in (1, threads):
        with threadpool_limits(n):
            grads[n] = outer_loss(params, A, X, Z0, cfg)[1]
    for _ in range(repeat):
        rounds = {1: [], threads: []}
        for _ in range(inner):
            for n in rounds:
                with threadpool_limits(n):
                    t = time.perf_counter()
                    outer_loss(params, A, X, Z0, cfg)
                    rounds[n].append(time.perf_counter() - t)
        for n, ts in rounds.items():
            best[n] = min(best.get(n, np.inf), statistics.median(ts))
    same = all(np.array_equal(grads[1][k], grads[threads][k]) for k in grads[1])
    return best[1], best[threads], same


def train_both(folder: str, steps: int) -> None:
    """Train the MNIST-size prior in float64 and in float32 from the same draws."""
    from threadpoolctl import threadpool_limits

    from sdlss_theory import load_mnist_dataset
    from sdlss_theory.pml import PMLConfig, PMLTrainer

    x_train, _, x_test, _ = load_mnist_dataset("mnist", folder=folder)
    every = max(1, steps // 4)
    print(f"training {steps} steps, T-step PSNR on 200 test images every {every} steps")
    for dtype in ("float64", "float32"):
        cfg = PMLConfig(k=100, widths=(500, 500), n=784, m=40, s=80, T=5, batch_size=64,
                        lr=3e-3, beta0=1.0, lam=3.0, output="sigmoid", dtype=dtype)  # fmt: skip
        with threadpool_limits(1):
            trainer = PMLTrainer(cfg, x_train[:20000], rng=1, x_val=x_test[:200])
            start = time.process_time()
            history = trainer.train(steps, progress=False, eval_every=every)
            cpu = time.process_time() - start
        curve = ", ".join(f"{r['psnr']:.2f}" for r in history)
        print(f"{dtype}: PSNR {curve} dB; CPU {cpu:.1f} s (evaluations included)", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--outputs", nargs="+", choices=["sigmoid", "linear"],
                        default=["sigmoid", "linear"])  # fmt: skip
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--inner", type=int, default=None)
    parser.add_argument("--clock", choices=sorted(CLOCK), default="cpu",
                        help="CPU time of this process (default) or wall time")  # fmt: skip
    parser.add_argument("--threads", type=int, default=None,
                        help="also time our step with N BLAS threads against one")  # fmt: skip
    parser.add_argument("--train-mnist", metavar="FOLDER", default=None,
                        help="also train the MNIST-size prior in both precisions")  # fmt: skip
    parser.add_argument("--train-steps", type=int, default=400)
    args = parser.parse_args(argv)
    global clock
    clock = CLOCK[args.clock]
    try:
        import torch
    except ImportError:
        print("bench_pml needs PyTorch (a CPU build): pip install torch==2.13.0")
        return 1
    from threadpoolctl import threadpool_info, threadpool_limits

    torch.set_num_threads(1)
    repeat = args.repeat or (3 if args.quick else 7)
    print(f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}")
    blas = {p["internal_api"]: p.get("version") for p in threadpool_info()}
    print(f"BLAS: {blas}; torch threads: {torch.get_num_threads()}; load: {os.getloadavg()}; "
          f"clock: {args.clock}")  # fmt: skip
    print("agreement: loss / gradient of the float64 pair; gradient of our and PyTorch's "
          "float32 step against our float64 step (relative to each array's largest entry)")
    print(f"{'size':7s} {'output':8s} {'loss64':>8s} {'grad64':>8s} {'ours32':>8s} "
          f"{'torch32':>8s} | {'ms: ours64':>10s} {'torch64':>8s} {'ours32':>8s} "
          f"{'torch32':>8s} | {'32/64':>6s} {'32/t32':>6s} {'64/t64':>6s}")  # fmt: skip
    with threadpool_limits(1):
        for size in args.sizes:
            inner = args.inner or (5 if size == "mnist" else 21)
            if args.quick:
                inner = max(3, inner // 3)
            for output in args.outputs:
                p64 = problem(size, output)
                p32 = problem(size, output, dtype="float32")
                ldiff, gdiff = check_agreement(torch, *p64)
                e_ours, e_torch = float32_error(torch, p64, p32)
                t = time_all(torch, p64, p32, repeat, inner)
                widths = {"sdlss64": 10, "torch64": 8, "sdlss32": 8, "torch32": 8}
                ms = " ".join(f"{t[k] * 1e3:{w}.2f}" for k, w in widths.items())
                ratios = (f"{t['sdlss32'] / t['sdlss64']:6.2f} {t['sdlss32'] / t['torch32']:6.2f} "
                          f"{t['sdlss64'] / t['torch64']:6.2f}")  # fmt: skip
                print(f"{size:7s} {output:8s} {ldiff:8.1e} {gdiff:8.1e} {e_ours:8.1e} "
                      f"{e_torch:8.1e} | {ms} | {ratios}", flush=True)  # fmt: skip
    if args.threads:
        print(f"our step with 1 and {args.threads} BLAS threads (ms), ratio, bit-equal gradients")
        for size in args.sizes:
            inner = args.inner or (5 if size == "mnist" else 21)
            for output in args.outputs:
                for dtype in ("float64", "float32"):
                    t1, tn, same = time_threads(
                        problem(size, output, dtype=dtype), args.threads, repeat, inner
                    )
                    print(f"{size:7s} {output:8s} {dtype:8s} {t1 * 1e3:9.2f} {tn * 1e3:9.2f} "
                          f"{tn / t1:6.2f} {same}", flush=True)  # fmt: skip
    if args.train_mnist:
        train_both(args.train_mnist, args.train_steps)
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
