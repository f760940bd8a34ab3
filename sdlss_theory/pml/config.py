"""`PMLConfig`: everything that defines a PML or DCS training run."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float

_METHODS = ("pml", "dcs")
_OUTPUTS = ("sigmoid", "linear")


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
