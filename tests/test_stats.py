"""The statistics over seeds: Kaplan-Meier, restricted mean, bootstrap intervals (reference
answers worked out by hand in the comments)."""

from __future__ import annotations

import numpy as np
import pytest

from rlvae_tutorial.stats import (
    bootstrap_ci,
    bootstrap_diff_ci,
    censored_mean,
    kaplan_meier,
    restricted_mean,
    restricted_mean_difference,
    solved_fraction,
    t_interval,
)


def test_kaplan_meier_by_hand() -> None:
    # 5 runs; one never reaches the threshold.  At t=2: 5 at risk, 1 event -> 4/5.  At t=3: 4 at
    # risk, 2 events -> 4/5 * 2/4 = 0.4.  At t=5: 2 at risk (5 and the censored one), 1 -> 0.2.
    t, s = kaplan_meier([2, 3, 3, np.inf, 5])
    assert t.tolist() == [2, 3, 5] and np.allclose(s, [0.8, 0.4, 0.2])
    # Censored at 2 (seen last at step 2, not reached): at t=1, 3 at risk -> 2/3; at t=4 only one run
    # is still at risk and it reaches -> 0.
    t, s = kaplan_meier([1, 2, 4], [True, False, True])
    assert t.tolist() == [1, 4] and np.allclose(s, [2 / 3, 0.0])


def test_restricted_mean_by_hand_and_as_a_mean_of_min() -> None:
    # Area under S on [0, 6]: 2*1 + 1*0.8 + 2*0.4 + 1*0.2 = 3.8 = mean(min(T, 6)) = (2+3+3+6+5)/5.
    times = [2, 3, 3, np.inf, 5]
    assert restricted_mean(times, horizon=6) == pytest.approx(3.8)
    assert censored_mean(6)(np.array(times, dtype=float)) == pytest.approx(3.8)
    # Censoring before the horizon: 1*1 + 3*(2/3) + 1*0 = 3 (the mean of min would say 2.67).
    assert restricted_mean([1, 2, 4], [True, False, True], horizon=5) == pytest.approx(3.0)
    # A horizon inside the data cuts the area: 2*1 + 0.5*0.8 = 2.4.
    assert restricted_mean(times, horizon=2.5) == pytest.approx(2.4)
    assert restricted_mean([np.inf, np.inf], horizon=7) == 7.0  # nobody reached: the horizon
    assert solved_fraction(times) == 0.8


def test_bootstrap_by_hand() -> None:
    # Resample means of [0, 10]: 0, 5, 10 with probabilities 1/4, 1/2, 1/4.
    assert bootstrap_ci([0.0, 10.0], level=0.95) == (0.0, 10.0)
    assert bootstrap_ci([0.0, 10.0], level=0.4) == (5.0, 5.0)
    assert bootstrap_diff_ci([1.0, 1.0, 1.0], [0.0, 0.0]) == (1.0, 1.0)
    # Same seed, same interval; the statistic is a parameter.
    x = np.arange(7.0)
    assert bootstrap_ci(x, np.median, seed=3) == bootstrap_ci(x, np.median, seed=3)


def test_bootstrap_matches_the_normal_interval_for_many_runs() -> None:
    x = np.random.default_rng(0).normal(2.0, 1.0, size=400)
    lo, hi = bootstrap_ci(x, n_boot=4000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(len(x))
    assert lo == pytest.approx(x.mean() - half, abs=0.15 * half) and hi == pytest.approx(x.mean() + half, abs=0.15 * half)
    a, b = x[:200], x[200:] + 1.0
    lo, hi = bootstrap_diff_ci(a, b, n_boot=4000)
    assert lo < -1.0 < hi  # the true difference is inside
    assert hi < 0  # and the interval excludes 0


def test_errors_name_the_fix() -> None:
    with pytest.raises(ValueError, match="inf for a run"):
        kaplan_meier([1.0, np.nan])
    with pytest.raises(ValueError, match="one flag per time"):
        kaplan_meier([1.0, 2.0], [True])
    with pytest.raises(ValueError, match="needs a finite time"):
        kaplan_meier([1.0, np.inf], [True, True])
    with pytest.raises(ValueError, match="horizon"):
        restricted_mean([1.0], horizon=np.inf)
    with pytest.raises(ValueError, match="level"):
        bootstrap_ci([1.0], level=95)
    with pytest.raises(ValueError, match="at least one run"):
        bootstrap_diff_ci([], [1.0])


def test_restricted_mean_difference() -> None:
    # a: min(T, 10) = 10, 10, 8 -> 28/3; b: 2, 4, 6 -> 4.  Every resample of a has mean >= 8 and
    # every resample of b <= 6, so the interval lies above 2.
    d = restricted_mean_difference([np.inf, 12.0, 8.0], [2.0, 4.0, 6.0], horizon=10)
    assert d["estimate"] == pytest.approx(28 / 3 - 4) and d["level"] == 0.95
    assert 2.0 <= d["low"] <= d["estimate"] <= d["high"] <= 8.0
    with pytest.raises(ValueError, match="inf for a run"):
        restricted_mean_difference([np.nan], [1.0], horizon=10)


def test_t_interval_by_hand() -> None:
    # [1, 2, 3, 4]: mean 2.5, s = sqrt(5/3), t_{3, 0.975} = 3.182446 (Student's table).
    lo, hi = t_interval([1.0, 2.0, 3.0, 4.0])
    half = 3.182446 * np.sqrt(5 / 3) / 2
    assert lo == pytest.approx(2.5 - half, rel=1e-6) and hi == pytest.approx(2.5 + half, rel=1e-6)
    # with four seeds it reaches past the extremes, where the percentile bootstrap cannot
    assert lo < 1.0 and hi > 4.0
    assert t_interval([3.0, 3.0]) == (3.0, 3.0)
    assert all(type(end) is float for end in (lo, hi)), "plain floats, not NumPy scalars (glue formats them)"


def test_t_interval_covers_the_mean_at_its_level() -> None:
    """Coverage over 4,000 sets of 4 normal values: 95% +- 1.4 points (4 binomial standard errors)."""
    rng = np.random.default_rng(1)
    sets = rng.normal(1.0, 2.0, size=(4000, 4))
    covered = np.mean([lo <= 1.0 <= hi for lo, hi in map(t_interval, sets)])
    assert abs(covered - 0.95) < 4 * np.sqrt(0.95 * 0.05 / 4000), covered


def test_t_interval_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(ValueError, match="at least 2 values.*run more seeds"):
        t_interval([1.0])
    with pytest.raises(ValueError, match="finite"):
        t_interval([1.0, np.nan])
    with pytest.raises(ValueError, match="level"):
        t_interval([1.0, 2.0], level=95)
