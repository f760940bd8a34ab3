r"""One latent step and the generator's forward pass as autograd primitives.

`PMLTrainer` runs the whole outer step as one hand-derived sweep (`sdlss_theory.pml.network`)
and never calls autograd. The same vector-Jacobian products are offered here as autograd
primitives, so that a custom outer loss written in ``autograd.numpy`` differentiates through
the unrolled latent steps at the cost of one traced node per step instead of about a hundred:

* ``latent_step(z, log_beta, y, A, *layers, output=..., s=...)``:
  :math:`z' = P_s(z - e^{\log\beta} \nabla_z \lVert y - A G(z)\rVert^2)` (s = k: no
  projection), differentiable in z, log beta, y, A and every weight and bias;
* ``generator(z, *layers, output=...)``: G(z).

``layers`` is ``W_1, b_1, ..., W_d, b_d``. The vector-Jacobian products recompute the
forward pass of the step (the price of the primitive interface; the fused sweep keeps it).

Examples
--------
>>> import autograd.numpy as anp
>>> import numpy as np
>>> from autograd import grad
>>> rng = np.random.default_rng(0)
>>> layers = [rng.standard_normal((6, 4)), np.zeros(6), rng.standard_normal((5, 6)), np.zeros(5)]
>>> A, x = rng.standard_normal((3, 5)), rng.standard_normal((2, 5))
>>> z0 = rng.standard_normal((2, 4))
>>> def loss(W0):
...     z = latent_step(z0, np.log(0.05), x @ A.T, A, W0, *layers[1:], output="linear", s=2)
...     return anp.sum((generator(z, W0, *layers[1:], output="linear") - x) ** 2)
>>> grad(loss)(layers[0]).shape
(6, 4)
"""

from __future__ import annotations

import math

import numpy as np
from autograd.extend import defvjp_argnums, primitive

from sdlss_theory.activations import ACTIVATIONS
from sdlss_theory.pml.network import Pass, generator_output, hidden

__all__ = ["generator", "latent_step"]


def _params(layers) -> dict:
    if len(layers) % 2 or not layers:
        raise ValueError("layers must be W_1, b_1, ..., W_d, b_d")
    return {f"{kind}{i // 2}": arr for i, (kind, arr) in
            enumerate(zip(("W", "b") * (len(layers) // 2), layers, strict=True))}  # fmt: skip


def _pass(z, layers, A, output: str, s: int) -> Pass:
    return Pass(_params(layers), A, output, s if s < z.shape[1] else None, learn_A=True)


@primitive
def latent_step(z, log_beta, y, A, *layers, output: str = "linear", s: int | None = None):
    """One latent IHT (or, with s = k, gradient) step; see the module docstring."""
    s = z.shape[1] if s is None else s
    znew, _ = _pass(z, layers, A, output, s).step(z, y, math.exp(log_beta))
    return znew


def _latent_step_vjp(argnums, ans, args, kwargs):
    z, log_beta, y, A, *layers = args
    output = kwargs.get("output", "linear")
    s = kwargs.get("s") or z.shape[1]
    beta = math.exp(log_beta)

    def vjp(g):
        ps = _pass(z, layers, A, output, s)
        _, cache = ps.step(z, y, beta)
        dz, dbeta = ps.step_vjp(cache, g, beta, need_dz=True)
        grads = ps.finish(None, None)
        dy = np.zeros_like(y) if ps.dY is None else ps.dY
        layer_grads = [grads[f"{kind}{i // 2}"] for i, kind in
                       enumerate(("W", "b") * (len(layers) // 2))]  # fmt: skip
        every = [dz, dbeta * beta, dy, grads["A"], *layer_grads]
        return tuple(every[i] for i in argnums)

    return vjp


defvjp_argnums(latent_step, _latent_step_vjp)


@primitive
def generator(z, *layers, output: str = "linear"):
    """G(z) for a batch of codes; see the module docstring."""
    return generator_output(_params(layers), z, output)


def _generator_vjp(argnums, ans, args, kwargs):
    z, *layers = args
    output = kwargs.get("output", "linear")
    derivative = ACTIVATIONS[output].derivative

    def vjp(g):
        n = layers[-2].shape[0]
        ps = _pass(z, layers, np.zeros((1, n)), output, z.shape[1])
        hs = hidden(ps.Ws, ps.bs, z)
        da = g if derivative is None else g * derivative(ans)
        ps.dWs[-1] += da.T @ hs[-1]
        ps.dbs[-1] += da.sum(axis=0)
        dh = da @ ps.Ws[-1]
        masks = [(h > 0).astype(np.float64) for h in hs[1:]]
        dz = ps.hidden_vjp(hs, masks, dh, True) if len(ps.Ws) > 1 else dh
        every = [dz]
        for dW, db in zip(ps.dWs, ps.dbs, strict=True):
            every += [dW, db]
        return tuple(every[i] for i in argnums)

    return vjp


defvjp_argnums(generator, _generator_vjp)
