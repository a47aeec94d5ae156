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
