"""The activations of the toolkit's networks, as data: one table that every pass reads.

Each activation is a value and a derivative written in terms of the activation's *output*
(so a backward pass needs only the stored layer outputs): relu' = 1[out > 0],
sigmoid' = out (1 - out), tanh' = 1 - out^2, and the identity's derivative is 1. The
integer codes name the rows of the table inside the numba kernels (`_kernels/network.py`);
the functions take the array module ``xp`` so that `ReLUGenerator` (NumPy) and the PML
model (``autograd.numpy``) evaluate the very same formulas.

The ReLU derivative at exactly 0 is 0 (the mask is ``out > 0``), as in autograd and every
deep learning library. The sigmoid is written with tanh, which never overflows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

__all__ = ["ACTIVATIONS", "IDENTITY", "OUTPUTS", "RELU", "SIGMOID", "TANH", "Activation"]

#: Codes of the activations inside the kernels (``codes`` of a packed network).
IDENTITY, RELU, SIGMOID, TANH = 0, 1, 2, 3


@dataclass(frozen=True)
class Activation:
    """One row of the table: name, kernel code, value and derivative (of the output).

    Attributes
    ----------
    name : str
        ``"linear"``, ``"relu"``, ``"sigmoid"`` or ``"tanh"``.
    code : int
        Its code in the kernels.
    value : callable
        ``value(a, xp)``: the activation of the pre-activation ``a``.
    derivative : callable or None
        ``derivative(out, xp)``: sigma'(a) written in terms of ``out = sigma(a)``; None for
        the identity (derivative 1: nothing to multiply).
    inverse : callable or None
        ``inverse(out, xp)``: the pre-activation whose value is ``out`` (for ``out`` inside
        the activation's open range); None where the activation is not invertible (ReLU).
    """

    name: str
    code: int
    value: Callable[[Any, ModuleType], Any]
    derivative: Callable[[Any, ModuleType], Any] | None
    inverse: Callable[[Any, ModuleType], Any] | None = None


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("linear", IDENTITY, lambda a, xp=np: a, None, lambda o, xp=np: o),
        Activation("relu", RELU, lambda a, xp=np: xp.where(a > 0, a, 0.0), lambda o, xp=np: o > 0),
        Activation(
            "sigmoid",
            SIGMOID,
            lambda a, xp=np: 0.5 * (1.0 + xp.tanh(0.5 * a)),
            lambda o, xp=np: o * (1.0 - o),
            lambda o, xp=np: 2.0 * xp.arctanh(2.0 * o - 1.0),
        ),
        Activation(
            "tanh",
            TANH,
            lambda a, xp=np: xp.tanh(a),
            lambda o, xp=np: 1.0 - o * o,
            lambda o, xp=np: xp.arctanh(o),
        ),
    )
}

#: The output activations a generator may have (every hidden layer is a ReLU).
OUTPUTS: tuple[str, ...] = ("linear", "sigmoid", "tanh")
