"""Image metrics of reconstructions: per-pixel MSE, PSNR and relative error, row by row."""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import as_float_array, check_positive_float


def _pair(x_hat, x) -> tuple[np.ndarray, np.ndarray]:
    x_hat = as_float_array(x_hat, "x_hat", ndim=(1, 2))
    x = as_float_array(x, "x", ndim=(1, 2))
    if x_hat.shape != x.shape:
        raise ValueError(f"x_hat and x must have the same shape, got {x_hat.shape} and {x.shape}")
    return x_hat, x


def _per_row(out: np.ndarray) -> np.ndarray | float:
    """One value per row; a float for a single signal."""
    return float(out) if out.ndim == 0 else out


def mse(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray | float:
    r"""Per-pixel mean squared error :math:`\tfrac1n \lVert \hat x - x \rVert^2` of each row.

    Parameters
    ----------
    x_hat, x : array_like, shape (n,) or (B, n)

    Returns
    -------
    float or ndarray of shape (B,)
    """
    x_hat, x = _pair(x_hat, x)
    out = np.mean((x_hat - x) ** 2, axis=-1)
    return _per_row(out)


def psnr(x_hat: np.ndarray, x: np.ndarray, data_range: float = 1.0) -> np.ndarray | float:
    r"""Peak signal-to-noise ratio :math:`10 \log_{10}(R^2 / \mathrm{MSE})` in dB, per row.

    Parameters
    ----------
    x_hat, x : array_like, shape (n,) or (B, n)
    data_range : float
        R, the peak-to-peak range of the signals (1 for images in [0, 1]).

    Returns
    -------
    float or ndarray of shape (B,)
        ``inf`` for an exact reconstruction.
    """
    data_range = check_positive_float(data_range, "data_range")
    err = np.asarray(mse(x_hat, x))
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(data_range**2 / err)
    return _per_row(out)


def relative_error(x_hat: np.ndarray, x: np.ndarray) -> np.ndarray | float:
    r"""Relative error :math:`\lVert \hat x - x\rVert_2 / \lVert x \rVert_2` of each row.

    Parameters
    ----------
    x_hat, x
        As in `mse`.

    Returns
    -------
    float or ndarray of shape (B,)
        ``inf`` (or ``nan`` for 0/0) where x = 0.
    """
    x_hat, x = _pair(x_hat, x)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.linalg.norm(x_hat - x, axis=-1) / np.linalg.norm(x, axis=-1)
    return _per_row(out)
