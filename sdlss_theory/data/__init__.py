"""Data: synthetic union-of-submanifolds signals, scikit-learn's digits, and IDX files.

One module per source, every name importable from ``sdlss_theory.data``: :mod:`.synthetic`
(`sparse_latents`, `synthetic_dataset`), :mod:`.digits` (`load_digits`,
`train_test_split`), :mod:`.idx` (`load_idx`, `load_mnist`), :mod:`.mnist` (`MNISTSource`,
`fetch_mnist`, `load_mnist_dataset`).

Nothing is downloaded unless asked: `fetch_mnist` (MNIST / Fashion-MNIST, with pooch and
checksums, into a cache folder) runs only when called, or through
``load_mnist_dataset(..., download=True)``. The synthetic data follow the SDLSS model
(Killedar, Pokala & Seelamantula, ICASSP 2021): x = G(z) with an s-sparse latent z, so the
signals lie on a union of C(k, s) sub-manifolds, one per support. Real images come either
from the 8x8 digits bundled with scikit-learn (optional extra ``digits``) or from MNIST /
Fashion-MNIST IDX files the user already has on disk.

References
----------
.. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
   sampling for generative prior based compressive sensing", ICASSP 2021.
.. [2] Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten digits",
   http://yann.lecun.com/exdb/mnist/ (the IDX file format is described there).
.. [3] E. Alpaydin and C. Kaynak, "Optical recognition of handwritten digits", UCI Machine
   Learning Repository, 1998 (the 8x8 digits bundled with scikit-learn).
"""

from sdlss_theory.data.digits import load_digits, train_test_split
from sdlss_theory.data.idx import IDX_DTYPES, load_idx, load_mnist
from sdlss_theory.data.mnist import (
    MNIST_FILES,
    MNIST_SOURCES,
    MNISTSource,
    fetch_mnist,
    load_mnist_dataset,
)
from sdlss_theory.data.synthetic import SyntheticDataset, sparse_latents, synthetic_dataset

__all__ = [
    "SyntheticDataset",
    "sparse_latents",
    "synthetic_dataset",
    "load_digits",
    "train_test_split",
    "load_idx",
    "load_mnist",
    "MNISTSource",
    "MNIST_SOURCES",
    "fetch_mnist",
    "load_mnist_dataset",
    "IDX_DTYPES",
    "MNIST_FILES",
]
