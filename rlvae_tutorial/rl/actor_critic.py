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
from tqdm.auto import tqdm

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.rl.policies import CategoricalPolicy, ValueFunction
from rlvae_tutorial.rl.reinforce import TrainResult
from rlvae_tutorial.rl.returns import gae
from rlvae_tutorial.rl.rollout import (
    EnvState,
    EvalClock,
    TrainHistory,
    collect_rollout,
    prepare_training,
    to_tensor,
)


@dataclass(frozen=True)
class ActorCriticConfig:
    """A2C's settings; the defaults are the book's CartPole-v1 ones.

    ``n_steps`` steps per sub-env per update; GAE with ``gamma`` and ``gae_lambda``; the loss
    weighs the critic by ``value_coef`` and an entropy bonus by ``entropy_coef``; gradients are
    clipped to norm ``max_grad_norm`` (``None``: not clipped).  Adam with step ``lr`` for the actor
    and ``value_lr`` for the critic.  ``value_scale``: the critic learns ``value_scale * G``
    (``None`` -> ``1 - gamma``, as in REINFORCE).  Evaluation and early stopping as in
    :class:`~rlvae_tutorial.rl.reinforce.ReinforceConfig`.

    The critic learns plain returns (``value_scale=1``), as in CleanRL and Stable-Baselines3: with
    ``1 - gamma`` every unit of a fresh critic's output stands for 100 units of return (on
    CartPole's first observations its random outputs stood for returns up to ~20, as large as the
    early episodes' returns), and the first advantages were mostly the critic's initial noise.  With that, an update every 8 steps per sub-env and an
    actor step of 2e-3 gave 0 failures and a median of 27.5k steps over 20 seeds in
    ``benchmarks/cartpole_time_to_solve.py`` (the previous 16 steps, 1e-3 and ``1 - gamma``: 1
    failure, median 50k); standardised advantages and gradient clipping did not help there.
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
    value_scale: float | None = 1.0
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


def train_actor_critic(
    envs: VectorEnv,
    config: ActorCriticConfig = ActorCriticConfig(),
    *,
    seed: int = 0,
    eval_envs: VectorEnv | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a policy and a critic by A2C with GAE on ``envs`` (flat Box obs, Discrete actions).

    Deterministic for a given ``seed`` on the CPU (torch's global RNG is left as it was).
    """
    obs_dim, n_actions, device, mode = prepare_training(envs, eval_envs, device)
    scale = config.value_scale if config.value_scale is not None else 1.0 - config.gamma
    T, B = config.n_steps, envs.num_envs
    history = TrainHistory()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        policy = CategoricalPolicy(obs_dim, n_actions, config.hidden).to(device)
        value = ValueFunction(obs_dim, config.hidden).to(device)
        params = [*policy.parameters(), *value.parameters()]
        value_lr = config.lr if config.value_lr is None else config.value_lr
        opt = torch.optim.Adam([{"params": policy.parameters()},
                                {"params": value.parameters(), "lr": value_lr}], lr=config.lr)
        state = EnvState.reset(envs, seed)
        bar = tqdm(total=config.total_steps, desc="actor-critic", disable=not progress)
        clock = EvalClock(history, eval_envs, config.eval_every, config.target_return, seed, bar)
        while history.env_steps < config.total_steps:
            before = history.env_steps
            ro = collect_rollout(envs, policy, lambda x: value(x) / scale, state, T, config.gamma,
                                 history, mode, device)
            bar.update(history.env_steps - before)
            obs_buf, act_buf, rew_buf, done_buf, valid, obs = ro.obs, ro.actions, ro.rewards, ro.dones, ro.valid, ro.next_obs
            if not valid.any():  # only autoreset steps: no loss (it would be NaN), no optimiser step
                history.skipped_updates += 1
                continue
            obs_t = to_tensor(obs_buf.reshape(T * B, obs_dim), device)
            v_pred = value(obs_t)  # (T*B,) scaled values
            with torch.no_grad():
                v_next = value(to_tensor(obs, device)) / scale  # (B,)
                adv = gae(torch.as_tensor(rew_buf.T), (v_pred.detach() / scale).double().view(T, B).T.cpu(),
                          v_next.double().cpu(), torch.as_tensor(done_buf.T), config.gamma, config.gae_lambda)
                adv = adv.T.reshape(-1).float().to(device)  # (T*B,) in the buffers' (t, b) order
                targets = (adv + v_pred.detach() / scale) * scale
            mask = torch.as_tensor(valid.reshape(-1), device=device)
            adv_v = adv[mask]
            if config.normalize_advantages and len(adv_v) > 1:
                adv_v = (adv_v - adv_v.mean()) / (adv_v.std() + 1e-8)
            dist = policy(obs_t[mask])
            acts = torch.as_tensor(act_buf.reshape(-1), device=device)[mask]
            entropy = dist.entropy()
            loss = actor_critic_loss(dist.log_prob(acts), adv_v, v_pred[mask], targets[mask], entropy,
                                     config.value_coef, config.entropy_coef)
            opt.zero_grad()
            loss.backward()
            if config.max_grad_norm is not None:
                torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
            opt.step()
            history.updates.append({"env_steps": history.env_steps, "loss": float(loss.detach()),
                                    "entropy": float(entropy.mean().detach())})
            if clock.check(policy):
                break
        clock.finish()
    return TrainResult(policy, value, history)
