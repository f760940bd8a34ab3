"""The contract every solver follows, and its options' one path from keywords to checked values.

A solver is a class built once per problem and reusable for many measurement vectors, with
a functional wrapper (the PyLops pattern):

- ``Solver(problem arguments, **options)`` validates every option at construction: the
  options are a frozen dataclass (``Solver.Options``) whose ``__post_init__`` checks them,
  so a bad value fails before any work;
- ``solver.solve(y, *, z0=None, rng=None)`` returns a `RecoveryResult`. ``z0`` gives
  starting points (shape ``(k,)`` or ``(R, k)``); ``rng`` (a ``numpy.random.Generator`` or
  an integer seed, `check_rng`) is drawn from only where the solver says so, and a solver
  that needs it refuses a missing one before doing any work;
- the shared vocabulary: ``starts`` is the total number of starting points (rows of ``z0``
  first); ``converged`` means the solver's stopping rule was met; ``certified`` means a
  certificate computed afresh at the returned point holds; ``cert_tol`` sets its tolerance.

Options renamed since the previous release keep working for one release with a
`DeprecationWarning` (`Solver.renamed`); options removed are accepted, ignored and warned
about (`Solver.removed`).
"""

from __future__ import annotations

import dataclasses
import warnings
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["Solver", "checked_rng", "positive_int", "unit_interval"]


def positive_int(value, name: str, minimum: int = 1) -> int:
    """`check_int` for an option (the one spelling of "an integer >= minimum")."""
    return check_int(value, name, minimum=minimum)


def unit_interval(value, name: str) -> float:
    """A float in (0, 1]."""
    value = check_positive_float(value, name)
    if value > 1.0:
        raise ValueError(f"{name} must be in (0, 1], got {value}")
    return value


def checked_rng(rng, needed: bool, why: str) -> np.random.Generator | None:
    """`rng` as a Generator; a missing one is refused up front when ``needed``.

    ``why`` completes "rng is required to ..." in the error.
    """
    if rng is None:
        if needed:
            raise ValueError(
                f"rng is required to {why}: pass rng=np.random.default_rng(seed) "
                "(or an integer seed)"
            )
        return None
    return check_rng(rng)


class Solver(ABC):
    """Base of every solver (see the module docstring for the contract).

    Subclasses set `Options` (a frozen dataclass that validates itself) and implement
    `solve`; their ``__init__`` builds ``self.problem`` and calls `_set_options`.
    """

    #: The solver's options: a frozen dataclass with defaults that checks its values.
    Options: ClassVar[type]
    #: Options renamed since the previous release: old keyword -> new keyword.
    renamed: ClassVar[Mapping[str, str]] = {"restarts": "starts"}
    #: Options removed since the previous release (accepted with a warning, ignored).
    removed: ClassVar[tuple[str, ...]] = ("engine",)

    options: Any

    def _set_options(self, options: Any, keywords: dict[str, Any]) -> None:
        """Store ``Options`` built from `options` (or the defaults) updated by `keywords`."""
        name = type(self).__name__
        for old in [key for key in keywords if key in self.removed]:
            keywords.pop(old)
            warnings.warn(
                f"{name}: the option {old!r} is deprecated and has no effect",
                DeprecationWarning,
                stacklevel=4,
            )
        for old, new in self.renamed.items():
            if old in keywords:
                if new in keywords:
                    raise TypeError(f"{name}: give {new!r} or its old name {old!r}, not both")
                warnings.warn(
                    f"{name}: the option {old!r} is deprecated; use {new!r}",
                    DeprecationWarning,
                    stacklevel=4,
                )
                keywords[new] = keywords.pop(old)
        fields = {f.name for f in dataclasses.fields(self.Options)}
        unknown = sorted(set(keywords) - fields)
        if unknown:
            raise TypeError(
                f"{name} got unknown options {unknown}; its options are {sorted(fields)}"
            )
        base = self.default_options() if options is None else options
        if not isinstance(base, self.Options):
            raise TypeError(f"options must be a {self.Options.__name__}, got {base!r}")
        self.options = dataclasses.replace(base, **keywords)

    def default_options(self) -> Any:
        """The defaults of `Options` (a solver may choose them from the problem)."""
        return self.Options()

    @abstractmethod
    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover from the measurements y; see the class docstring."""
