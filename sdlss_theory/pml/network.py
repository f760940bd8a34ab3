r"""The PML outer loss and its gradient, derived by hand (private).

One outer step on a minibatch X (B, n) with starts :math:`Z_0` (B, k) evaluates

.. math::

    z_{t+1} = P_s\big(z_t - \beta_t\, g(z_t)\big), \qquad
    g(z) = \nabla_z \lVert y - A G(z)\rVert^2 = 2 J_G(z)^\top A^\top (A G(z) - y),

for t = 0..T-1, then the loss of `PMLConfig` at :math:`\hat x = G(z_T)`, :math:`x_0 = G(z_0)`
and the data, and differentiates it with respect to every weight, bias, A (if learned) and
:math:`\log\beta` by one reverse sweep written out by hand (docs/pml.md gives the
recursions). Each latent step is one "primitive": its forward pass keeps what its
vector-Jacobian product needs (the layer inputs, the residual, the backward-pass
intermediates and the mask of :math:`P_s`), and `Pass.step_vjp` maps a cotangent of
:math:`z_{t+1}` to cotangents of :math:`z_t`, :math:`\beta_t` and (accumulated) of the
parameters -- the second-order terms of differentiating through the inner gradient included.

**Linear output.** :math:`A G(z) = C h_{d-1}(z) + c` with :math:`C = A W_d`,
:math:`c = A b_d` formed once per outer step, so the inner steps never touch n; the
cotangents of (C, c) are mapped back to :math:`W_d, b_d` and A once at the end.

**Other outputs** (sigmoid, tanh; any row of `sdlss_theory.activations`): the step works
in signal space; the second derivative of the output activation, needed by the
vector-Jacobian product of g, is the derivative of the table's ``derivative(out)`` (written
in terms of the output), taken by autograd from the table's own formula.

ReLU masks and the support of :math:`P_s` are constants of the sweep (derivative 0 at a ReLU
kink; the kept entries pass their cotangent, the dropped ones none), as in autograd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from sdlss_theory.activations import ACTIVATIONS
from sdlss_theory.pml.config import PMLConfig

#: Added under the square roots of the RIP / S-REC loss so that its gradient is finite when a
#: pair coincides; it moves each norm by at most 1e-6 (see docs/pml.md).
NORM_EPS = 1e-12


def param_shapes(config: PMLConfig) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the learned parameters, in a fixed order."""
    shapes: dict[str, tuple[int, ...]] = {}
    dims = config.dims
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        shapes[f"W{i}"] = (fan_out, fan_in)
        shapes[f"b{i}"] = (fan_out,)
    if config.learn_A:
        shapes["A"] = (config.m, config.n)
    if config.learn_beta:
        shapes["log_beta"] = (config.T,) if config.beta_per_step else ()
    return shapes


def init_params(config: PMLConfig, rng: np.random.Generator) -> tuple[dict, np.ndarray]:
    """Initial parameters (weights by ``config.init``, zero biases) and the initial A.

    Draws the weights layer by layer, then A (N(0, 1/m)), from `rng`, in float64 (the same
    stream for every ``config.dtype``), then rounds them to ``config.dtype``.
    """
    params: dict[str, np.ndarray] = {}
    dims = config.dims
    for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
        std = math.sqrt(2.0 / fan_in) if config.init == "he" else math.sqrt(1.0 / fan_out)
        params[f"W{i}"] = std * rng.standard_normal((fan_out, fan_in))
        params[f"b{i}"] = np.zeros(fan_out)
    A = rng.standard_normal((config.m, config.n)) / math.sqrt(config.m)
    if config.learn_A:
        params["A"] = A.copy()
    if config.learn_beta:
        shape = (config.T,) if config.beta_per_step else ()
        params["log_beta"] = np.full(shape, math.log(config.beta0))
    dtype = config.np_dtype
    params = {name: p.astype(dtype, copy=False) for name, p in params.items()}
    return params, A.astype(dtype, copy=False)


#: How far inside (0, 1) for sigmoid and (-1, 1) for tanh a mean signal is clipped before
#: the inverse, so that the initial bias stays finite and the output unsaturated.
OUTPUT_MARGIN = 0.01


def output_bias_for(mean: np.ndarray, output: str) -> np.ndarray:
    """The output bias b with sigma(b) = `mean` (clipped inside the open range of sigma)."""
    lo, hi = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}.get(output, (-np.inf, np.inf))
    clipped = np.clip(mean, lo + OUTPUT_MARGIN, hi - OUTPUT_MARGIN)
    return np.asarray(ACTIVATIONS[output].inverse(clipped), dtype=float).copy()


def support_mask(Z: np.ndarray, s: int) -> np.ndarray:
    """0/1 mask of :math:`P_s` row-wise: the s largest |entries|, ties to the smaller index.

    The same rule as `sdlss_theory.hard_threshold` (a stable argsort of -|z|).
    """
    keep = np.argsort(-np.abs(Z), axis=1, kind="stable")[:, :s]
    mask = np.zeros(Z.shape, dtype=Z.dtype)
    np.put_along_axis(mask, keep, 1.0, axis=1)
    return mask


def hidden(Ws: list, bs: list, Z: np.ndarray) -> list[np.ndarray]:
    """Inputs of every layer: ``[h_0 = Z, h_1, ..., h_{d-1}]``, h_i = relu(W_i h_{i-1} + b_i)."""
    hs = [Z]
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        a = hs[-1] @ W.T
        a += b
        np.maximum(a, 0.0, out=a)
        hs.append(a)
    return hs


def _relu_mask(h: np.ndarray) -> np.ndarray:
    return (h > 0).astype(h.dtype)


def output_second_derivative(name: str):
    """d/d(out) of the table's ``derivative(out)`` for the output activation `name`."""
    import autograd.numpy as anp
    from autograd import elementwise_grad

    derivative = ACTIVATIONS[name].derivative
    return elementwise_grad(lambda out: derivative(out, anp))


@dataclass
class StepCache:
    """What the vector-Jacobian product of one latent step needs from its forward pass."""

    hs: list  # layer inputs h_0 = z_t, ..., h_{d-1}
    masks: list  # ReLU masks of h_1..h_{d-1} (floats)
    r: np.ndarray  # A G(z_t) - y, (B, m)
    ps: list  # p_i = g_i * mask_i, i = 1..d-1 (backward-pass intermediates)
    grad: np.ndarray  # g(z_t), (B, k)
    proj: np.ndarray | None  # mask of P_s (None: dense)
    x: np.ndarray | None = None  # G(z_t) (non-linear output only)
    e: np.ndarray | None = None  # 2 A^T r (non-linear output only)
    sp: np.ndarray | None = None  # sigma'(a_d) (non-linear output only)
    q: np.ndarray | None = None  # e * sp


@dataclass
class Pass:
    """One outer step: the parameters, the folded head, and the cotangent accumulators.

    Parameters
    ----------
    params : dict
        The weights and biases ``W0, b0, ..., W{d-1}, b{d-1}`` (other entries are ignored).
    A : ndarray
        The sensing matrix (learned or fixed).
    output : str
        The output activation (a row of `sdlss_theory.activations.ACTIVATIONS`).
    s : int or None
        The sparsity of :math:`P_s`; None: dense steps (no projection).
    learn_A : bool
        Accumulate the cotangent of A (and keep that of Y = X A^T, see `finish`).
    """

    params: dict
    A: np.ndarray
    output: str
    s: int | None = None
    learn_A: bool = False

    def __post_init__(self) -> None:
        depth = sum(1 for name in self.params if name.startswith("W"))
        self.Ws = [self.params[f"W{i}"] for i in range(depth)]
        self.bs = [self.params[f"b{i}"] for i in range(depth)]
        self.act = ACTIVATIONS[self.output]
        self.fold = self.act.derivative is None
        if self.fold:
            self.C = self.A @ self.Ws[-1]
            self.c = self.A @ self.bs[-1]
            self.dC = np.zeros_like(self.C)
            self.dc = np.zeros_like(self.c)
        else:
            self.second = output_second_derivative(self.output)
        self.dWs = [np.zeros_like(W) for W in self.Ws]
        self.dbs = [np.zeros_like(b) for b in self.bs]
        self.dA = np.zeros_like(self.A)
        self.dY: np.ndarray | None = None

    # -- the generator's head -----------------------------------------------------------
    def head(self, h: np.ndarray, signal: bool = True) -> tuple[np.ndarray | None, np.ndarray]:
        """G(z) (when `signal`, or always for a non-linear output) and A G(z) from h_{d-1}."""
        W, b = self.Ws[-1], self.bs[-1]
        if self.fold:
            u = h @ self.C.T
            u += self.c
            x = None
            if signal:
                x = h @ W.T
                x += b
            return x, u
        a = h @ W.T
        a += b
        x = self.act.value(a)
        return x, x @ self.A.T

    def head_vjp(
        self, h: np.ndarray, x: np.ndarray | None, dx: np.ndarray | None, du: np.ndarray
    ) -> np.ndarray:
        """Accumulate the parameter cotangents of `head`; return the cotangent of h."""
        W = self.Ws[-1]
        if self.fold:
            self.dC += du.T @ h
            self.dc += du.sum(axis=0)
            dh = du @ self.C
            if dx is not None:
                self.dWs[-1] += dx.T @ h
                self.dbs[-1] += dx.sum(axis=0)
                dh += dx @ W
            return dh
        if self.learn_A:
            self.dA += du.T @ x
        dx = du @ self.A if dx is None else dx + du @ self.A
        da = dx * self.act.derivative(x)
        self.dWs[-1] += da.T @ h
        self.dbs[-1] += da.sum(axis=0)
        return da @ W

    def hidden_vjp(self, hs: list, masks: list, dh: np.ndarray, need_dz: bool) -> np.ndarray:
        """Accumulate the cotangents of the hidden layers; return that of z (or None)."""
        depth = len(self.Ws)
        for i in range(depth - 2, -1, -1):
            da = dh * masks[i]
            self.dWs[i] += da.T @ hs[i]
            self.dbs[i] += da.sum(axis=0)
            dh = da @ self.Ws[i] if (i > 0 or need_dz) else None
        return dh

    def forward(self, Z: np.ndarray, signal: bool = True):
        """Layer inputs, masks, G(Z) and A G(Z) of a batch of codes."""
        hs = hidden(self.Ws, self.bs, Z)
        masks = [_relu_mask(h) for h in hs[1:]]
        x, u = self.head(hs[-1], signal)
        return hs, masks, x, u

    def forward_vjp(self, hs, masks, x, dx, du, need_dz: bool) -> np.ndarray | None:
        """The vector-Jacobian product of `forward` (parameters accumulated)."""
        dh = self.head_vjp(hs[-1], x, dx, du)
        if len(self.Ws) == 1:
            return dh if need_dz else None
        return self.hidden_vjp(hs, masks, dh, need_dz)

    # -- one latent step ----------------------------------------------------------------
    def step(self, Z: np.ndarray, Y: np.ndarray, beta: float) -> tuple[np.ndarray, StepCache]:
        r""":math:`z' = P_s(z - \beta g(z))` for a batch, with the cache of its VJP."""
        hs = hidden(self.Ws, self.bs, Z)
        masks = [_relu_mask(h) for h in hs[1:]]
        h = hs[-1]
        W = self.Ws[-1]
        x = e = sp = q = None
        if self.fold:
            r = h @ self.C.T
            r += self.c
            r -= Y
            g = (2.0 * r) @ self.C
        else:
            a = h @ W.T
            a += self.bs[-1]
            x = self.act.value(a)
            r = x @ self.A.T
            r -= Y
            e = (2.0 * r) @ self.A
            sp = self.act.derivative(x)
            q = e * sp
            g = q @ W
        ps = [None] * len(masks)
        for i in range(len(masks) - 1, -1, -1):
            ps[i] = g * masks[i]
            g = ps[i] @ self.Ws[i]
        Znew = Z - beta * g
        proj = None
        if self.s is not None:
            proj = support_mask(Znew, self.s)
            Znew *= proj
        cache = StepCache(hs, masks, r, ps, g, proj, x, e, sp, q)
        return Znew, cache

    def step_vjp(
        self, cache: StepCache, v: np.ndarray, beta: float, need_dz: bool = True
    ) -> tuple[np.ndarray | None, float]:
        """Cotangents of z_t (None unless `need_dz`) and beta_t from that `v` of z_{t+1}."""
        vw = v if cache.proj is None else v * cache.proj
        dbeta = -float(np.sum(vw * cache.grad))
        u = -beta * vw  # cotangent of g_0
        dz = vw.copy()
        # g_{i-1} = p_i W_i, p_i = g_i * mask_i: forward through the backward pass.
        for i, p in enumerate(cache.ps):
            self.dWs[i] += p.T @ u
            u = (u @ self.Ws[i].T) * cache.masks[i]
        h = cache.hs[-1]
        W = self.Ws[-1]
        if self.fold:
            # g_{d-1} = 2 r C, r = h C^T + c - y
            self.dC += 2.0 * (cache.r.T @ u)
            dr = 2.0 * (u @ self.C.T)
            self.dC += dr.T @ h
            self.dc += dr.sum(axis=0)
            dh = dr @ self.C
        else:
            # g_{d-1} = q W_d, q = e * sp, e = 2 A^T r, r = A x - y, x = sigma(h W_d^T + b_d)
            self.dWs[-1] += cache.q.T @ u
            dq = u @ W.T
            de = dq * cache.sp
            dx = dq * cache.e * self.second(cache.x)
            dr = 2.0 * (de @ self.A.T)
            dx += dr @ self.A
            if self.learn_A:
                self.dA += 2.0 * (cache.r.T @ de)
                self.dA += dr.T @ cache.x
            da = dx * cache.sp
            self.dWs[-1] += da.T @ h
            self.dbs[-1] += da.sum(axis=0)
            dh = da @ W
        self._add_dY(-dr)
        if len(self.Ws) > 1:
            dh = self.hidden_vjp(cache.hs, cache.masks, dh, need_dz)
        if not need_dz:
            return None, dbeta
        dz += dh
        return dz, dbeta

    def _add_dY(self, dY: np.ndarray) -> None:
        if self.learn_A:
            self.dY = dY.copy() if self.dY is None else self.dY + dY

    # -- gradients ----------------------------------------------------------------------
    def finish(self, X: np.ndarray | None, dlog_beta: np.ndarray | None) -> dict[str, np.ndarray]:
        """Collect the parameter cotangents (C, c and Y = X A^T mapped back to W_d, b_d, A).

        With ``X = None`` the cotangent of Y stays in ``self.dY`` (Y is then an input).
        """
        if self.fold:
            self.dWs[-1] += self.A.T @ self.dC
            self.dbs[-1] += self.A.T @ self.dc
            if self.learn_A:
                self.dA += self.dC @ self.Ws[-1].T + np.outer(self.dc, self.bs[-1])
        grads: dict[str, np.ndarray] = {}
        for i, (dW, db) in enumerate(zip(self.dWs, self.dbs, strict=True)):
            grads[f"W{i}"] = dW
            grads[f"b{i}"] = db
        if self.learn_A:
            if self.dY is not None and X is not None:
                self.dA += self.dY.T @ X
            grads["A"] = self.dA
        if dlog_beta is not None:
            grads["log_beta"] = dlog_beta
        return grads


def _pair_penalty(t: np.ndarray, form: str) -> tuple[np.ndarray, np.ndarray]:
    """The penalty on the pair residual t and its derivative."""
    if form == "hinge":
        neg = np.minimum(t, 0.0)
        return neg * neg, 2.0 * neg
    return t * t, 2.0 * t


def _norms(D: np.ndarray) -> np.ndarray:
    return np.sqrt(np.einsum("ij,ij->i", D, D) + NORM_EPS)


def outer_loss(
    params: dict,
    A: np.ndarray,
    X: np.ndarray,
    Z0: np.ndarray,
    config: PMLConfig,
    *,
    need_grad: bool = True,
    s: int | None = None,
) -> tuple[dict[str, float], dict[str, np.ndarray] | None, np.ndarray]:
    r"""The outer loss on a minibatch, its gradient, and the codes :math:`z_T`.

    Parameters
    ----------
    params : dict
        The learned parameters.
    A : ndarray, shape (m, n)
        The sensing matrix (``params["A"]`` when learned).
    X : ndarray, shape (B, n)
        Signals.
    Z0 : ndarray, shape (B, k)
        Starts, before :math:`P_s` (the loop starts at :math:`P_s(Z_0)` for PML).
    config : PMLConfig
    need_grad : bool
        Skip the reverse sweep when False.
    s : int, optional
        The sparsity of :math:`P_s` (default ``config.s``; the trainer passes its schedule).

    Returns
    -------
    losses : dict
        ``loss`` (the total), ``L_G``, ``L_A`` and ``L_X``.
    grads : dict or None
        The gradient of ``loss``, one array per parameter.
    ZT : ndarray, shape (B, k)
    """
    c = config
    ps = Pass(params, A, c.output, (c.s if s is None else s) if c.sparse else None, c.learn_A)
    betas = step_sizes(params, c)
    Y = X @ A.T
    Z = Z0 * support_mask(Z0, ps.s) if ps.s is not None else Z0
    caches = []
    for t in range(c.T):
        Z, cache = ps.step(Z, Y, float(betas[t]))
        caches.append(cache)
    ZT = Z
    need_signal = c.lam > 0 or c.signal_weight > 0
    hs_T, masks_T, x_hat, u_hat = ps.forward(ZT, signal=need_signal)
    first = caches[0]
    x_0, u_0 = ps.head(first.hs[-1]) if need_signal else (None, None)
    losses, cot = _loss_terms(c, X, Y, (x_hat, u_hat), (x_0, u_0))
    if not need_grad:
        return losses, None, ZT
    ps._add_dY(cot.dY)
    v = ps.forward_vjp(hs_T, masks_T, x_hat, cot.dx_hat, cot.du_hat, need_dz=True)
    dbetas = np.zeros(c.T)
    for t in range(c.T - 1, -1, -1):
        v, dbetas[t] = ps.step_vjp(caches[t], v, float(betas[t]), need_dz=t > 0)
    if c.lam > 0:
        # x_0 = G(z_0) shares its forward pass with the first latent step.
        ps.forward_vjp(first.hs, first.masks, x_0, cot.dx_0, cot.du_0, need_dz=False)
    dlog_beta = None
    if c.learn_beta:
        dlog_beta = dbetas * betas  # d beta / d log beta = beta
        dlog_beta = dlog_beta if c.beta_per_step else np.array(dlog_beta.sum())
        dlog_beta = dlog_beta.astype(params["log_beta"].dtype, copy=False)
    return losses, ps.finish(X, dlog_beta), ZT


class _Cotangents(NamedTuple):
    """The cotangents of the outer loss: of x_hat, A x_hat, Y, x_0 and A x_0 (None: unused)."""

    dx_hat: np.ndarray | None
    du_hat: np.ndarray
    dY: np.ndarray
    dx_0: np.ndarray | None
    du_0: np.ndarray | None


def _loss_terms(
    c: PMLConfig, X: np.ndarray, Y: np.ndarray, out_T: tuple, out_0: tuple
) -> tuple[dict[str, float], _Cotangents]:
    """The loss terms and their cotangents from the outputs (x, A x) at z_T and at z_0."""
    B = X.shape[0]
    x_hat, u_hat = out_T
    resid = u_hat - Y
    L_G = float(np.einsum("ij,ij->", resid, resid)) / B
    du_hat = (2.0 / B) * resid
    dY = -du_hat
    dx_hat = np.zeros_like(x_hat) if c.lam > 0 or c.signal_weight > 0 else None
    L_X = 0.0
    if c.signal_weight > 0:
        err = x_hat - X
        L_X = float(np.einsum("ij,ij->", err, err)) / B
        dx_hat += (2.0 * c.signal_weight / B) * err
    L_A = 0.0
    dx_0 = du_0 = None
    if c.lam > 0:
        dx_0 = np.zeros_like(out_0[0])
        du_0 = np.zeros_like(out_0[1])
        sides = {"hat": (x_hat, u_hat, dx_hat, du_hat), "zero": (*out_0, dx_0, du_0)}
        L_A = _srec_pair_terms(c, X, Y, sides, dY)
    losses = {"loss": L_G + c.lam * L_A + c.signal_weight * L_X, "L_G": L_G, "L_A": L_A,
              "L_X": L_X}  # fmt: skip
    return losses, _Cotangents(dx_hat, du_hat, dY, dx_0, du_0)


def _srec_pair_terms(c: PMLConfig, X: np.ndarray, Y: np.ndarray, sides: dict, dY) -> float:
    """L_A over the three pairs (x_hat, x_0), (x_hat, x), (x_0, x); cotangents added in place.

    ``sides`` maps ``"hat"`` and ``"zero"`` to (x, A x, its cotangent, A x's cotangent);
    the data side's cotangent goes to `dY`.
    """
    B = X.shape[0]
    weight = c.lam / (3.0 * B)
    L_A = 0.0
    for p_name, q_name in (("hat", "zero"), ("hat", "data"), ("zero", "data")):
        xp, up, dxp, dup = sides[p_name]
        if q_name == "data":
            D, E = xp - X, up - Y
        else:
            xq, uq, dxq, duq = sides[q_name]
            D, E = xp - xq, up - uq
        nD, nE = _norms(D), _norms(E)
        t = nE + c.srec_delta - c.srec_gamma * nD
        pen, dpen = _pair_penalty(t, c.srec_form)
        L_A += float(np.sum(pen)) / (3.0 * B)
        dt = weight * dpen
        dE = (dt / nE)[:, None] * E
        dD = (-c.srec_gamma * dt / nD)[:, None] * D
        dxp += dD
        dup += dE
        if q_name == "data":
            dY -= dE
        else:
            dxq -= dD
            duq -= dE
    return L_A


def inner_loop(params: dict, A: np.ndarray, Y: np.ndarray, Z0: np.ndarray, config: PMLConfig):
    """The T latent steps from :math:`P_s(Z_0)` at the current parameters (no gradient)."""
    c = config
    ps = Pass(params, A, c.output, c.s if c.sparse else None, c.learn_A)
    betas = step_sizes(params, c)
    Z = Z0 * support_mask(Z0, c.s) if c.sparse else Z0
    for t in range(c.T):
        Z, _ = ps.step(Z, Y, float(betas[t]))
    return Z


def generator_output(params: dict, Z: np.ndarray, output: str) -> np.ndarray:
    """G(Z) for a batch of codes (`params` holds ``W0, b0, ...``; other entries ignored)."""
    depth = sum(1 for name in params if name.startswith("W"))
    Ws = [params[f"W{i}"] for i in range(depth)]
    bs = [params[f"b{i}"] for i in range(depth)]
    h = hidden(Ws, bs, Z)[-1]
    return ACTIVATIONS[output].value(h @ Ws[-1].T + bs[-1])


def step_sizes(params: dict, config: PMLConfig) -> np.ndarray:
    r"""The T latent step sizes :math:`\beta_t`.

    Learned (``params["log_beta"]``: one shared, or one per step) or ``config.beta0``.
    """
    if not config.learn_beta:
        return np.full(config.T, config.beta0)
    return np.broadcast_to(np.exp(params["log_beta"]), (config.T,)).copy()
