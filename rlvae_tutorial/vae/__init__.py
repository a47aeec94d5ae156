"""Variational autoencoders: config, encoder/decoder/VAE modules, ELBO and IWAE objectives."""

from rlvae_tutorial.vae.config import VAEConfig
from rlvae_tutorial.vae.diagnostics import (
    active_units,
    latent_grid,
    latent_traversal,
    moment_matched_kl,
)
from rlvae_tutorial.vae.losses import (
    ElboTerms,
    VAELoss,
    draw_latent,
    elbo,
    evaluate,
    free_bits_kl,
    gaussian_kl,
    iwae_bound,
    kl_per_dim,
    kl_warmup,
    latent_kl,
    log_mean_exp,
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
    "active_units",
    "draw_latent",
    "elbo",
    "evaluate",
    "free_bits_kl",
    "gaussian_kl",
    "iwae_bound",
    "kl_per_dim",
    "kl_warmup",
    "latent_kl",
    "latent_grid",
    "latent_traversal",
    "log_mean_exp",
    "mlp",
    "moment_matched_kl",
    "reparameterize",
    "sample_latent",
]
