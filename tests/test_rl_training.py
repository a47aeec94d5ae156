"""Policies, vector-env handling (autoreset!), REINFORCE and actor-critic training loops."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from torch.distributions import Categorical

from rlvae_tutorial.envs import GRIDWORLD_ID
from rlvae_tutorial.rl import (
    ActorCriticConfig,
    CategoricalPolicy,
    ReinforceConfig,
    ValueFunction,
    actor_critic_loss,
    evaluate,
    reinforce_loss,
    train_actor_critic,
    train_reinforce,
    transition_mask,
)
from rlvae_tutorial.rl import actor_critic as ac_module
from rlvae_tutorial.rl import reinforce as reinforce_module
from rlvae_tutorial.rl.rollout import check_vector_env


class CountingEnv(gym.Env):
    """obs = [steps so far]; reward 1 a step; the episode ends after ``length`` steps, by
    termination or (``truncate=True``) by truncation."""

    def __init__(self, length: int = 3, truncate: bool = False) -> None:
        self.length, self.truncate = length, truncate
        self.observation_space = gym.spaces.Box(0.0, 100.0, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):  # noqa: ANN201
        super().reset(seed=seed)
        self.t = 0
        return np.array([0.0], np.float32), {}

    def step(self, action: int):  # noqa: ANN201
        self.t += 1
        end = self.t >= self.length
        return np.array([float(self.t)], np.float32), 1.0, end and not self.truncate, end and self.truncate, {}


def counting_envs(n: int = 2, length: int = 3, truncate: bool = False,
                  mode: AutoresetMode = AutoresetMode.NEXT_STEP) -> SyncVectorEnv:
    return SyncVectorEnv([lambda: CountingEnv(length, truncate)] * n, autoreset_mode=mode)


def test_policy_and_value_shapes_and_errors() -> None:
    policy, value = CategoricalPolicy(4, 3, hidden=(8, 8)), ValueFunction(4, hidden=(8,))
    dist = policy(torch.zeros(5, 4))
    assert isinstance(dist, Categorical) and dist.batch_shape == (5,) and dist.probs.shape == (5, 3)
    assert torch.allclose(dist.probs, torch.full((5, 3), 1 / 3), atol=0.02)  # fresh policy ~ uniform
    assert value(torch.zeros(5, 4)).shape == (5,)
    with pytest.raises(ValueError, match=r"expects observations of shape \(B, 4\).*flatten"):
        policy(torch.zeros(5, 2, 2))


def test_act_samples_from_the_policy_distribution() -> None:
    torch.manual_seed(0)
    policy = CategoricalPolicy(2, 3, hidden=(8,))
    with torch.no_grad():
        policy.net[-1].bias.copy_(torch.tensor([2.0, 0.0, -1.0]))  # far from uniform
    obs = torch.tensor([[1.0, -1.0]]).repeat(30_000, 1)
    probs = policy(obs[:1]).probs[0].detach()
    counts = torch.bincount(policy.act(obs, generator=torch.Generator().manual_seed(1)), minlength=3)
    expected = probs * len(obs)
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert probs.max() > 0.5 and chi2 < 13.8, (probs, counts)  # 13.8: the 99.9% point of chi2(2)


def test_check_vector_env_messages() -> None:
    with pytest.raises(TypeError, match="gymnasium.make_vec"):
        check_vector_env(gym.make("CartPole-v1"))
    with pytest.raises(ValueError, match="flat vectors"):
        check_vector_env(gym.make_vec(GRIDWORLD_ID, num_envs=2, obs_mode="pixels"))
    with pytest.raises(ValueError, match="flat vectors"):
        check_vector_env(gym.make_vec(GRIDWORLD_ID, num_envs=2))  # Discrete observations
    with pytest.raises(ValueError, match="autoreset_mode"):
        check_vector_env(counting_envs(mode=AutoresetMode.DISABLED))
    assert check_vector_env(gym.make_vec("CartPole-v1", num_envs=2)) == (4, 2)


def test_gymnasium_next_step_autoreset_is_what_we_mask() -> None:
    """The semantics the loops rely on: after an episode ends, the next step is a reset step
    with reward 0 and both flags False, whose action is ignored."""
    envs = counting_envs(n=1, length=2)
    envs.reset(seed=0)
    steps = [envs.step(np.array([0])) for _ in range(4)]
    rewards = [float(s[1][0]) for s in steps]
    terminated = torch.tensor([bool(s[2][0]) for s in steps])
    assert rewards == [1.0, 1.0, 0.0, 1.0]  # step 2 is the dummy
    assert [float(s[0][0, 0]) for s in steps] == [1.0, 2.0, 0.0, 1.0]
    mask = transition_mask(terminated, torch.zeros(4, dtype=torch.bool))
    assert mask.tolist() == [True, True, False, True]
    both = transition_mask(torch.tensor([[False, True, False], [False, False, False]]),
                           torch.tensor([[False, False, False], [True, False, False]]), first_valid=False)
    assert both.tolist() == [[False, True, False], [False, False, True]]


def _capture_reinforce_batches(monkeypatch: pytest.MonkeyPatch) -> list:
    batches: list = []
    real = reinforce_module.episode_batch

    def spy(batch, *args, **kwargs):  # noqa: ANN001, ANN202
        batches.extend(batch)
        return real(batch, *args, **kwargs)

    monkeypatch.setattr(reinforce_module, "episode_batch", spy)
    return batches


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
@pytest.mark.parametrize("truncate", [False, True])
def test_reinforce_drops_dummy_steps_and_keeps_final_obs(monkeypatch: pytest.MonkeyPatch,
                                                         mode: AutoresetMode, truncate: bool) -> None:
    batches = _capture_reinforce_batches(monkeypatch)
    config = ReinforceConfig(total_steps=60, episodes_per_update=2, target_return=None)
    history = train_reinforce(counting_envs(2, 3, truncate, mode), config, progress=False).history
    assert history.env_steps == 60 and all(r == 3.0 for r in history.episode_returns)
    assert len(history.episode_returns) == 20 and len(batches) == 20
    for ep in batches:  # every episode: exactly its 3 real steps, no reset step glued on
        assert [float(o[0]) for o in ep.obs] == [0.0, 1.0, 2.0] and ep.rewards == [1.0, 1.0, 1.0]
        if truncate:  # the final observation is kept for the bootstrap
            assert ep.truncated_obs is not None and float(ep.truncated_obs[0]) == 3.0
        else:
            assert ep.truncated_obs is None


def test_reinforce_bootstraps_truncated_episodes_with_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list = []
    real = reinforce_module.discounted_returns

    def spy(rewards, gamma, terminated):  # noqa: ANN001, ANN202
        seen.append(rewards.clone())
        return real(rewards, gamma, terminated)

    monkeypatch.setattr(reinforce_module, "discounted_returns", spy)
    config = ReinforceConfig(total_steps=6, episodes_per_update=2, target_return=None, gamma=0.5, lr=0.0,
                             value_lr=0.0)
    result = train_reinforce(counting_envs(2, 3, truncate=True), config, progress=False)
    with torch.no_grad():  # V learns G itself
        v_final = float(result.value(torch.tensor([[3.0]])))
    assert torch.allclose(seen[0], torch.tensor([1.0, 1.0, 1.0 + 0.5 * v_final] * 2, dtype=torch.float64))


@pytest.mark.parametrize("mode", [AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP])
def test_actor_critic_masks_dummy_steps_and_bootstraps(monkeypatch: pytest.MonkeyPatch,
                                                       mode: AutoresetMode) -> None:
    calls: list = []
    real = ac_module.gae

    def spy(rewards, values, next_value, terminated, gamma, gae_lambda):  # noqa: ANN001, ANN202
        calls.append((rewards.clone(), terminated.clone()))
        return real(rewards, values, next_value, terminated, gamma, gae_lambda)

    monkeypatch.setattr(ac_module, "gae", spy)
    config = ActorCriticConfig(total_steps=24, n_steps=8, gamma=0.5, target_return=None)
    history = train_actor_critic(counting_envs(1, 3, truncate=True, mode=mode), config, progress=False).history
    rewards, terminated = calls[0]
    if mode == AutoresetMode.NEXT_STEP:  # steps: 1 2 3(end) dummy 1 2 3(end) dummy
        assert terminated[0].tolist() == [False, False, True, False, False, False, True, False]
        assert rewards[0, 3] == 0.0 and len(calls) == 4  # 6 real steps per 8-step rollout
    else:
        assert terminated[0].tolist() == [False, False, True, False, False, True, False, False]
        assert len(calls) == 3
    assert rewards[0, 2] > 1.0  # truncated: 1 + gamma * V(final obs) (V > 0 here)
    assert history.env_steps == 24 and all(r == 3.0 for r in history.episode_returns)


def test_losses_by_hand_and_errors() -> None:
    lp = torch.tensor([-1.0, -2.0], requires_grad=True)
    w = torch.tensor([3.0, -1.0], requires_grad=True)
    loss = reinforce_loss(lp, w)
    assert torch.isclose(loss, torch.tensor(-(-3.0 + 2.0) / 2))
    loss.backward()
    assert w.grad is None and torch.allclose(lp.grad, -w.detach() / 2)
    with pytest.raises(ValueError, match=r"both be \(N,\)"):
        reinforce_loss(lp, torch.zeros(3))
    v = torch.tensor([1.0, 2.0], requires_grad=True)
    total = actor_critic_loss(lp, w, v, torch.tensor([2.0, 2.0]), torch.tensor([0.5, 0.5]), 0.5, 0.1)
    assert torch.isclose(total, torch.tensor(0.5 + 0.5 * 0.5 - 0.05))
    with pytest.raises(ValueError, match="same shape"):
        actor_critic_loss(lp, w, v, torch.zeros(3), torch.zeros(2))
    with pytest.raises(ValueError, match="baseline must be one of"):
        ReinforceConfig(baseline="mean")


@pytest.mark.slow
def test_training_is_deterministic_and_leaves_global_rng_alone() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=4)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    runs = [train_reinforce(envs, ReinforceConfig(total_steps=1500), seed=7, progress=False).history for _ in range(2)]
    assert torch.rand(1) == before
    assert runs[0].episode_returns == runs[1].episode_returns and runs[0].updates == runs[1].updates
    ac = [train_actor_critic(envs, ActorCriticConfig(total_steps=600), seed=7, progress=False).history
          for _ in range(2)]
    assert ac[0].episode_returns == ac[1].episode_returns and ac[0].updates == ac[1].updates


def test_evaluate_counts_one_episode_per_env() -> None:
    policy = CategoricalPolicy(1, 2)
    returns = evaluate(policy, counting_envs(5, length=4), seed=0)
    assert returns.shape == (5,) and np.all(returns == 4.0)


@pytest.mark.slow
def test_reinforce_with_value_baseline_solves_cartpole() -> None:
    envs = gym.make_vec("CartPole-v1", num_envs=8)
    eval_envs = gym.make_vec("CartPole-v1", num_envs=20)
    history = train_reinforce(envs, ReinforceConfig(), seed=0, eval_envs=eval_envs, progress=False).history
    assert history.solved_step is not None and history.eval_means[-1] >= 475
    assert history.solved_step <= 50_000


@pytest.mark.parametrize("truncate", [False, True])
def test_actor_critic_trains_on_gae_advantages_and_value_targets(monkeypatch: pytest.MonkeyPatch,
                                                                 truncate: bool) -> None:
    """With frozen networks (lr 0), the loss must see, for every real step, the GAE(gamma, lambda)
    advantage of that step computed by hand from the critic, and the value target A + V."""
    seen: list = []
    real = ac_module.actor_critic_loss

    def spy(log_probs, advantages, values, returns, *args):  # noqa: ANN001, ANN002, ANN202
        seen.append((advantages.clone(), values.detach().clone(), returns.clone()))
        return real(log_probs, advantages, values, returns, *args)

    monkeypatch.setattr(ac_module, "actor_critic_loss", spy)
    gamma, lam = 0.5, 0.25
    config = ActorCriticConfig(total_steps=12, n_steps=8, gamma=gamma, gae_lambda=lam, lr=0.0, value_lr=0.0,
                               target_return=None)
    result = train_actor_critic(counting_envs(2, 3, truncate=truncate), config, progress=False)
    with torch.no_grad():
        V = result.value(torch.arange(4.0).view(4, 1)).double()  # V(s) for s = 0..3
    # One episode is s = 0, 1, 2 (reward 1 each); after s = 2 it ends (terminated: nothing follows;
    # truncated: bootstrapped with V(final obs 3)).
    delta = [1 + gamma * V[1] - V[0], 1 + gamma * V[2] - V[1], 1 + (gamma * V[3] if truncate else 0.0) - V[2]]
    a2 = delta[2]
    a1 = delta[1] + gamma * lam * a2
    a0 = delta[0] + gamma * lam * a1
    expected = torch.stack([a0, a1, a2]).float()
    assert len(seen) == 1  # 2 envs x 8 steps = 12 real steps (two dummy steps per env)
    adv, values, targets = seen[0]
    assert len(adv) == 12
    assert torch.allclose(adv.view(2, 3, 2).permute(0, 2, 1).reshape(4, 3), expected.expand(4, 3), atol=1e-5)
    assert torch.allclose(targets, adv + values, atol=1e-5)


@pytest.mark.parametrize("algo", ["reinforce", "a2c"])
def test_a_fresh_critic_predicts_returns_of_the_size_of_early_returns(algo: str) -> None:
    """An untrained critic's outputs must be small next to CartPole's early returns (~20): a critic
    of returns scaled by 1 - gamma (an option this package once had) read its outputs as returns
    up to ~20 (each output unit stood for 1 / (1 - gamma) = 100 units of return), and the first
    advantages were the critic's noise."""
    envs = gym.make_vec("CartPole-v1", num_envs=2)
    if algo == "reinforce":
        config = ReinforceConfig(total_steps=50, lr=0.0, value_lr=0.0, target_return=None)
        value = train_reinforce(envs, config, progress=False).value
    else:
        config = ActorCriticConfig(total_steps=50, lr=0.0, value_lr=0.0, target_return=None)
        value = train_actor_critic(envs, config, progress=False).value
    obs = torch.as_tensor(np.random.default_rng(0).normal(0.0, 0.1, (256, 4)), dtype=torch.float32)
    with torch.no_grad():
        v = value(obs)  # in return units
    assert v.abs().max() < 10.0, f"a fresh critic predicts returns up to {float(v.abs().max()):.0f}"
