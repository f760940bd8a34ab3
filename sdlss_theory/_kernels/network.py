"""Forward, backward and forward-mode passes of a packed fully connected network.

A network is packed into plain arrays so that numba kernels can take it:

- ``flat``: every W_i (row-major) then b_i, layer after layer;
- ``w_off``, ``b_off``: where each W_i and b_i starts in ``flat``;
- ``dims``: ``(n_0, ..., n_L)``;
- ``codes``: each layer's activation (IDENTITY, RELU, SIGMOID, TANH).

The solvers pack z -> A G(z): G's layers with A folded into the last one
(linear output) or appended as one more linear layer. Activations are stored
per layer in a workspace ``H`` of ``B * sum(n_1..n_L)`` floats; every
derivative needs only the layer outputs (the ReLU mask is ``out > 0``,
sigmoid' = out (1 - out), tanh' = 1 - out^2), so nothing else is kept.
"""

import numpy as np

from sdlss_theory._kernels._jit import jit, register_warm_up
from sdlss_theory.activations import ACTIVATIONS, IDENTITY, RELU, SIGMOID, TANH  # noqa: F401

ACTIVATION_CODES = {name: a.code for name, a in ACTIVATIONS.items()}


def pack_network(weights, biases, codes):
    """Pack lists of weights, biases and activation codes into the kernels' arrays."""
    dims = np.array([weights[0].shape[1]] + [w.shape[0] for w in weights], dtype=np.int64)
    pieces, w_off, b_off, offset = [], [], [], 0
    for w, b in zip(weights, biases, strict=True):
        w_off.append(offset)
        offset += w.size
        b_off.append(offset)
        offset += b.size
        pieces += [np.ravel(w), np.ravel(b)]
    return (
        np.ascontiguousarray(np.concatenate(pieces), dtype=np.float64),
        np.array(w_off, dtype=np.int64),
        np.array(b_off, dtype=np.int64),
        dims,
        np.array(codes, dtype=np.int64),
    )


@jit
def layer_weight(flat, w_off, dims, i):
    return flat[w_off[i] : w_off[i] + dims[i + 1] * dims[i]].reshape((dims[i + 1], dims[i]))


@jit
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


@jit
def apply_activation(a, code):
    if code == RELU:
        # In place; np.maximum(a, 0.0, a) would be deprecated NumPy once numba is disabled.
        a *= a > 0.0
    elif code == SIGMOID:
        a[:] = 0.5 * (1.0 + np.tanh(0.5 * a))
    elif code == TANH:
        a[:] = np.tanh(a)


@jit
def scale_by_derivative(g, out, code):
    """G <- sigma'(a) * g, with sigma' written in terms of the layer's output."""
    if code == RELU:
        g *= out > 0.0
    elif code == SIGMOID:
        g *= out * (1.0 - out)
    elif code == TANH:
        g *= 1.0 - out * out


@jit
def forward(flat, w_off, b_off, dims, codes, Z, H):
    """Run the network on the rows of Z; every layer's output lands in H. Returns the last."""
    n_rows = Z.shape[0]
    prev = Z
    for i in range(dims.shape[0] - 1):
        out = layer_output(H, n_rows, dims, i)
        np.dot(prev, layer_weight(flat, w_off, dims, i).T, out)
        out += flat[b_off[i] : b_off[i] + dims[i + 1]]
        apply_activation(out, codes[i])
        prev = out
    return prev


@jit
def backward(flat, w_off, dims, codes, H, V, grad, work):
    """Grad <- J(z)^T V for each row, with H holding the forward pass at z.

    ``work`` holds at least ``2 * n_rows * max(dims)`` floats; V is not modified.
    """
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
def jvp(flat, w_off, dims, codes, H, U, work):
    """J(z) U for each row, with H holding the forward pass at z; returns a view of work."""
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


@register_warm_up
def _warm_up() -> None:
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((3, 2)), rng.standard_normal((2, 3))]
    biases = [np.zeros(3), np.zeros(2)]
    flat, w_off, b_off, dims, codes = pack_network(weights, biases, [RELU, SIGMOID])
    Z = rng.standard_normal((2, 2))
    H = np.empty(workspace_size(2, dims))
    work = np.empty(2 * 2 * 3)
    forward(flat, w_off, b_off, dims, codes, Z, H)
    backward(flat, w_off, dims, codes, H, np.ones((2, 2)), np.empty((2, 2)), work)
    jvp(flat, w_off, dims, codes, H, Z, work)
