from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from rlvae_tutorial.data import load_digits
from rlvae_tutorial.vae import (
    VAE,
    VAEConfig,
    VAELoss,
    active_units,
    elbo,
    evaluate,
    free_bits_kl,
    gaussian_kl,
    iwae_bound,
    kl_per_dim,
    latent_grid,
    latent_traversal,
    moment_matched_kl,
    reparameterize,
    sample_latent,
)


def _model(seed: int = 0, **kw: object) -> VAE:
    torch.manual_seed(seed)
    return VAE(VAEConfig(**kw))


def test_config_defaults_are_the_books_model() -> None:
    c = VAEConfig()
    assert (c.x_dim, c.hidden, c.z_dim, c.likelihood) == (64, (256, 256), 8, "bernoulli")
    with pytest.raises(Exception, match="cannot assign"):
        c.z_dim = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kw", "msg"),
    [
        ({"likelihood": "poisson"}, "unknown likelihood 'poisson'; allowed: bernoulli, gaussian"),
        ({"hidden": [256]}, "hidden must be a tuple"),
        ({"z_dim": 0}, "x_dim and z_dim must be >= 1"),
        ({"activation": "gelu"}, "unknown activation"),
        ({"gaussian_std": 0.0}, "gaussian_std must be > 0"),
    ],
)
def test_bad_config_is_explained(kw: dict, msg: str) -> None:
    with pytest.raises(ValueError, match=msg):
        VAEConfig(**kw)


def test_gaussian_kl_matches_torch_distributions() -> None:
    g = torch.Generator().manual_seed(0)
    mu = 3 * torch.randn(64, 8, generator=g, dtype=torch.float64)
    logvar = 4 * torch.randn(64, 8, generator=g, dtype=torch.float64)
    q = Independent(Normal(mu, torch.exp(0.5 * logvar)), 1)
    p = Independent(Normal(torch.zeros(8, dtype=torch.float64), torch.ones(8, dtype=torch.float64)), 1)
    ours = gaussian_kl(mu, logvar)
    assert ours.shape == (64,)
    torch.testing.assert_close(ours, kl_divergence(q, p), atol=1e-10, rtol=1e-10)
    assert torch.allclose(gaussian_kl(torch.zeros(3, 5), torch.zeros(3, 5)), torch.zeros(3))
    # float32 too, to the chapter's 1e-5 claim
    torch.testing.assert_close(gaussian_kl(mu.float(), logvar.float()).double(), kl_divergence(q, p), atol=1e-3, rtol=1e-5)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_kl(torch.zeros(2, 3), torch.zeros(2, 4))


def test_kl_per_dim_sums_to_the_kl() -> None:
    model = _model()
    x, _ = load_digits("test", binarize=True)
    qz = model.encoder(x[:10])
    per_dim = kl_per_dim(qz, model.prior())
    assert per_dim.shape == (10, 8)
    torch.testing.assert_close(per_dim.sum(-1), kl_divergence(qz, model.prior()))
    mu, logvar = model.encoder.params(x[:10])
    torch.testing.assert_close(per_dim.sum(-1), gaussian_kl(mu, logvar), atol=1e-5, rtol=1e-5)


def test_shapes_through_the_model() -> None:
    model = _model()
    x = torch.rand(5, 64)
    out = model(x, (3,))
    assert out.z.shape == (3, 5, 8)
    assert out.qz.batch_shape == (5,) and out.qz.event_shape == (8,)
    assert out.px.batch_shape == (3, 5) and out.px.event_shape == (64,)
    assert out.px.log_prob(x).shape == (3, 5)
    assert model.sample(7).mean.shape == (7, 64)
    assert model.reconstruct(x).shape == (5, 64)
    with pytest.raises(ValueError, match="expects inputs of 64 features, got shape"):
        model.encoder(torch.zeros(5, 8, 8))


def test_gaussian_likelihood() -> None:
    learned = _model(likelihood="gaussian")
    px = learned.decoder(torch.zeros(4, 8))
    assert px.log_prob(torch.rand(4, 64)).shape == (4,)
    assert learned.decoder.log_std is not None
    fixed = _model(likelihood="gaussian", gaussian_std=0.1)
    assert fixed.decoder.log_std is None
    assert torch.allclose(fixed.decoder(torch.zeros(2, 8)).base_dist.scale, torch.full((2, 64), 0.1))


def test_reparameterize_is_differentiable_and_matches_rsample() -> None:
    mu = torch.zeros(4, 3, requires_grad=True)
    logvar = torch.zeros(4, 3, requires_grad=True)
    eps = torch.randn(2, 4, 3)
    z = reparameterize(mu, logvar, eps)
    z.sum().backward()
    assert z.shape == (2, 4, 3) and torch.equal(mu.grad, torch.full((4, 3), 2.0))
    q = Independent(Normal(mu.detach() + 1, torch.full((4, 3), 2.0)), 1)
    a = sample_latent(q, (2,), torch.Generator().manual_seed(3))
    b = sample_latent(q, (2,), torch.Generator().manual_seed(3))
    assert a.shape == (2, 4, 3) and torch.equal(a, b)
    eps = torch.randn((2, 4, 3), generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(a, 1 + 2 * eps)


def test_elbo_terms_and_beta() -> None:
    model = _model()
    x, _ = load_digits("test", binarize=True)
    g = torch.Generator().manual_seed(0)
    t1 = elbo(model, x[:16], generator=g)
    assert t1.recon.shape == t1.kl.shape == t1.elbo.shape == (16,)
    torch.testing.assert_close(t1.elbo, t1.recon - t1.kl)
    t4 = elbo(model, x[:16], beta=4.0, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(t4.elbo, t1.recon - 4.0 * t1.kl)
    assert (t1.kl >= 0).all() and (t1.recon <= 0).all()
    # The Monte Carlo KL converges to the analytic one.
    mc = elbo(model, x[:16], n_samples=4000, analytic_kl=False, generator=g)
    torch.testing.assert_close(mc.kl, t1.kl, atol=0.05, rtol=0.02)


def test_iwae_is_above_the_elbo_and_k1_is_the_elbo() -> None:
    model = _model()
    x, _ = load_digits("test", binarize=True)
    with torch.no_grad():
        el = elbo(model, x, n_samples=200, generator=torch.Generator().manual_seed(0)).elbo
        iw = iwae_bound(model, x, 200, generator=torch.Generator().manual_seed(1))
        assert iw.shape == (360,)
        assert iw.mean() > el.mean() + 0.05
        # k = 1 is a single-sample ELBO (MC KL): same mean up to noise.
        k1 = torch.stack([iwae_bound(model, x, 1) for _ in range(50)]).mean()
        assert abs(float(k1) - float(el.mean())) < 0.5


def test_iwae_chunking_gives_the_same_answer() -> None:
    model = _model()
    x = (torch.rand(6, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    with torch.no_grad():
        whole = iwae_bound(model, x, 50, chunk_size=50, generator=torch.Generator().manual_seed(2))
        parts = iwae_bound(model, x, 50, chunk_size=7, generator=torch.Generator().manual_seed(2))
    # Same noise in a different order of draws is not guaranteed, so compare by noise level.
    assert whole.shape == parts.shape == (6,)
    assert (whole - parts).abs().max() < 1.0
    with pytest.raises(ValueError, match="k must be >= 1"):
        iwae_bound(model, x, 0)


def test_free_bits() -> None:
    kl = torch.tensor([[0.0, 1.0, 3.0], [0.0, 3.0, 3.0]])
    assert float(free_bits_kl(kl, 0.5)) == pytest.approx(0.5 + 2.0 + 3.0)
    assert float(free_bits_kl(kl, 0.0)) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="free_bits must be >= 0"):
        free_bits_kl(kl, -1.0)


def test_vae_loss_metrics_and_gradients() -> None:
    model = _model()
    x, _ = load_digits("train", binarize=True)
    loss, metrics = VAELoss()(model, (x[:32], None))
    assert loss.dim() == 0 and set(metrics) == {"recon", "kl", "elbo"}
    assert loss.item() == pytest.approx(-float(metrics["elbo"]), rel=1e-5)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())
    fb_loss, fb_metrics = VAELoss(beta=2.0, free_bits=10.0)(model, x[:32])
    # With a floor of 10 nats per dimension, the KL term is the floor: 8 * 10 * beta.
    assert fb_loss.item() == pytest.approx(-float(fb_metrics["recon"]) + 160.0, rel=1e-4)
    with pytest.raises(ValueError, match="beta must be >= 0"):
        VAELoss(beta=-1.0)


def test_evaluate_is_deterministic_with_a_generator() -> None:
    model = _model()
    x, _ = load_digits("test", binarize=True)
    a = evaluate(model, x[:50], k=100, n_elbo_samples=10, generator=torch.Generator().manual_seed(0))
    b = evaluate(model, x[:50], k=100, n_elbo_samples=10, generator=torch.Generator().manual_seed(0))
    assert a == b and set(a) == {"elbo", "recon", "kl", "iwae"}
    assert a["iwae"] > a["elbo"] and math.isclose(a["elbo"], a["recon"] - a["kl"], rel_tol=1e-5)
    assert model.training


def test_active_units_and_moment_matched_kl() -> None:
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(500, 3, generator=g) * torch.tensor([1.0, 0.05, 0.2])
    assert active_units(mu).tolist() == [True, False, True]
    with pytest.raises(ValueError, match=r"mu must be \(N, D\)"):
        active_units(torch.zeros(1, 3))
    standard = torch.randn(20000, 2, generator=g)
    assert float(moment_matched_kl(standard)) < 0.01
    shifted = standard * 3.0 + 1.0  # N(1, 9 I): KL = 1/2 (18 + 2 - 2 - 2 log 9) per the formula
    assert float(moment_matched_kl(shifted)) == pytest.approx(0.5 * (18 + 2 - 2 - 2 * math.log(9)), rel=0.03)
    with pytest.raises(ValueError, match="N > D"):
        moment_matched_kl(torch.zeros(2, 3))


def test_traversal_and_grid_shapes() -> None:
    model = _model()
    x, _ = load_digits("test", binarize=True)
    images = latent_traversal(model, x[0], torch.linspace(-2, 2, 5), dims=[0, 3])
    assert images.shape == (10, 64) and 0 <= images.min() and images.max() <= 1
    assert latent_traversal(model, x[0], torch.zeros(3)).shape == (24, 64)
    with pytest.raises(ValueError, match="needs a 2-D latent space"):
        latent_grid(model)
    assert latent_grid(_model(z_dim=2), n=4).shape == (16, 64)
