"""Learning curves of several agents, mean and spread over seeds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from rlvae_tutorial.latents.experiment import RunSummary
from rlvae_tutorial.style import OKABE_ITO, legend_outside

# Colour, line style and marker: each representation is told apart by more than its colour.
STYLES = {"pixels": (OKABE_ITO[3], "-", "o"), "latents": (OKABE_ITO[0], "--", "s"),
          "state": (OKABE_ITO[2], ":", "^")}


def plot_learning_curves(runs: Mapping[str, Sequence[RunSummary]], ax: Axes | None = None, *,
                         threshold: float | None = None, labels: Mapping[str, str] | None = None) -> Axes:
    """Mean evaluation return against env steps for each representation, with a band from the
    lowest to the highest seed (and, darker, the mean +- one standard deviation clipped to that
    range, so that a band never leaves the values the seeds reached, e.g. a return bounded by 1)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    for rep, seeds in runs.items():
        if not seeds:
            continue
        if len({len(r.eval_steps) for r in seeds}) != 1:
            raise ValueError(f"the runs of {rep!r} have different numbers of evaluations; use one DQNConfig for all seeds")
        # Evaluations happen at the first vector step past each multiple of eval_every, so the
        # seeds' steps differ by less than num_envs: plot them at their mean.
        steps = np.stack([r.eval_steps for r in seeds]).mean(0)
        returns = np.stack([r.eval_returns for r in seeds])  # (seeds, evaluations)
        mean, std = returns.mean(0), returns.std(0)
        colour, linestyle, marker = STYLES.get(rep, (None, "-", "o"))
        label = (labels or {}).get(rep, rep)
        lowest, highest = returns.min(0), returns.max(0)
        ax.plot(steps, mean, color=colour, ls=linestyle, marker=marker, markevery=max(1, len(steps) // 8),
                lw=2, label=f"{label} ({len(seeds)} seeds)")
        ax.fill_between(steps, lowest, highest, color=colour, alpha=0.12, lw=0)
        ax.fill_between(steps, np.maximum(mean - std, lowest), np.minimum(mean + std, highest),
                        color=colour, alpha=0.25, lw=0)
    if threshold is not None:
        ax.axhline(threshold, color="k", ls=":", lw=1, label=f"threshold {threshold:g}")
    ax.set(xlabel="environment steps", ylabel="greedy evaluation return")
    legend_outside(ax)
    return ax
