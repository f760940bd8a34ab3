"""An independent, fully traced autograd implementation of the PML outer loss (tests only).

The latent gradient is taken by nested `autograd.grad` of ||y - A G(z)||^2 (no hand-written
backward pass anywhere), the loss is written term by term in autograd.numpy, and the whole
thing is differentiated by autograd. `sdlss_theory.pml.network.outer_loss` must agree with it.
"""

from __future__ import annotations

import autograd.numpy as anp
import numpy as np
from autograd import grad
from autograd.tracer import getval

from sdlss_theory.activations import ACTIVATIONS

NORM_EPS = 1e-12


def forward(Ws, bs, Z, output):
    h = Z
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        a = anp.dot(h, W.T) + b
        h = anp.where(getval(a) > 0, a, 0.0)
    return ACTIVATIONS[output].value(anp.dot(h, Ws[-1].T) + bs[-1], anp)


def project(Z, s):
    Zv = np.asarray(getval(Z))
    keep = np.argsort(-np.abs(Zv), axis=1, kind="stable")[:, :s]
    mask = np.zeros(Zv.shape, dtype=bool)
    np.put_along_axis(mask, keep, True, axis=1)
    return anp.where(mask, Z, 0.0)


def latent_gradient(Ws, bs, A, Y, Z, output):
    def f(Z_):
        return anp.sum((anp.dot(forward(Ws, bs, Z_, output), A.T) - Y) ** 2)

    return grad(f)(Z)


def _norms(D):
    return anp.sqrt(anp.sum(D * D, axis=1) + NORM_EPS)


def losses(params, fixed_A, X, Z0, config):
    """(total, L_G, L_A, L_X) as autograd sees them; `params` a dict of arrays."""
    c = config
    depth = len(c.dims) - 1
    Ws = [params[f"W{i}"] for i in range(depth)]
    bs = [params[f"b{i}"] for i in range(depth)]
    A = params["A"] if c.learn_A else fixed_A
    if c.learn_beta:
        betas = [anp.exp(params["log_beta"][t] if c.beta_per_step else params["log_beta"])
                 for t in range(c.T)]  # fmt: skip
    else:
        betas = [c.beta0] * c.T
    Y = anp.dot(X, A.T)
    Z = project(Z0, c.s) if c.sparse else Z0
    first = Z
    for t in range(c.T):
        Z = Z - betas[t] * latent_gradient(Ws, bs, A, Y, Z, c.output)
        if c.sparse:
            Z = project(Z, c.s)
    X_hat = forward(Ws, bs, Z, c.output)
    X_0 = forward(Ws, bs, first, c.output)
    L_G = anp.mean(anp.sum((anp.dot(X_hat, A.T) - Y) ** 2, axis=1))
    L_X = anp.mean(anp.sum((X_hat - X) ** 2, axis=1))

    def r(D):
        t = _norms(anp.dot(D, A.T)) + c.srec_delta - c.srec_gamma * _norms(D)
        if c.srec_form == "hinge":
            t = anp.minimum(t, 0.0)
        return t**2

    L_A = anp.mean((r(X_hat - X_0) + r(X_hat - X) + r(X_0 - X)) / 3.0)
    return L_G + c.lam * L_A + c.signal_weight * L_X, L_G, L_A, L_X
