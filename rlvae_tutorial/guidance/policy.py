"""A latent policy pi(z) over a frozen decoder, trained by REINFORCE with a KL penalty to the prior.

The generator is fixed: a pretrained VAE decoder x = g(z).  Instead of sampling z from the prior
p(z) = N(0, I), sample it from a learned pi(z) = N(mu, diag sigma^2) (Engel et al. 2018's "latent
constraints"), and train pi to maximise

    E_pi[r(g(z))] - lam * KL(pi || p)

with the score-function estimator and the leave-one-out baseline over K samples
(:mod:`rlvae_tutorial.estimators`).  The reward model need not be differentiable: only its values
are used.  Training runs through the book's one loop :func:`rlvae_tutorial.train.train` (one
"epoch" = one policy-gradient step on K fresh samples; the data are a dummy tensor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Independent, Normal

from rlvae_tutorial.estimators.score_function import (
    leave_one_out_baseline,
    score_function_surrogate,
)
from rlvae_tutorial.guidance.reward import kl_penalized_reward
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae.losses import gaussian_kl

RewardFn = Callable[[Tensor], tuple[Tensor, Tensor]]  # images (K, x_dim) -> (reward (K,), hit (K,))


class LatentPolicy(nn.Module):
    """pi(z) = N(loc, diag exp(2 log_scale)) over ``z_dim`` latents; starts at the prior N(0, I)."""

    def __init__(self, z_dim: int) -> None:
        super().__init__()
        if z_dim < 1:
            raise ValueError(f"z_dim must be >= 1, got {z_dim}")
        self.loc = nn.Parameter(torch.zeros(z_dim))
        self.log_scale = nn.Parameter(torch.zeros(z_dim))

    def distribution(self) -> Independent:
        """pi as a torch distribution with event shape ``(z_dim,)``."""
        return Independent(Normal(self.loc, self.log_scale.exp(), validate_args=False), 1)

    def kl_to_prior(self) -> Tensor:
        """KL(pi || N(0, I)) in closed form, a differentiable scalar."""
        return gaussian_kl(self.loc, 2 * self.log_scale)  # log variance = 2 log sigma

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """``(n, z_dim)`` draws of z ~ pi (with an optional generator)."""
        gen_device = generator.device if generator is not None else self.loc.device
        eps = torch.randn(n, self.loc.shape[0], generator=generator, device=gen_device).to(self.loc.device)
        return self.loc + self.log_scale.exp() * eps


@dataclass(frozen=True)
class GuidanceConfig:
    """Hyperparameters of :func:`train_latent_policy`; the defaults are the book's.

    - ``lam``: the KL coefficient (0 = no penalty: expect collapse onto the reward's mode).
    - ``n_samples``: K latents per step (the leave-one-out baseline needs K >= 2).
    - ``analytic_kl``: True differentiates the closed-form Gaussian KL (lower variance); False
      puts the per-sample penalty -lam (log pi(z) - log p(z)) into the REINFORCE reward.
    """

    lam: float = 0.1
    n_samples: int = 64
    steps: int = 300
    lr: float = 0.05
    analytic_kl: bool = True

    def __post_init__(self) -> None:
        if self.lam < 0:
            raise ValueError(f"lam must be >= 0, got {self.lam}")
        if self.n_samples < 2:
            raise ValueError(f"n_samples must be >= 2 for the leave-one-out baseline, got {self.n_samples}")
        if self.steps < 1 or self.lr <= 0:
            raise ValueError(f"steps must be >= 1 and lr > 0, got steps={self.steps}, lr={self.lr}")


class GuidanceLoss:
    """``loss_fn(policy, batch)`` for ``train``: one REINFORCE step of the KL-penalised objective.

    ``decoder(z)`` returns p(x|z) (its ``.mean`` is the image, computed without gradient: the
    decoder is frozen); ``reward_fn(images)`` returns ``(reward (K,), hit (K,))`` where ``hit``
    marks samples judged to be the target (logged as ``target_rate``).  The batch is ignored.
    """

    def __init__(self, decoder: nn.Module, reward_fn: RewardFn, config: GuidanceConfig) -> None:
        self.decoder, self.reward_fn, self.config = decoder, reward_fn, config

    def __call__(self, policy: LatentPolicy, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
        cfg = self.config
        pi = policy.distribution()
        z = pi.sample((cfg.n_samples,))  # (K, D), no gradient through z
        with torch.no_grad():
            reward, hit = self.reward_fn(self.decoder(z).mean)  # (K,), (K,)
        log_pi = pi.log_prob(z)  # (K,), differentiable in (loc, log_scale)
        log_prior = Normal(torch.zeros_like(z), torch.ones_like(z)).log_prob(z).sum(-1)  # (K,)
        kl = policy.kl_to_prior()
        if cfg.analytic_kl:
            r = reward
            penalty = cfg.lam * kl
        else:
            r = kl_penalized_reward(reward, log_pi.detach(), log_prior, cfg.lam)
            penalty = torch.zeros(())
        baseline = leave_one_out_baseline(r.unsqueeze(1)).squeeze(1)  # (K,)
        surrogate = score_function_surrogate(log_pi, r, baseline)  # (K,)
        loss = -surrogate.mean() + penalty
        return loss, {
            "reward": reward.mean(),
            "kl": kl.detach(),
            "objective": reward.mean() - cfg.lam * kl.detach(),
            "target_rate": hit.float().mean(),
            "scale": policy.log_scale.detach().exp().mean(),
        }


def train_latent_policy(
    decoder: nn.Module,
    reward_fn: RewardFn,
    z_dim: int,
    config: GuidanceConfig = GuidanceConfig(),
    *,
    seed: int = 0,
    progress: bool = True,
    desc: str | None = None,
) -> tuple[LatentPolicy, History]:
    """Train a fresh :class:`LatentPolicy` over the frozen ``decoder``; return it and its history.

    History records (one per step): ``reward``, ``kl`` (closed form), ``objective``,
    ``target_rate`` and ``scale`` (mean sigma).  Same ``seed`` -> same history.
    """
    for p in decoder.parameters():
        p.requires_grad_(False)
    device = next((p.device for p in decoder.parameters()), torch.device("cpu"))
    policy = LatentPolicy(z_dim).to(device)
    history = train(
        policy,
        GuidanceLoss(decoder, reward_fn, config),
        torch.zeros(1, device=device),
        config=TrainConfig(epochs=config.steps, batch_size=1, lr=config.lr, seed=seed, keep_best=False),
        progress=progress,
        desc=desc or f"policy lam={config.lam:g}",
    )
    return policy, history
