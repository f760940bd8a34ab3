r"""The network, the unrolled inner loop and the losses of PML, in autograd.numpy (private).

The learned parameters live in one flat vector (`_layout` names and shapes its pieces); the
outer loss (`_losses`) is differentiated through the T unrolled latent steps by autograd.
"""

from __future__ import annotations

import math
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd.tracer import getval

from sdlss_theory.pml.config import PMLConfig

#: Added under the square roots of the RIP/S-REC loss so that its gradient is finite when a
#: pair coincides; it moves each norm by at most 1e-6 (see docs/pml.md).
_NORM_EPS = 1e-12


def _layout(config: PMLConfig) -> list[tuple[str, tuple[int, ...]]]:
    """Names and shapes of the learned parameters, in the order of the flat vector."""
    layout: list[tuple[str, tuple[int, ...]]] = []
    dims = config.dims
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        layout.append((f"W{i}", (fan_out, fan_in)))
        layout.append((f"b{i}", (fan_out,)))
    if config.learn_A:
        layout.append(("A", (config.m, config.n)))
    if config.learn_beta:
        layout.append(("log_beta", ()))
    return layout


def _unpack(flat, layout) -> dict[str, Any]:
    out, offset = {}, 0
    for name, shape in layout:
        size = math.prod(shape)
        piece = flat[offset : offset + size]
        out[name] = piece[0] if shape == () else anp.reshape(piece, shape)
        offset += size
    return out


def _weights(p: dict[str, Any], config: PMLConfig) -> tuple[list[Any], list[Any]]:
    """The weight matrices and the bias vectors in the unpacked parameters `p`, by layer."""
    depth = len(config.dims) - 1
    return [p[f"W{i}"] for i in range(depth)], [p[f"b{i}"] for i in range(depth)]


def _sigmoid(a):
    # Same formula as ReLUGenerator, so that the exported network gives identical outputs.
    return 0.5 * (1.0 + anp.tanh(0.5 * a))


def _forward(Ws, bs, Z, output: str):
    """G(Z) for a batch Z (B, k), written in autograd.numpy like `ReLUGenerator._trace`."""
    h = Z
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        a = anp.dot(h, W.T) + b
        h = anp.where(getval(a) > 0, a, 0.0)
    a = anp.dot(h, Ws[-1].T) + bs[-1]
    return _sigmoid(a) if output == "sigmoid" else a


def _latent_gradient(Ws, bs, A, Y, Z, output: str):
    r"""Rows of :math:`\nabla_z \lVert y - A G(z)\rVert^2 = 2 J_G(z)^T A^T (A G(z) - y)`.

    Backpropagation written out in autograd.numpy, so the outer autograd pass differentiates
    it once (cheaper than nesting `autograd.grad`); ReLU masks are constants.
    """
    h, masks = Z, []
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        a = anp.dot(h, W.T) + b
        mask = getval(a) > 0
        h = anp.where(mask, a, 0.0)
        masks.append(mask)
    a = anp.dot(h, Ws[-1].T) + bs[-1]
    x = _sigmoid(a) if output == "sigmoid" else a
    g = 2.0 * anp.dot(anp.dot(x, A.T) - Y, A)
    if output == "sigmoid":
        g = g * x * (1.0 - x)
    g = anp.dot(g, Ws[-1])
    for W, mask in zip(Ws[-2::-1], masks[::-1], strict=True):
        g = anp.dot(anp.where(mask, g, 0.0), W)
    return g


def _project(Z, s: int):
    """:math:`P_s` row-wise: keep the s largest |entries| (mask constant for autograd)."""
    Zv = np.asarray(getval(Z))
    keep = np.argsort(-np.abs(Zv), axis=1, kind="stable")[:, :s]
    mask = np.zeros(Zv.shape, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=1)
    return anp.where(mask, Z, 0.0)


def _norms(D):
    return anp.sqrt(anp.sum(D * D, axis=1) + _NORM_EPS)


def _inner_loop(Ws, bs, A, beta, Y, Z0, config: PMLConfig):
    """T unrolled latent steps from Z0 (already projected for PML)."""
    Z = Z0
    for _ in range(config.T):
        Z = Z - beta * _latent_gradient(Ws, bs, A, Y, Z, config.output)
        if config.sparse:
            Z = _project(Z, config.s)
    return Z


def _losses(flat, layout, fixed, X, Xi, config: PMLConfig):
    """(total, L_G, L_A) on the minibatch X with starting noise Xi."""
    p = _unpack(flat, layout)
    Ws, bs = _weights(p, config)
    A = p["A"] if config.learn_A else fixed["A"]
    beta = anp.exp(p["log_beta"]) if config.learn_beta else config.beta0
    Y = anp.dot(X, A.T)
    Z0 = _project(Xi, config.s) if config.sparse else Xi
    ZT = _inner_loop(Ws, bs, A, beta, Y, Z0, config)
    X_hat = _forward(Ws, bs, ZT, config.output)
    X_0 = _forward(Ws, bs, Z0, config.output)
    L_G = anp.mean(anp.sum((anp.dot(X_hat, A.T) - Y) ** 2, axis=1))

    def r(D):
        return (_norms(anp.dot(D, A.T)) + config.srec_delta - config.srec_gamma * _norms(D)) ** 2

    L_A = anp.mean((r(X_hat - X_0) + r(X_hat - X) + r(X_0 - X)) / 3.0)
    return L_G + config.lam * L_A, L_G, L_A
