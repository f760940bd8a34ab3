"""P_s, the projection onto s-sparse vectors, and support helpers."""

from __future__ import annotations

import numpy as np

from sdlss_theory._kernels.threshold import hard_threshold_rows
from sdlss_theory._validation import as_float_array, check_int

__all__ = ["check_sparsity", "hard_threshold", "support"]

_ENGINES = ("auto", "numba", "numpy")


def _hard_threshold_numpy(U: np.ndarray, s: int) -> np.ndarray:
    if s >= U.shape[1]:
        return U.copy()
    keep = np.argsort(-np.abs(U), axis=1, kind="stable")[:, :s]
    out = np.zeros_like(U)
    np.put_along_axis(out, keep, np.take_along_axis(U, keep, axis=1), axis=1)
    return out


def hard_threshold(u: np.ndarray, s: int, *, engine: str = "auto") -> np.ndarray:
    """P_s(u): keep the s entries of largest magnitude, zero the rest.

    P_s(u) is a best s-term approximation: it minimises ||u - v||_2 over all
    v with at most s non-zeros (Blumensath & Davies 2009).

    Parameters
    ----------
    u : array_like, shape (k,) or (B, k)
        The vector, or a batch of vectors thresholded row by row.
    s : int
        The number of entries to keep, ``s >= 0``. ``s = 0`` gives zeros and
        ``s >= k`` a copy of `u`.
    engine : {"auto", "numba", "numpy"}
        The numba kernel (``"auto"``) or a NumPy path; both give the same result.

    Returns
    -------
    ndarray
        A new array shaped like `u`.

    Notes
    -----
    Ties are broken deterministically: entries are ranked by magnitude, larger
    first, and equal magnitudes by position, earlier first. So among equal
    magnitudes the entries with the smallest indices are kept.

    References
    ----------
    .. [1] T. Blumensath and M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.

    Examples
    --------
    >>> hard_threshold([0.5, -3.0, 2.0, 1.0], 2)
    array([ 0., -3.,  2.,  0.])
    """
    arr = as_float_array(u, "u", ndim=(1, 2))
    s = check_int(s, "s", minimum=0)
    if engine not in _ENGINES:
        raise ValueError(f"engine must be one of {_ENGINES}, got {engine!r}")
    U = np.atleast_2d(arr)
    if engine == "numpy":
        out = _hard_threshold_numpy(U, s)
    else:
        out = hard_threshold_rows(U, min(s, U.shape[1]), np.empty_like(U))
    return out[0] if arr.ndim == 1 else out


def check_sparsity(s, k: int, *, minimum: int = 1) -> int:
    """Return the sparsity `s` as an int in [minimum, k]: the one check of a sparsity level.

    Parameters
    ----------
    s : int
        The number of non-zeros (of a latent code, or of a sparse vector).
    k : int
        The length of the vectors it applies to.
    minimum : int
        The smallest accepted value (1 for solvers; P_s itself also takes 0).

    Raises
    ------
    TypeError, ValueError
        Naming ``s`` and what was expected.
    """
    s = check_int(s, "s", minimum=minimum)
    if s > k:
        raise ValueError(f"s must be at most the dimension k={k} of the vectors, got {s}")
    return s


def support(u: np.ndarray) -> np.ndarray:
    """The indices of the non-zero entries of a vector, sorted.

    Parameters
    ----------
    u : array_like, shape (k,)

    Returns
    -------
    ndarray of int
    """
    return np.flatnonzero(as_float_array(u, "u", ndim=(1,)))
