"""REINFORCE on a gymnasium vector env, with no baseline, a moving average, or a learned V(s).

The algorithm :cite:`williams1992simple`: play whole episodes with the current policy, then
ascend the surrogate :math:`\\frac1N\\sum_t \\log\\pi(a_t|s_t)\\,(G_t - b_t)`, whose gradient is
the policy-gradient estimate.  Here every sub-env plays its own episodes; an update happens
each time ``episodes_per_update`` episodes have finished, on exactly those episodes.

Autoreset (see :mod:`rlvae_tutorial.rl.rollout`): the dummy step after an episode end is
dropped, and an episode cut by the time limit (truncated) gets ``gamma * V(final obs)`` added to
its last reward, with V the learned value when there is one (else 0: the return is cut short).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from gymnasium.vector import VectorEnv
from torch import Tensor
from tqdm.auto import tqdm

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.estimators.baselines import EMABaseline
from rlvae_tutorial.rl.history import EvalClock, TrainHistory, TrainResult
from rlvae_tutorial.rl.policies import CategoricalPolicy, ValueFunction
from rlvae_tutorial.rl.returns import discounted_returns
from rlvae_tutorial.rl.rollout import (
    dummy_mask,
    final_observations,
    prepare_training,
    to_tensor,
)

BASELINES = ("none", "ema", "value")
Baseline = EMABaseline | tuple[ValueFunction, torch.optim.Optimizer] | None


@dataclass(frozen=True)
class ReinforceConfig:
    """REINFORCE's settings; the defaults are the book's CartPole-v1 ones.

    ``baseline``: ``"none"``, ``"ema"`` (an exponential moving average of past batches' mean return,
    :class:`~rlvae_tutorial.estimators.baselines.EMABaseline` with decay ``ema_decay``) or
    ``"value"`` (a learned V(s) of plain returns, as in CleanRL and Stable-Baselines3).
    ``scale_advantages`` divides the weights ``G_t - b_t`` of an update by their standard
    deviation (a step-size change, not a baseline); ``center_advantages`` subtracts their mean, a
    batch-mean baseline that includes each weight's own value (a bias of order 1/N for N
    independent weights, larger within episodes): turn it off when comparing baselines, so that
    ``baseline="none"`` means none.
    Evaluation every ``eval_every`` env steps on ``eval_envs`` (one episode per sub-env, sampled
    actions); training stops early once the mean reaches ``target_return`` (``None``: never).
    """

    total_steps: int = 100_000
    gamma: float = 0.99
    lr: float = 1e-2
    value_lr: float = 1e-2
    hidden: tuple[int, ...] = (64, 64)
    baseline: str = "value"
    episodes_per_update: int = 4
    center_advantages: bool = True
    scale_advantages: bool = True
    ema_decay: float = 0.9
    eval_every: int = 5_000
    target_return: float | None = 475.0

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if self.episodes_per_update < 1 or self.total_steps < 1 or self.eval_every < 1:
            raise ValueError("episodes_per_update, total_steps and eval_every must be >= 1")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")


@dataclass
class Episode:
    """One finished episode of one sub-env: ``obs (T, D)``, ``actions (T,)``, ``rewards (T,)``,
    and the final observation if the episode was truncated (to bootstrap from)."""

    obs: list[np.ndarray] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    truncated_obs: np.ndarray | None = None


def reinforce_loss(log_probs: Tensor, weights: Tensor) -> Tensor:
    r"""The REINFORCE surrogate :math:`-\frac1N \sum_i \log \pi(a_i | s_i)\, w_i`.

    Its gradient is minus the policy-gradient estimate; the weights (returns minus a baseline)
    are treated as constants.  log_probs, weights: ``(N,)`` -> scalar.
    """
    if log_probs.shape != weights.shape or log_probs.ndim != 1:
        raise ValueError(
            f"log_probs and weights must both be (N,), got {tuple(log_probs.shape)} and {tuple(weights.shape)}"
        )
    log_probs, weights = as_floats(log_probs, weights)
    return -(log_probs * weights.detach()).mean()


def episode_batch(batch: list[Episode], value: ValueFunction | None, gamma: float,
                  device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Concatenate finished episodes into ``obs (N, D)``, ``actions (N,)`` and returns ``G_t (N,)``.

    A truncated episode's last reward gets ``gamma * V(final obs)`` (0 without a value function).
    """
    obs = to_tensor(np.concatenate([np.stack(ep.obs) for ep in batch]), device)  # (N, D)
    actions = torch.as_tensor(np.concatenate([ep.actions for ep in batch]), device=device)  # (N,)
    rewards = np.concatenate([ep.rewards for ep in batch]).astype(np.float64)  # (N,)
    ends = np.cumsum([len(ep.rewards) for ep in batch]) - 1
    truncated = [(i, ep.truncated_obs) for i, ep in zip(ends, batch, strict=True) if ep.truncated_obs is not None]
    if truncated and value is not None:
        with torch.no_grad():
            v_final = value(to_tensor(np.stack([o for _, o in truncated]), device))
        for (i, _), v in zip(truncated, v_final.tolist(), strict=True):
            rewards[i] += gamma * v
    terminated = torch.zeros(len(rewards), dtype=torch.bool)
    terminated[ends] = True
    return obs, actions, discounted_returns(torch.as_tensor(rewards), gamma, terminated).float().to(device)


def reinforce_update(obs: Tensor, actions: Tensor, returns: Tensor, policy: CategoricalPolicy,
                     opt: torch.optim.Optimizer, config: ReinforceConfig, baseline: Baseline) -> dict[str, float]:
    """One REINFORCE step on a batch of whole episodes: ``obs (N, D)``, ``actions (N,)``, returns ``G_t (N,)``.

    The baseline ``b`` is ``None``, an :class:`EMABaseline` (used, then updated) or a
    ``(ValueFunction, optimizer)`` pair (V fitted to ``G_t`` by its own MSE step).
    """
    stats: dict[str, float] = {"return_mean": float(returns.mean())}
    weights = returns  # (N,)  G_t - b_t below
    if isinstance(baseline, EMABaseline):
        weights = returns - baseline()
        baseline.update(returns)
    elif baseline is not None:
        value, value_opt = baseline
        v = value(obs)  # (N,)
        weights = returns - v.detach()
        value_loss = torch.nn.functional.mse_loss(v, returns)
        value_opt.zero_grad()
        value_loss.backward()
        value_opt.step()
        stats["value_loss"] = float(value_loss.detach())
    if config.center_advantages and len(weights) > 1:
        weights = weights - weights.mean()
    if config.scale_advantages and len(weights) > 1:
        weights = weights / (weights.std() + 1e-8)
    dist = policy(obs)
    loss = reinforce_loss(dist.log_prob(actions), weights)
    opt.zero_grad()
    loss.backward()
    opt.step()
    stats.update(policy_loss=float(loss.detach()), entropy=float(dist.entropy().mean().detach()))
    return stats


def train_reinforce(
    envs: VectorEnv,
    config: ReinforceConfig = ReinforceConfig(),
    *,
    seed: int = 0,
    eval_envs: VectorEnv | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a :class:`CategoricalPolicy` by REINFORCE on ``envs`` (flat Box obs, Discrete actions).

    Deterministic for a given ``seed`` on the CPU (torch's global RNG is left as it was).
    Returns the policy, the value function (``baseline="value"``) and a :class:`TrainHistory`.
    """
    obs_dim, n_actions, device, mode = prepare_training(envs, eval_envs, device)
    history = TrainHistory()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = CategoricalPolicy(obs_dim, n_actions, config.hidden).to(device)
        opt = torch.optim.Adam(policy.parameters(), lr=config.lr)
        value, baseline = None, None
        if config.baseline == "value":
            value = ValueFunction(obs_dim, config.hidden).to(device)
            baseline = (value, torch.optim.Adam(value.parameters(), lr=config.value_lr))
        elif config.baseline == "ema":
            baseline = EMABaseline(config.ema_decay, dtype=torch.float64).to(device)
        n = envs.num_envs
        running = [Episode() for _ in range(n)]
        finished: list[Episode] = []
        obs, _ = envs.reset(seed=seed)
        prev_done = np.zeros(n, dtype=bool)
        bar = tqdm(total=config.total_steps, desc=f"REINFORCE ({config.baseline})", disable=not progress)
        clock = EvalClock(history, eval_envs, config.eval_every, config.target_return, seed, bar)
        while history.env_steps < config.total_steps:
            action = policy.act(to_tensor(obs, device)).cpu().numpy()
            next_obs, reward, terminated, truncated, infos = envs.step(action)
            done = terminated | truncated
            final = final_observations(next_obs, infos, done, mode)
            skip = dummy_mask(prev_done, mode)
            for b in np.flatnonzero(~skip):
                ep = running[b]
                ep.obs.append(obs[b])
                ep.actions.append(int(action[b]))
                ep.rewards.append(float(reward[b]))
                if done[b]:
                    if truncated[b] and not terminated[b]:
                        ep.truncated_obs = np.asarray(final[b])
                    finished.append(ep)
                    running[b] = Episode()
                    history.episode_steps.append(history.env_steps + 1)
                    history.episode_returns.append(float(sum(ep.rewards)))
                history.env_steps += 1
            bar.update(int((~skip).sum()))
            prev_done, obs = done, next_obs
            if len(finished) >= config.episodes_per_update:
                stats = reinforce_update(*episode_batch(finished, value, config.gamma, device), policy, opt,
                                         config, baseline)
                history.updates.append({**stats, "env_steps": history.env_steps})
                finished = []
            if clock.check(policy):
                break
        clock.finish()
    return TrainResult(policy, value, history)
