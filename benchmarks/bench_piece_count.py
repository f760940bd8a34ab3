"""Exact piece counts: the numba walk against the pure-Python walk, and pieces per second.

`sdlss_theory.count_pieces(G, s, method="exact")` walks every support's search tree (the tree
of `linear_pieces`) in the numba kernel `sdlss_theory._kernels.regions.walk_support`; the
reference is the pure-Python walk it replaced (`piece_count._Tree.python_support_count`,
switched on by ``piece_count._WALK_KERNEL = False``). Both are timed in the same run, in this
process's CPU time with BLAS capped at one thread, after the kernels are warmed up, and their
counts are compared (they must be equal).

Commands::

    python benchmarks/bench_piece_count.py            # three networks, both walks (minutes)
    python benchmarks/bench_piece_count.py --quick    # the smallest network only
    python benchmarks/bench_piece_count.py --large    # also ~10^6 pieces, kernel only
    python benchmarks/bench_piece_count.py --error-bound   # error_bound tasks, both walks

Prints per network: the pieces, the CPU seconds of each walk, pieces per second of each,
and the ratio Python / kernel.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sdlss_theory import ReLUGenerator, count_pieces, piece_count  # noqa: E402
from sdlss_theory._kernels import warm_up  # noqa: E402

# (widths, s, bias): generators `ReLUGenerator.random(widths, default_rng(0), bias=bias)`.
NETWORKS = [
    ([8, 12, 12, 10], 3, False),  # about 3e4 pieces, s = 3
    ([8, 12, 12, 10], 4, False),  # about 2.5e5 pieces, s = 4
    ([12, 24, 48, 60], 2, True),  # the network: 177,789 pieces, s = 2
]
LARGE = [([8, 128, 128, 10], 2, True), ([64, 12, 12, 10], 2, True)]  # about 9e5, 6e5


def cpu_count(G, s, kernel: bool) -> tuple[int, float]:
    piece_count._WALK_KERNEL = kernel
    try:
        t0 = time.process_time()
        value = count_pieces(G, s, method="exact").value
        return int(value), time.process_time() - t0
    finally:
        piece_count._WALK_KERNEL = True


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the smallest network only")
    parser.add_argument("--large", action="store_true", help="add ~1e6-piece networks (kernel)")
    parser.add_argument("--error-bound", action="store_true",
                        help="six error_bound tasks with each walk")  # fmt: skip
    args = parser.parse_args(argv)
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"python {platform.python_version()}, numpy {np.__version__}, "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")  # fmt: skip
    with threadpool_limits(1):
        t0 = time.process_time()
        warm_up()
        print(f"warm-up (compile or load the kernels): {time.process_time() - t0:.1f} s CPU")
        if args.error_bound:
            error_bound_tasks()
            return
        cases = [(c, True) for c in NETWORKS[: 1 if args.quick else None]]
        cases += [(c, False) for c in (LARGE if args.large else [])]
        print("| network | s | bias | pieces | kernel s | Python s | kernel pieces/s "
              "| Python pieces/s | ratio |")  # fmt: skip
        print("|---|---|---|---|---|---|---|---|---|")
        for (widths, s, bias), with_python in cases:
            G = ReLUGenerator.random(widths, np.random.default_rng(0), bias=bias)
            n, t_k = cpu_count(G, s, kernel=True)
            py = ["-", "-", "-"]
            if with_python:
                n_py, t_p = cpu_count(G, s, kernel=False)
                if n_py != n:
                    raise AssertionError(f"the walks disagree: {n} against {n_py}")
                py = [f"{t_p:.2f}", f"{n / t_p:,.0f}", f"{t_p / t_k:.1f}"]
            net = " -> ".join(map(str, widths))
            print(f"| {net} | {s} | {bias} | {n:,} | {t_k:.2f} | {py[0]} | {n / t_k:,.0f} "
                  f"| {py[1]} | {py[2]} |", flush=True)  # fmt: skip


def error_bound_tasks() -> None:
    """Six tasks of the error_bound default (m = 3, 8, 27 at e = 0, 0.05, 0.2; two trials
    each), each run with the kernel region walk of `linear_pieces` and with the Python walk
    (`pieces._ENUM_KERNEL`); CPU time of each and whether every metric is identical."""
    from sdlss_theory import pieces
    from simulations import error_bound as eb

    cells = [p for p in eb.grid(eb.Config()) if (p["m"], p["e_level"]) in
             {(3, 0.0), (8, 0.05), (27, 0.2)}]  # fmt: skip
    cpu, same = {True: 0.0, False: 0.0}, True
    for p in cells:
        for trial in range(2):
            out = {}
            for kernel in (True, False):
                pieces._ENUM_KERNEL = kernel
                t0 = time.process_time()
                out[kernel] = eb.trial(p, np.random.default_rng([trial, p["m"]]))
                cpu[kernel] += time.process_time() - t0
            same &= out[True] == out[False]
    pieces._ENUM_KERNEL = True
    print(f"{2 * len(cells)} error_bound tasks: CPU {cpu[True]:.2f} s with the kernel walk, "
          f"{cpu[False]:.2f} s with the Python walk ({cpu[False] / cpu[True]:.2f}x); "
          f"metrics identical: {same}")  # fmt: skip


if __name__ == "__main__":
    main()
