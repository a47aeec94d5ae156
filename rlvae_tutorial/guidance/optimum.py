"""The optimum of KL-regularised reward maximisation, and exact samples of it by rejection.

For a reward r(z) and a reference distribution p(z), the objective of reward-guided generation

    J(pi) = E_pi[r] - lam * KL(pi || p)
          = lam * log Z_lam - lam * KL(pi || pi*_lam),
    pi*_lam(z) = p(z) exp(r(z) / lam) / Z_lam,    Z_lam = E_p[exp(r / lam)],

is maximised, over *all* distributions, by the tilted prior pi*_lam, where J = lam log Z_lam
(Korbak et al. 2022, "RL with KL penalties is better viewed as Bayesian inference").  With
r = log p_clf(y* | g(z)) and lam = 1 the optimum is p(z) p_clf(y* | g(z)) / p(y*): the prior
conditioned on the classifier's verdict, and Z_1 = p(y*), the prior's rate of the target.

When r <= 0 (a log-probability), exp(r / lam) <= 1 for every lam > 0, so pi*_lam can be sampled
exactly: draw z ~ p and keep it with probability exp(r(z) / lam) (rejection sampling).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float


def _check(reward: Tensor, lam: float) -> Tensor:
    if lam <= 0:
        raise ValueError(f"the KL coefficient lam must be > 0 for a tilted optimum, got {lam}")
    if reward.dim() != 1 or reward.numel() == 0:
        raise ValueError(f"reward must be a non-empty (N,) tensor of rewards of prior draws, got {tuple(reward.shape)}")
    return as_float(reward)


def log_partition(reward: Tensor, lam: float) -> Tensor:
    """log Z_lam = log mean_n exp(r_n / lam) for rewards of N draws z_n ~ p: ``(N,) -> ()``.

    A Monte Carlo estimate (biased low by Jensen, consistent as N grows); J(pi*) = lam log Z_lam.
    """
    reward = _check(reward, lam)
    return torch.logsumexp(reward / lam, dim=0) - math.log(reward.numel())


def tilted_rejection(reward: Tensor, lam: float, generator: torch.Generator | None = None) -> Tensor:
    """Accept draw n of z_n ~ p with probability exp(r_n / lam): ``(N,) -> (N,)`` bool.

    The accepted z are exact samples of pi*_lam(z) ∝ p(z) exp(r(z) / lam); about N Z_lam of them.
    Needs r <= 0 (e.g. a log-probability), so that every acceptance probability is at most 1.
    """
    reward = _check(reward, lam)
    if bool((reward > 0).any()):
        raise ValueError("rejection needs rewards <= 0 (acceptance probability exp(r/lam) <= 1): "
                         "subtract max(r) first, or use a log-probability reward")
    u = torch.rand(reward.shape, generator=generator, dtype=reward.dtype,
                   device=generator.device if generator is not None else reward.device).to(reward.device)
    return u < torch.exp(reward / lam)


def kl_to_optimum(reward_mean: float, kl_to_prior: float, log_z: float, lam: float) -> float:
    """KL(pi || pi*_lam) = log Z_lam - E_pi[r] / lam + KL(pi || p) (nats), from J's identity above.

    ``reward_mean`` is E_pi[r], ``kl_to_prior`` KL(pi || p), ``log_z`` :func:`log_partition`'s estimate.
    """
    if lam <= 0:
        raise ValueError(f"the KL coefficient lam must be > 0, got {lam}")
    return float(log_z) - float(reward_mean) / lam + float(kl_to_prior)
