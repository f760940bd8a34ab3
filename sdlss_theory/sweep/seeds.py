"""Seeds derived from parameters: one `SeedSequence` per (root seed, cell, trial).

A task's random stream depends only on the study's root seed, the *content* of its cell's
parameters and its trial index -- never on the order in which tasks run, on the number of
workers or on the backend. The cell's parameters are written as canonical JSON (sorted keys,
no whitespace, NumPy scalars turned into Python scalars), hashed with BLAKE2b, and the 128-bit
digest becomes four 32-bit words of the `SeedSequence` spawn key, followed by the trial index::

    SeedSequence(entropy=root_seed, spawn_key=(w0, w1, w2, w3, trial))

This is the construction NumPy recommends for independent streams (`SeedSequence.spawn` builds
the same kind of spawn keys); distinct cells get distinct keys unless BLAKE2b collides.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

from sdlss_theory._validation import check_int

__all__ = ["canonical_json", "cell_key", "task_seed_sequence", "task_rng", "to_plain"]


def to_plain(value: Any) -> Any:
    """Return `value` with NumPy scalars/arrays and tuples turned into plain JSON types.

    Parameters
    ----------
    value : object
        A parameter or metric value: bool, int, float, str, None, a NumPy scalar or array, or
        a (nested) list, tuple or mapping of those.

    Returns
    -------
    object
        The same value built from ``bool``, ``int``, ``float``, ``str``, ``None``, ``list`` and
        ``dict`` only.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist())
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be strings, got {key!r}")
            out[key] = to_plain(item)
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    raise TypeError(
        f"cannot store a value of type {type(value).__name__} ({value!r}); use bool, int, "
        "float, str, None or lists of those"
    )


def canonical_json(params: Mapping[str, Any]) -> str:
    """Serialise a parameter dict to canonical JSON (sorted keys, compact, plain types).

    Parameters
    ----------
    params : mapping of str to object
        A cell's parameters.

    Returns
    -------
    str
        The JSON text; equal dicts give equal text whatever their key order.

    Raises
    ------
    TypeError
        If a value is not a bool, int, float, str, None or list of those.
    ValueError
        If a float parameter is NaN or infinite (it would make the key ambiguous).
    """
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping of str to values, got {type(params).__name__}")
    plain = to_plain(params)

    def _check(v):
        if isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"parameters must be finite; got {v!r} in {params!r}")
        if isinstance(v, list):
            for item in v:
                _check(item)
        if isinstance(v, dict):
            for item in v.values():
                _check(item)

    _check(plain)
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=False)


def cell_key(params: Mapping[str, Any]) -> str:
    """Return the stable key of a cell: the BLAKE2b-128 hex digest of its canonical JSON.

    Parameters
    ----------
    params : mapping of str to object
        A cell's parameters.

    Returns
    -------
    str
        32 hexadecimal characters.
    """
    return hashlib.blake2b(canonical_json(params).encode(), digest_size=16).hexdigest()


def task_seed_sequence(root_seed: int, key: str, trial: int) -> np.random.SeedSequence:
    """Return the `SeedSequence` of one task.

    Parameters
    ----------
    root_seed : int
        The study's root seed (>= 0).
    key : str
        The cell key from :func:`cell_key` (32 hexadecimal characters).
    trial : int
        The trial index within the cell (>= 0).

    Returns
    -------
    numpy.random.SeedSequence
        ``SeedSequence(entropy=root_seed, spawn_key=(w0, w1, w2, w3, trial))`` where the
        ``w`` are the four big-endian 32-bit words of the cell key.
    """
    root_seed = check_int(root_seed, "root_seed", minimum=0)
    trial = check_int(trial, "trial", minimum=0)
    if not isinstance(key, str) or len(key) != 32:
        raise ValueError(f"key must be a 32-character hex cell key, got {key!r}")
    words = tuple(int(key[i : i + 8], 16) for i in range(0, 32, 8))
    return np.random.SeedSequence(entropy=root_seed, spawn_key=(*words, trial))


def task_rng(root_seed: int, params: Mapping[str, Any], trial: int) -> np.random.Generator:
    """Return the generator a task receives, to reproduce one trial outside a sweep.

    Parameters
    ----------
    root_seed : int
        The study's root seed.
    params : mapping of str to object
        The cell's parameters.
    trial : int
        The trial index.

    Returns
    -------
    numpy.random.Generator
        ``Generator(PCG64(task_seed_sequence(root_seed, cell_key(params), trial)))``, the same
        generator the engine passed to the trial function.
    """
    seq = task_seed_sequence(root_seed, cell_key(params), trial)
    return np.random.Generator(np.random.PCG64(seq))
