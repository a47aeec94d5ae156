"""The VAE's objectives as pure functions: Gaussian KL, the (β-)ELBO, the IWAE bound.

Notation: x ``(B, x_dim)``, q(z|x) the encoder's Gaussian (or Bernoulli, for the binary-code VAE
of the RL+VAE part), p(z) its prior, p(x|z) the decoder.
All log-likelihoods are in nats, per example (sum over pixels), never averaged over pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor
from torch.distributions import Bernoulli, Distribution, Independent, Normal, kl_divergence

from rlvae_tutorial.dtypes import as_float, as_floats
from rlvae_tutorial.estimators.relaxed import logistic_noise
from rlvae_tutorial.vae.models import VAE, sample_latent


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)), summed over latent dimensions.

    KL = 1/2 * sum_d (exp(logvar_d) + mu_d^2 - 1 - logvar_d)  (Kingma & Welling 2014, appendix B).
    mu, logvar: ``(B, D)`` -> ``(B,)``.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")
    mu, logvar = as_floats(mu, logvar)
    return 0.5 * (torch.exp(logvar) + mu.pow(2) - 1.0 - logvar).sum(dim=-1)


def log_mean_exp(values: Tensor, dim: int = 0) -> Tensor:
    """log (1/K) sum_k exp(values_k) along ``dim``, computed stably with logsumexp.

    values: e.g. log-weights ``(K, B)`` -> ``(B,)`` for ``dim=0``.
    """
    return torch.logsumexp(as_float(values), dim=dim) - math.log(values.shape[dim])


def kl_per_dim(qz: Distribution, pz: Distribution) -> Tensor:
    """KL(q(z_d|x) || p(z_d)) for each latent dimension d: ``(B, D)`` (factorised q and p)."""
    q = qz.base_dist if isinstance(qz, Independent) else qz
    p = pz.base_dist if isinstance(pz, Independent) else pz
    return kl_divergence(q, p)


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
    base = qz.base_dist if isinstance(qz, Independent) else qz
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


class ElboTerms(NamedTuple):
    """Per-example terms of the β-ELBO, each ``(B,)``, in nats.

    recon = E_q[log p(x|z)] (Monte Carlo), kl = KL(q(z|x) || p(z)), elbo = recon - beta * kl
    (the ELBO itself when beta = 1; the negative β-VAE loss otherwise).
    """

    recon: Tensor
    kl: Tensor
    elbo: Tensor


def elbo(
    model: VAE,
    x: Tensor,
    beta: float = 1.0,
    *,
    n_samples: int = 1,
    analytic_kl: bool = True,
    generator: torch.Generator | None = None,
) -> ElboTerms:
    """The β-ELBO of each row of x: ``(B, x_dim) -> ElboTerms`` of ``(B,)`` tensors.

    recon averages log p(x|z) over ``n_samples`` draws z ~ q(z|x): reparameterised (differentiable)
    for Gaussian latents, hard {0, 1} codes for Bernoulli ones (the discrete model's own ELBO).
    kl is the closed form KL(q || p) if ``analytic_kl`` (any pair ``kl_divergence`` knows), else the
    Monte Carlo estimate log q(z|x) - log p(z) on the same samples.
    """
    if n_samples < 1:
        raise ValueError(f"n_samples must be >= 1, got {n_samples}")
    qz = model.encoder(x)
    pz = model.prior()
    gaussian = isinstance(qz.base_dist if isinstance(qz, Independent) else qz, Normal)
    z = draw_latent(qz, n_samples, reparameterized=gaussian, generator=generator)  # (S, B, D)
    recon = model.decoder(z).log_prob(x).mean(0)  # (B,)
    if analytic_kl:
        kl = latent_kl(qz, pz)  # (B,)
    else:
        kl = (qz.log_prob(z) - pz.log_prob(z)).mean(0)  # (B,)
    return ElboTerms(recon=recon, kl=kl, elbo=recon - beta * kl)


def iwae_bound(
    model: VAE,
    x: Tensor,
    k: int,
    *,
    chunk_size: int | None = None,
    max_rows: int = 1 << 16,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x): ``(B,)``.

    Its expectation is a lower bound on log p(x) that rises with k (k = 1 is the ELBO; Burda et al.
    2016, Theorem 1) and is the book's estimate of test log-likelihood.  The k samples are drawn as ``(k_chunk, B, D)`` blocks of at
    most ``max_rows`` decoder rows (or ``chunk_size`` samples), so k = 1000 fits in memory.
    Call it under ``torch.no_grad()`` for evaluation.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    qz = model.encoder(x)
    pz = model.prior()
    batch = x.shape[0]
    chunk = chunk_size or max(1, max_rows // max(batch, 1))
    log_w = []
    for start in range(0, k, chunk):
        z = sample_latent(qz, (min(chunk, k - start),), generator)  # (Kc, B, D)
        log_w.append(model.decoder(z).log_prob(x) + pz.log_prob(z) - qz.log_prob(z))  # (Kc, B)
    return log_mean_exp(torch.cat(log_w, dim=0), dim=0)  # (B,)


def free_bits_kl(kl_dims: Tensor, free_bits: float) -> Tensor:
    """Free-bits KL penalty: sum_d max(free_bits, mean_batch KL_d).   kl_dims: ``(B, D)`` -> scalar.

    Below ``free_bits`` nats a dimension's KL costs a constant, so the optimiser gains nothing by
    closing it down: the remedy for posterior collapse of Kingma et al. (2016).
    """
    if free_bits < 0:
        raise ValueError(f"free_bits must be >= 0 nats per dimension, got {free_bits}")
    return as_float(kl_dims).mean(dim=0).clamp(min=free_bits).sum()


def kl_warmup(step: int, warmup_steps: int, beta: float = 1.0) -> float:
    """KL annealing weight: rises linearly from 0 at step 0 to ``beta`` at ``warmup_steps``, then stays.

    weight = beta * min(1, step / warmup_steps); ``warmup_steps = 0`` means no warm-up.  The linear
    warm-up is Sønderby et al.'s (2016); Bowman et al. (2016), who introduced KL annealing, used a
    sigmoid schedule.
    """
    if step < 0 or warmup_steps < 0:
        raise ValueError(f"step and warmup_steps must be >= 0, got {step} and {warmup_steps}")
    return beta if warmup_steps == 0 else beta * min(1.0, step / warmup_steps)


def _x(batch: Any) -> Tensor:
    return batch[0] if isinstance(batch, (tuple, list)) else batch


@dataclass(frozen=True)
class VAELoss:
    """The β-VAE training loss, a ``loss_fn(model, batch) -> (loss, metrics)`` for ``train``.

    loss = -mean_b(recon_b) + beta * KL term, where the KL term is mean_b(kl_b), or the free-bits
    version :func:`free_bits_kl` when ``free_bits > 0``.  ``batch`` is x or a tuple ``(x, ...)``.
    metrics (per-example means, nats): ``recon``, ``kl`` (the true KL) and ``elbo`` (= recon - kl).
    """

    beta: float = 1.0
    free_bits: float = 0.0

    def __post_init__(self) -> None:
        if self.beta < 0:
            raise ValueError(f"beta must be >= 0, got {self.beta}")
        if self.free_bits < 0:
            raise ValueError(f"free_bits must be >= 0 nats per dimension, got {self.free_bits}")

    def __call__(self, model: VAE, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
        x = _x(batch)
        out = model(x)
        recon = out.px.log_prob(x)  # (B,)
        kl_dims = kl_per_dim(out.qz, model.prior())  # (B, D)
        kl = kl_dims.sum(dim=-1)  # (B,)
        kl_term = free_bits_kl(kl_dims, self.free_bits) if self.free_bits > 0 else kl.mean()
        loss = -recon.mean() + self.beta * kl_term
        recon_mean, kl_mean = recon.mean().detach(), kl.mean().detach()
        return loss, {"recon": recon_mean, "kl": kl_mean, "elbo": recon_mean - kl_mean}


@torch.no_grad()
def evaluate(
    model: VAE,
    x: Tensor,
    *,
    k: int = 1000,
    n_elbo_samples: int = 100,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Honest evaluation in nats per image: means over the rows of x ``(N, x_dim)``.

    ``elbo`` (analytic KL, recon averaged over ``n_elbo_samples``), its ``recon`` and ``kl`` terms,
    and, if ``k > 0``, ``iwae``, the k-sample bound on log p(x) (``k=0`` skips it: e.g. for binary
    latents, or when only the ELBO is needed).  The model is put in eval mode and restored.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0 (0 skips the IWAE bound), got {k}")
    was_training = model.training
    model.eval()
    try:
        terms = elbo(model, x, n_samples=n_elbo_samples, generator=generator)
        iwae = iwae_bound(model, x, k, generator=generator) if k > 0 else None
    finally:
        model.train(was_training)
    out = {"elbo": terms.elbo.mean().item(), "recon": terms.recon.mean().item(), "kl": terms.kl.mean().item()}
    if iwae is not None:
        out["iwae"] = iwae.mean().item()
    return out
