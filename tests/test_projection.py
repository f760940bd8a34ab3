"""Property-based tests of P_s, the projection onto s-sparse vectors (`hard_threshold`).

Every property is checked against an independent computation (Python's `sorted`, an
exhaustive search over supports, the definition), for both engines, on inputs that include
ties, zeros (also -0.0), negative numbers, subnormals and the largest finite floats.

Squared errors are compared exactly, never to a tolerance: the entries of u - P_s(u) are
either 0 or u_i, so after an exact power-of-two rescaling (no overflow) the correctly
rounded sum `math.fsum` of correctly rounded squares is monotone in every |r_i|. If the
dropped magnitudes of one support are entry-wise dominated by those of another, the computed
errors are ordered in the same way, with no rounding slack needed.
"""

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sdlss_theory._kernels.threshold import hard_threshold_rows
from sdlss_theory.projection import hard_threshold

ENGINES = ("auto", "numba", "numpy")
MAX = np.finfo(np.float64).max
TINY = 5e-324  # the smallest positive subnormal

# --------------------------------------------------------------------------- strategies

# Any finite float: hypothesis favours 0, -0.0, subnormals, +-MAX and other boundary values.
any_float = st.floats(allow_nan=False, allow_infinity=False)
# A small palette drawn often, so that equal magnitudes (of either sign) are common.
palette = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, TINY, -TINY, MAX, -MAX])
entries = st.one_of(palette, any_float)
# Magnitudes kept inside [1e-100, 1e100] (or 0), so that scaling by c in [2**-100, 2**100]
# neither overflows nor underflows.
moderate = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 3.0, -3.0]),
    st.floats(1e-100, 1e100),
    st.floats(-1e100, -1e-100),
)


def vectors(max_k: int = 12, elements=entries, min_k: int = 1):
    """1-D float64 arrays of length min_k..max_k."""
    return st.integers(min_k, max_k).flatmap(
        lambda k: hnp.arrays(np.float64, k, elements=elements)
    )


def batches(max_b: int = 5, max_k: int = 12, elements=entries):
    """2-D float64 arrays of shape (B, k), B in 1..max_b, k in 1..max_k."""
    shapes = st.tuples(st.integers(1, max_b), st.integers(1, max_k))
    return shapes.flatmap(lambda shape: hnp.arrays(np.float64, shape, elements=elements))


def arrays_1d_or_2d(max_k: int = 12, elements=entries):
    return st.one_of(vectors(max_k, elements), batches(max_k=max_k, elements=elements))


@st.composite
def distinct_magnitudes(draw, max_k: int = 10):
    """A vector whose non-zero entries have pairwise distinct magnitudes (zeros may repeat)."""
    nonzero = draw(
        st.lists(any_float.filter(lambda x: x != 0.0), min_size=0, max_size=max_k, unique_by=abs)
    )
    n_zeros = draw(st.integers(0 if nonzero else 1, 3))
    return np.array(nonzero + [0.0] * n_zeros, dtype=np.float64)


sizes = st.integers(0, 14)  # s, from 0 to beyond k
engines = st.sampled_from(ENGINES)

# --------------------------------------------------------------------------- helpers


def reference(u: np.ndarray, s: int) -> np.ndarray:
    """P_s of one row by the documented rule, with Python's `sorted`: rank by (-|u_i|, i)."""
    out = np.zeros_like(u)
    keep = sorted(range(u.size), key=lambda i: (-abs(float(u[i])), i))[:s]
    out[keep] = u[keep]
    return out


def reference_rows(U: np.ndarray, s: int) -> np.ndarray:
    U2 = np.atleast_2d(U)
    out = np.array([reference(row, s) for row in U2]).reshape(U2.shape)
    return out[0] if U.ndim == 1 else out


def assert_same_bits(a: np.ndarray, b: np.ndarray) -> None:
    """Exact equality including the sign of zero, shape and dtype."""
    assert a.dtype == b.dtype == np.float64
    assert a.shape == b.shape
    np.testing.assert_array_equal(a.view(np.int64), b.view(np.int64))


def sq_error(r: np.ndarray, exponent: int) -> float:
    """||r||^2 * 4**-exponent, computed monotonically (see the module docstring)."""
    scaled = np.ldexp(np.asarray(r, dtype=np.float64), -exponent)
    return math.fsum(float(x) * float(x) for x in scaled)


def scale_exponent(u: np.ndarray) -> int:
    """An e with max|u| < 2**e, so that u * 2**-e has entries below 1 (squares cannot overflow)."""
    m = float(np.max(np.abs(u))) if u.size else 0.0
    return math.frexp(m)[1] if m > 0 else 0


# --------------------------------------------------------------------------- the projection


@given(u=arrays_1d_or_2d(), s=sizes, engine=engines)
def test_sparsity_kept_entries_and_magnitude_order(u, s, engine):
    out = hard_threshold(u, s, engine=engine)
    assert out.shape == u.shape and out.dtype == np.float64
    for row, prow in zip(np.atleast_2d(u), np.atleast_2d(out), strict=True):
        # exactly min(s, nnz(u)) non-zeros
        assert np.count_nonzero(prow) == min(s, np.count_nonzero(row))
        # every entry is either kept unchanged or zeroed
        assert np.all((prow == row) | (prow == 0.0))
        kept = prow != 0.0
        dropped = (prow == 0.0) & (row != 0.0)
        # every kept magnitude is at least every dropped one
        if kept.any() and dropped.any():
            assert np.abs(row[kept]).min() >= np.abs(row[dropped]).max()


@given(u=arrays_1d_or_2d(), s=sizes, engine=engines)
def test_idempotent(u, s, engine):
    once = hard_threshold(u, s, engine=engine)
    assert_same_bits(hard_threshold(once, s, engine=engine), once)


@given(u=arrays_1d_or_2d(), s=sizes, engine=engines)
def test_tie_rule_matches_independent_sort(u, s, engine):
    """Among equal magnitudes the smaller indices are kept, bit for bit."""
    assert_same_bits(hard_threshold(u, s, engine=engine), reference_rows(u, s))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("u", "s", "expected"),
    [
        ([1.0, -1.0, 1.0, 0.5], 1, [1.0, 0.0, 0.0, 0.0]),
        ([1.0, -1.0, 1.0, 0.5], 2, [1.0, -1.0, 0.0, 0.0]),
        ([-2.0, 2.0], 1, [-2.0, 0.0]),
        ([0.5, -3.0, 2.0, 1.0], 2, [0.0, -3.0, 2.0, 0.0]),
        ([0.0, 0.0, 7.0, 0.0], 3, [0.0, 0.0, 7.0, 0.0]),
        ([3.0, 3.0, 3.0, 3.0, 3.0], 3, [3.0, 3.0, 3.0, 0.0, 0.0]),
    ],
)
def test_tie_rule_examples(u, s, expected, engine):
    np.testing.assert_array_equal(hard_threshold(u, s, engine=engine), expected)


@given(u=vectors(max_k=10), s=st.integers(0, 11), engine=engines)
def test_best_s_term_approximation_by_exhaustive_search(u, s, engine):
    """No s-sparse v is closer to u: the best v on a support S is u restricted to S, and
    every support of size <= s is tried."""
    out = hard_threshold(u, s, engine=engine)
    e = scale_exponent(u)
    best = sq_error(u - out, e)
    k = u.size
    for size in range(min(s, k) + 1):
        for S in itertools.combinations(range(k), size):
            v = np.zeros_like(u)
            v[list(S)] = u[list(S)]
            assert best <= sq_error(u - v, e), (S, best)


@given(u=distinct_magnitudes(), data=st.data(), s=sizes, engine=engines)
def test_permutation_equivariance_without_ties(u, data, s, engine):
    perm = np.array(data.draw(st.permutations(range(u.size))), dtype=np.intp)
    np.testing.assert_array_equal(
        hard_threshold(u[perm], s, engine=engine), hard_threshold(u, s, engine=engine)[perm]
    )


@given(u=arrays_1d_or_2d(), data=st.data(), s=sizes, engine=engines)
def test_sign_flip_equivariance(u, data, s, engine):
    """P_s(D u) = D P_s(u) for D = diag(+-1), ties included (the rule only sees |u| and i)."""
    signs = data.draw(hnp.arrays(np.float64, u.shape, elements=st.sampled_from([-1.0, 1.0])))
    np.testing.assert_array_equal(
        hard_threshold(signs * u, s, engine=engine), signs * hard_threshold(u, s, engine=engine)
    )


@given(u=arrays_1d_or_2d(elements=moderate), j=st.integers(-100, 100), s=sizes, engine=engines)
def test_power_of_two_scaling_is_exact(u, j, s, engine):
    """Scaling by 2**j is exact here, so P_s(c u) = c P_s(u) bit for bit, ties included."""
    c = 2.0**j
    assert_same_bits(
        hard_threshold(c * u, s, engine=engine), c * hard_threshold(u, s, engine=engine)
    )


@given(u=arrays_1d_or_2d(elements=moderate), c=st.floats(1e-3, 1e3), s=sizes, engine=engines)
def test_positive_scaling_keeps_the_support(u, c, s, engine):
    """For any c > 0, c u keeps the same entries as u, provided rounding of c|u_i| merged no
    two distinct magnitudes (the product is weakly monotone, so then the ranking is the same)."""
    cu = c * u
    for row, crow in zip(np.atleast_2d(u), np.atleast_2d(cu), strict=True):
        assume(np.unique(np.abs(row)).size == np.unique(np.abs(crow)).size)
    kept = hard_threshold(u, s, engine=engine) != 0.0
    np.testing.assert_array_equal(hard_threshold(cu, s, engine=engine), np.where(kept, cu, 0.0))


@given(u=vectors(max_k=12), engine=engines)
def test_error_does_not_grow_with_s(u, engine):
    e = scale_exponent(u)
    errors = [sq_error(u - hard_threshold(u, s, engine=engine), e) for s in range(u.size + 2)]
    assert all(a >= b for a, b in itertools.pairwise(errors)), errors
    assert errors[np.count_nonzero(u)] == 0.0
    # and the error at s is the (exact) energy of the k - s smallest magnitudes
    mags = np.sort(np.abs(u))
    for s, err in enumerate(errors):
        assert err == sq_error(mags[: max(u.size - s, 0)], e)


# --------------------------------------------------------------------------- engines, batches


@given(u=arrays_1d_or_2d(), s=sizes)
def test_numba_and_numpy_engines_agree_exactly(u, s):
    ref = hard_threshold(u, s, engine="numpy")
    assert_same_bits(hard_threshold(u, s, engine="numba"), ref)
    assert_same_bits(hard_threshold(u, s, engine="auto"), ref)


@given(U=batches(max_b=6), s=sizes, engine=engines)
def test_batch_equals_row_by_row(U, s, engine):
    rows = np.array([hard_threshold(row, s, engine=engine) for row in U])
    assert_same_bits(hard_threshold(U, s, engine=engine), rows)


@given(U=batches(), s=sizes)
def test_kernel_may_write_in_place(U, s):
    """The kernel's contract: U and out may be the same array."""
    expected = hard_threshold(U, s, engine="numpy")
    work = U.copy()
    result = hard_threshold_rows(work, s, work)
    assert_same_bits(work, expected)
    assert_same_bits(result, expected)


# --------------------------------------------------------------------------- edge cases


@settings(max_examples=40)
@given(u=arrays_1d_or_2d(), engine=engines)
def test_s_zero_gives_zeros(u, engine):
    out = hard_threshold(u, 0, engine=engine)
    assert out.shape == u.shape
    assert not np.any(out)


@settings(max_examples=60)
@given(u=arrays_1d_or_2d(), extra=st.sampled_from([0, 1, 5, 2**62, 2**63, 2**70]), engine=engines)
def test_s_at_least_k_gives_a_copy(u, extra, engine):
    s = u.shape[-1] + extra
    out = hard_threshold(u, s, engine=engine)
    assert_same_bits(out, u)
    assert not np.shares_memory(out, u)


@settings(max_examples=40)
@given(x=entries, s=st.integers(0, 3), engine=engines)
def test_k_equals_one(x, s, engine):
    out = hard_threshold([x], s, engine=engine)
    assert out.shape == (1,)
    assert out[0] == (x if s >= 1 else 0.0)
    out2 = hard_threshold([[x], [-x]], s, engine=engine)
    np.testing.assert_array_equal(out2, [[x], [-x]] if s >= 1 else [[0.0], [0.0]])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("shape", [(0, 4), (0, 0), (3, 0), (0,)])
@pytest.mark.parametrize("s", [0, 1, 5])
def test_empty_inputs_give_empty_outputs(engine, shape, s):
    """An empty batch (B = 0) or empty vectors (k = 0) are valid and give an empty result of
    the same shape, as batch semantics require."""
    out = hard_threshold(np.zeros(shape), s, engine=engine)
    assert out.shape == shape and out.dtype == np.float64


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("s", [0, 1, 3, 4, 9])
@pytest.mark.parametrize("ndim", [1, 2])
def test_input_not_modified_and_output_is_new(engine, s, ndim):
    rng = np.random.default_rng(12)
    u = rng.standard_normal((3, 4))[0] if ndim == 1 else rng.standard_normal((3, 4))
    before = u.copy()
    out = hard_threshold(u, s, engine=engine)
    assert_same_bits(u, before)
    assert not np.shares_memory(out, u)
    out[...] = 123.0  # the result is writeable and independent of u
    assert_same_bits(u, before)


@pytest.mark.parametrize("engine", ENGINES)
def test_read_only_and_non_contiguous_inputs(engine):
    rng = np.random.default_rng(3)
    U = rng.standard_normal((4, 10))
    expected = reference_rows(U, 3)
    ro = U.copy()
    ro.flags.writeable = False
    assert_same_bits(hard_threshold(ro, 3, engine=engine), expected)
    assert_same_bits(hard_threshold(np.asfortranarray(U), 3, engine=engine), expected)
    wide = np.zeros((4, 20))
    wide[:, ::2] = U
    assert_same_bits(hard_threshold(wide[:, ::2], 3, engine=engine), expected)
    assert_same_bits(hard_threshold(U.T.copy().T, 3, engine=engine), expected)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.int32, np.float16])
def test_other_dtypes_accepted_and_returned_as_float64(engine, dtype):
    u = np.array([[3, -1, 2, 0], [-5, 4, 4, 1]], dtype=dtype)
    out = hard_threshold(u, 2, engine=engine)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, reference_rows(u.astype(np.float64), 2))
    np.testing.assert_array_equal(hard_threshold(u[1], 2, engine=engine), [-5.0, 4.0, 0.0, 0.0])


@pytest.mark.parametrize("engine", ENGINES)
def test_lists_numpy_integer_and_integral_float_s_accepted(engine):
    u = [0.5, -3.0, 2.0, 1.0]
    expected = [0.0, -3.0, 2.0, 0.0]
    for s in (2, np.int64(2), np.int32(2), np.uint8(2), 2.0, np.float32(2.0)):
        out = hard_threshold(u, s, engine=engine)
        assert isinstance(out, np.ndarray) and out.dtype == np.float64
        np.testing.assert_array_equal(out, expected)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"s": -1}, ValueError, "s"),
        ({"s": -(2**70)}, ValueError, "s"),
        ({"s": 2.5}, ValueError, "s"),  # refused by value: 2.0 is accepted
        ({"s": np.float64(0.1)}, ValueError, "s"),
        ({"s": True}, TypeError, "s"),
        ({"s": np.bool_(False)}, TypeError, "s"),
        ({"s": "2"}, TypeError, "s"),
        ({"s": None}, TypeError, "s"),
        ({"u": [1.0, np.nan, 2.0]}, ValueError, "u"),
        ({"u": [1.0, np.inf]}, ValueError, "u"),
        ({"u": [[1.0, 2.0], [-np.inf, 0.0]]}, ValueError, "u"),
        ({"u": np.zeros((2, 3, 4))}, ValueError, "u"),
        ({"u": 3.0}, ValueError, "u"),
        ({"u": "abc"}, TypeError, "u"),
    ],
)
def test_bad_arguments_raise_naming_the_argument(engine, kwargs, error, name):
    args = {"u": [3.0, -1.0, 2.0], "s": 1} | kwargs
    with pytest.raises(error, match=rf"^{name}\b"):
        hard_threshold(args["u"], args["s"], engine=engine)


@pytest.mark.parametrize("engine", ["cuda", "NUMBA", "", None])
def test_unknown_engine_raises_naming_the_argument(engine):
    with pytest.raises(ValueError, match=r"^engine\b"):
        hard_threshold([3.0, -1.0, 2.0], 1, engine=engine)
