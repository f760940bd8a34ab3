"""MNIST-scale datasets: where they are downloaded from (on request only) and how they load."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sdlss_theory.data.idx import load_mnist

__all__ = ["MNIST_FILES", "MNIST_SOURCES", "MNISTSource", "fetch_mnist", "load_mnist_dataset"]


#: The four files of an MNIST-format dataset, in the order (train images, train labels,
#: test images, test labels).
MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class MNISTSource:
    """Where an MNIST-format dataset is downloaded from, and the checksums of its files.

    Attributes
    ----------
    name : str
        The dataset's name (also the name of its cache sub-folder).
    base_url : str
        The files are ``base_url + file name``.
    hashes : mapping of str to str
        ``file name -> "md5:<hex>"`` (or ``"sha256:<hex>"``) for the four `MNIST_FILES`.
    """

    name: str
    base_url: str
    hashes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [f for f in MNIST_FILES if f not in self.hashes]
        if missing:
            raise ValueError(f"MNISTSource {self.name!r}: no checksum for {missing}")
        if not self.base_url.endswith("/"):
            object.__setattr__(self, "base_url", self.base_url + "/")


#: The published MNIST and Fashion-MNIST files and their MD5 checksums (the checksums that
#: torchvision and the datasets' authors publish).
MNIST_SOURCES: dict[str, MNISTSource] = {
    "mnist": MNISTSource(
        "mnist",
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        {
            "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
            "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
            "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
            "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
        },
    ),
    "fashion-mnist": MNISTSource(
        "fashion-mnist",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        {
            "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
            "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
            "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
        },
    ),
}

_POOCH_MISSING = (
    "downloading needs pooch, an optional extra of sdlss-theory; install it with: "
    'pip install "sdlss-theory[download]" (or give the folder that holds the IDX files)'
)


def _source(dataset: str | MNISTSource) -> MNISTSource:
    if isinstance(dataset, MNISTSource):
        return dataset
    if dataset not in MNIST_SOURCES:
        raise ValueError(f"dataset must be one of {sorted(MNIST_SOURCES)}, got {dataset!r}")
    return MNIST_SOURCES[dataset]


def fetch_mnist(
    dataset: str | MNISTSource = "mnist",
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: bool = False,
) -> Path:
    """Download an MNIST-format dataset (once) and verify its checksums; return its folder.

    Each of the four `MNIST_FILES` is fetched with pooch [1]_ into ``cache_dir/<name>``
    unless a file with the right checksum is already there (then nothing touches the
    network). A file whose checksum does not match is refused, and nothing is kept of it.
    This is the only function of the package that downloads, and it runs only when called.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist"} or MNISTSource
        The dataset (an `MNISTSource` names another server, e.g. a local mirror).
    cache_dir : path-like, optional
        The cache folder (default: the user cache folder of sdlss-theory,
        ``pooch.os_cache("sdlss-theory")``).
    progress : bool
        Show download progress bars (needs tqdm).

    Returns
    -------
    Path
        The folder holding the four verified files (give it to `load_mnist`).

    Raises
    ------
    ImportError
        If pooch is not installed (``pip install "sdlss-theory[download]"``).
    ConnectionError
        If a file cannot be downloaded (no network, server unreachable, HTTP error).
    ValueError
        If a downloaded file's checksum does not match.

    References
    ----------
    .. [1] L. Uieda et al., "Pooch: a friend to fetch your data files", JOSS 5(45), 2020.
    """
    source = _source(dataset)
    try:
        import pooch
    except ImportError as exc:  # pragma: no cover - exercised only without pooch
        raise ImportError(_POOCH_MISSING) from exc
    root = Path(pooch.os_cache("sdlss-theory")) if cache_dir is None else Path(cache_dir)
    folder = root / source.name
    for name in MNIST_FILES:
        url = source.base_url + name
        try:
            pooch.retrieve(
                url,
                known_hash=source.hashes[name],
                fname=name,
                path=folder,
                progressbar=progress,
            )
        except ValueError as exc:
            raise ValueError(
                f"{url}: checksum mismatch ({exc}); the downloaded file is not the published "
                f"{source.name} file and was not kept"
            ) from exc
        except Exception as exc:  # requests' and urllib's errors: network, HTTP status
            if isinstance(exc, (ImportError, KeyboardInterrupt)):
                raise
            raise ConnectionError(
                f"could not download {url} into {folder}: {type(exc).__name__}: {exc} "
                "(no network? give the folder that holds the files instead)"
            ) from exc
    return folder


def load_mnist_dataset(
    dataset: str | MNISTSource = "mnist",
    *,
    folder: str | os.PathLike | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST or Fashion-MNIST, training and test sets, from a folder or (on request) a download.

    Parameters
    ----------
    dataset : {"mnist", "fashion-mnist"} or MNISTSource
    folder : path-like, optional
        A folder holding the IDX files (any spelling `load_mnist` accepts). Nothing is
        downloaded when it is given.
    download : bool
        Without `folder`: download the files with `fetch_mnist` (into `cache_dir`) when
        True; when False (the default) refuse, naming both ways.
    cache_dir : path-like, optional
        The download cache (see `fetch_mnist`).

    Returns
    -------
    x_train, labels_train, x_test, labels_test : ndarray
        Images as float64 in [0, 1], shape (N, 784); labels int64.
    """
    _source(dataset)
    if folder is None:
        if not download:
            raise FileNotFoundError(
                f"no folder with the {_source(dataset).name} IDX files was given and "
                "download=False; give the folder (folder=...) or ask for the download "
                "(download=True, into cache_dir)"
            )
        folder = fetch_mnist(dataset, cache_dir=cache_dir)
    x_train, y_train = load_mnist(folder, "train")
    x_test, y_test = load_mnist(folder, "t10k")
    return x_train, y_train, x_test, y_test
