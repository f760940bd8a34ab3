"""Helpers shared by several studies (a private module: not discovered as a study)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sdlss_theory import ReLUGenerator, sparse_latents
from sdlss_theory.sweep import StudyConfig, config_to_dict

#: How many times a code z* is redrawn before a generator with G(z*) = 0 is called degenerate.
MAX_REDRAWS = 100


def fixed_params(config: StudyConfig, swept: Iterable[str]) -> dict:
    """The parameters every cell shares: the fields of `config` except trials, seed and `swept`.

    Values are plain (tuples become lists) and keep the order of the dataclass fields.
    """
    skip = {"trials", "seed", *swept}
    return {key: value for key, value in config_to_dict(config).items() if key not in skip}


def nonzero_sparse_code(
    G: ReLUGenerator, s: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """An s-sparse z* (law of `sparse_latents`) with G(z*) != 0, and x = G(z*).

    With tiny widths every ReLU can be off at z*, so z* is redrawn (at most `MAX_REDRAWS`
    times): the studies condition on a non-zero signal.
    """
    for _ in range(MAX_REDRAWS):
        z_star = sparse_latents(1, G.k, s, rng)[0]
        x = G(z_star)
        if np.any(x != 0):
            return z_star, x
    raise RuntimeError(f"G(z*) = 0 for {MAX_REDRAWS} draws of z*: the generator is degenerate")
