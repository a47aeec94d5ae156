"""Proximal policy optimisation (PPO) with the clipped surrogate :cite:`schulman2017proximal`.

Every update: each of the ``B`` sub-envs plays ``n_steps`` steps (a ``(T, B)`` rollout, collected
by :func:`~rlvae_tutorial.rl.rollout.collect_rollout` as in A2C); GAE advantages
:cite:`schulman2016high` from the critic frozen at collection time; then ``epochs`` passes over the
rollout's real steps in ``minibatches`` shuffled minibatches, each one Adam step on
:func:`ppo_clip_loss` plus the critic's squared error minus an entropy bonus.  The clip keeps the
new policy close to the one that collected the data, which is what makes the many steps on one
rollout safe.

Details follow CleanRL's ``ppo.py`` and Stable-Baselines3's ``PPO``: advantages standardised per
minibatch, one Adam (eps 1e-5) for actor and critic, gradient norm clipped, learning rate annealed
linearly to 0 over ``total_steps``; truncated episodes bootstrapped with ``V(final obs)`` (as SB3;
CleanRL treats them as terminal).  The value loss is not clipped (SB3's default).
"""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym
import torch
from gymnasium.vector import VectorEnv
from torch import Tensor

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.estimators.score_function import normalize_advantages
from rlvae_tutorial.rl.history import TrainResult, actor_critic_run
from rlvae_tutorial.rl.returns import gae
from rlvae_tutorial.rl.rollout import to_tensor


@dataclass(frozen=True)
class PPOConfig:
    """PPO's settings: CleanRL's ``ppo.py`` CartPole-v1 defaults, except the batch and step size.

    ``n_envs`` sub-envs play ``n_steps`` steps per update (a batch of ``n_envs * n_steps``);
    ``epochs`` passes over it in ``minibatches`` minibatches; ratio clipped to
    ``[1 - clip_coef, 1 + clip_coef]``; GAE with ``gamma`` and ``gae_lambda``; loss
    ``L_clip + value_coef * L_V - entropy_coef * H``; gradients clipped to norm ``max_grad_norm``;
    Adam with step ``lr`` (annealed linearly to 0 over ``total_steps`` if ``anneal_lr``).
    Evaluation and early stopping as in :class:`~rlvae_tutorial.rl.reinforce.ReinforceConfig`.

    CleanRL's own (4 envs x 128 steps, 4 epochs, lr 2.5e-4) solved 0 of 2 seeds within the book's
    100k-step budget (its schedule is for 500k); 8 envs x 32 steps, 10 epochs and lr 1e-3 (close to
    the RL Zoo's CartPole settings for SB3) solved 2 of 2 in 15-30k steps, 8 envs x 128 steps with
    lr 1e-3 2 of 3 in 60-91k.  ``benchmarks/cartpole_time_to_solve.py`` has the 20-seed numbers.
    """

    total_steps: int = 100_000
    n_envs: int = 8
    n_steps: int = 32
    epochs: int = 10
    minibatches: int = 4
    clip_coef: float = 0.2
    gamma: float = 0.99
    gae_lambda: float = 0.95
    lr: float = 1e-3
    anneal_lr: bool = True
    hidden: tuple[int, ...] = (64, 64)
    value_coef: float = 0.5
    entropy_coef: float = 0.01
    max_grad_norm: float = 0.5
    normalize_advantages: bool = True
    eval_every: int = 5_000
    target_return: float | None = 475.0

    def __post_init__(self) -> None:
        for name in ("total_steps", "n_envs", "n_steps", "epochs", "minibatches", "eval_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.clip_coef <= 0:
            raise ValueError(f"clip_coef must be > 0 (the ratio is clipped to [1 - eps, 1 + eps]), got {self.clip_coef}")
        if (self.n_envs * self.n_steps) % self.minibatches:
            raise ValueError(
                f"minibatches ({self.minibatches}) must divide the batch n_envs * n_steps = "
                f"{self.n_envs * self.n_steps}; change minibatches, n_envs or n_steps"
            )
        if not (0.0 <= self.gamma <= 1.0 and 0.0 <= self.gae_lambda <= 1.0):
            raise ValueError("gamma and gae_lambda must be in [0, 1]")


def ppo_clip_loss(new_log_probs: Tensor, old_log_probs: Tensor, advantages: Tensor,
                  clip_coef: float) -> tuple[Tensor, dict[str, float]]:
    r"""Minus PPO's clipped surrogate :cite:`schulman2017proximal`.

    .. math::
        \rho_t = \exp(\log\pi_\theta(a_t|s_t) - \log\pi_{\text{old}}(a_t|s_t)), \qquad
        L^{CLIP} = \frac1N \sum_t \min\big(\rho_t \hat A_t,\;
                   \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\, \hat A_t\big)

    and the loss is :math:`-L^{CLIP}`.  At :math:`\rho = 1` its gradient is the vanilla policy
    gradient :math:`-\frac1N \sum_t \hat A_t \nabla \log\pi_\theta(a_t|s_t)`; a step whose ratio has
    left the clip range in the direction its advantage favours contributes no gradient.
    ``old_log_probs`` and ``advantages`` are constants (detached).

    new_log_probs, old_log_probs, advantages: ``(N,)`` -> (scalar loss, stats) with stats
    ``clip_fraction`` (share of steps with :math:`|\rho - 1| > \epsilon`) and ``approx_kl``
    (:math:`\overline{(\rho - 1) - \log\rho}`, an estimate of KL(old || new)).
    """
    shapes = {tuple(t.shape) for t in (new_log_probs, old_log_probs, advantages)}
    if len(shapes) != 1 or new_log_probs.ndim != 1:
        raise ValueError(f"new_log_probs, old_log_probs and advantages must share one shape (N,), got {sorted(shapes)}")
    if clip_coef <= 0:
        raise ValueError(f"clip_coef must be > 0, got {clip_coef}")
    new_log_probs, old_log_probs, advantages = as_floats(new_log_probs, old_log_probs, advantages)
    log_ratio = new_log_probs - old_log_probs.detach()
    ratio = log_ratio.exp()  # rho, (N,)
    adv = advantages.detach()
    surrogate = torch.min(ratio * adv, ratio.clamp(1 - clip_coef, 1 + clip_coef) * adv)
    with torch.no_grad():
        stats = {"clip_fraction": float(((ratio - 1).abs() > clip_coef).float().mean()),
                 "approx_kl": float(((ratio - 1) - log_ratio).mean())}
    return -surrogate.mean(), stats


def train_ppo(envs: VectorEnv | str, config: PPOConfig = PPOConfig(), *, seed: int = 0,
              eval_envs: VectorEnv | None = None, device: torch.device | str | None = None,
              progress: bool = True) -> TrainResult:
    """Train a policy and a critic by PPO on ``envs`` (a vector env with ``config.n_envs`` sub-envs,
    or a gymnasium id to make one) with flat Box obs and Discrete actions; reproducible by ``seed``."""
    if isinstance(envs, str):
        envs = gym.make_vec(envs, num_envs=config.n_envs)
    if envs.num_envs != config.n_envs:
        raise ValueError(f"envs has {envs.num_envs} sub-envs but config.n_envs is {config.n_envs}; "
                         "pass dataclasses.replace(config, n_envs=envs.num_envs)")
    T, B, c = config.n_steps, envs.num_envs, config
    with actor_critic_run(envs, c, seed=seed, eval_envs=eval_envs, device=device, progress=progress,
                          desc="ppo") as run:
        policy, value, history, device = run.policy, run.value, run.history, run.device
        params = [*policy.parameters(), *value.parameters()]
        opt = torch.optim.Adam(params, lr=c.lr, eps=1e-5)
        while history.env_steps < c.total_steps:
            if c.anneal_lr:
                opt.param_groups[0]["lr"] = c.lr * (1 - history.env_steps / c.total_steps)
            ro = run.collect(T, c.gamma)
            valid = torch.as_tensor(ro.valid.reshape(-1)).nonzero().squeeze(-1)  # real steps of T*B
            if len(valid) < c.minibatches:  # only autoreset steps: an empty minibatch's loss is NaN
                history.skipped_updates += 1
                continue
            all_obs = to_tensor(ro.obs.reshape(T * B, -1), device)  # (T*B, D), row t*B + b
            obs, actions = all_obs[valid], torch.as_tensor(ro.actions.reshape(-1), device=device)[valid]
            with torch.no_grad():  # the data's policy and critic, frozen for the epochs
                old_log_probs = policy(obs).log_prob(actions)
                v = value(all_obs)  # (T*B,)
                adv = gae(torch.as_tensor(ro.rewards).T, v.view(T, B).T, value(to_tensor(ro.next_obs, device)),
                          torch.as_tensor(ro.dones).T, c.gamma, c.gae_lambda)  # (B, T): time on gae's last axis
                adv = adv.T.reshape(-1)[valid].to(device, torch.float32)  # (N,) real steps, (t, b) order
                returns = adv + v[valid]
            for _ in range(c.epochs):
                for mb in torch.randperm(len(valid)).tensor_split(c.minibatches):
                    dist = policy(obs[mb])
                    a = adv[mb]
                    if c.normalize_advantages and len(mb) > 1:
                        a = normalize_advantages(a)
                    pg_loss, stats = ppo_clip_loss(dist.log_prob(actions[mb]), old_log_probs[mb], a, c.clip_coef)
                    v_loss = (value(obs[mb]) - returns[mb]).pow(2).mean()
                    entropy = dist.entropy().mean()
                    loss = pg_loss + c.value_coef * v_loss - c.entropy_coef * entropy
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(params, c.max_grad_norm)
                    opt.step()
            history.updates.append({"env_steps": history.env_steps, "loss": float(loss.detach()),
                                    "value_loss": float(v_loss.detach()), "entropy": float(entropy.detach()),
                                    **stats})
            if run.clock.check(policy):
                break
    return run.result()
