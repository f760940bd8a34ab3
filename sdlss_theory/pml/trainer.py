"""`PMLTrainer`: Adam on the PML / DCS outer loss, evaluation, export and checkpoints.

The divergence guard is in :mod:`.guard`, the checkpoint files in :mod:`.checkpoint`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sdlss_theory._validation import as_float_array, check_int, check_rng
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.pml import checkpoint
from sdlss_theory.pml.config import PMLConfig
from sdlss_theory.pml.guard import DivergenceGuard, TrainingDiverged
from sdlss_theory.pml.metrics import psnr, relative_error
from sdlss_theory.pml.network import (
    generator_output,
    init_params,
    inner_loop,
    outer_loss,
    output_bias_for,
    param_shapes,
    step_sizes,
    support_mask,
)
from sdlss_theory.pml.schedule import TrainSchedule

__all__ = ["PMLTrainer", "TrainingDiverged"]


def _check_data(x, name: str, n: int, dtype: np.dtype | None = None) -> np.ndarray:
    """`x` as a finite (N, n) array, N >= 1, rounded to `dtype` (float64 by default)."""
    arr = as_float_array(x, name, ndim=(2,))
    if arr.shape[1] != n or arr.shape[0] < 1:
        raise ValueError(f"{name} must have shape (N, n={n}) with N >= 1, got {arr.shape}")
    return arr if dtype is None else arr.astype(dtype, copy=False)


class PMLTrainer:
    r"""Train a generator by PML (sparse latent IHT steps) or DCS (dense gradient steps).

    Parameters
    ----------
    config : PMLConfig
        The architecture, the inner loop, the loss and the optimiser.
    x_train : array_like, shape (N, n)
        Training signals (finite).
    rng : numpy.random.Generator or int
        Source of every random draw of the run, in this order: the initial weights, A, the
        seed of the evaluation noise, the persistent codes' starts (``start="persistent"``),
        then per step the minibatch and the starting noise :math:`\xi` (random starts). Its
        state is saved in checkpoints, so a resumed run continues the same stream.
    x_val : array_like, shape (N_val, n), optional
        Held-out signals for the periodic evaluation in `train`.
    A : array_like, shape (m, n), optional
        The sensing matrix (fixed, or the start of a learned one) instead of the Gaussian
        N(0, 1/m) draw (which is still drawn, so the random stream is the same).

    Attributes
    ----------
    params : dict of ndarray
        The learned parameters: ``W0, b0, ..., W{d-1}, b{d-1}``, ``A`` when learned,
        ``log_beta`` when learned (shape () or (T,)).
    codes : ndarray, shape (N, k), or None
        The persistent codes (``start="persistent"``).
    guard : DivergenceGuard
        The divergence guard's state (`lr_scale` and `events` read it).
    best_step : int or None
        The step of the best evaluation restored by ``train(keep_best=...)``.

    Notes
    -----
    One step of `train`: draw a minibatch (``rng.choice`` without replacement) and its starts
    (:math:`\xi \sim \mathcal N(0, I)` of shape (B, k), or the stored codes), evaluate the
    outer loss and its gradient with respect to every parameter through the T unrolled steps
    (the hand-derived reverse sweep of `sdlss_theory.pml.network`), then take one Adam
    step [1]_ per parameter array, in place:

    .. math::

        m \leftarrow b_1 m + (1-b_1) g, \quad v \leftarrow b_2 v + (1-b_2) g^2, \quad
        \theta \leftarrow \theta - \eta_t \frac{\sqrt{1-b_2^t}}{1-b_1^t}\,
        \frac{m}{\sqrt v + \epsilon\sqrt{1-b_2^t}},

    which is Adam's bias-corrected update :math:`\eta_t \hat m / (\sqrt{\hat v} + \epsilon)`
    rearranged. Without a guard, a non-finite loss or gradient stops training with
    `FloatingPointError` and leaves the parameters of the last finite step; with
    ``config.divergence_ratio`` the divergence guard backs off instead (`DivergenceGuard`) and
    raises `TrainingDiverged` after `MAX_BACKOFFS` back-offs. With ``config.clip_norm`` the
    gradient is rescaled to that global norm before the Adam step.

    With ``config.dtype = "float32"`` the data, A, the parameters, Adam's moments, the
    persistent codes and the whole step are single precision (the random draws are made in
    float64 and rounded, so the stream is the same in both precisions); `generator` still
    exports float64 weights.

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
        rng: np.random.Generator | int,
        x_val: np.ndarray | None = None,
        A: np.ndarray | None = None,
    ) -> None:
        if not isinstance(config, PMLConfig):
            raise TypeError(f"config must be a PMLConfig, got {type(config).__name__}")
        self.config = config
        dtype = config.np_dtype
        self.x_train = _check_data(x_train, "x_train", config.n, dtype)
        self.x_val = None if x_val is None else _check_data(x_val, "x_val", config.n, dtype)
        self.rng = check_rng(rng)
        self.params, A_drawn = init_params(config, self.rng)
        if config.output_bias == "data_mean":
            self.params[f"b{len(config.dims) - 2}"] = output_bias_for(
                self.x_train.mean(axis=0, dtype=np.float64), config.output
            ).astype(dtype)
        if A is not None:
            A = as_float_array(A, "A", ndim=(2,)).astype(dtype, copy=False)
            if A.shape != (config.m, config.n):
                raise ValueError(f"A must have shape {(config.m, config.n)}, got {A.shape}")
            A_drawn = A.copy()
            if config.learn_A:
                self.params["A"] = A.copy()
        self._fixed_A = None if config.learn_A else A_drawn
        self.eval_seed = int(self.rng.integers(2**63 - 1))
        self.codes = None
        if config.start == "persistent":
            self.codes = self.rng.standard_normal((self.x_train.shape[0], config.k))
            self.codes = self.codes.astype(dtype, copy=False)
        self.adam_m = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.adam_v = {name: np.zeros_like(p) for name, p in self.params.items()}
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.guard = DivergenceGuard(config.divergence_ratio)
        self.best_step: int | None = None
        self._loss_sum, self._loss_count = 0.0, 0

    @property
    def lr_scale(self) -> float:
        """The factor of the learning rate the divergence guard has left (1: no back-off)."""
        return self.guard.lr_scale

    @property
    def events(self) -> list[dict]:
        """The divergence guard's back-offs (`DivergenceGuard`), oldest first."""
        return self.guard.events

    # -- the objective -------------------------------------------------------------------
    def _A(self, params: dict) -> np.ndarray:
        return params["A"] if self.config.learn_A else self._fixed_A

    def _check_inputs(self, x, xi, params) -> tuple[dict, np.ndarray, np.ndarray]:
        dtype = self.config.np_dtype
        x = _check_data(x, "x", self.config.n, dtype)
        xi = as_float_array(xi, "xi", ndim=(2,)).astype(dtype, copy=False)
        if xi.shape != (x.shape[0], self.config.k):
            raise ValueError(f"xi must have shape {(x.shape[0], self.config.k)}, got {xi.shape}")
        if params is None:
            return self.params, x, xi
        shapes = param_shapes(self.config)
        if not isinstance(params, dict) or set(params) != set(shapes):
            raise ValueError(f"params must be a dict with the keys {sorted(shapes)}")
        checked = {}
        for name, shape in shapes.items():
            arr = np.asarray(params[name], dtype=dtype)
            if arr.shape != shape:
                raise ValueError(f"params[{name!r}] must have shape {shape}, got {arr.shape}")
            checked[name] = arr
        return checked, x, xi

    def losses(self, x: np.ndarray, xi: np.ndarray, params: dict | None = None) -> dict:
        r"""The loss terms on signals `x` with starts `xi`.

        Parameters
        ----------
        x : array_like, shape (B, n)
            Signals.
        xi : array_like, shape (B, k)
            The starts; the inner loop starts at :math:`P_s(\xi)` (PML) or :math:`\xi` (DCS).
        params : dict, optional
            Parameters (default: the current ones), shaped as `params`.

        All three are rounded to ``config.dtype`` and the loss is computed in it.

        Returns
        -------
        dict
            ``loss`` (the total), ``L_G``, ``L_A``, ``L_X``.
        """
        p, x, xi = self._check_inputs(x, xi, params)
        return outer_loss(p, self._A(p), x, xi, self.config, need_grad=False)[0]

    def gradient(
        self, x: np.ndarray, xi: np.ndarray, params: dict | None = None
    ) -> tuple[float, dict[str, np.ndarray]]:
        """The total loss and its gradient, one array per parameter.

        Parameters
        ----------
        x, xi, params
            As in `losses`.

        Returns
        -------
        value : float
        grads : dict of ndarray
            Keyed and shaped as `params`.
        """
        p, x, xi = self._check_inputs(x, xi, params)
        losses, grads, _ = outer_loss(p, self._A(p), x, xi, self.config)
        return losses["loss"], grads

    # -- training ------------------------------------------------------------------------
    def _minibatch_step(self, N: int, B: int) -> tuple[float, dict, np.ndarray, np.ndarray]:
        """Draw a minibatch and its starts; return the loss, gradient, indices and z_T."""
        c = self.config
        idx = self.rng.choice(N, size=B, replace=False)
        if self.codes is None:
            # Drawn in float64 whatever the dtype: the same stream in both precisions.
            xi = self.rng.standard_normal((B, c.k)).astype(c.np_dtype, copy=False)
        else:
            xi = self.codes[idx]
        losses, grads, ZT = outer_loss(
            self.params, self._A(self.params), self.x_train[idx], xi, c,
            s=c.sparsity(self.step),
        )  # fmt: skip
        return losses["loss"], grads, idx, ZT

    def _guarded_step(self, N: int, B: int) -> float | None:
        """One training step under the divergence guard (`PMLConfig.divergence_ratio`).

        Returns the minibatch loss, or None when the step diverged and the guard backed off.
        """
        c = self.config
        value, grads, idx, ZT = self._minibatch_step(N, B)
        finite = np.isfinite(value) and all(np.all(np.isfinite(g)) for g in grads.values())
        if not self.guard.admits(self.step, value, finite, self._state_copy):
            self.guard.back_off(self.step, value, self._restore)
            return None
        if c.clip_norm is not None:
            norm = math.sqrt(sum(float(np.vdot(g, g)) for g in grads.values()))
            if norm > c.clip_norm:
                grads = {k: g * (c.clip_norm / norm) for k, g in grads.items()}
        if self.codes is not None:
            self.codes[idx] = ZT
        self._adam(grads)
        return float(value)

    def _state_copy(self) -> dict:
        """What a back-off restores: parameters, Adam moments, codes and the step."""
        return {
            "step": self.step,
            "params": {k: v.copy() for k, v in self.params.items()},
            "adam_m": {k: v.copy() for k, v in self.adam_m.items()},
            "adam_v": {k: v.copy() for k, v in self.adam_v.items()},
            "codes": None if self.codes is None else self.codes.copy(),
        }

    def _restore(self, snap: dict) -> None:
        """Return to a state of `_state_copy` (copying it: the snapshot stays intact)."""
        self.step = snap["step"]
        self.params = {k: v.copy() for k, v in snap["params"].items()}
        self.adam_m = {k: v.copy() for k, v in snap["adam_m"].items()}
        self.adam_v = {k: v.copy() for k, v in snap["adam_v"].items()}
        self.codes = None if snap["codes"] is None else snap["codes"].copy()

    def _adam(self, grads: dict[str, np.ndarray]) -> None:
        c = self.config
        lr = c.learning_rate(self.step) * self.lr_scale
        self.step += 1
        corr2 = math.sqrt(1.0 - c.adam_b2**self.step)
        lr_t = lr * corr2 / (1.0 - c.adam_b1**self.step)
        eps_t = c.adam_eps * corr2
        for name, g in grads.items():
            m, v, p = self.adam_m[name], self.adam_v[name], self.params[name]
            m *= c.adam_b1
            m += (1.0 - c.adam_b1) * g
            v *= c.adam_b2
            v += (1.0 - c.adam_b2) * (g * g)
            p -= lr_t * m / (np.sqrt(v) + eps_t)

    def train(
        self,
        steps: int,
        *,
        progress: bool = True,
        eval_every: int | None = None,
        checkpoint_every: int | None = None,
        checkpoint_path: str | os.PathLike | None = None,
        checkpoint_seconds: float | None = None,
        evaluation: Callable[[PMLTrainer], dict[str, float]] | None = None,
        keep_best: str | None = None,
    ) -> list[dict[str, float]]:
        """Run `steps` Adam steps on minibatches; return the history of evaluations.

        Parameters
        ----------
        steps : int
            Number of outer steps (>= 0).
        progress : bool
            Show a tqdm bar with the running loss and beta.
        eval_every : int, optional
            Evaluate every so many steps and at the end: `evaluate` (and `evaluation`, if
            given) appends a record to `history`.
        checkpoint_every : int, optional
            Save to `checkpoint_path` every so many steps and at the end.
        checkpoint_path : path-like, optional
            Stem of the checkpoint files (``.npz`` and ``.json`` are appended). With a path,
            the state at the end of the call is always saved.
        checkpoint_seconds : float, optional
            Also save to `checkpoint_path` after the first step that ends at least this
            many seconds of wall time after the previous save (or the start of the call):
            a long run that is killed loses at most about that much work. Saving never
            changes the run's numbers.
        evaluation : callable, optional
            ``evaluation(trainer) -> dict`` of extra numbers merged into each evaluation
            record (e.g. the held-out error of a stronger reconstruction). It must not draw
            from ``trainer.rng``.
        keep_best : str, optional
            Early stopping: the key of an evaluation record to minimise (e.g. ``"L_G"`` or a
            key of `evaluation`). The parameters at the evaluation with its smallest value
            are restored when the call ends (the optimiser's state, the codes and the random
            stream stay at the last step), and `best_step` records that evaluation's step.
            Needs `eval_every`.

        Returns
        -------
        list of dict
            `history` (all evaluations so far, including earlier calls).
        """
        steps = check_int(steps, "steps", minimum=0)
        plan = TrainSchedule.checked(
            eval_every, checkpoint_every, checkpoint_path, checkpoint_seconds, evaluation,
            keep_best,
        )  # fmt: skip
        from tqdm.auto import tqdm

        c = self.config
        N = self.x_train.shape[0]
        B = min(c.batch_size, N)
        bar = tqdm(total=steps, disable=not progress, desc=f"{c.method} training", leave=False)
        self._loss_sum, self._loss_count = 0.0, 0
        target = self.step + steps
        try:
            # A back-off returns to an earlier step: train until the target step is reached.
            while self.step < target:
                value = self._guarded_step(N, B)
                if value is not None:
                    self._after_step(value, plan, bar if progress else None)
        finally:
            bar.close()
        if plan.eval_every is not None and (
            not self.history or self.history[-1]["step"] != self.step
        ):
            plan.consider(self.evaluate(evaluation=plan.evaluation), self)
        if plan.best is not None:
            self.params = plan.best[2]
            self.best_step = plan.best[1]
        if checkpoint_path is not None:
            self.save(checkpoint_path)
        return self.history

    def _after_step(self, value: float, plan: TrainSchedule, bar) -> None:
        """The bookkeeping after an accepted step: running loss, bar, evaluation, checkpoint."""
        self._loss_sum += value
        self._loss_count += 1
        if bar is not None:
            bar.update(1)
            if self.step % 10 == 0:
                bar.set_postfix(loss=f"{value:.4g}", beta=f"{self.beta:.3g}")
        if plan.eval_every is not None and self.step % plan.eval_every == 0:
            plan.consider(self.evaluate(evaluation=plan.evaluation), self)
        if plan.save_due(self.step):
            self.save(plan.checkpoint_path)
            plan.saved()

    def evaluate(
        self,
        x: np.ndarray | None = None,
        *,
        evaluation: Callable[[PMLTrainer], dict[str, float]] | None = None,
    ) -> dict[str, float]:
        """Losses and mean reconstruction quality of the unrolled inner loop on held-out data.

        Uses a fixed noise (from the run's evaluation seed), so successive evaluations of the
        same data are comparable, and does not touch the training random stream.

        Parameters
        ----------
        x : array_like, shape (N, n), optional
            Signals (default: `x_val`, or the training data when there is none).
        evaluation : callable, optional
            As in `train`.

        Returns
        -------
        dict
            ``step, loss, L_G, L_A, L_X`` (held out), ``train_loss`` (the mean minibatch loss
            since the previous evaluation of this `train` call; NaN outside one), ``beta,
            psnr, rel_error`` and the numbers of `evaluation`; also appended to `history`.
        """
        if x is None:
            x = self.x_val if self.x_val is not None else self.x_train
        x = _check_data(x, "x", self.config.n, self.config.np_dtype)
        xi = np.random.default_rng(self.eval_seed).standard_normal((x.shape[0], self.config.k))
        losses = self.losses(x, xi)
        x_hat = self.unrolled_reconstruction(x @ self.A.T, xi)
        record = {"step": self.step, **{k: float(v) for k, v in losses.items()}}
        count = self._loss_count
        record["train_loss"] = self._loss_sum / count if count else float("nan")
        self._loss_sum, self._loss_count = 0.0, 0
        record["beta"] = self.beta
        record["psnr"] = float(np.mean(psnr(x_hat, x)))
        record["rel_error"] = float(np.mean(relative_error(x_hat, x)))
        if evaluation is not None:
            record.update({k: float(v) for k, v in evaluation(self).items()})
        self.history.append(record)
        return record

    # -- the trained model -----------------------------------------------------------------
    @property
    def A(self) -> np.ndarray:
        """The sensing matrix (learned or fixed), shape (m, n)."""
        return self._A(self.params).copy()

    @property
    def betas(self) -> np.ndarray:
        """The T latent step sizes (all equal unless ``beta_per_step``)."""
        return step_sizes(self.params, self.config)

    @property
    def beta(self) -> float:
        """The latent step size beta (the mean of `betas` when there is one per step)."""
        return float(np.mean(self.betas))

    def generator(self) -> ReLUGenerator:
        """Export the network as a `ReLUGenerator` (same weights, biases and output)."""
        depth = len(self.config.dims) - 1
        return ReLUGenerator(
            [self.params[f"W{i}"].copy() for i in range(depth)],
            [self.params[f"b{i}"].copy() for i in range(depth)],
            output=self.config.output,
        )

    def forward(self, z: np.ndarray) -> np.ndarray:
        """G(z) by the trainer's own code, for batches z of shape (B, k)."""
        z = as_float_array(z, "z", ndim=(2,)).astype(self.config.np_dtype, copy=False)
        return generator_output(self.params, z, self.config.output)

    def unrolled_reconstruction(self, y: np.ndarray, xi: np.ndarray) -> np.ndarray:
        r"""The training inner loop at the current parameters: :math:`G(z_T)` from :math:`\xi`.

        Parameters
        ----------
        y : array_like, shape (B, m)
            Measurements.
        xi : array_like, shape (B, k)
            Starts (projected by :math:`P_s` for PML).

        Returns
        -------
        ndarray, shape (B, n)
        """
        c = self.config
        y = as_float_array(y, "y", ndim=(2,)).astype(c.np_dtype, copy=False)
        xi = as_float_array(xi, "xi", ndim=(2,)).astype(c.np_dtype, copy=False)
        if y.shape[1] != c.m or xi.shape != (y.shape[0], c.k):
            raise ValueError(
                f"y must have shape (B, m={c.m}) and xi shape (B, k={c.k}), "
                f"got {y.shape} and {xi.shape}"
            )
        ZT = inner_loop(self.params, self._A(self.params), y, xi, c)
        return generator_output(self.params, ZT, c.output)

    def sparse_codes(self) -> np.ndarray | None:
        """The persistent codes projected by :math:`P_s` (None for random starts)."""
        if self.codes is None:
            return None
        c = self.config
        return self.codes * support_mask(self.codes, c.s) if c.sparse else self.codes.copy()

    # -- checkpoints ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``<path>.npz`` (parameters, fixed A, Adam moments, codes) and ``<path>.json``.

        The JSON file holds the configuration, the step, the random generator's state, the
        evaluation seed, the history and fingerprints of the data, so `load` resumes exactly.
        Arrays keep their dtype (``config.dtype``). Each file is written to a temporary
        name and renamed over the old one, so a process killed while saving leaves the
        previous checkpoint readable (or, killed between the two renames, a pair whose
        steps differ, which `load` refuses).

        Parameters
        ----------
        path : path-like
            File stem.

        Returns
        -------
        (Path, Path)
            The two files written.
        """
        return checkpoint.write(path, *checkpoint.state_of(self))

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
        meta, config, arrays = checkpoint.read(path)
        js = checkpoint.checkpoint_files(path)[1]
        x_train = _check_data(x_train, "x_train", config.n, config.np_dtype)
        checkpoint.check_fingerprint(x_train, meta["x_train"], "x_train", js)
        if x_val is not None:
            x_val = _check_data(x_val, "x_val", config.n, config.np_dtype)
            checkpoint.check_fingerprint(x_val, meta["x_val"], "x_val", js)
        bitgen = getattr(np.random, meta["rng"]["bit_generator"])()
        bitgen.state = meta["rng"]["state"]
        # Built by the constructor (so every attribute exists), then set to the saved state:
        # the generator's draws at construction are discarded with its state.
        self = cls(config, x_train, rng=np.random.Generator(bitgen), x_val=x_val,
                   A=arrays.get("fixed_A", arrays.get("param/A")))  # fmt: skip
        checkpoint.set_state(self, meta, arrays)
        return self
