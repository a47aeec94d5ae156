"""MNIST and Fashion-MNIST from local IDX files (optional; the book itself uses the digits).

Nothing is downloaded unless you ask (``download=True``, which needs torchvision).  Put the four
files of a dataset (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each optionally ``.gz``) in ``root``,
``root/<name>``, or torchvision's layout ``root/MNIST/raw`` / ``root/FashionMNIST/raw``.
``root`` defaults to ``$RLVAE_DATA`` or ``~/.cache/rlvae_tutorial/data``.

Every damaged file (truncated, bad gzip CRC or stream, wrong magic, dtype code or dimensions, or
not an IDX file at all) raises :class:`IDXFormatError` (a ``ValueError``) naming the file and the
fix, never a raw ``zlib`` / ``gzip`` / NumPy exception (``tests/test_fuzz_files.py`` flips bytes
of valid files to check it).
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

DATA_ENV = "RLVAE_DATA"
DEFAULT_ROOT = Path("~/.cache/rlvae_tutorial/data")
# IDX type codes -> big-endian NumPy dtypes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT").
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
DATASETS = {
    "mnist": ("MNIST", "https://yann.lecun.com/exdb/mnist/ (mirror: https://ossci-datasets.s3.amazonaws.com/mnist/)"),
    "fashion-mnist": ("FashionMNIST", "https://github.com/zalandoresearch/fashion-mnist (folder data/fashion)"),
}
FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


class IDXFormatError(ValueError):
    """A data file is damaged or is not what it should be; the message names it and the fix."""


def _open(path: Path):  # noqa: ANN202 - a binary file object
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def read_idx(path: str | Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into an array of its stored shape and dtype."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory, not an IDX file")
    try:
        with _open(path) as f:
            raw = f.read()
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as exc:  # bad CRC, damaged or truncated gzip stream
        raise IDXFormatError(f"{path} could not be read ({type(exc).__name__}: {exc}); the file is corrupt: "
                             "fetch it again") from exc
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise IDXFormatError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()}); fetch it again")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXFormatError(f"{path} is truncated inside its header; fetch it again")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow for damaged sizes
    if len(raw) - header != expected:
        raise IDXFormatError(f"{path} holds {len(raw) - header} bytes of data, expected {expected} for shape "
                             f"{shape}: the file is truncated or corrupt; fetch it again")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write ``array`` as an IDX file (gzipped if the name ends in ``.gz``); return the path."""
    path = Path(path)
    array = np.asarray(array)
    codes = {np.dtype(v).newbyteorder("="): k for k, v in IDX_DTYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use one of uint8, int8, int16, int32, float32, float64")
    header = bytes([0, 0, codes[native], array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    blob = header + array.astype(IDX_DTYPES[codes[native]]).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open(path, "wb") if path.suffix == ".gz" else open(path, "wb")) as f:
        f.write(blob)
    return path


def data_root(root: str | Path | None = None) -> Path:
    """``root``, else ``$RLVAE_DATA``, else ``~/.cache/rlvae_tutorial/data``."""
    return Path(root or os.environ.get(DATA_ENV) or DEFAULT_ROOT).expanduser()


def _find(root: Path, dataset: str, name: str) -> Path | None:
    folder = DATASETS[dataset][0]
    for directory in (root, root / dataset, root / folder, root / folder / "raw"):
        for candidate in (directory / name, directory / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def load_mnist(
    split: str = "train",
    *,
    dataset: str = "mnist",
    root: str | Path | None = None,
    binarize: bool = False,
    flatten: bool = True,
    device: torch.device | str | None = None,
    download: bool = False,
) -> tuple[Tensor, Tensor]:
    """MNIST or Fashion-MNIST as ``(images, labels)``, like :func:`rlvae_tutorial.data.load_digits`.

    images: ``(N, 784)`` float32 in [0, 1] (``(N, 28, 28)`` if ``flatten=False``; 1.0 where
    > 0.5 if ``binarize``); labels: ``(N,)`` int64.  ``split``: ``"train"`` or ``"test"``;
    ``dataset``: ``"mnist"`` or ``"fashion-mnist"``.  A missing file raises ``FileNotFoundError``
    saying where to get it; ``download=True`` fetches it with torchvision (if installed).
    """
    if split not in FILES:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(FILES)}")
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; allowed: {', '.join(DATASETS)}")
    base = data_root(root)
    folder, url = DATASETS[dataset]
    paths = [_find(base, dataset, name) for name in FILES[split]]
    if any(p is None for p in paths) and download:
        _download_with_torchvision(base, dataset, split)
        paths = [_find(base, dataset, name) for name in FILES[split]]
    if any(p is None for p in paths):
        missing = [n for n, p in zip(FILES[split], paths, strict=True) if p is None]
        raise FileNotFoundError(
            f"{dataset} {split} files {missing} (optionally .gz) not found under {base} (also looked in "
            f"{base / dataset}, {base / folder / 'raw'}). Download the IDX files from {url} into {base}, "
            f"or set {DATA_ENV} to the folder that holds them, or call with download=True "
            "(needs `pip install torchvision` and a network). The book's chapters use the embedded digits instead."
        )
    images, labels = (read_idx(p) for p in paths)
    fix = f"fetch the {dataset} files again from {url}"
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXFormatError(f"{paths[0]} holds {images.dtype} images of shape {images.shape}, not uint8 "
                             f"(N, 28, 28): it is not an {dataset} image file or it is damaged; {fix}")
    if labels.dtype != np.uint8 or labels.ndim != 1 or (labels > 9).any():
        raise IDXFormatError(f"{paths[1]} holds {labels.dtype} labels of shape {labels.shape} (max "
                             f"{labels.max(initial=0)}), not uint8 (N,) in 0..9: it is damaged; {fix}")
    if len(images) != len(labels):
        raise IDXFormatError(f"{paths[0]} and {paths[1]} do not match: images {images.shape}, labels "
                             f"{labels.shape}; {fix}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    if binarize:
        x = (x > 0.5).float()
    if flatten:
        x = x.reshape(len(x), -1)
    y = torch.from_numpy(labels.astype(np.int64))
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y


def _download_with_torchvision(root: Path, dataset: str, split: str) -> None:  # pragma: no cover - network
    try:
        from torchvision import datasets
    except ImportError as exc:
        raise ImportError(
            f"download=True needs torchvision (pip install torchvision); or fetch the files from "
            f"{DATASETS[dataset][1]} into {root} yourself"
        ) from exc
    cls = datasets.MNIST if dataset == "mnist" else datasets.FashionMNIST
    cls(str(root), train=split == "train", download=True)
