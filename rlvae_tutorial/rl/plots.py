"""Figures of the RL chapters.  Every function takes ``ax=`` and returns the axes."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from rlvae_tutorial.envs.gridworld import GridWorldEnv
from rlvae_tutorial.style import HATCHES, OKABE_ITO, legend_outside

ARROWS = np.array([(0, -1), (1, 0), (0, 1), (-1, 0)])  # up, right, down, left as (dx, dy) on screen


def _axes(ax: Axes | None, size: tuple[float, float] = (4, 3)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


def gridworld_values(env: GridWorldEnv, values: np.ndarray, ax: Axes | None = None, *,
                     actions: np.ndarray | None = None, title: str | None = None,
                     vmin: float | None = None, vmax: float | None = None) -> Axes:
    """Heatmap of state values ``(S,)`` on the grid, with the value in each free cell, walls in
    grey, the goal G and pit X labelled, and (optionally) arrows for ``actions: (S,)`` or an
    ``(S, A)`` mask of optimal actions."""
    ax = _axes(ax, (3.2, 3.2))
    grid = np.array(values, dtype=float).reshape(env.height, env.width)
    shown = np.where(env.wall.reshape(grid.shape), np.nan, grid)
    cmap = plt.get_cmap("viridis").with_extremes(bad="0.35")
    ax.imshow(shown, cmap=cmap, vmin=vmin, vmax=vmax)
    for s in range(env.n_states):
        row, col = divmod(s, env.width)
        cell = env.grid[row, col]
        if cell in "GX":
            ax.text(col, row, cell, ha="center", va="center", fontsize=12, weight="bold", color="w")
        elif env.free[s]:
            ax.text(col, row + 0.32, f"{grid[row, col]:.2f}", ha="center", va="center", fontsize=8, color="w")
            if actions is not None:
                chosen = np.flatnonzero(actions[s]) if np.ndim(actions) == 2 else [int(actions[s])]
                for a in chosen:  # from the cell's centre outwards, so that ties read as a fork
                    dx, dy = 0.3 * ARROWS[a]
                    ax.arrow(col, row - 0.1, dx, dy, head_width=0.12, color="w", length_includes_head=True)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def label_goal_and_pit(env: GridWorldEnv, ax: Axes, *, cell_px: int = 1, fontsize: float = 9) -> Axes:
    """Write "G" on the goal and "X" on the pit of a picture of ``env`` (``cell_px`` pixels a
    cell, as ``imshow`` shows it), so that they differ by more than green vs red."""
    for row, col in zip(*np.nonzero(np.isin(env.grid, ["G", "X"])), strict=True):
        centre = (cell_px - 1) / 2
        ax.text(col * cell_px + centre, row * cell_px + centre, env.grid[row, col], ha="center", va="center",
                fontsize=fontsize, weight="bold", color="w")
    return ax


def learning_curves(curves: dict[str, Sequence[tuple[Sequence[float], Sequence[float]]]],
                    ax: Axes | None = None, *, grid: np.ndarray | None = None,
                    xlabel: str = "environment steps", ylabel: str = "return",
                    target: float | None = None) -> Axes:
    """Median and min-max band over seeds of several methods.

    ``curves[label]`` is a list (one per seed) of ``(x, y)`` sequences; each seed's curve is
    interpolated (held at its last value) onto ``grid`` (default: 100 points from the smallest to
    the largest x).
    """
    ax = _axes(ax, (5.5, 3.2))
    if grid is None:
        xs = [np.asarray(x, dtype=float) for runs in curves.values() for x, _ in runs if len(x)]
        grid = np.linspace(min(x.min() for x in xs), max(x.max() for x in xs), 100)
    for label, runs in curves.items():
        ys = np.array([np.interp(grid, x, y, left=np.nan) if len(x) else np.full(len(grid), np.nan)
                       for x, y in runs])
        with warnings.catch_warnings():  # grid points before every seed's first x are all-NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mid, lo, hi = np.nanmedian(ys, 0), np.nanmin(ys, 0), np.nanmax(ys, 0)
        line, = ax.plot(grid, mid, label=f"{label} ({len(runs)} seeds)")
        ax.fill_between(grid, lo, hi, color=line.get_color(), alpha=0.2)
    if target is not None:
        ax.axhline(target, color="k", ls=":", lw=1, label=f"target {target:g}")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    legend_outside(ax)
    return ax


def smooth(y: Sequence[float], window: int = 20) -> np.ndarray:
    """Running mean over the last ``window`` values (shorter at the start)."""
    y = np.asarray(y, dtype=float)
    c = np.cumsum(np.insert(y, 0, 0.0))
    idx = np.arange(1, len(y) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def variance_bars(variances: dict[str, float], ax: Axes | None = None, *, log: bool = True,
                  ylabel: str = "total variance of one estimate") -> Axes:
    """Bars of gradient-estimator variances, labelled with their ratio to the first bar."""
    ax = _axes(ax, (4.5, 3))
    names, vals = list(variances), np.array(list(variances.values()), dtype=float)
    # each bar is named on the axis, so colour and hatch only repeat what its label says
    bars = ax.bar(names, vals, color=[OKABE_ITO[i % len(OKABE_ITO)] for i in range(len(vals))],
                  hatch=[HATCHES[i % len(HATCHES)] for i in range(len(vals))], edgecolor="w")
    for bar, v in zip(bars, vals, strict=True):
        ax.text(bar.get_x() + bar.get_width() / 2, v, f"{v:.3g}\n({vals[0] / v:.1f}x lower)" if v != vals[0]
                else f"{v:.3g}", ha="center", va="bottom", fontsize=8)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.margins(y=0.25)
    return ax
