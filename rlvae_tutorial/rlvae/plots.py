"""Figures of the RL-meets-VAEs chapters.  Every function takes ``ax=`` and returns the axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from rlvae_tutorial.style import OKABE_ITO, legend_outside
from rlvae_tutorial.train import History


def variance_bars(
    names: Sequence[str],
    per_draw: Sequence[float],
    per_sample: Sequence[float],
    ax: Axes | None = None,
    *,
    reference: float | None = None,
    reference_label: str = "reparameterised",
) -> Axes:
    """Grouped bars of gradient variance on a log scale: per draw and per sample (x K) per estimator.

    ``reference`` draws a horizontal line (e.g. the reparameterised estimator's variance).
    """
    if not len(names) == len(per_draw) == len(per_sample):
        raise ValueError("names, per_draw and per_sample must have the same length")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    pos = np.arange(len(names))
    ax.bar(pos - 0.2, per_draw, width=0.4, label="per draw", color=OKABE_ITO[0])
    ax.bar(pos + 0.2, per_sample, width=0.4, label="per sample (x K)", color=OKABE_ITO[1], hatch="//", edgecolor="w")
    if reference is not None:
        ax.axhline(reference, color="k", linestyle="--", linewidth=1, label=reference_label)
    ax.set_yscale("log")
    ax.set_xticks(pos, list(names))
    ax.set_ylabel("trace of gradient covariance")
    legend_outside(ax)
    return ax


def validation_curves(
    histories: Mapping[str, History],
    ax: Axes | None = None,
    *,
    x: str = "flops",
    key: str = "val_elbo",
    x_scale: float = 1e9,
    x_label: str = "compute (GFLOPs)",
    y_label: str = "validation ELBO (nats per image)",
    ylim: tuple[float, float] | None = None,
) -> Axes:
    """One line per run: ``key`` (validation ELBO) against column ``x`` / ``x_scale``; best epoch
    marked.  Lines differ in colour and style (the book's cycle), the legend sits outside."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for name, h in histories.items():
        xs = np.asarray(h[x]) / x_scale
        ys = np.asarray(h[key])
        (line,) = ax.plot(xs, ys, label=name)
        if h.best_epoch is not None:
            i = h.best_epoch - 1
            ax.plot(xs[i], ys[i], "o", color=line.get_color(), ls="none")
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    if ylim is not None:
        ax.set_ylim(*ylim)
    legend_outside(ax)
    return ax
