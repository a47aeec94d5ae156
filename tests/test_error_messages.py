"""The core functions' errors say exactly what was wrong and how to fix it.

Mutation testing (``make mutation``) found messages whose wording, or the shape they quote,
could change without any test noticing; these pin the whole message where it names the fix.
"""

from __future__ import annotations

import pytest
import torch

from rlvae_tutorial.rl.returns import discounted_returns, gae


def test_gae_quotes_the_shape_or_type_of_bad_values() -> None:
    r = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=r"V\(s_t\) for every step\), got \(3,\)$"):
        gae(r, torch.zeros(3), 0.0, None, 0.9, 0.9)
    with pytest.raises(ValueError, match=r"shaped like rewards \(2, 3\) .* got list$"):
        gae(r, [0.0, 0.0, 0.0], 0.0, None, 0.9, 0.9)  # type: ignore[arg-type]


def test_flag_shape_error_names_the_fix() -> None:
    with pytest.raises(ValueError, match=r"^terminated has shape \(2,\) but rewards have \(3,\); "
                                         r"pass one flag per reward$"):
        discounted_returns(torch.zeros(3), 0.9, torch.zeros(2, dtype=torch.bool))


def test_rewards_that_are_not_a_tensor_are_named() -> None:
    with pytest.raises(TypeError, match=r"^rewards must be a torch.Tensor of shape \(T,\) or \(B, T\), got list$"):
        discounted_returns([1.0, 2.0], 0.9)  # type: ignore[arg-type]


def test_length_one_streams_are_valid_and_empty_ones_are_not() -> None:
    assert discounted_returns(torch.tensor([2.0]), 0.9).tolist() == [2.0]
    assert gae(torch.tensor([[2.0]]), torch.tensor([[0.5]]), 1.0, None, 0.9, 0.9).tolist() == [[pytest.approx(2.4)]]
    with pytest.raises(ValueError, match=r"with T >= 1 \(time on the last axis\), got \(2, 0\)$"):
        discounted_returns(torch.zeros(2, 0), 0.9)


def test_bandit_errors_and_baseline_defaults() -> None:
    from rlvae_tutorial.rl.bandit import (
        Bandit,
        baseline_values,
        ema_baseline,
        learned_value_baseline,
    )

    with pytest.raises(ValueError, match=r"^noise is a standard deviation, >= 0; got -1.0$"):
        Bandit(torch.zeros(2, 2), noise=-1.0)
    with pytest.raises(ValueError, match=r"^means must be \(S, K\): contexts x arms, got shape \(4,\)$"):
        Bandit(torch.zeros(4))
    with pytest.raises(ValueError, match=r"^rewards must be \(n,\), got \(2, 2\)$"):
        ema_baseline(torch.zeros(2, 2), 0.5)
    for decay in (-0.1, 1.1):
        with pytest.raises(ValueError, match=rf"^decay must be in \[0, 1\], got {decay}$"):
            ema_baseline(torch.zeros(3), decay)
    r, c = torch.tensor([1.0, 3.0, 5.0]), torch.tensor([0, 1, 0])
    assert ema_baseline(r, 0.0).tolist() == [0.0, 1.0, 3.0]  # decay 0: the last reward
    assert ema_baseline(r, 1.0, init=2.0).tolist() == [2.0, 2.0, 2.0]  # decay 1: never moves
    assert torch.equal(baseline_values("ema", c, r, 2), ema_baseline(r, 1 - 0.05))
    assert torch.equal(baseline_values("value", c, r, 2), learned_value_baseline(c, r, 2, 0.05))
    assert torch.equal(baseline_values("none", c, r, 2), torch.zeros(3))
