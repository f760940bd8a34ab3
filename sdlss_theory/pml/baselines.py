r"""The linear prior every learned prior is measured against: principal components.

`PCAPrior` fits the mean :math:`\mu` and the principal directions :math:`U` (columns, by
decreasing variance) of a training set; the rank-r prior is the affine subspace
:math:`\{\mu + U_r c : c \in \mathbb R^r\}` and its reconstruction from y = A x is least
squares on it:

.. math::

    \hat c = \arg\min_c \lVert y - A\mu - A U_r c \rVert_2, \qquad \hat x = \mu + U_r \hat c

(the minimum-norm solution when :math:`A U_r` is rank deficient; r = 0 gives
:math:`\hat x = \mu`). The rank is chosen on a validation split for each A (`best_rank`),
as any hyper-parameter of a learned prior is.
"""

from __future__ import annotations

import numpy as np

from sdlss_theory._validation import as_float_array, check_int
from sdlss_theory.pml.metrics import relative_error


class PCAPrior:
    """Principal components of a training set, as a linear (affine) prior for recovery.

    Parameters
    ----------
    x_train : array_like, shape (N, n)
        Training signals (finite).

    Attributes
    ----------
    mean : ndarray, shape (n,)
    components : ndarray, shape (n, min(N, n))
        Principal directions (orthonormal columns), by decreasing singular value.
    singular_values : ndarray

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((200, 3)) @ rng.standard_normal((3, 10))  # rank 3
    >>> prior = PCAPrior(x)
    >>> A = rng.standard_normal((5, 10))
    >>> bool(np.allclose(prior.reconstruct(A, x[:4] @ A.T, 3), x[:4]))
    True
    """

    def __init__(self, x_train: np.ndarray) -> None:
        x = as_float_array(x_train, "x_train", ndim=(2,))
        if x.shape[0] < 1:
            raise ValueError("x_train must hold at least one signal")
        self.mean = x.mean(axis=0)
        _, sv, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.components = np.ascontiguousarray(vt.T)
        self.singular_values = sv

    @property
    def max_rank(self) -> int:
        """The number of principal directions available."""
        return self.components.shape[1]

    def reconstruct(self, A: np.ndarray, y: np.ndarray, rank: int) -> np.ndarray:
        r"""Least squares on the rank-r affine prior: :math:`\mu + U_r \hat c` per row of y.

        Parameters
        ----------
        A : array_like, shape (m, n)
        y : array_like, shape (B, m)
        rank : int
            0 <= rank <= `max_rank`.

        Returns
        -------
        ndarray, shape (B, n)
        """
        A = as_float_array(A, "A", ndim=(2,))
        y = as_float_array(y, "y", ndim=(2,))
        rank = check_int(rank, "rank", minimum=0)
        if rank > self.max_rank:
            raise ValueError(f"rank must be <= {self.max_rank}, got {rank}")
        if A.shape[1] != self.mean.size or y.shape[1] != A.shape[0]:
            raise ValueError(
                f"A must have shape (m, {self.mean.size}) and y shape (B, m), "
                f"got {A.shape} and {y.shape}"
            )
        base = np.broadcast_to(self.mean, (y.shape[0], self.mean.size))
        if rank == 0:
            return base.copy()
        U = self.components[:, :rank]
        coef, *_ = np.linalg.lstsq(A @ U, (y - A @ self.mean).T, rcond=None)
        return base + (U @ coef).T

    def best_rank(
        self, A: np.ndarray, x_val: np.ndarray, ranks: range | None = None
    ) -> tuple[int, np.ndarray]:
        """The rank with the smallest mean relative error on validation signals.

        Parameters
        ----------
        A : array_like, shape (m, n)
        x_val : array_like, shape (N_val, n)
            Validation signals (measured as ``x_val @ A.T``).
        ranks : range, optional
            Candidates (default 0..min(m, `max_rank`)).

        Returns
        -------
        rank : int
            The smallest rank whose error is within 1e-12 of the smallest (ties, e.g. at
            rounding level, go to the smaller rank).
        errors : ndarray
            The mean relative error of each candidate.
        """
        A = as_float_array(A, "A", ndim=(2,))
        x_val = as_float_array(x_val, "x_val", ndim=(2,))
        if ranks is None:
            ranks = range(min(A.shape[0], self.max_rank) + 1)
        y = x_val @ A.T
        errors = np.array(
            [np.mean(relative_error(self.reconstruct(A, y, r), x_val)) for r in ranks]
        )
        best = int(np.flatnonzero(errors <= errors.min() + 1e-12)[0])
        return int(list(ranks)[best]), errors
