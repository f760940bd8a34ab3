"""Tests of sdlss_theory.piece_count: the exact piece counter and its Knuth estimator.

* The exact count is len(linear_pieces) on many small networks (biased and bias-free,
  s = 1, 2, 3, narrow and wide), 2k for s = 1 without biases, and at least the number of
  patterns met by dense random sampling.
* The estimators (a sample of supports, Knuth probes): their intervals cover the exact count
  (fast smoke tests), and cover it at the advertised rate over many independent runs (slow);
  their means over many runs agree with the exact count (unbiasedness).
* ``method="auto"``: exact under the budget, the estimate above it; bad arguments raise.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _thin_network import thin_network
from scipy import stats

from sdlss_theory import PieceCount, ReLUGenerator, count_pieces
from sdlss_theory.piece_count import _Tree
from sdlss_theory.pieces import linear_pieces

NETWORKS = [  # (widths, s, bias)
    ([4, 6, 5], 1, True),
    ([6, 3, 4, 7], 1, True),
    ([5, 2, 6], 2, False),
    ([5, 8, 12], 2, False),
    ([5, 8, 12], 2, True),
    ([4, 3, 3, 5], 2, True),
    ([6, 4, 3, 8], 2, False),
    ([4, 12, 6], 2, True),
    ([5, 3, 7], 3, False),
    ([4, 5, 6], 3, True),
    ([5, 2, 4, 6], 3, True),
    ([4, 5], 2, True),
]


@pytest.mark.parametrize(("widths", "s", "bias"), NETWORKS)
def test_exact_count_is_the_number_of_enumerated_pieces(widths, s, bias):
    G = ReLUGenerator.random(widths, np.random.default_rng(len(widths) * 7 + s), bias=bias)
    c = count_pieces(G, s, method="exact")
    assert c.exact and c.method == "exact" and c.confidence == 1.0
    assert c.value == c.lower == c.upper == len(linear_pieces(G, s, max_pieces=10**6))


def _narrow_and_wide():
    rng = np.random.default_rng(11)
    out = []
    for s in (1, 2, 3):
        for bias in (False, True):
            for depth in (1, 2, 3):
                k = int(rng.integers(s, 7)) if s > 1 else int(rng.integers(2, 6))
                out.append(([k, *rng.integers(2, 5, depth).tolist(), 5], s, bias))
            out.append(([max(s, 4), 16 if s < 3 else 9, 5], s, bias))
    return out


def _degenerate():
    """Networks with coincident, parallel, dead and integer hyperplanes."""
    rng = np.random.default_rng(12)
    nets = []
    W1 = rng.standard_normal((6, 4))
    W1[1] = W1[0]  # a repeated neuron
    W1[2] = -2.0 * W1[0]  # a parallel one, opposite orientation
    W1[3] = 0.0  # a neuron that never varies
    nets.append(ReLUGenerator([W1, rng.standard_normal((5, 6)), rng.standard_normal((4, 5))]))
    b1 = rng.standard_normal(6)
    b1[1] = b1[0]
    b1[3] = 1.0  # constant and on
    nets.append(ReLUGenerator([W1, rng.standard_normal((5, 6)), rng.standard_normal((4, 5))],
                              [b1, np.zeros(5), np.zeros(4)]))  # fmt: skip
    # Integer weights and biases: many hyperplanes through common vertices.
    Wi = [rng.integers(-2, 3, (5, 4)).astype(float), rng.integers(-2, 3, (5, 5)).astype(float),
          rng.integers(-2, 3, (3, 5)).astype(float)]  # fmt: skip
    bi = [rng.integers(-1, 2, 5).astype(float), rng.integers(-1, 2, 5).astype(float), np.zeros(3)]
    nets.append(ReLUGenerator(Wi, bi))
    nets.append(ReLUGenerator(Wi))
    nets.append(thin_network(1e-7))
    nets.append(thin_network(1e-12))
    return nets


@pytest.mark.parametrize(("widths", "s", "bias"), _narrow_and_wide())
def test_exact_count_on_narrow_and_wide_networks(widths, s, bias):
    G = ReLUGenerator.random(widths, np.random.default_rng(sum(widths) + s), bias=bias)
    assert count_pieces(G, s, method="exact").value == len(linear_pieces(G, s, max_pieces=10**6))


@pytest.mark.parametrize("index", range(6))
def test_exact_count_on_degenerate_networks(index):
    G = _degenerate()[index]
    for s in range(1, min(G.k, 3) + 1):
        assert count_pieces(G, s, method="exact").value == len(linear_pieces(G, s))


def test_kernel_and_python_walks_agree_on_every_support():
    G = ReLUGenerator.random([5, 5, 6, 9], np.random.default_rng(13), bias=True)
    tree = _Tree(G, 2)
    for S in itertools.combinations(range(5), 2):
        assert tree.support_count(S, math.inf) == tree.python_support_count(S, math.inf)


@pytest.mark.slow
def test_auto_reaches_a_large_exact_count():
    """A biased 12 -> 24 -> 48 network at s = 2 (about 1.8e5 pieces) is counted exactly by
    default, and its count is at least the patterns met by sampling each support."""
    rng = np.random.default_rng(0)
    G = ReLUGenerator.random([12, 24, 48, 60], rng, bias=True)
    c = count_pieces(G, 2, rng=1)
    assert c.exact and c.method == "exact" and c.value > 1e5
    found = set()
    for S in itertools.combinations(range(G.k), 2):
        Z = np.zeros((400, G.k))
        Z[:, list(S)] = rng.standard_normal((400, 2)) * rng.exponential(size=(400, 1)) * 3
        found.update((S, np.packbits(r).tobytes())
                     for r in np.concatenate(G.activation_pattern(Z), axis=1))  # fmt: skip
    assert c.value >= len(found)


@pytest.mark.parametrize("widths", [[5, 7, 9], [6, 3, 4, 8]])
def test_bias_free_one_sparse_count_is_two_rays_per_coordinate(widths):
    G = ReLUGenerator.random(widths, np.random.default_rng(1), bias=False)
    assert count_pieces(G, 1, method="exact").value == 2 * G.k


def test_exact_count_is_at_least_the_sampled_patterns():
    rng = np.random.default_rng(4)
    G = ReLUGenerator.random([5, 6, 7, 9], rng, bias=True)
    found = set()
    for S in itertools.combinations(range(G.k), 2):
        Z = np.zeros((3000, G.k))
        Z[:, list(S)] = rng.standard_normal((3000, 2)) * rng.exponential(size=(3000, 1)) * 3
        masks = np.concatenate(G.activation_pattern(Z), axis=1)
        found.update((S, np.packbits(row).tobytes()) for row in masks)
    assert count_pieces(G, 2, method="exact").value >= len(found)


@pytest.mark.parametrize(("method", "name"), [("probes", "knuth probes"),
                                              ("supports", "support sample")])  # fmt: skip
def test_estimate_interval_covers_the_exact_count(method, name):
    G = ReLUGenerator.random([6, 5, 4, 12], np.random.default_rng(3), bias=True)
    exact = len(linear_pieces(G, 2))
    e = count_pieces(G, 2, method=method, probes=300, supports=6, rng=0)
    assert isinstance(e, PieceCount)
    assert not e.exact and e.method == name
    assert (e.probes, e.supports) == ((300, 0) if method == "probes" else (0, 6))
    assert e.lower <= e.value <= e.upper and e.lower < e.upper
    assert e.lower <= exact <= e.upper


def test_support_sample_of_every_support_is_the_exact_count():
    G = ReLUGenerator.random([5, 8, 12], np.random.default_rng(3), bias=True)
    c = count_pieces(G, 2, method="supports", supports=10, rng=0)
    assert c.exact and c.value == len(linear_pieces(G, 2)) and c.supports == 10


def test_one_probe_is_exact_on_a_tree_without_splits():
    """A linear generator (no ReLU layer) has one piece per support: every probe is C(k, s)."""
    G = ReLUGenerator.random([5, 7], np.random.default_rng(0), bias=True)
    tree = _Tree(G, 2)
    assert {tree.probe(np.random.default_rng(i)) for i in range(5)} == {10.0}
    assert count_pieces(G, 2, method="exact").value == 10


def test_auto_is_exact_under_the_budget_and_an_estimate_above_it():
    G = ReLUGenerator.random([5, 8, 12], np.random.default_rng(3), bias=True)
    exact = len(linear_pieces(G, 2))
    small = count_pieces(G, 2, rng=1)
    assert small.exact and small.value == exact
    over = count_pieces(G, 2, max_pieces=exact // 2, supports=4, rng=1)
    assert not over.exact and over.method == "support sample" and over.supports == 4
    far = count_pieces(G, 2, max_pieces=10, probes=100, rng=1)  # skipped after the pilot
    assert not far.exact and far.method == "knuth probes"  # a support alone exceeds 10


def test_bad_arguments_raise():
    G = ReLUGenerator.random([4, 6, 5], np.random.default_rng(0))
    with pytest.raises(ValueError, match="method"):
        count_pieces(G, 1, method="estimate")
    with pytest.raises(ValueError, match="supports"):
        count_pieces(G, 1, supports=1, rng=0)
    with pytest.raises(ValueError, match="confidence"):
        count_pieces(G, 1, confidence=1.0, rng=0)
    with pytest.raises(ValueError, match="probes"):
        count_pieces(G, 1, probes=1, rng=0)
    with pytest.raises(TypeError, match="rng"):
        count_pieces(G, 1, method="probes")
    with pytest.raises(TypeError, match="ReLUGenerator"):
        count_pieces(np.eye(3), 1)


@pytest.mark.slow
@pytest.mark.parametrize(("widths", "s", "bias"), [([6, 5, 4, 12], 2, True),
                                                   ([6, 3, 4, 7], 3, False),
                                                   ([7, 4, 3, 8], 2, False)])  # fmt: skip
@pytest.mark.parametrize("method", ["supports", "probes"])
def test_estimate_covers_at_the_advertised_rate(widths, s, bias, method):
    """Over 60 independent runs, the 90% interval covers the exact count at a rate the
    binomial law allows (one-sided 0.1% test), and the pooled mean agrees with it."""
    G = ReLUGenerator.random(widths, np.random.default_rng(len(widths) * 7 + s), bias=bias)
    exact = count_pieces(G, s, method="exact").value
    runs = [count_pieces(G, s, method=method, probes=400, supports=6, confidence=0.9,
                         rng=seed) for seed in range(60)]  # fmt: skip
    covered = sum(r.lower <= exact <= r.upper for r in runs)
    assert stats.binom.cdf(covered, 60, 0.9) > 1e-3, covered
    means = np.array([r.value for r in runs])
    half = stats.t.ppf(0.9995, 59) * means.std(ddof=1) / np.sqrt(60)
    assert abs(means.mean() - exact) <= half
