"""Tests of sdlss_theory.best_approximation: the exact best s-sparse approximation.

* Against brute force (a dense grid over every support, then Nelder-Mead from the best grid
  points) on small networks, s = 1 and 2, with and without biases: the exact distance is never
  above the brute force one and within 1e-6 ||x|| of it.
* The returned z is s-sparse and reproduces the distance; x in the range gives distance 0.
* The fallback (budget exceeded) is flagged inexact and is an s-sparse upper bound.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.optimize import minimize

from sdlss_theory import ReLUGenerator, sparse_latents
from sdlss_theory.best_approximation import best_sparse_approximation


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
