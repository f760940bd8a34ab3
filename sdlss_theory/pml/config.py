"""`PMLConfig`: everything that defines a PML or DCS training run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.activations import OUTPUTS

_METHODS = ("pml", "dcs")
_STARTS = ("random", "persistent")
_SREC_FORMS = ("square", "hinge")
_INITS = ("he", "hand")
_DTYPES = ("float64", "float32")


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
    output : {"linear", "sigmoid", "tanh"}
        The output activation, one of `sdlss_theory.activations.OUTPUTS` (sigmoid for images
        in [0, 1]).
    T : int
        Unrolled latent steps per example (>= 1).
    beta0 : float
        Initial latent step size beta (> 0).
    learn_beta : bool
        Learn :math:`\log \beta` (True) or keep beta = beta0.
    beta_per_step : bool
        One learned step :math:`\beta_t` per unrolled step t (all start at beta0) instead of
        one shared beta; needs ``learn_beta``.
    learn_A : bool
        Learn A (DCS-style, initialised Gaussian) or keep the initial Gaussian A fixed.
    lam : float
        Weight lambda of the RIP / S-REC loss L_A (>= 0).
    srec_gamma, srec_delta : float
        gamma > 0 and delta >= 0 of the pair residual
        :math:`t(x_1, x_2) = \lVert A(x_1-x_2)\rVert + \delta - \gamma\lVert x_1-x_2\rVert`;
        must be 1 and 0 (DCS's RIP loss) for ``"dcs"``.
    srec_form : {"square", "hinge"}
        The penalty on t: ``"square"``, :math:`t^2` (DCS's two-sided RIP loss), or
        ``"hinge"``, :math:`\min(t, 0)^2` (only violations of the S-REC inequality
        :math:`t \ge 0` are penalised); ``"dcs"`` needs ``"square"``.
    signal_weight : float
        Weight mu of a signal-domain term :math:`\mu\,\tfrac1B\sum_b \lVert G(z_T) - x_b
        \rVert^2` (>= 0). It uses the clean training signals, which Algorithm 1 does not;
        0 (the default) is Algorithm 1.
    s_initial : int or None
        With a value (s <= s_initial <= k), the sparsity of the inner loop starts at
        ``s_initial`` and falls geometrically to s over ``s_anneal_steps`` outer steps
        (`sparsity`), then stays at s: a curriculum from nearly dense codes to s-sparse
        ones. None: s throughout (Algorithm 1).
    s_anneal_steps : int
        Length of the sparsity schedule (needed with ``s_initial``).
    start : {"random", "persistent"}
        The inner loop's start: ``"random"``, :math:`z_0 = P_s(\xi)` with fresh
        :math:`\xi \sim \mathcal N(0, I)` at every step (Algorithm 1, DCS); ``"persistent"``,
        one stored code per training signal, started at :math:`P_s(\xi)` and replaced by its
        :math:`z_T` whenever the signal is in a minibatch (warm starts).
    lr : float
        Adam learning rate.
    lr_final : float or None
        With a value, the learning rate follows a cosine from ``lr`` at step 0 to
        ``lr_final`` at step ``anneal_steps`` and stays there; None: constant.
    anneal_steps : int
        Length of the cosine schedule (needed with ``lr_final``).
    batch_size : int
        Minibatch size (examples drawn without replacement within a batch).
    adam_b1, adam_b2, adam_eps : float
        Adam's constants [1]_.
    init : {"he", "hand"}
        Weight initialisation, as `ReLUGenerator.random` (biases start at zero).
    dtype : {"float64", "float32"}
        The precision of training: the parameters, Adam's moments, the data, A and every
        intermediate of the forward and reverse sweeps. ``"float32"`` roughly halves the
        time of a step at the MNIST size (docs/benchmarks.md) and agrees with float64 to
        single-precision rounding (the gradient to about 1e-4 of each array's largest
        entry on a fresh network; the tests state the tolerance). The random draws are
        made in float64 and rounded, so both precisions see the same minibatches and
        starts. The exported `ReLUGenerator` and every reconstruction stay float64.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: a method for stochastic optimization", ICLR 2015.
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
    beta_per_step: bool = False
    learn_A: bool = False
    lam: float = 1.0
    srec_gamma: float = 1.0
    srec_delta: float = 0.0
    srec_form: str = "square"
    signal_weight: float = 0.0
    s_initial: int | None = None
    s_anneal_steps: int = 0
    start: str = "random"
    lr: float = 1e-3
    lr_final: float | None = None
    anneal_steps: int = 0
    batch_size: int = 32
    adam_b1: float = 0.9
    adam_b2: float = 0.999
    adam_eps: float = 1e-8
    init: str = "he"
    dtype: str = "float64"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("k", "n", "m", "T", "batch_size"):
            set_(self, name, check_int(getattr(self, name), name, minimum=1))
        for name in ("anneal_steps", "s_anneal_steps"):
            set_(self, name, check_int(getattr(self, name), name, minimum=0))
        if isinstance(self.widths, (str, bytes)) or not isinstance(self.widths, Sequence):
            raise TypeError(f"widths must be a sequence of ints, got {self.widths!r}")
        set_(
            self,
            "widths",
            tuple(check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(self.widths)),
        )
        for name, allowed in (
            ("method", _METHODS),
            ("output", OUTPUTS),
            ("init", _INITS),
            ("start", _STARTS),
            ("srec_form", _SREC_FORMS),
            ("dtype", _DTYPES),
        ):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
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
        for name in ("lam", "srec_delta", "signal_weight"):
            set_(self, name, check_positive_float(getattr(self, name), name, allow_zero=True))
        for name in ("adam_b1", "adam_b2"):
            value = check_positive_float(getattr(self, name), name, allow_zero=True)
            if value >= 1:
                raise ValueError(f"{name} must lie in [0, 1), got {value}")
            set_(self, name, value)
        for name in ("learn_beta", "learn_A", "beta_per_step"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise TypeError(f"{name} must be a bool, got {getattr(self, name)!r}")
            set_(self, name, bool(getattr(self, name)))
        if self.s_initial is not None:
            s0 = check_int(self.s_initial, "s_initial", minimum=1)
            if not self.s <= s0 <= self.k or self.method != "pml":
                raise ValueError(
                    f"s_initial must lie in [s={self.s}, k={self.k}] (method 'pml'), got {s0}"
                )
            if self.s_anneal_steps < 1:
                raise ValueError("s_initial needs s_anneal_steps >= 1 (the schedule's length)")
            set_(self, "s_initial", s0)
        if self.beta_per_step and not self.learn_beta:
            raise ValueError("beta_per_step needs learn_beta=True")
        if self.lr_final is not None:
            set_(self, "lr_final", check_positive_float(self.lr_final, "lr_final"))
            if self.anneal_steps < 1:
                raise ValueError("lr_final needs anneal_steps >= 1 (the schedule's length)")
        if self.method == "dcs" and (
            self.srec_gamma != 1.0 or self.srec_delta != 0.0 or self.srec_form != "square"
        ):
            raise ValueError(
                "method='dcs' uses DCS's RIP loss: srec_gamma must be 1, srec_delta 0 and "
                "srec_form 'square'"
            )

    @property
    def dims(self) -> tuple[int, ...]:
        """``(k, *widths, n)``."""
        return (self.k, *self.widths, self.n)

    @property
    def np_dtype(self) -> np.dtype:
        """``numpy.dtype(self.dtype)``: the precision of training."""
        return np.dtype(self.dtype)

    @property
    def sparse(self) -> bool:
        """Whether the inner loop applies :math:`P_s` (``method="pml"`` with s < k)."""
        return self.method == "pml" and self.s < self.k

    def sparsity(self, step: int) -> int:
        r"""The inner loop's sparsity at outer step ``step`` (0-based).

        s, or with ``s_initial`` the geometric schedule
        :math:`s_t = \mathrm{round}(s_0 (s / s_0)^{\min(t, S)/S})`, S = ``s_anneal_steps``.
        """
        if self.s_initial is None:
            return self.s
        frac = min(step, self.s_anneal_steps) / self.s_anneal_steps
        return int(round(self.s_initial * (self.s / self.s_initial) ** frac))

    def learning_rate(self, step: int) -> float:
        r"""The Adam learning rate of outer step ``step`` (0-based).

        Constant ``lr``, or with ``lr_final`` the cosine
        :math:`\eta_t = \eta_f + \tfrac12(\eta_0 - \eta_f)(1 + \cos(\pi \min(t, S)/S))`,
        S = ``anneal_steps``.
        """
        if self.lr_final is None:
            return self.lr
        frac = min(step, self.anneal_steps) / self.anneal_steps
        return self.lr_final + 0.5 * (self.lr - self.lr_final) * (1.0 + np.cos(np.pi * frac))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``PMLConfig(**d)`` rebuilds it)."""
        d = dataclasses.asdict(self)
        d["widths"] = list(self.widths)
        return d
