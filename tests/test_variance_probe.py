"""The gradient-variance probe against exact answers on a fixed table of draws.

``gradient_statistics`` streams draws in chunks; here every draw is a row of a fixed table, so
its mean, trace variance and projections must equal torch's own on the whole table for any chunk
size, and the chunks it asks for must cover the table exactly once.  ``compare_gradients`` is
checked on hand-made statistics whose every field has a closed form.
"""

from __future__ import annotations

import math
import re

import pytest
import torch

from rlvae_tutorial.estimators import compare_gradients, gradient_statistics
from rlvae_tutorial.estimators.variance import GradientStats

TABLE = torch.tensor(
    [[1.0, -2.0, 0.5], [0.0, 3.0, 1.5], [2.0, 1.0, -1.0], [-1.0, 0.0, 4.0], [3.0, -1.0, 2.0], [0.5, 2.5, 0.0], [1.5, 0.5, -2.0]],
    dtype=torch.float64,
)  # (7, 3): seven draws of a 3-parameter gradient
DIRECTIONS = torch.tensor([[1.0, 0.0, 0.0], [0.5, -1.0, 2.0]])  # (2, 3)


class TableDraw:
    """draw(m) hands out the next m rows of a table and records each m it was asked for."""

    def __init__(self, table: torch.Tensor) -> None:
        self.table, self.next, self.asked = table, 0, []

    def __call__(self, m: int) -> torch.Tensor:
        assert m >= 1, "the probe asked for no draws"
        self.asked.append(m)
        rows = self.table[self.next : self.next + m]
        self.next += m
        return rows.float()


@pytest.mark.parametrize("chunk", [1, 2, 3, 6, 7, 100])
def test_statistics_equal_torch_on_the_whole_table_for_any_chunk(chunk: int) -> None:
    draw = TableDraw(TABLE)
    st = gradient_statistics(draw, 7, chunk=chunk, directions=DIRECTIONS)
    expected_asks = [chunk] * (7 // chunk) + ([7 % chunk] if 7 % chunk else [])
    assert draw.asked == expected_asks[: len(draw.asked)] and sum(draw.asked) == 7
    table = TABLE.float().double()  # the draws as the probe sees them
    torch.testing.assert_close(st.mean, table.mean(0))
    assert st.trace_variance == pytest.approx(float(table.var(0).sum()), rel=1e-12)
    proj = table @ DIRECTIONS.double().T  # (7, 2)
    torch.testing.assert_close(st.proj_mean, proj.mean(0))
    torch.testing.assert_close(st.proj_var, proj.var(0))
    assert st.mean.dtype == st.proj_mean.dtype == st.proj_var.dtype == torch.float64
    assert st.n_draws == 7 and st.variance_of_mean == pytest.approx(st.trace_variance / 7)


def test_default_chunk_is_a_hundred_draws() -> None:
    draw = TableDraw(torch.zeros(250, 2))
    gradient_statistics(draw, 250)
    assert draw.asked == [100, 100, 50]


def test_without_directions_the_projections_are_empty_float64() -> None:
    st = gradient_statistics(TableDraw(TABLE), 7)
    assert st.proj_mean.shape == st.proj_var.shape == (0,)
    assert st.proj_mean.dtype == st.proj_var.dtype == torch.float64


def test_constant_draws_have_zero_variance_and_the_smallest_sizes_are_allowed() -> None:
    st = gradient_statistics(lambda m: torch.full((m, 2), 0.25), 2, chunk=1)
    assert st.trace_variance == 0.0 and st.mean.tolist() == [0.25, 0.25]


def test_bad_sizes_and_bad_draws_get_whole_messages() -> None:
    with pytest.raises(ValueError, match=r"^n_draws must be >= 2 to estimate a variance, got 1$"):
        gradient_statistics(TableDraw(TABLE), 1)
    with pytest.raises(ValueError, match=r"^chunk must be >= 1, got 0$"):
        gradient_statistics(TableDraw(TABLE), 7, chunk=0)
    with pytest.raises(FloatingPointError, match=r"^a gradient draw contains NaN or inf values$"):
        gradient_statistics(lambda m: torch.full((m, 2), math.nan), 4)


def test_progress_bar_is_off_by_default_and_names_its_draws_when_on(capsys: pytest.CaptureFixture[str]) -> None:
    gradient_statistics(TableDraw(TABLE), 7, chunk=3)
    assert capsys.readouterr().err == ""
    gradient_statistics(TableDraw(TABLE), 7, chunk=3, progress=True)
    err = capsys.readouterr().err
    assert re.search(r"(^|\r)gradient draws: ", err) and "0/7" in err
    assert err.rsplit("\r", 1)[-1].strip() == ""  # leave=False: the finished bar is cleared
    gradient_statistics(TableDraw(TABLE), 7, progress=True, desc="probe X")
    assert "probe X" in capsys.readouterr().err


def _stats(mean: list[float], trace_variance: float, n: int, proj_mean: list[float], proj_var: list[float]) -> GradientStats:
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return GradientStats(mean=t(mean), trace_variance=trace_variance, n_draws=n, proj_mean=t(proj_mean), proj_var=t(proj_var))


def test_compare_gradients_against_closed_forms() -> None:
    a = _stats([3.0, 4.0], 8.0, 4, [1.0, 2.0], [4.0, 8.0])
    b = _stats([0.0, 2.0], 3.0, 2, [0.0, 5.0], [2.0, 2.0])
    c = compare_gradients(a, b)
    assert c.sq_error == pytest.approx(9.0 + 4.0)  # ||(3, 2)||^2
    assert c.expected_sq_error == pytest.approx(8.0 / 4 + 3.0 / 2)
    assert c.error_ratio == pytest.approx(13.0 / 3.5)
    torch.testing.assert_close(c.z_scores, torch.tensor([1.0 / math.sqrt(1.0 + 1.0), -3.0 / math.sqrt(2.0 + 1.0)], dtype=torch.float64))
    assert c.cosine == pytest.approx(8.0 / (5.0 * 2.0))
    assert c.relative_error == pytest.approx(math.sqrt(13.0) / 2.0)


def test_compare_gradients_small_and_zero_denominators() -> None:
    # A reference shorter than 1 and a noise below 1 still give finite ratios; zero gives inf.
    small = compare_gradients(_stats([1.0], 0.5, 2, [], []), _stats([0.5], 0.5, 2, [], []))
    assert small.error_ratio == pytest.approx(0.25 / 0.5) and small.relative_error == pytest.approx(1.0)
    zero = compare_gradients(_stats([1.0], 0.0, 2, [], []), _stats([0.0], 0.0, 2, [], []))
    assert zero.error_ratio == math.inf and zero.relative_error == math.inf


def test_compare_gradients_refuses_mismatched_probes_with_whole_messages() -> None:
    a = _stats([1.0, 2.0, 3.0], 1.0, 2, [], [])
    with pytest.raises(ValueError, match=r"^the two gradients differ in size: \(3,\) vs \(2,\)$"):
        compare_gradients(a, _stats([1.0, 2.0], 1.0, 2, [], []))
    with pytest.raises(ValueError, match=r"^probe both estimators with the same directions= to compare their projections$"):
        compare_gradients(a, _stats([1.0, 2.0, 3.0], 1.0, 2, [0.0], [1.0]))
