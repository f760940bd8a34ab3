"""Tests of sdlss_theory.pieces: the exact enumeration of the linear pieces of G.

* Against brute force: every activation pattern met by dense sampling of each support is
  enumerated (none is missed), and every enumerated piece holds an interior point whose
  pattern is the piece's (none is invented), with and without biases, s = 1, 2, 3.
* The affine map reproduces G on each piece (interior points and vertices, by continuity).
* Without biases, s = 1 gives the 2k rays and every region is a cone with apex 0.
* The budget: incomplete enumeration is flagged, or raised with ``strict``.
* Thin regions (issue 19): a region thinner than the tolerance but beyond rounding is counted
  in ``n_thin`` (its pattern, met by an explicit code, is not enumerated); a wider one is
  enumerated; random networks (Gaussian or small-integer weights, where hyperplanes meet
  exactly) have none.
* The generator's theory sizes: relu_depth (d) and relu_width (h).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _thin_network import thin_network

from sdlss_theory import ReLUGenerator
from sdlss_theory.pieces import PieceBudgetExceeded, linear_pieces


def sampled_patterns(G, s, rng, count=3000):
    """(support, packed pattern) met by random codes on every support, at many scales."""
    found = set()
    for S in itertools.combinations(range(G.k), s):
        Z = np.zeros((count, G.k))
        scale = rng.exponential(size=(count, 1)) * 3.0
        Z[:, list(S)] = rng.standard_normal((count, s)) * scale
        masks = np.concatenate(G.activation_pattern(Z), axis=1)
        found.update((S, np.packbits(row).tobytes()) for row in masks)
    return found


@pytest.mark.parametrize(
    ("s", "bias"),
    [(1, False), (1, True), (2, False), (2, True), (3, False),
     pytest.param(3, True, marks=pytest.mark.slow)],  # the largest (1 s)
)  # fmt: skip
def test_enumeration_matches_brute_force_sampling(bias, s):
    rng = np.random.default_rng(10 * s + bias)
    G = ReLUGenerator.random([5, 5, 6, 9] if s == 3 else [5, 6, 7, 9], rng, bias=bias)
    pieces = linear_pieces(G, s)
    assert pieces.complete and pieces.n_supports == math.comb(G.k, s)
    assert pieces.n_thin == 0
    enumerated = {
        (tuple(S), p) for S, p in zip(pieces.supports.tolist(), pieces.patterns, strict=True)
    }
    assert len(enumerated) == len(pieces)  # no piece twice
    assert sampled_patterns(G, s, rng) <= enumerated
    for i in range(len(pieces)):
        z = pieces.codes(i, pieces.interior[i], G.k)
        pattern = np.packbits(np.concatenate(G.activation_pattern(z))).tobytes()
        assert pattern == pieces.patterns[i]
        np.testing.assert_allclose(
            G(z), pieces.jacobians[i] @ pieces.interior[i] + pieces.offsets[i], atol=1e-10
        )
        for u in pieces.points[i]:  # G is continuous: the affine map holds on the closure
            zu = pieces.codes(i, u, G.k)
            np.testing.assert_allclose(
                G(zu), pieces.jacobians[i] @ u + pieces.offsets[i], atol=1e-9 * (1 + abs(u).max())
            )


def test_bias_free_pieces_are_cones_and_s1_gives_the_2k_rays():
    rng = np.random.default_rng(1)
    G = ReLUGenerator.random([6, 10, 12, 20], rng)
    one = linear_pieces(G, 1)
    assert len(one) == 2 * G.k
    assert np.all(one.offsets == 0.0)
    two = linear_pieces(G, 2)
    for pts, rays in zip(two.points, two.rays, strict=True):
        np.testing.assert_array_equal(pts, np.zeros((1, 2)))  # the apex is the only vertex
        assert rays.shape[0] >= 2


def test_budget_is_flagged_or_raised():
    rng = np.random.default_rng(2)
    G = ReLUGenerator.random([6, 6, 8, 12], rng, bias=True)
    full = linear_pieces(G, 2)
    part = linear_pieces(G, 2, max_pieces=len(full) // 3)
    assert not part.complete and len(part) <= len(full) // 3
    with pytest.raises(PieceBudgetExceeded, match="max_pieces"):
        linear_pieces(G, 2, max_pieces=len(full) // 3, strict=True)
    some = linear_pieces(G, 2, supports=[(0, 3), (5, 1)])
    assert some.complete and {tuple(S) for S in some.supports.tolist()} == {(0, 3), (1, 5)}


def test_bad_input_is_refused_clearly():
    G = ReLUGenerator.random([4, 5, 6], np.random.default_rng(3))
    with pytest.raises(ValueError, match="s must be at most the dimension k"):
        linear_pieces(G, 5)
    with pytest.raises(ValueError, match="distinct coordinates"):
        linear_pieces(G, 2, supports=[(0, 0)])
    with pytest.raises(ValueError, match="linear output"):
        linear_pieces(ReLUGenerator(G.weights, G.biases, output="tanh"), 1)


def test_theory_sizes_count_relu_layers():
    G = ReLUGenerator.random([5, 30, 60, 200], np.random.default_rng(4))
    assert G.relu_depth == 2 and G.relu_width == 60 and G.relu_widths == (30, 60)
    assert G.depth == 3 and G.max_width == 200  # the public sizes are unchanged
    linear = ReLUGenerator([np.ones((4, 3))])
    assert linear.relu_depth == 0 and linear.relu_width == 0


def _pattern_of(G, z):
    return np.packbits(np.concatenate(G.activation_pattern(np.asarray(z, dtype=float)))).tobytes()


@pytest.mark.parametrize("d", [5e-9, 1e-7, 0.0])
def test_thin_regions_are_counted_or_enumerated(d):
    a = 10.0
    G = thin_network(d, a)
    pieces = linear_pieces(G, 1)
    if d == 0.0:  # two hyperplanes coincide: no region between them, nothing left out
        assert pieces.n_thin == 0 and len(pieces) == 3
        return
    inside = _pattern_of(G, [a + d / 2])  # the pattern of the region [a, a + d]
    assert inside not in {_pattern_of(G, [a - 1.0]), _pattern_of(G, [a + 2 * d])}
    if d < 1e-10 * a * a:  # thinner than the tolerance (relative, homogenised coordinates)
        assert inside not in pieces.patterns and pieces.n_thin >= 1
    else:
        assert inside in pieces.patterns and pieces.n_thin == 0


@pytest.mark.parametrize("integer", [False, True])
def test_random_networks_leave_no_thin_region_out(integer):
    rng = np.random.default_rng(23 + integer)
    for dims, s in [([3, 4, 4, 3], 2), ([4, 3, 3, 5], 2), ([3, 5, 4], 1)]:
        for bias in (False, True):
            if integer:  # small integers: many hyperplanes meet exactly (rounding only)
                W = [rng.integers(-2, 3, size=(o, i)).astype(float)
                     for i, o in zip(dims[:-1], dims[1:], strict=True)]  # fmt: skip
                b = [rng.integers(-2, 3, size=o).astype(float) * bias for o in dims[1:]]
                G = ReLUGenerator(W, b)
            else:
                G = ReLUGenerator.random(dims, rng, bias=bias)
            assert linear_pieces(G, s).n_thin == 0


@pytest.mark.parametrize(("widths", "s", "bias"), [([6, 8, 16, 30], 2, False),
                                                   pytest.param([6, 8, 16, 30], 2, True,
                                                                marks=pytest.mark.slow),
                                                   ([4, 5, 6, 7], 3, True),
                                                   ([5, 3, 3, 6], 1, True),
                                                   ([3, 2, 2, 2, 4], 2, True)])  # fmt: skip
def test_kernel_walk_gives_the_python_walks_pieces(widths, s, bias, monkeypatch):
    """The numba region walk returns the pure-Python walk's pieces, bit for bit, in order."""
    G = ReLUGenerator.random(widths, np.random.default_rng(3), bias=bias)
    _assert_same_pieces(G, s, monkeypatch)


@pytest.mark.parametrize("d", [1e-7, 5e-9, 1e-12])
def test_kernel_walk_counts_the_thin_regions_as_python(d, monkeypatch):
    _assert_same_pieces(thin_network(d), 1, monkeypatch)


def _assert_same_pieces(G, s, monkeypatch):
    from sdlss_theory import pieces

    fast = linear_pieces(G, s, max_pieces=10**6)
    monkeypatch.setattr(pieces, "_ENUM_KERNEL", False)
    slow = linear_pieces(G, s, max_pieces=10**6)
    assert fast.patterns == slow.patterns and fast.n_thin == slow.n_thin
    for name in ("supports", "jacobians", "offsets", "interior"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name))
    for name in ("points", "rays"):
        for a, b in zip(getattr(fast, name), getattr(slow, name), strict=True):
            np.testing.assert_array_equal(a, b)
