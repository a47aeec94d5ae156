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
from collections.abc import Callable
from typing import NamedTuple

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


class TiltedSample(NamedTuple):
    """What :func:`sample_tilted` returns: ``z`` ``(min(n, accepted), ...)``, exact samples of pi*_lam;
    ``log_z``, log Z_lam estimated from all ``draws`` prior draws; ``draws``, the prior draws made;
    ``accepted``, how many of them were accepted (the first n are returned)."""

    z: Tensor
    log_z: float
    draws: int
    accepted: int


def sample_tilted(
    prior_draw: Callable[[int], Tensor],
    reward: Callable[[Tensor], Tensor],
    lam: float,
    n: int,
    generator: torch.Generator | None = None,
    chunk: int = 20_000,
    max_draws: int = 10_000_000,
    min_n: int | None = None,
) -> TiltedSample:
    """``n`` exact samples of pi*_lam(z) ∝ p(z) exp(r(z) / lam), by rejection, drawing as long as needed.

    ``prior_draw(k)`` returns k draws z ~ p ``(k, ...)``; ``reward(z)`` their rewards ``(k,)``, all <= 0.
    Draws come in chunks of ``chunk``, each kept with probability exp(r / lam) (:func:`tilted_rejection`,
    with ``generator`` for the uniforms), until n are kept: about n / Z_lam draws, so a sharp optimum
    (small lam, small Z_lam) needs many.  log Z_lam is estimated (:func:`log_partition`) from every
    draw made.  If ``max_draws`` draws give fewer than n, it returns the ``accepted`` (< n) it has when
    that is at least ``min_n`` (default: n, i.e. never fewer), and otherwise raises ValueError with
    the acceptance rate seen and the number of draws that n would need.
    """
    min_n = n if min_n is None else min_n
    if n < 1 or chunk < 1 or max_draws < 1 or not 1 <= min_n <= n:
        raise ValueError(f"n, chunk and max_draws must be >= 1 and 1 <= min_n <= n, got n={n}, chunk={chunk}, "
                         f"max_draws={max_draws}, min_n={min_n}")
    kept: list[Tensor] = []
    log_sums: list[Tensor] = []  # logsumexp(r / lam) of each chunk
    draws = accepted = 0
    while accepted < n and draws < max_draws:
        z = prior_draw(min(chunk, max_draws - draws))  # (k, ...)
        r = reward(z)  # (k,)
        if r.shape != z.shape[:1]:
            raise ValueError(f"reward(z) must give one reward per draw, shape ({z.shape[0]},), got {tuple(r.shape)}")
        keep = tilted_rejection(r, lam, generator=generator)  # (k,) bool
        kept.append(z[keep])
        log_sums.append(torch.logsumexp(as_float(r) / lam, dim=0))
        draws, accepted = draws + z.shape[0], accepted + int(keep.sum())
    log_z = float(torch.logsumexp(torch.stack(log_sums), dim=0)) - math.log(draws)
    if accepted < min_n:
        rate = accepted / draws
        need = f"about {math.ceil(n / rate):,}" if accepted else f"more than {draws:,}"
        raise ValueError(f"only {accepted} of the {n} samples of pi*_lam (lam={lam}; at least {min_n} needed) "
                         f"were accepted in {draws:,} "
                         f"prior draws (acceptance rate {rate:.2g}, an estimate of Z_lam): raise max_draws to "
                         f"{need}, ask for fewer samples, or use a larger lam")
    return TiltedSample(torch.cat(kept)[:n], log_z, draws, accepted)


def kl_to_optimum(reward_mean: float, kl_to_prior: float, log_z: float, lam: float) -> float:
    """KL(pi || pi*_lam) = log Z_lam - E_pi[r] / lam + KL(pi || p) (nats), from J's identity above.

    ``reward_mean`` is E_pi[r], ``kl_to_prior`` KL(pi || p), ``log_z`` :func:`log_partition`'s estimate.
    """
    if lam <= 0:
        raise ValueError(f"the KL coefficient lam must be > 0, got {lam}")
    return float(log_z) - float(reward_mean) / lam + float(kl_to_prior)
