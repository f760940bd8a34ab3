"""The numba kernels, checked like adjoints: against the generator, each other, and NumPy.

Every kernel is compared with the pure NumPy reference in `kernel_reference` (written from
the equations, sharing no code with the kernels); the forward and backward passes pass the
dot test; the packed network agrees with `ReLUGenerator` on every activation. The same
tests run with the JIT disabled (`test_kernel_tests_pass_with_the_jit_disabled`), so that
the Python source of every kernel is checked too.
"""

import os
import subprocess
import sys
from pathlib import Path

import kernel_reference as ref
import numba
import numpy as np
import pytest

from sdlss_theory import ReLUGenerator, gaussian_matrix, hard_threshold
from sdlss_theory._kernels import (
    MODULES,
    beam,
    iht,
    network,
    pairs,
    refit,
    regions,
    swap,
    threshold,
    warm_up,
)
from sdlss_theory.activations import ACTIVATIONS, OUTPUTS

REPO = Path(__file__).resolve().parents[1]


def random_net(rng, output="linear", dims=(6, 14, 18, 16), m=9, bias=True):
    G = ReLUGenerator.random(list(dims), rng, output=output, bias=bias)
    A = gaussian_matrix(m, dims[-1], rng)
    return G, A, G.pack(A)


def sparse(rng, k, s):
    z = np.zeros(k)
    z[np.sort(rng.choice(k, s, replace=False))] = rng.standard_normal(s)
    return z


# ----------------------------------------------------------------- network passes


@pytest.mark.parametrize("output", OUTPUTS)
def test_packed_network_agrees_with_the_generator(output):
    rng = np.random.default_rng(1)
    G, A, net = random_net(rng, output)
    Z = rng.standard_normal((3, G.k))
    H = np.empty(network.workspace_size(3, net.dims))
    np.testing.assert_allclose(network.forward(net, Z, H), G(Z) @ A.T, rtol=1e-12, atol=1e-13)
    V, U = rng.standard_normal((3, A.shape[0])), rng.standard_normal((3, G.k))
    work = np.empty(2 * 3 * int(net.dims.max()))
    grad = network.backward(net, H, V, np.empty((3, G.k)), work)
    np.testing.assert_allclose(grad, G.vjp(Z, V @ A), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(network.jvp(net, H, U, work), G.jvp(Z, U) @ A.T, rtol=1e-11)
    # Without A, the pack is G itself.
    plain = G.pack()
    H1 = np.empty(network.workspace_size(3, plain.dims))
    np.testing.assert_allclose(network.forward(plain, Z, H1), G(Z), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("output", OUTPUTS)
def test_jacobian_columns_are_the_generator_jacobian(output):
    rng = np.random.default_rng(2)
    G, A, net = random_net(rng, output)
    z = rng.standard_normal(G.k)
    w = network.row_work(net)
    network.objective(net, np.zeros(A.shape[0]), z, w.H)
    cols = np.array([4, 0, 5])
    J = network.jacobian_columns(net, w.H, cols)
    np.testing.assert_allclose(J, (A @ G.jacobian(z))[:, cols], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("cols", [[2], [4, 0, 5], [5, 1, 3, 0, 2, 4]])
def test_jacobian_columns_in_both_modes(output, cols):
    """m = 3: one and three columns by forward mode, six (more than m) by reverse mode."""
    rng = np.random.default_rng(12)
    G, A, net = random_net(rng, output, m=3)
    z = rng.standard_normal(G.k)
    w = network.row_work(net)
    network.objective(net, np.zeros(A.shape[0]), z, w.H)
    cols = np.array(cols)
    J = network.jacobian_columns(net, w.H, cols)
    assert J.shape == (3, cols.size)
    np.testing.assert_allclose(J, (A @ G.jacobian(z))[:, cols], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J, ref.jacobian(net, z)[:, cols], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("output", OUTPUTS)
def test_dot_test_of_the_forward_and_backward_passes(output):
    """<J u, v> = <u, J^T v> for the kernels' own pair, row by row (the adjoint test)."""
    rng = np.random.default_rng(3)
    G, A, net = random_net(rng, output)
    Z = rng.standard_normal((4, G.k))
    U, V = rng.standard_normal((4, G.k)), rng.standard_normal((4, A.shape[0]))
    H = np.empty(network.workspace_size(4, net.dims))
    network.forward(net, Z, H)
    work = np.empty(2 * 4 * int(net.dims.max()))
    JU = network.jvp(net, H, U, work).copy()
    JtV = network.backward(net, H, V, np.empty_like(U), work)
    lhs, rhs = np.sum(JU * V, axis=1), np.sum(U * JtV, axis=1)
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12, atol=1e-14 * np.abs(lhs).max())


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_kernel_activations_are_the_table(name):
    """The kernels evaluate the table's value and derivative for every code, and no other."""
    act = ACTIVATIONS[name]
    a = np.linspace(-3.0, 3.0, 13).reshape(1, -1)
    out = a.copy()
    network.activate(out, act.code)
    # Equal up to the last bit of the compiled tanh.
    np.testing.assert_allclose(out, act.value(a), rtol=1e-15, atol=1e-16)
    g = np.ones_like(out)
    network.scale_by_derivative(g, out, act.code)
    expected = np.ones_like(out) if act.derivative is None else act.derivative(out) * 1.0
    np.testing.assert_array_equal(g, expected)
    assert act.code in network.KERNEL_CODES


@pytest.mark.parametrize("output", OUTPUTS)
def test_network_kernels_match_the_numpy_reference(output):
    rng = np.random.default_rng(4)
    G, A, net = random_net(rng, output)
    z, y = rng.standard_normal(G.k), rng.standard_normal(A.shape[0])
    w = network.row_work(net)
    f = network.objective(net, y, z, w.H)
    np.testing.assert_allclose(f, ref.objective(net, y, z), rtol=1e-12)
    g = network.residual_gradient(net, y, w.H, w.back)
    J = ref.jacobian(net, z)
    np.testing.assert_allclose(g, J.T @ (y - ref.forward(net, z)[0]), rtol=1e-10, atol=1e-12)
    cols = np.arange(G.k)
    np.testing.assert_allclose(network.jacobian_columns(net, w.H, cols), J, rtol=1e-10, atol=1e-12)


def test_restricted_columns_are_the_restricted_generator():
    rng = np.random.default_rng(5)
    G, A, net = random_net(rng)
    cols = np.array([1, 4])
    sub = network.restrict_columns(net, cols)
    expected = G.restrict(cols).pack(A)
    for field in ("flat", "w_off", "b_off", "dims", "codes"):
        np.testing.assert_array_equal(getattr(sub, field), getattr(expected, field))


# ----------------------------------------------------------------- P_s and support growth


def test_threshold_kernels_match_the_reference():
    rng = np.random.default_rng(6)
    U = np.round(rng.standard_normal((20, 9)), 1)  # rounding makes ties common
    for s in range(0, 10):
        out = threshold.hard_threshold_rows(U, min(s, 9), np.empty_like(U))
        np.testing.assert_array_equal(out, [ref.hard_threshold(u, s) for u in U])
    for u in U:
        inside = rng.random(9) < 0.3
        for s in range(int(inside.sum()), 10):
            out = threshold.grow_support(inside, u, s, np.empty(9))
            np.testing.assert_array_equal(out, ref.grow_support(inside, u, s))


# ----------------------------------------------------------------- iteration loops


@pytest.mark.parametrize("output", OUTPUTS)
def test_iht_loop_matches_the_reference_steps(output):
    rng = np.random.default_rng(7)
    G, A, net = random_net(rng, output)
    y = rng.standard_normal(A.shape[0])
    Z = np.array([hard_threshold(rng.standard_normal(G.k), 3) for _ in range(2)])
    beta = np.array([0.01, 0.02])
    for l2 in (0.0, 0.3):
        run = iht.IHTRun(3, l2, 5, 0.0, False, 1.0)
        Zk = Z.copy()
        iht.iht_loop(net, y, Zk, beta.copy(), run, np.zeros((2, 5)))
        for r in range(2):
            z = Z[r]
            for _ in range(5):
                z = ref.iht_step(net, y, z, beta[r], 3, l2)
            np.testing.assert_allclose(Zk[r], z, rtol=1e-9, atol=1e-12)


def test_niht_loop_matches_the_reference_steps():
    rng = np.random.default_rng(8)
    G, A, net = random_net(rng)
    y = A @ G(sparse(rng, G.k, 3))
    z0 = hard_threshold(rng.standard_normal(G.k), 3)
    Z = z0.reshape(1, -1).copy()
    iht.niht_loop(net, y, Z, iht.NIHTRun(3, 4, 0.0, 2.0, 0.01), np.zeros((1, 4)))
    z = z0
    for _ in range(4):
        z = ref.niht_step(net, y, z, 3, 2.0, 0.01)
    np.testing.assert_allclose(Z[0], z, rtol=1e-8, atol=1e-12)


# ----------------------------------------------------------------- refit and growth


@pytest.mark.parametrize("output", OUTPUTS)
def test_gauss_newton_matches_the_reference(output):
    rng = np.random.default_rng(9)
    G, A, net = random_net(rng, output, m=12)
    y = A @ G(sparse(rng, G.k, 3))
    S = np.array([0, 2, 5])
    z0 = np.zeros(G.k)
    z0[S] = rng.standard_normal(3)
    # Few steps with a tolerance far from rounding: the accept/stop decisions are not ties.
    y = y + 0.05 * rng.standard_normal(y.size)
    for settings in (refit.Refit(3, 1.0, True, 1e-6), refit.Refit(3, 0.5, False, 1e-6)):
        z = z0.copy()
        w = network.row_work(net)
        f, steps = refit.gauss_newton(net, y, z, S, settings, w.H, w.Hc)
        z_ref, f_ref, steps_ref = ref.gauss_newton(net, y, z0, S, settings)
        assert steps == steps_ref
        np.testing.assert_allclose(z, z_ref, rtol=1e-7, atol=1e-10)
        np.testing.assert_allclose(f, f_ref, rtol=1e-6, atol=1e-20)


def test_least_squares_is_lstsq_on_full_rank_columns():
    rng = np.random.default_rng(10)
    J, r = rng.standard_normal((12, 5)), rng.standard_normal(12)
    expected = np.linalg.lstsq(J, r, rcond=None)[0]
    np.testing.assert_allclose(refit.least_squares(J, r), expected, rtol=1e-9)


def test_growth_and_seeds_match_the_reference():
    rng = np.random.default_rng(11)
    G, A, net = random_net(rng, m=10, bias=False)
    y = A @ G(sparse(rng, G.k, 3))
    Z, f = refit.one_sparse_fits(net, y)
    Z_ref, f_ref = ref.one_sparse_fits(net, y)
    np.testing.assert_allclose(Z, Z_ref, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(f, f_ref, rtol=1e-10)
    settings = refit.Refit(8, 1.0, True, 1e-12)
    ctx = refit.context(net, y, settings, 0.0)
    i = int(np.argmin(f))
    z, S = Z[i].copy(), np.zeros(3, dtype=np.int64)
    S[0] = i % G.k
    f_grow, n_added = refit.grow(ctx, z, S, 1, np.empty(3))
    z_ref, S_ref, f_grow_ref = ref.grow(net, y, Z[i], [i % G.k], 3, settings)
    assert n_added == 2
    np.testing.assert_array_equal(S, S_ref)
    np.testing.assert_allclose(z, z_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(f_grow, f_grow_ref, rtol=1e-6, atol=1e-20)


@pytest.mark.parametrize("step", [2, 3, 6])
def test_stagewise_growth_matches_the_reference(step):
    """Several coordinates per growth step: ceil(4 / step) refits to grow 1 -> 5."""
    rng = np.random.default_rng(13)
    G, A, net = random_net(rng, "sigmoid", m=10)
    y = A @ G(sparse(rng, G.k, 5))
    settings = refit.Refit(8, 1.0, True, 1e-12, step)
    ctx = refit.context(net, y, settings, 0.0)
    Z, f = refit.one_sparse_fits(net, y)
    i = int(np.argmin(f))
    z, S = Z[i].copy(), np.zeros(5, dtype=np.int64)
    S[0] = i % G.k
    trace = np.empty(5)
    f_grow, n_steps = refit.grow(ctx, z, S, 1, trace)
    z_ref, S_ref, f_grow_ref = ref.grow(net, y, Z[i], [i % G.k], 5, settings)
    assert n_steps == -(-4 // step)
    assert np.unique(S).size == 5 and np.all(z[np.setdiff1d(np.arange(G.k), S)] == 0.0)
    np.testing.assert_array_equal(S, S_ref)
    np.testing.assert_allclose(z, z_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(f_grow, f_grow_ref, rtol=1e-6, atol=1e-20)
    assert trace[n_steps - 1] == f_grow


def test_support_gradient_is_the_gradient_on_the_support():
    rng = np.random.default_rng(12)
    G, A, net = random_net(rng, "tanh")
    z, y = sparse(rng, G.k, 3), rng.standard_normal(A.shape[0])
    S = np.flatnonzero(z)
    for l2 in (0.0, 0.5):
        norm, scale = refit.support_gradient(net, y, z, S, l2, network.row_work(net))
        J = ref.jacobian(net, z)
        g = 2 * J.T @ (ref.forward(net, z)[0] - y) + 2 * l2 * z
        np.testing.assert_allclose(norm, np.linalg.norm(g[S]), rtol=1e-10)
        np.testing.assert_allclose(scale, np.linalg.norm(J[:, S]), rtol=1e-10)


# ----------------------------------------------------------------- swaps and beam


@pytest.mark.parametrize("n_kept", [0, 1, 4])
def test_schur_scores_equal_least_squares_fits(n_kept):
    """One solve scores every added column (1 x 1) or pair (2 x 2) as lstsq on each T does."""
    rng = np.random.default_rng(13)
    J, b = rng.standard_normal((12, 9)), rng.standard_normal(12)
    M, cvec = J.T @ J, J.T @ b
    perm = rng.permutation(9)
    R, cands = np.sort(perm[:n_kept]), np.sort(perm[n_kept:])
    single = np.empty(cands.size)
    swap.single_add_scores(M, cvec, R, cands, single)
    expected = [ref.linear_fit(J, b, [*R, c])[0] for c in cands]
    np.testing.assert_allclose(single, expected, rtol=1e-9)
    base, q, C = swap.added_fit_parts(M, cvec, R, cands)
    for a, b_ in [(0, 1), (1, cands.size - 1)]:
        L = [a, b_]
        pair = -(base + q[L] @ np.linalg.solve(C[np.ix_(L, L)], q[L]))
        T = np.array([*R, cands[a], cands[b_]])
        np.testing.assert_allclose(pair, ref.linear_fit(J, b, T)[0], rtol=1e-9)
        np.testing.assert_allclose(swap.linear_fit(M, cvec, T)[0], pair, rtol=1e-9)


def test_linearisation_is_the_gram_matrix_of_the_jacobian():
    rng = np.random.default_rng(14)
    G, A, net = random_net(rng)
    z, y = sparse(rng, G.k, 3), rng.standard_normal(A.shape[0])
    ctx = refit.context(net, y, refit.Refit(1, 1.0, False, 0.0), 0.0)
    network.objective(net, y, z, ctx.work.H)
    M, cvec = swap.linearisation(ctx, z)
    J = ref.jacobian(net, z)
    b = y - ref.forward(net, z)[0] + J @ z
    ridge = swap.GRAM_RIDGE * np.trace(J.T @ J) / G.k
    np.testing.assert_allclose(M, J.T @ J + ridge * np.eye(G.k), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cvec, J.T @ b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", [15, 16, 17])
def test_swap_search_matches_the_reference(seed):
    rng = np.random.default_rng(seed)
    G, A, net = random_net(rng, dims=(8, 16, 20), m=7, bias=False)
    y = A @ G(sparse(rng, G.k, 3))
    S = np.sort(rng.choice(G.k, 3, replace=False))
    z = np.zeros(G.k)
    z[S] = rng.standard_normal(3)
    settings, swaps = refit.Refit(8, 0.5, True, 1e-12), swap.Swaps(4, 3, 4, seed == 17)
    ctx = refit.context(net, y, settings, 0.0)
    zk, Sk = z.copy(), S.copy()
    f, moves = swap.swap_search(ctx, zk, Sk, swaps, np.empty(4))
    z_ref, S_ref, f_ref = ref.swap_search(net, y, z, S, swaps, settings, 0.0)
    np.testing.assert_array_equal(Sk, S_ref)
    np.testing.assert_allclose(zk, z_ref, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(f, f_ref, rtol=1e-5, atol=1e-20)


def test_beam_level_matches_the_reference():
    rng = np.random.default_rng(18)
    G, A, net = random_net(rng, dims=(7, 14, 20), m=8, bias=False)
    y = A @ G(sparse(rng, G.k, 3))
    Z1, f1 = refit.one_sparse_fits(net, y)
    rows = np.argsort(f1)[:3]
    Z = np.ascontiguousarray(Z1[rows])
    S = np.array([[r % G.k] for r in rows])
    settings = refit.Refit(8, 0.5, True, 1e-12)
    ctx = refit.context(net, y, settings, 0.0)
    C, CS, fC, n = beam.beam_level(ctx, Z, S, 3, beam.zobrist_keys(G.k))
    found = ref.beam_level(net, y, Z, S, 3, settings)
    assert n == len(found)
    for i in range(n):
        np.testing.assert_allclose(fC[i], found[tuple(CS[i])], rtol=1e-5, atol=1e-20)
        assert set(np.flatnonzero(C[i])) <= set(CS[i])
    keys = beam.zobrist_keys(64)
    assert len(set(keys.tolist())) == 64


# ----------------------------------------------------------------- piece pairs


def _pair_inputs(rng, N, n, s, m, bias):
    J = rng.standard_normal((N, n, s))
    J[1, :, -1] *= 1e-14  # a column at the rounding level: the SVD path
    J[2, :, -1] = J[3, :, 0]  # two pieces sharing a column: a dependent pair
    C = rng.standard_normal((N, n)) if bias else np.zeros((N, n))
    if bias:  # pieces 4 and 5 meet at a point (up to rounding), 0 and 6 share their offset
        C[5] = C[4] + J[4] @ rng.standard_normal(s) - J[5] @ rng.standard_normal(s)
        C[6] = C[0]
    A = rng.standard_normal((m, n)) / np.sqrt(m)
    AJ = np.matmul(A, J)
    JT, AJT = J.transpose(0, 2, 1).copy(), AJ.transpose(0, 2, 1).copy()
    blocks = (JT, AJT, np.matmul(JT, J), np.matmul(AJT, AJ), C, C @ A.T,
              np.linalg.norm(J, axis=1))  # fmt: skip
    return J, C, A, (blocks, bias)


@pytest.mark.parametrize(("s", "bias", "m"), [(1, False, 5), (2, False, 9), (2, True, 9),
                                              (3, True, 9), (3, True, 6)])  # fmt: skip
def test_pair_span_values_match_the_reference(s, bias, m):
    """Every pair's value is sigma_min of A on the pair's span (SVD reference) or NaN (the
    SVD path's cases: a rounding-level column, dependent columns, more columns than m)."""
    rng = np.random.default_rng(40 + s)
    N, n = 7, 12
    J, C, A, args = _pair_inputs(rng, N, n, s, m, bias)
    out = np.empty(N * (N + 1) // 2)
    written = pairs.pair_span_values(*args, (0, N), (1e-6, 1e-12), out)
    assert written == out.size
    pos, n_nan = 0, 0
    for P in range(N):
        for Q in range(P, N):
            want = ref.pair_span_value(A, J[P], None if Q == P else J[Q], C[P], C[Q])
            if bias and (P, Q) == (0, 6) and 2 * s <= m:
                assert not np.isnan(out[pos])  # the zero column is left out, not the pair
            if np.isnan(out[pos]):
                n_nan += 1
            else:
                assert out[pos] == pytest.approx(want, rel=1e-9, abs=1e-12), (P, Q)
            pos += 1
    r = 2 * s + bias
    assert n_nan >= N  # the pairs of piece 1 (a tiny column) and the pair (2, 3)
    if r > m:
        # every pair of two pieces but (0, 6), whose zero column is left out; not a piece alone
        assert n_nan == out.size - N + 1 - (bias and 2 * s <= m)


def test_pair_span_values_by_blocks_and_with_a_threshold():
    """Rows p0..p1 write their pairs in order; the pruned kernel skips only values above the
    threshold (never one at most the threshold) and writes the others exactly."""
    from sdlss_theory.srec.pairs import _prune_prep

    rng = np.random.default_rng(50)
    N = 9
    J, C, A, (blocks, bias) = _pair_inputs(rng, N, 14, 2, 10, True)
    full = np.empty(N * (N + 1) // 2)
    P, Q = np.triu_indices(N)
    want = np.array([ref.pair_span_value(A, J[p], None if p == q else J[q], C[p], C[q])
                     for p, q in zip(P, Q, strict=True)])  # fmt: skip
    pairs.pair_span_values(blocks, bias, (0, N), (1e-6, 1e-12), full)
    parts, p0 = [], 0
    for p1 in (2, 5, N):
        out = np.empty(full.size)
        parts.append(out[: pairs.pair_span_values(blocks, bias, (p0, p1), (1e-6, 1e-12), out)])
        p0 = p1
    np.testing.assert_array_equal(np.concatenate(parts), full)
    for t in (float(np.nanquantile(full, q)) for q in (0.2, 0.5, 0.9)):
        prep, tau = _prune_prep(blocks, A, t)
        pos, val = np.empty(full.size, dtype=np.int64), np.empty(full.size)
        w = pairs.pruned_span_values(blocks, prep, bias, (0, N), (1e-6, 1e-12, tau), pos, val)
        skipped = np.setdiff1d(np.arange(full.size), pos[:w])
        assert 0 < skipped.size < full.size and np.all(np.diff(pos[:w]) > 0)
        assert np.all(want[skipped] > t)  # the SVD path's pairs (NaN) included
        np.testing.assert_array_equal(val[:w], full[pos[:w]])


def test_jacobi_eigenvalues_are_numpys():
    rng = np.random.default_rng(51)
    for r in (1, 2, 4, 7):
        B = rng.standard_normal((r, r))
        M = B @ B.T + np.diag(np.geomspace(1e-8, 1, r))
        E = M.copy()
        pairs.jacobi_eigenvalues(E, r)
        np.testing.assert_allclose(np.sort(np.diag(E)), np.linalg.eigvalsh(M), rtol=1e-12,
                                   atol=1e-14 * np.abs(M).max())  # fmt: skip


# ----------------------------------------------------------------- piece walk


def _walk(G, S, max_leaves=10**9):
    from sdlss_theory.piece_count import _Tree

    tree = _Tree(G, len(S))
    net = tree.net
    out = regions.walk_support(np.ascontiguousarray(tree.root(S)), net, tree.fan_arrays,
                               1e-10, 1e-9, 0.0, False, max_leaves)  # fmt: skip
    return out[0], out[5]


WALKED = [([5, 6, 4, 7], 1, True), ([5, 8, 12], 2, False), ([6, 4, 3, 5, 8], 2, True),
          ([4, 5, 6], 3, True), ([5, 3, 3, 6], 4, False)]


@pytest.mark.parametrize(("widths", "s", "bias"), WALKED)
def test_walk_leaves_are_the_enumerated_pieces(widths, s, bias):
    """The distinct leaf patterns of a support are the patterns of `linear_pieces` there,
    and no pattern is a leaf in more than the s + 1 cells of the initial fan."""
    rng = np.random.default_rng(60 + s)
    G = ReLUGenerator.random(widths, rng, bias=bias)
    bits = sum(widths[1:-1])
    for S in [tuple(sorted(rng.choice(G.k, s, replace=False))) for _ in range(3)]:
        words, complete = _walk(G, S)
        assert complete and words.dtype == np.uint64
        leaves = ref.packed_rows(words, bits)
        want = ref.support_patterns(G, S)
        assert set(leaves) == want
        assert len(leaves) <= (s + 1) * len(want)


def test_walk_stops_after_max_leaves():
    G = ReLUGenerator.random([4, 8, 8, 6], np.random.default_rng(61), bias=True)
    full, complete = _walk(G, (0, 2))
    assert complete and full.shape[0] > 10
    part, complete = _walk(G, (0, 2), max_leaves=10)
    assert not complete and part.shape[0] == 11


def test_row_norms_are_numpys():
    rng = np.random.default_rng(62)
    for c in (1, 3, 7, 8, 9, 17, 30):
        M = rng.standard_normal((5, c)) * 10.0 ** rng.uniform(-5, 5, (5, 1))
        np.testing.assert_array_equal(regions.row_norms(M), np.linalg.norm(M, axis=1))


# ----------------------------------------------------------------- registry and switches


def test_registry_warms_every_kernel_of_every_module():
    """Every kernel is compiled by `warm_up`: called by it, or called by a kernel it compiles.

    (A kernel loaded from numba's cache carries the kernels it calls, which are then never
    compiled on their own; so reachability is checked through the kernels' global names.)
    """
    warm_up()
    package = REPO / "sdlss_theory" / "_kernels"
    holding = {path.stem for path in package.glob("*.py") if "@jit" in path.read_text()}
    assert holding == {m.__name__.rsplit(".", 1)[1] for m in MODULES}
    kernels = {
        name: obj
        for module in MODULES
        for name, obj in vars(module).items()
        if isinstance(obj, numba.core.registry.CPUDispatcher) and obj.__module__ == module.__name__
    }
    reached = {name for name, kernel in kernels.items() if kernel.signatures}
    frontier = set(reached)
    while frontier:
        called = {n for name in frontier for n in kernels[name].py_func.__code__.co_names}
        frontier = (called & set(kernels)) - reached
        reached |= frontier
    assert sorted(set(kernels) - reached) == []


def test_the_suites_compile_groups_hold_every_kernel_module_once():
    """tests/conftest.py compiles the kernels ahead of the workers, module by module: a new
    kernel module must join one of its groups (else every worker compiles it again)."""
    from conftest import KERNEL_GROUPS

    names = [name for group in KERNEL_GROUPS for name in group]
    assert sorted(names) == sorted(m.__name__.rsplit(".", 1)[1] for m in MODULES)


def _run(code: str, **env) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip()


def test_cache_switch_turns_the_disk_cache_off():
    code = (
        "from sdlss_theory._kernels import _jit, network;"
        "print(_jit.OPTIONS['cache'], type(network.forward._cache).__name__)"
    )
    assert _run(code, SDLSS_NUMBA_CACHE="0") == "False NullCache"


@pytest.mark.slow
def test_cache_switch_leaves_the_disk_cache_on_by_default():
    code = "from sdlss_theory._kernels import _jit; print(_jit.OPTIONS['cache'])"
    assert _run(code, SDLSS_NUMBA_CACHE="1") == "True"


def _pass_without_jit(*selection: str) -> None:
    """Run the kernel and stage tests selected by ``-k`` with every kernel as plain Python."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-n",  # one process: the caller is already one of the suite's workers
            "0",
            "tests/test_kernels.py",
            "tests/test_stages.py",
            "-k",
            " and ".join(("not jit_disabled and not cache_switch and not registry", *selection)),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "NUMBA_DISABLE_JIT": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout


def test_kernel_loops_pass_with_the_jit_disabled():
    """Smoke test of the plain-Python path: the IHT, NIHT and Gauss-Newton kernels."""
    _pass_without_jit("(iht_loop or niht_loop or gauss_newton)")


@pytest.mark.slow
def test_kernel_tests_pass_with_the_jit_disabled():
    """The kernel and stage tests again, every kernel running as plain Python."""
    _pass_without_jit()
