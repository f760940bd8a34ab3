"""Kernels of the refit and growth stages: Gauss-Newton on a support, greedy 1-sparse seeds.

The objective is f(z) = ||y - F(z)||^2 on a packed network F (`network.py`). A support is
an explicit array of coordinate indices S; z is zero off S, and an entry of z on S may be 0.
Every kernel works on one row z of shape (k,) with the workspaces of one row (`RowWork`),
except `one_sparse_fits`, which pushes all 2k signed unit vectors through F as one batch.

- `gauss_newton`: d = argmin ||y - F(z) - J_S d|| (least squares on the columns S of the
  Jacobian), z_S <- z_S + t d with t halved until f decreases; optionally the negation
  check f(-z) < f(z) after each step (Huang, Hand, Heckel & Voroninski, J. Fourier Anal. Appl.
  2021).
- `grow`: greedy growth (latent orthogonal matching pursuit): the coordinate of largest
  |J^T (y - F(z))| outside S joins, then `gauss_newton` on the grown support.
- `one_sparse_fits`: the best fits t sigma e_j, t >= 0, of all 2k signed unit vectors.
"""

from typing import NamedTuple

import numpy as np

from sdlss_theory._kernels._jit import jit
from sdlss_theory._kernels.network import (
    PackedNetwork,
    RowWork,
    forward,
    jacobian_columns,
    objective,
    output,
    residual_gradient,
    row_work,
    tiny_network,
    workspace_size,
)
from sdlss_theory._kernels.threshold import grow_support

# Line-search halvings of a Gauss-Newton step before giving up.
MAX_HALVINGS = 10
# Relative ridge of the normal equations of a least-squares solve (see `least_squares`).
LSQ_RIDGE = 1e-13
# A new coordinate starts at this fraction of max(||z||, 1), signed like its gradient.
GROW_START = 1e-3


class Refit(NamedTuple):
    """Settings of a Gauss-Newton refit (the refit stage's options, as the kernels take them)."""

    #: Accepted Gauss-Newton steps at most.
    steps: int
    #: Stop after a step that leaves f above stall times its value before it (1: never).
    stall: float
    #: The negation check z <- -z if f(-z) < f(z) after every accepted step.
    negate: bool
    #: Stop after a step of length at most tol ||z||.
    tol: float
    #: Coordinates joining the support per growth step (`grow`; 1: latent OMP).
    grow: int = 1


class Context(NamedTuple):
    """What the one-row kernels of a recovery share: problem, settings, buffers.

    Attributes
    ----------
    net : PackedNetwork
    y : ndarray, shape (m,)
    refit : Refit
    fit_sq : float
        A row whose f reaches this value fits y: searches stop there.
    work : RowWork
    cand, best_z : ndarray, shape (k,)
        A candidate row and the best candidate of a search round.
    best_S : ndarray of int64, shape (k,)
        The best candidate's support (its first entries).
    best_f : ndarray, shape (1,)
        The best candidate's f.
    """

    net: PackedNetwork
    y: np.ndarray
    refit: Refit
    fit_sq: float
    work: RowWork
    cand: np.ndarray
    best_z: np.ndarray
    best_S: np.ndarray
    best_f: np.ndarray


def context(net: PackedNetwork, y: np.ndarray, refit: Refit, fit_sq: float) -> Context:
    """A `Context` with fresh buffers."""
    k = int(net.dims[0])
    return Context(
        net,
        y,
        refit,
        float(fit_sq),
        row_work(net),
        np.empty(k),
        np.empty(k),
        np.zeros(k, dtype=np.int64),
        np.full(1, np.inf),
    )


@jit
def least_squares(J, r):
    """argmin_d ||r - J d|| by the normal equations (J^T J + eps I) d = J^T r.

    eps = LSQ_RIDGE * trace(J^T J) / cols: a relative ridge that leaves well-determined
    directions alone and keeps d finite (near the minimum-norm solution) where J is rank
    deficient (dead ReLUs zero whole columns). The system is symmetric positive definite
    and small (the support's columns), so it is solved by a Cholesky factorisation written
    out (no LAPACK call per step); for the small tall J of a support this is many times
    faster than the SVD-based np.linalg.lstsq. The squared condition number is harmless
    here: every step is checked on the true objective (line search) and Gauss-Newton
    iterates to the fit.
    """
    M = np.dot(J.T, J)
    c = np.dot(J.T, r)
    n = M.shape[0]
    ridge = LSQ_RIDGE * max(np.trace(M) / max(n, 1), 1e-300)
    for p in range(n):
        M[p, p] += ridge
    # M = L L^T, L stored in the lower triangle of M.
    for j in range(n):
        diag = M[j, j]
        for q in range(j):
            diag -= M[j, q] * M[j, q]
        diag = np.sqrt(max(diag, 1e-300))
        M[j, j] = diag
        for i in range(j + 1, n):
            value = M[i, j]
            for q in range(j):
                value -= M[i, q] * M[j, q]
            M[i, j] = value / diag
    for i in range(n):  # L w = c
        value = c[i]
        for q in range(i):
            value -= M[i, q] * c[q]
        c[i] = value / M[i, i]
    for i in range(n - 1, -1, -1):  # L^T d = w
        value = c[i]
        for q in range(i + 1, n):
            value -= M[q, i] * c[q]
        c[i] = value / M[i, i]
    return c


@jit
def gauss_newton(net, y, z, S, refit, H, Hc):
    """Gauss-Newton with backtracking on the support S of z (z updated in place).

    Returns (f, accepted steps). Stops after ``refit.steps`` accepted steps, when a step is
    at most ``refit.tol`` ||z||, when no step length in MAX_HALVINGS halvings lowers f, or
    when an accepted step (with its negation check) leaves f above ``refit.stall`` times
    its value before the step. H holds the forward pass of the final z on return; Hc is
    scratch.
    """
    # Unpacked once: a field read in a loop reloads it.
    steps, stall, negate, tol = refit.steps, refit.stall, refit.negate, refit.tol
    f = objective(net, y, z, H)
    y_sq = np.sum(y * y)
    n_done = 0
    cand = np.empty_like(z)
    if S.shape[0] == 0:
        return f, n_done
    for _ in range(steps):
        if f <= 1e-30 * y_sq:
            break
        J = jacobian_columns(net, H, S)
        d = least_squares(J, y - output(net, H, 1)[0])
        t = 1.0
        accepted = False
        fc = f
        for _ in range(MAX_HALVINGS):
            cand[:] = z
            for c in range(S.shape[0]):
                cand[S[c]] += t * d[c]
            fc = objective(net, y, cand, Hc)
            if np.isfinite(fc) and fc < f:
                accepted = True
                break
            t *= 0.5
        if not accepted:
            break
        change = t * np.sqrt(np.sum(d * d))
        f_before = f
        z[:] = cand
        H[:] = Hc
        f = fc
        n_done += 1
        if negate:
            cand[:] = -z
            fn = objective(net, y, cand, Hc)
            if fn < f:
                z[:] = cand
                H[:] = Hc
                f = fn
        if f > stall * f_before or change <= tol * max(np.sqrt(np.sum(z * z)), 1e-300):
            break
    return f, n_done


@jit
def grow(ctx, z, S, size, trace):
    """Grow the support S[:size] of z to len(S) coordinates, refitting after each growth step.

    A growth step adds the ``ctx.refit.grow`` coordinates j outside the support with the
    largest |g_j|, g = J^T (y - F(z)) (ties by index; fewer where len(S) is reached), each
    with z_j = GROW_START max(||z||, 1) sign(g_j); then `gauss_newton` on the grown support
    (kept sorted). With one coordinate per step this is latent orthogonal matching pursuit;
    with more, its stagewise form (several atoms per selection, as StOMP and CoSaMP take),
    which needs ceil((len(S) - size) / grow) refits instead of len(S) - size.
    ``trace[i]`` receives f after the i-th growth step. Returns (f, growth steps); z and S
    are updated in place, ctx.work.H holds the pass of z.
    """
    net, y, work, refit = ctx.net, ctx.y, ctx.work, ctx.refit
    step = max(refit.grow, 1)
    k = z.shape[0]
    inside = np.zeros(k, dtype=np.bool_)
    for c in range(size):
        inside[S[c]] = True
    grown = np.empty(k)
    f = objective(net, y, z, work.H)
    n_steps = 0
    while size < S.shape[0]:
        g = residual_gradient(net, y, work.H, work.back)
        target = min(size + step, S.shape[0])
        grow_support(inside, g, target, grown)
        scale = max(np.sqrt(np.sum(z * z)), 1.0)
        for j in range(k):
            if grown[j] != 0.0 and not inside[j] and size < target:
                z[j] = GROW_START * scale * (1.0 if g[j] >= 0.0 else -1.0)
                inside[j] = True
                S[size] = j
                size += 1
        S[:size].sort()
        f, _ = gauss_newton(net, y, z, S[:size], refit, work.H, work.Hc)
        trace[n_steps] = f
        n_steps += 1
    return f, n_steps


@jit
def refine(ctx, z, S, size, trace):
    """The growth and refit stage on one row: `grow` S[:size] to len(S), then `gauss_newton`.

    ``trace`` (at least len(S) - size + 1 entries) receives f after each growth step and
    after the refit. Returns the number of entries written; z and S are updated in
    place.
    """
    n = 0
    if size < S.shape[0]:
        _, n = grow(ctx, z, S, size, trace)
    trace[n], _ = gauss_newton(ctx.net, ctx.y, z, S, ctx.refit, ctx.work.H, ctx.work.Hc)
    return n + 1


@jit
def one_sparse_fits(net, y):
    """Best fits t * sign * e_j, t >= 0, of every signed unit vector: (Z, f), 2k rows.

    Row j is +e_j's fit and row k + j is -e_j's. For a bias-free ReLU network
    F(t v) = t F(v) for t >= 0, so the best t is max(<y, F(v)>, 0) / ||F(v)||^2 in closed
    form; otherwise this is the same formula read as one Gauss-Newton step from 0 along v
    (exact for positively homogeneous F).
    """
    k = net.dims[0]
    E = np.zeros((2 * k, k))
    for j in range(k):
        E[j, j] = 1.0
        E[k + j, j] = -1.0
    H = np.empty(workspace_size(2 * k, net.dims))
    V = forward(net, E, H)
    Z = np.zeros((2 * k, k))
    f = np.empty(2 * k)
    y_sq = np.sum(y * y)
    for i in range(2 * k):
        ip = np.dot(V[i], y)
        nv = np.dot(V[i], V[i])
        t = ip / nv if (ip > 0.0 and nv > 0.0) else 0.0
        Z[i] = t * E[i]
        f[i] = y_sq - t * ip
    return Z, f


@jit
def support_gradient(net, y, z, S, l2, work):
    """(||(grad f(z))_S||, ||J_S||_F) for f(z) = ||y - F(z)||^2 + l2 ||z||^2.

    grad f(z) = 2 J^T (F(z) - y) + 2 l2 z with J = J_F(z); the second number is the scale
    of the stationarity certificate. work.H receives the forward pass of z.
    """
    objective(net, y, z, work.H)
    g = residual_gradient(net, y, work.H, work.back)
    total = 0.0
    for c in range(S.shape[0]):
        total += (-2.0 * g[S[c]] + 2.0 * l2 * z[S[c]]) ** 2
    scale = 0.0
    if S.shape[0] > 0:
        scale = np.sqrt(np.sum(jacobian_columns(net, work.H, S) ** 2))
    return np.sqrt(total), scale


def warm_up() -> None:
    """Compile the kernels of this module on a tiny network."""
    net, y = tiny_network()
    ctx = context(net, y, Refit(3, 0.5, True, 1e-9), 0.0)
    z = one_sparse_fits(net, y)[0][0].copy()
    S = np.array([0, 0], dtype=np.int64)
    grow(ctx, z, S, 1, np.empty(2))
    refine(ctx, z, S, 2, np.empty(3))
    gauss_newton(net, y, z, S, ctx.refit, ctx.work.H, ctx.work.Hc)
    support_gradient(net, y, z, S, 0.0, ctx.work)
