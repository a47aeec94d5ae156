"""Figures used across chapters.  Every function takes ``ax=`` and returns the axes."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor


def image_grid(
    images: Tensor | np.ndarray,
    ax: Axes | None = None,
    *,
    nrow: int | None = None,
    image_shape: tuple[int, int] | None = None,
    pad: int = 1,
    cmap: str = "gray_r",
    title: str | None = None,
) -> Axes:
    """Show ``N`` grey images as one tiled grid.

    images: ``(N, H, W)`` or ``(N, H*W)`` (then ``image_shape`` gives ``(H, W)``; square images
    are inferred), values in [0, 1].  ``nrow`` images per row (default: about sqrt(N)).
    """
    array = images.detach().float().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, dtype=float)
    if array.ndim == 2:
        if image_shape is None:
            side = math.isqrt(array.shape[1])
            if side * side != array.shape[1]:
                raise ValueError(
                    f"cannot infer the image shape of {array.shape[1]}-pixel rows; pass image_shape=(H, W)"
                )
            image_shape = (side, side)
        array = array.reshape(array.shape[0], *image_shape)
    if array.ndim != 3 or array.shape[0] == 0:
        raise ValueError(f"images must be (N, H, W) or (N, H*W) with N >= 1, got shape {array.shape}")
    n, h, w = array.shape
    ncol = nrow or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncol)
    canvas = np.full((nrows * (h + pad) + pad, ncol * (w + pad) + pad), np.nan)
    for i in range(n):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        canvas[top : top + h, left : left + w] = array[i]
    if ax is None:
        _, ax = plt.subplots(figsize=(0.5 * ncol + 0.5, 0.5 * nrows + 0.5))
    cmap_obj = plt.get_cmap(cmap).with_extremes(bad="white")
    ax.imshow(canvas, cmap=cmap_obj, vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def image_panels(panels: Sequence[tuple[str, Tensor | np.ndarray]], *, ncols: int = 4, nrow: int = 4,
                 panel_size: float = 1.7) -> Figure:
    """One titled :func:`image_grid` per ``(title, images)`` panel, ``ncols`` panels a row.

    Wrapping into rows keeps each panel (and its title) large enough to read at the page's width,
    however many panels there are.  ``nrow`` images per row inside a panel.
    """
    if not panels:
        raise ValueError("panels is empty: pass a list of (title, images) pairs")
    ncols = min(ncols, len(panels))
    rows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(rows, ncols, figsize=(panel_size * ncols, (panel_size + 0.3) * rows), squeeze=False)
    for ax, (title, images) in zip(axes.flat, panels, strict=False):
        image_grid(images, ax=ax, nrow=nrow, title=title)
    for ax in axes.flat[len(panels):]:
        ax.set_axis_off()
    fig.tight_layout()
    return fig
