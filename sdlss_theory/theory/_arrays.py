"""The array conventions of the closed forms: scalar in, scalar out; integer-valued inputs."""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import as_float_array


def _float_input(x, name: str) -> np.ndarray:
    """Finite float64 array of any shape; a scalar stays 0-d (unlike `as_float_array`)."""
    arr = as_float_array(x, name)
    return arr.reshape(()) if np.ndim(x) == 0 else arr


def _scalar_or_array(out: np.ndarray) -> float | np.ndarray:
    """A 0-d result as a Python float (scalar in, scalar out); any other array unchanged."""
    return float(out) if out.ndim == 0 else out



def _int_array(x, name: str, minimum: int) -> np.ndarray:
    """Integer-valued array (any shape) with all entries >= minimum, as float64."""
    arr = _float_input(x, name)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold integers, got {x!r}")
    if np.any(arr < minimum):
        raise ValueError(f"{name} must be >= {minimum}, got {x!r}")
    return arr
