"""PPO: the clipped surrogate by hand, its config's errors, and train_ppo's use of the shared pieces."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
import torch

from rlvae_tutorial.rl import PPOConfig, ppo_clip_loss, reinforce_loss, train_ppo
from rlvae_tutorial.rl import ppo as ppo_module
from tests.test_rl_training import counting_envs

EPS = 0.2


def clip_case(ratio: float, advantage: float) -> tuple[float, float]:
    """Loss and d loss / d log pi_new for one step with ratio rho and advantage A (N = 1)."""
    new = torch.tensor([math.log(ratio)], requires_grad=True)
    loss, _ = ppo_clip_loss(new, torch.zeros(1), torch.tensor([advantage]), EPS)
    loss.backward()
    return float(loss.detach()), float(new.grad)


@pytest.mark.parametrize(("ratio", "advantage", "loss", "grad"), [
    # inside [0.8, 1.2]: -rho A, gradient d(-rho A)/d log pi = -rho A
    (1.1, 2.0, -2.2, -2.2),
    (0.9, -3.0, 2.7, 2.7),
    # A > 0 and rho above 1 + eps: min picks the clipped 1.2 A, no gradient (no further push up)
    (1.5, 2.0, -2.4, 0.0),
    # A > 0 and rho below 1 - eps: min picks the unclipped rho A, the gradient still pulls rho up
    (0.5, 2.0, -1.0, -1.0),
    # A < 0 and rho below 1 - eps: min picks the clipped 0.8 A, no gradient (no further push down)
    (0.5, -2.0, 1.6, 0.0),
    # A < 0 and rho above 1 + eps: min picks rho A, the gradient still pulls rho down
    (1.5, -2.0, 3.0, 3.0),
])
def test_clip_loss_by_hand(ratio: float, advantage: float, loss: float, grad: float) -> None:
    got_loss, got_grad = clip_case(ratio, advantage)
    assert got_loss == pytest.approx(loss, abs=1e-6)
    assert got_grad == pytest.approx(grad, abs=1e-6)


def test_at_ratio_one_the_gradient_is_the_vanilla_policy_gradient() -> None:
    gen = torch.Generator().manual_seed(0)
    logp = torch.randn(16, generator=gen)
    adv = torch.randn(16, generator=gen)
    a = logp.clone().requires_grad_(True)
    b = logp.clone().requires_grad_(True)
    loss, stats = ppo_clip_loss(a, logp, adv, EPS)
    loss.backward()
    reinforce_loss(b, adv).backward()
    assert torch.isclose(loss, -adv.mean())  # rho = 1: the surrogate's value is mean(A)
    assert torch.allclose(a.grad, b.grad)
    assert stats == {"clip_fraction": 0.0, "approx_kl": 0.0}


def test_clip_stats_exact() -> None:
    """clip_fraction counts |rho - 1| strictly above epsilon (a step exactly at epsilon is not
    clipped); approx_kl is the mean of (rho - 1) - log rho, by hand for rho in {1, 2}."""
    new = torch.tensor([0.0, math.log(2.0), math.log(1.1)], dtype=torch.float64)
    old, adv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    at_eps = float(new[2].exp() - 1)  # |rho - 1| of the third step, exactly, in float64
    _, stats = ppo_clip_loss(new, old, adv, at_eps)
    assert stats["clip_fraction"] == pytest.approx(1 / 3)  # only rho = 2; rho = 1.1 sits on the edge
    _, stats = ppo_clip_loss(new[:2], old[:2], adv[:2], EPS)
    assert stats["approx_kl"] == pytest.approx((1 - math.log(2.0)) / 2, rel=1e-12)


def test_clip_loss_shapes_dtypes_and_errors() -> None:
    new = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    loss, stats = ppo_clip_loss(new, torch.full((5,), -1.0, dtype=torch.float64),
                                torch.ones(5, dtype=torch.float64), EPS)
    assert loss.shape == () and loss.dtype == torch.float64
    assert stats["clip_fraction"] == 1.0 and stats["approx_kl"] > 0  # rho = e > 1.2
    with pytest.raises(ValueError, match=r"one shape \(N,\)"):
        ppo_clip_loss(torch.zeros(5), torch.zeros(4), torch.zeros(5), EPS)
    with pytest.raises(ValueError, match=r"one shape \(N,\)"):
        ppo_clip_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3), EPS)
    with pytest.raises(ValueError, match="clip_coef must be > 0"):
        ppo_clip_loss(torch.zeros(5), torch.zeros(5), torch.zeros(5), 0.0)


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="clip_coef must be > 0"):
        PPOConfig(clip_coef=0.0)
    with pytest.raises(ValueError, match="clip_coef must be > 0"):
        PPOConfig(clip_coef=-0.1)
    with pytest.raises(ValueError, match="must divide the batch"):
        PPOConfig(n_envs=3, n_steps=5, minibatches=4)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        PPOConfig(epochs=0)
    with pytest.raises(ValueError, match=r"config.n_envs is 8; pass dataclasses.replace"):
        train_ppo(gym.make_vec("CartPole-v1", num_envs=2), PPOConfig(), progress=False)


def test_same_seed_same_history_and_global_rng_untouched() -> None:
    config = PPOConfig(total_steps=1024, n_envs=4, n_steps=64, target_return=None)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    runs = [train_ppo("CartPole-v1", config, seed=5, progress=False).history for _ in range(2)]
    assert torch.rand(1) == before
    assert runs[0].episode_returns == runs[1].episode_returns and runs[0].updates == runs[1].updates
    other = train_ppo("CartPole-v1", config, seed=6, progress=False).history
    assert other.updates != runs[0].updates


def test_train_ppo_calls_gae_with_the_configs_gamma_and_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list = []
    real = ppo_module.gae

    def spy(rewards, values, next_value, terminated, gamma, gae_lambda):  # noqa: ANN001, ANN202
        calls.append((tuple(rewards.shape), terminated.clone(), rewards.clone(), gamma, gae_lambda))
        return real(rewards, values, next_value, terminated, gamma, gae_lambda)

    monkeypatch.setattr(ppo_module, "gae", spy)
    config = PPOConfig(total_steps=24, n_envs=1, n_steps=8, minibatches=2, gamma=0.7, gae_lambda=0.3,
                       target_return=None)
    history = train_ppo(counting_envs(1, 3, truncate=True), config, progress=False).history
    assert [c[3:] for c in calls] == [(0.7, 0.3)] * len(calls) and len(calls) == 4  # 6 real steps per rollout
    shape, terminated, rewards, _, _ = calls[0]
    assert shape == (1, 8)  # GAE sees (B, T); the rollout itself is time-major (T, B)
    assert terminated[0].tolist() == [False, False, True, False, False, False, True, False]
    assert rewards[0, 2] != 1.0 and rewards[0, 3] == 0.0  # truncation bootstrapped; dummy step
    assert history.env_steps == 24 and all(r == 3.0 for r in history.episode_returns)


@pytest.mark.slow
def test_ppo_solves_cartpole() -> None:
    eval_envs = gym.make_vec("CartPole-v1", num_envs=20)
    history = train_ppo("CartPole-v1", PPOConfig(), seed=0, eval_envs=eval_envs, progress=False).history
    assert history.solved_step is not None and history.eval_means[-1] >= 475
    assert history.solved_step <= 60_000
