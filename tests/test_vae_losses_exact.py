"""The VAE's losses against hand-computed answers at their edges.

The KL warm-up schedule at and past its ends, the β-VAE loss recomputed from its parts (with a
batch size different from the latent size, so that a sum over the wrong axis shows), free bits
that bind, the KL of batched inputs, and the blocks in which the IWAE bound draws its samples.
"""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Bernoulli, Categorical, Independent, Normal, kl_divergence

from rlvae_tutorial.estimators import logistic_noise
from rlvae_tutorial.vae import (
    VAE,
    VAEConfig,
    VAELoss,
    free_bits_kl,
    gaussian_kl,
    iwae_bound,
    kl_per_dim,
    losses,
)
from rlvae_tutorial.vae.losses import draw_latent, elbo, kl_warmup


@pytest.mark.parametrize(
    ("step", "warmup_steps", "beta", "expected"),
    [(0, 10, 2.0, 0.0), (5, 10, 2.0, 1.0), (10, 10, 2.0, 2.0), (20, 10, 2.0, 2.0), (0, 0, 2.0, 2.0), (3, 0, 2.0, 2.0), (1, 4, 2.0, 0.5)],
)
def test_kl_warmup_values(step: int, warmup_steps: int, beta: float, expected: float) -> None:
    assert kl_warmup(step, warmup_steps, beta) == pytest.approx(expected)


def test_kl_warmup_default_beta_and_errors() -> None:
    assert kl_warmup(5, 10) == pytest.approx(0.5)
    for step, warmup in [(-1, 5), (5, -1)]:
        with pytest.raises(ValueError, match=rf"^step and warmup_steps must be >= 0, got {step} and {warmup}$"):
            kl_warmup(step, warmup)


def _model() -> VAE:
    torch.manual_seed(0)
    return VAE(VAEConfig(x_dim=6, hidden=(5,), z_dim=2))


def test_vae_loss_is_recon_plus_beta_kl_of_its_parts() -> None:
    model, x = _model(), (torch.rand(3, 6, generator=torch.Generator().manual_seed(1)) > 0.5).float()  # B = 3, D = 2
    for beta in (0.0, 0.5, 2.0):
        torch.manual_seed(2)
        loss, metrics = VAELoss(beta=beta)(model, x)
        torch.manual_seed(2)
        out = model(x)
        recon = out.px.log_prob(x)  # (B,)
        kl = kl_per_dim(out.qz, model.prior()).sum(-1)  # (B,)
        torch.testing.assert_close(loss, -recon.mean() + beta * kl.mean())
        torch.testing.assert_close(metrics["kl"], kl.mean().detach())
        torch.testing.assert_close(metrics["elbo"], (recon.mean() - kl.mean()).detach())


def test_free_bits_that_bind_change_the_loss() -> None:
    model, x = _model(), torch.zeros(3, 6)
    torch.manual_seed(2)
    loss, _ = VAELoss(beta=1.0, free_bits=0.5)(model, x)
    torch.manual_seed(2)
    out = model(x)
    kl_dims = kl_per_dim(out.qz, model.prior())  # (B, D): a fresh encoder's KL is far below 0.5 nats per dim
    assert (kl_dims.mean(0) < 0.5).all()
    torch.testing.assert_close(loss, -out.px.log_prob(x).mean() + free_bits_kl(kl_dims, 0.5))
    with pytest.raises(ValueError, match=r"^free_bits must be >= 0 nats per dimension, got -0.1$"):
        VAELoss(free_bits=-0.1)


def test_gaussian_kl_sums_the_last_axis_of_batched_inputs() -> None:
    mu = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4) / 10
    logvar = -mu
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)  # (2, 3)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)


def test_kl_per_dim_takes_plain_factorised_distributions() -> None:
    q, p = Normal(torch.tensor([[0.0, 1.0]]), torch.tensor([[1.0, 2.0]])), Normal(torch.zeros(2), torch.ones(2))
    torch.testing.assert_close(kl_per_dim(q, p), kl_divergence(q, p))


@pytest.mark.parametrize(
    ("batch", "k", "chunk_size", "max_rows", "blocks"),
    [(2, 10, None, 8, [4, 4, 2]), (2, 3, None, 3, [1, 1, 1]), (1, 5, None, 3, [3, 2]), (2, 5, 2, 8, [2, 2, 1])],
)
def test_iwae_draws_k_samples_in_blocks_of_at_most_max_rows_rows(
    monkeypatch: pytest.MonkeyPatch, batch: int, k: int, chunk_size: int | None, max_rows: int, blocks: list[int]
) -> None:
    asked: list[int] = []
    real = losses.sample_latent

    def spy(qz, sample_shape, generator=None):  # noqa: ANN001, ANN202
        asked.append(sample_shape[0])
        return real(qz, sample_shape, generator)

    monkeypatch.setattr(losses, "sample_latent", spy)
    out = iwae_bound(_model(), torch.zeros(batch, 6), k, chunk_size=chunk_size, max_rows=max_rows)
    assert asked == blocks and out.shape == (batch,)


def test_draw_latent_detaches_normal_samples_unless_asked() -> None:
    mu = torch.zeros(3, 2, requires_grad=True)
    for q in (Normal(mu, 1.0), Independent(Normal(mu, 1.0), 1)):  # plain or Independent
        assert not draw_latent(q, 4).requires_grad
        z = draw_latent(q, 4, reparameterized=True)
        assert z.shape == (4, 3, 2) and z.requires_grad


def test_draw_latent_bernoulli_is_the_sign_of_logits_plus_logistic_noise() -> None:
    logits = torch.tensor([[-1.0, 0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    q = Independent(Bernoulli(logits=logits), 1)
    z = draw_latent(q, 5, generator=torch.Generator().manual_seed(3))
    noise = logistic_noise((5, 1, 3), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert z.dtype == torch.float64 and not z.requires_grad
    torch.testing.assert_close(z, (logits.detach() + noise > 0).double())
    with pytest.raises(ValueError, match=r"^Bernoulli latents cannot be reparameterised$"):
        draw_latent(q, 5, reparameterized=True)


def test_elbo_draws_one_reparameterised_sample_by_default() -> None:
    model, x = _model(), torch.ones(2, 6)
    terms = elbo(model, x, generator=torch.Generator().manual_seed(4))
    qz = model.encoder(x)
    z = draw_latent(qz, 1, generator=torch.Generator().manual_seed(4))  # (1, B, D)
    torch.testing.assert_close(terms.recon, model.decoder(z).log_prob(x).mean(0))
    grads = torch.autograd.grad(terms.recon.sum(), list(model.encoder.parameters()), allow_unused=True)
    assert any(g is not None and g.abs().sum() > 0 for g in grads)  # the reconstruction reaches the encoder
    with pytest.raises(ValueError, match=r"^n_samples must be >= 1, got 0$"):
        elbo(model, x, n_samples=0)


def test_a_bernoulli_latent_at_a_tie_is_zero() -> None:
    """z = 1[logits + L > 0], strictly: where logits + L is exactly 0 (logits = -L, the same
    generator's noise), z is 0."""
    noise = logistic_noise((1, 3, 4), generator=torch.Generator().manual_seed(5))
    qz = Independent(Bernoulli(logits=-noise[0]), 1)
    z = draw_latent(qz, 1, generator=torch.Generator().manual_seed(5))
    assert torch.equal(z, torch.zeros(1, 3, 4))


def test_draw_latent_names_the_distributions_it_takes() -> None:
    with pytest.raises(TypeError, match=r"^q\(z\|x\) must be a \(diagonal\) Normal or a Bernoulli, got Categorical$"):
        draw_latent(Categorical(logits=torch.zeros(2, 3)), 1)
