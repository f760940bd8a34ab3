"""Latent (SDLSS) and classical sparse-recovery solvers, one contract for all (`_base`)."""

from sdlss_theory.solvers._result import RecoveryResult
from sdlss_theory.solvers.classical import (
    IHT,
    NIHT,
    BasisPursuit,
    basis_pursuit,
    iht,
    niht,
)
from sdlss_theory.solvers.latent import (
    LatentGD,
    LatentIHT,
    LatentNIHT,
    latent_gd,
    latent_iht,
    latent_niht,
)
from sdlss_theory.solvers.recover import LatentRecover, RecoverOptions, latent_recover
from sdlss_theory.solvers.registry import SOLVERS, Oracle, make_solver, oracle

__all__ = [
    "SOLVERS",
    "IHT",
    "NIHT",
    "BasisPursuit",
    "LatentGD",
    "LatentIHT",
    "LatentNIHT",
    "LatentRecover",
    "Oracle",
    "RecoverOptions",
    "RecoveryResult",
    "basis_pursuit",
    "iht",
    "latent_gd",
    "latent_iht",
    "latent_niht",
    "latent_recover",
    "make_solver",
    "niht",
    "oracle",
]
