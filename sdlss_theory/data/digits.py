"""scikit-learn's bundled 8x8 digits (optional extra ``digits``), and a random train/test split."""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import check_positive_float, check_rng

__all__ = ["load_digits", "train_test_split"]


_DIGITS_MISSING = (
    "load_digits needs scikit-learn, which is an optional extra of sdlss-theory; "
    'install it with: pip install "sdlss-theory[digits]"'
)


def load_digits(*, flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1].

    The 1,797 images of the UCI optical digits test set [1]_, shipped inside scikit-learn
    (no download). Pixel values are integers 0..16 in the source; they are divided by 16.

    Parameters
    ----------
    flatten : bool, default True
        Return images of shape (1797, 64) (row-major) rather than (1797, 8, 8).

    Returns
    -------
    images : numpy.ndarray
        C-contiguous float64, values in [0, 1], shape (1797, 64) or (1797, 8, 8).
    labels : numpy.ndarray
        int64 digit labels 0..9, shape (1797,).

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install "sdlss-theory[digits]"``).

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical recognition of handwritten digits", UCI
       Machine Learning Repository, 1998.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(_DIGITS_MISSING) from exc
    bunch = _sk_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    if flatten:
        images = images.reshape(images.shape[0], -1)
    return np.ascontiguousarray(images), np.asarray(bunch.target, dtype=np.int64)


def train_test_split(
    *arrays: np.ndarray, rng: np.random.Generator, test_fraction: float = 0.2
) -> list[np.ndarray]:
    """Split arrays along their first axis into a random train part and test part.

    One random permutation of the N rows (from ``rng``) is applied to every array; the
    first ``N - n_test`` permuted rows go to train and the rest to test, with
    ``n_test = round(test_fraction * N)`` clipped to [1, N - 1].

    Parameters
    ----------
    *arrays : array_like
        One or more arrays with the same length N >= 2 along axis 0 (e.g. images, labels).
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same split.
    test_fraction : float, default 0.2
        Fraction of rows in the test part, in (0, 1).

    Returns
    -------
    list of numpy.ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, new arrays (copies).
    """
    rng = check_rng(rng)
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    test_fraction = check_positive_float(test_fraction, "test_fraction")
    if test_fraction >= 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    arrays = tuple(np.asarray(a) for a in arrays)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"arrays[{i}] must have at least one axis, got a scalar")
    n = arrays[0].shape[0]
    for i, a in enumerate(arrays[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(
                f"arrays must have the same length along axis 0: arrays[0] has {n}, "
                f"arrays[{i}] has {a.shape[0]}"
            )
    if n < 2:
        raise ValueError(f"train_test_split needs at least 2 rows, got {n}")
    n_test = min(max(int(round(test_fraction * n)), 1), n - 1)
    perm = rng.permutation(n)
    train_idx, test_idx = perm[: n - n_test], perm[n - n_test :]
    out: list[np.ndarray] = []
    for a in arrays:
        out.append(np.ascontiguousarray(a[train_idx]))
        out.append(np.ascontiguousarray(a[test_idx]))
    return out
