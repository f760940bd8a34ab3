"""`PMLTrainer`: Adam on the PML / DCS outer loss, evaluation, export and checkpoints."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
from autograd import value_and_grad

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pml.config import PMLConfig
from sdlss_theory.pml.metrics import psnr, relative_error
from sdlss_theory.pml.model import (
    _forward,
    _inner_loop,
    _layout,
    _losses,
    _project,
    _unpack,
    _weights,
)

_CHECKPOINT_VERSION = 1


def _check_data(x, name: str, n: int) -> np.ndarray:
    arr = as_float_array(x, name, ndim=(2,))
    if arr.shape[1] != n or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, n={n}) with N >= 1, got {arr.shape}")
    return arr


def _checkpoint_files(path: str | os.PathLike) -> tuple[Path, Path]:
    """``<path>.npz`` and ``<path>.json``: the two files of a checkpoint."""
    stem = Path(path)
    return stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")


def _fingerprint(x: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(x, dtype=np.float64).tobytes()).hexdigest()[:16]


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
        flat, x, xi = self._check_inputs(x, xi, params)
        return tuple(float(v) for v in _losses(flat, self._layout, self.fixed, x, xi, self.config))

    def _check_inputs(self, x, xi, params) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        x = _check_data(x, "x", self.config.n)
        xi = as_float_array(xi, "xi", ndim=(2,))
        if xi.shape != (x.shape[0], self.config.k):
            raise ValueError(f"xi must have shape {(x.shape[0], self.config.k)}, got {xi.shape}")
        flat = self.params if params is None else as_float_array(params, "params", ndim=(1,))
        if flat.shape != self.params.shape:
            raise ValueError(f"params must have shape {self.params.shape}, got {flat.shape}")
        return flat, x, xi

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
        flat, x, xi = self._check_inputs(x, xi, params)
        value, grad = self._value_and_grad(flat, x, xi)
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
        Ws, bs = _weights(self._current(), self.config)
        return ReLUGenerator(
            [W.copy() for W in Ws], [b.copy() for b in bs], output=self.config.output
        )

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) by the trainer's own (autograd.numpy) code, for batches z of shape (B, k)."""
        z = as_float_array(z, "z", ndim=(2,))
        Ws, bs = _weights(self._current(), self.config)
        return np.asarray(_forward(Ws, bs, z, self.config.output))

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
        Ws, bs = _weights(self._current(), c)
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
        npz, js = _checkpoint_files(path)
        npz.parent.mkdir(parents=True, exist_ok=True)
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
        npz, js = _checkpoint_files(path)
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
