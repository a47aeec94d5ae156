"""Checks for the exercises of the chapter "Reading the original post critically".

Each exercise repairs one defect of the post: a forward pass whose latent ignores the encoder, a
"reward" with the sign of a loss, and a loss that grows with the batch size.  The messages name
the post's mistake when the reader's function repeats it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from rlvae_tutorial.exercises.common import call, close, diagnose, expect_tensor
from rlvae_tutorial.exercises.guard import exercise
from rlvae_tutorial.rlvae.objective import elbo_reward
from rlvae_tutorial.vae import gaussian_kl, reparameterize


def reference_batch_loss(x: Tensor, x_hat: Tensor, mu: Tensor, logvar: Tensor, beta: float) -> Tensor:
    """mean_b [ ||x_b - x_hat_b||^2 + beta * KL(N(mu_b, exp(logvar_b)) || N(0, I)) ]: a scalar.

    x, x_hat: ``(B, x_dim)``; mu, logvar: ``(B, z_dim)``.  Summed over pixels and latent
    dimensions, averaged over the batch, so the value does not depend on the batch size.
    """
    return ((x - x_hat) ** 2).sum(-1).add(beta * gaussian_kl(mu, logvar)).mean()


@exercise("reparameterize", "rlvae_tutorial.vae.models:reparameterize")
def check_reparameterize(fn: Callable[[Tensor, Tensor, Tensor], Tensor]) -> None:
    """``fn(mu, logvar, eps) -> z``: z = mu + exp(logvar / 2) * eps, differentiable in mu and logvar."""
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(5, 3, generator=gen), torch.randn(5, 3, generator=gen)
    eps = torch.randn(5, 3, generator=gen)
    z = expect_tensor(call(fn, mu, logvar, eps, name="your reparameterize"), (5, 3), "your reparameterize")
    diagnose("reparameterize", z, reparameterize(mu, logvar, eps), [
        (eps, "z equals eps: it ignores the encoder's mean and variance, which is exactly the post's bug (z drawn "
         "from N(0, I) whatever x is). Shift by mu and scale by the standard deviation."),
        (mu + torch.exp(logvar) * eps, "you scaled eps by exp(logvar), the variance; scale by the standard deviation exp(logvar / 2)"),
        (mu + logvar * eps, "you scaled eps by logvar itself; the standard deviation is exp(logvar / 2)"),
        (torch.exp(0.5 * logvar) * eps, "z does not depend on mu: add the mean, z = mu + std * eps"),
        (mu, "z equals mu: the noise eps is missing"),
    ], "on (5, 3) inputs (z should be mu + exp(logvar / 2) * eps)")
    mu_r, logvar_r = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    out = call(fn, mu_r, logvar_r, eps, name="your reparameterize")
    if not out.requires_grad:
        raise AssertionError("z carries no gradient to mu and logvar: build it from them with torch operations (no .detach(), no new tensor)")
    out.sum().backward()
    if mu_r.grad is None or logvar_r.grad is None or not close(mu_r.grad, torch.ones_like(mu)):
        raise AssertionError("the gradient of z with respect to mu should be 1 everywhere; did you detach something?")
    for batch_shape in ((1, 3), (4, 5, 3)):  # one example; a (K, B, D) block of samples
        eps_k = torch.randn(*batch_shape, generator=gen)
        m, lv = mu[: batch_shape[-2]], logvar[: batch_shape[-2]]
        got = expect_tensor(call(fn, m, lv, eps_k, name="your reparameterize"), batch_shape, "your reparameterize")
        if not close(got, reparameterize(m, lv, eps_k)):
            raise AssertionError(f"with eps of shape {batch_shape} (samples broadcast over mu's batch) the values are wrong")


@exercise("reward", "rlvae_tutorial.rlvae.objective:elbo_reward")
def check_reward(fn: Callable[[Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """``fn(log_px, log_qz, log_pz, beta) -> r``: r = log_px - beta * (log_qz - log_pz), same shape."""
    gen = torch.Generator().manual_seed(1)
    log_px = -10.0 * torch.rand(6, generator=gen) - 1.0
    log_qz = torch.randn(6, generator=gen)
    log_pz = torch.randn(6, generator=gen) - 2.0
    beta = 0.5
    r = expect_tensor(call(fn, log_px, log_qz, log_pz, beta, name="your reward"), (6,), "your reward")
    want = elbo_reward(log_px, log_qz, log_pz, beta)
    diagnose("your reward", r, want, [
        (-want, "it has the sign of a loss (the post's R = L_rec + beta * L_kl): maximising it would make "
         "reconstructions worse. A reward is the negative loss: log p(x|z) - beta * (log q - log p)."),
        (log_px - beta * (log_pz - log_qz), "log q(z|x) and log p(z) are swapped: the KL part is log q(z|x) - log p(z)"),
        (beta * log_px - (log_qz - log_pz), "beta multiplies the reconstruction term; it should weight the KL part"),
        (log_px - (log_qz - log_pz), "beta is ignored: the KL part must be multiplied by beta"),
        (log_px - beta * log_qz, "log p(z) is missing: the KL part is log q(z|x) - log p(z)"),
        (log_px - beta * (log_qz - log_pz).sum(), "the KL part was summed over the batch and broadcast: keep it "
         "elementwise, one reward per sample"),
    ], "on 6 samples (r should be log_px - beta * (log_qz - log_pz))")
    kb = (3, 4)  # (K samples, B images)
    args = [torch.randn(*kb, generator=gen) for _ in range(3)]
    got = expect_tensor(call(fn, *args, 2.0, name="your reward"), kb, "your reward")
    if not close(got, elbo_reward(*args, 2.0)):
        raise AssertionError("on a (K, B) block of samples the values are wrong: keep it elementwise (no sum or mean)")


@exercise("batch_loss", "rlvae_tutorial.exercises.post_errata:reference_batch_loss")
def check_batch_loss(fn: Callable[[Tensor, Tensor, Tensor, Tensor, float], Tensor]) -> None:
    """``fn(x, x_hat, mu, logvar, beta) -> loss``: a scalar that does not depend on the batch size."""
    gen = torch.Generator().manual_seed(2)
    x = (torch.rand(8, 64, generator=gen) > 0.5).float()
    x_hat = torch.rand(8, 64, generator=gen)
    mu, logvar = torch.randn(8, 4, generator=gen), 0.5 * torch.randn(8, 4, generator=gen)
    beta = 2.0
    loss = call(fn, x, x_hat, mu, logvar, beta, name="your loss")
    if isinstance(loss, Tensor) and loss.dim() != 0:
        raise AssertionError(f"your loss has shape {tuple(loss.shape)}: average over the batch to return a scalar")
    loss = expect_tensor(loss, (), "your loss")
    want = reference_batch_loss(x, x_hat, mu, logvar, beta)
    batch = x.shape[0]
    rec = ((x - x_hat) ** 2).sum(-1)
    kl = gaussian_kl(mu, logvar)
    diagnose("your loss", loss, want, [
        (want * batch, f"it is {batch} times too large: it sums over the batch axis, as the post does, so it grows "
         "with the batch size. Sum over pixels and latent dimensions, then average over examples."),
        ((rec / x.shape[1] + beta * kl).mean(), "you averaged the squared error over pixels (Keras's 'mse'): that "
         f"shrinks the reconstruction term {x.shape[1]} times relative to the KL. Sum over pixels."),
        ((rec - beta * kl).mean(), "the KL term has the wrong sign: the loss adds beta * KL"),
        ((rec + kl).mean(), "beta is ignored: multiply the KL term by beta"),
        ((rec + beta * (-0.5 * (1 + logvar - mu**2 + logvar.exp()).sum(-1))).mean(),
         "the KL has a sign error inside: it is -1/2 * sum(1 + logvar - mu^2 - exp(logvar))"),
        ((rec + beta * 0.5 * (logvar.exp() + mu**2 - 1 - logvar).mean(-1)).mean(), "the KL is averaged over the "
         "latent dimensions: sum it over them"),
    ], "on a batch of 8 (it should be mean_b(||x - x_hat||^2 + beta * KL))")
    doubled = call(fn, torch.cat([x, x]), torch.cat([x_hat, x_hat]), torch.cat([mu, mu]), torch.cat([logvar, logvar]), beta, name="your loss")
    if not close(doubled, want):
        raise AssertionError("repeating the batch twice changed the loss: it must not depend on the batch size")
    if not math.isfinite(float(call(fn, x[:1], x_hat[:1], mu[:1], logvar[:1], beta, name="your loss"))):
        raise AssertionError("a batch of one example gives a non-finite loss")
