"""Check functions for the exercises of the chapter *The ELBO* (book/vae_elbo.ipynb)."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor
from torch.distributions import Bernoulli, Independent

from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.vae.losses import gaussian_kl, log_mean_exp
from rlvae_tutorial.vae.models import reparameterize


def _gaussian_inputs(seed: int, b: int = 6, d: int = 4) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    return 1.5 * torch.randn(b, d, generator=g), torch.randn(b, d, generator=g)


@exercise("gaussian_kl", "rlvae_tutorial.vae.losses:gaussian_kl")
def check_gaussian_kl(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(mu, logvar)``: (B, D), (B, D) -> (B,) KL(N(mu, diag exp(logvar)) || N(0, I))."""
    mu, logvar = _gaussian_inputs(0)
    b, d = mu.shape
    out = call(fn, mu, logvar, name="gaussian_kl")
    if isinstance(out, Tensor) and tuple(out.shape) == (b, d):
        raise AssertionError(f"gaussian_kl returned shape {(b, d)}, expected {(b,)}: sum the KL over the latent dimensions (dim=-1)")
    if isinstance(out, Tensor) and out.dim() <= 1 and tuple(out.shape) in {(), (d,)} and b != d:
        raise AssertionError(f"gaussian_kl returned shape {tuple(out.shape)}, expected {(b,)}: sum over dim=-1 only, keep one KL per example")
    out = expect_tensor(out, (b,), "gaussian_kl")
    ref = gaussian_kl(mu, logvar)
    var, std = torch.exp(logvar), torch.exp(0.5 * logvar)
    hints = [
        (-ref, "wrong sign: a KL divergence is never negative; it is 1/2 * sum(exp(logvar) + mu^2 - 1 - logvar)"),
        (2 * ref, "twice the right value: you forgot the factor 1/2"),
        (ref + d / 2, "off by D/2: you forgot the -1 inside the sum"),
        (0.5 * (std + mu**2 - 1 - logvar).sum(-1), "you used exp(logvar / 2), the standard deviation, where the variance exp(logvar) belongs"),
        (0.5 * (var + mu**2 - 1 - 0.5 * logvar).sum(-1), "the log-variance term: log sigma^2 is logvar itself, not logvar / 2"),
        (0.5 * (var + mu - 1 - logvar).sum(-1), "the mean enters squared: mu**2, not mu"),
        (0.5 * (var + mu**2 - 1 + logvar).sum(-1), "the sign of logvar: it is ... - 1 - logvar"),
        (0.5 * (var + mu**2 - 1 - logvar).mean(-1), "average over the latent dimensions is wrong: the KL of "
         "independent dimensions is their SUM (dim=-1)"),
    ]
    diagnose("gaussian_kl", out, ref, hints, "on random (6, 4) inputs")
    zero = call(fn, torch.zeros(3, d), torch.zeros(3, d), name="gaussian_kl")
    if not close(expect_tensor(zero, (3,), "gaussian_kl"), torch.zeros(3)):
        raise AssertionError("gaussian_kl(0, 0) should be 0: q equals the prior there")


@exercise("reparameterize", "rlvae_tutorial.vae.models:reparameterize")
def check_reparameterize(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """``fn(mu, logvar, eps)``: z = mu + exp(logvar / 2) * eps, differentiable in mu and logvar."""
    mu, logvar = _gaussian_inputs(1, 5, 3)
    eps = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(2))
    mu_, logvar_ = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    out = call(fn, mu_, logvar_, eps, name="reparameterize")
    out = expect_tensor(out, (4, 5, 3), "reparameterize (with eps of shape (K, B, D) = (4, 5, 3))")
    ref = reparameterize(mu, logvar, eps)
    hints = [
        (mu + torch.exp(logvar) * eps, "you scaled eps by the variance exp(logvar); the standard deviation is exp(logvar / 2)"),
        (mu + logvar * eps, "logvar is a log-variance: scale eps by exp(logvar / 2), not by logvar"),
        (mu + torch.sqrt(logvar.abs()) * eps, "scale eps by exp(logvar / 2), not sqrt(logvar)"),
        (mu.expand_as(eps), "z equals mu: the noise eps is missing"),
        (torch.exp(0.5 * logvar) * eps, "the mean mu is missing: z = mu + sigma * eps"),
        (mu - torch.exp(0.5 * logvar) * eps, "the noise enters with a plus sign: z = mu + sigma * eps"),
    ]
    diagnose("reparameterize", out, ref, hints, "with eps of shape (K, B, D) = (4, 5, 3)")
    if not out.requires_grad:
        raise AssertionError("z does not depend differentiably on mu and logvar (did you .detach(), use torch.no_grad, or .sample()?)")
    gmu, glv = torch.autograd.grad(out.sum(), (mu_, logvar_), allow_unused=True)
    if gmu is None or glv is None or not close(glv, (0.5 * torch.exp(0.5 * logvar) * eps).sum(0)):
        raise AssertionError("the gradient of z with respect to logvar is wrong or missing: compute z from mu, logvar and eps with torch operations")


def _elbo_reference(x: Tensor, logits: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    return Independent(Bernoulli(logits=logits), 1).log_prob(x) - gaussian_kl(mu, logvar)


@exercise("elbo", "rlvae_tutorial.exercises.vae_elbo:_elbo_reference")
def check_elbo(fn: Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]) -> None:
    """``fn(x, logits, mu, logvar)``: one-sample ELBO per example, log p(x|z) - KL, shape (B,)."""
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(6, 10, generator=g) > 0.5).float()
    logits = 2 * torch.randn(6, 10, generator=g)
    mu, logvar = _gaussian_inputs(4, 6, 3)
    out = expect_tensor(call(fn, x, logits, mu, logvar, name="elbo"), (6,), "elbo")
    ref = _elbo_reference(x, logits, mu, logvar)
    log_px = Independent(Bernoulli(logits=logits), 1).log_prob(x)
    kl = gaussian_kl(mu, logvar)
    hints = [
        (-ref, "this is the negative ELBO (a loss): the ELBO is log p(x|z) - KL, and it is <= 0 for binary x"),
        (log_px, "the KL term is missing: ELBO = log p(x|z) - KL(q(z|x) || p(z))"),
        (log_px + kl, "the KL enters with a minus sign: ELBO = log p(x|z) - KL"),
        (log_px / x.shape[1] - kl, "log p(x|z) is averaged over pixels; an image's log-likelihood is the sum over its pixels"),
        (-log_px - kl, "the reconstruction term has the wrong sign: log p(x|z) = -BCE(logits, x) summed over pixels"),
        (Independent(Bernoulli(probs=logits.clamp(1e-6, 1 - 1e-6)), 1).log_prob(x) - kl,
         "the decoder outputs logits, not probabilities: use Bernoulli(logits=...) or binary_cross_entropy_with_logits"),
        (log_px - kl.sum(), "the KL was summed over the batch and then broadcast: keep one KL per example, "
         "gaussian_kl(mu, logvar) of shape (B,), summed over the latent dimensions only"),
        (log_px - kl.mean(), "the KL was averaged over the batch and then broadcast: keep one KL per example, "
         "shape (B,)"),
        (log_px - 0.5 * (logvar.exp() + mu**2 - 1 - logvar).mean(-1), "the KL is averaged over the latent "
         "dimensions: sum it over them (dim=-1)"),
        (-torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").mean(-1) - kl,
         "log p(x|z) is averaged over pixels; an image's log-likelihood is the sum over its pixels"),
    ]
    diagnose("elbo", out, ref, hints, "on random binary images (6, 10)", atol=1e-4)


@exercise("iwae", "rlvae_tutorial.vae.losses:log_mean_exp")
def check_iwae(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(log_w)``: (K, B) log importance weights -> (B,) log (1/K) sum_k exp(log_w_k)."""
    g = torch.Generator().manual_seed(5)
    log_w = -20 + 3 * torch.randn(50, 7, generator=g)
    out = call(fn, log_w, name="iwae")
    if isinstance(out, Tensor) and tuple(out.shape) == (50,):
        raise AssertionError("iwae returned shape (50,), expected (7,): average over the K samples (dim=0), not the batch")
    out = expect_tensor(out, (7,), "iwae")
    ref = log_mean_exp(log_w, dim=0)
    diagnose("iwae", out, ref, [
        (log_w.mean(0), "this is the mean of the log-weights, i.e. the ELBO; the IWAE bound is the log of the mean weight"),
        (torch.logsumexp(log_w, 0), "you forgot the 1/K: subtract log K from the logsumexp"),
        (torch.logsumexp(log_w, 0) - 50, "divide by K inside the log: subtract log K, not K"),
        (torch.logsumexp(log_w, 0) - math.log(7), "divide by K, the number of samples (dim 0), not by the batch size"),
        (log_w.max(0).values, "the max of the log-weights is only the largest term: log-mean-exp them"),
    ], "on (K, B) = (50, 7) log-weights", atol=1e-4)
    far = torch.full((10, 2), -1000.0)
    out = call(fn, far, name="iwae")
    if not isinstance(out, Tensor) or not torch.isfinite(out).all():
        raise AssertionError("iwae returns -inf or NaN for log-weights of -1000 (exp underflows): use torch.logsumexp")
    if not close(out, torch.full((2,), -1000.0), atol=1e-3):
        raise AssertionError(f"iwae of K equal log-weights -1000 should be -1000, got {out.tolist()}")
    if not math.isclose(float(call(fn, torch.zeros(1, 1), name="iwae").reshape(())), 0.0, abs_tol=1e-6):
        raise AssertionError("with K = 1 the IWAE bound is the single log-weight (here 0)")
