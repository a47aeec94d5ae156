"""How fast an agent learns, as numbers: steps to a threshold, area under the learning curve,
and their mean and spread over seeds.  Pure functions of the evaluation history."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _curve(steps: Sequence[float], returns: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(steps, dtype=float), np.asarray(returns, dtype=float)
    if x.ndim != 1 or x.shape != y.shape or len(x) == 0:
        raise ValueError(f"steps and returns must be 1-D of the same non-zero length, got shapes {x.shape} and {y.shape}")
    if np.any(np.diff(x) < 0):
        raise ValueError("steps must be sorted in increasing order (env steps of successive evaluations)")
    if not np.all(np.isfinite(y)):
        raise ValueError("returns contain NaN or inf")
    return x, y


def steps_to_threshold(steps: Sequence[float], returns: Sequence[float], threshold: float,
                       budget: float | None = None) -> float:
    """The env steps of the first evaluation whose mean return is ``>= threshold``.

    steps, returns: ``(E,)`` (one entry per evaluation, steps increasing).  If no evaluation
    reaches the threshold, the run is *censored*: the result is ``budget`` (default ``inf``), the
    honest lower bound when the budget is the last step (a run that never learns must not look
    fast).  Averages over seeds then treat a censored run as needing at least the whole budget.
    """
    x, y = _curve(steps, returns)
    hit = np.flatnonzero(y >= threshold)
    if budget is None:
        return float(x[hit[0]]) if len(hit) else float("inf")
    # An evaluation may land a few steps past the budget (it waits for a whole vector step): a
    # run is charged at most the budget, so that it never looks slower than one that failed.
    return float(min(x[hit[0]], budget)) if len(hit) else float(budget)


def area_under_curve(steps: Sequence[float], returns: Sequence[float], *, normalize: bool = True) -> float:
    """The area under the learning curve by the trapezoidal rule, over ``[steps[0], steps[-1]]``.

    With ``normalize`` it is divided by that width: the average return over training, on the
    returns' own scale (1.0 here means solved from the first evaluation on).  A single
    evaluation gives its return.
    """
    x, y = _curve(steps, returns)
    if len(x) == 1 or x[-1] == x[0]:
        return float(y.mean())
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2.0))
    return area / float(x[-1] - x[0]) if normalize else area


def seed_summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, standard deviation (``ddof=1``; 0 for one seed), min, max and count of per-seed values."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) == 0:
        raise ValueError(f"values must be a non-empty 1-D sequence (one per seed), got shape {v.shape}")
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
            "min": float(v.min()), "max": float(v.max()), "n": float(len(v))}
