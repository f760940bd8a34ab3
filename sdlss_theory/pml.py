r"""Learning the prior: proximal meta-learning (PML, Algorithm 1 of SDLSS) and the DCS baseline.

The generator :math:`G_\theta` (an MLP k -> widths -> n, ReLU hidden layers, sigmoid or linear
output) is trained so that a *fixed, small* number T of latent steps reconstructs a signal
from its measurements. Per example x of a minibatch, with y = A x:

.. math::

    z_0 = P_s(\xi),\ \xi \sim \mathcal N(0, I_k), \qquad
    z_{t+1} = P_s\!\left(z_t - \beta\, \nabla_z \lVert y - A G_\theta(z_t) \rVert_2^2\right),
    \quad t = 0, \dots, T-1,

and the outer loss, differentiated through the T unrolled steps (as in MAML and DCS), is

.. math::

    \mathcal L = \underbrace{\tfrac1B \textstyle\sum_b \lVert y_b - A G_\theta(z_T^{(b)})
    \rVert_2^2}_{L_G}
    + \lambda\, \underbrace{\tfrac1B \textstyle\sum_b \tfrac13\left[r(\hat x_b, x_{0,b})
    + r(\hat x_b, x_b) + r(x_{0,b}, x_b)\right]}_{L_A},
    \qquad r(x_1, x_2) = \left(\lVert A(x_1 - x_2)\rVert_2 + \delta
    - \gamma \lVert x_1 - x_2 \rVert_2\right)^2,

with :math:`\hat x = G_\theta(z_T)` (reconstruction) and :math:`x_0 = G_\theta(z_0)` (sample).
With :math:`\gamma = 1, \delta = 0` (the defaults) r is exactly the RIP loss of Deep Compressed
Sensing [2]_ over the same three pairs (data, reconstructions, samples). The sparsity term
:math:`\lVert z \rVert_0` of the SDLSS objective is the constant s after :math:`P_s`, so it
has no gradient and is dropped. :math:`P_s` is piecewise linear: autograd differentiates
through the kept entries with the support mask held constant (computed from a stable argsort
of :math:`|z|`, ties to the smaller index, as `sdlss_theory.hard_threshold`); likewise the
ReLU masks are constants (derivative 0 at 0). The step :math:`\beta = e^{\log \beta}` is
learned unless fixed; A is a fixed Gaussian N(0, 1/m) matrix or learned (DCS-style).

The DCS baseline (``method="dcs"``) is the same trainer with a dense latent: no :math:`P_s`
(s = k), plain gradient steps, and DCS's RIP loss (:math:`\gamma=1, \delta=0`). DCS itself also
projects z onto the unit sphere after each step; neither method here does (see docs/pml.md).

At test time the trained network is exported as a `ReLUGenerator`; `reconstruct` runs
`latent_iht` / `latent_niht` / `latent_gd` on it (T steps at the learned beta reproduce the
training inner loop exactly; more steps, the automatic step and restarts give the CSGM-style
reconstruction [3]_).

References
----------
.. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [2] Y. Wu, M. Rosca and T. Lillicrap, "Deep compressed sensing", ICML 2019.
.. [3] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
   models", ICML 2017.
.. [4] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import autograd.numpy as anp
import numpy as np
from autograd import value_and_grad
from autograd.tracer import getval

from sdlss_theory._validation import as_float_array, check_int, check_positive_float, check_rng
from sdlss_theory.generator import ReLUGenerator

__all__ = [
    "PMLConfig",
    "PMLTrainer",
    "mse",
    "psnr",
    "reconstruct",
    "relative_error",
]

_METHODS = ("pml", "dcs")
_OUTPUTS = ("sigmoid", "linear")
_SOLVERS = ("iht", "niht", "gd")
#: Added under the square roots of the RIP/S-REC loss so that its gradient is finite when a
#: pair coincides; it moves each norm by at most 1e-6 (see docs/pml.md).
_NORM_EPS = 1e-12
_CHECKPOINT_VERSION = 1


# ------------------------------------------------------------------------------ config
@dataclasses.dataclass(frozen=True)
class PMLConfig:
    r"""Everything that defines a PML or DCS training run (except the data and the seed).

    Attributes
    ----------
    k : int
        Latent dimension.
    widths : tuple of int
        Hidden layer widths (ReLU), possibly empty.
    n : int
        Signal dimension (the output layer's size).
    m : int
        Number of measurements (rows of A).
    s : int or None
        Latent sparsity for ``method="pml"`` (1 <= s <= k); ignored (s = k) for ``"dcs"``.
    method : {"pml", "dcs"}
        ``"pml"``: latent IHT steps with :math:`P_s`; ``"dcs"``: dense gradient steps.
    output : {"sigmoid", "linear"}
        The output activation (sigmoid for images in [0, 1]).
    T : int
        Unrolled latent steps per example (>= 1).
    beta0 : float
        Initial latent step size beta (> 0).
    learn_beta : bool
        Learn :math:`\log \beta` (True) or keep beta = beta0.
    learn_A : bool
        Learn A (DCS-style, initialised Gaussian) or keep the initial Gaussian A fixed.
    lam : float
        Weight lambda of the RIP / S-REC loss L_A (>= 0).
    srec_gamma, srec_delta : float
        gamma > 0 and delta >= 0 of :math:`r(x_1, x_2) = (\lVert A(x_1-x_2)\rVert + \delta -
        \gamma\lVert x_1-x_2\rVert)^2`; must be 1 and 0 (DCS's RIP loss) for ``"dcs"``.
    lr : float
        Adam learning rate.
    batch_size : int
        Minibatch size (examples drawn without replacement within a batch).
    adam_b1, adam_b2, adam_eps : float
        Adam's constants [4]_.
    init : {"he", "hand"}
        Weight initialisation, as `ReLUGenerator.random` (biases start at zero).
    """

    k: int
    widths: tuple[int, ...]
    n: int
    m: int
    s: int | None = None
    method: str = "pml"
    output: str = "sigmoid"
    T: int = 5
    beta0: float = 0.1
    learn_beta: bool = True
    learn_A: bool = False
    lam: float = 1.0
    srec_gamma: float = 1.0
    srec_delta: float = 0.0
    lr: float = 1e-3
    batch_size: int = 32
    adam_b1: float = 0.9
    adam_b2: float = 0.999
    adam_eps: float = 1e-8
    init: str = "he"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("k", "n", "m", "T", "batch_size"):
            set_(self, name, check_int(getattr(self, name), name, minimum=1))
        if isinstance(self.widths, (str, bytes)) or not isinstance(self.widths, Sequence):
            raise TypeError(f"widths must be a sequence of ints, got {self.widths!r}")
        set_(
            self,
            "widths",
            tuple(check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(self.widths)),
        )
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}, got {self.method!r}")
        if self.output not in _OUTPUTS:
            raise ValueError(f"output must be one of {_OUTPUTS}, got {self.output!r}")
        if self.init not in ("he", "hand"):
            raise ValueError(f"init must be 'he' or 'hand', got {self.init!r}")
        if self.method == "pml":
            if self.s is None:
                raise ValueError("method='pml' needs the sparsity s (1 <= s <= k)")
            s = check_int(self.s, "s", minimum=1)
            if s > self.k:
                raise ValueError(f"s must be <= k={self.k}, got {s}")
            set_(self, "s", s)
        else:
            set_(self, "s", self.k)
        for name in ("beta0", "lr", "srec_gamma", "adam_eps"):
            set_(self, name, check_positive_float(getattr(self, name), name))
        for name in ("lam", "srec_delta"):
            set_(self, name, check_positive_float(getattr(self, name), name, allow_zero=True))
        for name in ("adam_b1", "adam_b2"):
            value = check_positive_float(getattr(self, name), name, allow_zero=True)
            if value >= 1:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
            set_(self, name, value)
        for name in ("learn_beta", "learn_A"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
        if self.method == "dcs" and (self.srec_gamma != 1.0 or self.srec_delta != 0.0):
            raise ValueError(
                "method='dcs' uses DCS's RIP loss: srec_gamma must be 1 and srec_delta 0"
            )

    @property
    def dims(self) -> tuple[int, ...]:
        """``(k, *widths, n)``."""
        return (self.k, *self.widths, self.n)

    @property
    def sparse(self) -> bool:
        """Whether the inner loop applies :math:`P_s` (``method="pml"`` with s < k)."""
        return self.method == "pml" and self.s < self.k

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``PMLConfig(**d)`` rebuilds it)."""
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        return d


# ------------------------------------------------------------------------- the model
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
    depth = len(config.dims) - 1
    Ws = [p[f"W{i}"] for i in range(depth)]
    bs = [p[f"b{i}"] for i in range(depth)]
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


def _check_data(x, name: str, n: int) -> np.ndarray:
    arr = as_float_array(x, name, ndim=(2,))
    if arr.shape[1] != n or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, n={n}) with N >= 1, got {arr.shape}")
    return arr


def _fingerprint(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- trainer
class PMLTrainer:
    r"""Train a generator by PML (sparse latent IHT steps) or DCS (dense gradient steps).

    Parameters
    ----------
    config : PMLConfig
        The architecture, the inner loop and the optimiser.
    x_train : array_like, shape (N, n)
        Training signals (finite).
    rng : numpy.random.Generator
        Source of every random draw of the run, in this order: the initial weights, A, the
        seed of the evaluation noise, then per step the minibatch and the starting noise
        :math:`\xi`. Its state is saved in checkpoints, so a resumed run continues the same
        stream.
    x_val : array_like, shape (N_val, n), optional
        Held-out signals for the periodic evaluation in `train`.

    Notes
    -----
    One step of `train`: draw a minibatch (``rng.choice`` without replacement) and
    :math:`\xi \sim \mathcal N(0, I)` of shape (B, k), evaluate the outer loss and its gradient
    with respect to every learned parameter (weights, biases, A if learned,
    :math:`\log\beta` if learned) through the T unrolled steps, then take one Adam step [1]_
    on the flat parameter vector. A non-finite loss or gradient stops training with
    `FloatingPointError` and leaves the parameters of the last finite step.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.random((64, 16))
    >>> cfg = PMLConfig(k=6, widths=(12,), n=16, m=8, s=2, T=3, batch_size=16)
    >>> trainer = PMLTrainer(cfg, x, rng=rng)
    >>> history = trainer.train(5, progress=False)
    >>> trainer.step, trainer.generator().dims
    (5, (6, 12, 16))
    """

    def __init__(
        self,
        config: PMLConfig,
        x_train: np.ndarray,
        *,
        rng: np.random.Generator,
        x_val: np.ndarray | None = None,
    ) -> None:
        if not isinstance(config, PMLConfig):
            raise TypeError(f"config must be a PMLConfig, got {type(config).__name__}")
        self.config = config
        self.x_train = _check_data(x_train, "x_train", config.n)
        self.x_val = None if x_val is None else _check_data(x_val, "x_val", config.n)
        self.rng = check_rng(rng)
        self._layout = _layout(config)
        dims = config.dims
        params: dict[str, np.ndarray] = {}
        for i, (fan_in, fan_out) in enumerate(zip(dims[:-1], dims[1:], strict=True)):
            std = math.sqrt(2.0 / fan_in) if config.init == "he" else math.sqrt(1.0 / fan_out)
            params[f"W{i}"] = std * self.rng.standard_normal((fan_out, fan_in))
            params[f"b{i}"] = np.zeros(fan_out)
        A = self.rng.standard_normal((config.m, config.n)) / math.sqrt(config.m)
        self.fixed = {} if config.learn_A else {"A": A}
        if config.learn_A:
            params["A"] = A
        if config.learn_beta:
            params["log_beta"] = np.array(math.log(config.beta0))
        self.eval_seed = int(self.rng.integers(2**63 - 1))
        self.params = np.concatenate([np.ravel(params[name]) for name, _ in self._layout])
        self.adam_m = np.zeros_like(self.params)
        self.adam_v = np.zeros_like(self.params)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self._value_and_grad = value_and_grad(self._objective)

    # -- the objective -------------------------------------------------------------------
    def _objective(self, flat, X, Xi):
        return _losses(flat, self._layout, self.fixed, X, Xi, self.config)[0]

    def losses(
        self, x: np.ndarray, xi: np.ndarray, params: np.ndarray | None = None
    ) -> tuple[float, float, float]:
        r"""Evaluate (total, L_G, L_A) on signals `x` with starting noise `xi`.

        Parameters
        ----------
        x : array_like, shape (B, n)
            Signals.
        xi : array_like, shape (B, k)
            The noise :math:`\xi`; the inner loop starts at :math:`P_s(\xi)` (PML) or
            :math:`\xi` (DCS).
        params : ndarray, optional
            A flat parameter vector (default: the current one).

        Returns
        -------
        tuple of float
        """
        x = _check_data(x, "x", self.config.n)
        xi = as_float_array(xi, "xi", ndim=(2,))
        if xi.shape != (x.shape[0], self.config.k):
            raise ValueError(f"xi must have shape {(x.shape[0], self.config.k)}, got {xi.shape}")
        flat = self.params if params is None else as_float_array(params, "params", ndim=(1,))
        if flat.shape != self.params.shape:
            raise ValueError(f"params must have shape {self.params.shape}, got {flat.shape}")
        return tuple(float(v) for v in _losses(flat, self._layout, self.fixed, x, xi, self.config))

    def gradient(self, x: np.ndarray, xi: np.ndarray, params: np.ndarray | None = None):
        """The total loss and its gradient with respect to the flat parameter vector.

        Parameters
        ----------
        x, xi, params
            As in `losses`.

        Returns
        -------
        value : float
        grad : ndarray, shape of `params`
        """
        self.losses(x, xi, params)  # validation
        flat = self.params if params is None else np.asarray(params, dtype=np.float64)
        value, grad = self._value_and_grad(flat, np.asarray(x, float), np.asarray(xi, float))
        return float(value), np.asarray(grad)

    # -- training ------------------------------------------------------------------------
    def _adam(self, grad: np.ndarray) -> None:
        c = self.config
        self.step += 1
        self.adam_m = c.adam_b1 * self.adam_m + (1.0 - c.adam_b1) * grad
        self.adam_v = c.adam_b2 * self.adam_v + (1.0 - c.adam_b2) * grad * grad
        m_hat = self.adam_m / (1.0 - c.adam_b1**self.step)
        v_hat = self.adam_v / (1.0 - c.adam_b2**self.step)
        self.params = self.params - c.lr * m_hat / (np.sqrt(v_hat) + c.adam_eps)

    def train(
        self,
        steps: int,
        *,
        progress: bool = True,
        eval_every: int | None = None,
        checkpoint_every: int | None = None,
        checkpoint_path: str | os.PathLike | None = None,
    ) -> list[dict[str, float]]:
        """Run `steps` Adam steps on minibatches; return the history of evaluations.

        Parameters
        ----------
        steps : int
            Number of outer steps (>= 0).
        progress : bool
            Show a tqdm bar with the running losses and beta.
        eval_every : int, optional
            Evaluate on `x_val` (or the training data when there is none) every so many
            steps and at the end; each evaluation appends ``{"step", "loss", "L_G", "L_A",
            "beta", "psnr", "rel_error"}`` to `history` (reconstructions by the unrolled inner
            loop from a fixed noise, so evaluations are comparable).
        checkpoint_every : int, optional
            Save to `checkpoint_path` every so many steps and at the end.
        checkpoint_path : path-like, optional
            Stem of the checkpoint files (``.npz`` and ``.json`` are appended).

        Returns
        -------
        list of dict
            `history` (all evaluations so far, including earlier calls).
        """
        steps = check_int(steps, "steps", minimum=0)
        if eval_every is not None:
            eval_every = check_int(eval_every, "eval_every", minimum=1)
        if checkpoint_every is not None:
            checkpoint_every = check_int(checkpoint_every, "checkpoint_every", minimum=1)
            if checkpoint_path is None:
                raise ValueError("checkpoint_every needs checkpoint_path")
        from tqdm.auto import tqdm

        c = self.config
        N = self.x_train.shape[0]
        B = min(c.batch_size, N)
        bar = tqdm(total=steps, disable=not progress, desc=f"{c.method} training", leave=False)
        try:
            for _ in range(steps):
                idx = self.rng.choice(N, size=B, replace=False)
                xi = self.rng.standard_normal((B, c.k))
                value, grad = self._value_and_grad(self.params, self.x_train[idx], xi)
                if not (np.isfinite(value) and np.all(np.isfinite(grad))):
                    raise FloatingPointError(
                        f"non-finite loss or gradient at step {self.step + 1} (loss={value}); "
                        "lower beta0 or lr"
                    )
                self._adam(np.asarray(grad))
                bar.update(1)
                if progress and (self.step % 10 == 0):
                    bar.set_postfix(loss=f"{float(value):.4g}", beta=f"{self.beta:.3g}")
                if eval_every is not None and self.step % eval_every == 0:
                    self.evaluate()
                if checkpoint_every is not None and self.step % checkpoint_every == 0:
                    self.save(checkpoint_path)
        finally:
            bar.close()
        if eval_every is not None and (not self.history or self.history[-1]["step"] != self.step):
            self.evaluate()
        if checkpoint_path is not None:
            self.save(checkpoint_path)
        return self.history

    def evaluate(self, x: np.ndarray | None = None) -> dict[str, float]:
        """Losses and mean reconstruction quality of the unrolled inner loop on held-out data.

        Uses a fixed noise (from the run's evaluation seed), so successive evaluations of the
        same data are comparable, and does not touch the training random stream.

        Parameters
        ----------
        x : array_like, shape (N, n), optional
            Signals (default: `x_val`, or the training data when there is none).

        Returns
        -------
        dict
            ``step, loss, L_G, L_A, beta, psnr, rel_error``; also appended to `history`.
        """
        if x is None:
            x = self.x_val if self.x_val is not None else self.x_train
        x = _check_data(x, "x", self.config.n)
        xi = np.random.default_rng(self.eval_seed).standard_normal((x.shape[0], self.config.k))
        total, L_G, L_A = self.losses(x, xi)
        x_hat = self.unrolled_reconstruction(x @ self.A.T, xi)
        record = {
            "step": self.step,
            "loss": total,
            "L_G": L_G,
            "L_A": L_A,
            "beta": self.beta,
            "psnr": float(np.mean(psnr(x_hat, x))),
            "rel_error": float(np.mean(relative_error(x_hat, x))),
        }
        self.history.append(record)
        return record

    # -- the trained model -----------------------------------------------------------------
    def _current(self) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in _unpack(self.params, self._layout).items()}

    @property
    def A(self) -> np.ndarray:
        """The sensing matrix (learned or fixed), shape (m, n)."""
        return self._current()["A"].copy() if self.config.learn_A else self.fixed["A"].copy()

    @property
    def beta(self) -> float:
        """The latent step size beta (learned or fixed)."""
        if self.config.learn_beta:
            return float(np.exp(self._current()["log_beta"]))
        return self.config.beta0

    def generator(self) -> ReLUGenerator:
        """Export the network as a `ReLUGenerator` (same weights, biases and output)."""
        p = self._current()
        depth = len(self.config.dims) - 1
        return ReLUGenerator(
            [p[f"W{i}"].copy() for i in range(depth)],
            [p[f"b{i}"].copy() for i in range(depth)],
            output=self.config.output,
        )

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) by the trainer's own (autograd.numpy) code, for batches z of shape (B, k)."""
        z = as_float_array(z, "z", ndim=(2,))
        p = self._current()
        depth = len(self.config.dims) - 1
        return np.asarray(
            _forward(
                [p[f"W{i}"] for i in range(depth)],
                [p[f"b{i}"] for i in range(depth)],
                z,
                self.config.output,
            )
        )

    def unrolled_reconstruction(self, y: np.ndarray, xi: np.ndarray) -> np.ndarray:
        r"""The training inner loop at the current parameters: :math:`G(z_T)` from :math:`\xi`.

        Parameters
        ----------
        y : array_like, shape (B, m)
            Measurements.
        xi : array_like, shape (B, k)
            Starting noise (projected by :math:`P_s` for PML).

        Returns
        -------
        ndarray, shape (B, n)
        """
        c = self.config
        y = as_float_array(y, "y", ndim=(2,))
        xi = as_float_array(xi, "xi", ndim=(2,))
        if y.shape[1] != c.m or xi.shape != (y.shape[0], c.k):
            raise ValueError(
                f"y must have shape (B, m={c.m}) and xi shape (B, k={c.k}), "
                f"got {y.shape} and {xi.shape}"
            )
        p = self._current()
        depth = len(c.dims) - 1
        Ws = [p[f"W{i}"] for i in range(depth)]
        bs = [p[f"b{i}"] for i in range(depth)]
        Z0 = _project(xi, c.s) if c.sparse else xi
        ZT = _inner_loop(Ws, bs, self.A, self.beta, y, Z0, c)
        return np.asarray(_forward(Ws, bs, ZT, c.output))

    # -- checkpoints ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``<path>.npz`` (parameters, fixed A, Adam moments) and ``<path>.json``.

        The JSON file holds the configuration, the step, the random generator's state, the
        evaluation seed, the history and fingerprints of the data, so `load` resumes exactly.

        Parameters
        ----------
        path : path-like
            File stem.

        Returns
        -------
        (Path, Path)
            The two files written.
        """
        stem = Path(path)
        stem.parent.mkdir(parents=True, exist_ok=True)
        npz, js = stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")
        arrays = {"params": self.params, "adam_m": self.adam_m, "adam_v": self.adam_v}
        arrays.update({name: arr for name, arr in self._current().items()})
        if not self.config.learn_A:
            arrays["A"] = self.fixed["A"]
        with open(npz, "wb") as fh:
            np.savez(fh, **arrays)
        meta = {
            "version": _CHECKPOINT_VERSION,
            "config": self.config.to_dict(),
            "step": self.step,
            "eval_seed": self.eval_seed,
            "rng": {
                "bit_generator": type(self.rng.bit_generator).__name__,
                "state": self.rng.bit_generator.state,
            },
            "history": self.history,
            "x_train": _fingerprint(self.x_train),
            "x_val": None if self.x_val is None else _fingerprint(self.x_val),
        }
        js.write_text(json.dumps(meta, indent=1))
        return npz, js

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        x_train: np.ndarray,
        *,
        x_val: np.ndarray | None = None,
    ) -> PMLTrainer:
        """Resume a run saved by `save`, with the same data.

        Parameters
        ----------
        path : path-like
            The stem given to `save`.
        x_train, x_val : array_like
            The data of the saved run (checked against its fingerprints).

        Returns
        -------
        PMLTrainer
            In the saved state: continuing it gives the same parameters, bit for bit, as a run
            that was never interrupted.
        """
        stem = Path(path)
        npz, js = stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")
        for f in (npz, js):
            if not f.is_file():
                raise FileNotFoundError(f"checkpoint file {f} not found")
        meta = json.loads(js.read_text())
        if meta.get("version") != _CHECKPOINT_VERSION:
            raise ValueError(f"{js}: unsupported checkpoint version {meta.get('version')!r}")
        cfg = dict(meta["config"])
        cfg["widths"] = tuple(cfg["widths"])
        config = PMLConfig(**cfg)
        x_train = _check_data(x_train, "x_train", config.n)
        if _fingerprint(x_train) != meta["x_train"]:
            raise ValueError(f"x_train differs from the training data of checkpoint {js}")
        if x_val is not None:
            x_val = _check_data(x_val, "x_val", config.n)
            if meta["x_val"] is not None and _fingerprint(x_val) != meta["x_val"]:
                raise ValueError(f"x_val differs from the validation data of checkpoint {js}")
        bitgen = getattr(np.random, meta["rng"]["bit_generator"])()
        bitgen.state = meta["rng"]["state"]
        self = cls.__new__(cls)
        self.config = config
        self.x_train = x_train
        self.x_val = x_val
        self.rng = np.random.Generator(bitgen)
        self._layout = _layout(config)
        with np.load(npz) as data:
            self.params = np.array(data["params"])
            self.adam_m = np.array(data["adam_m"])
            self.adam_v = np.array(data["adam_v"])
            self.fixed = {} if config.learn_A else {"A": np.array(data["A"])}
        self.eval_seed = int(meta["eval_seed"])
        self.step = int(meta["step"])
        self.history = list(meta["history"])
        self._value_and_grad = value_and_grad(self._objective)
        return self


# --------------------------------------------------------------------- reconstruction
def reconstruct(
    G: ReLUGenerator,
    A: np.ndarray,
    y: np.ndarray,
    *,
    s: int | None = None,
    solver: str = "iht",
    steps: int = 5,
    step: float | str = "auto",
    restarts: int = 1,
    z0: np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Reconstruct a batch of signals from measurements with a (trained) generator.

    Row by row, runs `latent_iht` (SDLSS), `latent_niht`, or `latent_gd` (dense: DCS / CSGM)
    for exactly `steps` iterations (``tol=0``) and keeps the best of `restarts` starts.

    With ``steps = T``, ``step = beta`` (the learned step) and the same starting noise this is
    the training inner loop of `PMLTrainer` (the library projects the start by
    :math:`P_s` first, as the trainer does). Larger `steps`, ``step="auto"`` and several
    restarts give the CSGM-style reconstruction of Bora et al.

    Parameters
    ----------
    G : ReLUGenerator
        The generator (e.g. `PMLTrainer.generator`).
    A : array_like, shape (m, n)
        The sensing matrix.
    y : array_like, shape (B, m)
        Measurements, one row per signal.
    s : int, optional
        Sparsity for ``"iht"`` / ``"niht"`` (required there; unused by ``"gd"``).
    solver : {"iht", "niht", "gd"}
        The latent solver.
    steps : int
        Iterations per restart.
    step : float or "auto"
        Step size for ``"iht"`` and ``"gd"`` (see `LatentIHT`); ``"niht"`` chooses its own.
    restarts : int
        Starts per signal; the one with the smallest residual is kept.
    z0 : array_like, shape (B, k), optional
        The first start of each signal (the remaining restarts are drawn from `rng`).
    rng : numpy.random.Generator, optional
        Needed when starts must be drawn.

    Returns
    -------
    x_hat : ndarray, shape (B, n)
    z_hat : ndarray, shape (B, k)
    """
    from sdlss_theory.solvers import latent_gd, latent_iht, latent_niht

    if solver not in _SOLVERS:
        raise ValueError(f"solver must be one of {_SOLVERS}, got {solver!r}")
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    y = as_float_array(y, "y", ndim=(2,))
    steps = check_int(steps, "steps", minimum=1)
    if solver != "gd" and s is None:
        raise ValueError(f"solver={solver!r} needs the sparsity s")
    if z0 is not None:
        z0 = as_float_array(z0, "z0", ndim=(2,))
        if z0.shape != (y.shape[0], G.k):
            raise ValueError(f"z0 must have shape {(y.shape[0], G.k)}, got {z0.shape}")
    x_hat = np.empty((y.shape[0], G.n))
    z_hat = np.empty((y.shape[0], G.k))
    for i in range(y.shape[0]):
        start = None if z0 is None else z0[i]
        common = dict(max_iter=steps, tol=0.0, restarts=restarts, z0=start, rng=rng)
        if solver == "iht":
            res = latent_iht(G, A, y[i], s, step=step, **common)
        elif solver == "niht":
            res = latent_niht(G, A, y[i], s, **common)
        else:
            res = latent_gd(G, A, y[i], step=step, **common)
        x_hat[i], z_hat[i] = res.x, res.z
    return x_hat, z_hat


# --------------------------------------------------------------------------- metrics
def _pair(x_hat, x) -> tuple[np.ndarray, np.ndarray]:
    x_hat = as_float_array(x_hat, "x_hat", ndim=(1, 2))
    x = as_float_array(x, "x", ndim=(1, 2))
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {x_hat.shape} and {x.shape}")
    return x_hat, x


def mse(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray | float:
    r"""Per-pixel mean squared error :math:`\tfrac1n \lVert \hat x - x \rVert^2` of each row.

    Parameters
    ----------
    x_hat, x : array_like, shape (n,) or (B, n)

    Returns
    -------
    float or ndarray of shape (B,)
    """
    x_hat, x = _pair(x_hat, x)
    out = np.mean((x_hat - x) ** 2, axis=-1)
    return float(out) if out.ndim == 0 else out


def psnr(x_hat: np.ndarray, x: np.ndarray, data_range: float = 1.0) -> np.ndarray | float:
    r"""Peak signal-to-noise ratio :math:`10 \log_{10}(R^2 / \mathrm{MSE})` in dB, per row.

    Parameters
    ----------
    x_hat, x : array_like, shape (n,) or (B, n)
    data_range : float
        R, the peak-to-peak range of the signals (1 for images in [0, 1]).

    Returns
    -------
    float or ndarray of shape (B,)
        ``inf`` for an exact reconstruction.
    """
    data_range = check_positive_float(data_range, "data_range")
    err = np.asarray(mse(x_hat, x))
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(data_range**2 / err)
    return float(out) if out.ndim == 0 else out


def relative_error(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray | float:
    r"""Relative error :math:`\lVert \hat x - x\rVert_2 / \lVert x \rVert_2` of each row.

    Parameters
    ----------
    x_hat, x : array_like, shape (n,) or (B, n)

    Returns
    -------
    float or ndarray of shape (B,)
        ``inf`` (or ``nan`` for 0/0) where x = 0.
    """
    x_hat, x = _pair(x_hat, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.linalg.norm(x_hat - x, axis=-1) / np.linalg.norm(x, axis=-1)
    return float(out) if out.ndim == 0 else out
