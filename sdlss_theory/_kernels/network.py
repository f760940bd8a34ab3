"""The packed network and its passes: forward, J^T v (backward), J u (forward mode), J columns.

A network F: R^k -> R^m with layers ``out_i = sigma_i(W_i out_{i-1} + b_i)`` is packed into
plain arrays, a `PackedNetwork`, so that numba kernels can take it as one argument. The
solvers pack z -> A G(z) (`ReLUGenerator.pack`). Every pass stores each layer's output in a
workspace ``H`` of ``B * (n_1 + ... + n_L)`` floats for a batch of B rows; derivatives need
nothing else, because the table `sdlss_theory.activations` writes every derivative in terms
of the layer's output. The activations' values and derivatives are the table's own
functions, compiled: the kernels hold no formula of their own.

Recursions (rows are batch entries; D_i = diag(sigma_i'(out_i))):

    forward:   out_0 = z,  out_i = sigma_i(out_{i-1} W_i^T + b_i)
    backward:  g_L = D_L v,  g_{i-1} = D_{i-1} (g_i W_i),  J^T v = g_1 W_1
    jvp:       t_0 = u,  t_i = D_i (t_{i-1} W_i^T),  J u = t_L
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from sdlss_theory._kernels._jit import jit
from sdlss_theory.activations import ACTIVATIONS, IDENTITY, RELU, SIGMOID, TANH

__all__ = [
    "PackedNetwork",
    "RowWork",
    "backward",
    "forward",
    "jacobian_columns",
    "jvp",
    "objective",
    "pack_network",
    "restrict_columns",
    "row_work",
    "workspace_size",
]


class PackedNetwork(NamedTuple):
    """A fully connected network packed into arrays (a numba-compatible named tuple).

    Attributes
    ----------
    flat : ndarray of float64
        Every W_i (row-major) then b_i, layer after layer.
    w_off, b_off : ndarray of int64
        Where each W_i and each b_i starts in ``flat``.
    dims : ndarray of int64
        ``(n_0, ..., n_L)``: input size k, then each layer's output size (n_L = m).
    codes : ndarray of int64
        Each layer's activation code (`sdlss_theory.activations`).
    """

    flat: np.ndarray
    w_off: np.ndarray
    b_off: np.ndarray
    dims: np.ndarray
    codes: np.ndarray


class RowWork(NamedTuple):
    """Workspaces of the one-row kernels: forward passes of z, of a candidate, of a refit.

    ``H``, ``Hc`` and ``Hb`` hold ``workspace_size(1, dims)`` floats each; ``back`` holds
    ``2 max(dims)`` floats for `backward` and `jvp`.
    """

    H: np.ndarray
    Hc: np.ndarray
    Hb: np.ndarray
    back: np.ndarray


def pack_network(weights, biases, codes) -> PackedNetwork:
    """Pack lists of weights ``W_i`` (n_i x n_{i-1}), biases and activation codes."""
    dims = np.array([weights[0].shape[1]] + [w.shape[0] for w in weights], dtype=np.int64)
    pieces, w_off, b_off, offset = [], [], [], 0
    for w, b in zip(weights, biases, strict=True):
        w_off.append(offset)
        offset += w.size
        b_off.append(offset)
        offset += b.size
        pieces += [np.ravel(w), np.ravel(b)]
    return PackedNetwork(
        np.ascontiguousarray(np.concatenate(pieces), dtype=np.float64),
        np.array(w_off, dtype=np.int64),
        np.array(b_off, dtype=np.int64),
        dims,
        np.array(codes, dtype=np.int64),
    )


def unpack_network(net: PackedNetwork) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The weights and biases of a packed network (views into ``net.flat``)."""
    d, flat = net.dims, net.flat
    layers = range(d.size - 1)
    weights = [
        flat[net.w_off[i] : net.w_off[i] + d[i + 1] * d[i]].reshape(d[i + 1], d[i]) for i in layers
    ]
    biases = [flat[net.b_off[i] : net.b_off[i] + d[i + 1]] for i in layers]
    return weights, biases


def restrict_columns(net: PackedNetwork, cols: np.ndarray) -> PackedNetwork:
    """The network z_T -> F(z), z zero off the inputs ``cols`` (first layer's columns T)."""
    weights, biases = unpack_network(net)
    first = np.ascontiguousarray(weights[0][:, cols])
    return pack_network([first, *weights[1:]], biases, net.codes)


def row_work(net: PackedNetwork) -> RowWork:
    """Fresh workspaces for the one-row kernels of `net`."""
    size = int(workspace_size(1, net.dims))
    return RowWork(
        np.empty(size), np.empty(size), np.empty(size), np.empty(2 * int(net.dims.max()))
    )


# The table's functions, compiled (not cached: numba caches the kernels that call them).
_relu_derivative = numba.njit(ACTIVATIONS["relu"].derivative)
_sigmoid = numba.njit(ACTIVATIONS["sigmoid"].value)
_sigmoid_derivative = numba.njit(ACTIVATIONS["sigmoid"].derivative)
_tanh = numba.njit(ACTIVATIONS["tanh"].value)
_tanh_derivative = numba.njit(ACTIVATIONS["tanh"].derivative)
KERNEL_CODES = (IDENTITY, RELU, SIGMOID, TANH)


@jit
def activate(a, code):
    """Apply the activation with this code to a, in place.

    The ReLU is written in place, a <- a * 1[a > 0] (the table's value without a new
    array; the tests check that it equals the table's); the others are the table's
    compiled functions.
    """
    if code == RELU:
        a *= a > 0.0
    elif code == SIGMOID:
        a[:] = _sigmoid(a)
    elif code == TANH:
        a[:] = _tanh(a)


@jit
def scale_by_derivative(g, out, code):
    """G <- sigma'(a) * g, with sigma' written in terms of the layer's output ``out``."""
    if code == RELU:
        g *= _relu_derivative(out)
    elif code == SIGMOID:
        g *= _sigmoid_derivative(out)
    elif code == TANH:
        g *= _tanh_derivative(out)


@jit(inline="always")
def derivative(out, code):
    """sigma'(a) at one layer output ``out = sigma(a)`` (1 for the identity)."""
    if code == RELU:
        return 1.0 if _relu_derivative(out) else 0.0
    if code == SIGMOID:
        return _sigmoid_derivative(out)
    if code == TANH:
        return _tanh_derivative(out)
    return 1.0


@jit(inline="always")
def layer_weight(flat, w_off, dims, i):
    """W_i as a (n_{i+1}, n_i) view of ``flat`` (layers counted from 0).

    The passes unpack the `PackedNetwork` once and pass its arrays: a named tuple's field
    read inside a loop is reloaded every time.
    """
    return flat[w_off[i] : w_off[i] + dims[i + 1] * dims[i]].reshape((dims[i + 1], dims[i]))


@jit(inline="always")
def layer_output(H, n_rows, dims, i):
    """The view of ``H`` that holds layer i's output, shape (n_rows, n_{i+1})."""
    offset = 0
    for j in range(i):
        offset += n_rows * dims[j + 1]
    return H[offset : offset + n_rows * dims[i + 1]].reshape((n_rows, dims[i + 1]))


@jit
def workspace_size(n_rows, dims):
    """Floats needed by ``H`` for a batch of n_rows."""
    return n_rows * (np.sum(dims) - dims[0])


@jit(inline="always")
def output(net, H, n_rows):
    """F(z) of the last forward pass stored in H, shape (n_rows, m)."""
    return layer_output(H, n_rows, net.dims, net.dims.shape[0] - 2)


@jit
def forward(net, Z, H):
    """Run the network on the rows of Z; every layer's output lands in H. Returns F(Z)."""
    flat, w_off, b_off, dims, codes = net
    return forward_arrays(flat, w_off, b_off, dims, codes, Z, H)


@jit
def forward_arrays(flat, w_off, b_off, dims, codes, Z, H):
    """`forward` on the arrays of a `PackedNetwork` (for loops that unpack it once)."""
    n_rows = Z.shape[0]
    prev = Z
    for i in range(dims.shape[0] - 1):
        out = layer_output(H, n_rows, dims, i)
        np.dot(prev, layer_weight(flat, w_off, dims, i).T, out)
        out += flat[b_off[i] : b_off[i] + dims[i + 1]]
        activate(out, codes[i])
        prev = out
    return prev


@jit
def backward(net, H, V, grad, work):
    """Grad <- J(z)^T v for each row (z, v), with H holding the forward pass at the rows z.

    ``work`` holds at least ``2 * n_rows * max(dims)`` floats; V is not modified.
    """
    flat, w_off, _, dims, codes = net
    return backward_arrays(flat, w_off, dims, codes, H, V, grad, work)


@jit
def backward_arrays(flat, w_off, dims, codes, H, V, grad, work):
    """`backward` on the arrays of a `PackedNetwork` (for loops that unpack it once)."""
    n_rows = V.shape[0]
    half = n_rows * np.max(dims)
    n_layers = dims.shape[0] - 1
    g = work[: n_rows * dims[n_layers]].reshape((n_rows, dims[n_layers]))
    g[:, :] = V
    for i in range(n_layers - 1, -1, -1):
        scale_by_derivative(g, layer_output(H, n_rows, dims, i), codes[i])
        W = layer_weight(flat, w_off, dims, i)
        if i == 0:
            np.dot(g, W, grad)
        else:
            # Ping-pong between the two halves of the workspace.
            start = half if (n_layers - i) % 2 == 1 else 0
            nxt = work[start : start + n_rows * dims[i]].reshape((n_rows, dims[i]))
            np.dot(g, W, nxt)
            g = nxt
    return grad


@jit
def jvp(net, H, U, work):
    """J(z) u for each row (z, u), with H holding the forward pass; returns a view of work."""
    flat, w_off, _, dims, codes = net
    n_rows = U.shape[0]
    half = n_rows * np.max(dims)
    t = U
    for i in range(dims.shape[0] - 1):
        start = half if i % 2 == 1 else 0
        nxt = work[start : start + n_rows * dims[i + 1]].reshape((n_rows, dims[i + 1]))
        np.dot(t, layer_weight(flat, w_off, dims, i).T, nxt)
        scale_by_derivative(nxt, layer_output(H, n_rows, dims, i), codes[i])
        t = nxt
    return t


@jit
def _active_units(out, code, keep_all):
    """(indices, sigma') of a layer's units whose derivative is not 0 (all with keep_all)."""
    n = out.shape[0]
    d = np.empty(n)
    idx = np.empty(n, dtype=np.int64)
    count = 0
    for a in range(n):
        value = derivative(out[a], code)
        if keep_all or value != 0.0:
            idx[count] = a
            d[count] = value
            count += 1
    return idx[:count], d[:count]


@jit
def _gather(W, rows, cols, scale_rows, scale_cols):
    """W[rows][:, cols], each row times scale_rows and each column times scale_cols."""
    out = np.empty((rows.shape[0], cols.shape[0]))
    for p in range(rows.shape[0]):
        r, sp = rows[p], scale_rows[p]
        for q in range(cols.shape[0]):
            out[p, q] = W[r, cols[q]] * sp * scale_cols[q]
    return out


@jit
def jacobian_columns(net, H, cols):
    """The columns ``cols`` of J_F(z), shape (m, len(cols)), H the forward pass of one z.

    J_S = D_L W_L ... D_1 W_1[:, S] (D_i = diag(sigma_i'(out_i))), multiplied over the
    units whose derivative is not 0 only (a dead ReLU's row and column drop out of both
    neighbouring products; on a trained MNIST network most of the second layer's units are
    dead at a given z), in whichever order multiplies fewer numbers: from the input side
    (forward mode, every column of S at once) when len(cols) <= m, from the output side
    (reverse mode, every output at once) when m is smaller. The two orders cost their number
    of right-hand sides (len(cols) or m) times the same sum of layer products, so at
    m = 10 and 80 columns reverse mode does an eighth of the work. All give the same matrix
    up to rounding.
    """
    flat, w_off, _, dims, codes = net
    n_layers = dims.shape[0] - 1
    m = dims[n_layers]
    ones = np.ones(cols.shape[0])
    W0 = layer_weight(flat, w_off, dims, 0)
    if m < cols.shape[0]:
        out = layer_output(H, 1, dims, n_layers - 1)[0]
        upper, d_upper = _active_units(out, codes[n_layers - 1], True)
        g = np.zeros((m, m))
        for a in range(m):
            g[a, a] = d_upper[a]
        for i in range(n_layers - 1, 0, -1):
            out = layer_output(H, 1, dims, i - 1)[0]
            lower, d_lower = _active_units(out, codes[i - 1], False)
            W = layer_weight(flat, w_off, dims, i)
            g = np.dot(g, _gather(W, upper, lower, np.ones(upper.shape[0]), d_lower))
            upper = lower
        return np.dot(g, _gather(W0, upper, cols, np.ones(upper.shape[0]), ones))
    out = layer_output(H, 1, dims, 0)[0]
    lower, d_lower = _active_units(out, codes[0], n_layers == 1)
    t = _gather(W0, lower, cols, d_lower, ones)
    for i in range(1, n_layers):
        out = layer_output(H, 1, dims, i)[0]
        upper, d_upper = _active_units(out, codes[i], i == n_layers - 1)
        W = layer_weight(flat, w_off, dims, i)
        t = np.dot(_gather(W, upper, lower, d_upper, np.ones(lower.shape[0])), t)
        lower = upper
    return t


@jit
def objective(net, y, z, H):
    """f(z) = ||y - F(z)||^2 for one z, leaving the forward pass of z in H."""
    F = forward(net, z.reshape((1, -1)), H)
    return np.sum((y - F[0]) ** 2)


@jit
def residual_gradient(net, y, H, work):
    """G = J_F(z)^T (y - F(z)) for one z whose forward pass H holds (so grad f = -2 g)."""
    g = np.empty((1, net.dims[0]))
    backward(net, H, y.reshape((1, -1)) - output(net, H, 1), g, work)
    return g[0]


def tiny_network(output: int = IDENTITY, dims=(5, 6, 3)) -> tuple[PackedNetwork, np.ndarray]:
    """A small random ReLU network (last activation `output`) and a y: warm-up inputs."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((b, a)) for a, b in zip(dims[:-1], dims[1:], strict=True)]
    codes = [RELU] * (len(dims) - 2) + [output]
    net = pack_network(weights, [np.zeros(w.shape[0]) for w in weights], codes)
    return net, rng.standard_normal(dims[-1])


def warm_up() -> None:
    """Compile every kernel of this module (every activation code)."""
    for code in KERNEL_CODES:
        net, y = tiny_network(code, (2, 3, 2))
        Z = np.ones((2, 2))
        H = np.empty(workspace_size(2, net.dims))
        work = np.empty(2 * 2 * 3)
        forward(net, Z, H)
        backward(net, H, np.ones((2, 2)), np.empty((2, 2)), work)
        jvp(net, H, Z, work)
        w = row_work(net)
        objective(net, y, Z[0].copy(), w.H)
        residual_gradient(net, y, w.H, w.back)
        jacobian_columns(net, w.H, np.array([1, 0]))
