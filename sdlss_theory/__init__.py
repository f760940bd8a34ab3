"""sdlss-theory: compressed sensing with sparse-latent ReLU generative priors.

The model, the solvers and the studies are described in docs/ (docs/index.md is the map);
everything a user calls is importable from here.
"""

from importlib.metadata import PackageNotFoundError, version

from sdlss_theory import experiment, pml, srec, theory
from sdlss_theory.best_approximation import BestApproximation, best_sparse_approximation
from sdlss_theory.data import (
    MNIST_SOURCES,
    MNISTSource,
    SyntheticDataset,
    fetch_mnist,
    load_digits,
    load_idx,
    load_mnist,
    load_mnist_dataset,
    sparse_latents,
    synthetic_dataset,
    train_test_split,
)
from sdlss_theory.experiment import RecoveryProblem, draw_problem, score_recovery
from sdlss_theory.generator import ReLUGenerator
from sdlss_theory.piece_count import PieceCount, count_pieces
from sdlss_theory.projection import hard_threshold, support
from sdlss_theory.sensing import add_noise, gaussian_matrix, rademacher_matrix, subsampled_dct
from sdlss_theory.solvers import (
    IHT,
    NIHT,
    SOLVERS,
    BasisPursuit,
    LatentGD,
    LatentIHT,
    LatentNIHT,
    LatentRecover,
    Oracle,
    RecoveryResult,
    basis_pursuit,
    iht,
    latent_gd,
    latent_iht,
    latent_niht,
    latent_recover,
    make_solver,
    niht,
    oracle,
)

try:
    __version__ = version("sdlss-theory")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "IHT",
    "NIHT",
    "SOLVERS",
    "BasisPursuit",
    "BestApproximation",
    "LatentGD",
    "LatentIHT",
    "LatentNIHT",
    "LatentRecover",
    "MNISTSource",
    "MNIST_SOURCES",
    "Oracle",
    "PieceCount",
    "ReLUGenerator",
    "RecoveryProblem",
    "RecoveryResult",
    "SyntheticDataset",
    "add_noise",
    "basis_pursuit",
    "count_pieces",
    "best_sparse_approximation",
    "draw_problem",
    "experiment",
    "fetch_mnist",
    "gaussian_matrix",
    "hard_threshold",
    "iht",
    "latent_gd",
    "latent_iht",
    "latent_niht",
    "latent_recover",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_mnist_dataset",
    "make_solver",
    "niht",
    "oracle",
    "pml",
    "rademacher_matrix",
    "score_recovery",
    "sparse_latents",
    "srec",
    "subsampled_dct",
    "support",
    "synthetic_dataset",
    "theory",
    "train_test_split",
]
