"""The driver all iterative solvers share: pack F(z) = A G(z), start, run, pick a restart.

Latent and classical solvers differ only in the network they pack (classical
IHT is latent IHT through the one-layer linear network F(x) = A x) and in the
kernel they run; everything else (validation, starts, step rule, restarts,
reporting) lives here once.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory._kernels import latent as latent_kernels
from sdlss_theory._kernels import network
from sdlss_theory._validation import as_float_array, check_int, check_positive_float, check_rng
from sdlss_theory.projection import hard_threshold
from sdlss_theory.solvers._result import MESSAGES, RecoveryResult

ENGINES = ("auto", "numba", "numpy")
POWER_ITERATIONS = 30


def kernel(func, engine: str):
    """The jitted loop, or its Python source for ``engine="numpy"``.

    Both run the same statements (so the same iterates). The Python loop still
    calls the compiled network passes and P_s (unless NUMBA_DISABLE_JIT=1);
    benchmarks/bench_latent_iht.py measured the compiled loop faster at every
    size (5x small, 1.3x DCS-sized), so "auto" picks it.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
    # Under NUMBA_DISABLE_JIT=1 the kernels are plain functions already.
    return getattr(func, "py_func", func) if engine == "numpy" else func


class PackedProblem:
    """F(z) = A G(z) packed for the kernels, with the data checks done once."""

    def __init__(self, weights, biases, codes, *, n_out: int):
        self.weights, self.biases, self.codes = list(weights), list(biases), list(codes)
        self.packed = network.pack_network(weights, biases, codes)
        self.k = int(self.packed[3][0])
        self.m = int(self.packed[3][-1])
        self.n_out = n_out

    @classmethod
    def latent(cls, G, A) -> PackedProblem:
        """Pack z -> A G(z), folding A into the last layer when the output is linear."""
        from sdlss_theory.generator import ReLUGenerator

        if not isinstance(G, ReLUGenerator):
            raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
        A = as_float_array(A, "A", ndim=(2,))
        if A.shape[1] != G.n:
            raise ValueError(f"A must have shape (m, {G.n}) to follow G (n={G.n}), got {A.shape}")
        relu = [network.RELU] * (G.depth - 1)
        if G.output == "linear":
            F = G.premultiply(A)
            return cls(F.weights, F.biases, [*relu, network.IDENTITY], n_out=G.n)
        codes = [*relu, network.ACTIVATION_CODES[G.output], network.IDENTITY]
        return cls([*G.weights, A], [*G.biases, np.zeros(A.shape[0])], codes, n_out=G.n)

    @classmethod
    def linear(cls, A) -> PackedProblem:
        """Pack x -> A x (classical sparse recovery)."""
        A = as_float_array(A, "A", ndim=(2,))
        return cls([A], [np.zeros(A.shape[0])], [network.IDENTITY], n_out=A.shape[1])

    def restricted(self, cols: np.ndarray) -> PackedProblem:
        """The same map on the latent coordinates ``cols`` only: z_T -> F(z with support T)."""
        first = np.ascontiguousarray(self.weights[0][:, cols])
        return PackedProblem([first, *self.weights[1:]], self.biases, self.codes, n_out=self.n_out)

    def check_measurements(self, y) -> np.ndarray:
        y = as_float_array(y, "y", ndim=(1,))
        if y.shape != (self.m,):
            raise ValueError(f"y must have shape ({self.m},) to match A, got {y.shape}")
        with np.errstate(over="ignore"):
            norm = np.linalg.norm(y)
        if not np.isfinite(norm):
            raise ValueError("y is too large: its norm overflows float64; rescale y (and x)")
        return y

    def starts(self, s: int, restarts: int, z0, rng) -> np.ndarray:
        """The projected starting points, one row per restart.

        Rows of `z0` come first; the remaining restarts draw z0 ~ N(0, I_k) from `rng`.
        """
        restarts = check_int(restarts, "restarts", minimum=1)
        given = np.zeros((0, self.k))
        if z0 is not None:
            given = np.atleast_2d(as_float_array(z0, "z0", ndim=(1, 2)))
            if given.shape[1] != self.k:
                raise ValueError(
                    f"z0 must have shape ({self.k},) or (R, {self.k}), got {given.shape}"
                )
        n_draw = max(restarts - given.shape[0], 0)
        if n_draw:
            if rng is None:
                raise ValueError(
                    "rng is required to draw random starting points: pass "
                    "rng=np.random.default_rng(seed) or give z0 for every restart"
                )
            given = np.vstack([given, check_rng(rng).standard_normal((n_draw, self.k))])
        return np.ascontiguousarray(hard_threshold(given, s))

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """F(z) for each row of Z, shape (R, m)."""
        flat, w_off, b_off, dims, codes = self.packed
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        H = np.empty(network.workspace_size(Z.shape[0], dims))
        return network.forward(flat, w_off, b_off, dims, codes, Z, H).copy()

    def restricted_curvature(self, y: np.ndarray, Z: np.ndarray, s: int) -> np.ndarray:
        """||J_F(z)_Gamma||_2^2 for each row of Z, by power iteration on J_Gamma^T J_Gamma.

        Gamma is the support of z grown to s entries by the largest entries of
        |grad f(z)| (the support the next iterate will most likely use), as in
        normalised IHT. Restricting to s columns matters: for a Gaussian A the
        full ||A||^2 is about (1 + sqrt(n/m))^2 but the s-column one only
        (1 + sqrt(s/m))^2, and the smaller curvature gives a far longer, still
        stable, step.
        """
        flat, w_off, b_off, dims, codes = self.packed
        n_rows = Z.shape[0]
        H = np.empty(network.workspace_size(n_rows, dims))
        work = np.empty(2 * n_rows * int(dims.max()))
        F = network.forward(flat, w_off, b_off, dims, codes, Z, H)
        gradient = network.backward(flat, w_off, dims, codes, H, F - y, np.empty_like(Z), work)
        # Shifted so that every entry can be chosen even where the gradient vanishes.
        score = np.abs(gradient) + 1.0
        score[Z != 0] = score.max() + 1.0
        gamma = hard_threshold(score, s) != 0
        # A fixed, generic start vector: no randomness needed, never orthogonal by accident.
        V = np.tile(1.0 + np.sqrt(np.arange(1, self.k + 1)), (n_rows, 1)) * gamma
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        lam = np.zeros(n_rows)
        for _ in range(POWER_ITERATIONS):
            T = network.jvp(flat, w_off, dims, codes, H, V, work).copy()
            network.backward(flat, w_off, dims, codes, H, T, V, work)
            V *= gamma
            lam = np.linalg.norm(V, axis=1)
            V /= np.where(lam > 0, lam, 1.0)[:, None]
        return lam

    def initial_steps(self, y: np.ndarray, Z: np.ndarray, s: int, step) -> tuple[np.ndarray, bool]:
        """Per-row step sizes and whether to backtrack.

        ``"auto"``: beta = 1 / (2 L) with L = ||J_F(z0)_Gamma||^2 the curvature
        of the Gauss-Newton model of ||y - F(z)||^2 on the likely support
        (`restricted_curvature`), halved whenever a step would raise the
        objective. A float fixes beta and disables backtracking.
        """
        if isinstance(step, str):
            if step != "auto":
                raise ValueError(f"step must be 'auto' or a positive float, got {step!r}")
            lam = self.restricted_curvature(y, Z, s)
            # J_F(z0) = 0 (every ReLU off): any step will do; backtracking corrects it.
            return 1.0 / (2.0 * np.where(lam > 0, lam, 1.0)), True
        return np.full(Z.shape[0], check_positive_float(step, "step")), False

    def run_iht(
        self,
        y,
        Z,
        s,
        step,
        *,
        l2,
        max_iter,
        tol,
        engine,
        growth=1.0,
        continuation=0,
        negate_every=0,
    ) -> dict:
        """Run the IHT kernel on the rows of Z.

        With ``continuation`` c > 0 the run has c + 1 stages at sparsity s + c, s + c - 1,
        ..., s (capped at k), max_iter // (c + 1) iterations each (the last stage gets the
        rest), each stage starting where the previous one stopped.
        """
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        tol = check_positive_float(tol, "tol", allow_zero=True)
        growth = check_positive_float(growth, "step_growth")
        if growth < 1.0:
            raise ValueError(f"step_growth must be >= 1, got {growth}")
        continuation = check_int(continuation, "continuation", minimum=0)
        negate_every = check_int(negate_every, "negate_every", minimum=0)
        stages = [min(s + c, self.k) for c in range(continuation, -1, -1)]
        lengths = [max_iter // len(stages)] * len(stages)
        lengths[-1] = max_iter - sum(lengths[:-1])
        stages = [(sc, n) for sc, n in zip(stages, lengths, strict=True) if n > 0]
        if continuation:
            Z = np.ascontiguousarray(hard_threshold(Z, stages[0][0]))
        beta, backtrack = self.initial_steps(y, Z, stages[0][0], step)
        history = np.zeros((Z.shape[0], max_iter))
        loop = kernel(latent_kernels.iht_loop, engine)
        n_iter = np.zeros(Z.shape[0], dtype=np.int64)
        offset = 0
        for i, (s_stage, length) in enumerate(stages):
            if i:
                Z[:] = hard_threshold(Z, s_stage)
            part = np.zeros((Z.shape[0], length))
            residuals, status, n_stage = loop(
                *self.packed,
                y,
                Z,
                s_stage,
                beta,
                float(l2),
                length,
                tol,
                backtrack,
                part,
                float(growth),
                negate_every,
            )
            history[:, offset : offset + length] = part
            # A row that stopped early in a stage repeats its last residual to the stage end.
            for r in range(Z.shape[0]):
                if n_stage[r] < length:
                    history[r, offset + n_stage[r] : offset + length] = part[r, n_stage[r] - 1]
            n_iter += n_stage if i == len(stages) - 1 else length
            offset += length
        return dict(
            Z=Z, residuals=residuals, status=status, n_iter=n_iter, steps=beta, history=history
        )

    def run_niht(self, y, Z, s, *, max_iter, tol, kappa, c, engine) -> dict:
        max_iter = check_int(max_iter, "max_iter", minimum=1)
        tol = check_positive_float(tol, "tol", allow_zero=True)
        c = check_positive_float(c, "c")
        if not c < 1:
            raise ValueError(f"c must lie in (0, 1), got {c}")
        kappa = check_positive_float(kappa, "kappa")
        if not kappa > 1.0 / (1.0 - c):
            raise ValueError(f"kappa must exceed 1 / (1 - c) = {1 / (1 - c):.4g}, got {kappa}")
        history = np.zeros((Z.shape[0], max_iter))
        loop = kernel(latent_kernels.niht_loop, engine)
        residuals, status, n_iter, mus = loop(
            *self.packed, y, Z, s, max_iter, tol, kappa, c, history
        )
        return dict(
            Z=Z, residuals=residuals, status=status, n_iter=n_iter, steps=mus, history=history
        )


def best_restart(run: dict, signal) -> RecoveryResult:
    """The restart with the smallest residual, as a RecoveryResult.

    `signal` maps the winning code to the returned ``(x, z)``.
    """
    best = int(np.argmin(run["residuals"]))
    n_iter = int(run["n_iter"][best])
    status = int(run["status"][best])
    x, z = signal(run["Z"][best].copy())
    return RecoveryResult(
        x=x,
        z=z,
        residual=float(run["residuals"][best]),
        n_iter=n_iter,
        converged=status == latent_kernels.CONVERGED,
        message=MESSAGES[status],
        history=run["history"][best, :n_iter].copy(),
        restart=best,
        restart_residuals=run["residuals"].copy(),
        step=float(run["steps"][best]),
    )


def check_sparsity(s, k: int) -> int:
    s = check_int(s, "s", minimum=1)
    if s > k:
        raise ValueError(f"s must be at most the latent dimension k={k}, got {s}")
    return s
