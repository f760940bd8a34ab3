r"""Sample-complexity predictors: the order terms of SDLSS and of Bora et al.

`sdlss_measurements` (Killedar, Pokala & Seelamantula 2021) and `bora_measurements` (Bora,
Jalal, Price & Dimakis 2017): predictors for collapse plots, each up to a constant c; the
explicit guarantee is in :mod:`sdlss_theory.theory.union_bound`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from sdlss_theory._validation import check_positive_float
from sdlss_theory.theory._arrays import _int_array, _scalar_or_array

__all__ = ["bora_measurements", "sdlss_measurements"]


def sdlss_measurements(
    s: ArrayLike, d: ArrayLike, k: ArrayLike, h: ArrayLike, c: float = 1.0
) -> float | np.ndarray:
    r"""SDLSS sample-complexity predictor m = c s d log(k h / s).

    [KPS21]_: for a d-layer ReLU generator with latent dimension k, widest layer h and
    s-sparse latent codes, a Gaussian A with m = O(s d log(k h / s)) rows satisfies the
    S-REC on the generator's range with high probability. This returns the order term
    times an (unknown, to be fitted) constant c; it is a predictor for collapse plots,
    not a guarantee (for an explicit guarantee see `srec_guarantee_measurements`).

    Parameters
    ----------
    s, d, k, h : int or array_like of int
        Sparsity (1 <= s <= k), depth (>= 1), latent dimension (>= 1) and widest layer
        width (>= 1). Arrays broadcast against each other.
    c : float, optional
        Multiplicative constant, > 0.

    Returns
    -------
    float or numpy.ndarray
        c s d log(k h / s) (>= 0 since s <= k and h >= 1), broadcast over the inputs.

    References
    ----------
    .. [KPS21] Killedar, Pokala & Seelamantula, ICASSP 2021.
    """
    c = check_positive_float(c, "c")
    s_a = _int_array(s, "s", 1)
    d_a = _int_array(d, "d", 1)
    k_a = _int_array(k, "k", 1)
    h_a = _int_array(h, "h", 1)
    s_a, d_a, k_a, h_a = np.broadcast_arrays(s_a, d_a, k_a, h_a)
    if np.any(s_a > k_a):
        raise ValueError("s must be <= k (at most k latent entries can be non-zero)")
    return _scalar_or_array(c * s_a * d_a * np.log(k_a * h_a / s_a))


def bora_measurements(
    k: ArrayLike, d: ArrayLike, n: ArrayLike, c: float = 1.0
) -> float | np.ndarray:
    r"""Bora et al.'s sample-complexity predictor m = c k d log(n) for ReLU generators.

    [BJPD17]_, Thm 1.1 / Sec. 3: for a d-layer ReLU generator G: R^k -> R^n with at most
    n nodes per layer, m = O(k d log n) Gaussian measurements give the S-REC on the range
    of G with high probability. Returns the order term times a constant c.

    Parameters
    ----------
    k, d, n : int or array_like of int
        Latent dimension (>= 1), depth (>= 1), and n (>= 1), the output dimension /
        widest layer. Arrays broadcast.
    c : float, optional
        Multiplicative constant, > 0.

    Returns
    -------
    float or numpy.ndarray
        c k d log(n), broadcast over the inputs.

    References
    ----------
    .. [BJPD17] Bora, Jalal, Price & Dimakis, "Compressed sensing using generative
       models", ICML 2017.
    """
    c = check_positive_float(c, "c")
    k_a = _int_array(k, "k", 1)
    d_a = _int_array(d, "d", 1)
    n_a = _int_array(n, "n", 1)
    k_a, d_a, n_a = np.broadcast_arrays(k_a, d_a, n_a)
    return _scalar_or_array(c * k_a * d_a * np.log(n_a))
