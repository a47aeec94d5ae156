"""The figure of reward-guided generation: reward against diversity, one point per KL coefficient."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from rlvae_tutorial.style import OKABE_ITO


def plot_tradeoff(
    diversity: Sequence[float],
    reward: Sequence[float],
    labels: Sequence[str],
    ax: Axes | None = None,
    *,
    reference: tuple[float, float] | None = None,
    reference_label: str = "prior",
    xlabel: str = "diversity",
    ylabel: str = "reward",
) -> Axes:
    """Points (diversity_i, reward_i) joined in order and labelled (e.g. ``"λ=0.1"``); an optional
    reference point, a square labelled ``reference_label`` beside it (no legend over the data)."""
    if not (len(diversity) == len(reward) == len(labels)):
        raise ValueError("diversity, reward and labels must have one entry per run")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(diversity, reward, "o-", color=OKABE_ITO[0])
    for i, (d, r, label) in enumerate(zip(diversity, reward, labels, strict=True)):
        # alternate above-right and below-left, so that neighbouring points' labels do not collide
        above = i % 2 == 0
        ax.annotate(label, (d, r), textcoords="offset points", xytext=(6, 6) if above else (-6, -8),
                    ha="left" if above else "right", va="bottom" if above else "top", fontsize=9)
    if reference is not None:
        ax.plot(*reference, "s", color=OKABE_ITO[3], ms=8)
        ax.annotate(reference_label, reference, textcoords="offset points", xytext=(-8, 0), ha="right",
                    va="center", fontsize=9, color=OKABE_ITO[3], weight="bold")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return ax
