"""The KL-penalised reward of reward-guided generation, and the token-level REINFORCE loss.

A policy pi over a pretrained generator's inputs (a latent z, or the tokens of a sequence) is
pushed towards a reward r while a penalty keeps it close to a reference p (the VAE's prior, or the
pretrained decoder): maximise

    J(pi) = E_pi[r] - lam * KL(pi || p),    KL(pi || p) = E_pi[log pi - log p].

Per sample this is the penalised reward r - lam * (log pi(z) - log p(z)) (the RLHF form of Ziegler
et al. 2019, who optimised it with PPO; the book uses REINFORCE); for Gaussians the KL also has a
closed form, with no sampling noise.  ``lam -> 0`` lets pi collapse onto the
reward's mode; large ``lam`` keeps pi near the prior (and its diversity).  The closed-form
Gaussian KL is the VAE's own, :func:`rlvae_tutorial.vae.gaussian_kl`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float, as_floats


def kl_penalized_reward(reward: Tensor, log_pi: Tensor, log_prior: Tensor, lam: float) -> Tensor:
    """r - lam * (log pi(z) - log p(z)): all ``(...)`` of one shape -> ``(...)``.

    ``log_pi - log_prior`` is the one-sample estimate of KL(pi || p); its mean under pi is the KL.
    Use it (detached) as the reward of a score-function surrogate.
    """
    if lam < 0:
        raise ValueError(f"the KL coefficient lam must be >= 0, got {lam}")
    if not (reward.shape == log_pi.shape == log_prior.shape):
        raise ValueError(
            f"reward {tuple(reward.shape)}, log_pi {tuple(log_pi.shape)} and log_prior "
            f"{tuple(log_prior.shape)} must have one shape: one value per sample"
        )
    reward, log_pi, log_prior = as_floats(reward, log_pi, log_prior)
    return reward - lam * (log_pi - log_prior)


def classifier_log_prob_reward(logits: Tensor, target: Tensor | int) -> Tensor:
    """r = log p_clf(target | x) from a classifier's logits: ``(..., C)`` -> ``(...)``.

    ``target``: one class for all, or a long tensor broadcastable to ``logits.shape[:-1]``.
    """
    log_p = torch.log_softmax(as_float(logits), dim=-1)
    target_t = torch.as_tensor(target, device=logits.device, dtype=torch.long)
    target_t = target_t.expand(logits.shape[:-1])
    if int(target_t.min()) < 0 or int(target_t.max()) >= logits.shape[-1]:
        raise ValueError(f"target classes must be in [0, {logits.shape[-1] - 1}], got {target}")
    return log_p.gather(-1, target_t.unsqueeze(-1)).squeeze(-1)


def token_reinforce_loss(token_log_probs: Tensor, mask: Tensor, advantage: Tensor) -> Tensor:
    """-mean_b( A_b * sum_t mask_bt * log pi(a_bt | a_<t) ): a scalar loss to *minimise*.

    The sequence's log-probability is the sum of its tokens' log-probs (padding masked out); the
    advantage (reward minus a baseline, one per sequence) is detached.
    token_log_probs: ``(B, T)``; mask: ``(B, T)`` (1 for real tokens, 0 for padding); advantage: ``(B,)``.
    """
    if token_log_probs.shape != mask.shape:
        raise ValueError(f"token_log_probs {tuple(token_log_probs.shape)} and mask {tuple(mask.shape)} must match")
    if advantage.shape != token_log_probs.shape[:1]:
        raise ValueError(
            f"advantage must be (B,) = {tuple(token_log_probs.shape[:1])}, one per sequence; got {tuple(advantage.shape)}"
        )
    token_log_probs, advantage = as_floats(token_log_probs, advantage)
    seq_log_prob = (token_log_probs * mask.to(token_log_probs.dtype)).sum(dim=-1)  # (B,)
    return -(advantage.detach() * seq_log_prob).mean()
