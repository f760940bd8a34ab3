"""Random measurement matrices and measurement noise.

Every matrix here is normalised so that E ||A x||^2 = ||x||^2 for a fixed x, the
normalisation under which the restricted isometry property (RIP) and the set-restricted
eigenvalue condition (S-REC) are stated (Foucart & Rauhut 2013, ch. 9; Bora et al. 2017).
All randomness comes from the `numpy.random.Generator` passed as ``rng``.

References
----------
.. [1] S. Foucart and H. Rauhut, *A Mathematical Introduction to Compressive Sensing*,
   Birkhäuser, 2013, chapters 9 (sub-Gaussian matrices) and 12 (bounded orthonormal systems).
.. [2] E. J. Candès and T. Tao, "Near-optimal signal recovery from random projections:
   universal encoding strategies?", IEEE Trans. Inf. Theory 52(12), 2006.
.. [3] M. Rudelson and R. Vershynin, "On sparse reconstruction from Fourier and Gaussian
   measurements", Comm. Pure Appl. Math. 61(8), 2008.
.. [4] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using generative
   models", ICML 2017.
"""

from __future__ import annotations

import numbers

import numpy as np

from ._validation import as_float_array, check_int, check_positive_float, check_rng

__all__ = ["gaussian_matrix", "rademacher_matrix", "subsampled_dct", "add_noise"]


def _check_shape(m, n, rng) -> tuple[int, int, np.random.Generator]:
    """The sizes m, n as integers >= 1 and rng as a Generator, or a clear error."""
    return check_int(m, "m", minimum=1), check_int(n, "n", minimum=1), check_rng(rng)


def gaussian_matrix(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw an m x n Gaussian measurement matrix with i.i.d. N(0, 1/m) entries.

    .. math:: A_{ij} \sim \mathcal N(0, 1/m) \ \text{i.i.d.}, \qquad
              \mathbb E \|A x\|_2^2 = \|x\|_2^2 .

    For a fixed x != 0, ``m * ||A x||^2 / ||x||^2`` follows a chi-square law with m degrees
    of freedom (each entry of A x is N(0, ||x||^2 / m), independently), which is the
    concentration behind the RIP of Gaussian matrices [1]_ and the S-REC of Bora et al. [2]_.

    Parameters
    ----------
    m : int
        Number of measurements (rows), >= 1.
    n : int
        Signal dimension (columns), >= 1.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 array of shape (m, n).

    References
    ----------
    .. [1] S. Foucart and H. Rauhut, *A Mathematical Introduction to Compressive Sensing*,
       Birkhäuser, 2013, Theorem 9.2.
    .. [2] A. Bora, A. Jalal, E. Price and A. G. Dimakis, "Compressed sensing using
       generative models", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> A = gaussian_matrix(20, 100, np.random.default_rng(0))
    >>> A.shape, A.dtype
    ((20, 100), dtype('float64'))
    """
    m, n, rng = _check_shape(m, n, rng)
    a = rng.standard_normal((m, n))
    a *= 1.0 / np.sqrt(m)
    return np.ascontiguousarray(a, dtype=np.float64)


def rademacher_matrix(m: int, n: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw an m x n Rademacher (symmetric Bernoulli) matrix with entries +-1/sqrt(m).

    .. math:: A_{ij} = \varepsilon_{ij} / \sqrt m, \quad
              \varepsilon_{ij} \in \{-1, +1\} \ \text{i.i.d. uniform}, \qquad
              \mathbb E \|A x\|_2^2 = \|x\|_2^2 .

    A sub-Gaussian ensemble with the same RIP guarantees as the Gaussian one up to
    constants [1]_.

    Parameters
    ----------
    m, n, rng
        As in `gaussian_matrix`.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 array of shape (m, n) whose entries are exactly +-1/sqrt(m).

    References
    ----------
    .. [1] S. Foucart and H. Rauhut, *A Mathematical Introduction to Compressive Sensing*,
       Birkhäuser, 2013, section 9.1 (Theorem 9.2 covers Rademacher matrices).
    """
    m, n, rng = _check_shape(m, n, rng)
    signs = rng.integers(0, 2, size=(m, n), dtype=np.int8)
    a = signs.astype(np.float64)
    a *= 2.0
    a -= 1.0
    a *= 1.0 / np.sqrt(m)
    return np.ascontiguousarray(a)


def _dct_rows(rows: np.ndarray, n: int) -> np.ndarray:
    """Rows ``rows`` of the orthonormal DCT-II matrix of size n (scipy's ``norm="ortho"``)."""
    k = rows.astype(np.float64)[:, None]
    j = np.arange(n, dtype=np.float64)[None, :]
    out = np.cos(np.pi * k * (2.0 * j + 1.0) / (2.0 * n))
    out *= np.sqrt(2.0 / n)
    out[rows == 0] = np.sqrt(1.0 / n)
    return out


def subsampled_dct(
    m: int, n: int, rng: np.random.Generator, *, return_rows: bool = False
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    r"""Draw m distinct random rows of the orthonormal DCT-II matrix, scaled by sqrt(n/m).

    With D the n x n orthonormal DCT-II matrix (the matrix of
    ``scipy.fft.dct(np.eye(n), norm="ortho", axis=0)``),

    .. math:: D_{kj} = c_k \cos\!\Big(\frac{\pi k (2j + 1)}{2n}\Big), \quad
              c_0 = \sqrt{1/n},\ c_k = \sqrt{2/n}\ (k \ge 1),

    a set :math:`\Omega \subset \{0, \dots, n-1\}` of m row indices is drawn uniformly
    without replacement and :math:`A = \sqrt{n/m}\, D_\Omega`. Then
    :math:`A A^T = (n/m) I_m` and, since each row is kept with probability m/n,
    :math:`\mathbb E_\Omega \|A x\|_2^2 = \|x\|_2^2`. A subsampled bounded orthonormal
    system: it has the RIP with high probability once m is of order s log^4 n [1]_ [2]_.

    Parameters
    ----------
    m : int
        Number of measurements (rows), 1 <= m <= n.
    n : int
        Signal dimension (columns), >= 1.
    rng : numpy.random.Generator
        Source of randomness (only the choice of rows is random).
    return_rows : bool, default False
        Also return the chosen DCT frequencies.

    Returns
    -------
    A : numpy.ndarray
        C-contiguous float64 array of shape (m, n). Its rows are in increasing order of
        DCT frequency (the chosen indices are sorted).
    rows : numpy.ndarray
        Only with ``return_rows=True``: the sorted int64 row indices Omega, shape (m,).

    References
    ----------
    .. [1] E. J. Candès and T. Tao, "Near-optimal signal recovery from random projections:
       universal encoding strategies?", IEEE Trans. Inf. Theory 52(12), 2006.
    .. [2] S. Foucart and H. Rauhut, *A Mathematical Introduction to Compressive Sensing*,
       Birkhäuser, 2013, chapter 12.
    """
    m, n, rng = _check_shape(m, n, rng)
    if m > n:
        raise ValueError(
            f"m must be <= n for a subsampled DCT (rows are distinct), got m={m}, n={n}"
        )
    rows = np.sort(rng.choice(n, size=m, replace=False)).astype(np.int64)
    a = _dct_rows(rows, n)
    a *= np.sqrt(n / m)
    a = np.ascontiguousarray(a, dtype=np.float64)
    if return_rows:
        return a, rows
    return a


def add_noise(
    y,
    rng: np.random.Generator,
    *,
    sigma: float | None = None,
    snr_db: float | None = None,
) -> np.ndarray:
    r"""Return ``y + e`` with i.i.d. Gaussian noise e, given either sigma or an SNR in dB.

    Exactly one of ``sigma`` and ``snr_db`` must be given.

    * ``sigma``: :math:`e_i \sim \mathcal N(0, \sigma^2)` i.i.d.
    * ``snr_db``: the per-sample noise variance is set from the signal so that
      :math:`10 \log_{10}(\|y\|_2^2 / \mathbb E\|e\|_2^2) = \mathrm{snr\_db}`, i.e.

      .. math:: \sigma^2 = \frac{\|y\|_2^2 / m}{10^{\mathrm{snr\_db}/10}},

      with m = ``y.shape[-1]``. For a batch ``y`` of shape (B, m) this is applied per row:
      every row gets its own sigma from its own energy. The SNR is thus defined through the
      *expected* noise energy; the realised :math:`\|e\|^2` fluctuates around it with
      relative standard deviation :math:`\sqrt{2/m}`.

    Parameters
    ----------
    y : array_like
        Clean measurements, shape (m,) or (B, m); finite.
    rng : numpy.random.Generator
        Source of randomness.
    sigma : float, optional
        Noise standard deviation, >= 0 (0 returns a copy of ``y``).
    snr_db : float, optional
        Target signal-to-noise ratio in decibels (any finite real). Every row of ``y`` must
        be non-zero, since the SNR of a zero signal is undefined.

    Returns
    -------
    numpy.ndarray
        A new C-contiguous float64 array of the shape of ``y``; ``y`` is not modified.

    Raises
    ------
    ValueError
        If both or neither of ``sigma`` and ``snr_db`` are given, ``sigma`` is negative or
        not finite, ``snr_db`` is not finite, or ``snr_db`` is given and a row of ``y`` is
        zero.
    """
    rng = check_rng(rng)
    if (sigma is None) == (snr_db is None):
        which = "both" if sigma is not None else "neither"
        raise ValueError(f"give exactly one of sigma and snr_db, got {which}")
    y = as_float_array(y, "y", ndim=(1, 2))
    if sigma is not None:
        sigma = check_positive_float(sigma, "sigma", allow_zero=True)
        scale: float | np.ndarray = sigma
    else:
        if isinstance(snr_db, bool) or not isinstance(snr_db, numbers.Real):
            raise TypeError(f"snr_db must be a real number, got {snr_db!r}")
        snr_db = float(snr_db)
        if not np.isfinite(snr_db):
            raise ValueError(f"snr_db must be finite, got {snr_db!r}")
        # sigma = (||y|| / sqrt(m)) / 10^(snr_db / 20), per row; the root mean square is
        # taken of y / max|y| so that huge or tiny signals neither overflow nor underflow.
        if y.shape[-1] == 0:
            raise ValueError("snr_db needs a non-empty signal, but y has no entries")
        peak = np.max(np.abs(y), axis=-1, keepdims=True)
        if np.any(peak == 0.0):
            raise ValueError("snr_db needs a non-zero signal, but y (or a row of y) is all zeros")
        rms = peak * np.sqrt(np.mean((y / peak) ** 2, axis=-1, keepdims=True))
        scale = rms / 10.0 ** (snr_db / 20.0)
    noise = rng.standard_normal(y.shape)
    noise *= scale
    noise += y
    return noise
