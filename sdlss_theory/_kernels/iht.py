"""The latent IHT and NIHT iteration loops on a packed network F(z) = A G(z).

Objective f(z) = ||y - F(z)||^2 + l2 ||z||^2, gradient 2 J_F(z)^T (F(z) - y) + 2 l2 z.
In `iht_loop` all rows of Z (starts) advance together, so each iteration is one batched
forward and one batched backward pass: GEMMs, not matrix-vector products.
"""

from typing import NamedTuple

import numpy as np

from sdlss_theory._kernels._jit import jit, jit_inline
from sdlss_theory._kernels.network import (
    backward,
    backward_arrays,
    forward,
    forward_arrays,
    jvp,
    tiny_network,
    workspace_size,
)
from sdlss_theory._kernels.threshold import grow_support, hard_threshold_rows

RUNNING, CONVERGED, DIVERGED, STALLED = 0, 1, 2, 3
# A fixed step whose objective grows past this factor of the starting one has diverged.
DIVERGENCE_FACTOR = 1e30
# Backtracking gives up (a numerically stationary point) below this fraction of the first step.
MIN_STEP_FRACTION = 1e-14
# Step halvings of one NIHT iteration before it stops as stalled.
NIHT_HALVINGS = 200


class IHTRun(NamedTuple):
    """Settings of `iht_loop` (types as the kernel expects them)."""

    s: int
    l2: float
    max_iter: int
    tol: float
    backtrack: bool
    growth: float


class NIHTRun(NamedTuple):
    """Settings of `niht_loop`: kappa and c are the constants of Blumensath & Davies."""

    s: int
    max_iter: int
    tol: float
    kappa: float
    c: float


@jit
def _row_sq_norms(X, out):
    for r in range(X.shape[0]):
        out[r] = np.dot(X[r], X[r])
    return out


@jit_inline
def _evaluate(net, y, Z, H, R, res2, grad, work):
    """R = F(Z) - y, res2 its squared row norms, grad = J_F(Z)^T R: one batched pass each way."""
    flat, w_off, b_off, dims, codes = net
    F = forward_arrays(flat, w_off, b_off, dims, codes, Z, H)
    np.subtract(F, y, R)
    _row_sq_norms(R, res2)
    backward_arrays(flat, w_off, dims, codes, H, R, grad, work)


@jit_inline
def _propose(Z, grad, beta, s, cand):
    """The candidates P_s(Z - beta grad) into cand, row r with its own step beta[r]."""
    for r in range(Z.shape[0]):
        b = beta[r]
        for j in range(Z.shape[1]):
            cand[r, j] = Z[r, j] - b * grad[r, j]
    hard_threshold_rows(cand, s, cand)


@jit_inline
def _row_finite(obj, g):
    """Whether the objective value and every entry of the gradient row g are finite."""
    if not np.isfinite(obj):
        return False
    for j in range(g.shape[0]):
        if not np.isfinite(g[j]):
            return False
    return True


@jit_inline
def _take_step(r, it, run, state, trial, start, history):
    """Accept or refuse row r's candidate of iteration it; 1 while the row runs on, else 0.

    ``state`` = (Z, grad, beta, obj, res2, status) is updated in place; ``trial`` =
    (cand, new_grad, cand_res2, z2) holds the candidates, J^T of their residuals and their
    squared norms; ``start`` = (first beta, starting objective) of every row.
    """
    s, l2, max_iter, tol, backtrack, growth = run
    Z, grad, beta, obj, res2, status = state
    cand, new_grad, cand_res2, z2 = trial
    beta_first, obj_start = start
    cand_obj = cand_res2[r] + l2 * z2[r]
    finite = _row_finite(cand_obj, new_grad[r])
    if backtrack and (not finite or cand_obj > obj[r]):
        beta[r] *= 0.5
        history[r, it] = np.sqrt(res2[r])
        if beta[r] < MIN_STEP_FRACTION * beta_first[r]:
            status[r] = STALLED
            return 0
        return 1
    if not finite or cand_obj > DIVERGENCE_FACTOR * (obj_start[r] + 1.0):
        status[r] = DIVERGED
        history[r, it] = np.sqrt(res2[r])
        return 0
    change2 = 0.0
    for j in range(Z.shape[1]):
        d = cand[r, j] - Z[r, j]
        change2 += d * d
        Z[r, j] = cand[r, j]
        grad[r, j] = 2.0 * new_grad[r, j] + (2.0 * l2) * cand[r, j]
    change = np.sqrt(change2)
    obj[r] = cand_obj
    res2[r] = cand_res2[r]
    if backtrack:
        beta[r] *= growth
    history[r, it] = np.sqrt(res2[r])
    if change <= tol * max(np.sqrt(z2[r]), 1e-300):
        status[r] = CONVERGED
        return 0
    return 1


@jit
def iht_loop(net, y, Z, beta, run, history):
    """Latent IHT, z <- P_s(z - beta grad f(z)), on every row of Z in place.

    With ``run.backtrack`` a step that would raise f is refused and that row's beta
    halved, and an accepted step multiplies it by ``run.growth`` (1: never grows);
    otherwise beta is fixed and a step to a non-finite or exploding objective stops the row
    as diverged (keeping its last finite iterate). A row converges when an accepted step
    changes z by at most ``run.tol`` ||z||. ``history[r, t]`` receives ||y - F(z)|| after
    iteration t. Returns (residuals, status, n_iter); Z and beta are updated in place.
    """
    n_rows, k = Z.shape
    H = np.empty(workspace_size(n_rows, net.dims))
    work = np.empty(2 * n_rows * np.max(net.dims))
    grad = np.empty((n_rows, k))
    new_grad = np.empty((n_rows, k))
    cand = np.empty((n_rows, k))
    R = np.empty((n_rows, y.shape[0]))
    res2 = np.empty(n_rows)
    cand_res2 = np.empty(n_rows)
    z2 = np.empty(n_rows)
    status = np.zeros(n_rows, dtype=np.int64)
    n_iter = np.zeros(n_rows, dtype=np.int64)
    beta_first = beta.copy()

    _evaluate(net, y, Z, H, R, res2, grad, work)
    obj = res2 + run.l2 * _row_sq_norms(Z, z2)
    obj_start = obj.copy()
    grad *= 2.0
    grad += (2.0 * run.l2) * Z
    state = (Z, grad, beta, obj, res2, status)
    trial = (cand, new_grad, cand_res2, z2)
    start = (beta_first, obj_start)
    for it in range(run.max_iter):
        _propose(Z, grad, beta, run.s, cand)
        _evaluate(net, y, cand, H, R, cand_res2, new_grad, work)
        _row_sq_norms(cand, z2)
        n_running = 0
        for r in range(n_rows):
            if status[r] == RUNNING:
                n_iter[r] = it + 1
                n_running += _take_step(r, it, run, state, trial, start, history)
        if n_running == 0:
            break
    return np.sqrt(res2), status, n_iter


@jit
def niht_loop(net, y, Z, run, history):
    """Latent normalised IHT (Blumensath & Davies 2010) on each row of Z, in place.

    g = J^T (y - F(z)); on the support Gamma, mu = ||g_Gamma||^2 / ||J g_Gamma||^2;
    z+ = P_s(z + mu g). If the support changes and mu > omega =
    (1 - c) ||z+ - z||^2 / ||J (z+ - z)||^2, mu <- mu / (kappa (1 - c)). Because
    J is only a local linearisation of F, a step that still raises the
    objective is halved until it does not (the nonlinear safeguard).
    Returns (residuals, status, n_iter, last step sizes).
    """
    s, max_iter, tol, kappa, c = run
    n_rows, k = Z.shape
    m = y.shape[0]
    Hz = np.empty(workspace_size(1, net.dims))
    Hc = np.empty(workspace_size(1, net.dims))
    work = np.empty(2 * np.max(net.dims))
    g = np.empty((1, k))
    g_sup = np.empty((1, k))
    cand = np.empty((1, k))
    step = np.empty((1, k))
    gamma = np.empty(k)
    R = np.empty((1, m))
    residuals = np.empty(n_rows)
    status = np.zeros(n_rows, dtype=np.int64)
    n_iter = np.zeros(n_rows, dtype=np.int64)
    mus = np.zeros(n_rows)
    for r in range(n_rows):
        z = Z[r : r + 1]
        F = forward(net, z, Hz)
        np.subtract(y, F, R)
        obj = np.sum(R * R)
        mu = 0.0
        for it in range(max_iter):
            n_iter[r] = it + 1
            backward(net, Hz, R, g, work)
            grow_support(z[0] != 0.0, g[0], s, gamma)
            g_sup[0] = g[0] * gamma
            num = np.sum(g_sup * g_sup)
            den = np.sum(jvp(net, Hz, g_sup, work) ** 2)
            if num == 0.0 or den == 0.0:
                # No descent direction on the support: a stationary point of f there.
                status[r] = CONVERGED
                history[r, it] = np.sqrt(obj)
                break
            mu = num / den
            accepted = False
            for _ in range(NIHT_HALVINGS):
                cand[0] = z[0] + mu * g[0]
                hard_threshold_rows(cand, s, cand)
                step[0] = cand[0] - z[0]
                if np.any((cand[0] != 0.0) != (gamma != 0.0)):
                    jd = np.sum(jvp(net, Hz, step, work) ** 2)
                    omega = (1.0 - c) * np.sum(step * step) / max(jd, 1e-300)
                    if mu > omega:
                        mu = mu / (kappa * (1.0 - c))
                        continue
                Fc = forward(net, cand, Hc)
                cand_obj = np.sum((y - Fc[0]) ** 2)
                if np.isfinite(cand_obj) and cand_obj <= obj:
                    accepted = True
                    break
                mu *= 0.5
            if not accepted:
                status[r] = STALLED
                history[r, it] = np.sqrt(obj)
                break
            change = np.sqrt(np.sum(step * step))
            z[0] = cand[0]
            Hz[:] = Hc
            np.subtract(y, Fc, R)
            obj = cand_obj
            history[r, it] = np.sqrt(obj)
            if change <= tol * max(np.sqrt(np.sum(z * z)), 1e-300):
                status[r] = CONVERGED
                break
        residuals[r] = np.sqrt(obj)
        mus[r] = mu
    return residuals, status, n_iter, mus


def warm_up() -> None:
    """Compile the loops on a tiny network."""
    net, y = tiny_network()
    Z = np.ones((2, 5))
    iht_loop(
        net, y, Z.copy(), np.full(2, 0.1), IHTRun(1, 0.0, 2, 1e-8, True, 1.0), np.zeros((2, 2))
    )
    niht_loop(net, y, Z.copy(), NIHTRun(1, 2, 1e-8, 2.0, 0.01), np.zeros((2, 2)))
