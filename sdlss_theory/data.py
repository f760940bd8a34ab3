"""Data: synthetic union-of-submanifolds signals, scikit-learn's digits, and IDX files.

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

from __future__ import annotations

import gzip
import math
import numbers
import os
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._validation import check_int, check_positive_float, check_rng
from .projection import check_sparsity

if TYPE_CHECKING:  # pragma: no cover
    from .generator import ReLUGenerator

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
]


# ----------------------------------------------------------------------------- synthetic


def sparse_latents(n_samples: int, k: int, s: int, rng: np.random.Generator) -> np.ndarray:
    r"""Draw s-sparse latent codes with a uniformly random support and Gaussian non-zeros.

    Each row z is drawn independently: its support :math:`S \subset \{0, \dots, k-1\}` is
    uniform over the :math:`\binom{k}{s}` subsets of size s, and
    :math:`z_S \sim \mathcal N(0, I_s)`, :math:`z_{S^c} = 0`. Every row therefore has
    exactly s non-zeros (almost surely). This is the latent law of the SDLSS model [1]_.

    Parameters
    ----------
    n_samples : int
        Number of codes B, >= 1.
    k : int
        Latent dimension, >= 1.
    s : int
        Sparsity, 1 <= s <= k.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        C-contiguous float64 array of shape (B, k).

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    k = check_int(k, "k", minimum=1)
    s = check_sparsity(s, k)
    rng = check_rng(rng)
    # The positions of the s smallest of k i.i.d. uniforms form a uniformly random s-subset
    # (exchangeability); argpartition finds them in O(k) per row.
    keys = rng.random((n_samples, k))
    support = np.argpartition(keys, s - 1, axis=1)[:, :s]
    z = np.zeros((n_samples, k))
    np.put_along_axis(z, support, rng.standard_normal((n_samples, s)), axis=1)
    return z


@dataclass(frozen=True)
class SyntheticDataset:
    """Train and test signals x = G(z) (+ noise) with their s-sparse latent codes.

    Attributes
    ----------
    x_train, x_test : numpy.ndarray
        Signals, shapes (n_train, n) and (n_test, n).
    z_train, z_test : numpy.ndarray
        The latent codes that generated them, shapes (n_train, k) and (n_test, k).
    s : int
        The sparsity of the codes.
    noise_sigma : float
        Standard deviation of the Gaussian noise added to x (0 for exact G(z)).
    """

    x_train: np.ndarray
    x_test: np.ndarray
    z_train: np.ndarray
    z_test: np.ndarray
    s: int
    noise_sigma: float


def synthetic_dataset(
    teacher: ReLUGenerator,
    s: int,
    n_train: int,
    n_test: int,
    rng: np.random.Generator,
    *,
    noise_sigma: float = 0.0,
) -> SyntheticDataset:
    r"""Draw a train/test set from a teacher generator with s-sparse latents.

    .. math:: z^{(i)} \sim \text{sparse\_latents}(k, s), \qquad
              x^{(i)} = G(z^{(i)}) + \sigma\, \xi^{(i)}, \quad
              \xi^{(i)} \sim \mathcal N(0, I_n),

    so with ``noise_sigma = 0`` every x lies exactly on the union of the C(k, s)
    sub-manifolds :math:`\{G(z) : \mathrm{supp}(z) = S\}` [1]_; with noise it lies near it
    (model mismatch: the noise is on the signal, not on the measurements).

    The codes of all ``n_train + n_test`` examples are drawn first, in one call, and the
    first ``n_train`` form the training set; the noise is drawn afterwards. The split is
    therefore fixed by the state of ``rng`` (the same seed gives the same split).

    Parameters
    ----------
    teacher : ReLUGenerator
        The generator G: anything with integer attributes ``k`` and ``n`` that maps a
        (B, k) array to a (B, n) array.
    s : int
        Sparsity of the latent codes, 1 <= s <= teacher.k.
    n_train : int
        Number of training examples, >= 1.
    n_test : int
        Number of test examples, >= 0.
    rng : numpy.random.Generator
        Source of randomness.
    noise_sigma : float, default 0.0
        Standard deviation of the i.i.d. Gaussian noise added to each signal, >= 0.

    Returns
    -------
    SyntheticDataset

    References
    ----------
    .. [1] V. Killedar, P. K. Pokala and C. S. Seelamantula, "Sparsity driven latent space
       sampling for generative prior based compressive sensing", ICASSP 2021.
    """
    k, n = getattr(teacher, "k", None), getattr(teacher, "n", None)
    if not (
        callable(teacher) and isinstance(k, numbers.Integral) and isinstance(n, numbers.Integral)
    ):
        raise TypeError(
            "teacher must be a ReLUGenerator (callable, with integer attributes k and n), "
            f"got {type(teacher).__name__}"
        )
    k, n = int(k), int(n)
    s = check_sparsity(s, k)
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=0)
    noise_sigma = check_positive_float(noise_sigma, "noise_sigma", allow_zero=True)
    rng = check_rng(rng)
    z = sparse_latents(n_train + n_test, k, s, rng)
    x = np.ascontiguousarray(teacher(z), dtype=np.float64)
    if x.shape != (n_train + n_test, n):
        raise ValueError(
            f"teacher must map (B, k) to (B, n) = {(n_train + n_test, n)}, got shape {x.shape}"
        )
    if noise_sigma > 0:
        x += noise_sigma * rng.standard_normal(x.shape)
    return SyntheticDataset(
        x_train=np.ascontiguousarray(x[:n_train]),
        x_test=np.ascontiguousarray(x[n_train:]),
        z_train=np.ascontiguousarray(z[:n_train]),
        z_test=np.ascontiguousarray(z[n_train:]),
        s=s,
        noise_sigma=noise_sigma,
    )


# ------------------------------------------------------------------------- digits, split

_DIGITS_MISSING = (
    "load_digits needs scikit-learn, which is an optional extra of sdlss-theory; "
    'install it with: pip install "sdlss-theory[digits]"'
)


def load_digits(*, flatten: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Load scikit-learn's bundled 8x8 handwritten digits, scaled to [0, 1].

    The 1,797 images of the UCI optical digits test set [1]_, shipped inside scikit-learn
    (no download). Pixel values are integers 0..16 in the source; they are divided by 16.

    Parameters
    ----------
    flatten : bool, default True
        Return images of shape (1797, 64) (row-major) rather than (1797, 8, 8).

    Returns
    -------
    images : numpy.ndarray
        C-contiguous float64, values in [0, 1], shape (1797, 64) or (1797, 8, 8).
    labels : numpy.ndarray
        int64 digit labels 0..9, shape (1797,).

    Raises
    ------
    ImportError
        If scikit-learn is not installed (``pip install "sdlss-theory[digits]"``).

    References
    ----------
    .. [1] E. Alpaydin and C. Kaynak, "Optical recognition of handwritten digits", UCI
       Machine Learning Repository, 1998.
    """
    try:
        from sklearn.datasets import load_digits as _sk_load_digits
    except ImportError as exc:
        raise ImportError(_DIGITS_MISSING) from exc
    bunch = _sk_load_digits()
    images = np.asarray(bunch.images, dtype=np.float64) / 16.0
    if flatten:
        images = images.reshape(images.shape[0], -1)
    return np.ascontiguousarray(images), np.asarray(bunch.target, dtype=np.int64)


def train_test_split(
    *arrays: np.ndarray, rng: np.random.Generator, test_fraction: float = 0.2
) -> list[np.ndarray]:
    """Split arrays along their first axis into a random train part and test part.

    One random permutation of the N rows (from ``rng``) is applied to every array; the
    first ``N - n_test`` permuted rows go to train and the rest to test, with
    ``n_test = round(test_fraction * N)`` clipped to [1, N - 1].

    Parameters
    ----------
    *arrays : array_like
        One or more arrays with the same length N >= 2 along axis 0 (e.g. images, labels).
    rng : numpy.random.Generator
        Source of randomness; the same seed gives the same split.
    test_fraction : float, default 0.2
        Fraction of rows in the test part, in (0, 1).

    Returns
    -------
    list of numpy.ndarray
        ``[a_train, a_test, b_train, b_test, ...]``, new arrays (copies).
    """
    rng = check_rng(rng)
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    test_fraction = check_positive_float(test_fraction, "test_fraction")
    if test_fraction >= 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    arrays = tuple(np.asarray(a) for a in arrays)
    for i, a in enumerate(arrays):
        if a.ndim == 0:
            raise ValueError(f"arrays[{i}] must have at least one axis, got a scalar")
    n = arrays[0].shape[0]
    for i, a in enumerate(arrays[1:], start=1):
        if a.shape[0] != n:
            raise ValueError(
                f"arrays must have the same length along axis 0: arrays[0] has {n}, "
                f"arrays[{i}] has {a.shape[0]}"
            )
    if n < 2:
        raise ValueError(f"train_test_split needs at least 2 rows, got {n}")
    n_test = min(max(int(round(test_fraction * n)), 1), n - 1)
    perm = rng.permutation(n)
    train_idx, test_idx = perm[: n - n_test], perm[n - n_test :]
    out: list[np.ndarray] = []
    for a in arrays:
        out.append(np.ascontiguousarray(a[train_idx]))
        out.append(np.ascontiguousarray(a[test_idx]))
    return out


# ---------------------------------------------------------------------------- IDX files

#: IDX type codes (third byte of the magic number) -> big-endian numpy dtypes.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_maybe_gzip(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: corrupt or truncated gzip stream ({exc})") from exc


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (the MNIST / Fashion-MNIST format), gzip-compressed or not.

    The format [1]_: a 4-byte magic number ``0x00 0x00 T D`` where T is the type code
    (0x08 unsigned byte, 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64) and D >= 1 the number of dimensions; then D big-endian uint32 sizes;
    then the data, big-endian, in row-major order. Compression is recognised by the gzip
    magic bytes 0x1f 0x8b at the start of the file, not by the file name.

    Every field is checked: the two zero bytes, the type code, the header length, and the
    payload length against the product of the sizes (a truncated or oversized payload is an
    error that states both byte counts).

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    numpy.ndarray
        An array of shape ``(size_1, ..., size_D)`` in native byte order, with the dtype
        given by the type code (e.g. uint8 for MNIST images and labels).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a valid IDX file; the message names the file and the problem.

    References
    ----------
    .. [1] Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of handwritten
       digits", http://yann.lecun.com/exdb/mnist/.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise ValueError(
            f"{path}: not an IDX file: {len(data)} bytes, shorter than the 4-byte magic number"
        )
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{path}: not an IDX file: bad magic number 0x{data[:4].hex()} "
            "(the first two bytes must be zero)"
        )
    code, ndim = data[2], data[3]
    if code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: unknown IDX type code 0x{code:02X} (expected one of {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions (expected at least 1)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(
            f"{path}: truncated IDX header: {ndim} dimensions need {header} header bytes, "
            f"the file holds {len(data)}"
        )
    shape = tuple(int(v) for v in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = IDX_DTYPES[code]
    expected = math.prod(shape) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        what = "truncated" if actual < expected else "oversized"
        raise ValueError(
            f"{path}: {what} IDX payload: shape {shape} of {dtype.newbyteorder('=').name} "
            f"needs {expected} data bytes after the {header}-byte header, got {actual}"
        )
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), order="C")


_MNIST_KINDS = ("train", "t10k")


def _find_idx(directory: Path, stem: str) -> Path | None:
    """The first existing file among the usual spellings of an MNIST file name."""
    dotted = stem.replace("-idx", ".idx")  # e.g. train-images.idx3-ubyte (Kaggle copies)
    for name in (stem, stem + ".gz", dotted, dotted + ".gz"):
        if (directory / name).is_file():
            return directory / name
    return None


def load_mnist(directory: str | os.PathLike, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST or Fashion-MNIST images and labels from IDX files in a directory.

    Looks for ``{kind}-images-idx3-ubyte`` and ``{kind}-labels-idx1-ubyte``, each with or
    without ``.gz`` (also accepted: ``{kind}-images.idx3-ubyte`` and so on). Both datasets
    use the same names. Nothing is downloaded.

    Parameters
    ----------
    directory : str or os.PathLike
        The directory holding the files.
    kind : {"train", "t10k"}, default "train"
        The training set (60,000 images) or the test set (10,000 images).

    Returns
    -------
    images : numpy.ndarray
        float64 in [0, 1] (bytes divided by 255), shape (N, rows * cols), i.e. (N, 784)
        for MNIST, each image flattened row-major.
    labels : numpy.ndarray
        int64, shape (N,).

    Raises
    ------
    FileNotFoundError
        If a file is missing; the message lists the file names looked for.
    ValueError
        If a file is not valid IDX, or images and labels do not match (type, dimensions,
        count).
    """
    if kind not in _MNIST_KINDS:
        raise ValueError(f"kind must be one of {_MNIST_KINDS}, got {kind!r}")
    directory = Path(directory)
    found = {}
    for part, stem in (
        ("images", f"{kind}-images-idx3-ubyte"),
        ("labels", f"{kind}-labels-idx1-ubyte"),
    ):
        path = _find_idx(directory, stem)
        if path is None:
            raise FileNotFoundError(
                f"no MNIST {part} file in {directory}: expected {stem} or {stem}.gz "
                "(or download them: sdlss_theory.fetch_mnist, or "
                "load_mnist_dataset(download=True))"
            )
        found[part] = path
    images, labels = load_idx(found["images"]), load_idx(found["labels"])
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(
            f"{found['images']}: expected a 3-D uint8 IDX array (N, rows, cols), "
            f"got {images.ndim}-D {images.dtype}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(
            f"{found['labels']}: expected a 1-D uint8 IDX array (N,), "
            f"got {labels.ndim}-D {labels.dtype}"
        )
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{found['images']} holds {images.shape[0]} images but {found['labels']} holds "
            f"{labels.shape[0]} labels"
        )
    x = images.reshape(images.shape[0], -1).astype(np.float64)
    x /= 255.0
    return x, labels.astype(np.int64)


# ----------------------------------------------------------------- MNIST-scale datasets

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
