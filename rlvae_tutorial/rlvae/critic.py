"""A learned critic Q(x, z) for the one-step MDP, and the encoder gradient it gives.

With a single step there is nothing to bootstrap: the Q-learning target for Q(x, z) is the reward
itself, so "Q-learning" here is regression of log p(x|z) on (x, z).  Following a critic the
actor-critic way (DDPG; for a stochastic policy, SVG(0) of Heess et al. 2015), the encoder's gradient is grad_phi E_eps[Q_psi(x, mu + sigma * eps)]
- beta * grad_phi KL: the reparameterised gradient with the true d log p(x|z) / dz replaced by the
critic's d Q / dz.  Fitting values well does not make those gradients right, so the estimator is
biased, and no number of draws removes the bias.  Used as a *control variate* instead (the LAX
estimator of Grathwohl et al. 2018, who train the control variate to minimise the variance, where
this critic is fitted by regression; Q-Prop, Gu et al. 2017, linearises a learned Q), the same
critic leaves the gradient unbiased: :func:`critic_control_variate_objective`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Distribution

from rlvae_tutorial.estimators.control_variate import control_variate_surrogate
from rlvae_tutorial.nets import mlp
from rlvae_tutorial.train import History, TrainConfig, train
from rlvae_tutorial.vae.losses import draw_latent, latent_kl
from rlvae_tutorial.vae.models import VAE


class Critic(nn.Module):
    """Q_psi(x, z): an MLP on the concatenation ``(..., x_dim + z_dim) -> (...)``."""

    def __init__(self, x_dim: int, z_dim: int, hidden: tuple[int, ...] = (256, 256)) -> None:
        super().__init__()
        self.net = mlp((x_dim + z_dim, *hidden, 1), "relu")

    def forward(self, x: Tensor, z: Tensor) -> Tensor:
        x = x.expand(*z.shape[:-1], x.shape[-1])
        return self.net(torch.cat([x, z], dim=-1)).squeeze(-1)


def _critic_mse(critic: nn.Module, batch: Any) -> tuple[Tensor, dict[str, Tensor]]:
    x, z, target = batch
    return (critic(x, z) - target).pow(2).mean(), {}


@torch.no_grad()
def critic_dataset(
    vae: VAE, x: Tensor, n_per_x: int, *, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor, Tensor]:
    """``n_per_x`` draws z ~ q(z|x) per row of x, with the reward log p(x|z): flat ``(N, .)`` tensors."""
    qz = vae.encoder(x)
    z = draw_latent(qz, n_per_x, generator=generator)  # (n, B, D)
    target = vae.decoder(z).log_prob(x)  # (n, B)
    xs = x.expand(n_per_x, *x.shape)
    return xs.reshape(-1, x.shape[-1]), z.reshape(-1, z.shape[-1]), target.reshape(-1)


def fit_critic(
    critic: Critic,
    vae: VAE,
    x: Tensor,
    *,
    n_per_x: int = 64,
    config: TrainConfig | None = None,
    generator: torch.Generator | None = None,
    progress: bool = True,
) -> tuple[History, float]:
    """Regress Q_psi(x, z) on log p(x|z) for z ~ q(z|x), with the book's training loop.

    ``config`` defaults to ``TrainConfig(epochs=30, batch_size=256)``.  Returns the history and
    the R^2 of the fit on fresh draws (1 = perfect values).
    """
    config = config or TrainConfig(epochs=30, batch_size=256)
    data = critic_dataset(vae, x, n_per_x, generator=generator)
    history = train(critic, _critic_mse, data, config=config, progress=progress, desc="critic")
    xs, zs, target = critic_dataset(vae, x, max(1, n_per_x // 4), generator=generator)
    with torch.no_grad():
        residual = (critic(xs, zs) - target).pow(2).mean()
    r2 = 1.0 - float(residual / target.var())
    return history, r2


def critic_objective(vae: VAE, critic: Critic, x: Tensor, beta: float = 1.0, samples: int = 1) -> Any:
    """The critic estimator's objective for :func:`rlvae_tutorial.rlvae.probe.gradient_draws`.

    mean_k Q_psi(x, z_k(phi)) - beta * KL(q || p), z_k reparameterised: ``(M, B)``.
    """

    def objective(qz: Distribution, generator: torch.Generator | None) -> Tensor:
        z = draw_latent(qz, samples, reparameterized=True, generator=generator)  # (K, M, B, D)
        return critic(x, z).mean(0) - beta * latent_kl(qz, vae.prior())

    return objective


def critic_control_variate_objective(
    vae: VAE, critic: Critic | None, x: Tensor, beta: float = 1.0, samples: int = 1
) -> Any:
    """The critic as a control variate (LAX), an objective for :func:`~rlvae_tutorial.rlvae.probe.gradient_draws`.

    mean_k :func:`~rlvae_tutorial.estimators.control_variate_surrogate` of log q(z_k), the reward
    f = log p(x | z_k) and c = Q_psi(x, z_k(phi)), minus beta * KL(q || p) in closed form:
    ``(M, B)``.  Unbiased for any critic.  ``critic=None`` takes c = 0: the plain score function
    on the same reward, the estimator the control variate is there to improve.
    """

    def objective(qz: Distribution, generator: torch.Generator | None) -> Tensor:
        z = draw_latent(qz, samples, reparameterized=True, generator=generator)  # (K, M, B, D)
        log_q = qz.log_prob(z.detach())  # (K, M, B): the score, z held fixed
        with torch.no_grad():
            reward = vae.decoder(z).log_prob(x)  # (K, M, B): f, a black box here
        control = critic(x, z) if critic is not None else torch.zeros_like(reward)
        return control_variate_surrogate(log_q, reward, control).mean(0) - beta * latent_kl(qz, vae.prior())

    return objective
