"""Time per latent IHT iteration: sdlss_theory vs plain NumPy vs autograd.

The update being timed (SDLSS, Killedar et al. 2021) is

    z <- P_s( z - beta * grad_z ||y - A G(z)||^2 ),   grad = 2 J_G(z)^T A^T (A G(z) - y),

with a fixed step beta, tol=0 and a fixed number of iterations, from one starting point
(one restart), so every implementation does exactly the same work. Implementations:

- ``sdlss[numba]``: ``LatentIHT(G, A, s, step=beta, tol=0, max_iter=T, engine="numba")``,
  built once per problem (building it folds A into the last layer, A W_d, a one-time cost
  that is printed separately), then ``.solve(y, z0=z0)``: the numba kernel
  ``sdlss_theory._kernels.latent.iht_loop``.
- ``sdlss[numpy]``: the same loop's Python source (``engine="numpy"``), for information.
- ``numpy``: a plain, straightforward NumPy implementation written here, the one a competent
  researcher would write: forward through G's layers, then A applied to G(z), backward
  through the ReLU masks (A^T, then W_d^T, ...), P_s by ``argpartition``. It works on G and
  A as given and does NOT fold A into W_d: that fold is the library's algebraic advantage
  and is part of what this benchmark measures.
- ``autograd``: ``autograd.grad`` of the same loss ||y - A G(z)||^2, then the same P_s.

Before timing, all implementations are checked to produce the same iterates (to 1e-8
relative) after a few iterations. Every timing is repeated; implementations are
interleaved within each repeat (the machine is shared and noisy) and the median over
repeats is reported, with ratios against the references measured in the same run.

A second measurement advances R restarts together (the library batches them: every
iteration is a GEMM) and compares with R sequential single-restart solves.

Usage::

    python benchmarks/bench_latent_iht.py            # full run (a few minutes)
    python benchmarks/bench_latent_iht.py --quick    # a short run
    python benchmarks/bench_latent_iht.py --repeat 15 --sizes small

This is a benchmark, not a test: it asserts agreement of the iterates, never a timing.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import autograd
import autograd.numpy as anp
import numpy as np

SIZES = {
    # name: (k, hidden widths, n, m, s)
    "small": (20, (60, 120), 200, 40, 5),
    "dcs": (100, (500, 500), 784, 100, 20),
}
# Iterations per timed call (full run); --quick divides them.
ITERS = {"small": 400, "dcs": 100}
TARGETS = {
    # name: (min speed-up vs autograd, min speed-up vs plain NumPy)
    "small": (20.0, 2.0),
    "dcs": (2.0, 1.0),
}
CHECK_ITERS = (1, 2, 5)
CHECK_RTOL = 1e-8


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

    def run(z0, n_iter):
        z = numpy_hard_threshold(z0, s)
        for _ in range(n_iter):
            z = numpy_hard_threshold(z - beta * grad(z), s)
        return z

    return run


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

    grad = autograd.grad(loss)

    def run(z0, n_iter):
        z = numpy_hard_threshold(z0, s)
        for _ in range(n_iter):
            z = numpy_hard_threshold(z - beta * grad(z), s)
        return z

    return run


def make_library_iht(G, A, s, beta, n_iter, engine, restarts=1):
    """The library's solver object (built once; the fold of A happens here) and a runner."""
    from sdlss_theory import LatentIHT

    solver = LatentIHT(
        G, A, s, step=beta, max_iter=n_iter, tol=0.0, restarts=restarts, engine=engine
    )

    def run(y, z0):
        result = solver.solve(y, z0=z0)
        if result.n_iter != n_iter:
            raise RuntimeError(
                f"{engine}: stopped after {result.n_iter} of {n_iter} iterations "
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
        for engine in ("numba", "numpy"):
            _, run = make_library_iht(P.G, P.A, P.s, P.beta, t, engine)
            others[f"sdlss[{engine}]"] = run(P.y, P.z0).z
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
    _, run_b = make_library_iht(P.G, P.A, P.s, P.beta, t, "numba", restarts=len(P.Z0))
    ref = np_run(P.Z0, t)
    res = run_b(P.y, P.Z0)
    # The result keeps only the best restart: compare that row.
    gap = np.linalg.norm(res.z - ref[res.restart]) / max(np.linalg.norm(ref[res.restart]), 1e-300)
    worst = max(worst, gap)
    if not gap <= CHECK_RTOL:
        raise AssertionError(f"{P.name}: batched restart {res.restart} differs by {gap:.3e}")
    return worst


# ---------------------------------------------------------------------------- timing
def time_interleaved(calls: dict, repeat: int) -> dict:
    """Run every call once per round, ``repeat`` rounds; return each call's list of seconds."""
    times = {name: [] for name in calls}
    names = list(calls)
    for rnd in range(repeat):
        # Rotate the order each round so that no implementation always runs first.
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            t0 = time.perf_counter()
            calls[name]()
            times[name].append(time.perf_counter() - t0)
    return times


def fmt_time(sec: float) -> str:
    if sec < 1e-3:
        return f"{sec * 1e6:8.2f} us"
    if sec < 1.0:
        return f"{sec * 1e3:8.3f} ms"
    return f"{sec:8.3f} s "


def bench_single(P: Problem, n_iter: int, repeat: int, include_py: bool) -> dict:
    np_run = make_numpy_iht(P.G, P.A, P.y, P.s, P.beta)
    ag_run = make_autograd_iht(P.G, P.A, P.y, P.s, P.beta)
    t0 = time.perf_counter()
    _, lib_numba = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, "numba")
    t_setup = time.perf_counter() - t0
    _, lib_numpy = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, "numpy")
    # The autograd loop is slow: fewer iterations per call keep the run short (its
    # per-iteration cost has no set-up to amortise beyond the first P_s).
    ag_iter = max(n_iter // 4, 10)
    iters = {"sdlss[numba]": n_iter, "numpy": n_iter, "autograd": ag_iter}
    calls = {
        "sdlss[numba]": lambda: lib_numba(P.y, P.z0),
        "numpy": lambda: np_run(P.z0, n_iter),
        "autograd": lambda: ag_run(P.z0, ag_iter),
    }
    if include_py:
        iters["sdlss[numpy]"] = n_iter
        calls["sdlss[numpy]"] = lambda: lib_numpy(P.y, P.z0)
    for call in calls.values():  # warm-up: numba cache load, BLAS threads, caches
        call()
    raw = time_interleaved(calls, repeat)
    per_iter = {name: [t / iters[name] for t in ts] for name, ts in raw.items()}
    return {"per_iter": per_iter, "iters": iters, "setup": t_setup}


def bench_batched(P: Problem, n_iter: int, repeat: int, include_py: bool) -> dict:
    R = len(P.Z0)
    _, lib_batch = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, "numba", restarts=R)
    _, lib_batch_py = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, "numpy", restarts=R)
    _, lib_single = make_library_iht(P.G, P.A, P.s, P.beta, n_iter, "numba")
    np_run = make_numpy_iht(P.G, P.A, P.y, P.s, P.beta)

    def sequential():
        for r in range(R):
            lib_single(P.y, P.Z0[r])

    def np_sequential():
        for r in range(R):
            np_run(P.Z0[r], n_iter)

    calls = {
        "sdlss[numba] batched": lambda: lib_batch(P.y, P.Z0),
        "sdlss[numba] sequential": sequential,
        "numpy batched": lambda: np_run(P.Z0, n_iter),
        "numpy sequential": np_sequential,
    }
    if include_py:
        calls["sdlss[numpy] batched"] = lambda: lib_batch_py(P.y, P.Z0)
    for call in calls.values():
        call()
    raw = time_interleaved(calls, repeat)
    # Seconds per iteration of all R restarts together.
    return {name: [t / n_iter for t in ts] for name, ts in raw.items()}


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
        f"autograd {getattr(autograd, '__version__', '?')}, sdlss_theory "
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


def summarise(ts: list) -> tuple[float, float]:
    return statistics.median(ts), min(ts)


def report_single(P: Problem, res: dict) -> list:
    k, widths, n, m, s = SIZES[P.name]
    per = res["per_iter"]
    med = {name: summarise(ts)[0] for name, ts in per.items()}
    print(
        f"\n== {P.name}: k={k}, widths={','.join(map(str, widths))}, n={n}, m={m}, s={s}; "
        f"one restart, fixed step {P.beta:.3g}, tol=0"
    )
    print(
        f"   iterations per timed call: {res['iters']}; LatentIHT construction "
        f"(validation + fold A W_d, once per problem): {fmt_time(res['setup']).strip()}"
    )
    print(
        f"   {'implementation':<16}{'median/iter':>14}{'min/iter':>14}{'  library speed-up':>20}"
    )
    lib = med["sdlss[numba]"]
    for name, ts in per.items():
        md, mn = summarise(ts)
        print(f"   {name:<16}{fmt_time(md):>14}{fmt_time(mn):>14}{md / lib:>19.2f}x")
    ag_target, np_target = TARGETS[P.name]
    checks = [
        ("vs autograd", med["autograd"] / lib, ag_target),
        ("vs plain NumPy", med["numpy"] / lib, np_target),
    ]
    if "sdlss[numpy]" in med:
        checks.append(("engine numba vs numpy", med["sdlss[numpy]"] / lib, 1.0))
    for label, ratio, target in checks:
        verdict = "met" if ratio >= target else "MISSED"
        print(f"   {label:<24} {ratio:8.2f}x   (target >= {target:g}x: {verdict})")
    return [(P.name, label, ratio, target) for label, ratio, target in checks]


def report_batched(P: Problem, res: dict, R: int) -> None:
    med = {name: summarise(ts)[0] for name, ts in res.items()}
    print(f"   batched restarts, R={R} (time per iteration of all R restarts):")
    for name, md in med.items():
        print(f"   {name:<26}{fmt_time(md):>14}{fmt_time(md / R):>14} per restart")
    print(
        f"   batching speed-up, library: "
        f"{med['sdlss[numba] sequential'] / med['sdlss[numba] batched']:.2f}x; "
        f"library batched vs NumPy batched: "
        f"{med['numpy batched'] / med['sdlss[numba] batched']:.2f}x"
    )
    if "sdlss[numpy] batched" in med:
        print(
            f"   engine numba vs numpy, batched: "
            f"{med['sdlss[numpy] batched'] / med['sdlss[numba] batched']:.2f}x"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run (fewer iterations)")
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed repeats (default 9; 3 with --quick)"
    )
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["small", "dcs"])
    parser.add_argument("--restarts", type=int, default=32, help="R for the batched measurement")
    parser.add_argument("--no-py-engine", action="store_true", help="skip engine='numpy'")
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=None,
        help="limit every BLAS (numpy's and the one numba calls, scipy's) to this many threads "
        "with threadpoolctl (default: leave them as they are)",
    )
    args = parser.parse_args(argv)
    repeat = args.repeat if args.repeat is not None else (3 if args.quick else 9)
    if repeat < 1 or args.restarts < 1:
        parser.error("--repeat and --restarts must be positive")

    import scipy.linalg  # noqa: F401  (load scipy's BLAS, the one numba's np.dot calls)
    import threadpoolctl

    from sdlss_theory._kernels import warm_up

    if args.blas_threads is not None:
        threadpoolctl.threadpool_limits(args.blas_threads)
    busy = cpu_busy()
    t0 = time.perf_counter()
    warm_up()  # compile or load every kernel from numba's cache
    t_warm = time.perf_counter() - t0
    print("latent IHT: time per iteration (sdlss_theory vs plain NumPy vs autograd)")
    print(environment())
    print(
        f"numba warm-up (compile or cache load): {t_warm:.2f} s; repeats: {repeat}, "
        f"statistic: median over repeats (min shown too)"
    )
    if busy is not None:
        print(
            f"CPU busy over 1 s before the run (other processes): {100 * busy:.0f}%"
            + ("  -- the machine is NOT quiet; timings are unreliable" if busy > 0.1 else "")
        )

    results = []
    for name in args.sizes:
        P = make_problem(name, args.restarts)
        gap = check_same_iterates(P)
        n_iter = ITERS[name] // (8 if args.quick else 1)
        res = bench_single(P, n_iter, repeat, include_py=not args.no_py_engine)
        results += report_single(P, res)
        print(f"   iterates agree after {CHECK_ITERS} iterations (worst relative gap {gap:.1e})")
        batch_iter = max(n_iter // 4, 5)
        report_batched(
            P, bench_batched(P, batch_iter, repeat, not args.no_py_engine), args.restarts
        )

    print("\nsummary (library speed-up, median over repeats):")
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
