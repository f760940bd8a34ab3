"""Input checks shared by the public API: one place that turns bad input into a clear error."""

from __future__ import annotations

import numbers

import numpy as np


def as_float_array(x, name: str, *, ndim: tuple[int, ...] | None = None) -> np.ndarray:
    """Return `x` as a C-contiguous float64 array, refusing non-finite values.

    Parameters
    ----------
    x : array_like
        The input.
    name : str
        The argument's name, used in error messages.
    ndim : tuple of int, optional
        The accepted numbers of dimensions.
    """
    try:
        # asarray, not ascontiguousarray, which would turn a scalar into shape (1,).
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real numeric array, got {type(x).__name__}") from exc
    if ndim is not None and arr.ndim not in ndim:
        expected = " or ".join(f"{d}-D" for d in ndim)
        raise ValueError(f"{name} must be {expected}, got an array of shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite; it holds NaN or inf")
    return np.ascontiguousarray(arr)


def check_int(value, name: str, *, minimum: int | None = None) -> int:
    """Return `value` as an int, refusing non-integers and values below `minimum`."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not isinstance(value, numbers.Integral):
        if not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be an integer, got {value!r}")
        # A real number is refused by value (2.5), not by type; 3.0 is accepted as 3.
        if not float(value).is_integer():
            raise ValueError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_positive_float(value, name: str, *, allow_zero: bool = False) -> float:
    """Return `value` as a finite float > 0 (or >= 0 with `allow_zero`)."""
    try:
        out = float(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number, got {value!r}") from exc
    if not np.isfinite(out) or out < 0 or (out == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return out


def check_rng(rng, name: str = "rng") -> np.random.Generator:
    """Return `rng` as a `numpy.random.Generator`: the one rule for randomness in the toolkit.

    A Generator is returned as it is (draws continue its stream); a non-negative integer is
    a seed, ``np.random.default_rng(rng)``, so ``f(..., rng=0)`` and
    ``f(..., rng=np.random.default_rng(0))`` give the same numbers. Anything else (None, a
    legacy ``RandomState``, a float, a bool) is refused: no global state.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, (bool, np.bool_)):
        if rng < 0:
            raise ValueError(f"{name} must be a numpy.random.Generator or a seed >= 0, got {rng}")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or an integer seed "
        f"(e.g. np.random.default_rng(0) or 0), got {type(rng).__name__}"
    )
