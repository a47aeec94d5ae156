"""DisARM: an antithetic, unbiased gradient estimator for Bernoulli latents (Dong, Mnih & Tucker, 2020).

For z ~ Bernoulli(sigmoid(l)) (D independent bits, logits l) and a reward f, draw u ~ U(0, 1)^D
and use it twice, as z = 1[u < sigmoid(l)] and its antithetic twin z~ = 1[1 - u < sigmoid(l)]:
both are exact Bernoulli(sigmoid(l)) draws; they agree in the bits where u lands between
sigmoid(-l) and sigmoid(l) and differ in the others (bit d with probability 2 sigmoid(-|l_d|)).  DisARM's estimate of d E[f(z)] / d l_d is

    g_d = 1/2 (f(z) - f(z~)) (-1)^{z~_d} 1[z_d != z~_d] sigmoid(|l_d|),

unbiased for any f (no gradient of f is needed), and it improves on ARM (Yin & Zhou, 2019), of
which it is the Rao-Blackwellisation over the pair's shared randomness.  Averaging K pairs costs 2K
reward evaluations.  As elsewhere in the book, the estimate is handed to autograd as a surrogate
whose gradient in the logits is g.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_floats


def antithetic_bernoulli(logits: Tensor, u: Tensor) -> tuple[Tensor, Tensor]:
    """The pair z = 1[u < sigmoid(l)], z~ = 1[1 - u < sigmoid(l)]: two Bernoulli(sigmoid(l)) draws.

    logits: ``(..., D)``; u: uniforms in [0, 1] broadcastable to it, e.g. ``(K, B, D)`` for K pairs
    of a ``(B, D)`` batch.  Returns two float tensors of the broadcast shape, with values in {0, 1}
    and no gradient.
    """
    logits, u = as_floats(logits, u)
    if ((u < 0) | (u > 1)).any():
        raise ValueError("u must hold uniform draws in [0, 1]: pass torch.rand(...) of the samples' shape")
    p = torch.sigmoid(logits.detach())
    return (u < p).to(p.dtype), (1 - u < p).to(p.dtype)


def disarm_surrogate(logits: Tensor, z: Tensor, z_tilde: Tensor, reward: Tensor, reward_tilde: Tensor) -> Tensor:
    """Surrogate s_k = sum_d g_kd * l_d, g detached: its gradient in the logits is DisARM's estimate.

    g_kd = 1/2 (f(z_k) - f(z~_k)) (-1)^{z~_kd} 1[z_kd != z~_kd] sigmoid(|l_d|), for the K antithetic
    pairs of :func:`antithetic_bernoulli`.  logits: ``(..., D)`` (with their graph); z, z_tilde:
    ``(K, ..., D)``; reward, reward_tilde: f of each, ``(K, ...)``.  Returns ``(K, ...)``, one
    surrogate per pair: *maximise* its mean over k to follow the K-pair average of g.
    """
    logits, z, z_tilde, reward, reward_tilde = as_floats(logits, z, z_tilde, reward, reward_tilde)
    if z.shape != z_tilde.shape or reward.shape != reward_tilde.shape:
        raise ValueError(
            f"z {tuple(z.shape)} and z_tilde {tuple(z_tilde.shape)}, reward {tuple(reward.shape)} and "
            f"reward_tilde {tuple(reward_tilde.shape)} must match pairwise: one twin per draw"
        )
    if reward.shape != z.shape[:-1]:
        raise ValueError(
            f"reward {tuple(reward.shape)} must be z's shape without its last (latent) dimension, "
            f"{tuple(z.shape[:-1])}: one reward per sampled code"
        )
    sign = 1.0 - 2.0 * z_tilde  # (-1)^{z~}: (K, ..., D)
    differ = (z != z_tilde).to(z.dtype)  # 1[z != z~]
    half_diff = 0.5 * (reward - reward_tilde).detach().unsqueeze(-1)  # (K, ..., 1)
    g = half_diff * sign * differ * torch.sigmoid(logits.detach().abs())  # (K, ..., D)
    return (g * logits).sum(-1)
