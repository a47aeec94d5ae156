"""A small synchronous advantage actor-critic (A2C) with GAE, on a gymnasium vector env.

Every update: each of the ``B`` sub-envs plays ``n_steps`` steps with the current policy (a
``(T, B)`` rollout); advantages come from :func:`~rlvae_tutorial.rl.returns.gae` with the
critic's values, bootstrapped from V(next observation) at the rollout's end; then one gradient
step on :func:`actor_critic_loss` :cite:`mnih2016asynchronous,schulman2016high`.

Autoreset (see :mod:`rlvae_tutorial.rl.rollout`): the dummy step after an episode end is kept
in the ``(T, B)`` layout but masked out of every loss (it cannot leak into the previous
episode's advantages, since GAE stops at the episode end); a truncated episode's last reward
gets ``gamma * V(final observation)`` and the step is then treated as terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from gymnasium.vector import VectorEnv
from torch import Tensor

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.estimators.score_function import normalize_advantages
from rlvae_tutorial.rl.history import TrainResult, actor_critic_run
from rlvae_tutorial.rl.policies import CategoricalPolicy, ValueFunction
from rlvae_tutorial.rl.returns import gae
from rlvae_tutorial.rl.rollout import Rollout, to_tensor


@dataclass(frozen=True)
class ActorCriticConfig:
    """A2C's settings; the defaults are the book's CartPole-v1 ones.

    ``n_steps`` steps per sub-env per update; GAE with ``gamma`` and ``gae_lambda``; the loss
    weighs the critic by ``value_coef`` and an entropy bonus by ``entropy_coef``; gradients are
    clipped to norm ``max_grad_norm`` (``None``: not clipped).  Adam with step ``lr`` for the actor
    and ``value_lr`` for the critic.  Evaluation and early stopping as in
    :class:`~rlvae_tutorial.rl.reinforce.ReinforceConfig`.

    The critic learns plain returns, as in CleanRL and Stable-Baselines3.  An update every 8 steps
    per sub-env and an actor step of 2e-3 gave 0 failures and a median of 27.5k steps over 20
    seeds in ``benchmarks/cartpole_time_to_solve.py`` (16 steps, 1e-3 and a critic of returns
    scaled by ``1 - gamma``: 1 failure, median 50k); standardised advantages and gradient clipping
    did not help there.
    """

    total_steps: int = 100_000
    n_steps: int = 8
    gamma: float = 0.99
    gae_lambda: float = 0.95
    lr: float = 2e-3
    value_lr: float | None = 1e-2  # None -> lr
    hidden: tuple[int, ...] = (64, 64)
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    max_grad_norm: float | None = None
    normalize_advantages: bool = False
    eval_every: int = 5_000
    target_return: float | None = 475.0

    def __post_init__(self) -> None:
        if self.n_steps < 1 or self.total_steps < 1 or self.eval_every < 1:
            raise ValueError("n_steps, total_steps and eval_every must be >= 1")
        if not (0.0 <= self.gamma <= 1.0 and 0.0 <= self.gae_lambda <= 1.0):
            raise ValueError("gamma and gae_lambda must be in [0, 1]")


def actor_critic_loss(log_probs: Tensor, advantages: Tensor, values: Tensor, returns: Tensor,
                      entropy: Tensor, value_coef: float = 0.5, entropy_coef: float = 0.0) -> Tensor:
    r"""The A2C loss :math:`-\overline{\log\pi(a|s)\,A} + c_V\,\overline{(V(s) - \hat G)^2} - c_H\,\overline{H[\pi(\cdot|s)]}`.

    Advantages and returns are targets (no gradient flows into them); bars are means over the
    ``N`` steps.  log_probs, advantages, values, returns, entropy: ``(N,)`` -> scalar.
    """
    shapes = {tuple(t.shape) for t in (log_probs, advantages, values, returns, entropy)}
    if len(shapes) != 1 or log_probs.ndim != 1:
        raise ValueError(f"all inputs must have the same shape (N,), got {sorted(shapes)}")
    log_probs, advantages, values, returns, entropy = as_floats(log_probs, advantages, values, returns, entropy)
    policy_loss = -(log_probs * advantages.detach()).mean()
    value_loss = (values - returns.detach()).pow(2).mean()
    return policy_loss + value_coef * value_loss - entropy_coef * entropy.mean()


def a2c_update(ro: Rollout, policy: CategoricalPolicy, value: ValueFunction, opt: torch.optim.Optimizer,
               config: ActorCriticConfig) -> dict[str, float]:
    """One A2C step on a ``(T, B)`` rollout: GAE advantages from the critic, then one step on
    :func:`actor_critic_loss` over the real (non-autoreset) steps.  Returns the loss and entropy."""
    T, B = ro.actions.shape
    obs = to_tensor(ro.obs.reshape(T * B, -1), next(policy.parameters()).device)  # (T*B, D), row t*B + b
    v = value(obs)  # (T*B,)
    with torch.no_grad():
        v_next = value(to_tensor(ro.next_obs, obs.device))  # (B,) V(s_T), to bootstrap
        # gae runs along the last axis: hand it (B, T) views of the time-major buffers.
        adv = gae(torch.as_tensor(ro.rewards).T, v.view(T, B).T, v_next, torch.as_tensor(ro.dones).T,
                  config.gamma, config.gae_lambda).T.reshape(-1).to(obs.device, torch.float32)  # (T*B,)
        targets = adv + v  # value targets G^lambda_t
    real = torch.as_tensor(ro.valid.reshape(-1), device=obs.device)  # drop autoreset steps
    adv = adv[real]
    if config.normalize_advantages and len(adv) > 1:
        adv = normalize_advantages(adv)
    dist = policy(obs[real])
    entropy = dist.entropy()
    log_probs = dist.log_prob(torch.as_tensor(ro.actions.reshape(-1), device=obs.device)[real])
    loss = actor_critic_loss(log_probs, adv, v[real], targets[real], entropy, config.value_coef,
                             config.entropy_coef)
    opt.zero_grad()
    loss.backward()
    if config.max_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_([*policy.parameters(), *value.parameters()], config.max_grad_norm)
    opt.step()
    return {"loss": float(loss.detach()), "entropy": float(entropy.mean().detach())}


def train_actor_critic(envs: VectorEnv, config: ActorCriticConfig = ActorCriticConfig(), *, seed: int = 0,
                       eval_envs: VectorEnv | None = None, device: torch.device | str | None = None,
                       progress: bool = True) -> TrainResult:
    """Train a policy and a critic by A2C with GAE on ``envs`` (flat Box obs, Discrete actions);
    the same ``seed`` gives the same run on the CPU."""
    with actor_critic_run(envs, config, seed=seed, eval_envs=eval_envs, device=device, progress=progress,
                          desc="actor-critic") as run:
        value_lr = config.lr if config.value_lr is None else config.value_lr
        opt = torch.optim.Adam([{"params": run.policy.parameters()},
                                {"params": run.value.parameters(), "lr": value_lr}], lr=config.lr)
        while run.history.env_steps < config.total_steps:
            ro = run.collect(config.n_steps, config.gamma)
            if not ro.valid.any():  # only autoreset steps: no loss (it would be NaN), no optimiser step
                run.history.skipped_updates += 1
                continue
            stats = a2c_update(ro, run.policy, run.value, opt, config)
            run.history.updates.append({"env_steps": run.history.env_steps, **stats})
            if run.clock.check(run.policy):
                break
    return run.result()
