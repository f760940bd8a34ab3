"""The problem every solver works on: F(z) = A G(z) packed once, with its checks and helpers.

Latent and classical solvers differ only in the network they pack: classical sparse
recovery is the one-layer linear network F(x) = A x. Everything else every solver needs
lives here once: data checks, starting points, the restricted step rule, the stationarity
certificate, and picking the best start with the stop message of the IHT kernels' status
(the iterations themselves run in `solvers/latent.py`, `run_iht`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sdlss_theory._kernels import iht as iht_kernels
from sdlss_theory._kernels import network
from sdlss_theory._kernels.refit import support_gradient
from sdlss_theory._kernels.threshold import grow_support
from sdlss_theory._validation import as_float_array
from sdlss_theory.projection import hard_threshold
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["MESSAGES", "Problem"]

POWER_ITERATIONS = 30


@dataclass(frozen=True)
class Problem:
    """F(z) = A G(z) packed for the kernels (`net`), and how a code becomes a signal.

    Attributes
    ----------
    net : PackedNetwork
        The packed map z -> F(z).
    signal : callable
        z -> x: ``G(z)`` for latent problems, the identity for classical ones.
    latent : bool
        Whether ``z`` is a latent code (else the result's ``z`` is None).
    """

    net: network.PackedNetwork
    signal: Callable[[np.ndarray], np.ndarray]
    latent: bool

    @classmethod
    def from_generator(cls, G, A) -> Problem:
        """The latent problem z -> A G(z) (A folded into G's last layer when it is linear)."""
        from sdlss_theory.generator import ReLUGenerator

        if not isinstance(G, ReLUGenerator):
            raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
        return cls(G.pack(A), G.forward, True)

    @classmethod
    def from_matrix(cls, A) -> Problem:
        """The classical problem x -> A x."""
        A = as_float_array(A, "A", ndim=(2,))
        net = network.pack_network([A], [np.zeros(A.shape[0])], [network.IDENTITY])
        return cls(net, np.copy, False)

    @property
    def k(self) -> int:
        """The dimension of z."""
        return int(self.net.dims[0])

    @property
    def m(self) -> int:
        """The number of measurements."""
        return int(self.net.dims[-1])

    def check_measurements(self, y) -> np.ndarray:
        """`y` as a finite float64 vector of length m whose norm does not overflow."""
        y = as_float_array(y, "y", ndim=(1,))
        if y.shape != (self.m,):
            raise ValueError(f"y must have shape ({self.m},) to match A, got {y.shape}")
        with np.errstate(over="ignore"):
            norm = np.linalg.norm(y)
        if not np.isfinite(norm):
            raise ValueError("y is too large: its norm overflows float64; rescale y (and x)")
        return y

    def check_starts(self, z0) -> np.ndarray:
        """The rows of `z0` as an (R, k) array (R = 0 when z0 is None)."""
        if z0 is None:
            return np.zeros((0, self.k))
        Z = np.atleast_2d(as_float_array(z0, "z0", ndim=(1, 2)))
        if Z.shape[1] != self.k:
            raise ValueError(f"z0 must have shape ({self.k},) or (R, {self.k}), got {Z.shape}")
        return Z

    def starts(self, s: int, count: int, z0, rng) -> np.ndarray:
        """`count` starting points projected with P_s: the rows of `z0`, then N(0, I_k) draws.

        All rows of `z0` are used even if there are more than `count`; `rng` must be a
        Generator when draws are needed (checked by the solver up front).
        """
        given = self.check_starts(z0)
        n_draw = max(count - given.shape[0], 0)
        if n_draw:
            given = np.vstack([given, rng.standard_normal((n_draw, self.k))])
        return np.ascontiguousarray(hard_threshold(given, s))

    def forward(self, Z: np.ndarray) -> np.ndarray:
        """F(z) for each row of Z, shape (R, m)."""
        Z = np.ascontiguousarray(Z, dtype=np.float64)
        H = np.empty(network.workspace_size(Z.shape[0], self.net.dims))
        return network.forward(self.net, Z, H).copy()

    def restricted_curvature(self, y: np.ndarray, Z: np.ndarray, s: int) -> np.ndarray:
        """||J_F(z)_Gamma||_2^2 for each row of Z, by power iteration on J_Gamma^T J_Gamma.

        Gamma is the support of z grown to s entries by the largest entries of
        |grad f(z)| (`grow_support`: the support the next iterate will most likely use), as
        in normalised IHT. Restricting to s columns matters: for a Gaussian A the full
        ||A||^2 is about (1 + sqrt(n/m))^2 but the s-column one only (1 + sqrt(s/m))^2, and
        the smaller curvature gives a far longer, still stable, step.
        """
        net, n_rows = self.net, Z.shape[0]
        H = np.empty(network.workspace_size(n_rows, net.dims))
        work = np.empty(2 * n_rows * int(net.dims.max()))
        F = network.forward(net, Z, H)
        gradient = network.backward(net, H, F - y, np.empty_like(Z), work)
        gamma = np.empty_like(Z)
        for r in range(n_rows):
            grow_support(Z[r] != 0, gradient[r], s, gamma[r])
        # A fixed, generic start vector: no randomness needed, never orthogonal by accident.
        V = np.tile(1.0 + np.sqrt(np.arange(1, self.k + 1)), (n_rows, 1)) * gamma
        V /= np.linalg.norm(V, axis=1, keepdims=True)
        lam = np.zeros(n_rows)
        for _ in range(POWER_ITERATIONS):
            T = network.jvp(net, H, V, work).copy()
            network.backward(net, H, T, V, work)
            V *= gamma
            lam = np.linalg.norm(V, axis=1)
            V /= np.where(lam > 0, lam, 1.0)[:, None]
        return lam

    def initial_steps(self, y: np.ndarray, Z: np.ndarray, s: int, step) -> np.ndarray:
        """Per-row step sizes: 1 / (2 L) with L the restricted curvature, or the fixed step.

        ``"auto"``: L = ||J_F(z0)_Gamma||^2, the curvature of the Gauss-Newton model of
        ||y - F(z)||^2 on the likely support (`restricted_curvature`); where L = 0 (every
        ReLU off) any step will do, and backtracking corrects it.
        """
        if isinstance(step, str):
            lam = self.restricted_curvature(y, Z, s)
            return 1.0 / (2.0 * np.where(lam > 0, lam, 1.0))
        return np.full(Z.shape[0], float(step))

    def certificate(
        self, y, z, S, *, l2: float = 0.0, cert_tol: float, work=None
    ) -> tuple[bool, float]:
        """(stationary, ||(grad f)_S||): is z a stationary point of f on its support S?

        f(z) = ||y - F(z)||^2 + l2 ||z||^2; stationary when
        ||(grad f(z))_S|| <= 2 cert_tol ||J_S||_F ||y||, the gradient a rounding-level
        fraction of its natural scale.
        """
        work = network.row_work(self.net) if work is None else work
        S = np.asarray(S, dtype=np.int64)
        norm, scale = support_gradient(self.net, y, np.ascontiguousarray(z), S, float(l2), work)
        return bool(norm <= 2.0 * cert_tol * scale * np.linalg.norm(y)), float(norm)

    def best_start(self, y, run: dict, *, l2: float = 0.0, cert_tol: float) -> RecoveryResult:
        """The start of an iteration kernel's run with the smallest residual, certified."""
        best = int(np.argmin(run["residuals"]))
        n_iter = int(run["n_iter"][best])
        status = int(run["status"][best])
        z = run["Z"][best].copy()
        certified, grad_norm = self.certificate(y, z, np.flatnonzero(z), l2=l2, cert_tol=cert_tol)
        return RecoveryResult(
            x=self.signal(z),
            z=z if self.latent else None,
            residual=float(run["residuals"][best]),
            n_iter=n_iter,
            converged=status == iht_kernels.CONVERGED,
            certified=certified,
            message=MESSAGES[status],
            history=run["history"][best, :n_iter].copy(),
            extras={
                "start": best,
                "start_residuals": run["residuals"].copy(),
                "step": float(run["steps"][best]),
                "gradient_norm": grad_norm,
            },
        )


# Status codes of the iteration kernels, and what they mean to a user.
MESSAGES = {
    iht_kernels.RUNNING: "maximum number of iterations reached before the relative change "
    "of z fell below tol",
    iht_kernels.CONVERGED: "converged: the relative change of the iterate fell below tol",
    iht_kernels.DIVERGED: "diverged: the objective exploded at this fixed step; the last "
    "finite iterate is kept",
    iht_kernels.STALLED: "stalled: backtracking could not decrease the objective "
    "(numerically stationary point)",
}
