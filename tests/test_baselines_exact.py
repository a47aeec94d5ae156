"""Baselines and advantages against hand-computed answers, at their edges.

Leave-one-out and GRPO advantages of one group ``(K,)`` (the smallest input they accept), the
exact effect of GRPO's ``eps``, the float64 baseline of a float64 reward, the moving averages'
boundaries (decay 0 and 1 allowed where documented, nothing outside), the buffers' dtypes and
the learned baseline's offset and activation.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from rlvae_tutorial.estimators import (
    EMABaseline,
    LearnedBaseline,
    ema_update,
    group_normalized_advantages,
    leave_one_out_baseline,
    score_function_surrogate,
)


def test_leave_one_out_and_grpo_accept_one_group_of_k() -> None:
    r = torch.tensor([1.0, 2.0, 6.0], dtype=torch.float64)
    torch.testing.assert_close(leave_one_out_baseline(r), torch.tensor([4.0, 3.5, 1.5], dtype=torch.float64))
    a = group_normalized_advantages(r, eps=0.5)  # mean 3, std sqrt(7)
    torch.testing.assert_close(a, (r - 3.0) / (7.0**0.5 + 0.5), rtol=1e-14, atol=0.0)


def test_grpo_adds_eps_to_the_spread() -> None:
    r = torch.tensor([[0.0, 1.0], [2.0, 1.0]], dtype=torch.float64)  # stds sqrt(2) and 0
    a = group_normalized_advantages(r)
    expected = torch.tensor([[-1.0, 0.0], [1.0, 0.0]], dtype=torch.float64) / (2.0**0.5 + 1e-8)
    torch.testing.assert_close(a, expected, rtol=1e-15, atol=0.0)


def test_a_float_baseline_is_subtracted_in_the_rewards_precision() -> None:
    log_prob = torch.tensor([1.0, 1.0], dtype=torch.float64)
    reward = torch.tensor([0.3, 0.7], dtype=torch.float64)
    s = score_function_surrogate(log_prob, reward, 0.1)
    assert s.dtype == torch.float64
    torch.testing.assert_close(s, reward - 0.1, rtol=1e-15, atol=0.0)  # 0.1 in float32 is off by 1.5e-9


def test_ema_update_bounds_and_mixed_inputs() -> None:
    assert ema_update(2.0, 4.0, 1.0) == 2.0 and ema_update(2.0, 4.0, 0.0) == 4.0
    with pytest.raises(ValueError, match=r"^decay must be in \[0, 1\], got 1.5$"):
        ema_update(2.0, 4.0, 1.5)
    for value, target in [(torch.tensor(2.0), 4.0), (2.0, torch.tensor(4.0))]:
        out = ema_update(value, target, 0.5)
        assert isinstance(out, torch.Tensor) and float(out) == 3.0
    # a Python number is used as it is: with a float64 tensor, 0.1 is not first rounded to float32
    f64 = torch.tensor(0.0, dtype=torch.float64)
    assert ema_update(0.1, f64, 0.5).item() == 0.05 and ema_update(f64, 0.1, 0.5).item() == 0.05
    # two tensors: their common float dtype (float64 here, even from a 0-d value), ints as floats
    out = ema_update(torch.tensor(1.0, dtype=torch.float64), torch.tensor([2.0, 3.0]), 0.5)
    assert out.dtype == torch.float64 and out.tolist() == [1.5, 2.0]
    out = ema_update(torch.tensor([1, 2]), 3.0, 0.5)
    assert out.dtype == torch.float32 and out.tolist() == [2.0, 2.5]
    # an int tensor next to a float64 one is cast to float64 whole: 2**24 + 1 is not a float32
    big = torch.tensor([2**24 + 1])
    assert ema_update(big, torch.zeros(1, dtype=torch.float64), 1.0).tolist() == [2**24 + 1]
    assert ema_update(torch.zeros(1, dtype=torch.float64), big, 0.0).tolist() == [2**24 + 1]


def test_ema_baseline_defaults_boundaries_and_buffers() -> None:
    b = EMABaseline()
    assert b.decay == 0.9 and b.value.dtype == torch.float32 and b.count.dtype == torch.long
    assert EMABaseline(0.0).decay == 0.0  # decay 0: the baseline is the last batch's mean
    with pytest.raises(ValueError, match=r"^decay must be in \[0, 1\), got 1.0$"):
        EMABaseline(1.0)
    started = EMABaseline(0.5, init=2.0, dtype=torch.float64)
    assert started.value.dtype == torch.float64 and float(started()) == 2.0
    started.update(torch.tensor([4.0, 4.0]))
    assert float(started()) == 3.0 and int(started.count) == 1


def test_learned_baseline_adds_its_offset_and_uses_the_activation_asked_for() -> None:
    b = LearnedBaseline(3, hidden=(4,), activation="tanh")
    assert any(isinstance(m, nn.Tanh) for m in b.net.modules())
    assert b.initialized.dtype == torch.bool and not bool(b.initialized)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        b.offset.fill_(2.0)
        torch.testing.assert_close(b(x), 2.0 + b.net(x).squeeze(-1))


def test_learned_baseline_loss_checks_the_batch_with_a_whole_message() -> None:
    b = LearnedBaseline(3, hidden=(4,))
    x = torch.zeros(5, 3)
    assert b.loss(x, torch.zeros(5)).shape == ()  # rewards (B,)
    with pytest.raises(ValueError, match=r"^rewards \(4,\) must end with the batch dimension of x \(5, 3\): pass \(B,\) or \(K, B\)$"):
        b.loss(x, torch.zeros(4))
