"""Recovery benchmark: the speed section, and the docs' tables from the study's stored results.

The success and failure counts per solver configuration are a study of the sweep engine,
``simulations/recovery_benchmark.py`` (configuration as a grid axis, paired draws, results
stored with provenance, resumable); this script adds what a study cannot: timings as ratios
against a reference measured in the same run, and the tables of docs/benchmarks.md,
generated from stored summaries.

Commands::

    python benchmarks/bench_recovery.py speed            # timing ratios (a few minutes)
    python benchmarks/bench_recovery.py speed --quick    # smaller network
    python benchmarks/bench_recovery.py tables results/recovery_benchmark
    python benchmarks/bench_recovery.py docs             # rewrite docs/benchmarks.md's tables

``speed``: (1) R latent IHT starts advanced together (R rows per iteration, GEMMs) as a
flop rate against numpy's dgemm on the same shapes and on a 512^3 product; (2) a default
`latent_recover` against one plain `latent_iht` run (one start) of ``max_iter`` iterations,
all run (a fixed step, a quarter of 1 / (2 ||A J_G(z0)||^2), and tol=0), median CPU time
over problems, and the ratio. Times are this thread's CPU time (time.thread_time) with BLAS
capped at one thread (threadpoolctl), so other processes on a shared machine do not
inflate them.

``docs``: reads the summaries stored under ``docs/data/recovery_benchmark/`` (copies of
``summary.csv`` of the runs named in docs/benchmarks.md) and rewrites every block between
``<!-- recovery_benchmark:NAME -->`` and ``<!-- end -->`` there; tests check that the
blocks equal what the stored summaries give.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdlss_theory import (  # noqa: E402
    LatentIHT,
    LatentRecover,
    ReLUGenerator,
    gaussian_matrix,
    latent_iht,
    sparse_latents,
)
from sdlss_theory._kernels import warm_up  # noqa: E402
from simulations.recovery_benchmark import render_docs, tables  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
DATA = ROOT / "docs" / "data" / "recovery_benchmark"
ITERS = 200  # iterations per timed batched IHT call


def draw(dims, s, m, seed):
    """(G, A, y, rng) of one speed problem, seeded by the tuple `seed`."""
    rng = np.random.default_rng(seed)
    G = ReLUGenerator.random(list(dims), rng)
    for _ in range(100):
        z = sparse_latents(1, dims[0], s, rng)[0]
        if np.any(G(z) != 0):
            break
    A = gaussian_matrix(m, dims[-1], rng)
    return G, A, A @ G(z), rng


def _rate(func, flops, seconds=0.3):
    """Flops per CPU second of func(), repeated for about `seconds`; best of 3 rounds."""
    func()
    best = 0.0
    for _ in range(3):
        n, c0 = 0, time.thread_time()
        while time.thread_time() - c0 < seconds / 3:
            func()
            n += 1
        best = max(best, n * flops / (time.thread_time() - c0))
    return best


def speed_batched(args) -> None:
    """Batched IHT starts as a flop rate against dgemm, measured in the same run."""
    G, A, y, rng = draw([args.k, *args.hidden, args.n], 5, 40, 4)
    layer_dims = [W.shape for W in G.premultiply(A).weights]
    big = np.random.default_rng(0).standard_normal((512, 512))
    peak = _rate(lambda: big @ big, 2 * 512**3)
    print(f"large dgemm (512^3): {peak / 1e9:.2f} GFlop/s")
    print("| R | batched IHT GFlop/s | same-shape dgemm GFlop/s | ratio | vs large dgemm |")
    print("|---|---|---|---|---|")
    for R in (1, 8, 64, 512):
        Z0 = rng.standard_normal((R, G.k))
        # forward and backward: two GEMMs per layer.
        flops = 2 * 2 * R * sum(a * b for a, b in layer_dims)
        solver = LatentIHT(G, A, 5, step=1e-3, max_iter=ITERS, tol=0, starts=R)
        rate = _rate(lambda Z0=Z0, solver=solver: solver.solve(y, z0=Z0), ITERS * flops)
        mats = [(np.ones((R, b)), np.ones((b, a))) for a, b in layer_dims]
        mats += [(np.ones((R, a)), np.ones((a, b))) for a, b in layer_dims]

        def gemms(mats=mats):
            for P, Q in mats:
                P @ Q

        ref = _rate(gemms, flops)
        print(
            f"| {R} | {rate / 1e9:.2f} | {ref / 1e9:.2f} | {rate / ref:.2f} | {rate / peak:.2f} |"
        )


def speed_recovery(args) -> list[float]:
    """A default recovery against one plain latent IHT run; returns every row's ratio."""
    print(
        f"\ndefault latent_recover vs one latent_iht run (one start, {args.max_iter} "
        f"iterations: fixed step, tol=0), CPU ms, {args.trials} problems per row:"
    )
    print("| depth | s | m | recover ms (median) | plain IHT ms (median) | ratio |")
    print("|---|---|---|---|---|---|")
    ratios = []
    for depth in args.depths:
        dims = [args.k, *args.hidden[: depth - 1], args.n]
        for s in args.s:
            for m in args.m:
                t_rec, t_iht = [], []
                for t in range(args.trials):
                    G, A, y, rng = draw(dims, s, m, (3, depth, s, m, t))
                    c0 = time.thread_time()
                    LatentRecover(G, A, s).solve(y, rng=rng)
                    t_rec.append(time.thread_time() - c0)
                    z0 = rng.standard_normal(G.k)
                    beta = 0.25 / (2.0 * np.linalg.norm(A @ G.jacobian(z0), 2) ** 2)
                    c0 = time.thread_time()
                    r = latent_iht(G, A, y, s, step=beta, max_iter=args.max_iter, tol=0, z0=z0)
                    # Scaled to max_iter iterations should the run stop at an exact fixed point.
                    t_iht.append((time.thread_time() - c0) * args.max_iter / r.n_iter)
                a, b = np.median(t_rec) * 1e3, np.median(t_iht) * 1e3
                ratios.append(a / b)
                print(f"| {depth} | {s} | {m} | {a:.2f} | {b:.2f} | {a / b:.2f} |", flush=True)
    print(f"worst ratio: {max(ratios):.2f}")
    return ratios


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    sp = sub.add_parser("speed", help="timing ratios against references of the same run")
    sp.add_argument("--quick", action="store_true", help="k=10, widths 30/60, n=80")
    sp.add_argument("--trials", type=int, default=10, help="problems per row (default 10)")
    sp.add_argument("--depths", type=int, nargs="+", default=[2, 3])
    sp.add_argument("--sparsity", type=int, nargs="+", help="s values (default 1 2 3 5 8)")
    sp.add_argument("--no-batched", action="store_true", help="skip the dgemm comparison")
    tp = sub.add_parser("tables", help="print the tables of a stored run")
    tp.add_argument("folders", nargs="+", help="output folders of recovery_benchmark runs")
    sub.add_parser("docs", help=f"rewrite the generated tables of {DOCS.relative_to(ROOT)}")
    args = p.parse_args(argv)
    if args.command == "tables":
        for name, text in tables([Path(f) / "summary.csv" for f in args.folders]).items():
            print(f"\n## {name}\n\n{text}")
        return 0
    if args.command == "docs":
        DOCS.write_text(render_docs(DOCS.read_text(), sorted(DATA.glob("*.csv"))))
        print(f"rewrote the generated tables of {DOCS}")
        return 0
    if args.quick:
        args.k, args.hidden, args.n, args.m = 10, (30, 60), 80, [8, 24]
    else:
        args.k, args.hidden, args.n, args.m = 20, (60, 120), 200, [15, 40]
    args.s = args.sparsity or [1, 2, 3, 5, 8]
    args.max_iter = 1000
    print(f"bench_recovery speed: k={args.k}, hidden={args.hidden}, n={args.n}")
    with threadpool_limits(1):
        warm_up()
        if not args.no_batched:
            speed_batched(args)
        speed_recovery(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
