"""What every RL trainer shares: the run's history, its result type, the evaluation clock, and the
set-up of an actor-critic run (policy, critic, env state and clocks under one seed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from torch import nn
from tqdm.auto import tqdm

from rlvae_tutorial.rl.policies import CategoricalPolicy, ValueFunction
from rlvae_tutorial.rl.rollout import EnvState, Rollout, collect_rollout, evaluate, prepare_training


@dataclass
class TrainHistory:
    """What a training run returns (besides the networks).

    ``episode_*``: every finished training episode (env steps so far, undiscounted return).
    ``eval_*``: periodic evaluations (env steps so far, mean and std of the sampled-action
    return).  ``updates``: one dict of losses per gradient update.  ``train_seconds`` is the
    wall time spent training, evaluations excluded (``train_cpu_seconds``: the same in CPU time of
    this process, less sensitive to a busy machine); ``solved_*`` the first evaluation whose mean
    reached the target (``None`` if none did).  Env steps count real transitions only (not the
    autoreset steps).  ``skipped_updates``: rollouts that held no real transition (only autoreset
    steps), on which no loss was recorded and no optimiser stepped.
    """

    episode_steps: list[int] = field(default_factory=list)
    episode_returns: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_means: list[float] = field(default_factory=list)
    eval_stds: list[float] = field(default_factory=list)
    updates: list[dict[str, float]] = field(default_factory=list)
    env_steps: int = 0
    train_seconds: float = 0.0
    train_cpu_seconds: float = 0.0
    solved_step: int | None = None
    solved_seconds: float | None = None
    solved_cpu_seconds: float | None = None
    skipped_updates: int = 0


@dataclass
class TrainResult:
    """What every RL trainer returns: the trained policy (for DQN: the Q-network, whose ``act`` is
    the greedy policy), the value function (``None`` without one) and the :class:`TrainHistory`."""

    policy: nn.Module
    value: nn.Module | None
    history: TrainHistory


class EvalClock:
    """Periodic evaluation for a training loop, with early stopping and a training clock.

    Call :meth:`check` after every update: every ``every`` env steps it evaluates the policy on
    ``eval_envs`` (skipped when ``None``), records the result in ``history`` and returns ``True``
    once the mean reaches ``target``.  ``history.train_seconds`` counts wall time outside the
    evaluations, up to the solving evaluation or :meth:`finish`.  Evaluation ``i`` resets the
    envs with seed ``seed + 10_000 + i`` (``same_starts``: ``seed + 10_000`` every time, the same
    start states); ``at_start``: also evaluate before the first update.
    """

    def __init__(self, history: TrainHistory, eval_envs: VectorEnv | None, every: int,
                 target: float | None, seed: int, bar: tqdm, *, same_starts: bool = False,
                 at_start: bool = False) -> None:
        self.history, self.eval_envs, self.every, self.target = history, eval_envs, every, target
        self.seed, self.bar, self.same_starts = seed, bar, same_starts
        self.next_eval = 0 if at_start else every
        self._start: float | None = time.perf_counter()
        self._cpu_start = time.process_time()

    def _stop_clock(self) -> None:
        assert self._start is not None
        self.history.train_seconds += time.perf_counter() - self._start
        self.history.train_cpu_seconds += time.process_time() - self._cpu_start
        self._start = None

    def check(self, policy: nn.Module) -> bool:
        h = self.history
        if self.eval_envs is None or h.env_steps < self.next_eval or self._start is None:
            return False
        self._stop_clock()
        offset = 0 if self.same_starts else len(h.eval_steps)
        returns = evaluate(policy, self.eval_envs, seed=self.seed + 10_000 + offset)
        h.eval_steps.append(h.env_steps)
        h.eval_means.append(float(returns.mean()))
        h.eval_stds.append(float(returns.std()))
        self.bar.set_postfix(eval=f"{returns.mean():.0f}")
        self.next_eval += self.every
        if self.target is not None and returns.mean() >= self.target:
            h.solved_step, h.solved_seconds, h.solved_cpu_seconds = h.env_steps, h.train_seconds, h.train_cpu_seconds
            return True
        self._start, self._cpu_start = time.perf_counter(), time.process_time()
        return False

    def finish(self) -> None:
        if self._start is not None:
            self._stop_clock()
        self.bar.close()


@dataclass
class Run:
    """An actor-critic run in progress (A2C, PPO): the networks, the envs' state and the clocks."""

    envs: VectorEnv
    policy: CategoricalPolicy
    value: ValueFunction
    state: EnvState
    history: TrainHistory
    bar: tqdm
    clock: EvalClock
    mode: AutoresetMode
    device: torch.device

    def collect(self, n_steps: int, gamma: float) -> Rollout:
        """The next ``(T, B)`` rollout of ``n_steps`` steps per sub-env (truncations bootstrapped with V)."""
        before = self.history.env_steps
        ro = collect_rollout(self.envs, self.policy, self.value, self.state, n_steps, gamma, self.history,
                             self.mode, self.device)
        self.bar.update(self.history.env_steps - before)
        return ro

    def result(self) -> TrainResult:
        return TrainResult(self.policy, self.value, self.history)


@contextmanager
def actor_critic_run(envs: VectorEnv, config: Any, *, seed: int, eval_envs: VectorEnv | None,
                     device: torch.device | str | None, progress: bool, desc: str) -> Iterator[Run]:
    """Check the envs, build a policy and a critic (``config.hidden``) under ``seed`` and start the clocks.

    Inside the block torch's global RNG is seeded with ``seed`` and restored afterwards, so a run
    is deterministic on the CPU without touching the caller's random state.  ``config`` needs
    ``hidden``, ``total_steps``, ``eval_every`` and ``target_return``.
    """
    obs_dim, n_actions, device, mode = prepare_training(envs, eval_envs, device)
    history = TrainHistory()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = CategoricalPolicy(obs_dim, n_actions, config.hidden).to(device)
        value = ValueFunction(obs_dim, config.hidden).to(device)
        state = EnvState.reset(envs, seed)
        bar = tqdm(total=config.total_steps, desc=desc, disable=not progress)
        clock = EvalClock(history, eval_envs, config.eval_every, config.target_return, seed, bar)
        yield Run(envs, policy, value, state, history, bar, clock, mode, device)
        clock.finish()
