"""Encoder, decoder and the VAE that holds them with the prior.

The encoder maps ``x`` to a *distribution* q(z|x) and the decoder maps ``z`` to a distribution
p(x|z): both return ``torch.distributions`` objects, so losses call ``log_prob``, ``rsample`` and
``kl_divergence`` instead of re-deriving formulas.  Shapes: ``x`` is ``(..., x_dim)``, ``z`` is
``(..., z_dim)``; leading dimensions (batch, samples ``(K, B)``) broadcast through the MLPs.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent, Normal

from rlvae_tutorial.dtypes import as_floats
from rlvae_tutorial.nets import mlp
from rlvae_tutorial.vae.config import VAEConfig


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """The reparameterisation trick: z = mu + exp(logvar / 2) * eps with eps ~ N(0, I).

    mu, logvar: ``(B, D)``; eps: ``(..., B, D)`` -> z of eps's shape.  The randomness is in
    ``eps`` alone, so z is a differentiable function of (mu, logvar).
    """
    mu, logvar, eps = as_floats(mu, logvar, eps)
    return mu + torch.exp(0.5 * logvar) * eps


def sample_latent(
    qz: Distribution, sample_shape: tuple[int, ...] = (), generator: torch.Generator | None = None
) -> Tensor:
    """A reparameterised sample ``z`` of shape ``sample_shape + (B, D)`` from a diagonal Gaussian.

    Like ``qz.rsample(sample_shape)`` but with an optional ``generator`` (on any device: the noise
    is drawn on the generator's device and moved to ``qz``'s), so results are reproducible
    without touching the global random state.
    """
    base = qz.base_dist if isinstance(qz, Independent) else qz
    if not isinstance(base, Normal):
        raise TypeError(f"sample_latent needs a (diagonal) Normal q(z|x), got {type(base).__name__}")
    if generator is None:
        return qz.rsample(sample_shape)
    shape = torch.Size(sample_shape) + base.loc.shape
    eps = torch.randn(shape, generator=generator, device=generator.device, dtype=base.loc.dtype)
    return base.loc + base.scale * eps.to(base.loc.device)


class Encoder(nn.Module):
    """q(z|x) = N(mu(x), diag(exp(logvar(x)))): ``forward(x)`` returns an Independent Normal."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or VAEConfig()
        self.net = mlp((config.x_dim, *config.hidden, 2 * config.z_dim), config.activation)

    def params(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: ``(..., x_dim)`` -> ``(mu, logvar)``, each ``(..., z_dim)``."""
        if x.shape[-1] != self.config.x_dim:
            raise ValueError(
                f"the encoder expects inputs of {self.config.x_dim} features, got shape {tuple(x.shape)}; "
                "flatten images to (N, x_dim) or set VAEConfig(x_dim=...)"
            )
        mu, logvar = self.net(x).chunk(2, dim=-1)
        return mu, logvar.clamp(self.config.min_logvar, self.config.max_logvar)

    def forward(self, x: Tensor) -> Independent:
        mu, logvar = self.params(x)
        return Independent(Normal(mu, torch.exp(0.5 * logvar), validate_args=False), 1)


class Decoder(nn.Module):
    """p(x|z): ``forward(z)`` returns an Independent Bernoulli (logits) or Normal over x_dim pixels."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or VAEConfig()
        self.net = mlp((config.z_dim, *reversed(config.hidden), config.x_dim), config.activation)
        if config.likelihood == "gaussian" and config.gaussian_std is None:
            self.log_std = nn.Parameter(torch.zeros(config.x_dim))  # learned per pixel
        else:
            self.register_parameter("log_std", None)

    def forward(self, z: Tensor) -> Independent:
        out = self.net(z)  # (..., x_dim)
        if self.config.likelihood == "bernoulli":
            # validate_args=False lets pixel intensities in [0, 1] (not only {0, 1}) be scored.
            return Independent(Bernoulli(logits=out, validate_args=False), 1)
        if self.log_std is not None:
            std = torch.exp(self.log_std.clamp(-7.0, 5.0)).expand_as(out)
        else:
            std = torch.full_like(out, float(self.config.gaussian_std))
        return Independent(Normal(out, std, validate_args=False), 1)


class VAEOutput(NamedTuple):
    """One pass through the VAE: q(z|x), a reparameterised z ``(..., B, D)``, and p(x|z)."""

    qz: Independent
    z: Tensor
    px: Independent


class VAE(nn.Module):
    """Encoder, decoder and the prior p(z) = N(0, I) of ``config.z_dim`` dimensions.

    ``config`` defaults to ``VAEConfig()``, the book's digits model.

    ``encoder`` / ``decoder`` may be replaced by any modules with the same interface (x -> q(z|x)
    distribution, z -> p(x|z) distribution), e.g. a convolutional or a discrete-latent encoder.
    """

    def __init__(
        self,
        config: VAEConfig | None = None,
        *,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        self.config = config = config or VAEConfig()
        self.encoder = encoder if encoder is not None else Encoder(config)
        self.decoder = decoder if decoder is not None else Decoder(config)
        # Buffers, so that the prior follows the model to its device (and is not trained).
        self.register_buffer("prior_loc", torch.zeros(config.z_dim), persistent=False)
        self.register_buffer("prior_scale", torch.ones(config.z_dim), persistent=False)

    def prior(self) -> Independent:
        """p(z) = N(0, I), event shape ``(z_dim,)``."""
        return Independent(Normal(self.prior_loc, self.prior_scale, validate_args=False), 1)

    def forward(
        self, x: Tensor, sample_shape: tuple[int, ...] = (), generator: torch.Generator | None = None
    ) -> VAEOutput:
        """x: ``(B, x_dim)`` -> q(z|x), z: ``sample_shape + (B, z_dim)``, p(x|z)."""
        qz = self.encoder(x)
        z = sample_latent(qz, sample_shape, generator)
        return VAEOutput(qz, z, self.decoder(z))

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Independent:
        """Generate: z ~ p(z) (``(n, z_dim)``), then return p(x|z); ``.mean`` gives pixel means."""
        device = self.prior_loc.device
        gen_device = generator.device if generator is not None else device
        z = torch.randn(n, self.config.z_dim, generator=generator, device=gen_device).to(device)
        return self.decoder(z)

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the posterior mean: x ``(B, x_dim)`` -> pixel means ``(B, x_dim)``."""
        return self.decoder(self.encoder(x).mean).mean
