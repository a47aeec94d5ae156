"""The VAE chapters' figures.  Every function takes ``ax=`` and returns the axes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from torch import Tensor

from rlvae_tutorial.style import HATCHES, MARKERS, OKABE_ITO, legend_outside
from rlvae_tutorial.train import History

# Ten digits need ten colours: Okabe-Ito's eight, then grey and Tol's wine.  Each digit also has
# its own marker and its label written at the middle of its points.
DIGIT_COLOURS = (*OKABE_ITO, "#999999", "#882255")
DIGIT_MARKERS = (*MARKERS, "p", "h")


def _axes(ax: Axes | None, size: tuple[float, float] = (5.0, 3.2)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def _np(t: Tensor | np.ndarray | Sequence[float]) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, Tensor) else np.asarray(t, dtype=float)


def plot_history(
    history: History,
    keys: Sequence[str],
    ax: Axes | None = None,
    *,
    labels: Sequence[str] | None = None,
    sign: float = 1.0,
    mark_best: bool = True,
    ylabel: str | None = None,
) -> Axes:
    """Learning curves: ``sign * history[key]`` against the epoch, the best epoch marked."""
    ax = _axes(ax)
    epochs = np.asarray(history["epoch"])
    for i, key in enumerate(keys):
        values = sign * np.asarray(history[key])
        keep = ~np.isnan(values)
        ax.plot(epochs[keep], values[keep], label=labels[i] if labels else key.replace("_", " "))
    if mark_best and history.best_epoch is not None:
        ax.axvline(history.best_epoch, color="k", ls=":", lw=1, label=f"best epoch ({history.best_epoch})")
    ax.set_xlabel("epoch")
    if ylabel:
        ax.set_ylabel(ylabel)
    legend_outside(ax)
    return ax


def latent_scatter(z: Tensor, labels: Tensor, ax: Axes | None = None, *, s: float = 6.0) -> Axes:
    """Scatter 2-D codes ``(N, 2)`` coloured by their digit ``(N,)``, with a legend of classes."""
    ax = _axes(ax, (4.5, 4.0))
    z_np, y_np = _np(z), _np(labels).astype(int)
    for digit in np.unique(y_np):
        pts = z_np[y_np == digit]
        ax.scatter(pts[:, 0], pts[:, 1], s=s, color=DIGIT_COLOURS[digit % 10], marker=DIGIT_MARKERS[digit % 10],
                   label=str(digit), alpha=0.8, linewidths=0)
        middle = np.median(pts, axis=0)
        ax.text(*middle, str(digit), ha="center", va="center", fontsize=12, weight="bold",
                bbox={"boxstyle": "circle,pad=0.15", "fc": "w", "ec": DIGIT_COLOURS[digit % 10], "alpha": 0.85})
    ax.set_xlabel("latent coordinate $z_1$")
    ax.set_ylabel("latent coordinate $z_2$")
    legend_outside(ax, title="digit", markerscale=2)
    return ax


def rate_distortion(
    rates: Sequence[float] | Tensor, distortions: Sequence[float] | Tensor, betas: Sequence[float],
    ax: Axes | None = None,
) -> Axes:
    """The β sweep as a curve in the (rate, distortion) plane, each point labelled with its β."""
    ax = _axes(ax, (4.5, 3.5))
    r, d = _np(rates), _np(distortions)
    ax.plot(r, d, "o-", lw=1.2)
    for ri, di, b in zip(r, d, betas, strict=True):
        ax.annotate(f"β={b:g}", (ri, di), textcoords="offset points", xytext=(5, 4), fontsize=8)
    ax.set_xlabel("rate: KL(q(z|x) || p(z)) [nats]")
    ax.set_ylabel("distortion: −E log p(x|z) [nats]")
    return ax


def kl_per_dim_bars(
    kls: dict[str, Tensor], ax: Axes | None = None, *, threshold: float | None = None
) -> Axes:
    """Grouped bars of the mean KL of each latent dimension, one group per model."""
    ax = _axes(ax)
    n = len(kls)
    width = 0.8 / n
    for i, (name, kl) in enumerate(kls.items()):
        values = _np(kl)
        ax.bar(np.arange(len(values)) + (i - (n - 1) / 2) * width, values, width, label=name,
               color=OKABE_ITO[i % len(OKABE_ITO)], hatch=HATCHES[i % len(HATCHES)], edgecolor="w")
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"{threshold:g} nats")
    ax.set_xlabel("latent dimension")
    ax.set_ylabel("mean KL [nats]")
    ax.set_xticks(np.arange(len(_np(next(iter(kls.values()))))))
    legend_outside(ax)
    return ax


def grad_histograms(samples: dict[str, Tensor], ax: Axes | None = None, *, bins: int = 80) -> Axes:
    """Overlaid histograms of per-sample gradient estimates, one per estimator."""
    ax = _axes(ax)
    all_values = torch.cat([v.flatten() for v in samples.values()])
    lo, hi = np.quantile(_np(all_values), [0.005, 0.995])
    for i, (name, values) in enumerate(samples.items()):
        ax.hist(_np(values).clip(lo, hi), bins=bins, range=(lo, hi), alpha=0.55, density=True, label=name,
                color=OKABE_ITO[i % len(OKABE_ITO)], hatch=HATCHES[i % len(HATCHES)], edgecolor="w", linewidth=0)
    ax.set_xlabel("single-sample gradient estimate")
    ax.set_ylabel("density")
    legend_outside(ax)
    return ax
