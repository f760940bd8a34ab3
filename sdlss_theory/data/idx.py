"""IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or not, from a folder."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

__all__ = ["IDX_DTYPES", "load_idx", "load_mnist"]


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
