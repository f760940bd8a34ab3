"""Synthetic signals of the SDLSS model: s-sparse latent codes and a teacher's train/test set.

x = G(z) with an s-sparse z (Killedar, Pokala & Seelamantula, ICASSP 2021): the signals lie
on a union of C(k, s) sub-manifolds, one per support.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.projection import check_sparsity

if TYPE_CHECKING:  # pragma: no cover
    from sdlss_theory.generator import ReLUGenerator

__all__ = ["SyntheticDataset", "sparse_latents", "synthetic_dataset"]


def sparse_latents(n_samples: int, k: int, s: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw s-sparse latent codes with a uniformly random support and Gaussian non-zeros.

    Each row z is drawn independently: its support :math:`S \subset \{0, \dots, k-1\}` is
    uniform over the :math:`\binom{k}{s}` subsets of size s, and
    :math:`z_S \sim \mathcal N(0, I_s)`, :math:`z_{S^c} = 0`. Every row therefore has
    exactly s non-zeros (almost surely). This is the latent law of the SDLSS model [1]_.

    Parameters
    ----------
    n_samples : int
        Number of codes B, >= 1.
    k : int
        Latent dimension, >= 1.
    s : int
        Sparsity, 1 <= s <= k.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 array of shape (B, k).

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    k = check_int(k, "k", minimum=1)
    s = check_sparsity(s, k)
    rng = check_rng(rng)
    # The positions of the s smallest of k i.i.d. uniforms form a uniformly random s-subset
    # (exchangeability); argpartition finds them in O(k) per row.
    keys = rng.random((n_samples, k))
    support = np.argpartition(keys, s - 1, axis=1)[:, :s]
    z = np.zeros((n_samples, k))
    np.put_along_axis(z, support, rng.standard_normal((n_samples, s)), axis=1)
    return z


@dataclass(frozen=True)
class SyntheticDataset:
    """Train and test signals x = G(z) (+ noise) with their s-sparse latent codes.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        Signals, shapes (n_train, n) and (n_test, n).
    z_train, z_test : numpy.ndarray
        The latent codes that generated them, shapes (n_train, k) and (n_test, k).
    s : int
        The sparsity of the codes.
    noise_sigma : float
        Standard deviation of the Gaussian noise added to x (0 for exact G(z)).
    """

    x_train: np.ndarray
    x_test: np.ndarray
    z_train: np.ndarray
    z_test: np.ndarray
    s: int
    noise_sigma: float


def synthetic_dataset(
    teacher: ReLUGenerator,
    s: int,
    n_train: int,
    n_test: int,
    rng: np.random.Generator,
    *,
    noise_sigma: float = 0.0,
) -> SyntheticDataset:
    r"""Draw a train/test set from a teacher generator with s-sparse latents.

    .. math:: z^{(i)} \sim \text{sparse\_latents}(k, s), \qquad
              x^{(i)} = G(z^{(i)}) + \sigma\, \xi^{(i)}, \quad
              \xi^{(i)} \sim \mathcal N(0, I_n),

    so with ``noise_sigma = 0`` every x lies exactly on the union of the C(k, s)
    sub-manifolds :math:`\{G(z) : \mathrm{supp}(z) = S\}` [1]_; with noise it lies near it
    (model mismatch: the noise is on the signal, not on the measurements).

    The codes of all ``n_train + n_test`` examples are drawn first, in one call, and the
    first ``n_train`` form the training set; the noise is drawn afterwards. The split is
    therefore fixed by the state of ``rng`` (the same seed gives the same split).

    Parameters
    ----------
    teacher : ReLUGenerator
        The generator G: anything with integer attributes ``k`` and ``n`` that maps a
        (B, k) array to a (B, n) array.
    s : int
        Sparsity of the latent codes, 1 <= s <= teacher.k.
    n_train : int
        Number of training examples, >= 1.
    n_test : int
        Number of test examples, >= 0.
    rng : numpy.random.Generator
        Source of randomness.
    noise_sigma : float, default 0.0
        Standard deviation of the i.i.d. Gaussian noise added to each signal, >= 0.

    Returns
    -------
    SyntheticDataset

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    """
    k, n = getattr(teacher, "k", None), getattr(teacher, "n", None)
    if not (
        callable(teacher) and isinstance(k, numbers.Integral) and isinstance(n, numbers.Integral)
    ):
        raise TypeError(
            "teacher must be a ReLUGenerator (callable, with integer attributes k and n), "
            f"got {type(teacher).__name__}"
        )
    k, n = int(k), int(n)
    s = check_sparsity(s, k)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    noise_sigma = check_positive_float(noise_sigma, "noise_sigma", allow_zero=True)
    rng = check_rng(rng)
    z = sparse_latents(n_train + n_test, k, s, rng)
    x = np.ascontiguousarray(teacher(z), dtype=np.float64)
    if x.shape != (n_train + n_test, n):
        raise ValueError(
            f"teacher must map (B, k) to (B, n) = {(n_train + n_test, n)}, got shape {x.shape}"
        )
    if noise_sigma > 0:
        x += noise_sigma * rng.standard_normal(x.shape)
    return SyntheticDataset(
        x_train=np.ascontiguousarray(x[:n_train]),
        x_test=np.ascontiguousarray(x[n_train:]),
        z_train=np.ascontiguousarray(z[:n_train]),
        z_test=np.ascontiguousarray(z[n_train:]),
        s=s,
        noise_sigma=noise_sigma,
    )
