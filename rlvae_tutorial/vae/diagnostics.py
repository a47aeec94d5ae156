"""Looking inside a trained VAE: active units, the aggregate posterior, traversals, latent grids."""

from __future__ import annotations

import torch
from torch import Tensor

from rlvae_tutorial.dtypes import as_float
from rlvae_tutorial.vae.models import VAE


def active_units(mu: Tensor, threshold: float = 0.01) -> Tensor:
    """Which latent dimensions the encoder uses: Var_x(E_q[z_d | x]) > threshold (Burda et al., 2016).

    mu: ``(N, D)`` posterior means of N inputs -> ``(D,)`` bool.  A dimension whose mean does not
    move with x carries no information about x: it has collapsed to the prior.
    """
    if mu.dim() != 2 or mu.shape[0] < 2:
        raise ValueError(f"mu must be (N, D) with N >= 2 inputs, got shape {tuple(mu.shape)}")
    return as_float(mu).var(dim=0) > threshold


def moment_matched_kl(codes: Tensor) -> Tensor:
    """KL(N(m, S) || N(0, I)) for the mean m and covariance S of ``codes`` ``(N, D)``: a scalar.

    A cheap check of how far a set of codes (the "aggregate posterior") is from the prior the
    decoder is sampled with: 1/2 (tr S + m.m - D - log det S).
    """
    if codes.dim() != 2 or codes.shape[0] <= codes.shape[1]:
        raise ValueError(f"codes must be (N, D) with N > D, got shape {tuple(codes.shape)}")
    codes = codes.double()
    m = codes.mean(dim=0)
    cov = torch.cov(codes.T).reshape(codes.shape[1], codes.shape[1])
    d = codes.shape[1]
    return 0.5 * (torch.trace(cov) + m @ m - d - torch.logdet(cov))


@torch.no_grad()
def latent_traversal(model: VAE, x: Tensor, values: Tensor, dims: list[int] | None = None) -> Tensor:
    """Decode the posterior mean of one input x ``(x_dim,)`` with dimension d set to each value.

    values: ``(V,)``; dims default to all.  Returns pixel means ``(len(dims) * V, x_dim)``, one row
    of V images per dimension: a dimension the model does not use gives a row of equal images.
    """
    z0 = model.encoder(x.reshape(1, -1)).mean[0]  # (D,)
    dims = list(range(z0.shape[0])) if dims is None else dims
    z = z0.repeat(len(dims), len(values), 1)  # (len(dims), V, D)
    for row, d in enumerate(dims):
        z[row, :, d] = values.to(z.device)
    return model.decoder(z.reshape(-1, z0.shape[0])).mean


@torch.no_grad()
def latent_grid(model: VAE, n: int = 15, limit: float = 2.5) -> Tensor:
    """Decode an n x n grid over [-limit, limit]^2 of a 2-D latent space: ``(n * n, x_dim)``.

    Rows run from high to low z_2, columns from low to high z_1, as in a scatter plot.
    """
    if model.config.z_dim != 2:
        raise ValueError(f"latent_grid needs a 2-D latent space, got z_dim={model.config.z_dim}")
    device = model.prior_loc.device
    axis = torch.linspace(-limit, limit, n, device=device)
    z2, z1 = torch.meshgrid(axis.flip(0), axis, indexing="ij")
    return model.decoder(torch.stack([z1, z2], dim=-1).reshape(-1, 2)).mean
