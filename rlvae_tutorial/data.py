"""Embedded datasets: scikit-learn's 8x8 digits, with a fixed, deterministic split.

No file is downloaded: the digits ship inside scikit-learn.  ``load_digits("train")`` and
``load_digits("test")`` give the book's fixed 1,437 / 360 split; :func:`split_validation`
carves a validation set out of the training images for early stopping.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

SPLITS = ("train", "test", "all")
DIGITS_TEST_SIZE = 360  # of 1,797 images: 1,437 train / 360 test
DIGITS_SHAPE = (8, 8)


@lru_cache(maxsize=4)
def _digits_arrays(split_seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    from sklearn.datasets import load_digits as _sk_load_digits

    bunch = _sk_load_digits()
    images = (bunch.data / 16.0).astype(np.float32)  # (1797, 64) in [0, 1]
    labels = bunch.target.astype(np.int64)  # (1797,)
    rng = np.random.default_rng(split_seed)
    # Stratified split: the same share of every digit in train and test.
    test_idx = []
    for digit in range(10):
        idx = np.flatnonzero(labels == digit)
        n_test = round(DIGITS_TEST_SIZE * len(idx) / len(labels))
        test_idx.extend(rng.choice(idx, size=n_test, replace=False).tolist())
    test_mask = np.zeros(len(labels), dtype=bool)
    test_mask[test_idx[:DIGITS_TEST_SIZE]] = True
    # Rounding can leave the test set one short or long: fix it deterministically.
    while test_mask.sum() < DIGITS_TEST_SIZE:
        test_mask[np.flatnonzero(~test_mask)[0]] = True
    return {
        "train": (images[~test_mask], labels[~test_mask]),
        "test": (images[test_mask], labels[test_mask]),
        "all": (images, labels),
    }


def load_digits(
    split: str = "train",
    *,
    binarize: bool = False,
    flatten: bool = True,
    device: torch.device | str | None = None,
    split_seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Return scikit-learn's digits as ``(images, labels)`` tensors.

    images: ``(N, 64)`` float32 in [0, 1] (``(N, 8, 8)`` if ``flatten=False``); with
    ``binarize=True`` pixels are 1.0 where the intensity is > 0.5, else 0.0.
    labels: ``(N,)`` int64 digit classes 0-9.  ``split`` is ``"train"`` (1,437 images),
    ``"test"`` (360) or ``"all"`` (1,797); the split is stratified by digit and the same for the
    same ``split_seed``.  ``device`` defaults to the CPU; pass ``setup.device`` to follow the book's
    device choice.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    images, labels = _digits_arrays(int(split_seed))[split]
    x = torch.from_numpy(images.copy())
    if binarize:
        x = (x > 0.5).float()
    if not flatten:
        x = x.reshape(-1, *DIGITS_SHAPE)
    y = torch.from_numpy(labels.copy())
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y


def split_validation(
    x: Tensor, y: Tensor, val_fraction: float = 0.15, *, seed: int = 0
) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
    """Split ``(x, y)`` into ``((x_train, y_train), (x_val, y_val))`` at random, reproducibly.

    ``val_fraction`` of the rows (at least one) go to validation; the permutation comes from a
    generator seeded with ``seed``.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y disagree on the number of rows: {x.shape[0]} vs {y.shape[0]}")
    n = x.shape[0]
    n_val = max(1, round(n * val_fraction))
    generator = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=generator).to(x.device)
    val, train = perm[:n_val], perm[n_val:]
    return (x[train], y[train]), (x[val], y[val])
