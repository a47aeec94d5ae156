"""Damaged data files get the package's error (IDXFormatError) or parse correctly; nothing else.

Valid small IDX files (raw and gzipped) are written by the test, then damaged in seeded random
ways: bytes flipped, cut short, garbage appended, or replaced by something that is not IDX at all.
Each damaged file must either raise :class:`~rlvae_tutorial.idx.IDXFormatError` or parse to an
array that re-encodes to exactly the (decompressed) bytes that were read: a correct parse of what
the file says.  A raw zlib / gzip / NumPy exception, or a wrong parse, fails the test.
Every case is written to a new file: overwriting one file thousands of times is ~7 ms a write on
ext4 (it flushes on truncate), a new file ~1 ms.
"""

from __future__ import annotations

import gzip
import os
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvae_tutorial.idx import IDXFormatError, load_mnist, read_idx, write_idx

SEED = 20261130
N_READ_CASES = 4000
N_LOAD_CASES = 1200


def _arrays() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, size=(3, 4, 5), dtype=np.uint8),
        rng.integers(0, 10, size=7, dtype=np.uint8),
        rng.integers(-500, 500, size=(2, 6)).astype(np.int16),
        rng.integers(-(2**20), 2**20, size=(4,)).astype(np.int32),
        rng.normal(size=(2, 2, 2)).astype(np.float32),
        rng.normal(size=3).astype(np.float64),
        np.zeros((0, 4), dtype=np.int8),
    ]


NOT_IDX = [
    b"",
    b"\x00",
    b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n",
    gzip.compress(b"<html>rate limited</html>", mtime=0),
    b"\x1f\x8b",
    b"\x1f\x8b\x08\x00garbage",
    zlib.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07"),  # zlib, not gzip
    bytes(range(256)),
]


def _damage(blob: bytes, rng: np.random.Generator) -> bytes:
    kind = rng.integers(0, 10)
    b = bytearray(blob)
    if kind <= 5 and b:  # flip 1-4 bytes (the most common damage), often in the header
        for _ in range(int(rng.integers(1, 5))):
            i = int(rng.integers(0, min(len(b), 24))) if rng.random() < 0.5 else int(rng.integers(0, len(b)))
            b[i] ^= int(rng.integers(1, 256))
        return bytes(b)
    if kind <= 7:  # truncated (a download or a write cut short)
        return bytes(b[: int(rng.integers(0, len(b)))]) if b else b""
    if kind == 8:  # garbage appended
        return bytes(b) + rng.bytes(int(rng.integers(1, 16)))
    return NOT_IDX[int(rng.integers(0, len(NOT_IDX)))]


def _raw_bytes(blob: bytes) -> bytes:
    """What a reader sees: the decompressed stream if the file is gzipped, else the file."""
    return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob


CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(np.int16): 0x0B,
         np.dtype(np.int32): 0x0C, np.dtype(np.float32): 0x0D, np.dtype(np.float64): 0x0E}


def _check_parse(array: np.ndarray, blob: bytes) -> None:
    """The array, encoded again by the IDX spec (written out here, independently of write_idx),
    is byte for byte what was read."""
    header = bytes([0, 0, CODES[array.dtype], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    again = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    assert again == _raw_bytes(blob), "read_idx returned an array that is not what the file holds"


def test_damaged_idx_files_raise_the_package_error_or_parse_correctly(tmp_path: Path) -> None:
    rng = np.random.default_rng(SEED)
    valid = []
    for i, array in enumerate(_arrays()):
        for gz in (False, True):
            valid.append(write_idx(tmp_path / f"v{i}.idx{'.gz' if gz else ''}", array).read_bytes())
    outcomes = {"error": 0, "parsed": 0}
    start = time.perf_counter()
    for case in range(N_READ_CASES):
        blob = _damage(valid[case % len(valid)], rng)
        path = tmp_path / f"damaged{case}"
        path.write_bytes(blob)
        try:
            array = read_idx(path)
        except IDXFormatError:
            outcomes["error"] += 1
            continue
        except Exception as exc:  # noqa: BLE001 - the point: nothing else may escape
            pytest.fail(f"case {case}: {type(exc).__name__}: {exc} escaped read_idx for bytes {blob[:40]!r}...")
        _check_parse(array, blob)
        outcomes["parsed"] += 1
    elapsed = time.perf_counter() - start
    # Both outcomes occur (damage in the data section of a raw file still parses, correctly).
    assert outcomes["error"] > N_READ_CASES // 4 and outcomes["parsed"] > 50, outcomes
    assert elapsed < 60, f"{N_READ_CASES} cases took {elapsed:.1f} s"


def _fake_mnist(folder: Path, gz: bool) -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    suffix = ".gz" if gz else ""
    files = {
        f"train-images-idx3-ubyte{suffix}": rng.integers(0, 256, size=(3, 28, 28), dtype=np.uint8),
        f"train-labels-idx1-ubyte{suffix}": rng.integers(0, 10, size=3, dtype=np.uint8),
    }
    return {name: write_idx(folder / name, a).read_bytes() for name, a in files.items()}


@pytest.mark.parametrize("gz", [False, True])
def test_damaged_mnist_files_raise_the_package_error_or_load(tmp_path: Path, gz: bool) -> None:
    rng = np.random.default_rng(SEED + gz)
    valid = _fake_mnist(tmp_path, gz)
    names = sorted(valid)
    errors = 0
    for case in range(N_LOAD_CASES // 2):
        name, other = names[case % 2], names[1 - case % 2]
        root = tmp_path / f"case{case}"
        root.mkdir()
        (root / name).write_bytes(_damage(valid[name], rng))
        os.link(tmp_path / other, root / other)  # the undamaged companion, without a copy
        try:
            x, y = load_mnist("train", root=root)
        except IDXFormatError:
            errors += 1
        except Exception as exc:  # noqa: BLE001
            pytest.fail(f"case {case} ({name}): {type(exc).__name__}: {exc} escaped load_mnist")
        else:
            assert x.shape == (3, 784) and x.dtype == torch.float32 and bool(((x >= 0) & (x <= 1)).all())
            assert y.shape == (3,) and y.dtype == torch.int64 and bool(((y >= 0) & (y <= 9)).all())
    assert errors > N_LOAD_CASES // 8


@pytest.mark.parametrize(
    ("blob", "match"),
    [
        (b"", "not an IDX file"),
        (b"<html>404</html>", "not an IDX file"),
        (gzip.compress(b"<html>404</html>", mtime=0), "not an IDX file"),
        (gzip.compress(b"\x00\x00\x08\x03\x00\x00", mtime=0), "truncated inside its header"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "bad magic number"),  # unknown dtype code 0x07
        (b"\x00\x00\x08\x01\x00\x00\x00\x05abc", "holds 3 bytes of data, expected 5"),
        (b"\x00\x00\x08\x02\xff\xff\xff\xff\xff\xff\xff\xff\x00", "expected 18446744065119617025"),
    ],
)
def test_each_kind_of_damage_is_named(tmp_path: Path, blob: bytes, match: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(blob)
    with pytest.raises(IDXFormatError, match=match):
        read_idx(path)


def test_gzip_crc_and_damaged_stream_are_the_package_error(tmp_path: Path) -> None:
    good = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x03abc", mtime=0)
    bad_crc = good[:-8] + bytes([good[-8] ^ 0xFF]) + good[-7:]
    bad_stream = good[:10] + b"\xff" * 6 + good[16:]  # deflate data replaced: zlib.error inside gzip
    for blob, match in ((bad_crc, "could not be read .*CRC"), (bad_stream, "could not be read")):
        path = tmp_path / "f.gz"
        path.write_bytes(blob)
        with pytest.raises(IDXFormatError, match=match):
            read_idx(path)


def test_mnist_with_wrong_dtype_or_dimensions_is_the_package_error(tmp_path: Path) -> None:
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, dtype=np.uint8))
    for images, match in ((np.zeros((2, 28, 28), dtype=np.float32), "float32 images"),
                          (np.zeros((2, 27, 28), dtype=np.uint8), r"shape \(2, 27, 28\)"),
                          (np.zeros((2, 784), dtype=np.uint8), "not uint8 \\(N, 28, 28\\)")):
        write_idx(tmp_path / "train-images-idx3-ubyte", images)
        with pytest.raises(IDXFormatError, match=match):
            load_mnist(root=tmp_path)
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([3, 12], dtype=np.uint8))
    with pytest.raises(IDXFormatError, match="in 0..9"):
        load_mnist(root=tmp_path)
