"""Statistics over seeds for learning-curve comparisons: censored times to a threshold, and
bootstrap confidence intervals.

A run that never reaches a return threshold within its budget has an unknown time to threshold,
only a lower bound: it is *right-censored* at the budget.  Averaging such runs in at the budget
gives a number with no clean meaning; the survival-analysis tools used here do not:

- :func:`kaplan_meier`: the probability that a run has *not yet* reached the threshold after
  ``t`` steps, :math:`\\hat S(t)`, estimated with censored runs :cite:`kaplan1958nonparametric`;
- :func:`restricted_mean`: the restricted mean time to threshold up to a horizon ``tau``,
  :math:`\\int_0^\\tau \\hat S(t)\\,dt = E[\\min(T, \\tau)]`, well defined whatever the censoring;
- :func:`solved_fraction`: the share of runs that reached the threshold;
- :func:`bootstrap_ci` and :func:`bootstrap_diff_ci`: percentile bootstrap intervals over seeds
  :cite:`efron1993introduction`, for one group or the difference of two independent groups
  (resampled separately, the stratified bootstrap of Agarwal et al. :cite:`agarwal2021deep`);
- :func:`t_interval`: Student's t interval of a mean :cite:`student1908probable`, for a handful of
  runs, where a percentile bootstrap interval cannot reach past the smallest and largest value.

All functions are pure: arrays in, numbers out; randomness only through ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats as _scipy_stats

Statistic = Callable[[np.ndarray], float]


def _times(times: Sequence[float], name: str = "times") -> np.ndarray:
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or len(t) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence (one per run), got shape {t.shape}")
    if np.any(np.isnan(t)) or np.any(t < 0):
        raise ValueError(f"{name} must be >= 0 and not NaN (use inf for a run that never got there)")
    return t


def _reached(times: np.ndarray, reached: Sequence[bool] | None) -> np.ndarray:
    if reached is None:
        return np.isfinite(times)
    r = np.asarray(reached, dtype=bool)
    if r.shape != times.shape:
        raise ValueError(f"reached must have one flag per time, shape {times.shape}, got {r.shape}")
    if np.any(~np.isfinite(times[r])):
        raise ValueError("a run flagged as reached needs a finite time")
    return r


def solved_fraction(times: Sequence[float], reached: Sequence[bool] | None = None) -> float:
    """The share of runs that reached the threshold.  times: ``(N,)`` (``inf``: never) -> float."""
    t = _times(times)
    return float(_reached(t, reached).mean())


def kaplan_meier(times: Sequence[float], reached: Sequence[bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The Kaplan–Meier estimate of :math:`S(t) = P(T > t)` :cite:`kaplan1958nonparametric`.

    :math:`\hat S(t) = \prod_{t_j \le t} (1 - d_j / n_j)`, over the distinct times :math:`t_j`
    at which some run reached the threshold: :math:`d_j` runs reached it at :math:`t_j`, and
    :math:`n_j` runs were still "at risk" (not reached, not censored before :math:`t_j`; a run
    censored at :math:`t_j` counts as at risk there).

    times: ``(N,)``, the step at which each run reached the threshold, or for a censored run the
    last step it was seen at (``inf`` allowed: censored, never at risk of an event);
    reached: ``(N,)`` bool (default: ``isfinite(times)``).  Returns ``(event_times (J,),
    survival (J,))``: :math:`\hat S` just after each event time (a step function, 1 before the
    first).
    """
    t = _times(times)
    r = _reached(t, reached)
    event_times = np.unique(t[r])
    survival = np.empty(len(event_times))
    s = 1.0
    for j, tj in enumerate(event_times):
        at_risk = np.sum(t >= tj)
        events = np.sum((t == tj) & r)
        s *= 1.0 - events / at_risk
        survival[j] = s
    return event_times, survival


def restricted_mean(times: Sequence[float], reached: Sequence[bool] | None = None, *, horizon: float) -> float:
    r"""The restricted mean time to threshold :math:`\int_0^\tau \hat S(t)\,dt` up to ``horizon`` τ.

    With :math:`\hat S` the Kaplan–Meier curve this is the standard censoring-aware summary of
    survival data (RMST, Royston & Parmar :cite:`royston2013restricted`).  When every censored
    run was followed to τ or beyond (the usual case here: a run is censored at its budget), it
    equals :math:`\frac1N \sum_i \min(T_i, \tau)`: "the mean steps to threshold, counting a run
    that never got there within τ as τ", a statement about :math:`E[\min(T, \tau)]`, not about
    :math:`E[T]`.  Report it with :func:`solved_fraction`.

    times, reached: as :func:`kaplan_meier`; horizon: τ > 0  ->  float in ``[0, τ]``.
    """
    if not horizon > 0 or not np.isfinite(horizon):
        raise ValueError(f"horizon must be a finite number > 0 (e.g. the budget), got {horizon}")
    event_times, survival = kaplan_meier(times, reached)
    keep = event_times < horizon
    knots = np.concatenate([[0.0], event_times[keep], [horizon]])
    levels = np.concatenate([[1.0], survival[keep]])  # S on [knots[k], knots[k+1])
    return float(np.sum(np.diff(knots) * levels))


def _check_level(level: float, n_boot: int) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}")
    if n_boot < 100:
        raise ValueError(f"n_boot must be >= 100 for a percentile interval, got {n_boot}")


def bootstrap_ci(values: Sequence[float], statistic: Statistic = np.mean, *, level: float = 0.95,
                 n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval of ``statistic`` over runs :cite:`efron1993introduction`.

    Draw ``n_boot`` resamples of the ``N`` values with replacement, compute the statistic on
    each, and return its :math:`(1-\text{level})/2` and :math:`(1+\text{level})/2` quantiles.
    values: ``(N,)`` (or ``(N, ...)``: rows are resampled, the statistic maps rows to a float)
    -> ``(low, high)``.  With few runs (N ≲ 10) the interval is too narrow rather than too wide.
    """
    _check_level(level, n_boot)
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        raise ValueError("values must not be empty")
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(v), size=(n_boot, len(v)))
    stats = np.array([statistic(v[i]) for i in idx])
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def t_interval(values: Sequence[float], *, level: float = 0.95) -> tuple[float, float]:
    r"""Student's t interval of the mean of ``N`` independent runs :cite:`student1908probable`.

    :math:`\bar v \pm t_{N-1,\,(1+\text{level})/2}\; s / \sqrt N`, with :math:`s` the sample
    standard deviation (divisor N - 1): ``(N,) -> (low, high)``.  Exact when the values are normal,
    close to it for mildly skewed ones.  Use it for a few seeds (e.g. N = 4, where t = 3.18): a
    percentile bootstrap interval of the mean never reaches past the smallest or the largest value,
    and so is too narrow.  Raises ValueError for N < 2 (no spread to estimate), a level outside
    (0, 1) or non-finite values.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"a t interval needs at least 2 values in a 1-D sequence, got shape {v.shape}: run more seeds")
    if not np.isfinite(v).all():
        raise ValueError(f"values must be finite, got {v.tolist()}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), e.g. 0.95, got {level}")
    half = _scipy_stats.t.ppf((1 + level) / 2, df=len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(v.mean() - half), float(v.mean() + half)  # Python floats (glue formats them)


def bootstrap_diff_ci(a: Sequence[float], b: Sequence[float], statistic: Statistic = np.mean, *,
                      level: float = 0.95, n_boot: int = 10_000, seed: int = 0) -> tuple[float, float]:
    r"""Percentile bootstrap interval of :math:`\text{stat}(a) - \text{stat}(b)` for two
    independent groups of runs, each resampled on its own (stratified bootstrap,
    :cite:`agarwal2021deep`).  a: ``(N_a,)``, b: ``(N_b,)`` -> ``(low, high)``.
    """
    _check_level(level, n_boot)
    va, vb = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(va) == 0 or len(vb) == 0:
        raise ValueError("both groups need at least one run")
    rng = np.random.default_rng(seed)
    ia = rng.integers(0, len(va), size=(n_boot, len(va)))
    ib = rng.integers(0, len(vb), size=(n_boot, len(vb)))
    stats = np.array([statistic(va[i]) - statistic(vb[j]) for i, j in zip(ia, ib, strict=True)])
    lo, hi = np.quantile(stats, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def censored_mean(horizon: float) -> Statistic:
    """The statistic ``times -> restricted_mean(times, horizon=horizon)`` for runs that are either
    reached (finite time) or censored at or after the horizon (``inf``), i.e. the mean of
    :math:`\\min(T_i, \\tau)`; to bootstrap: ``bootstrap_diff_ci(a, b, censored_mean(budget))``."""
    if not horizon > 0 or not np.isfinite(horizon):
        raise ValueError(f"horizon must be a finite number > 0 (e.g. the budget), got {horizon}")

    def stat(times: np.ndarray) -> float:  # = restricted_mean when censored runs are inf (fast)
        return float(np.minimum(times, horizon).mean())
    return stat


def restricted_mean_difference(a: Sequence[float], b: Sequence[float], *, horizon: float, level: float = 0.95,
                               n_boot: int = 10_000, seed: int = 0) -> dict[str, float]:
    r"""Restricted mean time to threshold of group ``a`` minus that of group ``b``, with its
    stratified percentile bootstrap interval.

    a, b: ``(N_a,)``, ``(N_b,)`` times to threshold (``inf``: never reached within the budget,
    i.e. censored at or after ``horizon``)  ->  ``{"estimate", "low", "high", "level"}``: a
    positive estimate means group ``b`` got there sooner.  The verdict "b is faster" is justified
    at this level only when ``low > 0`` :cite:`agarwal2021deep`.
    """
    stat = censored_mean(horizon)
    va, vb = _times(a, "a"), _times(b, "b")
    low, high = bootstrap_diff_ci(va, vb, stat, level=level, n_boot=n_boot, seed=seed)
    return {"estimate": stat(va) - stat(vb), "low": low, "high": high, "level": level}
