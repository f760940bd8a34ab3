"""Helpers shared by several studies (a private module: not discovered as a study).

Drawing a problem, scoring a recovery and classifying its failure are the library's
(`sdlss_theory.experiment`), not this module's.
"""

from __future__ import annotations

from collections.abc import Iterable

from sdlss_theory.sweep import StudyConfig, config_to_dict

__all__ = ["fixed_params"]


def fixed_params(config: StudyConfig, swept: Iterable[str]) -> dict:
    """The parameters every cell shares: the fields of `config` except trials, seed and `swept`.

    Values are plain (tuples become lists) and keep the order of the dataclass fields.
    """
    skip = {"trials", "seed", *swept}
    return {key: value for key, value in config_to_dict(config).items() if key not in skip}
