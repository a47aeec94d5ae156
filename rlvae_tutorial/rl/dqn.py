"""Deep Q-learning (DQN) :cite:`mnih2015human` on a gymnasium vector env.

The tabular Q-learning update ``Q(s, a) += lr * (y - Q(s, a))`` with a network in place of the
table, made stable by two tricks of the DQN paper: a **replay buffer** (transitions are stored
and learned from in random minibatches, not in the order they happened) and a **target network**
(a periodically refreshed copy of the network computes the targets ``y``).  With ``double=True``
the online network picks the next action and the target network scores it (double DQN), which
curbs the max operator's overestimation.

Autoreset (see :mod:`rlvae_tutorial.rl.rollout`): the dummy step after an episode end is not a
transition and is never stored; a truncated episode's last transition bootstraps (only
``terminated`` stops the bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium.vector import VectorEnv
from torch import Tensor, nn
from tqdm.auto import tqdm

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.nets import mlp
from rlvae_tutorial.rl.history import EvalClock, TrainHistory, TrainResult
from rlvae_tutorial.rl.policies import _check_obs
from rlvae_tutorial.rl.rollout import (
    dummy_mask,
    final_observations,
    prepare_training,
    to_tensor,
)


@dataclass(frozen=True)
class DQNConfig:
    """DQN's settings; the defaults are the latents chapter's gridworld ones.

    ``total_steps`` env steps (real transitions, all sub-envs together); epsilon-greedy
    exploration decays linearly from ``eps_start`` to ``eps_end`` over the first
    ``eps_fraction`` of them.  A replay buffer of ``buffer_size`` transitions; learning starts
    after ``learning_starts`` of them, with ``updates_per_step`` Adam steps (rate ``lr``) on
    minibatches of ``batch_size`` after every vector step.  The target network is refreshed every
    ``target_every`` updates.  Gradients are clipped to norm ``max_grad_norm`` (``None``: not).
    ``eval_every``: env steps between greedy evaluations (one also before training).
    """

    total_steps: int = 20_000
    gamma: float = 0.95
    lr: float = 1e-3
    hidden: tuple[int, ...] = (64,)
    buffer_size: int = 20_000
    batch_size: int = 64
    learning_starts: int = 500
    updates_per_step: int = 1
    target_every: int = 100
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_fraction: float = 0.3
    double: bool = True
    max_grad_norm: float | None = 10.0
    eval_every: int = 1_000

    def __post_init__(self) -> None:
        for name in ("total_steps", "buffer_size", "batch_size", "updates_per_step", "target_every", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"DQNConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"DQNConfig.gamma must be in [0, 1], got {self.gamma}")
        if not (0.0 <= self.eps_end <= self.eps_start <= 1.0 and 0.0 < self.eps_fraction <= 1.0):
            raise ValueError("DQNConfig needs 0 <= eps_end <= eps_start <= 1 and 0 < eps_fraction <= 1")
        if self.learning_starts < self.batch_size:
            raise ValueError(f"DQNConfig.learning_starts ({self.learning_starts}) must be >= batch_size "
                             f"({self.batch_size}): the first minibatch needs that many transitions")


def epsilon_at(step: int, config: DQNConfig) -> float:
    """Exploration rate after ``step`` env steps: linear from ``eps_start`` to ``eps_end``."""
    frac = min(1.0, step / (config.eps_fraction * config.total_steps))
    return config.eps_start + frac * (config.eps_end - config.eps_start)


class QNetwork(nn.Module):
    """Q(s, .) = MLP(s): one value per action.  obs ``(B, obs_dim)`` -> ``(B, n_actions)``."""

    def __init__(self, obs_dim: int, n_actions: int, hidden: Sequence[int] = (64,)) -> None:
        super().__init__()
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.net = mlp([self.obs_dim, *hidden, self.n_actions], nn.ReLU, out_gain=1.0)

    def forward(self, obs: Tensor) -> Tensor:
        _check_obs(obs, self.obs_dim, "QNetwork")
        return self.net(obs)

    @torch.no_grad()
    def act(self, obs: Tensor) -> Tensor:
        """The greedy action ``argmax_a Q(s, a)`` of each observation: ``(B,)`` int64."""
        return self(obs).argmax(-1)


def dqn_targets(rewards: Tensor, next_q_target: Tensor, terminated: Tensor, gamma: float,
                next_q_online: Tensor | None = None) -> Tensor:
    r"""The DQN target :math:`y = r + \gamma\,(1 - \text{terminated})\,\max_{a'} Q_{\text{target}}(s', a')`.

    With ``next_q_online`` (double DQN) the max becomes
    :math:`Q_{\text{target}}(s', \arg\max_{a'} Q_{\text{online}}(s', a'))`.  Only ``terminated``
    stops the bootstrap: a time-limit truncation is not the end of the MDP.
    rewards ``(B,)``, next_q_target ``(B, A)``, terminated ``(B,)`` bool, next_q_online ``(B, A)``
    or None  ->  ``(B,)``, without gradient.
    """
    if next_q_target.ndim != 2 or rewards.shape != (next_q_target.shape[0],) or terminated.shape != rewards.shape:
        raise ValueError(
            f"expected rewards (B,), next_q_target (B, A) and terminated (B,), got {tuple(rewards.shape)}, "
            f"{tuple(next_q_target.shape)} and {tuple(terminated.shape)}"
        )
    rewards, next_q_target = as_floats(rewards, next_q_target)
    if next_q_online is None:
        next_value = next_q_target.max(-1).values
    else:
        if next_q_online.shape != next_q_target.shape:
            raise ValueError(f"next_q_online must have next_q_target's shape {tuple(next_q_target.shape)}, "
                             f"got {tuple(next_q_online.shape)}")
        next_value = next_q_target.gather(-1, next_q_online.argmax(-1, keepdim=True)).squeeze(-1)
    not_done = (~terminated.bool()).to(next_value.dtype)  # so gamma is not rounded to float32
    return (rewards + gamma * not_done * next_value).detach()


def dqn_loss(q_values: Tensor, actions: Tensor, targets: Tensor) -> Tensor:
    """Huber loss between Q(s, a) of the actions taken and the targets :cite:`mnih2015human`.

    q_values ``(B, A)``, actions ``(B,)`` int64, targets ``(B,)``  ->  scalar.
    """
    if q_values.ndim != 2 or actions.shape != (q_values.shape[0],) or targets.shape != actions.shape:
        raise ValueError(f"expected q_values (B, A), actions (B,) and targets (B,), got "
                         f"{tuple(q_values.shape)}, {tuple(actions.shape)} and {tuple(targets.shape)}")
    q_values, targets = as_floats(q_values, targets)
    q_taken = q_values.gather(-1, actions.long().unsqueeze(-1)).squeeze(-1)
    return F.smooth_l1_loss(q_taken, targets.detach())


class ReplayBuffer:
    """A ring buffer of transitions ``(s, a, r, s', terminated)`` in NumPy arrays."""

    def __init__(self, capacity: int, obs_dim: int) -> None:
        self.obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.next_obs = np.zeros((capacity, obs_dim), dtype=np.float32)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=bool)
        self.capacity, self.size, self._next = capacity, 0, 0

    def add(self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray,
            terminated: np.ndarray) -> None:
        """Store ``N`` transitions (arrays with a leading axis of ``N``), overwriting the oldest."""
        idx = (self._next + np.arange(len(actions))) % self.capacity
        self.obs[idx], self.actions[idx], self.rewards[idx] = obs, actions, rewards
        self.next_obs[idx], self.terminated[idx] = next_obs, terminated
        self._next = int((self._next + len(actions)) % self.capacity)
        self.size = min(self.size + len(actions), self.capacity)

    def sample(self, n: int, rng: np.random.Generator, device: torch.device) -> tuple[Tensor, ...]:
        """``n`` transitions drawn uniformly with replacement, as tensors on ``device``."""
        i = rng.integers(0, self.size, size=n)
        arrays = (self.obs[i], self.actions[i], self.rewards[i], self.next_obs[i], self.terminated[i])
        return tuple(torch.as_tensor(a, device=device) for a in arrays)


def dqn_update(q: QNetwork, target: QNetwork, opt: torch.optim.Optimizer, batch: tuple[Tensor, ...],
               config: DQNConfig) -> Tensor:
    """One DQN step on a replayed minibatch ``(s, a, r, s', terminated)``, each with a leading ``(N,)``.

    Targets from the frozen ``target`` network (double DQN: the online ``q`` picks the next action),
    Huber loss on Q(s, a), one Adam step with the gradient norm clipped.  Returns the loss.
    """
    s, a, r, s_next, term = batch
    with torch.no_grad():
        online_next = q(s_next) if config.double else None
        y = dqn_targets(r, target(s_next), term, config.gamma, online_next)  # (N,)
    loss = dqn_loss(q(s), a, y)
    if not torch.isfinite(loss):
        raise FloatingPointError(f"the DQN loss is {loss.item()}; lower DQNConfig.lr ({config.lr}) or set max_grad_norm")
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if config.max_grad_norm is not None:
        nn.utils.clip_grad_norm_(q.parameters(), config.max_grad_norm)
    opt.step()
    return loss.detach()


def train_dqn(envs: VectorEnv, config: DQNConfig = DQNConfig(), *, seed: int = 0,
              eval_envs: VectorEnv | None = None, device: torch.device | str | None = None,
              progress: bool = True, desc: str = "DQN") -> TrainResult:
    """Train a Q-network by DQN on ``envs`` (flat Box observations, Discrete actions).

    Every ``config.eval_every`` env steps (and once before training) the greedy policy plays one
    episode in each sub-env of ``eval_envs``, reset with the same seed every time (the same start
    states), and the mean return goes to ``history.eval_means``.  Deterministic for a given
    ``seed`` on the CPU (torch's global RNG is left as it was).  The result's ``policy`` is the
    Q-network (its ``act`` is the greedy action); ``value`` is ``None``.
    """
    obs_dim, n_actions, device, mode = prepare_training(envs, eval_envs, device)
    B = envs.num_envs
    rng = np.random.default_rng(seed)
    history = TrainHistory()
    buffer = ReplayBuffer(min(config.buffer_size, config.total_steps + B), obs_dim)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        q = QNetwork(obs_dim, n_actions, config.hidden).to(device)
        target = QNetwork(obs_dim, n_actions, config.hidden).to(device).requires_grad_(False)
        target.load_state_dict(q.state_dict())
        opt = torch.optim.Adam(q.parameters(), lr=config.lr)
        bar = tqdm(total=config.total_steps, desc=desc, disable=not progress)
        clock = EvalClock(history, eval_envs, config.eval_every, None, seed, bar, same_starts=True, at_start=True)
        clock.check(q)
        obs, _ = envs.reset(seed=seed)
        prev_done = np.zeros(B, dtype=bool)
        ep_return = np.zeros(B)
        n_updates = 0
        while history.env_steps < config.total_steps:
            greedy = q.act(to_tensor(obs, device)).cpu().numpy()
            explore = rng.random(B) < epsilon_at(history.env_steps, config)
            action = np.where(explore, rng.integers(0, n_actions, size=B), greedy)
            next_obs, reward, terminated, truncated, infos = envs.step(action)
            done = terminated | truncated
            valid = ~dummy_mask(prev_done, mode)
            final = final_observations(next_obs, infos, done, mode)
            buffer.add(obs[valid], action[valid], reward[valid], final[valid], terminated[valid])
            ep_return += np.where(valid, reward, 0.0)
            history.env_steps += int(valid.sum())
            for b in np.flatnonzero(done & valid):
                history.episode_steps.append(history.env_steps)
                history.episode_returns.append(float(ep_return[b]))
                ep_return[b] = 0.0
            prev_done, obs = done, next_obs
            bar.update(int(valid.sum()))
            if buffer.size >= config.learning_starts:
                for _ in range(config.updates_per_step):
                    loss = dqn_update(q, target, opt, buffer.sample(config.batch_size, rng, device), config)
                    n_updates += 1
                    if n_updates % config.target_every == 0:
                        target.load_state_dict(q.state_dict())
                if n_updates % 50 == 0:
                    history.updates.append({"env_steps": history.env_steps, "loss": float(loss)})
            clock.check(q)
        clock.finish()
    return TrainResult(q, None, history)
