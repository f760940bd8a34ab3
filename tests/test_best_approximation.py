"""Tests of sdlss_theory.best_approximation: the exact best s-sparse approximation.

* Against brute force (a dense grid over every support, then Nelder-Mead from the best grid
  points) on small networks, s = 1 and 2, with and without biases: the exact distance is never
  above the brute force one and within 1e-6 ||x|| of it.
* The returned z is s-sparse and reproduces the distance; x in the range gives distance 0.
* The fallback (budget exceeded) is flagged inexact and is an s-sparse upper bound.
* Never wrong when it says exact (issue 19): on random narrow networks (k and widths 2-4,
  s = 1, 2, with and without biases), where rank-deficient pieces are common, against an
  independent exhaustive search: activation patterns found by sampling every support (a grid,
  far points in every direction, random points), one convex programme per pattern solved by
  scipy's SLSQP over the pattern's polyhedron, every candidate evaluated with G. 20 networks
  in the default run, 200 in the slow one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from sdlss_theory import ReLUGenerator, sparse_latents
from sdlss_theory.best_approximation import EXACT_RTOL, best_sparse_approximation


def brute_force(G, x, s, grid, box):
    best = np.inf
    for S in itertools.combinations(range(G.k), s):
        axes = [np.linspace(-box, box, grid)] * s
        U = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, s)
        Z = np.zeros((U.shape[0], G.k))
        Z[:, list(S)] = U
        d = np.linalg.norm(G(Z) - x, axis=1)
        for i in np.argsort(d)[:3]:

            def f(u, S=S):
                z = np.zeros(G.k)
                z[list(S)] = u
                return np.linalg.norm(G(z) - x)

            res = minimize(f, U[i], method="Nelder-Mead",
                           options=dict(xatol=1e-11, fatol=1e-13, maxiter=3000))  # fmt: skip
            best = min(best, res.fun, d[i])
    return best


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("s", [1, 2])
def test_exact_against_brute_force(bias, s):
    rng = np.random.default_rng(7 + 2 * s + bias)
    for _ in range(2):
        G = ReLUGenerator.random([4, 6, 8], rng, bias=bias)
        x = rng.standard_normal(8) * np.linalg.norm(G(rng.standard_normal(4))) / 3
        best = best_sparse_approximation(G, x, s)
        assert best.exact and best.method == "pieces"
        brute = brute_force(G, x, s, grid=301 if s == 1 else 61, box=6.0)
        scale = np.linalg.norm(x)
        assert best.distance <= brute + 1e-12 * scale
        assert brute - best.distance <= 1e-6 * scale
        assert np.count_nonzero(best.z) <= s
        assert best.distance == pytest.approx(np.linalg.norm(G(best.z) - x), rel=1e-12)


def test_signal_in_the_range_has_distance_zero():
    rng = np.random.default_rng(3)
    G = ReLUGenerator.random([6, 10, 16], rng, bias=True)
    z = sparse_latents(1, 6, 2, rng)[0]
    best = best_sparse_approximation(G, G(z), 2)
    assert best.exact and best.distance <= 1e-12 * np.linalg.norm(G(z))


def test_fallback_is_flagged_and_sparse():
    rng = np.random.default_rng(4)
    G = ReLUGenerator.random([6, 10, 16], rng, bias=True)
    x = rng.standard_normal(16)
    exact = best_sparse_approximation(G, x, 2)
    fallback = best_sparse_approximation(G, x, 2, max_pieces=5, rng=0)
    assert not fallback.exact and fallback.method == "latent_recover"
    assert np.count_nonzero(fallback.z) <= 2
    assert fallback.distance >= exact.distance - 1e-12
    with pytest.raises(ValueError, match="x must have shape"):
        best_sparse_approximation(G, x[:3], 2)
    with pytest.raises(ValueError, match="s must be at most the dimension k"):
        best_sparse_approximation(G, x, 7)


# --------------------------------------------------------------- an independent exhaustive search
def _pattern_programme(G, S, masks):
    """The affine maps of one activation pattern on support S (built layer by layer).

    Returns (A_ineq, b_ineq, J, c): the pattern's polyhedron {u : A_ineq u + b_ineq >= 0} (each
    hidden unit's pre-activation has the sign of its state) and G(z) = J z_S + c on it.
    """
    s = len(S)
    M = np.zeros((G.k, s))
    M[list(S), range(s)] = 1.0
    c = np.zeros(G.k)
    rows, offs = [], []
    for layer, (W, b) in enumerate(zip(G.weights, G.biases, strict=True)):
        Mp, cp = W @ M, W @ c + b
        if layer == len(G.weights) - 1:
            break
        sign = np.where(masks[layer], 1.0, -1.0)
        rows.append(sign[:, None] * Mp)
        offs.append(sign * cp)
        M, c = Mp * masks[layer][:, None], cp * masks[layer]
    return np.vstack(rows), np.concatenate(offs), Mp, cp


def exhaustive_minimum(G, x, s, rng, *, grid=81, box=8.0, radii=(1e2, 1e4), n_dirs=360):
    """min ||G(z) - x|| over s-sparse z, searched independently of `linear_pieces`.

    Every support is sampled (a grid over [-box, box]^s, points at the given radii in n_dirs
    directions, Gaussian points); each activation pattern met gets its convex programme
    min ||J u + c - x||^2 over the pattern's polyhedron, solved by SLSQP from the sampled
    point. Every value is ||G(z) - x|| at an explicit s-sparse z: an upper bound on the
    minimum, equal to it when every pattern of positive volume was met.
    """
    best = np.inf
    for S in itertools.combinations(range(G.k), s):
        S = list(S)
        U = np.stack(np.meshgrid(*[np.linspace(-box, box, grid)] * s, indexing="ij"), -1)
        U = U.reshape(-1, s)
        if s == 1:
            D = np.array([[1.0], [-1.0]])
        else:
            t = np.linspace(0.0, 2.0 * np.pi, n_dirs, endpoint=False)
            D = np.column_stack([np.cos(t), np.sin(t)])
        U = np.vstack([U, *(r * D for r in radii), box * rng.standard_normal((500, s))])
        Z = np.zeros((U.shape[0], G.k))
        Z[:, S] = U
        best = min(best, float(np.linalg.norm(G(Z) - x, axis=1).min()))
        masks = G.activation_pattern(Z)
        _, first = np.unique(np.concatenate(masks, axis=1), axis=0, return_index=True)
        for i in first:
            A_in, b_in, J, c = _pattern_programme(G, S, [mk[i] for mk in masks])
            u = _solve_programme(J, x - c, A_in, b_in, U[i])
            if np.all(np.isfinite(u)):
                z = np.zeros(G.k)
                z[S] = u
                best = min(best, float(np.linalg.norm(G(z) - x)))
    return best


def _solve_programme(J, y, A_in, b_in, u0):
    """argmin ||J u - y||^2 subject to A_in u + b_in >= 0, by SLSQP from u0."""
    res = minimize(lambda u: float(np.sum((J @ u - y) ** 2)), u0,
                   jac=lambda u: 2.0 * J.T @ (J @ u - y), method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda u: A_in @ u + b_in,
                                 "jac": lambda u: A_in}],
                   options={"maxiter": 500, "ftol": 1e-15})  # fmt: skip
    return res.x


def narrow_network(rng):
    """A random narrow network: k and every width in 2..4, one or two hidden layers."""
    k = int(rng.integers(2, 5))
    widths = [int(rng.integers(2, 5)) for _ in range(int(rng.integers(1, 3)))]
    n = int(rng.integers(2, 6))
    s = min(int(rng.integers(1, 3)), k)
    bias = bool(rng.integers(0, 2))
    return ReLUGenerator.random([k, *widths, n], rng, bias=bias), s


def check_never_wrong_when_exact(count, seed):
    """The contract on `count` random narrow networks; returns how many results were exact."""
    rng = np.random.default_rng(seed)
    n_exact = 0
    for _ in range(count):
        G, s = narrow_network(rng)
        x = rng.standard_normal(G.n)
        best = best_sparse_approximation(G, x, s)
        scale = max(np.linalg.norm(x), np.linalg.norm(G(best.z)))
        # The distance is G's own, at an s-sparse code of moderate size.
        assert best.distance == pytest.approx(np.linalg.norm(G(best.z) - x), rel=1e-12, abs=0)
        assert np.count_nonzero(best.z) <= s and np.all(np.isfinite(best.z))
        assert best.lower <= best.distance
        brute = exhaustive_minimum(G, x, s, rng)
        assert best.distance <= brute + 1e-12 * scale  # the search space holds brute's codes
        if best.exact:
            assert best.distance - best.lower <= EXACT_RTOL * scale
            assert best.lower <= brute + 1e-7 * scale  # the lower bound is no bound if above
            n_exact += 1
    return n_exact


def test_degenerate_piece_of_issue_19():
    """Width-2 layer, s = 2: a rank-1 piece whose cone holds its kernel; brute force 0.6152."""
    rng = np.random.default_rng(7)
    G = ReLUGenerator.random([2, 2, 3], rng)
    x = rng.standard_normal(3)
    best = best_sparse_approximation(G, x, 2)
    brute = exhaustive_minimum(G, x, 2, np.random.default_rng(0))
    assert best.exact
    assert np.abs(best.z).max() < 1e6  # no coefficient of a kernel direction near 1e16
    assert best.distance == pytest.approx(np.linalg.norm(G(best.z) - x), rel=1e-12)
    assert best.distance == pytest.approx(brute, rel=1e-9)
    assert best.lower == pytest.approx(best.distance, rel=1e-9)


def test_never_wrong_when_exact_on_20_narrow_networks():
    n_exact = check_never_wrong_when_exact(20, seed=19)
    assert n_exact == 20


@pytest.mark.slow
def test_never_wrong_when_exact_on_200_narrow_networks():
    n_exact = check_never_wrong_when_exact(200, seed=1919)
    assert n_exact >= 190
