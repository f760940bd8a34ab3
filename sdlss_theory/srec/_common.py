"""Shared checks and small helpers of the S-REC estimators (private)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from sdlss_theory._validation import as_float_array
from sdlss_theory.generator import ReLUGenerator

# A pair whose images are closer than this, relative to their size, has no defined ratio.
_DEGENERATE = 1e-12


def _check_generator(G) -> ReLUGenerator:
    if not isinstance(G, ReLUGenerator):
        raise TypeError(f"G must be a ReLUGenerator, got {type(G).__name__}")
    return G


def _check_matrix(A, G: ReLUGenerator, *, allow_stack: bool = False) -> np.ndarray:
    ndim = (2, 3) if allow_stack else (2,)
    A = as_float_array(A, "A", ndim=ndim)
    if A.shape[-1] != G.n:
        raise ValueError(
            f"A must have {G.n} columns (the generator's output size n), got shape {A.shape}"
        )
    if A.shape[-2] < 1:
        raise ValueError(f"A must have at least one row, got shape {A.shape}")
    return A


def _check_pair(G: ReLUGenerator, z1, z2) -> tuple[np.ndarray, np.ndarray, bool]:
    z1 = as_float_array(z1, "z1", ndim=(1, 2))
    z2 = as_float_array(z2, "z2", ndim=(1, 2))
    if z1.shape != z2.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {z1.shape} and {z2.shape}")
    if z1.shape[-1] != G.k:
        raise ValueError(
            f"z1 and z2 must have shape ({G.k},) or (B, {G.k}) for this generator, got {z1.shape}"
        )
    return np.atleast_2d(z1), np.atleast_2d(z2), z1.ndim == 1


def _is_bias_free(G: ReLUGenerator) -> bool:
    return all(not np.any(b) for b in G.biases)


def _tie(value: float) -> float:
    """`value` plus the relative tolerance within which two bounds count as equal."""
    return value + 1e-9 * abs(value) + 1e-15


def _well_separated(G, z1, z2) -> bool:
    """Whether G(z1) and G(z2) differ by more than 1e-8 of their size (a usable start)."""
    x1, x2 = G(z1), G(z2)
    return bool(np.linalg.norm(x1 - x2) > 1e-8 * (np.linalg.norm(x1) + np.linalg.norm(x2)))


def _ratio(G, A, z1, z2) -> float:
    d = G(z1) - G(z2)
    nd = np.linalg.norm(d)
    return float(np.linalg.norm(A @ d) / nd) if nd > 0 else np.inf


def _build_options(cls: type, options: Any, knobs: dict[str, Any], name: str) -> Any:
    """`options` (or ``cls()``) with the fields named in `knobs` replaced, checked by `cls`."""
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(knobs) - fields)
    if unknown:
        raise TypeError(f"{name} got unknown options {unknown}; its options are {sorted(fields)}")
    base = cls() if options is None else options
    if not isinstance(base, cls):
        raise TypeError(f"options must be a {cls.__name__}, got {base!r}")
    return dataclasses.replace(base, **knobs) if knobs else base
