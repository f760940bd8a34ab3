"""What recovery experiments share: draw a problem, score a recovery, classify a failure.

One definition of each for every study that recovers signals (and for new ones; see
docs/index.md, "Adding a recovery study"):

* `draw_problem`: a random bias-free (or biased) ReLU generator G, an s-sparse z* with
  G(z*) != 0 (`nonzero_sparse_code`), A with N(0, 1/m) entries, y = A G(z*) (+ noise);
* `score_recovery`: success, ||G(z_hat) - x*|| <= tol ||x*||, and the failure's kind
  (`classify_failure`).

A failed recovery is an *identifiability failure* when z_hat explains the measurements at
least as well as z* does, ||y - A G(z_hat)|| <= ||y - A G(z*)|| + ident_tol ||y||, yet
G(z_hat) is far from x*: another code fits y, and no solver of the same measurement
objective could tell the two apart. Otherwise it is an *optimisation failure*: the solver
stopped at a worse fit than the truth offers. The metrics are named ``ident_failure`` and
``opt_failure``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float
from sdlss_theory.data import sparse_latents
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.sensing import add_noise, gaussian_matrix

__all__ = [
    "MAX_REDRAWS",
    "RecoveryProblem",
    "classify_failure",
    "draw_problem",
    "nonzero_sparse_code",
    "score_recovery",
]

#: How many codes z* are drawn before a generator with G(z*) = 0 is declared degenerate.
MAX_REDRAWS = 100

FailureKind = Literal["none", "identifiability", "optimisation"]


def nonzero_sparse_code(
    G: ReLUGenerator, s: int, rng: np.random.Generator, *, max_redraws: int = MAX_REDRAWS
) -> tuple[np.ndarray, np.ndarray]:
    """An s-sparse z* (the law of `sparse_latents`) with G(z*) != 0, and x* = G(z*).

    With narrow layers every ReLU can be off at z*, which makes relative errors undefined:
    z* is redrawn, so the experiments condition on a non-zero signal (at the default widths
    of the studies a zero signal has probability below 2^-60).

    Raises
    ------
    RuntimeError
        If G(z*) = 0 for `max_redraws` draws: the generator is degenerate.
    """
    max_redraws = check_int(max_redraws, "max_redraws", minimum=1)
    for _ in range(max_redraws):
        z_star = sparse_latents(1, G.k, s, rng)[0]
        x = G(z_star)
        if np.any(x != 0):
            return z_star, x
    raise RuntimeError(f"G(z*) = 0 for {max_redraws} draws of z*: the generator is degenerate")


@dataclass(frozen=True)
class RecoveryProblem:
    """One recovery problem: y = A G(z*) (+ noise), with x* = G(z*) != 0.

    Attributes
    ----------
    G : ReLUGenerator
    A : ndarray, shape (m, n)
    z_star : ndarray, shape (k,)
        The s-sparse code.
    x_star : ndarray, shape (n,)
        G(z*), non-zero.
    y : ndarray, shape (m,)
        The measurements.
    """

    G: ReLUGenerator
    A: np.ndarray
    z_star: np.ndarray
    x_star: np.ndarray
    y: np.ndarray

    @property
    def support(self) -> np.ndarray:
        """The support of z*, sorted."""
        return np.flatnonzero(self.z_star)


def draw_problem(
    dims: Sequence[int],
    s: int,
    m: int,
    rng: np.random.Generator,
    *,
    init: str = "hand",
    bias: bool = False,
    snr_db: float | None = None,
    max_redraws: int = MAX_REDRAWS,
) -> RecoveryProblem:
    """Draw G, then z* with G(z*) != 0, then A, in that order from `rng`.

    Parameters
    ----------
    dims : sequence of int
        ``[k, n_1, ..., n]``: the generator's layer sizes (`ReLUGenerator.random`, linear
        output).
    s : int
        Non-zeros of z* (uniform support, N(0, 1) values: `sparse_latents`).
    m : int
        Measurements: A has i.i.d. N(0, 1/m) entries (`gaussian_matrix`).
    rng : numpy.random.Generator
        The only source of randomness; the draws G, z*, A (, noise) come in that order, so a
        study that draws them by hand in the same order gets the same problem.
    init, bias
        As in `ReLUGenerator.random`.
    snr_db : float, optional
        Add white Gaussian noise at this SNR (`add_noise`, drawn last); none by default.
    max_redraws : int
        Draws of z* before the generator is declared degenerate (`nonzero_sparse_code`).

    Returns
    -------
    RecoveryProblem
    """
    G = ReLUGenerator.random(list(dims), rng, init=init, bias=bias)
    z_star, x_star = nonzero_sparse_code(G, s, rng, max_redraws=max_redraws)
    A = gaussian_matrix(m, G.n, rng)
    y = A @ x_star
    if snr_db is not None:
        y = add_noise(y, rng, snr_db=snr_db)
    return RecoveryProblem(G, A, z_star, x_star, y)


def classify_failure(
    success: bool, residual: float, residual_star: float, norm_y: float, ident_tol: float
) -> FailureKind:
    """The kind of a recovery's failure (the module docstring states the rule).

    Parameters
    ----------
    success : bool
        Whether the recovery succeeded (then the kind is ``"none"``).
    residual, residual_star : float
        ||y - A G(z_hat)|| and ||y - A G(z*)||.
    norm_y : float
        ||y||.
    ident_tol : float
        Slack of "fits as well", relative to ||y||.

    Returns
    -------
    {"none", "identifiability", "optimisation"}
    """
    if success:
        return "none"
    fits_as_well = residual <= residual_star + ident_tol * norm_y
    return "identifiability" if fits_as_well else "optimisation"


def score_recovery(
    problem: RecoveryProblem, z_hat: np.ndarray, *, tol: float = 1e-3, ident_tol: float = 1e-6
) -> dict[str, float | bool]:
    """Score a recovered code z_hat in R^k against the truth of `problem`.

    Parameters
    ----------
    problem : RecoveryProblem
    z_hat : ndarray, shape (k,)
        The recovered code (a known-support solver's lifted to R^k, as `Oracle` returns it).
    tol : float
        Success: ||G(z_hat) - x*|| <= tol ||x*||.
    ident_tol : float
        The slack of `classify_failure`.

    Returns
    -------
    dict
        ``success``, ``ident_failure``, ``opt_failure`` (booleans, exactly one of the three
        true), ``rel_error`` = ||G(z_hat) - x*|| / ||x*||, ``rel_residual`` =
        ||y - A G(z_hat)|| / ||y|| (inf if y = 0), ``latent_error`` =
        ||z_hat - z*|| / ||z*||, ``support_match`` (same support as z*).
    """
    tol = check_positive_float(tol, "tol")
    ident_tol = check_positive_float(ident_tol, "ident_tol", allow_zero=True)
    z_hat = np.asarray(z_hat, dtype=np.float64)
    if z_hat.shape != problem.z_star.shape:
        raise ValueError(f"z_hat must have shape {problem.z_star.shape}, got {z_hat.shape}")
    G, A, y, x_star = problem.G, problem.A, problem.y, problem.x_star
    x_hat = G(z_hat)
    rel_error = float(np.linalg.norm(x_hat - x_star)) / float(np.linalg.norm(x_star))
    norm_y = float(np.linalg.norm(y))
    residual = float(np.linalg.norm(y - A @ x_hat))
    residual_star = float(np.linalg.norm(y - A @ x_star))
    success = bool(rel_error <= tol)
    kind = classify_failure(success, residual, residual_star, norm_y, ident_tol)
    return {
        "success": success,
        "ident_failure": kind == "identifiability",
        "opt_failure": kind == "optimisation",
        "rel_error": rel_error,
        "rel_residual": residual / norm_y if norm_y > 0 else np.inf,
        "latent_error": float(np.linalg.norm(z_hat - problem.z_star))
        / float(np.linalg.norm(problem.z_star)),
        "support_match": bool(np.array_equal(np.flatnonzero(z_hat), problem.support)),
    }
