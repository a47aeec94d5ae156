"""The reward of the one-step MDP and the surrogate objectives whose gradients are the estimators.

State x, action z ~ pi_phi(z|x) = q_phi(z|x), reward

    r(x, z) = log p_theta(x|z) - beta * (log q_phi(z|x) - log p(z)),

the single-sample beta-ELBO: the *negative* of the beta-VAE loss (a loss is minimised, a reward
maximised).  E_q[r] is the beta-ELBO, so maximising the expected reward is fitting the VAE.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.distributions import Distribution, Independent

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.estimators.disarm import antithetic_bernoulli, disarm_surrogate
from rlvae_tutorial.estimators.relaxed import logistic_noise, straight_through_bernoulli
from rlvae_tutorial.estimators.score_function import (
    group_normalized_advantages,
    leave_one_out_baseline,
    normalize_advantages,
    score_function_surrogate,
    with_value,
)
from rlvae_tutorial.rlvae.config import PolicyGradientConfig
from rlvae_tutorial.rlvae.models import PolicyVAE
from rlvae_tutorial.vae.losses import draw_latent, latent_kl
from rlvae_tutorial.vae.models import VAE


def elbo_reward(log_px_z: Tensor, log_qz: Tensor, log_pz: Tensor, beta: float = 1.0) -> Tensor:
    """r(x, z) = log p(x|z) - beta * (log q(z|x) - log p(z)): any (equal or broadcastable) shapes.

    The negative of the beta-VAE loss L_rec + beta * L_kl with L_rec = -log p(x|z) and the
    single-sample KL L_kl = log q(z|x) - log p(z).  Its mean over z ~ q(z|x) is the beta-ELBO.
    """
    log_px_z, log_qz, log_pz = as_floats(log_px_z, log_qz, log_pz)
    return log_px_z - beta * (log_qz - log_pz)


def sample_reward(vae: VAE, x: Tensor, z: Tensor, beta: float = 1.0, qz: Distribution | None = None) -> Tensor:
    """r(x, z) of draws z ``(K, ..., D)`` for the VAE's own densities: :func:`elbo_reward` of
    log p(x|z), log q(z|x) and log p(z)  ->  ``(K, ...)``.  ``qz`` (q(z|x), if already computed)
    saves a pass of the encoder.  Differentiable; wrap in ``torch.no_grad()`` for a pure reward.
    """
    qz = vae.encoder(x) if qz is None else qz
    return elbo_reward(vae.decoder(z).log_prob(x), qz.log_prob(z), vae.prior().log_prob(z), beta)


def _base(qz: Distribution) -> Distribution:
    return qz.base_dist if isinstance(qz, Independent) else qz


class Terms(NamedTuple):
    """What one estimator computes on a batch (``...`` is the batch shape, e.g. ``(B,)``).

    surrogate ``(...)``: per input, averaged over the K samples; its gradient is the estimator
    (encoder) plus grad log p(x|z) (decoder).  reward ``(K, ...)``: r(x, z_k), detached; its mean
    is a Monte Carlo beta-ELBO.  recon / kl ``(K, ...)``: log p(x|z_k) and log q - log p, detached.
    """

    surrogate: Tensor
    reward: Tensor
    recon: Tensor
    kl: Tensor


def score_advantage(config: PolicyGradientConfig, reward: Tensor, baseline: Tensor | None = None) -> Tensor:
    """r - b for ``config.baseline``, normalised if ``config.normalize``: ``(K, ...) -> (K, ...)``.

    b is 0 (``"none"``), the given ``baseline`` (``"ema"``: the moving average, ``"learned"``:
    b(x) ``(...)``), or, for ``"loo"``, the mean reward of the other K - 1 samples of the same x.
    ``"grpo"``: the group-normalised advantage (r - mean_K r) / std_K r of the K samples of each x.
    """
    if config.baseline == "grpo":
        return group_normalized_advantages(reward)
    if config.baseline == "loo":
        b: Tensor | None = leave_one_out_baseline(reward)
    elif config.baseline in ("ema", "learned"):
        if baseline is None:
            raise ValueError(f"baseline={config.baseline!r} needs its value: pass baseline=")
        b = baseline
    else:
        b = None
    advantage = reward - b if b is not None else reward
    return normalize_advantages(advantage) if config.normalize else advantage


def estimator_terms(
    config: PolicyGradientConfig,
    qz: Distribution,
    prior: Distribution,
    decoder: torch.nn.Module,
    x: Tensor,
    *,
    baseline: Tensor | None = None,
    extra_reward: Any = None,
    generator: torch.Generator | None = None,
) -> Terms:
    """The surrogate of ``config``'s estimator for a batch whose q(z|x) is ``qz``.

    - reparam: mean_k log p(x | z_k(phi)) - beta * KL(q || p) (closed form KL, as the VAE chapter).
    - score: mean_k [ log q(z_k) * (r_k - b_k) + log p(x | z_k) ], z_k, r_k, b_k detached; b is
      0 (``"none"``), ``baseline`` (EMA value or b(x) ``(...)``), or leave-one-out over the K.
    - straight_through: mean_k log p(x | z_k^ST) - beta * KL(q || p), z^ST hard forward, relaxed
      backward.
    - disarm: the K codes are K/2 antithetic pairs (z, z~); mean over pairs of
      :func:`~rlvae_tutorial.estimators.disarm_surrogate` of the rewards, plus mean_k log p(x | z_k).
    ``extra_reward(z, px) -> (K, ...)`` is added to r (score only).  x: ``(..., x_dim)``.
    """
    k = config.samples
    base = _base(qz)
    if config.gradient == "straight_through":
        logits = base.logits
        noise = logistic_noise((k, *logits.shape), generator=generator, device=logits.device, dtype=logits.dtype)
        z = straight_through_bernoulli(logits, config.temperature, noise)  # (K, ..., D)
    elif config.gradient == "disarm":
        logits = base.logits
        gen_device = generator.device if generator is not None else logits.device
        u = torch.rand((k // 2, *logits.shape), generator=generator, device=gen_device, dtype=logits.dtype)
        z = torch.cat(antithetic_bernoulli(logits, u.to(logits.device)))  # (K, ..., D): pairs k, k + K/2
    else:
        z = draw_latent(qz, k, reparameterized=config.gradient == "reparam", generator=generator)
    px = decoder(z)
    log_px = px.log_prob(x)  # (K, ...)
    log_q = qz.log_prob(z.detach())  # (K, ...), differentiable in phi
    log_p = prior.log_prob(z.detach())  # (K, ...)
    reward = elbo_reward(log_px.detach(), log_q.detach(), log_p, config.beta)
    if extra_reward is not None:
        reward = reward + extra_reward(z.detach(), px).detach()
    if config.gradient == "score":
        surrogate = score_function_surrogate(log_q, score_advantage(config, reward, baseline)) + log_px
    elif config.gradient == "disarm":
        (z1, z2), (r1, r2) = z.chunk(2), reward.chunk(2)
        pairs = disarm_surrogate(base.logits, z1, z2, r1, r2)  # (K/2, ...)
        surrogate = torch.cat([pairs, pairs]) + log_px  # (K, ...): its mean over k is the pairs' mean
    else:
        surrogate = log_px - config.beta * latent_kl(qz, prior)  # (K, ...) by broadcasting
    return Terms(surrogate.mean(0), reward, log_px.detach(), (log_q - log_p).detach())


def loss_and_surrogate(model: PolicyVAE, batch: Any) -> tuple[Tensor, Tensor, dict[str, Tensor]]:
    """One step's loss value and surrogate loss, kept apart as in Pyro's ``TraceGraph_ELBO``.

    ``(model, x or (x, ...)) -> (loss, surrogate, metrics)``.  loss: -mean(r), detached, the Monte
    Carlo negative beta-ELBO (plus any extra reward).  surrogate: its *gradient* is minus the
    estimator (plus a learned b(x)'s squared-error gradient); its value means nothing.  metrics:
    ``reward``, ``elbo``, ``recon``, ``kl`` (and ``baseline_mse``), means over batch and K samples.
    The EMA baseline is updated after use, in training mode only.
    """
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    config, vae = model.config, model.vae
    qz = vae.encoder(x)
    extra = None
    if model.extra_reward is not None:
        extra_reward = model.extra_reward

        def extra(z: Tensor, px: Distribution) -> Tensor:
            return extra_reward(batch, z, px)

    baseline = None
    if config.baseline == "ema":
        baseline = model.baseline()
    elif config.baseline == "learned":
        if not bool(model.baseline.initialized):  # start b(x) at the mean reward of fresh draws
            with torch.no_grad():
                model.baseline.initialize_(sample_reward(vae, x, draw_latent(qz, 1), config.beta, qz))
        baseline = model.baseline(x).detach()
    terms = estimator_terms(config, qz, vae.prior(), vae.decoder, x, baseline=baseline, extra_reward=extra)
    loss = -terms.reward.mean()
    surrogate = -terms.surrogate.mean()
    recon, kl = terms.recon.mean(), terms.kl.mean()
    metrics = {"reward": -loss, "elbo": recon - kl, "recon": recon, "kl": kl}
    if config.baseline == "learned":
        mse = model.baseline.loss(x, terms.reward)
        surrogate = surrogate + mse
        metrics["baseline_mse"] = mse.detach()
    if config.baseline == "ema" and model.training:
        model.baseline.update(terms.reward)
    return loss, surrogate, metrics


def policy_gradient_loss(model: PolicyVAE, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
    """A ``loss_fn`` for :func:`rlvae_tutorial.train.train`: ``(model, x or (x, ...)) -> (loss, metrics)``.

    The book's loop takes one tensor, so :func:`loss_and_surrogate`'s two are handed over by
    :func:`~rlvae_tutorial.estimators.with_value`: the loop backpropagates the surrogate and
    records the loss value.
    """
    loss, surrogate, metrics = loss_and_surrogate(model, batch)
    return with_value(surrogate, loss), metrics
