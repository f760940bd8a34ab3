"""Tests of sdlss_theory.data: sparse latents, teacher datasets, digits, IDX files."""

from __future__ import annotations

import gzip
import http.server
import itertools
import struct
import sys
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sdlss_theory.data import (
    SyntheticDataset,
    load_digits,
    load_idx,
    load_mnist,
    sparse_latents,
    synthetic_dataset,
    train_test_split,
)
from sdlss_theory.generator import ReLUGenerator

# A correct implementation fails a "p > ALPHA" test with probability ALPHA.
ALPHA = 1e-6

# --------------------------------------------------------------------------- IDX writer

IDX_CODES = {
    np.dtype(np.uint8): 0x08,
    np.dtype(np.int8): 0x09,
    np.dtype(np.int16): 0x0B,
    np.dtype(np.int32): 0x0C,
    np.dtype(np.float32): 0x0D,
    np.dtype(np.float64): 0x0E,
}


def idx_bytes(arr, *, code=None, ndim=None, shape=None, prefix=b"\x00\x00"):
    """Encode `arr` as IDX, written independently of the reader (struct, big-endian).

    `code`, `ndim`, `shape` and `prefix` override the header fields to build corrupt files.
    """
    arr = np.asarray(arr)
    code = IDX_CODES[arr.dtype] if code is None else code
    shape = arr.shape if shape is None else shape
    ndim = len(shape) if ndim is None else ndim
    header = prefix + bytes([code, ndim]) + struct.pack(f">{len(shape)}I", *shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes(order="C")


def write_idx(path, arr=None, *, gz=False, raw=None, **header):
    data = idx_bytes(arr, **header) if raw is None else raw
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


# ------------------------------------------------------------------------- IDX: valid


@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 4, 3), (0, 28, 28)])
def test_idx_round_trip(tmp_path, dtype, gz, shape):
    rng = np.random.default_rng(0)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        arr = rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    else:
        arr = rng.standard_normal(shape).astype(dtype)
    out = load_idx(write_idx(tmp_path / "a.idx", arr, gz=gz))
    assert out.shape == shape
    assert out.dtype == dtype  # native byte order
    assert out.dtype.isnative
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, arr)


@given(
    dtype=st.sampled_from(list(IDX_CODES)),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_idx_round_trip_property(tmp_path_factory, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    arr = np.clip(rng.standard_normal(shape) * 50, -100, 100).astype(dtype)
    path = tmp_path_factory.mktemp("idx") / "x"
    np.testing.assert_array_equal(load_idx(write_idx(path, arr)), arr)


def test_idx_compression_is_detected_by_magic_bytes_not_name(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    gz_named_plain = write_idx(tmp_path / "looks-compressed.gz", arr, gz=False)
    plain_named_gz = write_idx(tmp_path / "looks-plain-idx3-ubyte", arr, gz=True)
    np.testing.assert_array_equal(load_idx(gz_named_plain), arr)
    np.testing.assert_array_equal(load_idx(plain_named_gz), arr)
    np.testing.assert_array_equal(load_idx(str(plain_named_gz)), arr)  # str paths too


def test_idx_big_endian_values(tmp_path):
    # 258 as big-endian int16 is bytes 01 02; written by hand, not by numpy
    raw = b"\x00\x00\x0b\x01" + struct.pack(">I", 2) + b"\x01\x02\xff\xfe"
    out = load_idx(write_idx(tmp_path / "be", raw=raw))
    np.testing.assert_array_equal(out, np.array([258, -2], dtype=np.int16))


# ----------------------------------------------------------------------- IDX: corrupt


@pytest.mark.parametrize("gz", [False, True])
def test_idx_bad_magic(tmp_path, gz):
    path = write_idx(tmp_path / "f", np.zeros(3, np.uint8), prefix=b"\x00\x01", gz=gz)
    with pytest.raises(ValueError, match="bad magic number 0x00010801") as info:
        load_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("code", [0x00, 0x07, 0x0A, 0x0F, 0xFF])
def test_idx_unknown_type_code(tmp_path, code):
    path = write_idx(tmp_path / "f", np.zeros(3, np.uint8), code=code)
    with pytest.raises(ValueError, match=f"unknown IDX type code 0x{code:02X}"):
        load_idx(path)


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("missing", [1, 7, 24])
def test_idx_truncated_payload(tmp_path, gz, missing):
    arr = np.arange(24, dtype=np.int16).reshape(3, 8)  # 48 data bytes
    data = idx_bytes(arr)[:-missing]
    path = write_idx(tmp_path / "t", raw=data, gz=gz)
    with pytest.raises(ValueError, match="truncated IDX payload") as info:
        load_idx(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "needs 48 data bytes" in msg and f"got {48 - missing}" in msg


@pytest.mark.parametrize("gz", [False, True])
def test_idx_oversized_payload(tmp_path, gz):
    arr = np.arange(6, dtype=np.float32)  # 24 data bytes
    path = write_idx(tmp_path / "o", raw=idx_bytes(arr) + b"\x00" * 5, gz=gz)
    with pytest.raises(ValueError, match="oversized IDX payload.*needs 24 data bytes.*got 29"):
        load_idx(path)


def test_idx_wrong_number_of_dims(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    # header claims 3 dims but lists 2 sizes: the first 4 data bytes become a size,
    # and the sizes no longer match the payload
    path = write_idx(tmp_path / "d", arr, ndim=3)
    with pytest.raises(ValueError, match="IDX payload") as info:
        load_idx(path)
    assert str(path) in str(info.value)
    # header claims 1 dim for a 2-D payload: the (lone) size 3 is too small
    path = write_idx(tmp_path / "d1", arr, ndim=1)
    with pytest.raises(ValueError, match="oversized IDX payload"):
        load_idx(path)
    # zero dimensions
    path = write_idx(tmp_path / "d0", raw=b"\x00\x00\x08\x00")
    with pytest.raises(ValueError, match="0 dimensions"):
        load_idx(path)


def test_idx_wrong_sizes(tmp_path):
    arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = write_idx(tmp_path / "s", arr, shape=(3, 5))
    with pytest.raises(
        ValueError, match="truncated IDX payload: shape \\(3, 5\\).*needs 15.*got 12"
    ):
        load_idx(path)


def test_idx_truncated_header_and_tiny_files(tmp_path):
    path = write_idx(tmp_path / "h", raw=b"\x00\x00\x08\x03" + struct.pack(">I", 5))
    with pytest.raises(ValueError, match="truncated IDX header.*need 16 header bytes.*holds 8"):
        load_idx(path)
    for raw in (b"", b"\x00\x00"):
        path = write_idx(tmp_path / "tiny", raw=raw)
        with pytest.raises(ValueError, match="shorter than the 4-byte magic number"):
            load_idx(path)


def test_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))
    path = tmp_path / "c.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        load_idx(path)
    assert str(path) in str(info.value)


def test_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_idx(tmp_path / "nope")


# ------------------------------------------------------------------------------- MNIST


def _fake_mnist(directory, kind, n=5, rows=4, cols=3, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    suffix = ".gz" if gz else ""
    write_idx(directory / f"{kind}-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(directory / f"{kind}-labels-idx1-ubyte{suffix}", labels, gz=gz)
    return images, labels


@pytest.mark.parametrize("kind", ["train", "t10k"])
@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist(tmp_path, kind, gz):
    images, labels = _fake_mnist(tmp_path, kind, gz=gz)
    x, y = load_mnist(tmp_path, kind=kind)
    assert x.shape == (5, 12) and x.dtype == np.float64 and x.flags.c_contiguous
    assert y.shape == (5,) and y.dtype == np.int64
    np.testing.assert_array_equal(x * 255, images.reshape(5, -1))
    np.testing.assert_array_equal(y, labels)
    assert x.min() == 0.0 and x.max() == 1.0


def test_load_mnist_full_size_shape(tmp_path):
    _fake_mnist(tmp_path, "t10k", n=3, rows=28, cols=28)
    x, _ = load_mnist(str(tmp_path), "t10k")
    assert x.shape == (3, 784)


def test_load_mnist_accepts_dotted_names(tmp_path):
    images, labels = _fake_mnist(tmp_path, "train")
    for p in tmp_path.iterdir():
        p.rename(tmp_path / p.name.replace("-idx", ".idx"))
    x, y = load_mnist(tmp_path)
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte or .*\\.gz"):
        load_mnist(tmp_path)
    _fake_mnist(tmp_path, "train")
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte or train-labels"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        load_mnist(tmp_path, kind="t10k")


def test_load_mnist_refuses_inconsistent_files(tmp_path):
    _fake_mnist(tmp_path, "train", n=5)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match="holds 5 images but .* holds 4 labels"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros((5, 1), np.uint8))
    with pytest.raises(ValueError, match="expected a 1-D uint8"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(5, np.uint8))
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 9), np.uint8))
    with pytest.raises(ValueError, match="expected a 3-D uint8"):
        load_mnist(tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((5, 3, 3), np.float32))
    with pytest.raises(ValueError, match="expected a 3-D uint8"):
        load_mnist(tmp_path)


def test_load_mnist_bad_kind(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of"):
        load_mnist(tmp_path, kind="test")


# ---------------------------------------------------------------------- sparse latents


@given(
    n_samples=st.integers(1, 30),
    k=st.integers(1, 40),
    data=st.data(),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=80, deadline=None)
def test_sparse_latents_have_exactly_s_nonzeros(n_samples, k, data, seed):
    s = data.draw(st.integers(1, k))
    z = sparse_latents(n_samples, k, s, np.random.default_rng(seed))
    assert z.shape == (n_samples, k) and z.dtype == np.float64 and z.flags.c_contiguous
    assert np.all(np.count_nonzero(z, axis=1) == s)
    assert np.all(np.isfinite(z))


def test_sparse_latent_supports_are_uniform():
    k, s, n = 6, 2, 30000
    z = sparse_latents(n, k, s, np.random.default_rng(1))
    supports = [tuple(np.flatnonzero(row)) for row in z != 0]
    index = {c: i for i, c in enumerate(itertools.combinations(range(k), s))}
    counts = np.bincount([index[c] for c in supports], minlength=comb(k, s))
    assert len(counts) == comb(k, s)
    assert stats.chisquare(counts).pvalue > ALPHA


def test_sparse_latent_supports_chi_square_has_power():
    # a biased support law (coordinate 0 always in the support) is rejected by the same test
    k, s, n = 6, 2, 30000
    z = sparse_latents(n, k - 1, s - 1, np.random.default_rng(1))
    z = np.hstack([np.ones((n, 1)), z])
    index = {c: i for i, c in enumerate(itertools.combinations(range(k), s))}
    counts = np.bincount(
        [index[tuple(np.flatnonzero(row))] for row in z != 0], minlength=comb(k, s)
    )
    assert stats.chisquare(counts).pvalue < ALPHA


def test_sparse_latent_values_are_standard_normal():
    z = sparse_latents(2000, 10, 3, np.random.default_rng(2))
    values = z[z != 0]
    assert values.size == 6000
    assert stats.kstest(values, stats.norm.cdf).pvalue > ALPHA


def test_sparse_latents_reproducible():
    a = sparse_latents(10, 8, 3, np.random.default_rng(4))
    b = sparse_latents(10, 8, 3, np.random.default_rng(4))
    c = sparse_latents(10, 8, 3, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    "args, err, pattern",
    [
        ((0, 5, 2), ValueError, "^n_samples must be >= 1"),
        ((3, 0, 1), ValueError, "^k must be >= 1"),
        ((3, 5, 0), ValueError, "^s must be >= 1"),
        ((3, 5, 6), ValueError, "^s must be at most the dimension k"),
        ((3, 5.5, 2), ValueError, "^k must be an integer"),
    ],
)
def test_sparse_latents_bad_arguments(args, err, pattern):
    with pytest.raises(err, match=pattern):
        sparse_latents(*args, np.random.default_rng(0))


def test_sparse_latents_bad_rng():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        sparse_latents(3, 5, 2, None)


# ------------------------------------------------------------------- synthetic dataset


@pytest.fixture
def teacher():
    return ReLUGenerator.random([8, 16, 20], np.random.default_rng(123))


def test_synthetic_dataset_is_on_the_union_of_submanifolds(teacher):
    ds = synthetic_dataset(teacher, 3, 40, 10, np.random.default_rng(0))
    assert isinstance(ds, SyntheticDataset)
    assert ds.x_train.shape == (40, 20) and ds.x_test.shape == (10, 20)
    assert ds.z_train.shape == (40, 8) and ds.z_test.shape == (10, 8)
    assert ds.s == 3 and ds.noise_sigma == 0.0
    for z, x in ((ds.z_train, ds.x_train), (ds.z_test, ds.x_test)):
        assert np.all(np.count_nonzero(z, axis=1) == 3)
        np.testing.assert_array_equal(x, teacher(z))
        assert x.dtype == np.float64 and x.flags.c_contiguous


def test_synthetic_dataset_noise_law(teacher):
    sigma = 0.05
    ds = synthetic_dataset(teacher, 2, 300, 50, np.random.default_rng(1), noise_sigma=sigma)
    resid = np.concatenate([ds.x_train - teacher(ds.z_train), ds.x_test - teacher(ds.z_test)])
    assert stats.kstest(resid.ravel() / sigma, stats.norm.cdf).pvalue > ALPHA


def test_synthetic_dataset_reproducible_and_split_fixed(teacher):
    a = synthetic_dataset(teacher, 2, 20, 5, np.random.default_rng(9))
    b = synthetic_dataset(teacher, 2, 20, 5, np.random.default_rng(9))
    c = synthetic_dataset(teacher, 2, 20, 5, np.random.default_rng(10))
    for f in ("x_train", "x_test", "z_train", "z_test"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not np.array_equal(a.z_train, c.z_train)
    # the documented split: all codes drawn at once, the first n_train are the train set
    z = sparse_latents(25, teacher.k, 2, np.random.default_rng(9))
    np.testing.assert_array_equal(a.z_train, z[:20])
    np.testing.assert_array_equal(a.z_test, z[20:])


def test_synthetic_dataset_empty_test_set(teacher):
    ds = synthetic_dataset(teacher, 1, 4, 0, np.random.default_rng(0))
    assert ds.x_test.shape == (0, 20) and ds.z_test.shape == (0, 8)


def test_synthetic_dataset_bad_arguments(teacher):
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="s must be at most the dimension k"):
        synthetic_dataset(teacher, 9, 4, 2, rng)
    with pytest.raises(ValueError, match="^n_train must be >= 1"):
        synthetic_dataset(teacher, 2, 0, 2, rng)
    with pytest.raises(ValueError, match="^n_test must be >= 0"):
        synthetic_dataset(teacher, 2, 3, -1, rng)
    with pytest.raises(ValueError, match="^noise_sigma must"):
        synthetic_dataset(teacher, 2, 3, 1, rng, noise_sigma=-1.0)
    with pytest.raises(TypeError, match="^teacher must be a ReLUGenerator"):
        synthetic_dataset(np.eye(3), 2, 3, 1, rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        synthetic_dataset(teacher, 2, 3, 1, "42")


# ------------------------------------------------------------------------------ digits


def test_load_digits():
    pytest.importorskip("sklearn")  # installed here and in the `test` extra
    x, y = load_digits()
    assert x.shape == (1797, 64) and x.dtype == np.float64 and x.flags.c_contiguous
    assert y.shape == (1797,) and y.dtype == np.int64
    assert x.min() == 0.0 and x.max() == 1.0
    np.testing.assert_array_equal(x * 16, np.round(x * 16))  # 17 grey levels
    assert set(np.unique(y)) == set(range(10))
    x3, y3 = load_digits(flatten=False)
    assert x3.shape == (1797, 8, 8)
    np.testing.assert_array_equal(x3.reshape(1797, 64), x)
    np.testing.assert_array_equal(y3, y)


def test_load_digits_without_sklearn(monkeypatch):
    # a None entry in sys.modules makes `import sklearn.datasets` raise ImportError
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r'pip install "sdlss-theory\[digits\]"'):
        load_digits()


# ------------------------------------------------------------------------------- split


def test_train_test_split_is_a_paired_partition():
    x = np.arange(50.0).reshape(25, 2)
    y = np.arange(25)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, rng=np.random.default_rng(0))
    assert len(y_te) == 5 and len(y_tr) == 20
    np.testing.assert_array_equal(np.sort(np.concatenate([y_tr, y_te])), y)
    np.testing.assert_array_equal(x_tr[:, 0], 2 * y_tr)  # rows stay paired
    np.testing.assert_array_equal(x_te[:, 0], 2 * y_te)
    again = train_test_split(x, y, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(again[3], y_te)
    other = train_test_split(x, y, rng=np.random.default_rng(1))
    assert not np.array_equal(other[3], y_te)


@pytest.mark.parametrize("frac, n_test", [(0.01, 1), (0.5, 5), (0.99, 9)])
def test_train_test_split_sizes(frac, n_test):
    a_tr, a_te = train_test_split(np.arange(10), rng=np.random.default_rng(0), test_fraction=frac)
    assert len(a_te) == n_test and len(a_tr) == 10 - n_test


def test_train_test_split_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same length"):
        train_test_split(np.zeros(4), np.zeros(5), rng=rng)
    with pytest.raises(ValueError, match="^test_fraction must"):
        train_test_split(np.zeros(4), rng=rng, test_fraction=1.0)
    with pytest.raises(ValueError, match="^test_fraction must"):
        train_test_split(np.zeros(4), rng=rng, test_fraction=0.0)
    with pytest.raises(ValueError, match="at least 2 rows"):
        train_test_split(np.zeros(1), rng=rng)
    with pytest.raises(ValueError, match="at least one array"):
        train_test_split(rng=rng)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        train_test_split(np.zeros(4), rng=None)


# ------------------------------------------------------- downloads (local HTTP server)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def idx_server(tmp_path):
    """A local HTTP server serving four small gzipped MNIST-format files.

    Yields its URL, the files' MD5 checksums and the folder served.
    """
    import hashlib
    import threading
    from functools import partial

    served = tmp_path / "served"
    served.mkdir()
    _fake_mnist(served, "train", n=6, gz=True, seed=1)
    _fake_mnist(served, "t10k", n=4, gz=True, seed=2)
    hashes = {p.name: "md5:" + hashlib.md5(p.read_bytes()).hexdigest() for p in served.iterdir()}
    handler = partial(_QuietHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", hashes, served
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_mnist_downloads_verifies_and_caches(tmp_path, idx_server):
    from sdlss_theory.data import MNISTSource, fetch_mnist, load_mnist_dataset

    url, hashes, served = idx_server
    source = MNISTSource("tiny", url, hashes)
    cache = tmp_path / "cache"
    folder = fetch_mnist(source, cache_dir=cache)
    assert folder == cache / "tiny"
    assert sorted(p.name for p in folder.iterdir()) == sorted(hashes)
    x_train, y_train, x_test, y_test = load_mnist_dataset(source, download=True, cache_dir=cache)
    expected, labels = load_mnist(served, "train")
    np.testing.assert_array_equal(x_train, expected)
    np.testing.assert_array_equal(y_train, labels)
    assert x_test.shape == (4, 12) and y_test.shape == (4,)
    # A second call finds verified files in the cache and never touches the network.
    offline = MNISTSource("tiny", "http://127.0.0.1:9/", hashes)
    assert fetch_mnist(offline, cache_dir=cache) == folder


def test_fetch_mnist_refuses_a_corrupt_download(tmp_path, idx_server):
    from sdlss_theory.data import MNISTSource, fetch_mnist

    url, hashes, _ = idx_server
    bad = dict(hashes)
    bad["t10k-labels-idx1-ubyte.gz"] = "md5:" + "0" * 32
    with pytest.raises(ValueError, match="checksum mismatch.*not kept"):
        fetch_mnist(MNISTSource("tiny", url, bad), cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "tiny" / "t10k-labels-idx1-ubyte.gz").exists()


def test_fetch_mnist_reports_an_unreachable_server(tmp_path, idx_server):
    from sdlss_theory.data import MNISTSource, fetch_mnist

    _, hashes, _ = idx_server
    with pytest.raises(ConnectionError, match="could not download http://127.0.0.1:9/train"):
        fetch_mnist(MNISTSource("tiny", "http://127.0.0.1:9/", hashes), cache_dir=tmp_path)
    with pytest.raises(ConnectionError, match="could not download .*missing"):
        url, _, _ = idx_server
        fetch_mnist(MNISTSource("tiny", url + "missing/", hashes), cache_dir=tmp_path / "c2")


def test_load_mnist_dataset_never_downloads_unasked(tmp_path):
    from sdlss_theory.data import MNISTSource, load_mnist_dataset

    with pytest.raises(FileNotFoundError, match="download=False"):
        load_mnist_dataset("mnist")
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_mnist_dataset("cifar", folder=tmp_path)
    _fake_mnist(tmp_path, "train")
    with pytest.raises(FileNotFoundError, match="t10k-images"):
        load_mnist_dataset("fashion-mnist", folder=tmp_path)
    _fake_mnist(tmp_path, "t10k")
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00")
    with pytest.raises(ValueError, match="truncated IDX header"):
        load_mnist_dataset("mnist", folder=tmp_path)
    with pytest.raises(ValueError, match="no checksum"):
        MNISTSource("x", "http://h/", {})


def test_published_sources_name_all_four_files():
    from sdlss_theory.data import MNIST_FILES, MNIST_SOURCES

    assert set(MNIST_SOURCES) == {"mnist", "fashion-mnist"}
    for source in MNIST_SOURCES.values():
        assert set(source.hashes) == set(MNIST_FILES)
        assert source.base_url.startswith("https://")
        assert all(h.startswith("md5:") and len(h) == 36 for h in source.hashes.values())
