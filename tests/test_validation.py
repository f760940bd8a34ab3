"""The one rule for randomness: a Generator or an integer seed, normalised by `check_rng`."""

import numpy as np
import pytest

from sdlss_theory import ReLUGenerator, gaussian_matrix, sparse_latents
from sdlss_theory._validation import check_rng


def test_generator_is_returned_as_is():
    rng = np.random.default_rng(3)
    assert check_rng(rng) is rng


@pytest.mark.parametrize("seed", [0, 7, np.int64(12)])
def test_integer_seed_equals_default_rng(seed):
    assert check_rng(seed).standard_normal(4) == pytest.approx(
        np.random.default_rng(int(seed)).standard_normal(4), abs=0
    )


def test_samplers_take_a_seed_like_its_generator():
    a = gaussian_matrix(4, 6, 5)
    b = gaussian_matrix(4, 6, np.random.default_rng(5))
    assert np.array_equal(a, b)
    Ga = ReLUGenerator.random([3, 5, 4], 9)
    Gb = ReLUGenerator.random([3, 5, 4], np.random.default_rng(9))
    assert all(np.array_equal(u, v) for u, v in zip(Ga.weights, Gb.weights, strict=True))
    assert np.array_equal(
        sparse_latents(2, 5, 2, 1), sparse_latents(2, 5, 2, np.random.default_rng(1))
    )


@pytest.mark.parametrize("bad", [None, 1.5, True, "0", np.random.RandomState(0)])
def test_anything_else_is_refused(bad):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator or an integer seed"):
        check_rng(bad)


def test_negative_seed_is_refused():
    with pytest.raises(ValueError, match="rng must be .* seed >= 0, got -1"):
        check_rng(-1)
