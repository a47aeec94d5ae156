"""The bandit: exact gradient, unbiased REINFORCE estimates, baselines that cut variance."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Categorical

from rlvae_tutorial.rl import (
    Bandit,
    BanditConfig,
    book_bandit,
    ema_baseline,
    exact_gradient,
    expected_reward,
    reinforce_gradients,
    softmax_score,
    train_bandit,
)
from rlvae_tutorial.rl.bandit import BANDIT_BASELINES, baseline_values, learned_value_baseline


def test_exact_gradient_matches_autograd() -> None:
    bandit = book_bandit()
    logits = torch.randn(3, 4, generator=torch.Generator().manual_seed(0), requires_grad=True)
    expected_reward(logits, bandit).backward()
    assert torch.allclose(exact_gradient(logits.detach(), bandit), logits.grad, atol=1e-6)


def test_softmax_score_matches_distributions_log_prob() -> None:
    logits = torch.randn(5, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    actions = torch.tensor([0, 2, 1, 1, 0])
    Categorical(logits=logits).log_prob(actions).sum().backward()
    assert torch.allclose(softmax_score(logits.detach(), actions), logits.grad, atol=1e-6)


@pytest.mark.parametrize("baseline", BANDIT_BASELINES)
def test_reinforce_estimate_is_unbiased(baseline: str) -> None:
    bandit = book_bandit()
    logits = torch.randn(3, 4, generator=torch.Generator().manual_seed(2))
    n = 20_000
    grads = reinforce_gradients(logits, bandit, n, baseline, generator=torch.Generator().manual_seed(3))
    assert grads.shape == (n, 3, 4)
    z = (grads.mean(0) - exact_gradient(logits, bandit)) / (grads.std(0) / n**0.5)
    assert z.abs().max() < 4.5, f"largest z-score {z.abs().max():.2f}: the estimate looks biased"


def test_baselines_cut_the_variance() -> None:
    bandit = book_bandit()
    logits = torch.randn(3, 4, generator=torch.Generator().manual_seed(4))
    var = {
        b: reinforce_gradients(logits, bandit, 20_000, b, generator=torch.Generator().manual_seed(5)).var(0).sum()
        for b in BANDIT_BASELINES
    }
    assert var["none"] > 2 * var["ema"] > 2 * var["value"]


def test_a_baseline_that_sees_the_current_reward_is_biased() -> None:
    # The point of ema_baseline's "past rewards only": b_i = r_i would zero the estimate.
    r = torch.tensor([1.0, 3.0, 5.0])
    assert torch.allclose(ema_baseline(r, 0.5), torch.tensor([0.0, 0.5, 1.75]))
    assert torch.allclose(ema_baseline(r, 0.5, init=2.0), torch.tensor([2.0, 1.5, 2.25]))
    v = learned_value_baseline(torch.tensor([0, 1, 0, 1]), torch.tensor([2.0, 4.0, 6.0, 8.0]), 2, lr=0.5)
    assert torch.allclose(v, torch.tensor([0.0, 0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match="baseline must be one of"):
        baseline_values("mean", torch.zeros(2, dtype=torch.long), torch.zeros(2), 1)


@pytest.mark.slow
def test_policy_gradient_improves_the_bandit() -> None:
    bandit = book_bandit()
    best = float(bandit.means.max(-1).values.mean())
    for baseline in BANDIT_BASELINES:
        _, history = train_bandit(bandit, BanditConfig(baseline=baseline), seed=0)
        start, end = history.expected_reward[0], history.expected_reward[-1]
        assert end > start + 0.5 * (best - start), (baseline, start, end, best)
    a = train_bandit(bandit, BanditConfig(steps=20), seed=1)[1].expected_reward
    b = train_bandit(bandit, BanditConfig(steps=20), seed=1)[1].expected_reward
    assert a == b


def test_bandit_errors() -> None:
    with pytest.raises(ValueError, match=r"means must be \(S, K\)"):
        Bandit(torch.zeros(4))
    with pytest.raises(ValueError, match="baseline must be one of"):
        train_bandit(book_bandit(), BanditConfig(baseline="optimal"))
    single = Bandit(torch.tensor([[1.0, 2.0]]), noise=0.0)
    assert single.pull(torch.tensor([0, 0]), torch.tensor([0, 1])).tolist() == [1.0, 2.0]


def test_documented_defaults_are_the_ones_used() -> None:
    """The defaults a reader relies on (no baseline for the estimates, seed 0 for training) are the
    ones the functions use: the mutation run found that changing either went unnoticed."""
    bandit, logits = book_bandit(), torch.zeros(3, 4)
    default = reinforce_gradients(logits, bandit, 64, generator=torch.Generator().manual_seed(3))
    explicit = reinforce_gradients(logits, bandit, 64, "none", generator=torch.Generator().manual_seed(3))
    other = reinforce_gradients(logits, bandit, 64, "ema", generator=torch.Generator().manual_seed(3))
    assert torch.equal(default, explicit) and not torch.equal(default, other)
    config = BanditConfig(steps=5)
    seeded = train_bandit(bandit, config, seed=0)[1].expected_reward
    assert train_bandit(bandit, config)[1].expected_reward == seeded
    assert train_bandit(bandit, config, seed=1)[1].expected_reward != seeded


def test_learned_value_baseline_keeps_the_rewards_dtype() -> None:
    contexts = torch.tensor([0, 1, 0])
    for dtype in (torch.float32, torch.float64):
        b = learned_value_baseline(contexts, torch.tensor([1.0, 2.0, 3.0], dtype=dtype), 2, 0.5)
        assert b.dtype == dtype and b.tolist() == [0.0, 0.0, 0.5]


def test_train_bandit_keeps_its_moving_average_in_float64(monkeypatch: pytest.MonkeyPatch) -> None:
    import rlvae_tutorial.rl.bandit as bandit_module

    made: list[torch.dtype] = []
    real = bandit_module.EMABaseline

    def spy(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        ema = real(*args, **kwargs)
        made.append(ema.value.dtype)
        return ema

    monkeypatch.setattr(bandit_module, "EMABaseline", spy)
    train_bandit(book_bandit(), BanditConfig(steps=2, batch=4, baseline="ema"))
    assert made == [torch.float64]


def test_float64_bandits_pull_float64_rewards_and_ema_keeps_the_dtype() -> None:
    bandit = Bandit(torch.tensor([[0.0, 1.0]], dtype=torch.float64))
    g = torch.Generator().manual_seed(0)
    rewards = bandit.pull(torch.tensor([0, 0]), torch.tensor([0, 1]), generator=g)
    assert rewards.dtype == torch.float64
    # the noise itself is drawn in float64, not drawn in float32 and then widened
    noise = torch.randn(2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(rewards, torch.tensor([0.0, 1.0], dtype=torch.float64) + noise)
    assert ema_baseline(rewards, 0.5).dtype == torch.float64
    assert ema_baseline(torch.tensor([1.0, 3.0]), 1.0).tolist() == [0.0, 0.0]  # decay 1: never moves
    with pytest.raises(ValueError, match=r"^decay must be in \[0, 1\], got 1.5$"):
        ema_baseline(torch.tensor([1.0]), 1.5)
    with pytest.raises(ValueError, match=r"^decay must be in \[0, 1\], got 1.5$"):  # checked before any reward
        ema_baseline(torch.zeros(0), 1.5)
