from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from rlvae_tutorial.idx import load_mnist, read_idx, write_idx


def _fake_mnist(folder: Path, n: int, split: str = "train", gz: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    prefix = "train" if split == "train" else "t10k"
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path: Path, dtype: type, gz: bool) -> None:
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    path = write_idx(tmp_path / ("a.idx.gz" if gz else "a.idx"), array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and np.array_equal(back, array)


def test_idx_header_is_the_standard_one(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "l.idx", np.array([3, 1, 4], dtype=np.uint8))
    assert path.read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 3, 1, 4])


def test_bad_idx_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04rest")
    with pytest.raises(ValueError, match="is not an IDX file"):
        read_idx(bad)
    path = write_idx(tmp_path / "t.idx", np.zeros((10, 5), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(ValueError, match="holds 47 bytes of data, expected 50"):
        read_idx(path)
    gz = tmp_path / "t.gz"
    gz.write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x05abcde")[:-6])
    with pytest.raises(ValueError, match="could not be read"):
        read_idx(gz)
    with pytest.raises(ValueError, match="IDX cannot store dtype"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.complex64))


@pytest.mark.parametrize("layout", ["", "mnist", "MNIST/raw"])
def test_load_mnist_from_local_files(tmp_path: Path, layout: str) -> None:
    images, labels = _fake_mnist(tmp_path / layout, 12, "test", gz=layout != "mnist")
    x, y = load_mnist("test", root=tmp_path)
    assert x.shape == (12, 784) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert torch.allclose(x[3], torch.from_numpy(images[3].reshape(-1) / 255.0).float())
    assert torch.equal(y, torch.from_numpy(labels.astype(np.int64)))
    xb, _ = load_mnist("test", root=tmp_path, binarize=True, flatten=False)
    assert xb.shape == (12, 28, 28) and set(xb.unique().tolist()) <= {0.0, 1.0}


def test_fashion_and_env_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_mnist(tmp_path / "FashionMNIST" / "raw", 5)
    monkeypatch.setenv("RLVAE_DATA", str(tmp_path))
    x, _ = load_mnist("train", dataset="fashion-mnist")
    assert x.shape == (5, 784)


def test_missing_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"mnist train files .* not found under .*Download the IDX files from https://"):
        load_mnist("train", root=tmp_path)
    with pytest.raises(FileNotFoundError, match="zalandoresearch"):
        load_mnist("test", dataset="fashion-mnist", root=tmp_path)
    with pytest.raises(ValueError, match="unknown split 'val'"):
        load_mnist("val", root=tmp_path)
    with pytest.raises(ValueError, match="unknown dataset 'cifar'"):
        load_mnist(dataset="cifar", root=tmp_path)


def test_mismatched_images_and_labels(tmp_path: Path) -> None:
    _fake_mnist(tmp_path, 4)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(root=tmp_path)
