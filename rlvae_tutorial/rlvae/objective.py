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
from torch.distributions import Bernoulli, Distribution, Independent, Normal, kl_divergence

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.estimators.relaxed import logistic_noise, straight_through_bernoulli
from rlvae_tutorial.estimators.score_function import (
    leave_one_out_baseline,
    normalize_advantages,
    score_function_surrogate,
)
from rlvae_tutorial.rlvae.config import PolicyGradientConfig
from rlvae_tutorial.rlvae.models import PolicyVAE
from rlvae_tutorial.vae.models import sample_latent


def elbo_reward(log_px_z: Tensor, log_qz: Tensor, log_pz: Tensor, beta: float = 1.0) -> Tensor:
    """r(x, z) = log p(x|z) - beta * (log q(z|x) - log p(z)): any (equal or broadcastable) shapes.

    The negative of the beta-VAE loss L_rec + beta * L_kl with L_rec = -log p(x|z) and the
    single-sample KL L_kl = log q(z|x) - log p(z).  Its mean over z ~ q(z|x) is the beta-ELBO.
    """
    log_px_z, log_qz, log_pz = as_floats(log_px_z, log_qz, log_pz)
    return log_px_z - beta * (log_qz - log_pz)


def _base(qz: Distribution) -> Distribution:
    return qz.base_dist if isinstance(qz, Independent) else qz


def latent_kl(qz: Distribution, prior: Distribution) -> Tensor:
    """KL(q(z|x) || p(z)) in closed form, ``(...)`` of qz's batch shape.

    The prior is expanded to q's batch shape first (torch's Bernoulli-Bernoulli KL does not
    broadcast a ``(D,)`` prior against ``(B, D)`` logits).
    """
    return kl_divergence(qz, prior.expand(qz.batch_shape))


def draw_latent(
    qz: Distribution,
    k: int,
    *,
    reparameterized: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """K samples z ``(K, *batch, D)`` from a diagonal Normal or a Bernoulli q(z|x).

    Normal: z = mu + sigma * eps, differentiable if ``reparameterized`` (else detached).
    Bernoulli: z = 1[logits + L > 0] with logistic noise L (never differentiable).
    """
    base = _base(qz)
    if isinstance(base, Normal):
        z = sample_latent(qz, (k,), generator)
        return z if reparameterized else z.detach()
    if isinstance(base, Bernoulli):
        if reparameterized:
            raise ValueError("Bernoulli latents cannot be reparameterised")
        logits = base.logits.detach()
        noise = logistic_noise((k, *logits.shape), generator=generator, device=logits.device, dtype=logits.dtype)
        return (logits + noise > 0).to(logits.dtype)
    raise TypeError(f"q(z|x) must be a (diagonal) Normal or a Bernoulli, got {type(base).__name__}")


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
    ``extra_reward(z, px) -> (K, ...)`` is added to r (score only).  x: ``(..., x_dim)``.
    """
    k = config.samples
    base = _base(qz)
    if config.gradient == "straight_through":
        logits = base.logits
        noise = logistic_noise((k, *logits.shape), generator=generator, device=logits.device, dtype=logits.dtype)
        z = straight_through_bernoulli(logits, config.temperature, noise)  # (K, ..., D)
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
        if config.baseline == "loo":
            b: Tensor | None = leave_one_out_baseline(reward)
        elif config.baseline in ("ema", "learned"):
            if baseline is None:
                raise ValueError(f"baseline={config.baseline!r} needs its value: pass baseline=")
            b = baseline
        else:
            b = None
        advantage = reward - b if b is not None else reward
        if config.normalize:
            advantage = normalize_advantages(advantage)
        surrogate = score_function_surrogate(log_q, advantage) + log_px
    else:
        surrogate = log_px - config.beta * latent_kl(qz, prior)  # (K, ...) by broadcasting
    return Terms(surrogate.mean(0), reward, log_px.detach(), (log_q - log_p).detach())


def policy_gradient_loss(model: PolicyVAE, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
    """A ``loss_fn`` for :func:`rlvae_tutorial.train.train`: ``(model, x or (x, ...)) -> (loss, metrics)``.

    The loss's *gradient* is minus the estimator (plus the learned baseline's MSE gradient, which
    only reaches the baseline's weights); its *value* is minus the mean reward -mean(r), the Monte
    Carlo negative beta-ELBO (plus any extra reward), so that the training curve means something.
    The EMA baseline is updated after use, in training mode only.  metrics (means over the batch
    and the K samples): ``reward``, ``elbo`` = recon - kl (beta = 1, no extra reward), ``recon``
    = log p(x|z), ``kl`` = log q(z|x) - log p(z), and with a learned baseline ``baseline_mse``.
    """
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    config, vae = model.config, model.vae
    qz = vae.encoder(x)
    baseline = None
    if config.baseline == "ema":
        baseline = model.baseline()
    extra = None
    if model.extra_reward is not None:
        extra_reward = model.extra_reward

        def extra(z: Tensor, px: Distribution) -> Tensor:
            return extra_reward(batch, z, px)

    learned = config.baseline == "learned"
    if learned:
        if not bool(model.baseline.initialized):  # start b(x) at the mean reward of fresh draws
            with torch.no_grad():
                z0 = draw_latent(qz, 1)
                r0 = elbo_reward(vae.decoder(z0).log_prob(x), qz.log_prob(z0), vae.prior().log_prob(z0), config.beta)
            model.baseline.initialize_(r0)
        baseline = model.baseline(x).detach()
    terms = estimator_terms(config, qz, vae.prior(), vae.decoder, x, baseline=baseline, extra_reward=extra)
    mean_reward = terms.reward.mean()
    objective = terms.surrogate.mean()
    loss = -(objective - objective.detach()) - mean_reward.detach()
    recon, kl = terms.recon.mean(), terms.kl.mean()
    metrics = {"reward": mean_reward, "elbo": recon - kl, "recon": recon, "kl": kl}
    if learned:
        mse = model.baseline.loss(x, terms.reward)
        loss = loss + (mse - mse.detach())
        metrics["baseline_mse"] = mse.detach()
    if config.baseline == "ema" and model.training:
        model.baseline.update(terms.reward)
    return loss, metrics
