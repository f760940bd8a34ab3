"""Certified S-REC bounds: the piece-pair kernel against the NumPy reference, and larger sizes.

`sdlss_theory.srec.srec_bounds` bounds sigma_min of A on span{J_P, J_Q, c_P - c_Q} for
every pair of linear pieces (N (N + 1) / 2 pairs). The numba kernels
(`sdlss_theory._kernels.pairs`, the default) skip the pairs a Schur-complement test (or, for
pairs of dependent columns, a test on a rank-revealing basis of their span) shows to lie
above an upper bound on gamma*, and evaluate the others from the pieces' precomputed Gram
blocks by Cholesky and Jacobi rotations; the reference is the batched NumPy route
(`srec.pairs.piece_pair_values_numpy`, every pair, switched on by
``srec.pairs.USE_KERNEL = False``). Both are timed in the same run, interleaved, in this
thread's CPU time with BLAS capped at one thread, after a warm-up, and the bounds they
return are compared.

Commands::

    python benchmarks/bench_srec.py speed            # the EXPERIMENTS.md networks (minutes)
    python benchmarks/bench_srec.py speed --quick    # the smaller network only
    python benchmarks/bench_srec.py reach            # larger certifications (kernel only)
    python benchmarks/bench_srec.py prune            # the pair pass with and without pruning

``speed`` prints, per network, the pieces, the CPU time of `srec_bounds` with each route
(best of ``--repeat`` interleaved rounds), their ratio, and the largest difference of the
two routes' lower and upper bounds (relative to the upper bound). ``reach`` runs the default
`srec_bounds` (no budget raised) on the sizes of issue 19 (s = 2 at k = 12 with two layers
of 16 to 32, s = 3 at k = 8) and prints the brackets and the time. ``prune`` times the
pair pass alone (`srec.pairs.piece_pair_values`) on the ``speed`` networks at the
threshold srec_bounds uses (the smallest random-pair or piece-with-itself value): pruned,
and with every value computed by the kernel, and checks that both keep the same pairs and
values.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdlss_theory import ReLUGenerator, gaussian_matrix, srec  # noqa: E402
from sdlss_theory._kernels import warm_up  # noqa: E402

# (widths, s, bias, m): the networks of /work/shared/EXPERIMENTS.md ("Certified S-REC
# bounds, cost"), and a biased one of the sample-complexity study's size.
SPEED = [
    ([6, 10, 20, 40], 2, False, 24),
    ([8, 12, 24, 40], 2, False, 24),
    ([6, 8, 16, 40], 2, True, 24),
]
REACH = [
    ([12, 16, 16, 40], 2, False, 24),
    ([12, 24, 24, 40], 2, False, 24),
    ([12, 32, 32, 40], 2, False, 24),
    ([8, 16, 40], 3, False, 24),
    ([8, 8, 16, 40], 3, False, 24),
]
BUDGET = dict(max_pieces=200_000, max_pair_evals=200_000_000, refine=2_000_000)


def draw(widths, bias, m, seed):
    rng = np.random.default_rng(seed)
    G = ReLUGenerator.random(list(widths), rng, bias=bias)
    return G, gaussian_matrix(m, widths[-1], rng)


def run(G, A, s, kernel: bool, budget=BUDGET):
    """srec_bounds with the kernel or the NumPy route; (result, CPU seconds)."""
    srec.pairs.USE_KERNEL = kernel
    try:
        c0 = time.thread_time()
        b = srec.srec_bounds(G, A, s, rng=0, **budget)
        return b, time.thread_time() - c0
    finally:
        srec.pairs.USE_KERNEL = True


def environment() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"load average {load:.1f} on {os.cpu_count()} cores"


def speed(args) -> None:
    cases = SPEED[:1] if args.quick else SPEED
    if args.cases:
        cases = [SPEED[i] for i in args.cases]
    print(f"bench_srec speed ({environment()}), CPU seconds, best of {args.repeat} rounds")
    print("| network | s | bias | m | pieces | pairs | NumPy s | kernel s | ratio "
          "| max rel. diff lower | upper |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for widths, s, bias, m in cases:
        G, A = draw(widths, bias, m, 0)
        t_ref, t_new = [], []
        for r in range(args.repeat):
            order = (False, True) if r % 2 == 0 else (True, False)
            for kernel in order:
                b, t = run(G, A, s, kernel)
                (t_new if kernel else t_ref).append(t)
                if kernel:
                    b_new = b
                else:
                    b_ref = b
        dl = abs(b_new.lower - b_ref.lower) / b_ref.upper
        du = abs(b_new.upper - b_ref.upper) / b_ref.upper
        a, c = min(t_ref), min(t_new)
        net = " -> ".join(map(str, widths))
        print(f"| {net} | {s} | {bias} | {m} | {b_new.n_pieces} | {b_new.n_pairs} | {a:.2f} "
              f"| {c:.2f} | {a / c:.1f} | {dl:.1e} | {du:.1e} |", flush=True)  # fmt: skip
    print(environment())


def reach(args) -> None:
    print(f"bench_srec reach ({environment()}), default srec_bounds, CPU seconds")
    print("| network | s | bias | m | pieces | pairs | lower | upper | certified | exact "
          "| rel. width | s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    cases = REACH[:1] if args.quick else REACH
    if args.cases:
        cases = [REACH[i] for i in args.cases]
    for widths, s, bias, m in cases:
        G, A = draw(widths, bias, m, 0)
        b, t = run(G, A, s, True, {})  # the default options
        width = (b.upper - b.lower) / b.upper
        net = " -> ".join(map(str, widths))
        print(f"| {net} | {s} | {bias} | {m} | {b.n_pieces} | {b.n_pairs} | {b.lower:.6f} "
              f"| {b.upper:.6f} | {b.certified} | {b.exact} | {width:.1e} | {t:.1f} |",
              flush=True)  # fmt: skip
    print(environment())


def prune(args) -> None:
    from sdlss_theory.cone_quotient import subspace_min_ratio
    from sdlss_theory.pieces import linear_pieces
    from sdlss_theory.srec.sampling import random_pair_ratios

    cases = SPEED[:1] if args.quick else SPEED
    if args.cases:
        cases = [SPEED[i] for i in args.cases]
    print(f"bench_srec prune ({environment()}), CPU seconds of the pair pass, best of "
          f"{args.repeat}")  # fmt: skip
    print("| network | s | bias | pieces | pairs | kept | every value s | pruned s | ratio "
          "| same |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for widths, s, bias, m in cases:
        G, A = draw(widths, bias, m, 0)
        pieces = linear_pieces(G, s, max_pieces=200_000)
        J = pieces.jacobians
        self_min = float(subspace_min_ratio(A, J, np.matmul(A, J)).min())
        rand = float(random_pair_ratios(G, A, s, 200, rng=np.random.default_rng(0)).min())
        u = min(rand, self_min) * (1.0 + 1e-6)
        t_all, t_cut = [], []
        for r in range(args.repeat):
            for pruned in ((False, True) if r % 2 == 0 else (True, False)):
                c0 = time.thread_time()
                res = srec.pairs.piece_pair_values(pieces, A, u if pruned else np.inf)
                (t_cut if pruned else t_all).append(time.thread_time() - c0)
                if pruned:
                    cut = res
                else:
                    keep = res.values <= u
                    every = (res.iu[keep], res.jv[keep], res.values[keep])
        same = all(np.array_equal(a, b) for a, b in zip(every, cut[:3], strict=True))
        a, c = min(t_all), min(t_cut)
        net = " -> ".join(map(str, widths))
        print(f"| {net} | {s} | {bias} | {len(pieces)} | {cut.n_total} | {cut.values.size} "
              f"| {a:.2f} | {c:.2f} | {a / c:.1f} | {same} |", flush=True)  # fmt: skip
    print(environment())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["speed", "reach", "prune"])
    p.add_argument("--quick", action="store_true", help="the first network only")
    p.add_argument("--repeat", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--cases", type=int, nargs="+", help="indices of the networks to run")
    args = p.parse_args(argv)
    with threadpool_limits(1):
        warm_up()
        {"speed": speed, "reach": reach, "prune": prune}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
