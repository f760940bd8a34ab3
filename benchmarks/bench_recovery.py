"""Recovery benchmark: success and failure decomposition per solver configuration, and speed.

On the latent phase-transition study's setup (random bias-free ReLU generator, weights
N(0, 1/n_i), linear output; s-sparse z* with N(0, 1) non-zeros; A with N(0, 1/m) entries;
y = A G(z*), no noise), each configuration recovers z_hat and is scored as the study scores
it: success when ||G(z_hat) - x*|| <= 1e-3 ||x*||; otherwise an *identifiability* failure
when ||y - A G(z_hat)|| <= 1e-6 ||y|| (another code fits y as well as z*), else an
*optimisation* failure. Every configuration sees the same draws (G, A, z*) per trial.

Sections (each prints a table; none asserts anything):

1. ``transition``: success / optimisation / identifiability rates and CPU time per
   recovery per configuration over m, at each (depth, s), and each configuration's 50%
   point (logistic fit, `fit_transition`) with its ratio to the oracle's; also the 50%
   point with its optimisation failures counted as successes (identifiability failures
   only), against the oracle's.
2. ``square``: m = n, noise-free, several depths: success rate of the default solver.
3. ``dense``: s = k at fixed m, over k, for two and three layers (expansive networks
   [k, 4k, 8k] and [k, 2k, 4k, 8k]).
4. ``speed``: batched latent IHT restarts (R rows per iteration, GEMMs) as a flop rate
   against numpy's dgemm on the same shapes and on a large square product, measured in the
   same run; and a default `latent_recover` against one plain `latent_iht` run
   (restarts=1) of the same length: ``max_iter`` iterations, all run (a fixed step, a
   quarter of 1 / (2 ||A J_G(z0)||^2), and tol=0).

Usage::

    python benchmarks/bench_recovery.py --quick            # a few minutes
    python benchmarks/bench_recovery.py                    # the study's default network
    python benchmarks/bench_recovery.py --sections speed   # one section

Times are this thread's CPU time (time.thread_time) with BLAS capped at one thread
(threadpoolctl), so other processes on a shared machine do not inflate them.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sdlss_theory import (
    LatentIHT,
    ReLUGenerator,
    gaussian_matrix,
    latent_gd,
    latent_iht,
    latent_niht,
    sparse_latents,
)
from sdlss_theory._kernels import warm_up
from sdlss_theory.solvers.recover import LatentRecover, latent_recover
from sdlss_theory.sweep import fit_transition

TOL, IDENT_TOL = 1e-3, 1e-6
ITERS = 200  # iterations per timed batched IHT call


def draw(dims, s, m, seed):
    rng = np.random.default_rng(seed)
    G = ReLUGenerator.random(list(dims), rng)
    for _ in range(100):
        z = sparse_latents(1, dims[0], s, rng)[0]
        x = G(z)
        if np.any(x != 0):
            break
    A = gaussian_matrix(m, dims[-1], rng)
    return G, A, z, x, A @ x, rng


def configurations(max_iter: int, restarts: int) -> dict:
    """name -> function (G, A, y, s, z_true, rng) -> z_hat."""

    def lib(solver, **kw):
        return lambda G, A, y, s, z, rng: solver(G, A, y, s, rng=rng, **kw).z

    def oracle(G, A, y, s, z, rng, gd=False):
        S = np.flatnonzero(z)
        G_S = G.restrict(S)
        if gd:
            r = latent_gd(G_S, A, y, restarts=restarts, max_iter=max_iter, rng=rng)
        else:
            r = latent_recover(G_S, A, y, S.size, seeds=2 * S.size, restarts=restarts, rng=rng)
        out = np.zeros(G.k)
        out[S] = r.z
        return out

    it = dict(max_iter=max_iter, restarts=restarts)
    return {
        f"latent_iht R={restarts}, no step growth (the old default)": lib(
            latent_iht, step_growth=1.0, **it
        ),
        f"latent_iht R={restarts} (default: step growth 1.5)": lib(latent_iht, **it),
        f"latent_iht R={restarts}, step growth 2": lib(latent_iht, step_growth=2.0, **it),
        f"latent_iht R={restarts}, continuation 2s -> s": lambda G, A, y, s, z, rng: (
            latent_iht(G, A, y, s, continuation=s, step_growth=1.0, rng=rng, **it).z
        ),
        f"latent_iht R={restarts}, negation every 10": lib(
            latent_iht, negate_every=10, step_growth=1.0, **it
        ),
        f"latent_niht R={restarts}": lib(latent_niht, **it),
        "recover (default)": lib(latent_recover, restarts=restarts),
        "recover, eager (all starts grown before any swap search)": lib(
            latent_recover, restarts=restarts, group=10**6
        ),
        "recover, no pair moves": lib(latent_recover, restarts=restarts, pair_screen=0),
        "recover, 128 pair moves": lib(latent_recover, restarts=restarts, pair_screen=128),
        "recover, no Gauss-Newton stall (gn_stall=1, the default before)": lib(
            latent_recover, restarts=restarts, gn_stall=1.0
        ),
        "recover, no support search (exhaustive=0)": lib(
            latent_recover, restarts=restarts, exhaustive=0
        ),
        "recover, no beam (beam=0)": lib(latent_recover, restarts=restarts, beam=0),
        "recover, beam 64 (the default before)": lib(latent_recover, restarts=restarts, beam=64),
        "recover, beam 256": lib(latent_recover, restarts=restarts, beam=256),
        "recover, beam 1024, expand 4": lib(latent_recover, restarts=restarts, beam_expand=4),
        "recover, beam expand 16": lib(latent_recover, restarts=restarts, beam_expand=16),
        "recover, no swap": lib(latent_recover, restarts=restarts, max_swaps=0),
        "recover, no negation": lib(latent_recover, restarts=restarts, negate=False),
        "recover, 5 seeds": lib(latent_recover, restarts=restarts, seeds=5),
        f"recover, random starts only (R={restarts})": lib(
            latent_recover, restarts=restarts, seeds=0
        ),
        "recover + HTP": lib(latent_recover, restarts=restarts, htp_iters=10),
        "oracle (recover on S)": oracle,
        "oracle (GD on S)": lambda *a: oracle(*a, gd=True),
    }


def score(G, A, y, z_hat, x):
    rel = np.linalg.norm(G(z_hat) - x) / np.linalg.norm(x)
    if rel <= TOL:
        return "ok"
    fits = np.linalg.norm(y - A @ G(z_hat)) <= IDENT_TOL * np.linalg.norm(y)
    return "ident" if fits else "opt"


def run_cell(configs, dims, s, m, trials):
    out = {name: {"ok": 0, "opt": 0, "ident": 0, "cpu": 0.0} for name in configs}
    for t in range(trials):
        for name, solve in configs.items():
            G, A, z, x, y, rng = draw(dims, s, m, (s, m, len(dims), t))
            c0 = time.thread_time()
            z_hat = solve(G, A, y, s, z, rng)
            out[name]["cpu"] += time.thread_time() - c0
            out[name][score(G, A, y, z_hat, x)] += 1
    return out


def m50(m: np.ndarray, ok: np.ndarray, trials: int) -> float:
    """The logistic fit's 50% point; where that fit fails (a step too sharp for the grid),
    the empirical crossing, interpolated in log m between the last m below 50% and the
    first at or above it; nan if the rate never crosses 50% inside the grid."""
    x50 = fit_transition(m, ok, np.full(ok.size, trials)).x50
    if np.isfinite(x50) and m.min() <= x50 <= m.max():
        return float(x50)
    rate = ok / trials
    above = np.flatnonzero(rate >= 0.5)
    if above.size == 0 or above[0] == 0:
        return float("nan")
    i = above[0]
    w = (0.5 - rate[i - 1]) / (rate[i] - rate[i - 1])
    return float(np.exp(np.log(m[i - 1]) + w * (np.log(m[i]) - np.log(m[i - 1]))))


def section_transition(args):
    print("\n## transition: success / optimisation / identifiability failures per configuration")
    configs = configurations(args.max_iter, args.restarts)
    if args.configs:
        configs = {k: v for k, v in configs.items() if any(c in k for c in args.configs)}
    for depth in args.depths:
        dims = [args.k, *args.hidden[: depth - 1], args.n]
        for s in args.s:
            print(f"\n### depth {depth} ({dims}), s = {s}, {args.trials} trials per m")
            rows = {name: [] for name in configs}
            for m in args.m:
                cell = run_cell(configs, dims, s, m, args.trials)
                for name in configs:
                    rows[name].append(cell[name])
            m_arr = np.array(args.m, dtype=float)
            fits, limits = {}, {}
            for name in configs:
                ok = np.array([c["ok"] for c in rows[name]])
                fits[name] = m50(m_arr, ok, args.trials)
                # The 50% point had every optimisation failure been a success. What remains are
                # identifiability failures: y does not tell z* from another s-sparse code.
                opt = np.array([c["opt"] for c in rows[name]])
                limits[name] = m50(m_arr, ok + opt, args.trials)
            m50_oracle = fits.get("oracle (recover on S)", np.nan)
            print(
                "| configuration | "
                + " | ".join(f"m={m}" for m in args.m)
                + " | m_50 | / oracle | m_50 ident. | / oracle | CPU ms/recovery |"
            )
            print("|---" * (len(args.m) + 6) + "|")
            for name in configs:
                cells = " | ".join(f"{c['ok']}/{c['opt']}/{c['ident']}" for c in rows[name])
                cpu = 1e3 * sum(c["cpu"] for c in rows[name]) / (args.trials * len(args.m))
                print(
                    f"| {name} | {cells} | {fits[name]:.3g} | "
                    f"{fits[name] / m50_oracle:.2f} | {limits[name]:.3g} | "
                    f"{limits[name] / m50_oracle:.2f} | {cpu:.2f} |"
                )
            print(
                "(cells: successes / optimisation failures / identifiability failures; "
                "m_50 from the logistic fit, or the interpolated crossing where the fit fails; "
                "nan if the rate does not cross 50% inside the grid; m_50 ident.: the same with "
                "the optimisation failures counted as successes, so that only identifiability "
                "failures remain, where another s-sparse code fits y as well as z*)"
            )


def section_square(args):
    print("\n## square: m = n, noise-free, default latent_recover")
    print("| depth | dims | s | success | opt. failures | certified | CPU ms/recovery |")
    print("|---|---|---|---|---|---|---|")
    for depth in args.square_depths:
        dims = [args.k, *[args.k * 3 * 2**i for i in range(depth - 1)], args.n]
        for s in args.s:
            ok = opt = cert = 0
            cpu = 0.0
            for t in range(args.square_trials):
                G, A, z, x, y, rng = draw(dims, s, dims[-1], (1, depth, s, t))
                c0 = time.thread_time()
                r = latent_recover(G, A, y, s, rng=rng)
                cpu += time.thread_time() - c0
                res = score(G, A, y, r.z, x)
                ok += res == "ok"
                opt += res == "opt"
                cert += r.certified
            n = args.square_trials
            print(f"| {depth} | {dims} | {s} | {ok}/{n} | {opt} | {cert} | {1e3 * cpu / n:.2f} |")


def section_dense(args):
    print(
        f"\n## dense: s = k, m = {args.dense_m} fixed, default latent_recover, over k; "
        "expansive networks [k, 4k, 8k] (2 layers) and [k, 2k, 4k, 8k] (3 layers)"
    )
    print("| layers | " + " | ".join(f"k={k}" for k in args.dense_k) + " |")
    print("|---" * (len(args.dense_k) + 1) + "|")
    for depth in (2, 3):
        cells = []
        for k in args.dense_k:
            dims = [k, 4 * k, 8 * k] if depth == 2 else [k, 2 * k, 4 * k, 8 * k]
            counts = {"ok": 0, "opt": 0, "ident": 0}
            cpu = 0.0
            for t in range(args.dense_trials):
                G, A, z, x, y, rng = draw(dims, k, args.dense_m, (2, depth, k, t))
                c0 = time.thread_time()
                r = latent_recover(G, A, y, k, rng=rng)
                cpu += time.thread_time() - c0
                counts[score(G, A, y, r.z, x)] += 1
            ms = 1e3 * cpu / args.dense_trials
            cells.append(f"{counts['ok']}/{counts['opt']}/{counts['ident']} ({ms:.0f} ms)")
        print(f"| {depth} | " + " | ".join(cells) + " |", flush=True)
    print("(successes / optimisation / identifiability failures, mean CPU time per recovery)")


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


def section_speed(args):
    print("\n## speed (CPU time, BLAS 1 thread)")
    dims = [args.k, *args.hidden, args.n]
    G, A, z, x, y, rng = draw(dims, 5, 40, 4)
    F = G.premultiply(A)
    layer_dims = [W.shape for W in F.weights]
    big = np.random.default_rng(0).standard_normal((512, 512))
    peak = _rate(lambda: big @ big, 2 * 512**3)
    print(f"large dgemm (512^3): {peak / 1e9:.2f} GFlop/s")
    print("| R | batched IHT GFlop/s | same-shape dgemm GFlop/s | ratio | vs large dgemm |")
    print("|---|---|---|---|---|")
    for R in args.batch_sizes:
        Z0 = rng.standard_normal((R, G.k))
        # forward and backward: two GEMMs per layer (the backward one skips nothing).
        flops = 2 * 2 * R * sum(a * b for a, b in layer_dims)
        solver = LatentIHT(G, A, 5, step=1e-3, max_iter=ITERS, tol=0)
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
    # A default recovery against one plain latent IHT run of max_iter iterations.
    print(
        f"\ndefault latent_recover vs one latent_iht run (restarts=1, {args.max_iter} "
        f"iterations: fixed step, tol=0), CPU ms, {args.speed_trials} problems per row:"
    )
    print("| depth | s | m | recover ms (median) | plain IHT ms (median) | ratio |")
    print("|---|---|---|---|---|---|")
    for depth in args.depths:
        dims = [args.k, *args.hidden[: depth - 1], args.n]
        for s in args.s:
            for m in args.speed_m:
                t_rec, t_iht = [], []
                for t in range(args.speed_trials):
                    G, A, z, x, y, rng = draw(dims, s, m, (3, depth, s, m, t))
                    c0 = time.thread_time()
                    LatentRecover(G, A, s).solve(y, rng=rng)
                    t_rec.append(time.thread_time() - c0)
                    # A fixed step a quarter of 1 / (2 ||A J_G(z0)||^2) and tol=0: the run does
                    # all max_iter iterations (the auto step may stop early, as stalled).
                    z0 = rng.standard_normal(G.k)
                    J = A @ G.jacobian(z0)
                    beta = 0.25 / (2.0 * np.linalg.norm(J, 2) ** 2)
                    c0 = time.thread_time()
                    r = latent_iht(G, A, y, s, step=beta, max_iter=args.max_iter, tol=0, z0=z0)
                    # Scaled to max_iter iterations should the run stop early (an exact fixed
                    # point, where the iterate no longer changes at all).
                    t_iht.append((time.thread_time() - c0) * args.max_iter / r.n_iter)
                a, b = np.median(t_rec) * 1e3, np.median(t_iht) * 1e3
                print(f"| {depth} | {s} | {m} | {a:.2f} | {b:.2f} | {a / b:.2f} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="the study's quick network, few trials")
    p.add_argument("--sections", nargs="+", default=["transition", "square", "dense", "speed"])
    p.add_argument("--configs", nargs="*", help="substrings of configuration names to run")
    p.add_argument("--trials", type=int, default=None)
    p.add_argument("--depths", type=int, nargs="+", help="only these depths (default 2 3)")
    p.add_argument("--sparsity", type=int, nargs="+", help="only these s (default: the grid)")
    args = p.parse_args(argv)
    depths, sparsity = args.depths, args.sparsity
    if args.quick:
        args.k, args.hidden, args.n = 10, (30, 60), 80
        args.s, args.m = [2, 4], [1, 2, 3, 4, 6, 8, 12, 16, 24, 48]
        args.trials = args.trials or 20
        args.square_trials, args.dense_trials = 50, 10
        args.dense_k, args.dense_m = [4, 8, 12, 16, 20, 24], 16
        args.speed_m = [8, 24]
    else:
        args.k, args.hidden, args.n = 20, (60, 120), 200
        # The study's default s grid; every m up to 14, where the transitions lie.
        args.s = [1, 2, 3, 5, 8]
        args.m = [*range(1, 15), 16, 20, 25, 30, 40, 60]
        args.trials = args.trials or 30
        args.square_trials, args.dense_trials = 100, 10
        args.dense_k, args.dense_m = [5, 10, 20, 30, 40], 40
        args.speed_m = [15, 40]
    args.depths, args.square_depths = depths or [2, 3], [2, 3, 4]
    args.s = sparsity or args.s
    args.max_iter, args.restarts = 1000 if not args.quick else 300, 5
    args.batch_sizes = [1, 8, 64, 512]
    args.speed_trials = 10
    print(
        f"bench_recovery: k={args.k}, hidden={args.hidden}, n={args.n}, "
        f"{'quick' if args.quick else 'default'} preset"
    )
    with threadpool_limits(1):
        warm_up()
        for name in args.sections:
            globals()[f"section_{name}"](args)


if __name__ == "__main__":
    main()
