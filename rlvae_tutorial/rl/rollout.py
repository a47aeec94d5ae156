"""Talking to gymnasium vector environments: checks, observations, autoreset, evaluation.

**Autoreset.**  A gymnasium 1.x vector env resets a finished sub-environment by itself.  In the
default ``NEXT_STEP`` mode the step that ends an episode returns its *final* observation, and the
NEXT call to ``step`` ignores that sub-env's action, resets it and returns the first observation
of the new episode with reward 0 and both flags ``False``.  That step is not a transition of the
MDP, so the book's loops drop it (:func:`dummy_mask`).  In ``SAME_STEP`` mode the reset happens
inside the ending step, which returns the new first observation and puts the final one in
``info["final_obs"]``; there is no dummy step.  Either way :func:`final_observations` gives the
final observations, from which truncated episodes are bootstrapped with ``V(final obs)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from torch import Tensor, nn

if TYPE_CHECKING:
    from rlvae_tutorial.rl.history import TrainHistory

SUPPORTED_AUTORESET = (AutoresetMode.NEXT_STEP, AutoresetMode.SAME_STEP)


def autoreset_mode(envs: VectorEnv) -> AutoresetMode:
    """The env's autoreset mode; raises for ``DISABLED`` (the loops rely on autoreset)."""
    mode = envs.metadata.get("autoreset_mode", AutoresetMode.NEXT_STEP)
    if isinstance(mode, str):
        mode = AutoresetMode(mode)
    if mode not in SUPPORTED_AUTORESET:
        raise ValueError(
            f"autoreset_mode {mode} is not supported; make the vector env with "
            "vector_kwargs={'autoreset_mode': gymnasium.vector.AutoresetMode.NEXT_STEP} (the default)"
        )
    return mode


def check_vector_env(envs: VectorEnv) -> tuple[int, int]:
    """Check that ``envs`` is a vector env with flat ``Box`` observations and ``Discrete`` actions;
    return ``(obs_dim, n_actions)``."""
    if not isinstance(envs, VectorEnv):
        raise TypeError(
            f"expected a gymnasium vector env, got {type(envs).__name__}; "
            "make one with gymnasium.make_vec(env_id, num_envs=8)"
        )
    obs_space, act_space = envs.single_observation_space, envs.single_action_space
    if not isinstance(obs_space, gym.spaces.Box) or len(obs_space.shape) != 1:
        raise ValueError(
            f"observations must be flat vectors (a 1-D Box), got {obs_space}; wrap image or "
            "Discrete observations (e.g. FlattenObservation, or the gridworld's obs_mode='onehot')"
        )
    if not isinstance(act_space, gym.spaces.Discrete):
        raise ValueError(f"actions must be Discrete, got {act_space}")
    autoreset_mode(envs)
    return int(obs_space.shape[0]), int(act_space.n)


def prepare_training(envs: VectorEnv, eval_envs: VectorEnv | None,
                     device: torch.device | str | None) -> tuple[int, int, torch.device, AutoresetMode]:
    """Check the envs and pick the device for a training loop: ``(obs_dim, n_actions, device, mode)``.

    Raises the errors of :func:`check_vector_env` for ``envs`` or ``eval_envs``, and ValueError
    when ``eval_envs`` has other observation or action sizes than ``envs`` (found before training,
    not at the first evaluation).
    """
    from rlvae_tutorial.device import get_device

    obs_dim, n_actions = check_vector_env(envs)
    eval_dim, eval_actions = check_vector_env(eval_envs) if eval_envs is not None else (obs_dim, n_actions)
    if (eval_dim, eval_actions) != (obs_dim, n_actions):
        raise ValueError(
            f"eval_envs has {eval_dim}-dim observations and {eval_actions} actions, but envs has "
            f"{obs_dim} and {n_actions}; make eval_envs from the same env id as envs"
        )
    return obs_dim, n_actions, get_device(device), autoreset_mode(envs)


def to_tensor(obs: np.ndarray, device: torch.device) -> Tensor:
    """Observations ``(B, obs_dim)`` as float32 on ``device``."""
    return torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=device)


def dummy_mask(prev_done: np.ndarray, mode: AutoresetMode) -> np.ndarray:
    """``(B,)`` bool: which sub-envs' current step is an autoreset step to drop (NEXT_STEP mode:
    those whose previous step ended an episode)."""
    if mode == AutoresetMode.NEXT_STEP:
        return prev_done.copy()
    return np.zeros_like(prev_done)


def transition_mask(terminated: Tensor, truncated: Tensor, first_valid: bool = True) -> Tensor:
    """Which steps of a NEXT_STEP-autoreset rollout are real transitions.

    Step ``t`` is the dummy reset step exactly when step ``t - 1`` ended an episode (terminated
    or truncated); the ending step itself is real.  ``first_valid``: whether step 0 is real
    (``False`` when the rollout starts right after an episode end).
    terminated, truncated: ``(T,)`` or ``(B, T)`` bool, time last  ->  bool, same shape.
    """
    if terminated.shape != truncated.shape or terminated.ndim not in (1, 2):
        raise ValueError(
            f"terminated and truncated must have the same shape (T,) or (B, T), got "
            f"{tuple(terminated.shape)} and {tuple(truncated.shape)}"
        )
    done = terminated.bool() | truncated.bool()
    valid = torch.ones_like(done)
    valid[..., 1:] = ~done[..., :-1]
    valid[..., 0] = first_valid
    return valid


def final_observations(next_obs: np.ndarray, infos: dict, done: np.ndarray, mode: AutoresetMode) -> np.ndarray:
    """The final observation of each sub-env whose episode just ended (rows where ``done``;
    other rows are ``next_obs``)."""
    if mode == AutoresetMode.NEXT_STEP or not done.any():
        return next_obs
    out = np.array(next_obs, copy=True)
    for b in np.flatnonzero(done):
        out[b] = infos["final_obs"][b]
    return out


@torch.no_grad()
def evaluate(policy: nn.Module, envs: VectorEnv, *, seed: int | None = None, greedy: bool = False) -> np.ndarray:
    """Run one episode in every sub-env of ``envs`` and return the undiscounted returns ``(N,)``.

    Actions are sampled from the policy (``greedy=True``: its most likely action).  Only each
    sub-env's first episode counts, so short episodes are not over-represented.
    """
    check_vector_env(envs)
    device = next(policy.parameters()).device
    mode = autoreset_mode(envs)
    obs, _ = envs.reset(seed=seed)
    n = envs.num_envs
    returns, finished = np.zeros(n), np.zeros(n, dtype=bool)
    was_training = policy.training
    policy.eval()
    while not finished.all():
        x = to_tensor(obs, device)
        if greedy:
            action = policy(x).probs.argmax(-1)
        else:
            action = policy.act(x) if hasattr(policy, "act") else policy(x).sample()
        obs, reward, terminated, truncated, _ = envs.step(action.cpu().numpy())
        returns += np.where(finished, 0.0, reward)
        finished |= terminated | truncated
    del mode  # both supported modes finish an episode on the step that returns done
    policy.train(was_training)
    return returns


@dataclass
class Rollout:
    """A ``(T, B)`` time-major rollout from :func:`collect_rollout`.

    ``obs (T, B, obs_dim)`` float32, ``actions (T, B)`` int64, ``rewards (T, B)`` float64 (a
    truncated episode's last reward already includes ``gamma * V(final obs)``), ``dones (T, B)``
    bool (terminated or truncated: GAE stops there), ``valid (T, B)`` bool (real transitions, not
    autoreset steps).  ``next_obs (B, obs_dim)``: where the rollout stopped, for ``V`` at its end.
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    valid: np.ndarray
    next_obs: np.ndarray


@dataclass
class EnvState:
    """What a training loop carries from one rollout to the next: the current observations
    ``(B, obs_dim)``, which sub-envs ended an episode on the last step ``(B,)`` and the running
    undiscounted return of each sub-env's episode ``(B,)``."""

    obs: np.ndarray
    prev_done: np.ndarray
    ep_return: np.ndarray

    @classmethod
    def reset(cls, envs: VectorEnv, seed: int) -> EnvState:
        obs, _ = envs.reset(seed=seed)
        n = envs.num_envs
        return cls(obs, np.zeros(n, dtype=bool), np.zeros(n))


def collect_rollout(envs: VectorEnv, policy: nn.Module, value: nn.Module, state: EnvState, n_steps: int,
                    gamma: float, history: TrainHistory, mode: AutoresetMode,
                    device: torch.device) -> Rollout:
    """Play ``n_steps`` steps in every sub-env of ``envs`` with ``policy`` (sampled actions).

    Updates ``state`` in place and records finished episodes and real env steps in ``history``.
    Truncated episodes are bootstrapped (Pardo et al. 2018): their last reward gets
    ``gamma * value(final observation)`` (``value`` returns ``(B,)`` in return units).
    """
    T, B = n_steps, envs.num_envs
    obs_dim = int(envs.single_observation_space.shape[0])
    obs_buf = np.zeros((T, B, obs_dim), dtype=np.float32)
    act_buf = np.zeros((T, B), dtype=np.int64)
    rew_buf = np.zeros((T, B))
    done_buf = np.zeros((T, B), dtype=bool)
    valid = np.zeros((T, B), dtype=bool)
    for t in range(T):
        action = policy.act(to_tensor(state.obs, device)).cpu().numpy()
        next_obs, reward, terminated, truncated, infos = envs.step(action)
        done = terminated | truncated
        valid[t] = ~dummy_mask(state.prev_done, mode)
        obs_buf[t], act_buf[t], rew_buf[t], done_buf[t] = state.obs, action, reward, done
        cut = truncated & ~terminated & valid[t]
        if cut.any():  # bootstrap the time limit with V(final observation)
            final = final_observations(next_obs, infos, done, mode)[cut]
            with torch.no_grad():
                rew_buf[t, cut] += gamma * value(to_tensor(final, device)).cpu().numpy()
        state.ep_return += np.where(valid[t], reward, 0.0)
        for b in np.flatnonzero(done & valid[t]):
            history.episode_steps.append(history.env_steps + int(valid[: t + 1].sum()))
            history.episode_returns.append(float(state.ep_return[b]))
            state.ep_return[b] = 0.0
        state.prev_done, state.obs = done, next_obs
    history.env_steps += int(valid.sum())
    return Rollout(obs_buf, act_buf, rew_buf, done_buf, valid, state.obs)
