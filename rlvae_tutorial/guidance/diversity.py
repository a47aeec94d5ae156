"""How varied are generated samples?  Three measures that drop when a generator mode-collapses.

- :func:`mean_pairwise_distance`: the mean Euclidean distance between two different samples;
- :func:`distinct_nearest`: how many different training images are nearest to some sample;
- :func:`class_entropy`: the entropy (nats) of the predicted classes' histogram.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float, as_floats


def mean_pairwise_distance(x: Tensor) -> Tensor:
    """mean_{i != j} ||x_i - x_j||_2 over N samples: ``(N, D) -> ()``; needs N >= 2."""
    if x.dim() != 2 or x.shape[0] < 2:
        raise ValueError(f"need samples of shape (N, D) with N >= 2, got {tuple(x.shape)}")
    n = x.shape[0]
    x = as_float(x)
    d = torch.cdist(x, x)  # (N, N), zero diagonal
    return d.sum() / (n * (n - 1))


def nearest_index(x: Tensor, reference: Tensor) -> Tensor:
    """Index of the nearest (Euclidean) row of ``reference`` ``(M, D)`` for each x ``(N, D)``: ``(N,)``."""
    if x.dim() != 2 or reference.dim() != 2 or x.shape[1] != reference.shape[1]:
        raise ValueError(f"need x (N, D) and reference (M, D), got {tuple(x.shape)} and {tuple(reference.shape)}")
    return torch.cdist(*as_floats(x, reference)).argmin(dim=1)


def distinct_nearest(x: Tensor, reference: Tensor) -> int:
    """How many distinct reference rows are the nearest neighbour of some sample (1..min(N, M))."""
    return int(nearest_index(x, reference).unique().numel())


def class_entropy(labels: Tensor, n_classes: int) -> float:
    """H = -sum_c p_c log p_c (nats) of the labels' histogram ``(N,)``; 0 = one class, log C = uniform."""
    if labels.dim() != 1 or labels.numel() == 0:
        raise ValueError(f"labels must be a non-empty (N,) tensor, got shape {tuple(labels.shape)}")
    if int(labels.min()) < 0 or int(labels.max()) >= n_classes:
        raise ValueError(f"labels must be in [0, {n_classes - 1}]")
    p = torch.bincount(labels.long(), minlength=n_classes).double() / labels.numel()
    p = p[p > 0]
    h = float(-(p * p.log()).sum())
    return max(0.0, min(h, math.log(n_classes)))
