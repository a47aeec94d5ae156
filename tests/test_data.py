from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

from rlvae_tutorial.data import load_digits, split_validation  # noqa: E402
from rlvae_tutorial.plots import image_grid  # noqa: E402


def test_digit_split_sizes_and_range() -> None:
    x, y = load_digits("train")
    xt, yt = load_digits("test")
    assert x.shape == (1437, 64) and y.shape == (1437,) and xt.shape == (360, 64)
    assert x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(y.tolist()) == set(range(10)) == set(yt.tolist())


def test_split_is_deterministic_and_disjoint() -> None:
    x1, _ = load_digits("test")
    x2, _ = load_digits("test")
    assert torch.equal(x1, x2)
    train = {tuple(r) for r in load_digits("train")[0].tolist()}
    test = [tuple(r) for r in x1.tolist()]
    all_rows = [tuple(r) for r in load_digits("all")[0].tolist()]
    # Digits has a few duplicated images; the split is disjoint by index, so compare counts.
    assert len(train) + len(set(test)) >= len(set(all_rows))
    assert load_digits("all")[0].shape == (1797, 64)


def test_binarize_and_unflatten() -> None:
    xb, _ = load_digits("test", binarize=True, flatten=False)
    assert xb.shape == (360, 8, 8)
    assert set(xb.unique().tolist()) == {0.0, 1.0}


def test_device_argument() -> None:
    x, y = load_digits("test", device="cpu")
    assert x.device.type == "cpu" and y.device.type == "cpu"


def test_bad_split_names_allowed_ones() -> None:
    with pytest.raises(ValueError, match="unknown split 'valid'; allowed: train, test, all"):
        load_digits("valid")


def test_split_validation() -> None:
    x, y = load_digits("train")
    (xa, ya), (xv, yv) = split_validation(x, y, 0.2, seed=1)
    assert len(xa) + len(xv) == len(x) and len(xv) == round(0.2 * len(x))
    (xa2, _), _ = split_validation(x, y, 0.2, seed=1)
    assert torch.equal(xa, xa2)
    with pytest.raises(ValueError, match=r"val_fraction must be in \(0, 1\)"):
        split_validation(x, y, 1.5)
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        split_validation(x, y[:-1])


def test_image_grid_returns_axes() -> None:
    x, _ = load_digits("test")
    ax = image_grid(x[:10], nrow=5)
    assert ax.images and ax.images[0].get_array().shape == (2 * 9 + 1, 5 * 9 + 1)
    with pytest.raises(ValueError, match="pass image_shape"):
        image_grid(torch.zeros(2, 10))
    with pytest.raises(ValueError, match=r"images must be \(N, H, W\)"):
        image_grid(torch.zeros(0, 8, 8))
