"""Time per latent IHT iteration: sdlss_theory vs plain NumPy vs autograd.

The update being timed (SDLSS, Killedar et al. 2021) is

    z <- P_s( z - beta * grad_z ||y - A G(z)||^2 ),   grad = 2 J_G(z)^T A^T (A G(z) - y),

with a fixed step beta, tol=0 and a fixed number of iterations, from one starting point
(one start), so every implementation does exactly the same work. Implementations:

- ``sdlss``: ``LatentIHT(G, A, s, step=beta, tol=0, max_iter=T)``, built once per problem
  (building it folds A into the last layer, A W_d, a one-time cost that is printed
  separately), then ``.solve(y, z0=z0)``: the numba kernel
  ``sdlss_theory._kernels.iht.iht_loop``.
- ``numpy``: a plain, straightforward NumPy implementation written here, the one a competent
  researcher would write: forward through G's layers, then A applied to G(z), backward
  through the ReLU masks (A^T, then W_d^T, ...), P_s by ``argpartition``. It works on G and
  A as given and does NOT fold A into W_d: that fold is the library's algebraic advantage
  and is part of what this benchmark measures.
- ``autograd``: ``autograd.grad`` of the same loss ||y - A G(z)||^2, then the same P_s.

Before timing, all implementations are checked to produce the same iterates (to 1e-8
relative) after a few iterations. Each implementation does as many iterations per timed
call as fit in about 20 ms; calls are interleaved (the machine is shared and noisy), in
rounds, and the figure is the minimum over rounds of the round's median, with ratios
against the references measured in the same run. ``--clock cpu`` (with
``--blas-threads 1``) times CPU time instead of wall time, which other processes'
load does not inflate.

A second measurement advances R starts together (the library batches them: every
iteration is a GEMM) and compares with R sequential single-start solves.

Usage::

    python benchmarks/bench_latent_iht.py                   # full run (about a minute)
    python benchmarks/bench_latent_iht.py --quick           # a short run
    python benchmarks/bench_latent_iht.py --blas-threads 1 --clock cpu   # on a busy machine
    python benchmarks/bench_latent_iht.py --repeat 15 --inner 7 --sizes small

This is a benchmark, not a test: it asserts agreement of the iterates, never a timing.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import autograd
import autograd.numpy as anp
import numpy as np

# Measure the source tree this script belongs to, not whatever sdlss_theory is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIZES = {
    # name: (k, hidden widths, n, m, s)
    "small": (20, (60, 120), 200, 40, 5),
    "dcs": (100, (500, 500), 784, 100, 20),
}
# Iterations per timed call in the batched-restart measurement (--quick divides by 4).
BATCH_ITERS = {"small": 40, "dcs": 20}
TARGETS = {
    # name: (min speed-up vs autograd, min speed-up vs plain NumPy)
    "small": (20.0, 2.0),
    "dcs": (2.0, 1.0),
}
CHECK_ITERS = (1, 2, 5)
CHECK_RTOL = 1e-8
# Seconds per timed call (full run, --quick).
CALL_SECONDS = (0.02, 0.005)
# The clock of every timing: wall time (time.perf_counter) by default; --clock cpu switches
# to this thread's CPU time (time.thread_time), which a busy machine's preemption does not
# inflate (use it with --blas-threads 1, so that all the work runs in this thread).
CLOCK = time.perf_counter


# ---------------------------------------------------------------------------- problem
@dataclass
class Problem:
    name: str
    G: object  # ReLUGenerator
    A: np.ndarray
    y: np.ndarray
    s: int
    beta: float
    z0: np.ndarray  # (k,)
    Z0: np.ndarray  # (R, k), for the batched-restart measurement


def make_problem(name: str, restarts: int, seed: int = 0) -> Problem:
    from sdlss_theory import ReLUGenerator, gaussian_matrix, hard_threshold

    k, widths, n, m, s = SIZES[name]
    rng = np.random.default_rng(seed)
    G = ReLUGenerator.random([k, *widths, n], rng)
    A = gaussian_matrix(m, n, rng)
    z_true = hard_threshold(rng.standard_normal(k), s)
    y = A @ G(z_true)
    z0 = rng.standard_normal(k)
    Z0 = rng.standard_normal((restarts, k))
    # A fixed step: a quarter of 1 / (2 ||A J_G(z0)||^2), the curvature of the loss at the
    # (projected) start. Small enough that no implementation diverges over the timed run.
    J = A @ G.jacobian(hard_threshold(z0, s))
    beta = 0.25 / (2.0 * np.linalg.norm(J, 2) ** 2)
    return Problem(name, G, A, y, s, float(beta), z0, Z0)


# ---------------------------------------------------------------------------- references
def numpy_hard_threshold(u: np.ndarray, s: int) -> np.ndarray:
    """P_s along the last axis with argpartition (ties: measure zero for continuous data)."""
    idx = np.argpartition(np.abs(u), -s, axis=-1)[..., -s:]
    out = np.zeros_like(u)
    np.put_along_axis(out, idx, np.take_along_axis(u, idx, axis=-1), axis=-1)
    return out


def iht_runner(grad, s, beta):
    """``run(z0, n_iter)``: latent IHT z <- P_s(z - beta grad(z)) from P_s(z0), any gradient."""

    def run(z0, n_iter):
        z = numpy_hard_threshold(z0, s)
        for _ in range(n_iter):
            z = numpy_hard_threshold(z - beta * grad(z), s)
        return z

    return run


def make_numpy_iht(G, A, y, s, beta):
    """Plain NumPy latent IHT on z of shape (k,) or (R, k); A is applied to G(z), not folded."""
    hidden = list(zip(G.weights[:-1], G.biases[:-1], strict=True))
    Wd, bd = G.weights[-1], G.biases[-1]

    def grad(z):
        h, masks = z, []
        for W, b in hidden:
            a = h @ W.T + b
            mask = a > 0
            h = a * mask
            masks.append(mask)
        x = h @ Wd.T + bd  # G(z)
        r = x @ A.T - y  # A G(z) - y
        g = (r @ A) @ Wd  # W_d^T A^T r
        for (W, _), mask in zip(reversed(hidden), reversed(masks), strict=True):
            g = (g * mask) @ W
        return 2.0 * g

    return iht_runner(grad, s, beta)


def make_autograd_iht(G, A, y, s, beta):
    """Latent IHT with the gradient from autograd.grad of ||y - A G(z)||^2."""
    hidden = list(zip(G.weights[:-1], G.biases[:-1], strict=True))
    Wd, bd = G.weights[-1], G.biases[-1]

    def loss(z):
        h = z
        for W, b in hidden:
            h = anp.maximum(anp.dot(W, h) + b, 0.0)
        x = anp.dot(Wd, h) + bd
        r = y - anp.dot(A, x)
        return anp.sum(r * r)

    return iht_runner(autograd.grad(loss), s, beta)


def make_library_iht(G, A, s, beta, n_iter, starts=1):
    """The library's solver object (built once; the fold of A happens here) and a runner."""
    from sdlss_theory import LatentIHT

    solver = LatentIHT(G, A, s, step=beta, max_iter=n_iter, tol=0.0, starts=starts)

    def run(y, z0):
        result = solver.solve(y, z0=z0)
        if result.n_iter != n_iter:
            raise RuntimeError(
                f"sdlss: stopped after {result.n_iter} of {n_iter} iterations "
                f"({result.message}); the timing would not be per iteration"
            )
        return result

    return solver, run


# ---------------------------------------------------------------------------- checks
def check_same_iterates(P: Problem) -> float:
    """All implementations give the same z after a few iterations; returns the worst gap."""
    worst = 0.0
    np_run = make_numpy_iht(P.G, P.A, P.y, P.s, P.beta)
    ag_run = make_autograd_iht(P.G, P.A, P.y, P.s, P.beta)
    for t in CHECK_ITERS:
        ref = np_run(P.z0, t)
        others = {"autograd": ag_run(P.z0, t)}
        _, run = make_library_iht(P.G, P.A, P.s, P.beta, t)
        others["sdlss"] = run(P.y, P.z0).z
        scale = max(np.linalg.norm(ref), 1e-300)
        for name, z in others.items():
            gap = np.linalg.norm(z - ref) / scale
            worst = max(worst, gap)
            if not gap <= CHECK_RTOL:
                raise AssertionError(
                    f"{P.name}: {name} differs from plain NumPy after {t} iterations "
                    f"by {gap:.3e} (relative); the comparison would not be honest"
                )
    # Batched restarts advance each row exactly as a single run would.
    t = CHECK_ITERS[-1]
    _, run_b = make_library_iht(P.G, P.A, P.s, P.beta, t, starts=len(P.Z0))
    ref = np_run(P.Z0, t)
    res = run_b(P.y, P.Z0)
    # The result keeps only the best restart: compare that row.
    gap = np.linalg.norm(res.z - ref[res.extras["start"]]) / max(
        np.linalg.norm(ref[res.extras["start"]]), 1e-300
    )
    worst = max(worst, gap)
    if not gap <= CHECK_RTOL:
        start = res.extras["start"]
        raise AssertionError(f"{P.name}: batched restart {start} differs by {gap:.3e}")
    return worst


# ---------------------------------------------------------------------------- timing
def time_interleaved(calls: dict, repeat: int, inner: int) -> dict:
    """Time every call, interleaved; ``repeat`` rounds of ``inner`` calls each.

    Returns, for each call, a list of rounds, each a list of ``inner`` durations (s).
    Within a round the calls take turns (the order rotates), so a burst of load from
    another process hits all implementations alike.
    """
    times = {name: [[] for _ in range(repeat)] for name in calls}
    names = list(calls)
    turn = 0
    for rnd in range(repeat):
        for _ in range(inner):
            order = names[turn % len(names) :] + names[: turn % len(names)]
            turn += 1
            for name in order:
                times[name][rnd].append(_timed(calls[name]))
    return times


def per_unit(rounds: list, units: int) -> list:
    return [[t / units for t in r] for r in rounds]


def summarise(rounds: list) -> tuple[float, float]:
    """(min over rounds of the round's median, median of all samples)."""
    return (
        min(statistics.median(r) for r in rounds),
        statistics.median([t for r in rounds for t in r]),
    )


def fmt_time(sec: float) -> str:
    if sec < 1e-3:
        return f"{sec * 1e6:8.2f} us"
    if sec < 1.0:
        return f"{sec * 1e3:8.3f} ms"
    return f"{sec:8.3f} s "


def calibrate(make_call, target: float) -> int:
    """Iterations per timed call so that a call lasts about `target` seconds."""
    probe = 10
    call = make_call(probe)
    call()  # warm-up: numba cache load, BLAS threads, caches
    est = min(_timed(call) for _ in range(3)) / probe
    return int(min(max(round(target / max(est, 1e-9)), 10), 100_000))


def _timed(call) -> float:
    t0 = CLOCK()
    call()
    return CLOCK() - t0


def bench_single(P: Problem, target: float, repeat: int, inner: int) -> dict:
    """Per-iteration times; each implementation does as many iterations per call as fit
    in about `target` seconds, so every timed call lasts about as long (a call much shorter
    than the scheduler's time slice would dodge the load that a longer one absorbs)."""
    np_run = make_numpy_iht(P.G, P.A, P.y, P.s, P.beta)
    ag_run = make_autograd_iht(P.G, P.A, P.y, P.s, P.beta)

    def library(n_iter):
        _, run = make_library_iht(P.G, P.A, P.s, P.beta, n_iter)
        return lambda: run(P.y, P.z0)

    makers = {
        "sdlss": library,
        "numpy": lambda t: lambda: np_run(P.z0, t),
        "autograd": lambda t: lambda: ag_run(P.z0, t),
    }
    iters = {name: calibrate(make, target) for name, make in makers.items()}
    calls = {name: make(iters[name]) for name, make in makers.items()}
    t0 = time.perf_counter()
    make_library_iht(P.G, P.A, P.s, P.beta, 10)
    t_setup = time.perf_counter() - t0
    for call in calls.values():
        call()
    raw = time_interleaved(calls, repeat, inner)
    per_iter = {name: per_unit(rounds, iters[name]) for name, rounds in raw.items()}
    return {"per_iter": per_iter, "iters": iters, "setup": t_setup}


def bench_batched(P: Problem, n_iter: int, repeat: int, inner: int) -> dict:
    R = len(P.Z0)
    _, lib_batch = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, starts=R)
    _, lib_single = make_library_iht(P.G, P.A, P.s, P.beta, n_iter)
    np_run = make_numpy_iht(P.G, P.A, P.y, P.s, P.beta)

    def sequential():
        for r in range(R):
            lib_single(P.y, P.Z0[r])

    def np_sequential():
        for r in range(R):
            np_run(P.Z0[r], n_iter)

    calls = {
        "sdlss batched": lambda: lib_batch(P.y, P.Z0),
        "sdlss sequential": sequential,
        "numpy batched": lambda: np_run(P.Z0, n_iter),
        "numpy sequential": np_sequential,
    }
    for call in calls.values():
        call()
    raw = time_interleaved(calls, repeat, inner)
    # Seconds per iteration of all R restarts together.
    return {name: per_unit(rounds, n_iter) for name, rounds in raw.items()}


# ---------------------------------------------------------------------------- report
def environment() -> str:
    import numba
    import scipy
    import scipy.linalg  # noqa: F401  (numba's np.dot calls scipy's BLAS: load it for the report)
    import threadpoolctl

    import sdlss_theory

    lines = [
        f"python {platform.python_version()} on {platform.platform()}",
        f"cpus: os.cpu_count()={os.cpu_count()}, usable={len(os.sched_getaffinity(0))}",
        f"load average (1, 5, 15 min): {', '.join(f'{v:.2f}' for v in os.getloadavg())}",
        f"numpy {np.__version__}, scipy {scipy.__version__}, numba {numba.__version__}, "
        f"autograd {importlib.metadata.version('autograd')}, sdlss_theory "
        f"{getattr(sdlss_theory, '__version__', '?')}",
        f"numba: NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}, "
        f"threading layer {numba.config.THREADING_LAYER}, "
        f"DISABLE_JIT={numba.config.DISABLE_JIT}",
    ]
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        if var in os.environ:
            lines.append(f"{var}={os.environ[var]}")
    for info in threadpoolctl.threadpool_info():
        lines.append(
            f"threadpool: {info['user_api']}/{info['internal_api']} {info.get('version')} "
            f"threads={info['num_threads']} arch={info.get('architecture')} "
            f"({os.path.basename(info['filepath'])})"
        )
    return "\n".join(lines)


def cpu_busy(seconds: float = 1.0) -> float | None:
    """Fraction of all CPUs busy over `seconds` (from /proc/stat; None where unavailable)."""

    def read():
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
        return sum(fields), idle

    try:
        total0, idle0 = read()
        time.sleep(seconds)
        total1, idle1 = read()
    except OSError:
        return None
    return 1.0 - (idle1 - idle0) / max(total1 - total0, 1e-12)


def report_single(P: Problem, res: dict) -> list:
    k, widths, n, m, s = SIZES[P.name]
    per = res["per_iter"]
    best = {name: summarise(rounds)[0] for name, rounds in per.items()}
    print(
        f"\n== {P.name}: k={k}, widths={','.join(map(str, widths))}, n={n}, m={m}, s={s}; "
        f"one start, fixed step {P.beta:.3g}, tol=0"
    )
    print(
        f"   iterations per timed call: {res['iters']}; LatentIHT construction "
        f"(validation + fold A W_d, once per problem): {fmt_time(res['setup']).strip()}"
    )
    print(
        f"   {'implementation':<16}{'min of medians':>16}{'median (all)':>16}"
        f"{'library speed-up':>18}{'(from medians)':>16}"
    )
    lib_best, lib_med = summarise(per["sdlss"])
    for name, rounds in per.items():
        b, md = summarise(rounds)
        print(
            f"   {name:<16}{fmt_time(b):>16}{fmt_time(md):>16}"
            f"{b / lib_best:>17.2f}x{md / lib_med:>15.2f}x"
        )
    ag_target, np_target = TARGETS[P.name]
    lib = best["sdlss"]
    checks = [
        ("vs autograd", best["autograd"] / lib, ag_target),
        ("vs plain NumPy", best["numpy"] / lib, np_target),
    ]
    for label, ratio, target in checks:
        verdict = "met" if ratio >= target else "MISSED"
        print(f"   {label:<24} {ratio:8.2f}x   (target >= {target:g}x: {verdict})")
    return [(P.name, label, ratio, target) for label, ratio, target in checks]


def report_batched(P: Problem, res: dict, R: int) -> None:
    best = {name: summarise(rounds)[0] for name, rounds in res.items()}
    print(f"   batched restarts, R={R} (min of medians, per iteration of all R restarts):")
    for name, b in best.items():
        print(f"   {name:<26}{fmt_time(b):>14}{fmt_time(b / R):>14} per restart")
    lib = best["sdlss batched"]
    print(
        f"   batching speed-up, library: {best['sdlss sequential'] / lib:.2f}x; "
        f"library batched vs NumPy batched: {best['numpy batched'] / lib:.2f}x"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer iterations)")
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="rounds of interleaved timings (default 7; 3 with --quick); each implementation's "
        "figure is the minimum over rounds of the round's median",
    )
    parser.add_argument(
        "--inner", type=int, default=None, help="timed calls per round (default 5; 3 with --quick)"
    )
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["small", "dcs"])
    parser.add_argument("--starts", type=int, default=32, help="R for the batched measurement")
    parser.add_argument(
        "--clock",
        choices=("wall", "cpu"),
        default="wall",
        help="wall: elapsed time; cpu: this thread's CPU time (robust to preemption on a "
        "shared machine; meaningful with --blas-threads 1)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit every BLAS (numpy's and the one numba calls, scipy's) to this many threads "
        "with threadpoolctl (default: leave them as they are)",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 7)
    inner = args.inner if args.inner is not None else (3 if args.quick else 5)
    if repeat < 1 or inner < 1 or args.starts < 1:
        parser.error("--repeat, --inner and --starts must be positive")

    import scipy.linalg  # noqa: F401  (load scipy's BLAS, the one numba's np.dot calls)
    import threadpoolctl

    from sdlss_theory._kernels import warm_up

    global CLOCK
    CLOCK = time.thread_time if args.clock == "cpu" else time.perf_counter
    if args.clock == "cpu" and args.blas_threads != 1:
        print(
            "note: --clock cpu counts only this thread; BLAS threads' work is not seen. "
            "Use --blas-threads 1 with it."
        )
    if args.blas_threads is not None:
        threadpoolctl.threadpool_limits(args.blas_threads)
    busy = cpu_busy()
    t0 = time.perf_counter()
    warm_up()  # compile or load every kernel from numba's cache
    t_warm = time.perf_counter() - t0
    print("latent IHT: time per iteration (sdlss_theory vs plain NumPy vs autograd)")
    print(environment())
    print(
        f"numba warm-up (compile or cache load): {t_warm:.2f} s; {repeat} rounds x {inner} "
        f"interleaved calls; statistic: min over rounds of the round's median; clock: "
        f"{args.clock}"
    )
    if busy is not None:
        print(
            f"CPU busy over 1 s before the run (other processes): {100 * busy:.0f}%"
            + ("  -- the machine is NOT quiet; timings are unreliable" if busy > 0.1 else "")
        )

    results = []
    for name in args.sizes:
        P = make_problem(name, args.starts)
        gap = check_same_iterates(P)
        target = CALL_SECONDS[1 if args.quick else 0]
        res = bench_single(P, target, repeat, inner)
        results += report_single(P, res)
        print(f"   iterates agree after {CHECK_ITERS} iterations (worst relative gap {gap:.1e})")
        batch_iter = BATCH_ITERS[name] // (4 if args.quick else 1)
        report_batched(
            P,
            bench_batched(P, batch_iter, repeat, max(inner // 2, 1)),
            args.starts,
        )

    print("\nsummary (library speed-up, min over rounds of the round's median):")
    for name, label, ratio, target in results:
        verdict = "met" if ratio >= target else "MISSED"
        print(f"   {name:<6} {label:<24} {ratio:8.2f}x  target >= {target:g}x  {verdict}")
    print(f"load average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    busy = cpu_busy()
    if busy is not None:
        print(f"CPU busy over 1 s after the run: {100 * busy:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
