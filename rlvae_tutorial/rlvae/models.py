"""The encoder as a policy: a VAE with its baseline, and a VAE with binary latents.

``PolicyVAE`` holds a VAE from :mod:`rlvae_tutorial.vae` (Gaussian latents) or a
:class:`BernoulliVAE` (z in {0, 1}^D), the :class:`PolicyGradientConfig` saying how the encoder is
trained, and the baseline that config needs (an EMA or a learned b(x)), so that one
``state_dict`` checkpoints all of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.distributions import Bernoulli, Distribution, Independent

from rlvae_tutorial.estimators.baselines import EMABaseline, LearnedBaseline
from rlvae_tutorial.nets import mlp
from rlvae_tutorial.rlvae.config import PolicyGradientConfig
from rlvae_tutorial.vae.config import VAEConfig
from rlvae_tutorial.vae.models import VAE

# extra_reward(batch, z, px) -> (K, B): a reward term added to r(x, z), never differentiated.
ExtraReward = Callable[[Any, Tensor, Distribution], Tensor]


class BernoulliEncoder(nn.Module):
    """q(z|x) = prod_d Bernoulli(z_d; sigmoid(l_d(x))): ``forward(x)`` returns an Independent Bernoulli."""

    def __init__(self, config: VAEConfig | None = None) -> None:
        super().__init__()
        self.config = config = config or VAEConfig(z_dim=16)
        self.net = mlp((config.x_dim, *config.hidden, config.z_dim), config.activation)

    def logits(self, x: Tensor) -> Tensor:
        """x: ``(..., x_dim)`` -> logits ``(..., z_dim)``."""
        if x.shape[-1] != self.config.x_dim:
            raise ValueError(
                f"the encoder expects inputs of {self.config.x_dim} features, got shape {tuple(x.shape)}"
            )
        return self.net(x)

    def forward(self, x: Tensor) -> Independent:
        return Independent(Bernoulli(logits=self.logits(x), validate_args=False), 1)


class BernoulliVAE(VAE):
    """A VAE with D binary latents: q(z|x) Bernoulli, prior p(z) = Bernoulli(1/2)^D.

    The decoder is the package's MLP decoder, fed z in {0, 1}^D as floats.
    ``config`` defaults to the digits model with 16 binary latents.
    """

    def __init__(self, config: VAEConfig | None = None) -> None:
        config = config or VAEConfig(z_dim=16)
        super().__init__(config, encoder=BernoulliEncoder(config))

    def prior(self) -> Independent:
        """p(z) = Bernoulli(1/2) per dimension: log p(z) = -D log 2 for every z."""
        return Independent(Bernoulli(probs=torch.full_like(self.prior_loc, 0.5), validate_args=False), 1)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> Independent:
        """Generate: z ~ p(z) (``(n, z_dim)`` in {0, 1}), then return p(x|z)."""
        device = self.prior_loc.device
        gen_device = generator.device if generator is not None else device
        u = torch.rand(n, self.config.z_dim, generator=generator, device=gen_device).to(device)
        return self.decoder((u < 0.5).float())

    @torch.no_grad()
    def reconstruct(self, x: Tensor) -> Tensor:
        """Decode the most likely code 1[q(z_d=1|x) > 1/2]: x ``(B, x_dim)`` -> pixel means."""
        return self.decoder((self.encoder.logits(x) > 0).float()).mean


class PolicyVAE(nn.Module):
    """A VAE whose encoder is trained as a policy, as ``config`` says, with its baseline.

    ``baseline`` is an :class:`EMABaseline` (``config.baseline == "ema"``), a
    :class:`LearnedBaseline` b(x) (``"learned"``), or ``None``.  ``extra_reward`` optionally adds
    a term to the reward, computed without gradients (e.g. from a black-box classifier): only the
    score-function estimator can follow it.  Train with
    ``train(model, policy_gradient_loss, data)``.
    """

    def __init__(
        self,
        vae: VAE,
        config: PolicyGradientConfig | None = None,
        *,
        extra_reward: ExtraReward | None = None,
    ) -> None:
        super().__init__()
        self.vae = vae
        self.config = config = config or PolicyGradientConfig()
        self.extra_reward = extra_reward
        binary = isinstance(vae.encoder, BernoulliEncoder)
        if config.gradient == "reparam" and binary:
            raise ValueError(
                "binary latents cannot be reparameterised: use gradient='score' or 'straight_through'"
            )
        if config.gradient in ("straight_through", "disarm") and not binary:
            raise ValueError(f"gradient={config.gradient!r} needs binary latents: use a BernoulliVAE")
        if extra_reward is not None and config.gradient != "score":
            raise ValueError(
                "an extra reward computed without gradients can only be followed by the score "
                f"function: set gradient='score' (got {config.gradient!r})"
            )
        self.baseline: nn.Module | None
        if config.baseline == "ema":
            self.baseline = EMABaseline(config.ema_decay)
        elif config.baseline == "learned":
            self.baseline = LearnedBaseline(vae.config.x_dim, config.baseline_hidden, vae.config.activation)
        else:
            self.baseline = None

    @property
    def binary(self) -> bool:
        """True when the latents are Bernoulli."""
        return isinstance(self.vae.encoder, BernoulliEncoder)

    def encoder_parameters(self) -> list[nn.Parameter]:
        """The policy's parameters phi (the encoder's), in a fixed order."""
        return list(self.vae.encoder.parameters())
