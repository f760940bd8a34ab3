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
"""

from __future__ import annotations

import dataclasses
import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from sdlss_theory._validation import check_int, check_positive_float, check_rng
from sdlss_theory.projection import check_sparsity
from sdlss_theory.solvers._problem import Problem
from sdlss_theory.solvers._result import RecoveryResult

__all__ = ["LatentSolver", "Solver", "checked_rng", "functional", "positive_int", "unit_interval"]


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

    options: Any

    def _set_options(self, options: Any, keywords: dict[str, Any]) -> None:
        """Store ``Options`` built from `options` (or the defaults) updated by `keywords`."""
        name = type(self).__name__
        fields = {f.name for f in dataclasses.fields(self.Options)}
        unknown = sorted(set(keywords) - fields)
        if unknown:
            raise TypeError(
                f"{name} got unknown options {unknown}; its options are {sorted(fields)}"
            )
        base = self.default_options() if options is None else options
        if not isinstance(base, self.Options):
            raise TypeError(f"options must be a {self.Options.__name__}, got {base!r}")
        self.options = dataclasses.replace(base, **keywords) if keywords else base

    def default_options(self) -> Any:
        """The defaults of `Options` (a solver may choose them from the problem)."""
        return self.Options()

    @abstractmethod
    def solve(
        self, y: np.ndarray, *, z0: np.ndarray | None = None, rng: Any = None
    ) -> RecoveryResult:
        """Recover from the measurements y.

        Parameters
        ----------
        y : ndarray, shape (m,)
            The measurements.
        z0 : ndarray, shape (k,) or (R, k), optional
            Starting points (each solver says how it uses them).
        rng : numpy.random.Generator or int, optional
            The source of every random draw of the solve (`check_rng`); a solver that needs
            it refuses a missing one before doing any work, or documents its default.

        Returns
        -------
        RecoveryResult
        """


class LatentSolver(Solver):
    """A solver of y = A G(z): ``Solver(G, A, s, options=None, **keywords)``.

    Packs z -> A G(z) once (`ReLUGenerator.pack`), checks s (None: s = k, no sparsity) and
    the options.
    """

    problem: Problem
    s: int

    def __init__(self, G, A, s: int | None = None, options: Any = None, **keywords: Any):
        self.problem = Problem.from_generator(G, A)
        k = self.problem.k
        self.s = k if s is None else check_sparsity(s, k)
        self._set_options(options, keywords)


def functional(
    name: str, cls: type[Solver], params: tuple[str, ...], summary: str
) -> Callable[..., RecoveryResult]:
    """The functional form of a solver class: ``f(*params, z0=None, rng=None, **options)``.

    ``f`` builds ``cls`` from `params` without ``y`` and the options, and solves for ``y``.
    """
    kind = inspect.Parameter
    signature = inspect.Signature(
        [kind(p, kind.POSITIONAL_OR_KEYWORD) for p in params]
        + [kind(n, kind.KEYWORD_ONLY, default=None) for n in ("z0", "rng")]
        + [kind("options", kind.VAR_KEYWORD)],
        return_annotation=RecoveryResult,
    )
    built = ", ".join(p for p in params if p != "y")

    def solve(*args: Any, **kwargs: Any) -> RecoveryResult:
        bound = signature.bind(*args, **kwargs).arguments
        problem = [bound[p] for p in params if p != "y"]
        solver = cls(*problem, **bound.get("options", {}))
        return solver.solve(bound["y"], z0=bound.get("z0"), rng=bound.get("rng"))

    solve.__name__ = solve.__qualname__ = name
    solve.__module__ = cls.__module__
    solve.__signature__ = signature  # type: ignore[attr-defined]
    solve.__doc__ = f"""{summary}: ``{cls.__name__}({built}, **options).solve(y, z0=, rng=)``.

    Parameters
    ----------
    {", ".join(params)}
        As in `{cls.__name__}` (y: the measurements, shape (m,)).
    z0, rng
        See `{cls.__name__}.solve`.
    **options
        The options of `{cls.__name__}`: the fields of `{cls.Options.__name__}`.

    Returns
    -------
    RecoveryResult
    """
    return solve
