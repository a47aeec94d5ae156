"""Variational autoencoders: config, encoder/decoder/VAE modules, ELBO and IWAE objectives."""

from rlvae_tutorial.vae.config import VAEConfig
from rlvae_tutorial.vae.losses import (
    ElboTerms,
    VAELoss,
    elbo,
    evaluate,
    free_bits_kl,
    gaussian_kl,
    iwae_bound,
    kl_per_dim,
)
from rlvae_tutorial.vae.models import (
    VAE,
    Decoder,
    Encoder,
    VAEOutput,
    mlp,
    reparameterize,
    sample_latent,
)

__all__ = [
    "VAE",
    "Decoder",
    "ElboTerms",
    "Encoder",
    "VAEConfig",
    "VAELoss",
    "VAEOutput",
    "elbo",
    "evaluate",
    "free_bits_kl",
    "gaussian_kl",
    "iwae_bound",
    "kl_per_dim",
    "mlp",
    "reparameterize",
    "sample_latent",
]
