"""Tests of sdlss_theory.generator.ReLUGenerator.

Every hand-derived derivative is checked against two independent computations:

* autograd, differentiating a forward pass written here with ``autograd.numpy`` from the
  same weights and biases (it shares no code with the library, and uses a different
  sigmoid formula);
* central differences along random directions, at points whose pre-activations are far
  enough from zero that the finite-difference segment crosses no ReLU kink.

Then the structure: with its activation pattern fixed the network is affine in z (exactly
linear without biases), it is positively homogeneous without biases, the pattern is the
sign of the pre-activations, batches equal rows, and bad input is refused clearly.
docs/derivations.md writes out the recursions being tested.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad, make_jvp, make_vjp
from autograd import jacobian as ag_jacobian
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from scipy import stats

from sdlss_theory.activations import ACTIVATIONS
from sdlss_theory.generator import ReLUGenerator

OUTPUTS = ("linear", "sigmoid", "tanh")
# Finite differences: the fourth-order central stencil
#   f'(0) ~ [f(-2H) - 8 f(-H) + 8 f(H) - f(2H)] / (12 H),
# truncation error H^4 |f^(5)| / 30 (zero with a linear output: the network is piecewise
# affine) and rounding error ~ 3 eps max|f| / H. With H = 1e-3 both stay ~1e-12 for these
# O(1) networks, far below the 1e-8 tolerance; the segment [-2H, 2H] must cross no kink.
H = 1e-3
FD_RTOL = 1e-8  # the brief's tolerance for finite differences
AD_RTOL = 1e-11  # autograd computes the same products in another order: rounding only
EPS = np.finfo(np.float64).eps
HYP = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------------------
# Independent references
# --------------------------------------------------------------------------------------


def ag_forward(weights, biases, z, output):
    """G(z) written with autograd.numpy; z of shape (k,) or (B, k)."""
    h = z
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        a = anp.dot(h, anp.transpose(W)) + b
        h = anp.where(a > 0, a, 0.0)  # derivative 0 at a = 0, the library's convention
    a = anp.dot(h, anp.transpose(weights[-1])) + biases[-1]
    if output == "linear":
        return a
    if output == "sigmoid":
        return 1.0 / (1.0 + anp.exp(-a))
    return anp.tanh(a)


def np_pre_activations(weights, biases, z):
    """The hidden layers' pre-activations a_1..a_{d-1}, with plain NumPy loops."""
    z = np.asarray(z, dtype=float)
    Z = np.atleast_2d(z)
    pre, h = [], Z
    for W, b in zip(weights[:-1], biases[:-1], strict=True):
        a = np.einsum("ij,bj->bi", W, h) + b
        pre.append(a if z.ndim == 2 else a[0])
        h = np.maximum(a, 0.0)
    return pre


def _flat(arrays):
    return np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.zeros(0)


def kink_free(pre_at, h=2 * H, factor=10.0):
    """True when t -> pre_at(t) (all hidden pre-activations) keeps its signs on [-h, h].

    The slope is estimated by a central difference; we ask |a(0)| > factor * h * |slope|
    (plus an absolute margin) and equal sign patterns at -h, 0 and h. On one linear piece
    each pre-activation is affine (or, for a weight perturbation, a quadratic with an
    O(h^2) curvature term) along the segment, so such a segment crosses no kink.
    """
    a0, ap, am = _flat(pre_at(0.0)), _flat(pre_at(h)), _flat(pre_at(-h))
    slope = (ap - am) / (2 * h)
    far = np.all(np.abs(a0) > factor * h * np.abs(slope) + 1e-9)
    same = np.array_equal(a0 > 0, ap > 0) and np.array_equal(a0 > 0, am > 0)
    return bool(far and same)


def close(actual, expected, rtol, floor=0.0):
    """||actual - expected|| <= rtol * ||expected|| + floor (norm-wise, any shapes)."""
    actual, expected = np.asarray(actual, float), np.asarray(expected, float)
    assert actual.shape == expected.shape
    err = np.linalg.norm(actual - expected)
    bound = rtol * np.linalg.norm(expected) + floor
    assert err <= bound, (
        f"error {err:.3e} > bound {bound:.3e} (|expected| = {np.linalg.norm(expected):.3e})"
    )


def central_difference(f, h=H):
    """f'(0) by the fourth-order stencil, and the rounding error it may carry (~eps |f| / h).

    The floor only matters when the derivative is much smaller than f itself (a projection
    <v, J u> that nearly cancels, say): no difference quotient resolves that relatively.
    """
    values = [np.asarray(f(t), dtype=float) for t in (-2 * h, -h, h, 2 * h)]
    fd = (values[0] - 8 * values[1] + 8 * values[2] - values[3]) / (12 * h)
    floor = 8 * EPS * max(np.linalg.norm(x) for x in values) / h
    return fd, floor


# --------------------------------------------------------------------------------------
# Network and point strategies
# --------------------------------------------------------------------------------------


@st.composite
def networks(draw, outputs=OUTPUTS, bias=None):
    """(G, weights, biases, output, batch, rng): a random network and the rng that drew it."""
    depth = draw(st.integers(1, 4))
    dims = [draw(st.integers(1, 12)) for _ in range(depth + 1)]
    output = draw(st.sampled_from(outputs))
    use_bias = draw(st.booleans()) if bias is None else bias
    batch = draw(st.one_of(st.none(), st.integers(1, 5)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    weights = [
        rng.standard_normal((o, i)) / np.sqrt(o) for i, o in zip(dims[:-1], dims[1:], strict=True)
    ]
    biases = [0.5 * rng.standard_normal(o) if use_bias else np.zeros(o) for o in dims[1:]]
    G = ReLUGenerator(weights, biases if use_bias else None, output=output)
    return G, weights, biases, output, batch, rng


def _latent(rng, k, batch):
    return rng.standard_normal(k if batch is None else (batch, k))


def draw_point(G, weights, biases, rng, batch, n_dirs=1, tries=50):
    """A latent z and n_dirs unit directions u such that z + t u, |t| <= 2H, crosses no kink."""
    for _ in range(tries):
        z = _latent(rng, G.k, batch)
        us = [_latent(rng, G.k, batch) for _ in range(n_dirs)]
        us = [u / np.linalg.norm(u) for u in us]
        if all(
            kink_free(lambda t, u=u, z=z: np_pre_activations(weights, biases, z + t * u))
            for u in us
        ):
            return z, us
    reject()


# --------------------------------------------------------------------------------------
# Derivatives in z: autograd
# --------------------------------------------------------------------------------------


@HYP
@given(networks())
def test_forward_matches_autograd_forward(net):
    G, weights, biases, output, batch, rng = net
    z = _latent(rng, G.k, batch)
    out = G(z)
    assert out.shape == ((G.n,) if batch is None else (batch, G.n))
    close(out, ag_forward(weights, biases, z, output), 1e-13, floor=1e-14)
    assert np.array_equal(G.forward(z), out)


@HYP
@given(networks())
def test_z_derivatives_match_autograd(net):
    G, weights, biases, output, batch, rng = net
    z, (u,) = draw_point(G, weights, biases, rng, batch)
    v = rng.standard_normal(G.n if batch is None else (batch, G.n))

    def f(zz):
        return ag_forward(weights, biases, zz, output)

    vjp_ag = make_vjp(f)(z)[0](v)
    jvp_ag = make_jvp(f)(z)(u)[1]
    close(G.vjp(z, v), vjp_ag, AD_RTOL, floor=1e-14)
    close(G.jvp(z, u), jvp_ag, AD_RTOL, floor=1e-14)
    rows = [z] if batch is None else list(z)
    for zi in rows:
        close(G.jacobian(zi), ag_jacobian(f)(zi), AD_RTOL, floor=1e-14)


@HYP
@given(networks())
def test_param_vjp_matches_autograd(net):
    G, weights, biases, output, batch, rng = net
    z, _ = draw_point(G, weights, biases, rng, batch)
    v = rng.standard_normal(G.n if batch is None else (batch, G.n))

    def loss(params):
        ws, bs = params
        return anp.sum(v * ag_forward(ws, bs, z, output))

    dW_ag, db_ag = grad(loss)((list(weights), list(biases)))
    dW, db = G.param_vjp(z, v)
    assert len(dW) == len(db) == G.depth
    for i in range(G.depth):
        assert dW[i].shape == weights[i].shape and db[i].shape == biases[i].shape
        close(dW[i], dW_ag[i], AD_RTOL, floor=1e-14)
        close(db[i], db_ag[i], AD_RTOL, floor=1e-14)


# --------------------------------------------------------------------------------------
# Derivatives in z: central differences
# --------------------------------------------------------------------------------------


@HYP
@given(networks())
def test_z_derivatives_match_central_differences(net):
    G, weights, biases, output, batch, rng = net
    z, (u,) = draw_point(G, weights, biases, rng, batch)
    v = rng.standard_normal(G.n if batch is None else (batch, G.n))
    fd, floor = central_difference(lambda t: G(z + t * u))
    # J u, directly and through the explicit Jacobian
    close(G.jvp(z, u), fd, FD_RTOL, floor)
    if batch is None:
        close(G.jacobian(z) @ u, fd, FD_RTOL, floor)
    # <v, J u> = <J^T v, u>: the vjp along u, per row
    fd_v = np.sum(v * fd, axis=-1)
    vjp_u = np.sum(G.vjp(z, v) * u, axis=-1)
    floor_v = floor * np.linalg.norm(v)
    close(vjp_u, fd_v, FD_RTOL, floor_v)


@HYP
@given(networks())
def test_param_vjp_matches_central_differences(net):
    G, weights, biases, output, batch, rng = net
    v = rng.standard_normal(G.n if batch is None else (batch, G.n))
    d = G.depth

    def perturbed(i, E, e, t):
        ws = [w + t * E if j == i else w for j, w in enumerate(weights)]
        bs = [b + t * e if j == i else b for j, b in enumerate(biases)]
        return ws, bs

    for _ in range(50):
        z = _latent(rng, G.k, batch)
        dirs = []
        for i in range(d):
            E = rng.standard_normal(weights[i].shape)
            e = rng.standard_normal(biases[i].shape)
            dirs.append((E / np.linalg.norm(E), e / np.linalg.norm(e)))

        def pre(i, E, e, t, z=z):
            return np_pre_activations(*perturbed(i, E, e, t), z)

        if all(
            kink_free(lambda t, i=i, E=E, e=e: pre(i, E, 0 * e, t))
            and kink_free(lambda t, i=i, E=E, e=e: pre(i, 0 * E, e, t))
            for i, (E, e) in enumerate(dirs)
        ):
            break
    else:
        reject()

    dW, db = G.param_vjp(z, v)

    def objective(ws, bs):
        # <v, G(z)> summed over the batch, evaluated by a fresh generator
        return np.sum(v * ReLUGenerator(ws, bs, output=output)(z))

    for i, (E, e) in enumerate(dirs):
        for direction, exact in (((E, 0 * e), np.sum(dW[i] * E)), ((0 * E, e), db[i] @ e)):
            fd, floor = central_difference(
                lambda t, i=i, dr=direction: objective(*perturbed(i, *dr, t))
            )
            close(exact, fd, FD_RTOL, floor)


# --------------------------------------------------------------------------------------
# Consistency between the derivatives, and batches
# --------------------------------------------------------------------------------------


@HYP
@given(networks())
def test_jacobian_jvp_vjp_are_one_linear_map(net):
    G, weights, biases, output, batch, rng = net
    rows = _latent(rng, G.k, 1 if batch is None else batch)
    for z in rows:
        J = G.jacobian(z)
        assert J.shape == (G.n, G.k)
        u, v = rng.standard_normal(G.k), rng.standard_normal(G.n)
        scale = np.linalg.norm(np.abs(J), 2) + 1e-300
        close(G.jvp(z, u), J @ u, 1e-13, 1e-14 * scale * np.linalg.norm(u))
        close(G.vjp(z, v), J.T @ v, 1e-13, 1e-14 * scale * np.linalg.norm(v))
        # The dot test (as in PyLops): <J u, v> = <u, J^T v> with the matrix-free operators
        lhs, rhs = G.jvp(z, u) @ v, u @ G.vjp(z, v)
        assert abs(lhs - rhs) <= 1e-13 * (scale * np.linalg.norm(u) * np.linalg.norm(v))


@HYP
@given(networks(), st.integers(1, 5))
def test_batch_equals_rows(net, batch):
    G, weights, biases, output, _, rng = net
    Z = rng.standard_normal((batch, G.k))
    U = rng.standard_normal((batch, G.k))
    V = rng.standard_normal((batch, G.n))
    out, vj, jv = G(Z), G.vjp(Z, V), G.jvp(Z, U)
    pat = G.activation_pattern(Z)
    dW, db = G.param_vjp(Z, V)
    dW_sum = [np.zeros_like(w) for w in weights]
    db_sum = [np.zeros_like(b) for b in biases]
    for r in range(batch):
        close(out[r], G(Z[r]), 1e-13, 1e-14)
        close(vj[r], G.vjp(Z[r], V[r]), 1e-13, 1e-14)
        close(jv[r], G.jvp(Z[r], U[r]), 1e-13, 1e-14)
        for m_batch, m_row in zip(pat, G.activation_pattern(Z[r]), strict=True):
            # rounding may differ between GEMM and GEMV only for |a| ~ eps; none here
            a_row = np_pre_activations(weights, biases, Z[r])
            if min((np.abs(a).min() for a in a_row if a.size), default=1.0) > 1e-12:
                assert np.array_equal(m_batch[r], m_row)
        gw, gb = G.param_vjp(Z[r], V[r])
        for i in range(G.depth):
            dW_sum[i] += gw[i]
            db_sum[i] += gb[i]
    for i in range(G.depth):
        close(dW[i], dW_sum[i], 1e-12, 1e-14)
        close(db[i], db_sum[i], 1e-12, 1e-14)


# --------------------------------------------------------------------------------------
# Piecewise linearity: with the masks fixed the network is affine in z
# --------------------------------------------------------------------------------------


def _crossing_times(weights, biases, z, u):
    """For every hidden neuron, the t > 0 at which its pre-activation along z + t u reaches 0
    when the activation pattern at z is held fixed (so that it is affine in t); inf if never.

    Returns one array per hidden layer. The smallest entry overall is the exit time of the
    segment from the linear piece of z: up to it the fixed-pattern model is the network.
    """
    pre = np_pre_activations(weights, biases, z)
    times, dh = [], u
    for W, a in zip(weights[:-1], pre, strict=False):
        da = W @ dh
        with np.errstate(divide="ignore", invalid="ignore"):
            times.append(np.where(a * da < 0, -a / da, np.inf))
        dh = np.where(a > 0, da, 0.0)
    return times


def _pattern_exit_time(weights, biases, z, u):
    """The first t > 0 at which the pattern along z + t u changes, and (layer, neuron)."""
    t_star, where = np.inf, None
    for layer, t in enumerate(_crossing_times(weights, biases, z, u)):
        if t.size and t.min() < t_star:
            t_star, where = float(t.min()), (layer, int(t.argmin()))
    return t_star, where


@HYP
@given(networks(outputs=("linear",)), st.floats(0.05, 0.95))
def test_affine_on_a_linear_piece(net, frac):
    G, weights, biases, _, _, rng = net
    z, u = rng.standard_normal(G.k), rng.standard_normal(G.k)
    t_star, _ = _pattern_exit_time(weights, biases, z, u)
    t = frac * min(t_star, 10.0)
    pattern = G.activation_pattern(z)
    moved = G.activation_pattern(z + t * u)
    assert all(np.array_equal(p, q) for p, q in zip(pattern, moved, strict=True))
    # G(z + t u) = G(z) + t J u exactly (up to rounding), however large t is on the piece
    expected = G(z) + t * G.jvp(z, u)
    scale = np.linalg.norm(G(z)) + t * np.linalg.norm(G.jacobian(z), 2) * np.linalg.norm(u)
    close(G(z + t * u), expected, 0.0, 1e-12 * (scale + np.linalg.norm(expected) + 1.0))
    # and the Jacobian is the same matrix everywhere on the piece
    close(G.jacobian(z + t * u), G.jacobian(z), 0.0, 1e-12 * (np.linalg.norm(G.jacobian(z)) + 1))


@HYP
@given(networks(outputs=("linear",), bias=False), st.floats(1e-3, 1e3))
def test_linear_without_bias_on_a_piece_and_positively_homogeneous(net, alpha):
    G, weights, biases, _, batch, rng = net
    z, u = rng.standard_normal(G.k), rng.standard_normal(G.k)
    t_star, _ = _pattern_exit_time(weights, biases, z, u)
    t = 0.5 * min(t_star, 10.0)
    # No biases: on the piece G(z) = J z, so G(z + t u) = J (z + t u)
    J = G.jacobian(z)
    bound = np.linalg.norm(np.abs(J), 2) * (np.linalg.norm(z) + t * np.linalg.norm(u))
    close(G(z), J @ z, 0.0, 1e-12 * (bound + 1e-300))
    close(G(z + t * u), J @ (z + t * u), 0.0, 1e-12 * (bound + 1e-300))
    # G(alpha z) = alpha G(z) for alpha > 0, and the pattern (hence J) is unchanged
    Z = _latent(rng, G.k, batch)
    close(G(alpha * Z), alpha * G(Z), 1e-12, 1e-14 * alpha * (np.linalg.norm(Z) + 1))
    for p, q in zip(G.activation_pattern(Z), G.activation_pattern(alpha * Z), strict=True):
        assert np.array_equal(p, q)


def test_kink_convention_derivative_zero_at_zero():
    # No biases and z = 0: every pre-activation is exactly 0, every mask off, so J = 0 for
    # depth >= 2 (the ReLU derivative at 0 is taken as 0, as autograd's where(a > 0) does).
    rng = np.random.default_rng(5)
    G = ReLUGenerator.random([4, 6, 5, 3], rng)
    z = np.zeros(4)
    assert all(not m.any() for m in G.activation_pattern(z))
    assert np.array_equal(G.jacobian(z), np.zeros((3, 4)))
    assert np.array_equal(G.vjp(z, np.ones(3)), np.zeros(4))
    assert np.array_equal(G.jvp(z, np.ones(4)), np.zeros(3))
    ag = ag_jacobian(lambda zz: ag_forward(G.weights, G.biases, zz, "linear"))(z)
    assert np.array_equal(ag, np.zeros((3, 4)))
    dW, db = G.param_vjp(z, np.ones(3))
    # only the last layer's bias sees the output directly; everything behind a dead layer is 0
    assert all(not g.any() for g in dW) and all(not g.any() for g in db[:-1])
    assert np.array_equal(db[-1], np.ones(3))


# --------------------------------------------------------------------------------------
# The activation pattern
# --------------------------------------------------------------------------------------


@HYP
@given(networks())
def test_activation_pattern_is_sign_of_pre_activations(net):
    G, weights, biases, output, batch, rng = net
    z = _latent(rng, G.k, batch)
    pattern = G.activation_pattern(z)
    pre = np_pre_activations(weights, biases, z)
    assert len(pattern) == G.depth - 1
    for p, a in zip(pattern, pre, strict=True):
        assert p.dtype == bool and p.shape == a.shape
        assert np.array_equal(p, a > 0)


@HYP
@given(networks(outputs=("linear",)))
def test_activation_pattern_constant_on_a_segment_and_flips_at_its_end(net):
    G, weights, biases, _, _, rng = net
    z, u = rng.standard_normal(G.k), rng.standard_normal(G.k)
    t_star, where = _pattern_exit_time(weights, biases, z, u)
    pattern = G.activation_pattern(z)
    for t in np.linspace(0.0, 0.99 * min(t_star, 10.0), 7):
        assert all(
            np.array_equal(p, q)
            for p, q in zip(pattern, G.activation_pattern(z + t * u), strict=True)
        )
    if where is None or not np.isfinite(t_star) or t_star > 1e3:
        return
    # Just past the first kink exactly the predicted neuron has switched.
    past = G.activation_pattern(z + t_star * (1 + 1e-6) * u)
    changed = [np.flatnonzero(p != q) for p, q in zip(pattern, past, strict=True)]
    layer, neuron = where
    # Skip ties (e.g. k = 1 without biases: every first-layer neuron switches at z + t u = 0):
    # the second crossing must lie well beyond the point we look at.
    times = np.sort(_flat(_crossing_times(weights, biases, z, u)))
    if times.size > 1 and times[1] < t_star * (1 + 1e-4):
        return
    # and pre-activations sitting exactly at 0 (behind a layer that is all off, without
    # biases) switch together with the neuron that wakes them
    if np.min(np.abs(_flat(np_pre_activations(weights, biases, z)))) < 1e-12:
        return
    assert neuron in changed[layer]
    assert sum(c.size for c in changed) == 1


# --------------------------------------------------------------------------------------
# ReLUGenerator.random
# --------------------------------------------------------------------------------------


@HYP
@given(
    st.lists(st.integers(1, 12), min_size=2, max_size=5),
    st.sampled_from(OUTPUTS),
    st.booleans(),
    st.sampled_from(("hand", "he")),
    st.integers(0, 2**32 - 1),
)
def test_random_shapes_and_properties(dims, output, bias, init, seed):
    G = ReLUGenerator.random(
        dims, np.random.default_rng(seed), bias=bias, output=output, init=init
    )
    assert G.dims == tuple(dims)
    assert G.k == dims[0] and G.n == dims[-1]
    assert G.depth == len(dims) - 1
    assert G.widths == tuple(dims[1:]) and G.max_width == max(dims[1:])
    assert G.output == output
    for i, (W, b) in enumerate(zip(G.weights, G.biases, strict=True)):
        assert W.shape == (dims[i + 1], dims[i]) and b.shape == (dims[i + 1],)
        assert W.dtype == np.float64 and b.dtype == np.float64
        assert np.all(np.isfinite(W))
        assert b.any() == bias  # zero biases unless bias=True
    assert repr(G) == f"ReLUGenerator(dims=[{', '.join(map(str, dims))}], output={output!r})"
    # the same seed gives the same network; another seed another one
    G2 = ReLUGenerator.random(
        dims, np.random.default_rng(seed), bias=bias, output=output, init=init
    )
    assert all(
        np.array_equal(a, b)
        for a, b in zip(G.weights + G.biases, G2.weights + G2.biases, strict=True)
    )
    G3 = ReLUGenerator.random(dims, np.random.default_rng(seed + 1), bias=bias, init=init)
    assert not all(np.array_equal(a, b) for a, b in zip(G.weights, G3.weights, strict=True))


# A correct implementation fails one of these interval checks with probability ALPHA.
ALPHA = 1e-6


def _chi2_interval_contains(x, variance):
    """sum(x^2) / variance ~ chi2(x.size) for i.i.d. N(0, variance) entries."""
    stat = np.sum(np.asarray(x) ** 2) / variance
    lo, hi = stats.chi2.ppf(ALPHA / 2, x.size), stats.chi2.isf(ALPHA / 2, x.size)
    return lo <= stat <= hi


@pytest.mark.parametrize("init", ["hand", "he"])
def test_random_weight_variance(init):
    dims = [60, 90, 30, 150]
    G = ReLUGenerator.random(dims, np.random.default_rng(11), bias=True, init=init)
    for i, (W, b) in enumerate(zip(G.weights, G.biases, strict=True)):
        fan_in, fan_out = dims[i], dims[i + 1]
        right = 1.0 / fan_out if init == "hand" else 2.0 / fan_in
        wrong = 2.0 / fan_in if init == "hand" else 1.0 / fan_out
        assert _chi2_interval_contains(W, right), (init, i)
        assert _chi2_interval_contains(b, right), (init, i)  # biases: the layer's variance
        # power: the other convention's variance is rejected for these layers
        assert not _chi2_interval_contains(W, wrong), (init, i)
        # entries look Gaussian and centred
        assert stats.kstest(W.ravel() / np.sqrt(right), stats.norm.cdf).pvalue > ALPHA


def test_random_rng_state_is_the_only_source():
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    ReLUGenerator.random([5, 7, 9], rng_a)
    ReLUGenerator.random([5, 7, 9], rng_b)
    # both generators advanced identically, and a second draw differs from the first
    assert rng_a.standard_normal() == rng_b.standard_normal()
    G1 = ReLUGenerator.random([5, 7, 9], rng_a)
    G2 = ReLUGenerator.random([5, 7, 9], rng_a)
    assert not np.array_equal(G1.weights[0], G2.weights[0])


# --------------------------------------------------------------------------------------
# premultiply
# --------------------------------------------------------------------------------------


@HYP
@given(networks(outputs=("linear",)), st.integers(1, 8))
def test_premultiply_equals_A_times_G(net, m):
    G, weights, biases, _, batch, rng = net
    A = rng.standard_normal((m, G.n))
    AG = G.premultiply(A)
    assert isinstance(AG, ReLUGenerator)
    assert AG.dims == (*G.dims[:-1], m) and AG.output == "linear"
    Z = _latent(rng, G.k, batch)
    expected = G(Z) @ A.T
    close(AG(Z), expected, 1e-12, 1e-14 * (np.linalg.norm(np.abs(A) @ np.abs(G(Z).T)) + 1))
    # derivatives of the premultiplied generator are those of A G
    z = np.atleast_2d(Z)[0]
    close(AG.jacobian(z), A @ G.jacobian(z), 1e-12, 1e-14)
    r = rng.standard_normal(m)
    close(AG.vjp(z, r), G.vjp(z, A.T @ r), 1e-12, 1e-14)
    # the original generator is untouched
    assert all(np.array_equal(a, b) for a, b in zip(G.weights, weights, strict=True))


@HYP
@given(networks(), st.integers(1, 8))
def test_latent_iht_gradient(net, m):
    # grad_z ||y - A G(z)||^2 = 2 J_G(z)^T A^T (A G(z) - y): through vjp, through the folded
    # generator A G when the output is linear, against autograd and central differences.
    G, weights, biases, output, _, rng = net
    z, (u,) = draw_point(G, weights, biases, rng, None)
    A = rng.standard_normal((m, G.n)) / np.sqrt(m)
    y = rng.standard_normal(m)
    grad_hand = 2 * G.vjp(z, A.T @ (A @ G(z) - y))
    grad_ag = grad(
        lambda zz: anp.sum((y - anp.dot(A, ag_forward(weights, biases, zz, output))) ** 2)
    )(z)
    close(grad_hand, grad_ag, AD_RTOL, 1e-14)
    if output == "linear":
        F = G.premultiply(A)
        close(F.vjp(z, 2 * (F(z) - y)), grad_hand, 1e-12, 1e-14)
    fd, floor = central_difference(lambda t: np.sum((y - A @ G(z + t * u)) ** 2))
    close(grad_hand @ u, fd, FD_RTOL, floor)


@pytest.mark.parametrize("output", ["sigmoid", "tanh"])
def test_premultiply_refuses_nonlinear_output(output):
    G = ReLUGenerator.random([3, 4, 5], np.random.default_rng(0), output=output)
    with pytest.raises(ValueError, match="linear output"):
        G.premultiply(np.ones((2, 5)))


@pytest.mark.parametrize(
    "A, match",
    [
        (np.ones((2, 4)), r"A must have 5 columns"),
        (np.ones(5), "A must be 2-D"),
        (np.full((2, 5), np.nan), "A must be finite"),
    ],
)
def test_premultiply_refuses_bad_A(A, match):
    G = ReLUGenerator.random([3, 4, 5], np.random.default_rng(0))
    with pytest.raises(ValueError, match=match):
        G.premultiply(A)


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dims, exc, match",
    [
        ([5], ValueError, r"dims must list at least \[k, n\]"),
        ([], ValueError, "dims must list at least"),
        ("ab", ValueError, "dims must list"),
        ([5, 0, 3], ValueError, r"dims\[1\] must be >= 1"),
        ([5, -2], ValueError, r"dims\[1\] must be >= 1"),
        ([0, 3], ValueError, r"dims\[0\] must be >= 1"),
        ([5, 2.5], (TypeError, ValueError), r"dims\[1\] must be an integer"),
    ],
)
def test_random_refuses_bad_dims(dims, exc, match):
    with pytest.raises(exc, match=match):
        ReLUGenerator.random(dims, np.random.default_rng(0))


@pytest.mark.parametrize("rng", [None, np.random.RandomState(0), "seed", 1.5])
def test_random_refuses_non_generator_rng(rng):
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        ReLUGenerator.random([3, 4], rng)


def test_random_refuses_unknown_init_and_output():
    with pytest.raises(ValueError, match="init must be one of"):
        ReLUGenerator.random([3, 4], np.random.default_rng(0), init="xavier")
    with pytest.raises(ValueError, match="output must be one of"):
        ReLUGenerator.random([3, 4], np.random.default_rng(0), output="relu")


def test_constructor_refuses_bad_weights():
    W1, W2 = np.ones((4, 3)), np.ones((2, 4))
    with pytest.raises(ValueError, match="non-empty list"):
        ReLUGenerator([])
    with pytest.raises(ValueError, match="non-empty list"):
        ReLUGenerator(np.ones((2, 4, 3)))
    with pytest.raises(ValueError, match=r"weights\[1\] must be finite"):
        ReLUGenerator([W1, np.full((2, 4), np.inf)])
    with pytest.raises(ValueError, match=r"weights\[0\] must be finite"):
        ReLUGenerator([np.full((4, 3), np.nan), W2])
    with pytest.raises(ValueError, match=r"weights\[1\] must have 4 columns"):
        ReLUGenerator([W1, np.ones((2, 5))])
    with pytest.raises(ValueError, match=r"weights\[0\] must be 2-D"):
        ReLUGenerator([np.ones(3), W2])
    with pytest.raises(TypeError, match=r"weights\[0\] must be a real numeric array"):
        ReLUGenerator([[["a"]], W2])
    with pytest.raises(ValueError, match="output must be one of"):
        ReLUGenerator([W1, W2], output="softmax")


def test_constructor_refuses_bad_biases():
    W = [np.ones((4, 3)), np.ones((2, 4))]
    with pytest.raises(ValueError, match=r"biases must hold one vector per layer \(2\), got 1"):
        ReLUGenerator(W, [np.zeros(4)])
    with pytest.raises(ValueError, match=r"biases\[1\] must have shape \(2,\)"):
        ReLUGenerator(W, [np.zeros(4), np.zeros(3)])
    with pytest.raises(ValueError, match=r"biases\[0\] must be 1-D"):
        ReLUGenerator(W, [np.zeros((4, 1)), np.zeros(2)])
    with pytest.raises(ValueError, match=r"biases\[1\] must be finite"):
        ReLUGenerator(W, [np.zeros(4), np.array([0.0, np.nan])])


def test_constructor_accepts_lists_and_converts_to_float64():
    G = ReLUGenerator([[[1, 0], [0, 1]], [[1, 1]]], [[0, 0], [1]], output="tanh")
    assert all(w.dtype == np.float64 and w.flags.c_contiguous for w in G.weights)
    assert G(np.array([1, 2])) == pytest.approx(np.tanh(4.0))
    assert G([1, -2]).shape == (1,)


def _small():
    return ReLUGenerator.random([3, 4, 5], np.random.default_rng(1))


@pytest.mark.parametrize("method", ["forward", "activation_pattern", "jacobian"])
@pytest.mark.parametrize(
    "z, match",
    [
        (np.ones(4), r"must have shape \(3,\) or \(B, 3\) for this generator \(k=3\), got \(4,\)"),
        (np.ones((2, 2)), r"z must have shape \(3,\) or \(B, 3\)"),
        (np.ones((2, 2, 3)), "z must be 1-D or 2-D"),
        (np.array([1.0, np.nan, 0.0]), "z must be finite"),
    ],
)
def test_bad_latent_is_refused(method, z, match):
    G = _small()
    if method == "jacobian" and np.ndim(z) != 1:
        match = "z must be 1-D"
    with pytest.raises(ValueError, match=match):
        getattr(G, method)(z)


def test_bad_latent_is_refused_by_derivatives():
    G = _small()
    for call in (
        lambda: G.vjp(np.ones(4), np.ones(5)),
        lambda: G.jvp(np.ones(4), np.ones(4)),
        lambda: G.param_vjp(np.ones((2, 4)), np.ones((2, 5))),
    ):
        with pytest.raises(ValueError, match=r"z must have shape \(3,\) or \(B, 3\)"):
            call()
    with pytest.raises(ValueError, match="z must be 1-D"):
        G.jacobian(np.ones((1, 3)))


@pytest.mark.parametrize(
    "z, v, match",
    [
        (np.ones(3), np.ones(4), r"v must have shape \(5,\) to match z, got \(4,\)"),
        (np.ones(3), np.ones((1, 5)), r"v must have shape \(5,\) to match z"),
        (np.ones((2, 3)), np.ones(5), r"v must have shape \(2, 5\) to match z, got \(5,\)"),
        (np.ones((2, 3)), np.ones((3, 5)), r"v must have shape \(2, 5\)"),
        (np.ones(3), np.array([0, 0, np.inf, 0, 0]), "v must be finite"),
    ],
)
def test_bad_v_is_refused(z, v, match):
    G = _small()
    with pytest.raises(ValueError, match=match):
        G.vjp(z, v)
    with pytest.raises(ValueError, match=match):
        G.param_vjp(z, v)


@pytest.mark.parametrize(
    "z, u, match",
    [
        (np.ones(3), np.ones(5), r"u must have shape \(3,\) to match z, got \(5,\)"),
        (np.ones((2, 3)), np.ones(3), r"u must have shape \(2, 3\) to match z"),
        (np.ones((2, 3)), np.ones((2, 3, 1)), "u must be 1-D or 2-D"),
    ],
)
def test_bad_u_is_refused(z, u, match):
    with pytest.raises(ValueError, match=match):
        _small().jvp(z, u)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(2)
    G = ReLUGenerator.random([3, 6, 5], rng, bias=True)
    z, u, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 5))
    copies = [a.copy() for a in (z, u, v, *G.weights, *G.biases)]
    G(z), G.vjp(z, v), G.jvp(z, u), G.jacobian(z[0]), G.param_vjp(z, v), G.activation_pattern(z)
    assert all(
        np.array_equal(a, c) for a, c in zip((z, u, v, *G.weights, *G.biases), copies, strict=True)
    )


def test_restrict_refuses_bad_supports():
    G = ReLUGenerator.random([5, 8, 6], np.random.default_rng(0))
    for bad in ([], [1, 1], [0, 5], [-1, 2]):
        with pytest.raises(ValueError, match="support must hold distinct coordinates"):
            G.restrict(np.array(bad, dtype=int))
    with pytest.raises(TypeError, match="support must be a 1-D array of integers"):
        G.restrict([0.5, 1.0])


@pytest.mark.parametrize("output", ["linear", "sigmoid", "tanh"])
def test_pack_is_the_network_with_A_folded_or_appended(output):
    from sdlss_theory._kernels.network import forward, workspace_size

    rng = np.random.default_rng(61)
    G = ReLUGenerator.random([4, 9, 7], rng, output=output, bias=True)
    A = rng.standard_normal((3, 7))
    net = G.pack(A)
    codes = [ACTIVATIONS["relu"].code, ACTIVATIONS[output].code]
    if output == "linear":  # A folded into the last layer: one layer of m outputs
        assert list(net.dims) == [4, 9, 3] and list(net.codes) == codes
    else:  # A appended as one more linear layer
        assert list(net.dims) == [4, 9, 7, 3]
        assert list(net.codes) == [*codes, ACTIVATIONS["linear"].code]
    Z = rng.standard_normal((2, 4))
    out = forward(net, Z, np.empty(workspace_size(2, net.dims)))
    np.testing.assert_allclose(out, G(Z) @ A.T, rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match=r"A must have shape \(m, 7\)"):
        G.pack(A[:, :-1])
